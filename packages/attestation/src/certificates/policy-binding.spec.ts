import assert from 'node:assert/strict';
import type { webcrypto } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  Code,
  createCertificate,
  createCertificationRequest,
  encodeContext,
  encodeExtension,
  encodeInteger,
  encodeName,
  encodeOid,
  encodeSequence,
  encodeSetOf,
  encodeString,
  DerTag,
  encodeBitString,
  EXTENSION_REQUEST_OID,
  findExtension,
  parseX509Certificate,
  signatureSchemeFor,
  signWithScheme,
  toHex,
  toPem,
  VeracruzError,
  type X509Extension,
} from '@veracruz-ts/core';
import { openssl } from '@veracruz-ts/core/testing';
import {
  createCertificateAuthority,
  createIsolateIdentity,
  encodePolicyBinding,
  issueIsolateCertificate,
  parseCertificationRequest,
  POLICY_BINDING_EXTENSION_OID,
  readPolicyBinding,
  readRuntimeHash,
  verifyCsr,
} from './index.ts';

const measurement = new Uint8Array(32).fill(0x5a);
const policyHash = new Uint8Array(32).map((_, index) => index);
const identityHash = new Uint8Array(32).map((_, index) => 0xff - index);
const binding = encodePolicyBinding(policyHash, identityHash);
const OTHER_OID = '1.2.3.4';

function rejectsWith(code: string, pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === code && pattern.test(error.rawMessage);
}

async function p256(): Promise<webcrypto.CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** A CSR signed by a fresh P-256 key whose attributes [0] hold exactly `attributes` (each an Attribute's DER). */
async function csrWithAttributes(attributes: readonly Uint8Array[]): Promise<Uint8Array> {
  const keys = await p256();
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  const info = encodeSequence(encodeInteger(0), encodeName('CN=Request'), spki, encodeContext(0, Buffer.concat(attributes)));
  const scheme = signatureSchemeFor(keys.privateKey);
  return encodeSequence(info, scheme.algorithmIdentifier, encodeBitString(await signWithScheme(scheme, keys.privateKey, info)));
}

function attribute(type: string, ...values: Uint8Array[]): Uint8Array {
  return encodeSequence(encodeOid(type), encodeSetOf(...values));
}

function extensionRequest(...extensions: X509Extension[]): Uint8Array {
  return attribute(EXTENSION_REQUEST_OID, encodeSequence(...extensions.map(encodeExtension)));
}

const bindingExtension: X509Extension = { oid: POLICY_BINDING_EXTENSION_OID, critical: false, value: binding };

describe('encodePolicyBinding', () => {
  it('is the policy hash then the identity hash, 64 bytes', () => {
    assert.equal(binding.length, 64);
    assert.deepEqual(binding.subarray(0, 32), policyHash);
    assert.deepEqual(binding.subarray(32), identityHash);
  });

  it('refuses a hash that is not 32 bytes, naming it', () => {
    assert.throws(() => encodePolicyBinding(new Uint8Array(31), identityHash), rejectsWith(Code.InvalidRequest, /policyHash is 31 bytes/));
    assert.throws(() => encodePolicyBinding(policyHash, new Uint8Array(48)), rejectsWith(Code.InvalidRequest, /identityHash is 48 bytes/));
  });
});

describe('policy binding from the CSR to the isolate certificate', () => {
  it('goes round: identity -> CSR -> verifyCsr -> issued certificate -> readPolicyBinding', async () => {
    const identity = await createIsolateIdentity({ policyBinding: binding });
    const csr = await verifyCsr(identity.csrDer);
    assert.deepEqual(csr.requestedExtensions, [bindingExtension]);
    const certificate = await issueIsolateCertificate({ csrDer: identity.csrDer, verifiedCsr: csr, measurement, ca: await createCertificateAuthority(), notBefore: new Date() });
    const expected = { policyHash: toHex(policyHash), identityHash: toHex(identityHash) };
    assert.deepEqual(readPolicyBinding(certificate), expected);
    assert.deepEqual(readPolicyBinding(toPem(certificate, 'CERTIFICATE')), expected);
    assert.equal(findExtension(parseX509Certificate(certificate), POLICY_BINDING_EXTENSION_OID)?.critical, false);
    assert.deepEqual(readRuntimeHash(certificate), measurement, 'next to the runtime hash');
  });

  it('gives a certificate without it for a CSR without it', async () => {
    const identity = await createIsolateIdentity();
    assert.deepEqual(parseCertificationRequest(identity.csrDer).requestedExtensions, []);
    const certificate = await issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca: await createCertificateAuthority(), notBefore: new Date() });
    assert.equal(readPolicyBinding(certificate), undefined);
  });

  it('refuses to issue for a binding that is not 64 bytes', async () => {
    const ca = await createCertificateAuthority();
    for (const length of [0, 32, 63, 65]) {
      const identity = await createIsolateIdentity({ policyBinding: new Uint8Array(length) });
      await assert.rejects(
        issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca, notBefore: new Date() }),
        rejectsWith(Code.InvalidRequest, new RegExp(`csr: policy-binding extension ${POLICY_BINDING_EXTENSION_OID} holds ${length} bytes; expected 64`)),
      );
    }
  });

  it('copies only the binding, non-critical, whatever else the CSR asks for', async () => {
    const keys = await p256();
    const extensions = [{ ...bindingExtension, critical: true }, { oid: OTHER_OID, critical: false, value: Uint8Array.of(5, 0) }];
    const csrDer = await createCertificationRequest({ subject: 'CN=Request', keys, extensions });
    const certificate = parseX509Certificate(await issueIsolateCertificate({ csrDer, measurement, ca: await createCertificateAuthority(), notBefore: new Date() }));
    assert.deepEqual(findExtension(certificate, POLICY_BINDING_EXTENSION_OID), bindingExtension);
    assert.equal(findExtension(certificate, OTHER_OID), undefined);
  });

  it('makes a CSR and a certificate OpenSSL reads', async (t) => {
    const identity = await createIsolateIdentity({ policyBinding: binding });
    const request = openssl(['req', '-noout', '-text', '-verify'], toPem(identity.csrDer, 'CERTIFICATE REQUEST'));
    if (request === undefined) return t.skip('openssl is not installed');
    assert.match(request, /self-signature verify OK/);
    assert.match(request, new RegExp(`Requested Extensions:\\s+${POLICY_BINDING_EXTENSION_OID.replaceAll('.', '\\.')}: \\n`));
    const certificate = await issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca: await createCertificateAuthority(), notBefore: new Date() });
    const text = openssl(['x509', '-noout', '-text'], toPem(certificate, 'CERTIFICATE')) ?? '';
    assert.match(text, new RegExp(`X509v3 extensions:[\\s\\S]*${POLICY_BINDING_EXTENSION_OID.replaceAll('.', '\\.')}: \\n`));
  });
});

describe('readPolicyBinding', () => {
  it('refuses an extension that is there but not 64 bytes', async () => {
    const keys = await p256();
    const now = Date.now();
    const certificate = await createCertificate(
      {
        serialNumber: '01',
        subject: 'CN=Isolate',
        issuer: 'CN=Isolate',
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 60_000),
        publicKey: keys.publicKey,
        extensions: [{ oid: POLICY_BINDING_EXTENSION_OID, critical: false, value: new Uint8Array(63) }],
      },
      keys.privateKey,
    );
    assert.throws(() => readPolicyBinding(certificate), rejectsWith(Code.AttestationFailed, /policy-binding extension holds 63 bytes; expected 64/));
  });
});

describe('CSR attributes', () => {
  it('ignores attributes other than extensionRequest', async () => {
    const challenge = attribute('1.2.840.113549.1.9.7', encodeString(DerTag.Utf8String, 'secret'));
    const csr = await verifyCsr(await csrWithAttributes([challenge, extensionRequest(bindingExtension)]));
    assert.deepEqual(csr.requestedExtensions, [bindingExtension]);
    assert.deepEqual((await verifyCsr(await csrWithAttributes([challenge]))).requestedExtensions, []);
  });

  it('refuses a malformed extensionRequest, naming it', async () => {
    const cases: [string, Uint8Array[], RegExp][] = [
      ['two values', [attribute(EXTENSION_REQUEST_OID, encodeSequence(encodeExtension(bindingExtension)), encodeSequence())], /2 values where exactly one/],
      ['an empty list', [attribute(EXTENSION_REQUEST_OID, encodeSequence())], /empty/],
      ['a value that is not a list', [attribute(EXTENSION_REQUEST_OID, encodeString(DerTag.Utf8String, 'x'))], /not a SEQUENCE/],
      ['an extension twice', [extensionRequest(bindingExtension, bindingExtension)], /appears twice/],
      ['two extensionRequests', [extensionRequest(bindingExtension), extensionRequest(bindingExtension)], /a second extensionRequest/],
    ];
    for (const [name, attributes, reason] of cases) {
      await assert.rejects(
        verifyCsr(await csrWithAttributes(attributes)),
        rejectsWith(Code.InvalidRequest, new RegExp(`^csr: .*attributes\\[\\d\\] \\(extensionRequest\\).*${reason.source}`)),
        name,
      );
    }
  });

  it('refuses an attribute that is not SEQUENCE { type, values SET }', async () => {
    await assert.rejects(verifyCsr(await csrWithAttributes([encodeSequence(encodeOid('1.2.840.113549.1.9.7'))])), rejectsWith(Code.InvalidRequest, /attributes\[0\]\.values: missing/));
  });
});
