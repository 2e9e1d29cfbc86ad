/**
 * Which TLS ciphersuite a policy's `ciphersuite` field puts in use. Veracruz policies name TLS 1.3
 * suites, or TLS 1.2 AEAD suites that mbedTLS accepted; the isolate and its clients speak TLS 1.3
 * only, so a TLS 1.2 name stands for the TLS 1.3 suite with the same cipher.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';

/** The Veracruz ciphersuite names a policy may use, mapped to the names OpenSSL (node:tls) uses. */
export const CIPHERSUITES: Readonly<Record<string, string>> = Object.freeze({
  TLS1_3_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
  TLS1_3_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS1_3_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS1_3_AES_128_CCM_SHA256: 'TLS_AES_128_CCM_SHA256',
  TLS1_3_AES_128_CCM_8_SHA256: 'TLS_AES_128_CCM_8_SHA256',
});

/**
 * The TLS 1.2 ciphersuite names a Veracruz policy may carry (Veracruz looked the name up in mbedTLS, so
 * its TLS 1.2 suites passed), in IANA form (`TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256`) and with a
 * version prefix (`TLS1_2_...`): the AEAD suites with forward secrecy (IANA defines the CCM suites for
 * ECDHE_ECDSA and DHE_RSA only). The group is the AEAD cipher, which names the TLS 1.3 suite used instead.
 */
const TLS12_SUITE = /^TLS(?:1_2)?_(?:ECDHE_ECDSA|DHE_RSA|ECDHE_RSA(?!_WITH_AES_128_CCM))_WITH_(CHACHA20_POLY1305_SHA256|AES_128_GCM_SHA256|AES_256_GCM_SHA384|AES_128_CCM(?:_8)?)$/;

/**
 * The TLS 1.3 suite (Veracruz name, a key of {@link CIPHERSUITES}) that a policy's `ciphersuite`
 * puts in use: the name itself, or for a TLS 1.2 AEAD suite the TLS 1.3 suite with the same cipher
 * (the isolate and its clients speak TLS 1.3 only). Undefined for a name no Veracruz policy could carry.
 */
export function tls13Ciphersuite(veracruzName: string): string | undefined {
  if (Object.hasOwn(CIPHERSUITES, veracruzName)) return veracruzName;
  const cipher = TLS12_SUITE.exec(veracruzName)?.[1];
  return cipher === undefined ? undefined : `TLS1_3_${cipher}${cipher.startsWith('AES_128_CCM') ? '_SHA256' : ''}`;
}

/** The OpenSSL (node:tls `ciphers`) name of the TLS 1.3 suite a policy's ciphersuite puts in use. */
export function opensslCiphersuite(veracruzName: string): string {
  const tls13 = tls13Ciphersuite(veracruzName);
  const name = tls13 === undefined ? undefined : CIPHERSUITES[tls13];
  if (name === undefined) throw new VeracruzError(Code.InvalidPolicy, `ciphersuite: unknown ciphersuite ${JSON.stringify(veracruzName)}`);
  return name;
}
