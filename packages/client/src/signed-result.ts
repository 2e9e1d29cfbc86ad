import { createHash, verify, X509Certificate } from 'node:crypto';
import { verifyCertificateChain } from '@veracruz-ts/attestation';
import { certificateDer } from '@veracruz-ts/attestation/certificates';
import { SIGNED_RESULT_TYPE, type SignedResult, signedResultStatement } from '@veracruz-ts/attestation/signed-result';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { Policy } from '@veracruz-ts/policy';
import { checkPolicyBinding, checkRuntimeHash } from './checks.ts';

/** What {@link verifySignedResult} checks. */
export interface VerifySignedResultOptions {
  /** The policy the parties agreed (the envelope must be about a computation under it). */
  policy: Policy;
  /** The envelope `result_sign` wrote: its JSON text or bytes. */
  envelope: string | Uint8Array;
  /** The result file's bytes; when given, their size and SHA-256 must be the ones signed. */
  data?: Uint8Array;
}

/** A signed result that verified: what the isolate stated, and the platform its certificate names. */
export interface VerifiedSignedResult extends SignedResult {
  platform: string;
  runtimeHash: string;
}

const refused = (message: string): VeracruzError => new VeracruzError(Code.AttestationFailed, `signed result: ${message}`);

function parseEnvelope(envelope: string | Uint8Array): SignedResult {
  let value: unknown;
  try {
    value = JSON.parse(typeof envelope === 'string' ? envelope : new TextDecoder('utf-8', { fatal: true }).decode(envelope));
  } catch {
    throw refused('the envelope is not JSON');
  }
  const result = value as Partial<SignedResult> | null;
  if (result === null || typeof result !== 'object' || result.type !== SIGNED_RESULT_TYPE || result.version !== 1) {
    throw refused(`the envelope is not a ${SIGNED_RESULT_TYPE} version 1`);
  }
  for (const field of ['path', 'sha256', 'policy_hash', 'program', 'signed_at', 'certificate', 'signature'] as const) {
    if (typeof result[field] !== 'string') throw refused(`the envelope's ${field} is missing or not a string`);
  }
  if (!Number.isSafeInteger(result.size) || (result.size as number) < 0) throw refused('the envelope\'s size is not a byte count');
  return result as SignedResult;
}

/**
 * Checks, offline, that a result was signed by an isolate attested to run `policy`: the envelope is
 * about this policy, its certificate chains to the policy's PAS CA and was valid when it signed,
 * binds this policy's hash and carries a runtime hash the policy trusts; the signature covers the
 * statement; and, given the file, its size and SHA-256 are the ones signed. Throws AttestationFailed
 * naming the first check that failed.
 */
export async function verifySignedResult(options: VerifySignedResultOptions): Promise<VerifiedSignedResult> {
  const { policy } = options;
  const envelope = parseEnvelope(options.envelope);
  if (envelope.policy_hash !== policy.hash) throw refused(`it is about policy ${envelope.policy_hash}, not this policy file (${policy.hash})`);
  const signedAt = new Date(envelope.signed_at);
  if (Number.isNaN(signedAt.getTime())) throw refused(`signed_at ${JSON.stringify(envelope.signed_at)} is not a time`);
  let leaf: Uint8Array;
  try {
    leaf = certificateDer(envelope.certificate, 'the envelope\'s certificate');
  } catch (error) {
    throw refused(VeracruzError.from(error).message);
  }
  await verifyCertificateChain([leaf], [policy.proxy_service_cert], signedAt, {
    context: 'signed result: isolate certificate (trust anchor: the policy\'s proxy_service_cert, at signed_at)',
    names: ['isolate certificate'],
  });
  const { platform, hash } = checkRuntimeHash(leaf, policy);
  checkPolicyBinding(leaf, policy);
  const publicKey = new X509Certificate(leaf).publicKey;
  let valid = false;
  try {
    valid = verify('sha256', signedResultStatement(envelope), publicKey, Buffer.from(envelope.signature, 'base64'));
  } catch {
    // A malformed signature verifies nothing.
  }
  if (!valid) throw refused('the signature does not verify with the isolate certificate\'s key (the envelope was altered, or signed by another key)');
  if (options.data !== undefined) {
    const sha256 = createHash('sha256').update(options.data).digest('hex');
    if (options.data.length !== envelope.size || sha256 !== envelope.sha256) {
      throw refused(`the file is not the one signed (${options.data.length} bytes, SHA-256 ${sha256}; signed: ${envelope.size} bytes, ${envelope.sha256})`);
    }
  }
  // Only what the signature covers (and what it was checked with): an envelope's other fields are not vouched for.
  const { path, size, sha256, policy_hash, program, signed_at, certificate, signature } = envelope;
  return { type: SIGNED_RESULT_TYPE, version: 1, path, size, sha256, policy_hash, program, signed_at, certificate, signature, platform, runtimeHash: hash };
}
