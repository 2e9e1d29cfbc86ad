import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Code, type VeracruzError } from '@veracruz-ts/core';
import { RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
// The in-process computation of the session manager's tests: real TLS, real certificates, no sockets.
import {
  createTestPki,
  createTestPrincipal,
  type InProcessComputation,
  startInProcess,
  type TestPki,
  type TestPrincipal,
  testPolicyText,
} from '@veracruz-ts/runtime/testing';
import { type ConnectOptions, rechunk, VeracruzClient } from './client.ts';
import { connectInProcess, droppingHost, isError } from './test-fixture.ts';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

describe('VeracruzClient against an in-process session manager', () => {
  let pki: TestPki;
  let alice: TestPrincipal;
  let bob: TestPrincipal;
  let outsider: TestPrincipal;
  let policyText: string;
  let computation: InProcessComputation;

  const connect = (principal: { certificatePem: string; privateKeyPem: string }, overrides: Partial<ConnectOptions> = {}) =>
    connectInProcess(computation, policyText, principal, overrides);

  before(async () => {
    pki = await createTestPki();
    alice = await createTestPrincipal('alice', [
      { file_name: '/input/', rights: RIGHTS_WRITE | RIGHTS_READ },
      { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE },
      { file_name: 'stdout', rights: RIGHTS_READ },
    ]);
    bob = await createTestPrincipal('bob', [{ file_name: '/output/', rights: RIGHTS_READ }]);
    outsider = await createTestPrincipal('outsider', []);
    policyText = testPolicyText({
      principals: [alice, bob],
      pasCertificatePem: pki.ca.certificatePem,
      runtimeHashLinux: pki.runtimeHash,
      fileHashes: [{ path: '/input/fixed.dat', data: text('fixed') }],
    });
    computation = await startInProcess(policyText, pki, { maxMessageBytes: 1024 * 1024 });
  });
  after(async () => computation.close());

  it('verifies the isolate before returning, and reports what it checked', async () => {
    const client = await connect(alice);
    assert.equal(client.attestation.platform, 'linux');
    assert.equal(client.attestation.runtimeHash, pki.runtimeHash);
    assert.equal(client.attestation.policyHash, computation.policy.hash);
    assert.equal(await client.policyHash(), computation.policy.hash);
    await client.close();
  });

  it('writes, appends and reads files', async () => {
    const client = await connect(alice);
    await client.writeFile('/input/a.txt', text('one,'));
    await client.appendFile('/input/a.txt', text('two'));
    assert.deepEqual(await client.readFile('/input/a.txt'), text('one,two'));
    assert.equal(await client.fileSize('/input/a.txt'), 7);
    await client.writeFile('/input/empty', new Uint8Array(0));
    assert.deepEqual(await client.readFile('/input/empty'), new Uint8Array(0));
    await client.writeFile('/input/fixed.dat', text('fixed'));
    await assert.rejects(client.writeFile('/input/fixed.dat', text('fixes')), isError(Code.PermissionDenied, /\/input\/fixed\.dat/));
    await client.close();
  });

  it('streams a file larger than one message in both directions, with progress', async () => {
    const client = await connect(alice);
    const data = new Uint8Array(3 * 1024 * 1024 + 123).map((_, index) => (index * 31) & 0xff);
    const progress: number[] = [];
    await client.writeFileStream('/input/big.dat', rechunk([data], 100_000), { onProgress: ({ bytes }) => progress.push(bytes), total: data.length });
    assert.equal(progress.at(-1), data.length);
    assert.ok(progress.length > 10);
    const parts: Uint8Array[] = [];
    const readProgress: number[] = [];
    for await (const part of client.readFileStream('/input/big.dat', { onProgress: ({ bytes }) => readProgress.push(bytes) })) parts.push(part);
    assert.ok(Buffer.concat(parts).equals(data));
    assert.equal(readProgress.at(-1), data.length);
    // A whole-file read falls back to ranges when the file is bigger than one message.
    assert.equal(createHash('sha256').update(await client.readFile('/input/big.dat')).digest('hex'),
      createHash('sha256').update(data).digest('hex'));
    await client.close();
  });

  it('surfaces the runtime error detail with its code', async () => {
    const client = await connect(bob);
    await assert.rejects(client.readFile('/input/a.txt'), isError(Code.PermissionDenied, /\/input\/a\.txt/));
    await assert.rejects(client.execute('/program/none.wasm'), isError(Code.PermissionDenied, /\/program\/none\.wasm/));
    await client.close();
  });

  it('refuses an isolate whose chain does not lead to the policy\'s PAS CA', async () => {
    const otherPki = await createTestPki({ measurement: Buffer.from(pki.runtimeHash, 'hex') });
    const other = await startInProcess(policyText, otherPki);
    try {
      await assert.rejects(connect(alice, { transport: other.openSession() }), isError(Code.AttestationFailed, /isolate certificate chain/));
    } finally {
      await other.close();
    }
  });

  it('refuses an isolate whose runtime hash the policy does not list, naming both hashes', async () => {
    const measurement = createHash('sha256').update('another runtime').digest();
    const otherPki = await createTestPki({ measurement });
    // The policy trusts this CA but a different runtime hash.
    const policy = testPolicyText({ principals: [alice, bob], pasCertificatePem: otherPki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash });
    const other = await startInProcess(policy, otherPki);
    try {
      await assert.rejects(
        VeracruzClient.connect({ policy, certificatePem: alice.certificatePem, privateKeyPem: alice.privateKeyPem, transport: other.openSession() }),
        isError(Code.AttestationFailed, new RegExp(`runtime hash ${measurement.toString('hex')} is not one the policy trusts \\(linux: ${pki.runtimeHash}\\)`)));
    } finally {
      await other.close();
    }
  });

  it('refuses an isolate enforcing a policy that differs by one byte', async () => {
    const edited = policyText.replace('"debug": false', '"debug": false ');
    assert.notEqual(edited, policyText);
    await assert.rejects(connect(alice, { policy: edited }), isError(Code.AttestationFailed, /certificate binds policy [0-9a-f]{64}, not this policy file/));
  });

  it('refuses an isolate certificate that is not valid at the time of the check', async () => {
    await assert.rejects(connect(alice, { at: new Date(Date.now() + 3 * 24 * 3600 * 1000) }), isError(Code.AttestationFailed, /expired|not valid/));
  });

  it('checks locally that the certificate matches the key', async () => {
    await assert.rejects(connect({ certificatePem: alice.certificatePem, privateKeyPem: bob.privateKeyPem }),
      isError(Code.InvalidRequest, /identity certificate does not match the private key/));
  });

  it('names a certificate that is not in the policy: the isolate\'s TLS alert becomes permission_denied', async () => {
    await assert.rejects(connect(outsider), (error: unknown) => {
      isError(Code.PermissionDenied,
        /the isolate does not know this identity: its certificate is not one of the policy's identities \(TLS alert certificate_unknown\)/)(error);
      // The alert itself, as node:tls reported it, stays reachable as the cause.
      const cause = (error as VeracruzError).cause as NodeJS.ErrnoException;
      assert.match(String(cause.code), /ALERT_CERTIFICATE_UNKNOWN$/);
      return true;
    });
  });

  it('reports a connection reset mid-request as the host\'s report that the isolate died', async () => {
    const host = await droppingHost(computation, 'reset');
    try {
      const client = await connect(alice, { transport: host.transport });
      host.arm();
      await assert.rejects(client.readFile('/input/a.txt'), isError(Code.Unavailable,
        /the connection to the isolate was lost mid-request \(read_file \/input\/a\.txt\): the host reset it, as vc-server does when the isolate has died \(this is the untrusted host's report, not the isolate's\)/));
      // Later requests fail at once, for the same reason.
      await assert.rejects(client.policyHash(), isError(Code.Unavailable, /the host reset it/));
      await client.close();
    } finally {
      host.close();
    }
  });

  it('reports a connection closed mid-request as lost, without blaming the isolate', async () => {
    const host = await droppingHost(computation, 'close');
    try {
      const client = await connect(alice, { transport: host.transport });
      host.arm();
      await assert.rejects(client.fileSize('/input/a.txt'), isError(Code.Unavailable,
        /the connection to the isolate was lost mid-request \(request_file_size \/input\/a\.txt\): .*the isolate may have died or the host dropped the connection/));
      await client.close();
    } finally {
      host.close();
    }
  });

  it('lets any identity shut the computation down', async () => {
    const client = await connect(bob);
    await client.shutdown();
    await computation.shutdown;
    await client.close();
  });
});
