import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { VeracruzClient } from '../client.ts';
import {
  createTestPki,
  createTestPrincipal,
  type InProcessComputation,
  relayOverTcp,
  startInProcess,
  testPolicyText,
} from '@veracruz-ts/runtime/testing';

const BIN = fileURLToPath(new URL('../../bin/vc-client.ts', import.meta.url));

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[]): { child: ChildProcess; finished: Promise<Finished> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (part: Buffer) => (stdout += part.toString('utf8')));
  child.stderr!.on('data', (part: Buffer) => (stderr += part.toString('utf8')));
  const finished = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr }));
  return { child, finished };
}

const vcClient = (args: string[]): Promise<Finished> => start(args).finished;

describe('the vc-client command', () => {
  it('exits 2 on a usage error, with its own sentence rather than the parser\'s', async () => {
    const unknown = await vcClient(['policy.json', '-i', 'a', '-k', 'b', '--foo']);
    assert.deepEqual([unknown.code, unknown.stdout, unknown.stderr], [2, '', "vc-client: unknown option '--foo' (see vc-client --help)\n"]);
    const missing = await vcClient(['policy.json', '-i']);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'vc-client: -i needs a value: CERT (see vc-client --help)\n');
  });

  it('reports a usage error in JSON too when --json was asked for', async () => {
    const result = await vcClient(['policy.json', '--json', '--outptu', 'x']);
    assert.equal(result.code, 2);
    const report = JSON.parse(result.stdout) as { error: { code: string; message: string }; exitStatus: number };
    assert.deepEqual(report.error, { code: 'invalid_request', message: "unknown option '--outptu' (did you mean --output?)" });
    assert.equal(report.exitStatus, 2);
  });

  it('prints its version with -V and its help with --help (both spellings of each are parsed alike)', async () => {
    assert.deepEqual(await vcClient(['-V']), { code: 0, signal: null, stdout: 'vc-client 0.1.0\n', stderr: '' });
    const help = await vcClient(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: vc-client <policy\.json> -i CERT -k KEY \[options\]/);
    assert.match(help.stdout, /--exit-code/);
  });

  describe('interrupted while reading a result', () => {
    let dir: string;
    let computation: InProcessComputation;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'vc-client-bin-'));
      const pki = await createTestPki();
      const me = await createTestPrincipal('me', [{ file_name: '/data/', rights: RIGHTS_READ | RIGHTS_WRITE }]);
      const policy = testPolicyText({ principals: [me], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash });
      await writeFile(join(dir, 'policy.json'), policy);
      await writeFile(join(dir, 'me.crt'), me.certificatePem);
      await writeFile(join(dir, 'me.key'), me.privateKeyPem);
      computation = await startInProcess(policy, pki);
      const client = await VeracruzClient.connect({
        policy, certificatePem: me.certificatePem, privateKeyPem: me.privateKeyPem, transport: computation.openSession(),
      });
      await client.writeFile('/data/big', new Uint8Array(4 * 1024 * 1024).fill(9));
      await client.close();
    });
    after(async () => {
      await computation.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('removes its temporary file on SIGINT and leaves the destination as it was', async () => {
      // A stand-in for vc-server that stops passing the isolate's replies on after 1.5 MiB.
      const { server: host } = await relayOverTcp(computation, { afterBytes: 1.5 * 1024 * 1024, how: 'stall' });
      const destination = join(dir, 'result.bin');
      await writeFile(destination, 'the result read yesterday');
      const { child, finished } = start([join(dir, 'policy.json'), '-i', join(dir, 'me.crt'), '-k', join(dir, 'me.key'),
        '--server', `127.0.0.1:${(host.address() as AddressInfo).port}`, '-r', `/data/big=${destination}`, '-n']);
      try {
        const temporaries = async (): Promise<string[]> => (await readdir(dir)).filter((name) => name.startsWith('.result.bin.tmp-'));
        for (let tries = 0; (await temporaries()).length === 0; tries++) {
          assert.ok(tries < 400, 'no temporary file appeared');
          await sleep(25);
        }
        child.kill('SIGINT');
        const result = await finished;
        assert.deepEqual([result.code, result.signal], [null, 'SIGINT'], result.stderr);
        assert.deepEqual(await temporaries(), []);
        assert.equal(await readFile(destination, 'utf8'), 'the result read yesterday');
      } finally {
        child.kill('SIGKILL');
        host.close();
      }
    });
  });
});
