import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import { type Duplex, PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import {
  createTestPki,
  createTestPrincipal,
  type InProcessComputation,
  startInProcess,
  testPolicyText,
} from '../../../runtime/src/session/test-fixture.ts';
import { parseClientArguments } from './arguments.ts';
import { runClient } from './run.ts';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const parts: Buffer[] = [];
  stream.on('data', (part: Buffer) => parts.push(part));
  return { stream, text: () => Buffer.concat(parts).toString('utf8') };
}

describe('vc-client against an in-process computation', () => {
  let dir: string;
  let computation: InProcessComputation;

  const run = async (args: string[], stdin = '', options: { identity?: string; transport?: () => Duplex } = {}): Promise<{ code: number; stdout: string; stderr: string }> => {
    const identity = options.identity ?? 'me';
    const plan = parseClientArguments([join(dir, 'policy.json'), '-i', join(dir, `${identity}.crt`), '-k', join(dir, `${identity}.key`), ...args]);
    assert.ok(plan !== 'help');
    const stdout = capture();
    const stderr = capture();
    const code = await runClient(plan, {
      stdin: Readable.from([Buffer.from(stdin)]), stdout: stdout.stream, stderr: stderr.stream,
      transport: options.transport ?? (() => computation.openSession()),
    });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vc-client-test-'));
    const pki = await createTestPki();
    const me = await createTestPrincipal('me', [{ file_name: '/data/', rights: RIGHTS_READ | RIGHTS_WRITE }]);
    const policy = testPolicyText({ principals: [me], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash });
    await writeFile(join(dir, 'policy.json'), policy);
    await writeFile(join(dir, 'me.crt'), me.certificatePem);
    await writeFile(join(dir, 'me.key'), me.privateKeyPem);
    const stranger = await createTestPrincipal('stranger', []);
    await writeFile(join(dir, 'stranger.crt'), stranger.certificatePem);
    await writeFile(join(dir, 'stranger.key'), stranger.privateKeyPem);
    await writeFile(join(dir, 'a.txt'), 'from a file');
    computation = await startInProcess(policy, pki);
  });
  after(async () => {
    await computation.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads from files and stdin, reads to stdout and files, keeping the computation with -n', async () => {
    const result = await run(['-d', `/data/a=${join(dir, 'a.txt')},/data/b=-`, '-r', '/data/a=-', '-r', `/data/b=${join(dir, 'b.out')}`, '-n'], 'from stdin');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'from a file');
    assert.equal(await readFile(join(dir, 'b.out'), 'utf8'), 'from stdin');
    assert.match(result.stderr, /Loaded policy .* [0-9a-f]{64}/);
    assert.match(result.stderr, /isolate verified \(linux runtime [0-9a-f]{64}, policy hash matches\)/);
    assert.match(result.stderr, /Uploaded data \/data\/b \(10 bytes from stdin\)/);
  });

  it('warns about a result it cannot read, goes on, and exits with 1', async () => {
    const result = await run(['-r', '/secret/x=-', '-r', '/data/a=-', '-n', '-q']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^\[warn\] \[permission_denied\] .*\/secret\/x/m);
    assert.equal(result.stdout, 'from a file');
  });

  it('exits with 2 when there is nothing to do, and 1 with the code when a file is missing', async () => {
    assert.equal((await run([])).code, 2);
    const missing = await run(['-d', `/data/c=${join(dir, 'nope')}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /vc-client: \[not_found\] cannot read .*nope: ENOENT/);
  });

  it('says plainly that the isolate does not know an identity whose certificate is not in the policy', async () => {
    const result = await run(['-r', '/data/a=-'], '', { identity: 'stranger' });
    assert.equal(result.code, 1);
    assert.match(result.stderr,
      /^vc-client: \[permission_denied\] the isolate does not know this identity: its certificate is not one of the policy's identities \(TLS alert certificate_unknown\)$/m);
  });

  it('says that the host reset the connection mid-request, and whose word that is', async () => {
    // A stand-in for vc-server that relays the handshake and the small requests of connect, then
    // resets at the upload (bigger than any of those), as vc-server does when the isolate dies.
    let cut = false;
    const host = createServer((socket) => {
      const isolate = computation.openSession();
      socket.on('error', () => {});
      isolate.on('data', (chunk: Buffer) => socket.write(chunk));
      socket.on('data', (chunk: Buffer) => {
        cut ||= chunk.length > 16 * 1024;
        if (!cut) isolate.write(chunk);
        else if (!socket.destroyed) socket.resetAndDestroy();
      });
    });
    host.listen(0, '127.0.0.1');
    await once(host, 'listening');
    try {
      const result = await run(['-d', '/data/z=-'], 'x'.repeat(256 * 1024), {
        transport: () => connect((host.address() as AddressInfo).port, '127.0.0.1'),
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr,
        /^vc-client: \[unavailable\] the connection to the isolate was lost mid-request \(write_file \/data\/z\): the host reset it, as vc-server does when the isolate has died \(this is the untrusted host's report, not the isolate's\)$/m);
    } finally {
      host.close();
    }
  });

  it('shuts the computation down with -s', async () => {
    const result = await run(['-s']);
    assert.equal(result.code, 0, result.stderr);
    await computation.shutdown;
  });
});
