import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createCertificateAuthority, createIsolateIdentity, encodePolicyBinding, issueIsolateCertificate, pemToDer } from '@veracruz-ts/attestation/certificates';
import type { CertificateAuthorityPem, IsolateIdentity } from '@veracruz-ts/attestation/certificates';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { checkIsolateCertificate } from './certificate-check.ts';
import type { CertificateCheck } from './certificate-check.ts';

const measurement = new Uint8Array(32).fill(0x5a);
const measurementHex = '5a'.repeat(32);
const now = new Date();
const POLICY = 'c1'.repeat(32);
const IDENTITY = 'c2'.repeat(32);
const bound = { hash: POLICY, identityHash: IDENTITY };
const binding = encodePolicyBinding(Buffer.from(POLICY, 'hex'), Buffer.from(IDENTITY, 'hex'));

function refusedWith(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === Code.AttestationFailed && pattern.test(error.rawMessage);
}

describe('checkIsolateCertificate', () => {
  let ca: CertificateAuthorityPem;
  let otherCa: CertificateAuthorityPem;
  let identity: IsolateIdentity;
  let stranger: IsolateIdentity;
  let chain: Uint8Array[];

  before(async () => {
    [ca, otherCa, identity, stranger] = await Promise.all([createCertificateAuthority(), createCertificateAuthority(), createIsolateIdentity({ policyBinding: binding }), createIsolateIdentity()]);
    const leaf = await issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca, notBefore: new Date(now.getTime() - 60_000) });
    chain = [leaf, pemToDer(ca.certificatePem, 'CERTIFICATE', 'CA')];
  });

  function check(overrides: Partial<CertificateCheck> = {}): Promise<void> {
    return checkIsolateCertificate({
      chain,
      privateKeyPem: identity.privateKeyPem,
      policy: { ...bound, proxy_service_cert: ca.certificatePem, runtime_manager_hash_linux: measurementHex },
      platform: 'linux',
      ownMeasurement: measurement,
      at: now,
      ...overrides,
    });
  }

  it('accepts the isolate own certificate, chained to the policy CA, with a listed runtime hash', async () => {
    await check();
    await check({ ownMeasurement: undefined, policy: { ...bound, proxy_service_cert: ca.certificatePem, runtime_manager_hash_linux: measurementHex.toUpperCase() } });
  });

  it("refuses a certificate for another isolate's key", async () => {
    await assert.rejects(check({ privateKeyPem: stranger.privateKeyPem }), refusedWith(/public key is not this isolate's key/));
  });

  it('refuses a chain that does not lead to the policy PAS CA', async () => {
    await assert.rejects(check({ policy: { ...bound, proxy_service_cert: otherCa.certificatePem, runtime_manager_hash_linux: measurementHex } }), refusedWith(/does not chain to the policy's proxy_service_cert/));
  });

  it('refuses a runtime hash the policy does not list for the platform', async () => {
    await assert.rejects(check({ policy: { ...bound, proxy_service_cert: ca.certificatePem, runtime_manager_hash_linux: 'ab'.repeat(32) } }), refusedWith(/is not the policy's runtime_manager_hash_linux/));
    await assert.rejects(check({ policy: { ...bound, proxy_service_cert: ca.certificatePem, runtime_manager_hash_linux: null } }), refusedWith(/\(absent\)/));
    await assert.rejects(check({ platform: 'sev-snp', ownMeasurement: undefined }), refusedWith(/runtime_manager_hash_sevsnp/));
  });

  it('checks a SEV-SNP certificate, which carries the whole 48-byte launch measurement, against runtime_manager_hash_sevsnp', async () => {
    const launch = new Uint8Array(48).fill(0x3c);
    const sevChain = [await issueIsolateCertificate({ csrDer: identity.csrDer, measurement: launch, platform: 'sev-snp', ca, notBefore: new Date(now.getTime() - 60_000) }), chain[1]!];
    const sev = (hash: string) => check({ chain: sevChain, platform: 'sev-snp', ownMeasurement: undefined, policy: { ...bound, proxy_service_cert: ca.certificatePem, runtime_manager_hash_sevsnp: hash } });
    await sev('3c'.repeat(48));
    await sev('3C'.repeat(48));
    await sev('3c'.repeat(32)); // older policies: the first 32 bytes
    await assert.rejects(sev(`${'3c'.repeat(47)}3d`), refusedWith(/runtime hash (3c){48} is not the policy's runtime_manager_hash_sevsnp/));
  });

  it('refuses a certificate that binds another policy, or none', async () => {
    await assert.rejects(check({ policy: { proxy_service_cert: ca.certificatePem, runtime_manager_hash_linux: measurementHex, hash: 'd0'.repeat(32), identityHash: IDENTITY } }), refusedWith(/it enforces policy (c1){32}, not (d0){32}/));
    await assert.rejects(check({ policy: { proxy_service_cert: ca.certificatePem, runtime_manager_hash_linux: measurementHex, hash: POLICY, identityHash: 'd0'.repeat(32) } }), refusedWith(/it enforces the policy with identity hash (c2){32}, not (d0){32}/));
    const unbound = await issueIsolateCertificate({ csrDer: stranger.csrDer, measurement, ca, notBefore: new Date(now.getTime() - 60_000) });
    await assert.rejects(check({ chain: [unbound, chain[1]!], privateKeyPem: stranger.privateKeyPem }), refusedWith(/it enforces policy \(none bound\)/));
  });

  it('refuses a certificate whose runtime hash is not its own measurement', async () => {
    await assert.rejects(check({ ownMeasurement: new Uint8Array(32).fill(1) }), refusedWith(/is not this isolate's measurement 0101/));
  });

  it('refuses an expired certificate, an empty chain and garbage', async () => {
    await assert.rejects(check({ at: new Date(now.getTime() + 3 * 24 * 3600_000) }), refusedWith(/does not chain/));
    await assert.rejects(check({ chain: [] }), refusedWith(/chain is empty/));
    await assert.rejects(check({ chain: [Uint8Array.of(1, 2, 3)] }), refusedWith(/not a DER X.509 certificate/));
  });
});
