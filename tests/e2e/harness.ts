/**
 * End-to-end test harness: real processes on loopback only. One proxy attestation service per
 * test file (SQLite in a temporary directory, this host's development key enrolled), vc-server on
 * the `linux` platform launching the real runtime bundle, and principals using the real SDK.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devKeyId } from '@veracruz-ts/attestation/evidence';
import { type ConnectOptions, VeracruzClient } from '@veracruz-ts/client';
import { type PasHandle, startPas } from '@veracruz-ts/pas';
import { VeracruzError } from '@veracruz-ts/core';
import { createIdentity, type FileRights } from '@veracruz-ts/policy';
import {
  buildRuntimeBundle,
  type FaultInjector,
  loadOrCreateDevKey,
  REPOSITORY_ROOT,
  type RelayTap,
  type RunningServer,
  type ServerOptions,
  type RuntimeBundle,
  startServer,
} from '@veracruz-ts/server';
import { type TestPolicyOptions, testPolicyText } from '@veracruz-ts/runtime/testing';

export { testPolicyText };

/** A PAS for one test file, with this host's dev key enrolled. */
export interface TestPas {
  handle: PasHandle;
  /** host:port, as a policy's proxy_attestation_server_url. */
  address: string;
  devKeyPath: string;
  close(): Promise<void>;
}

/** Starts a PAS in a temporary directory and enrolls a fresh development key. */
export async function startTestPas(): Promise<TestPas> {
  const dir = await mkdtemp(join(tmpdir(), 'veracruz-e2e-'));
  const handle = await startPas({ dir: join(dir, 'pas'), initialize: true, listen: '127.0.0.1:0' });
  const devKey = await loadOrCreateDevKey(join(dir, 'host', 'dev-key.pem'));
  const publicKeyPem = await readFile(devKey.publicKeyPath, 'utf8');
  handle.store.enrollDevKey('e2e-host', Buffer.from(await devKeyId(publicKeyPem)).toString('hex'), publicKeyPem, new Date());
  return {
    handle,
    address: handle.url.replace(/^http:\/\//, ''),
    devKeyPath: devKey.privateKeyPath,
    close: async () => {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let bundle: Promise<RuntimeBundle> | undefined;

/** The runtime bundle (built once per process when its inputs changed). */
export function runtimeBundle(): Promise<RuntimeBundle> {
  bundle ??= buildRuntimeBundle();
  return bundle;
}

/** An example program's wasm, building the examples if it is missing. */
export async function exampleProgram(name: string): Promise<Uint8Array> {
  const path = join(REPOSITORY_ROOT, 'examples/build/wasm', `${name}.wasm`);
  if (!existsSync(path)) {
    const built = spawnSync(process.execPath, ['examples/build.ts'], { cwd: REPOSITORY_ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`building the examples failed: ${built.stderr}`);
  }
  return new Uint8Array(await readFile(path));
}

/** A principal of a test: identity plus the rights the policy gives it. */
export interface Party {
  name: string;
  certificatePem: string;
  privateKeyPem: string;
  rights: FileRights[];
}

/** Makes a principal with a fresh identity. */
export async function party(name: string, rights: FileRights[]): Promise<Party> {
  return { name, rights, ...(await createIdentity(name)) };
}

/** A policy for `pas` and the current runtime bundle. */
export async function e2ePolicy(pas: TestPas, options: Omit<TestPolicyOptions, 'pasCertificatePem' | 'runtimeHashLinux' | 'principals'> & {
  parties: readonly Party[];
  runtimeHashLinux?: string;
}): Promise<string> {
  const { parties, runtimeHashLinux, ...rest } = options;
  return testPolicyText({
    ...rest,
    principals: parties.map((entry) => ({ ...entry })),
    pasCertificatePem: pas.handle.caCertificatePem,
    runtimeHashLinux: runtimeHashLinux ?? (await runtimeBundle()).measurement,
    pasAddress: pas.address,
  });
}

/**
 * Starts vc-server (linux platform) for a policy: clients' connections are handed to the isolate,
 * unless `relay` (or a tap or fault injector, which see relayed bytes) asks for the relay.
 */
export async function startComputation(policyText: string, pas: TestPas, options: {
  relay?: boolean;
  relayTap?: RelayTap;
  faultInjector?: FaultInjector;
  sealedStorage?: ServerOptions['sealedStorage'];
  /** host:port to listen on. @default '127.0.0.1:0' */
  listen?: string;
  /** Also receives vc-server's log lines (the isolate's included). */
  log?: (line: string) => void;
} = {}): Promise<RunningServer> {
  const { path } = await runtimeBundle();
  const log: string[] = [];
  const { log: tee, ...rest } = options;
  try {
    return await startServer({
      policyText,
      platform: 'linux',
      runtimePath: path,
      devKeyPath: pas.devKeyPath,
      pasUrl: pas.handle.url,
      listen: '127.0.0.1:0',
      log: (line) => {
        log.push(line);
        tee?.(line);
      },
      ...rest,
    });
  } catch (reason) {
    throw new Error(`vc-server did not start: ${String(reason)}\n${log.join('\n')}`, { cause: reason });
  }
}

/** Connects a party to a running computation (all the SDK's checks apply). */
export function connect(server: RunningServer, policyText: string, who: Party, options: Partial<ConnectOptions> = {}): Promise<VeracruzClient> {
  return VeracruzClient.connect({
    policy: policyText,
    certificatePem: who.certificatePem,
    privateKeyPem: who.privateKeyPem,
    address: server.url,
    ...options,
  });
}

/** Little-endian f64 values as bytes. */
export function f64s(...values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((value, index) => {
    view.setFloat64(index * 8, value, true);
  });
  return bytes;
}

/** The f64 at `offset` of `bytes`. */
export function readF64(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(offset, true);
}

/** The u64 at `offset` of `bytes`, as a number. */
export function readU64(bytes: Uint8Array, offset = 0): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, true));
}

/** A wasm program whose `_start` traps at once (`unreachable`). */
export const TRAP_PROGRAM = Uint8Array.from(Buffer.from(
  '0061736d01000000010401600000030201000503010001071302066d656d6f72790200065f73746172740000' + '0a05010300000b', 'hex'));

/** A wasm program whose `_start` loops for ever (for the time limit). */
export const LOOP_PROGRAM = Uint8Array.from(Buffer.from(
  '0061736d01000000010401600000030201000503010001071302066d656d6f72790200065f73746172740000' + '0a0901070003400c000b0b', 'hex'));

/** UTF-8 bytes of a string. */
export const text = (value: string): Uint8Array => new TextEncoder().encode(value);

/** An `assert.rejects` predicate: a VeracruzError with this code and a message matching `pattern`. */
export function rejectsWith(code: string, pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof VeracruzError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}
