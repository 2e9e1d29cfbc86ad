/**
 * Verifier of AWS Nitro Enclaves attestation documents: COSE_Sign1 (ES384) signed by the leaf
 * certificate, whose chain (the document's cabundle) starts at the pinned AWS Nitro root.
 */
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { decodeCoseSign1, verifyCoseSign1 } from '../cose.ts';
import { verifyCertificateChain, parseTrustAnchors } from '../chain.ts';
import { AWS_NITRO_ROOT_G1_PEM } from '../roots/aws-nitro.ts';
import {
  attestationFailure,
  bytesEqual,
  expectEqual,
  refuseDebug,
  refuseUnexpected,
  requireTime,
  toHex,
  type EvidenceClaims,
  type VerifyOptions,
} from '../platform.ts';
import { decodeNitroDocument } from './document.ts';

const PLATFORM = 'nitro';

/**
 * Verifies an AWS Nitro attestation document (raw CBOR COSE_Sign1, tagged or untagged) at
 * `options.at`. Checks: ES384 signature by the leaf certificate; `cabundle[0]` is a trust anchor
 * (default: AWS Nitro Enclaves Root G1) byte for byte; the chain leaf → cabundle[n-1] … → cabundle[0]
 * at `at`; `user_data` equals `expectedCsrHash` and `nonce` equals `expectedNonce` when given;
 * debug (PCR0, PCR1 and PCR2 all zero) refused unless `allowDebug`.
 * Claims: measurement = PCR0; reportData = user_data; details: moduleId, timestamp, digest, pcrs (hex), publicKey.
 */
export function verifyNitro(evidence: Uint8Array, options: VerifyOptions): Promise<EvidenceClaims> {
  return refuseUnexpected(PLATFORM, () => verifyNitroUnguarded(evidence, options));
}

async function verifyNitroUnguarded(evidence: Uint8Array, options: VerifyOptions): Promise<EvidenceClaims> {
  const at = requireTime(PLATFORM, options);
  let sign1;
  try {
    sign1 = decodeCoseSign1(evidence);
  } catch (error) {
    throw attestationFailure(PLATFORM, (error as Error & { rawMessage?: string }).rawMessage ?? String(error), error);
  }
  if (sign1.alg !== 'ES384') throw attestationFailure(PLATFORM, `COSE_Sign1: algorithm ${sign1.alg} where ES384 is required`);
  const document = decodeNitroDocument(sign1.payload);

  const anchors = parseTrustAnchors(options.trustAnchors ?? [AWS_NITRO_ROOT_G1_PEM], `${PLATFORM}: trust anchors`);
  const root = document.cabundle[0] as Uint8Array;
  if (!anchors.some((anchor) => bytesEqual(anchor.der, root))) {
    throw attestationFailure(PLATFORM, 'certificate chain: cabundle[0] is not the pinned AWS Nitro root');
  }
  const chain = [document.certificate, ...document.cabundle.slice().reverse()];
  const names = ['certificate', ...document.cabundle.map((_, index) => `cabundle[${index}]`).reverse()];
  const verified = await verifyCertificateChain(chain, anchors.map((anchor) => anchor.der), at, { context: `${PLATFORM}: certificate chain`, names });

  const leaf = verified.certificates[0]?.native ?? new NodeCertificate(document.certificate);
  let key;
  try {
    key = leaf.publicKey.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['verify']);
  } catch (error) {
    throw attestationFailure(PLATFORM, 'certificate: the leaf key is not an ECDSA P-384 key', error);
  }
  try {
    await verifyCoseSign1(sign1, key, { alg: 'ES384' });
  } catch (error) {
    throw attestationFailure(PLATFORM, 'COSE_Sign1: ES384 signature does not verify with the leaf certificate key', error);
  }

  const pcr = (index: number): Uint8Array | undefined => document.pcrs.get(index);
  const measurement = pcr(0);
  if (measurement === undefined) throw attestationFailure(PLATFORM, 'attestation document: PCR0 is missing');
  const debug = [0, 1, 2].every((index) => pcr(index)?.every((byte) => byte === 0) === true);
  refuseDebug(PLATFORM, debug, 'PCR0, PCR1 and PCR2 are all zero', options);
  expectEqual(PLATFORM, 'nonce', document.nonce, options.expectedNonce);
  expectEqual(PLATFORM, 'user_data (CSR hash)', document.userData, options.expectedCsrHash);

  const claims: EvidenceClaims = {
    platform: PLATFORM,
    measurement: new Uint8Array(measurement),
    debug,
    insecure: false,
    details: {
      moduleId: document.moduleId,
      timestamp: new Date(document.timestamp).toISOString(),
      digest: document.digest,
      pcrs: Object.fromEntries([...document.pcrs].map(([index, value]) => [String(index), toHex(value)])),
      publicKey: document.publicKey === undefined ? undefined : toHex(document.publicKey),
      certificateSubject: verified.certificates[0]?.subject,
    },
  };
  if (document.userData !== undefined) {
    claims.reportData = new Uint8Array(document.userData);
    if (document.userData.byteLength === 32) claims.csrHash = new Uint8Array(document.userData);
  }
  if (document.nonce !== undefined) claims.nonce = new Uint8Array(document.nonce);
  return claims;
}
