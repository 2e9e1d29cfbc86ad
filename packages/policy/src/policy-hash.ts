/**
 * The policy hash: how the parties and the isolate confirm they hold the same policy. It covers the
 * file's exact bytes, with no canonicalisation, so any tool (sha256sum) computes the same value.
 */
import { toHex } from '@veracruz-ts/core';

/** Lowercase hex SHA-256 of the policy file's exact bytes (a string is hashed as UTF-8). */
export async function policyHash(bytes: string | Uint8Array): Promise<string> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return toHex(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
}
