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

/** The TLS 1.3 suite with the same AEAD cipher as a TLS 1.2 suite ending in that cipher's name. */
const TLS13_FOR_TLS12_CIPHER: Readonly<Record<string, string>> = {
  CHACHA20_POLY1305_SHA256: 'TLS1_3_CHACHA20_POLY1305_SHA256',
  AES_128_GCM_SHA256: 'TLS1_3_AES_128_GCM_SHA256',
  AES_256_GCM_SHA384: 'TLS1_3_AES_256_GCM_SHA384',
  AES_128_CCM: 'TLS1_3_AES_128_CCM_SHA256',
  AES_128_CCM_8: 'TLS1_3_AES_128_CCM_8_SHA256',
};

/**
 * TLS 1.2 ciphersuite names a Veracruz policy may carry (Veracruz looked the name up in mbedTLS, so
 * its TLS 1.2 suites passed), in IANA form (`TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256`) and
 * with a version prefix (`TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256`): the AEAD suites with
 * forward secrecy. Each maps to the TLS 1.3 suite (Veracruz name) with the same AEAD cipher, which
 * is what the isolate and the clients then use: they speak TLS 1.3 only.
 */
export const TLS12_CIPHERSUITES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    ['ECDHE_ECDSA', 'ECDHE_RSA', 'DHE_RSA'].flatMap((exchange) =>
      Object.entries(TLS13_FOR_TLS12_CIPHER)
        // IANA defines the CCM suites for ECDHE_ECDSA and DHE_RSA only.
        .filter(([cipher]) => !(exchange === 'ECDHE_RSA' && cipher.includes('CCM')))
        .flatMap(([cipher, tls13]) => ['TLS', 'TLS1_2'].map((prefix) => [`${prefix}_${exchange}_WITH_${cipher}`, tls13])),
    ),
  ),
);

/**
 * The TLS 1.3 suite (Veracruz name, a key of {@link CIPHERSUITES}) that a policy's `ciphersuite`
 * puts in use: the name itself, or for a {@link TLS12_CIPHERSUITES} name the TLS 1.3 suite with the
 * same AEAD cipher. Undefined for a name no Veracruz policy could carry.
 */
export function tls13Ciphersuite(veracruzName: string): string | undefined {
  if (Object.hasOwn(CIPHERSUITES, veracruzName)) return veracruzName;
  return Object.hasOwn(TLS12_CIPHERSUITES, veracruzName) ? TLS12_CIPHERSUITES[veracruzName] : undefined;
}

/** The OpenSSL (node:tls `ciphers`) name of the TLS 1.3 suite a policy's ciphersuite puts in use. */
export function opensslCiphersuite(veracruzName: string): string {
  const tls13 = tls13Ciphersuite(veracruzName);
  const name = tls13 === undefined ? undefined : CIPHERSUITES[tls13];
  if (name === undefined) throw new VeracruzError(Code.InvalidPolicy, `ciphersuite: unknown ciphersuite ${JSON.stringify(veracruzName)}`);
  return name;
}
