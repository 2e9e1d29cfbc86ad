/**
 * Verifier of Arm PSA initial attestation tokens: COSE_Sign1 (tag 18, ES256) signed by the
 * instance's Initial Attestation Key, whose public key is the endorsement.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { decodeCoseSign1, verifyCoseSign1 } from '../cose.ts';
import { checkBoundReportData } from '../binding.ts';
import { attestationFailure, bytesEqual, refuseDebug, refuseUnexpected, requireTime, toHex, type EvidenceClaims, type VerifyOptions } from '../platform.ts';
import { decodePsaClaims, type PsaClaims, type PsaSoftwareComponent } from './token.ts';

const PLATFORM = 'psa';

/** The lifecycle states in which the PSA RoT's secrets are exposed to a debugger. */
const DEBUG_STATES = new Set(['non-psa-rot-debug', 'recoverable-psa-rot-debug']);

interface EndorsedKey {
  key: KeyObject;
  instanceId: Uint8Array;
}

function endorsedKey(bytes: Uint8Array, index: number): EndorsedKey {
  let key: KeyObject;
  try {
    const text = Buffer.from(bytes).toString('latin1');
    key = text.startsWith('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.from(bytes), format: 'der', type: 'spki' });
  } catch (error) {
    throw attestationFailure(PLATFORM, `endorsements[${index}] is not a public key (PEM or DER SubjectPublicKeyInfo)`, error);
  }
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType !== 'ec' || jwk.crv !== 'P-256') throw attestationFailure(PLATFORM, `endorsements[${index}] is not an ECDSA P-256 public key`);
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
  return { key, instanceId: new Uint8Array(Buffer.concat([Buffer.from([1]), createHash('sha256').update(point).digest()])) };
}

/**
 * The measurement a policy compares: the first component of type "ARoT" (the application root of
 * trust, where a Veracruz runtime lives on PSA) if there is one, otherwise the first component.
 */
export function psaMeasurementComponent(components: readonly PsaSoftwareComponent[]): PsaSoftwareComponent | undefined {
  return components.find((component) => component.measurementType === 'ARoT') ?? components[0];
}

/**
 * Verifies an Arm PSA attestation token (COSE_Sign1, tag 18 or untagged, ES256). The attestation
 * public keys are `options.endorsements` (PEM or DER SubjectPublicKeyInfo, P-256); the key used is
 * the one whose instance id (0x01 || SHA-256 of the uncompressed point) equals the token's
 * instance id claim. Checks the signature, the claims' types, the lifecycle (secured; debug states
 * refused unless `allowDebug`; other states refused), and the nonce claim: `expectedCsrHash ||
 * expectedNonce` for a 64-byte nonce, or `expectedNonce` itself. `at` is required although a bare
 * key has no validity window. Claims: measurement = the ARoT component's (else the first
 * component's) measurement value; nonce = reportData = the nonce claim.
 */
export function verifyPsa(evidence: Uint8Array, options: VerifyOptions): Promise<EvidenceClaims> {
  return refuseUnexpected(PLATFORM, () => verifyPsaUnguarded(evidence, options));
}

async function verifyPsaUnguarded(evidence: Uint8Array, options: VerifyOptions): Promise<EvidenceClaims> {
  requireTime(PLATFORM, options);
  let sign1;
  try {
    sign1 = decodeCoseSign1(evidence);
  } catch (error) {
    throw attestationFailure(PLATFORM, (error as Error & { rawMessage?: string }).rawMessage ?? String(error), error);
  }
  if (sign1.alg !== 'ES256') throw attestationFailure(PLATFORM, `COSE_Sign1: algorithm ${sign1.alg} where ES256 is required`);
  const claims: PsaClaims = decodePsaClaims(sign1.payload);

  const endorsements = options.endorsements ?? [];
  if (endorsements.length === 0) throw attestationFailure(PLATFORM, 'no attestation public key given (options.endorsements)');
  const keys = endorsements.map(endorsedKey);
  const signer = keys.find((candidate) => bytesEqual(candidate.instanceId, claims.instanceId));
  if (signer === undefined) {
    throw attestationFailure(PLATFORM, `instance id ${toHex(claims.instanceId)} matches none of the ${keys.length} endorsed attestation keys`);
  }
  try {
    await verifyCoseSign1(sign1, signer.key.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']), { alg: 'ES256' });
  } catch (error) {
    throw attestationFailure(PLATFORM, 'COSE_Sign1: ES256 signature does not verify with the attestation key', error);
  }

  const debug = DEBUG_STATES.has(claims.lifecycleState);
  if (!debug && claims.lifecycleState !== 'secured') {
    throw attestationFailure(PLATFORM, `security lifecycle 0x${claims.lifecycle.toString(16)} (${claims.lifecycleState}) is not a deployed state`);
  }
  refuseDebug(PLATFORM, debug, `security lifecycle 0x${claims.lifecycle.toString(16)} is ${claims.lifecycleState}`, options);
  checkBoundReportData(PLATFORM, 'nonce claim', claims.nonce, options);

  const component = psaMeasurementComponent(claims.softwareComponents);
  if (component === undefined) throw attestationFailure(PLATFORM, 'token claims: no software component to take the measurement from');
  const result: EvidenceClaims = {
    platform: PLATFORM,
    measurement: new Uint8Array(component.measurementValue),
    reportData: new Uint8Array(claims.nonce),
    nonce: new Uint8Array(claims.nonce),
    debug,
    insecure: false,
    details: {
      profile: claims.profile,
      keySet: claims.keySet,
      instanceId: toHex(claims.instanceId),
      implementationId: toHex(claims.implementationId),
      lifecycle: claims.lifecycle,
      lifecycleState: claims.lifecycleState,
      clientId: claims.clientId,
      bootSeed: toHex(claims.bootSeed),
      certificationReference: claims.certificationReference,
      verificationServiceIndicator: claims.verificationServiceIndicator,
      measurementType: component.measurementType,
      softwareComponents: claims.softwareComponents.map((entry) => ({
        measurementType: entry.measurementType,
        version: entry.version,
        signerId: toHex(entry.signerId),
        measurementDescription: entry.measurementDescription,
        measurementValue: toHex(entry.measurementValue),
      })),
    },
  };
  if (claims.nonce.byteLength === 64) result.csrHash = claims.nonce.slice(0, 32);
  return result;
}
