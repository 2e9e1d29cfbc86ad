/**
 * Helpers for the PAS tests: a real `vc-pas` process on loopback, the CLI, and a `linux`
 * isolate stand-in (identity + development key + evidence). Test-only; nothing imports it
 * outside `*.spec.ts`.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createIsolateIdentity, type IsolateIdentity } from '@veracruz-ts/attestation/certificates';
import { createLinuxEvidence, type DevKeyPem, generateDevKey } from '@veracruz-ts/attestation/evidence';

/** The `vc-pas` entry point. */
export const VC_PAS = fileURLToPath(new URL('../bin/vc-pas.ts', import.meta.url));

/** A fresh temporary directory, removed by the returned function. */
export async function temporaryDirectory(prefix = 'vc-pas-test-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The result of one CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `vc-pas ARGS...` to completion with the same Node. */
export function runCli(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VC_PAS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A running `vc-pas serve` process. */
export interface PasProcess {
  url: string;
  child: ChildProcessWithoutNullStreams;
  /** What it wrote to stderr so far (its issuance/refusal log). */
  log(): string;
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `vc-pas serve --dir DIR --listen 127.0.0.1:0 [FLAGS...]` and waits for its "listening" line. */
export function startPasProcess(dir: string, flags: readonly string[] = []): Promise<PasProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VC_PAS, 'serve', '--dir', dir, '--listen', '127.0.0.1:0', ...flags]);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const lines = createInterface({ input: child.stdout });
    const fail = (code: number | null) => reject(new Error(`vc-pas serve exited with ${code}: ${stderr}`));
    child.once('exit', fail);
    lines.once('line', (line) => {
      child.off('exit', fail);
      const match = /^vc-pas listening on (http:\/\/\S+)$/.exec(line);
      if (match === null) {
        child.kill('SIGKILL');
        reject(new Error(`unexpected first line: ${line}`));
        return;
      }
      resolve({
        url: match[1] as string,
        child,
        log: () => stderr,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}

/** An isolate stand-in for `linux`: its identity, the launcher's dev key, and a measurement. */
export interface LinuxIsolate {
  identity: IsolateIdentity;
  devKey: DevKeyPem;
  measurement: Uint8Array;
  evidence(nonce: Uint8Array, options?: { csrHash?: Uint8Array; debug?: boolean }): Promise<Uint8Array>;
}

/** Makes a `linux` isolate stand-in; pass `devKey` to share one launcher key among isolates. */
export async function linuxIsolate(devKey?: DevKeyPem, measurement = new Uint8Array(32).fill(0x5a)): Promise<LinuxIsolate> {
  const identity = await createIsolateIdentity();
  const key = devKey ?? (await generateDevKey());
  return {
    identity,
    devKey: key,
    measurement,
    evidence: (nonce, options = {}) =>
      createLinuxEvidence({
        devKey: key.privateKeyPem,
        nonce,
        measurement,
        csrHash: options.csrHash ?? identity.csrHash,
        debug: options.debug ?? false,
      }),
  };
}

/** Writes a development public key to a file in `dir` and returns its path. */
export async function writePublicKey(dir: string, devKey: DevKeyPem, name = 'dev-key.pub.pem'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, devKey.publicKeyPem);
  return path;
}
