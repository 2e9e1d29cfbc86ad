import { Code, concatBytes, findExtension, parseX509Certificate, toHex, VeracruzError } from '@veracruz-ts/core';
import { certificateDer } from './pem.ts';

/**
 * The X.509 extension (a UUID OID, X.667; non-critical) that binds an isolate certificate to the
 * policy the isolate enforces. Its extnValue OCTET STRING holds 64 raw bytes: the policy hash (SHA-256
 * of the policy bytes), then the identity hash.
 */
export const POLICY_BINDING_EXTENSION_OID = '2.25.175502363497633101215918906921151556982';

/** The policy-binding extension's value; throws `InvalidRequest` naming a hash that is not 32 bytes. */
export function encodePolicyBinding(policyHash: Uint8Array, identityHash: Uint8Array): Uint8Array {
  for (const [name, hash] of [['policyHash', policyHash], ['identityHash', identityHash]] as const) {
    if (hash.length !== 32) throw new VeracruzError(Code.InvalidRequest, `policy binding: ${name} is ${hash.length} bytes; expected 32 (SHA-256)`);
  }
  return concatBytes([policyHash, identityHash]);
}

/**
 * Reads the policy binding of an isolate certificate (DER bytes or PEM text) as lowercase hex;
 * `undefined` without the extension. Throws `AttestationFailed` when it does not hold 64 bytes.
 */
export function readPolicyBinding(certificate: Uint8Array | string): { policyHash: string; identityHash: string } | undefined {
  const value = findExtension(parseX509Certificate(certificateDer(certificate)), POLICY_BINDING_EXTENSION_OID)?.value;
  if (value === undefined) return undefined;
  if (value.length !== 64) throw new VeracruzError(Code.AttestationFailed, `policy-binding extension holds ${value.length} bytes; expected 64`);
  return { policyHash: toHex(value.subarray(0, 32)), identityHash: toHex(value.subarray(32)) };
}
