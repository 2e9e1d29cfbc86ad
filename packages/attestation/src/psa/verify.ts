/**
 * Verifier of Arm PSA initial attestation tokens: COSE_Sign1 (tag 18, ES256) signed by the
 * instance's Initial Attestation Key, endorsed as a bare public key or by a CoMID (see endorsement.ts).
 */
import { decodeCoseSign1, verifyCoseSign1 } from '../cose.ts';
import { checkBoundReportData } from '../binding.ts';
import { attestationFailure, bytesEqual, refuseDebug, refuseUnexpected, requireTime, toHex, type EvidenceClaims, type VerifyOptions } from '../platform.ts';
import { decodePsaClaims, type PsaClaims, type PsaSoftwareComponent } from './token.ts';
import { readPsaEndorsement, type PsaEndorsedKey } from './endorsement.ts';

const PLATFORM = 'psa';

/** The lifecycle states in which the PSA RoT's secrets are exposed to a debugger. */
const DEBUG_STATES = new Set(['non-psa-rot-debug', 'recoverable-psa-rot-debug']);

/**
 * The endorsed keys that may have signed a token: those endorsed for its instance id and, when the
 * endorsement names an implementation id, for its implementation too.
 */
function keysForToken(keys: readonly PsaEndorsedKey[], claims: PsaClaims): PsaEndorsedKey[] {
  const forInstance = keys.filter((candidate) => bytesEqual(candidate.instanceId, claims.instanceId));
  if (forInstance.length === 0) {
    throw attestationFailure(PLATFORM, `instance id ${toHex(claims.instanceId)} matches none of the ${keys.length} endorsed attestation keys`);
  }
  const forImplementation = forInstance.filter((candidate) => candidate.implementationId === undefined || bytesEqual(candidate.implementationId, claims.implementationId));
  if (forImplementation.length === 0) {
    const [first] = forInstance as [PsaEndorsedKey];
    throw attestationFailure(
      PLATFORM,
      `instance id ${toHex(claims.instanceId)} is endorsed (${first.source}) for implementation id ${toHex(first.implementationId as Uint8Array)}, ` +
        `but the token's implementation id is ${toHex(claims.implementationId)}`,
    );
  }
  return forImplementation;
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
 * keys come from `options.endorsements`, each either a bare public key (PEM or DER
 * SubjectPublicKeyInfo, P-256), endorsed for the instance id 0x01 || SHA-256 of its uncompressed
 * point, or a CoMID JSON whose attester-verification-keys triples bind instance ids (`ueid`), and
 * optionally implementation ids, to keys. Only a key endorsed for the token's own instance id (and
 * implementation id, when named) is tried, so a token is never checked against another device's
 * key. Checks the signature, the claims' types, the lifecycle (secured; debug states
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
  const candidates = keysForToken(endorsements.flatMap((bytes, index) => readPsaEndorsement(bytes, index)), claims);
  let signer: PsaEndorsedKey | undefined;
  let lastError: unknown;
  for (const candidate of candidates) {
    try {
      await verifyCoseSign1(sign1, candidate.key.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']), { alg: 'ES256' });
      signer = candidate;
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (signer === undefined) {
    const keys = candidates.length === 1 ? 'the attestation key' : `any of the ${candidates.length} attestation keys endorsed for this instance`;
    throw attestationFailure(PLATFORM, `COSE_Sign1: ES256 signature does not verify with ${keys}`, lastError);
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
      endorsedBy: signer.source,
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
