import { createPublicKey, verify as verifySignature } from 'node:crypto';
import {
  Code,
  contextTag,
  decodeDer,
  DerReader,
  DerTag,
  derChildren,
  EXTENSION_REQUEST_OID,
  readAlgorithmIdentifier,
  readBitStringOctets,
  readExtensionList,
  readName,
  readNaturalNumber,
  readOid,
  VeracruzError,
  type AlgorithmIdentifier,
  type DerElement,
  type X509Extension,
} from '@veracruz-ts/core';

/** A PKCS#10 certification request (RFC 2986), decoded. */
export interface CertificationRequest {
  /** The DER bytes given. */
  der: Uint8Array;
  /** The DER of certificationRequestInfo: what the signature covers. */
  infoDer: Uint8Array;
  /** The subject as text ("C=US, ..., CN=VeracruzCompute"). */
  subject: string;
  /** The subject Name's DER, copied as it is into the certificate. */
  subjectDer: Uint8Array;
  /** The subjectPublicKeyInfo DER. */
  subjectPublicKeyInfo: Uint8Array;
  /** The extensions its extensionRequest attribute asks for (none without one). */
  requestedExtensions: X509Extension[];
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
}

/** A CSR whose self-signature has been checked. */
export interface VerifiedCsr {
  /** The CSR's DER bytes. */
  der: Uint8Array;
  /** Its subject, as RFC 4514-ish text (for the audit trail). */
  subject: string;
  /** Its subject Name's DER (what the isolate certificate's subject is). */
  subjectDer: Uint8Array;
  /** The requested key (SubjectPublicKeyInfo DER). */
  subjectPublicKeyInfo: Uint8Array;
  /** The extensions its extensionRequest attribute asks for (none without one); the CA picks what it copies. */
  requestedExtensions: X509Extension[];
  /** SHA-256 of the CSR's DER bytes. */
  hash: Uint8Array;
}

/** The curves an isolate key may use; the isolate makes P-256, P-384 is accepted for future platforms. */
const ACCEPTED_CURVES: ReadonlySet<string> = new Set(['prime256v1', 'secp384r1']);
const CURVE_NAMES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384' };
const ECDSA_HASHES: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

/**
 * The extensions a CSR's attributes ask for: each attribute is SEQUENCE { type OID, values SET },
 * an extensionRequest (PKCS#9) holds one value, a non-empty list of distinct Extensions; other
 * attribute types are ignored. Throws `InvalidRequest` naming the attribute.
 */
function readRequestedExtensions(attributes: readonly DerElement[]): X509Extension[] {
  let requested: X509Extension[] | undefined;
  for (const [index, attribute] of attributes.entries()) {
    const what = `certificationRequestInfo.attributes[${index}]`;
    if (attribute.tag !== DerTag.Sequence) throw new VeracruzError(Code.InvalidRequest, `${what}: not a SEQUENCE`);
    const reader = new DerReader(attribute, what);
    const type = readOid(reader.next(DerTag.ObjectIdentifier, 'type'), `${what}.type`);
    const values = derChildren(reader.next(DerTag.Set, 'values'), `${what}.values`);
    reader.end();
    if (type !== EXTENSION_REQUEST_OID) continue;
    const named = `${what} (extensionRequest)`;
    if (requested !== undefined) throw new VeracruzError(Code.InvalidRequest, `${named}: a second extensionRequest`);
    if (values.length !== 1) throw new VeracruzError(Code.InvalidRequest, `${named}: ${values.length} values where exactly one was expected`);
    requested = readExtensionList(values[0] as DerElement, named);
  }
  return requested ?? [];
}

/**
 * Decodes a PKCS#10 request: SEQUENCE { certificationRequestInfo SEQUENCE { version 0, subject,
 * subjectPKInfo, attributes [0] }, signatureAlgorithm, signature BIT STRING }, with the extensions
 * an extensionRequest attribute asks for. Structure only; throws `InvalidRequest` naming the field.
 */
export function parseCertificationRequest(der: Uint8Array): CertificationRequest {
  const top = decodeDer(der, '');
  if (top.tag !== DerTag.Sequence) throw new VeracruzError(Code.InvalidRequest, 'not a DER SEQUENCE');
  const outer = new DerReader(top, '');
  const info = outer.next(DerTag.Sequence, 'certificationRequestInfo');
  const signatureAlgorithm = readAlgorithmIdentifier(outer.next(DerTag.Sequence, 'signatureAlgorithm'), 'signatureAlgorithm');
  const signature = readBitStringOctets(outer.next(DerTag.BitString, 'signature'), 'signature');
  outer.end();
  const reader = new DerReader(info, 'certificationRequestInfo');
  const version = readNaturalNumber(reader.next(DerTag.Integer, 'version'), 'certificationRequestInfo.version');
  if (version !== 0) throw new VeracruzError(Code.InvalidRequest, `certificationRequestInfo.version: ${version}, only 0 exists`);
  const subject = readName(reader.next(DerTag.Sequence, 'subject'), 'certificationRequestInfo.subject');
  const spki = reader.next(DerTag.Sequence, 'subjectPKInfo');
  const requestedExtensions = readRequestedExtensions(derChildren(reader.next(contextTag(0), 'attributes'), 'certificationRequestInfo.attributes'));
  reader.end();
  return { der, infoDer: info.der, subject: subject.text, subjectDer: subject.der, subjectPublicKeyInfo: spki.der, requestedExtensions, signatureAlgorithm, signature };
}

/**
 * Parses a PKCS#10 CSR (DER), checks that its key is an ECDSA P-256/P-384 key and that its
 * self-signature verifies, i.e. that whoever made it holds the private key.
 * Throws `InvalidRequest` for bytes that are not a CSR and `AttestationFailed` for a CSR that
 * does not prove possession.
 */
export async function verifyCsr(csrDer: Uint8Array): Promise<VerifiedCsr> {
  let request: CertificationRequest;
  let key: ReturnType<typeof createPublicKey>;
  try {
    request = parseCertificationRequest(csrDer);
    key = createPublicKey({ key: Buffer.from(request.subjectPublicKeyInfo), format: 'der', type: 'spki' });
  } catch (error) {
    const reason = error instanceof VeracruzError ? ` (${error.rawMessage})` : '';
    throw new VeracruzError(Code.InvalidRequest, `csr: not a DER PKCS#10 certificate request${reason}`, { cause: error });
  }
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  if (key.asymmetricKeyType !== 'ec' || !ACCEPTED_CURVES.has(curve)) {
    throw new VeracruzError(
      Code.AttestationFailed,
      `csr: key must be ECDSA P-256 or P-384, got ${key.asymmetricKeyType === 'ec' ? `ECDSA ${CURVE_NAMES[curve] ?? curve}` : (key.asymmetricKeyType ?? 'unknown').toUpperCase()}`,
    );
  }
  const hash = ECDSA_HASHES[request.signatureAlgorithm.oid];
  if (hash === undefined || request.signatureAlgorithm.parameters !== undefined) {
    throw new VeracruzError(Code.AttestationFailed, `csr: signature algorithm ${request.signatureAlgorithm.oid} is not ECDSA with SHA-256, SHA-384 or SHA-512`);
  }
  let valid: boolean;
  try {
    valid = verifySignature(hash, request.infoDer, { key, dsaEncoding: 'der' }, request.signature);
  } catch {
    valid = false;
  }
  if (!valid) throw new VeracruzError(Code.AttestationFailed, 'csr: signature does not verify with its own public key');
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', csrDer.slice()));
  return {
    der: csrDer,
    subject: request.subject,
    subjectDer: request.subjectDer,
    subjectPublicKeyInfo: request.subjectPublicKeyInfo,
    requestedExtensions: request.requestedExtensions,
    hash: digest,
  };
}
