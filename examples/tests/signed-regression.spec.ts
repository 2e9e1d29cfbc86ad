import assert from 'node:assert/strict';
import { createHash, KeyObject, sign, verify, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SignedResult } from '@veracruz-ts/attestation/signed-result';
import { createCertificate, toPem } from '@veracruz-ts/core';
import { type FileRights, parsePolicy, type Policy, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import type { ProgramAbi } from '@veracruz-ts/runtime';
import { createTestPki, createTestPrincipal, testPolicyText, testProgramAbi } from '@veracruz-ts/runtime/testing';
import { decodeF64, type GeneratedFiles } from '../generators/files.ts';
import { generateLinearRegression } from '../generators/linear-regression.ts';
import { linearRegression } from '../reference/linear-regression.ts';
import { assertClose, assertExit, type ExampleRun, ExampleRunner, programBytes } from './harness.ts';

const INPUT = '/input/linear-regression.dat';
const OUTPUT = '/output/linear-regression.dat';
const ENVELOPE = '/output/linear-regression.sig';
const PROGRAM = '/program/signed-regression.wasm';
/** The rights examples/README.md documents for the program, and stderr for its messages. */
const RIGHTS: FileRights[] = [
  { file_name: '/input/', rights: RIGHTS_READ },
  { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
  { file_name: 'stderr', rights: RIGHTS_WRITE },
];
/** A policy listing the program (made in `before`): what veracruz_v1 shows the program of its computation. */
let policy: Policy;

/** The computation as veracruz_v1 shows it; this program asks only for a signature. */
function computation(signer?: ProgramAbi['signer']): ProgramAbi {
  return testProgramAbi(policy, PROGRAM, signer);
}

/** A run of the program over `files`, its system calls traced. */
function regress(runner: ExampleRunner, files: GeneratedFiles, options: { abi?: ProgramAbi; rights?: readonly FileRights[] } = {}): Promise<ExampleRun> {
  return runner.run('signed-regression', { files, rights: options.rights ?? RIGHTS, trace: true, ...(options.abi === undefined ? {} : { abi: options.abi }) });
}

describe('signed-regression', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());
  /** The isolate's key and a self-signed P-256 certificate for it (the PAS's chain is not what this test checks). */
  let signer: NonNullable<ProgramAbi['signer']>;
  let certificate: string;

  before(async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const der = await createCertificate({
      serialNumber: '01', subject: 'CN=Test isolate', issuer: 'CN=Test isolate', notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2040-01-01T00:00:00Z'), publicKey: keys.publicKey,
    }, keys.privateKey);
    certificate = toPem(der, 'CERTIFICATE');
    const privateKey = KeyObject.from(keys.privateKey);
    signer = { certificatePem: certificate, sign: (data) => sign('sha256', data, privateKey) };
    const pki = await createTestPki();
    policy = await parsePolicy(testPolicyText({
      principals: [await createTestPrincipal('analyst', [{ file_name: '/output/', rights: RIGHTS_READ }])],
      pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash,
      programs: [{ path: PROGRAM, binary: await programBytes('signed-regression'), rights: RIGHTS }],
    }));
  });

  it('fits the line and has the isolate sign the result', async () => {
    const files = generateLinearRegression({ seed: 8, size: 1500 });
    const started = Date.now();
    const run = await regress(runner, files, { abi: computation(signer) });
    assertExit(run, 0);
    const output = run.read(OUTPUT);
    const [gradient, intercept] = decodeF64(output);
    const expected = linearRegression(decodeF64(files[INPUT]!));
    assertClose(gradient!, expected.gradient, 'gradient');
    assertClose(intercept!, expected.intercept, 'intercept');

    const envelope = JSON.parse(new TextDecoder().decode(run.read(ENVELOPE))) as SignedResult;
    assert.equal(envelope.type, 'veracruz-ts/signed-result');
    assert.equal(envelope.version, 1);
    assert.equal(envelope.path, OUTPUT);
    assert.equal(envelope.size, 16);
    assert.equal(envelope.sha256, createHash('sha256').update(output).digest('hex'));
    assert.equal(envelope.policy_hash, policy.hash);
    assert.equal(envelope.program, PROGRAM);
    assert.equal(envelope.certificate, certificate);
    const signedAt = Date.parse(envelope.signed_at);
    assert.ok(signedAt >= started - 1000 && signedAt <= Date.now() + 1000, envelope.signed_at);

    // The signature, checked with the certificate's key over the statement as the ABI document defines it.
    const publicKey = new X509Certificate(envelope.certificate).publicKey;
    const statement = (size: number) => {
      const fields = [envelope.path, size, envelope.sha256, envelope.policy_hash, envelope.program, envelope.signed_at];
      return Buffer.from(`veracruz-ts signed result v1\n${JSON.stringify(fields)}`);
    };
    const signature = Buffer.from(envelope.signature, 'base64');
    assert.equal(verify('sha256', statement(envelope.size), publicKey, signature), true);
    assert.equal(verify('sha256', statement(envelope.size + 1), publicKey, signature), false);
  });

  it("exits 4 (NOTCAPABLE) without the write right on the envelope's path", async () => {
    // A rights entry is a pre-open directory (as in Veracruz): read-only rights on the envelope's path make
    // it a directory the program may not write in, beside the output it may write.
    const rights: FileRights[] = [
      { file_name: '/input/', rights: RIGHTS_READ },
      { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
      { file_name: ENVELOPE, rights: RIGHTS_READ },
      { file_name: 'stderr', rights: RIGHTS_WRITE },
    ];
    const run = await regress(runner, generateLinearRegression({ seed: 9, size: 10 }), { abi: computation(signer), rights });
    assertExit(run, 4);
    assert.match(run.calls, /^result_sign\(.*\) = ENOTCAPABLE$/m);
    assert.match(run.stderr, /linear-regression\.sig: the program's rights do not allow it/);
    assert.equal(run.read(OUTPUT).length, 16);
  });

  it('exits 1 where the isolate has no attested key (a local run) or there is no computation', async () => {
    const files = generateLinearRegression({ seed: 10, size: 10 });
    const local = await regress(runner, files, { abi: computation() });
    assertExit(local, 1);
    assert.match(local.stderr, /unsupported/);
    assertExit(await regress(runner, files), 1);
  });

  it('exits 2 without its input and 3 on a malformed one, signing nothing', async () => {
    const missing = await regress(runner, {}, { abi: computation(signer) });
    assertExit(missing, 2);
    assert.equal(missing.exists(ENVELOPE), false);
    const malformed = await regress(runner, { [INPUT]: new Uint8Array(24) }, { abi: computation(signer) });
    assertExit(malformed, 3);
    assert.equal(malformed.exists(ENVELOPE), false);
  });
});
