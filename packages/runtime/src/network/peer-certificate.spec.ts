import assert from 'node:assert/strict';
import { createHash, type webcrypto } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  type CertificateAuthorityPem,
  createCertificateAuthority,
  createIsolateIdentity,
  encodePolicyBinding,
  issueIsolateCertificate,
  loadCertificateAuthority,
  POLICY_BINDING_EXTENSION_OID,
} from '@veracruz-ts/attestation/certificates';
import { basicConstraintsExtension, Code, createCertificate, randomSerialNumber, toHex, VeracruzError } from '@veracruz-ts/core';
import type { PolicyPeer } from '@veracruz-ts/policy';
import { checkPeerCertificate } from './peer-certificate.ts';

const HOUR_MS = 60 * 60 * 1000;
const sha256 = (text: string): Uint8Array => createHash('sha256').update(text).digest();
const measurement = sha256('peer runtime');
const policyHash = sha256('receiver policy');
const identityHash = sha256('receiver identity');
const otherHash = sha256('another policy');

function failsWith(pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof VeracruzError, `not a VeracruzError: ${String(error)}`);
    assert.equal(error.code, Code.AttestationFailed);
    assert.match(error.rawMessage, /^peer isolate: /);
    assert.match(error.rawMessage, pattern);
    return true;
  };
}

describe('checkPeerCertificate', () => {
  let ca: CertificateAuthorityPem;
  let notBefore: Date;
  /** The peer certificate as the PAS issues it: right CA, listed runtime hash, bound to policyHash/identityHash. */
  let bound: Uint8Array;

  /** An isolate certificate from `authority` carrying `runtimeHash` and `binding` (none when undefined). */
  async function issue(options: { authority?: CertificateAuthorityPem; runtimeHash?: Uint8Array; binding?: Uint8Array | undefined; validityMs?: number } = {}): Promise<Uint8Array> {
    const binding = 'binding' in options ? options.binding : encodePolicyBinding(policyHash, identityHash);
    const isolate = await createIsolateIdentity(binding === undefined ? {} : { policyBinding: binding });
    const runtimeHash = options.runtimeHash ?? measurement;
    return issueIsolateCertificate({
      csrDer: isolate.csrDer, measurement: runtimeHash, ca: options.authority ?? ca, notBefore,
      ...(runtimeHash.length === 48 ? { platform: 'sev-snp' as const } : {}),
      ...(options.validityMs === undefined ? {} : { validityMs: options.validityMs }),
    });
  }

  const peer = (policy_hash: Uint8Array, runtimeHashes: string[] = [toHex(measurement)]): PolicyPeer => ({
    policy_hash: toHex(policy_hash), proxy_service_cert: ca.certificatePem, runtimeHashes: runtimeHashes.map((hash) => ({ platform: 'linux', hash })),
  });

  before(async () => {
    notBefore = new Date(Date.now() - HOUR_MS);
    ca = await createCertificateAuthority({ notBefore: new Date(notBefore.getTime() - HOUR_MS) });
    bound = await issue();
  });

  it('accepts a receiver that binds the policy hash a sender names, in policyHash mode', async () => {
    await checkPeerCertificate(bound, peer(policyHash), 'policyHash', new Date());
  });

  it('accepts a sender that binds the identity hash a receiver names, in identityHash mode', async () => {
    await checkPeerCertificate(bound, peer(identityHash), 'identityHash', new Date());
  });

  it('accepts the runtime hash among several listed, whatever the case of its hex', async () => {
    await checkPeerCertificate(bound, peer(policyHash, [toHex(otherHash), toHex(measurement).toUpperCase()]), 'policyHash', new Date());
  });

  it('does not take one half of the binding for the other', async () => {
    await assert.rejects(checkPeerCertificate(bound, peer(identityHash), 'policyHash', new Date()), failsWith(new RegExp(`enforces policy ${toHex(policyHash)}, not ${toHex(identityHash)}`)));
    await assert.rejects(
      checkPeerCertificate(bound, peer(policyHash), 'identityHash', new Date()),
      failsWith(new RegExp(`enforces the policy with identity hash ${toHex(identityHash)}, not ${toHex(policyHash)}`)),
    );
  });

  it('refuses a certificate from another CA, even one with the same name', async () => {
    const other = await createCertificateAuthority({ notBefore: new Date(notBefore.getTime() - HOUR_MS) });
    const foreign = await issue({ authority: other });
    await assert.rejects(checkPeerCertificate(foreign, peer(policyHash), 'policyHash', new Date()), failsWith(/does not chain to the PAS CA the policy names/));
    // And the right certificate against a policy that names the other CA.
    await assert.rejects(
      checkPeerCertificate(bound, { ...peer(policyHash), proxy_service_cert: other.certificatePem }, 'policyHash', new Date()),
      failsWith(/does not chain to the PAS CA the policy names/),
    );
  });

  it('refuses a certificate that has expired', async () => {
    const shortLived = await issue({ validityMs: HOUR_MS / 2 });
    await assert.rejects(checkPeerCertificate(shortLived, peer(policyHash), 'policyHash', new Date()), failsWith(/does not chain to the PAS CA the policy names: .*expired/));
    // Valid at a time inside its validity: the time is the caller's, not the clock's.
    await checkPeerCertificate(shortLived, peer(policyHash), 'policyHash', new Date(notBefore.getTime() + HOUR_MS / 4));
  });

  it('refuses a certificate that is not yet valid', async () => {
    await assert.rejects(
      checkPeerCertificate(bound, peer(policyHash), 'policyHash', new Date(notBefore.getTime() - 60_000)),
      failsWith(/does not chain to the PAS CA the policy names: .*is not valid before/),
    );
  });

  it('refuses a runtime hash the entry does not list, naming it', async () => {
    await assert.rejects(
      checkPeerCertificate(bound, peer(policyHash, [toHex(otherHash)]), 'policyHash', new Date()),
      failsWith(new RegExp(`runtime hash ${toHex(measurement)} is not one the policy lists`)),
    );
  });

  it('refuses a certificate without the runtime-hash extension', async () => {
    // Signed by the right CA, bound to the right policy, but carrying no measurement at all.
    const authority = await loadCertificateAuthority(ca);
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const unmeasured = await createCertificate({
      serialNumber: randomSerialNumber(), issuer: authority.certificate.subjectDer, subject: 'CN=VeracruzCompute',
      notBefore, notAfter: new Date(notBefore.getTime() + 24 * HOUR_MS), publicKey: keys.publicKey,
      extensions: [basicConstraintsExtension(false), { oid: POLICY_BINDING_EXTENSION_OID, critical: false, value: encodePolicyBinding(policyHash, identityHash) }],
    }, authority.privateKey, 'SHA-256');
    await assert.rejects(checkPeerCertificate(unmeasured, peer(policyHash), 'policyHash', new Date()), failsWith(/runtime hash \(none\) is not one the policy lists/));
  });

  it('refuses a certificate that binds no policy', async () => {
    const unbound = await issue({ binding: undefined });
    await assert.rejects(checkPeerCertificate(unbound, peer(policyHash), 'policyHash', new Date()), failsWith(/enforces policy \(none bound\)/));
    await assert.rejects(checkPeerCertificate(unbound, peer(identityHash), 'identityHash', new Date()), failsWith(/identity hash \(none bound\)/));
  });

  it('refuses a certificate that binds another policy', async () => {
    const elsewhere = await issue({ binding: encodePolicyBinding(otherHash, otherHash) });
    await assert.rejects(checkPeerCertificate(elsewhere, peer(policyHash), 'policyHash', new Date()), failsWith(new RegExp(`enforces policy ${toHex(otherHash)}, not ${toHex(policyHash)}`)));
    await assert.rejects(checkPeerCertificate(elsewhere, peer(identityHash), 'identityHash', new Date()), failsWith(new RegExp(`identity hash ${toHex(otherHash)}, not`)));
  });

  it('accepts a 48-byte SEV-SNP runtime hash listed whole or by its first 64 hex digits, and no other prefix', async () => {
    const launch = createHash('sha384').update('sev-snp launch').digest();
    const snp = await issue({ runtimeHash: launch });
    await checkPeerCertificate(snp, peer(policyHash, [toHex(launch)]), 'policyHash', new Date());
    await checkPeerCertificate(snp, peer(policyHash, [toHex(launch).slice(0, 64)]), 'policyHash', new Date());
    await assert.rejects(
      checkPeerCertificate(snp, peer(policyHash, [toHex(launch).slice(32, 96)]), 'policyHash', new Date()),
      failsWith(new RegExp(`runtime hash ${toHex(launch)} is not one`)),
    );
  });
});
