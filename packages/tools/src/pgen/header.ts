/**
 * `vc-pgen header`: a policy's facts as a C header, for a device's embedded client (vc_client.h's
 * `vc_policy_facts`). A device cannot parse JSON policies or PEM at run time, so what it must check
 * (the policy hash, the PAS CA, the runtime hashes it may accept, where the server is, which
 * ciphersuite, its own certificate) is compiled in. Pure: the CLI reads and writes the files.
 */
import { Code, parseHostPort, VeracruzError } from '@veracruz-ts/core';
import { findIdentity, RUNTIME_HASH_FIELDS, tls13Ciphersuite, type Policy, type PolicyIdentity } from '@veracruz-ts/policy';
import packageJson from '../../package.json' with { type: 'json' };

/** Options of {@link policyFactsHeader}. */
export interface PolicyFactsHeaderOptions {
  /**
   * The device's identity: the id of one of the policy's certificate identities, whose certificate
   * the header carries so the device can check it was given the right one.
   * @default none (identity_id -1, no certificate)
   */
  identity?: number;
  /**
   * The C name of the facts constant; the header's other symbols and its include guard derive from it,
   * so one program can include the headers of several policies under different names.
   * @default 'VC_POLICY_FACTS'
   */
  name?: string;
  /** The header declaring `vc_policy_facts` and `vc_runtime_hash`, as written in `#include "..."`. @default 'vc_client.h' */
  include?: string;
}

/** The name of the facts constant when none is given. */
export const DEFAULT_FACTS_NAME = 'VC_POLICY_FACTS';

/** The header that declares the facts' types when none is given. */
export const DEFAULT_FACTS_INCLUDE = 'vc_client.h';

/** wolfSSL's cipher-list names of the TLS 1.3 suites, by the Veracruz name of the suite. */
export const WOLFSSL_CIPHERSUITES: Readonly<Record<string, string>> = Object.freeze({
  TLS1_3_CHACHA20_POLY1305_SHA256: 'TLS13-CHACHA20-POLY1305-SHA256',
  TLS1_3_AES_128_GCM_SHA256: 'TLS13-AES128-GCM-SHA256',
  TLS1_3_AES_256_GCM_SHA384: 'TLS13-AES256-GCM-SHA384',
  TLS1_3_AES_128_CCM_SHA256: 'TLS13-AES128-CCM-SHA256',
  TLS1_3_AES_128_CCM_8_SHA256: 'TLS13-AES128-CCM-8-SHA256',
});

const INT32_MAX = 0x7fff_ffff;

/** The runtime hash lengths a device accepts (SHA-256, and SEV-SNP's SHA-384 measurement). */
const RUNTIME_HASH_LENGTHS: readonly number[] = [32, 48];

const C99_KEYWORDS: ReadonlySet<string> = new Set(
  (
    'auto break case char const continue default do double else enum extern float for goto if inline int long register ' +
    'restrict return short signed sizeof static struct switch typedef union unsigned void volatile while _Bool _Complex _Imaginary'
  ).split(' '),
);

/**
 * The wolfSSL cipher-list name of the TLS 1.3 suite a policy's `ciphersuite` puts in use (a TLS 1.2
 * name stands for the TLS 1.3 suite with the same cipher, as everywhere else).
 */
export function wolfSslCiphersuite(veracruzName: string): string {
  const tls13 = tls13Ciphersuite(veracruzName);
  const name = tls13 === undefined ? undefined : WOLFSSL_CIPHERSUITES[tls13];
  if (name === undefined) {
    throw new VeracruzError(
      Code.InvalidPolicy,
      `ciphersuite ${JSON.stringify(veracruzName)} has no wolfSSL name, so a device cannot use it (known: ${Object.keys(WOLFSSL_CIPHERSUITES).join(', ')})`,
    );
  }
  return name;
}

function checkName(name: string): void {
  // A reserved identifier (__x, _X) could collide with the C library's own.
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(name) || C99_KEYWORDS.has(name)) {
    throw new VeracruzError(Code.InvalidRequest, `name ${JSON.stringify(name)}: expected a C identifier (a letter, then letters, digits and '_'; at most 63; not a keyword)`);
  }
}

function checkInclude(include: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_./-]*$/.test(include) || include.includes('..')) {
    throw new VeracruzError(Code.InvalidRequest, `include ${JSON.stringify(include)}: expected a header path of letters, digits, '_', '.', '/' and '-'`);
  }
}

/** The certificate identity `id` names, or a refusal that says what the policy has instead. */
function deviceIdentity(policy: Policy, id: number): PolicyIdentity {
  const known = `its certificate identities: ${policy.identities.map((identity) => identity.id).join(', ') || 'none'}`;
  const identity = findIdentity(policy, id);
  if (identity !== undefined) {
    // vc_policy_facts keeps -1 for "none", so the id must fit an int32_t.
    if (identity.id > INT32_MAX) throw new VeracruzError(Code.InvalidRequest, `identity ${id}: above ${INT32_MAX}, the largest id a device's facts can hold`);
    return identity;
  }
  if (policy.isolate_principals.some((principal) => principal.id === id)) {
    throw new VeracruzError(Code.InvalidRequest, `identity ${id} is another isolate, not a certificate identity of the policy: a device connects with a certificate (${known})`);
  }
  throw new VeracruzError(Code.InvalidRequest, `identity ${id} is not a certificate identity of the policy (${known})`);
}

function hexBytes(hex: string, what: string): Uint8Array {
  if (!/^([0-9a-f]{2})+$/.test(hex)) throw new VeracruzError(Code.InvalidPolicy, `${what}: expected lowercase hex, got ${JSON.stringify(hex)}`);
  return Uint8Array.from(hex.match(/../g)!, (pair) => Number.parseInt(pair, 16));
}

/** `bytes` as C initializer lines: 12 bytes a line, lowercase hex, each line led by `indent`. */
function byteLines(bytes: Uint8Array, indent: string): string {
  const lines: string[] = [];
  for (let start = 0; start < bytes.length; start += 12) {
    lines.push(indent + Array.from(bytes.subarray(start, start + 12), (byte) => `0x${byte.toString(16).padStart(2, '0')}`).join(', '));
  }
  return lines.join(',\n');
}

/** A C string literal. `?` is escaped so no trigraph can form; anything outside printable ASCII is octal. */
function cString(text: string): string {
  let literal = '';
  for (const byte of new TextEncoder().encode(text)) {
    const char = String.fromCharCode(byte);
    if (char === '"' || char === '\\' || char === '?') literal += `\\${char}`;
    else if (byte >= 0x20 && byte < 0x7f) literal += char;
    else literal += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `"${literal}"`;
}

/** Text from a certificate, safe inside a C comment: no `*`, `/`, `?` or `\` that could end or splice it. */
function commentText(text: string): string {
  return text.replace(/[^A-Za-z0-9 ._,:=@+-]/g, '_');
}

/**
 * The C header holding `policy`'s facts as `static const vc_policy_facts NAME`: the SHA-256 of the
 * policy file, the PAS CA certificate (DER), every runtime hash the policy allows with its platform,
 * the server's host and port, the wolfSSL name of the ciphersuite, and with `identity` that
 * identity's id and certificate (DER). Deterministic: the same policy and options give the same
 * bytes. Refuses an `identity` that is not a certificate identity of the policy and a ciphersuite
 * wolfSSL has no name for.
 */
export function policyFactsHeader(policy: Policy, options: PolicyFactsHeaderOptions = {}): string {
  const name = options.name ?? DEFAULT_FACTS_NAME;
  const include = options.include ?? DEFAULT_FACTS_INCLUDE;
  checkName(name);
  checkInclude(include);
  const identity = options.identity === undefined ? undefined : deviceIdentity(policy, options.identity);
  const cipherList = wolfSslCiphersuite(policy.ciphersuite);
  const server = parseHostPort(policy.veracruz_server_url, 'veracruz_server_url');
  const policyHash = hexBytes(policy.hash, 'the policy hash');
  if (policyHash.length !== 32) throw new VeracruzError(Code.InvalidPolicy, `the policy hash: expected 32 bytes (SHA-256), got ${policyHash.length}`);
  const runtimeHashes = Object.entries(RUNTIME_HASH_FIELDS).flatMap(([platform, field]) => {
    const hex = policy[field];
    if (hex === null) return [];
    const bytes = hexBytes(hex, field);
    if (!RUNTIME_HASH_LENGTHS.includes(bytes.length)) throw new VeracruzError(Code.InvalidPolicy, `${field}: expected 32 or 48 bytes, got ${bytes.length}`);
    return [{ platform, field, bytes }];
  });
  if (runtimeHashes.length === 0) throw new VeracruzError(Code.InvalidPolicy, 'runtime_manager_hash_*: no runtime hash, so a device could trust no isolate');
  const caDer = policy.proxyServiceCertInfo.der;
  const guard = `${name.toUpperCase()}_H`;

  const identityLine =
    identity === undefined
      ? ' * Identity: none given (identity_id -1): the device does not check its certificate against the policy.'
      : ` * Identity: ${identity.id} (${commentText(identity.certificateInfo.commonName) || 'no common name'}), its certificate below.`;
  const parts: string[] = [
    '/*',
    ` * The facts of one Veracruz policy, for a device's embedded client (${name}).`,
    ` * Generated by vc-pgen ${packageJson.version} (vc-pgen header): do not edit; generate it again from the policy.`,
    ` * Policy file SHA-256: ${policy.hash}`,
    identityLine,
    ' */',
    `#ifndef ${guard}`,
    `#define ${guard}`,
    '',
    '#include <stddef.h>',
    '#include <stdint.h>',
    '',
    `#include ${cString(include)}`,
    '',
    `/* proxy_service_cert: the PAS CA, the only trust anchor of the isolate's certificate (DER, ${caDer.length} bytes). */`,
    `static const uint8_t ${name}_pas_ca_der[${caDer.length}] = {`,
    byteLines(caDer, '  '),
    '};',
    '',
    '/* The runtime hashes the policy allows: the isolate\'s certificate must carry one of them. */',
    `static const vc_runtime_hash ${name}_runtime_hashes[${runtimeHashes.length}] = {`,
    runtimeHashes
      .map(({ platform, field, bytes }) =>
        [`  /* ${field} */`, `  { .platform = ${cString(platform)}, .length = ${bytes.length}, .bytes = {`, byteLines(bytes, '    '), '  } }'].join('\n'),
      )
      .join(',\n'),
    '};',
    '',
  ];
  if (identity !== undefined) {
    const der = identity.certificateInfo.der;
    parts.push(
      `/* The certificate of identity ${identity.id}: the device's own (DER, ${der.length} bytes). */`,
      `static const uint8_t ${name}_identity_certificate_der[${der.length}] = {`,
      byteLines(der, '  '),
      '};',
      '',
    );
  }
  parts.push(
    `static const vc_policy_facts ${name} = {`,
    '  /* SHA-256 of the policy file: the isolate\'s certificate must carry it. */',
    '  .policy_hash = {',
    byteLines(policyHash, '    '),
    '  },',
    `  .pas_ca_der = ${name}_pas_ca_der,`,
    `  .pas_ca_der_length = sizeof ${name}_pas_ca_der,`,
    `  .runtime_hashes = ${name}_runtime_hashes,`,
    `  .runtime_hash_count = ${runtimeHashes.length},`,
    `  /* veracruz_server_url ${commentText(policy.veracruz_server_url)} */`,
    `  .server_host = ${cString(server.host)},`,
    `  .server_port = ${server.port},`,
    `  /* ciphersuite ${commentText(policy.ciphersuite)} */`,
    `  .cipher_list = ${cString(cipherList)},`,
    ...(identity === undefined
      ? ['  .identity_id = -1,', '  .identity_certificate_der = NULL,', '  .identity_certificate_der_length = 0']
      : [
          `  .identity_id = ${identity.id},`,
          `  .identity_certificate_der = ${name}_identity_certificate_der,`,
          `  .identity_certificate_der_length = sizeof ${name}_identity_certificate_der`,
        ]),
    '};',
    '',
    `#endif /* ${guard} */`,
    '',
  );
  return parts.join('\n');
}
