import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Code } from '@veracruz-ts/core';
import { refusedAs } from '@veracruz-ts/core/testing';
import { createIdentity, parsePolicy, type Policy } from '@veracruz-ts/policy';
import packageJson from '../../package.json' with { type: 'json' };
import { buildPolicy, type PolicyInputs } from './generate.ts';
import { policyFactsHeader, WOLFSSL_CIPHERSUITES } from './header.ts';
import { stringifySorted } from './json.ts';

const [alice, bob, pas] = await Promise.all([createIdentity('alice'), createIdentity('bob'), createIdentity('pas')]);
const LINUX = 'b1'.repeat(32);
const SEVSNP = `${'5e'.repeat(47)}ff`;
const TDX = '7d'.repeat(32);
const PEER = 'c'.repeat(64);

/** The wolfSSL cipher-list names, written out here rather than taken from header.ts. */
const WOLFSSL_NAMES: Record<string, string> = {
  TLS1_3_CHACHA20_POLY1305_SHA256: 'TLS13-CHACHA20-POLY1305-SHA256',
  TLS1_3_AES_256_GCM_SHA384: 'TLS13-AES256-GCM-SHA384',
  TLS1_3_AES_128_GCM_SHA256: 'TLS13-AES128-GCM-SHA256',
  // A TLS 1.2 name stands for the TLS 1.3 suite with the same cipher.
  TLS1_2_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'TLS13-AES256-GCM-SHA384',
};

/** Two certificate identities (0, 1), another isolate as principal 2, one program; linux, SEV-SNP (48 bytes) and TDX hashes. */
function policyText(overrides: Partial<PolicyInputs> = {}): string {
  return stringifySorted(
    buildPolicy({
      certificates: [
        { source: 'alice.pem', pem: alice.certificatePem },
        { source: 'bob.pem', pem: bob.certificatePem },
      ],
      isolates: [{ policyHash: PEER }],
      capabilities: ['/input/:w,/program/:wx', '/output/:r', '/input/peer:w', '/input/:r,/output/:rw'],
      programs: [{ policyPath: '/program/sum.wasm', source: 'sum.wasm', sha256: 'a'.repeat(64) }],
      pipelines: [],
      hashes: [],
      veracruzServer: '127.0.0.1:3011',
      proxyAttestationServer: '127.0.0.1:3010',
      proxyServiceCertPem: pas.certificatePem,
      runtimeHashes: { linux: LINUX, sevsnp: SEVSNP, tdx: TDX },
      certificateExpiry: new Date(Date.now() + 365 * 86_400_000),
      debug: false,
      executionStrategy: 'JIT',
      enableClock: false,
      maxMemoryMib: 256,
      nativeModules: [],
      programLimits: [],
      ...overrides,
    }),
  );
}

/** What a generated header holds, read back from its C text. */
interface HeaderFacts {
  policyHash: Uint8Array;
  pasCaDer: Uint8Array;
  runtimeHashes: { platform: string; length: number; bytes: Uint8Array }[];
  serverHost: string;
  serverPort: number;
  cipherList: string;
  identityId: number;
  identityCertificateDer: Uint8Array | null;
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The bytes of a C initializer's `0x..` list. */
function cBytes(list: string): Uint8Array {
  assert.match(list, /^[\s0-9a-fx,]*$/, 'only hex bytes in a byte array');
  return Uint8Array.from([...list.matchAll(/0x([0-9a-f]{2})/g)], (match) => Number.parseInt(match[1]!, 16));
}

/** A C string literal's text (the escapes policyFactsHeader may write: \" \\ \? and octal). */
function cStringValue(literal: string): string {
  assert.match(literal, /^"(?:[^"\\]|\\.|\\[0-7]{3})*"$/);
  const bytes: number[] = [];
  const body = literal.slice(1, -1);
  for (let index = 0; index < body.length; index++) {
    if (body[index] !== '\\') {
      bytes.push(body.charCodeAt(index));
    } else if (/[0-7]/.test(body[index + 1]!)) {
      bytes.push(Number.parseInt(body.slice(index + 1, index + 4), 8));
      index += 3;
    } else {
      bytes.push(body.charCodeAt(++index));
    }
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/** A small reader of the C policyFactsHeader writes: every symbol named, every length checked against its data. */
function readHeader(text: string, name = 'VC_POLICY_FACTS'): HeaderFacts {
  const array = (symbol: string): Uint8Array => {
    const match = new RegExp(`static const uint8_t ${symbol}\\[(\\d+)\\] = \\{\\n([^}]*)\\n\\};`).exec(text);
    assert.ok(match, `${symbol} in\n${text}`);
    const bytes = cBytes(match[2]!);
    assert.equal(bytes.length, Number(match[1]), `${symbol}: its declared length`);
    return bytes;
  };
  const facts = new RegExp(`static const vc_policy_facts ${name} = \\{\\n([\\s\\S]*?)\\n\\};`).exec(text)?.[1];
  assert.ok(facts, `the facts constant ${name}`);
  const field = (key: string): string => {
    const match = new RegExp(`^ {2}\\.${key} = ([^\\n]*?),?$`, 'm').exec(facts);
    assert.ok(match, `.${key}`);
    return match[1]!;
  };
  assert.equal(field('pas_ca_der'), `${name}_pas_ca_der`);
  assert.equal(field('pas_ca_der_length'), `sizeof ${name}_pas_ca_der`);
  assert.equal(field('runtime_hashes'), `${name}_runtime_hashes`);
  const hashes = new RegExp(`static const vc_runtime_hash ${name}_runtime_hashes\\[(\\d+)\\] = \\{\\n([\\s\\S]*?)\\n\\};`).exec(text);
  assert.ok(hashes, 'the runtime hashes');
  const runtimeHashes = [...hashes[2]!.matchAll(/\{ \.platform = ("[^"]*"), \.length = (\d+), \.bytes = \{\n([^}]*)\n {2}\} \}/g)].map((match) => ({
    platform: cStringValue(match[1]!),
    length: Number(match[2]),
    bytes: cBytes(match[3]!),
  }));
  assert.equal(runtimeHashes.length, Number(hashes[1]));
  assert.equal(Number(field('runtime_hash_count')), runtimeHashes.length);
  const identityDer = field('identity_certificate_der');
  let identityCertificateDer: Uint8Array | null = null;
  if (identityDer === 'NULL') {
    assert.equal(field('identity_certificate_der_length'), '0');
  } else {
    assert.equal(identityDer, `${name}_identity_certificate_der`);
    assert.equal(field('identity_certificate_der_length'), `sizeof ${name}_identity_certificate_der`);
    identityCertificateDer = array(identityDer);
  }
  const policyHash = /^ {2}\.policy_hash = \{\n([^}]*)\n {2}\},$/m.exec(facts)?.[1];
  assert.ok(policyHash !== undefined, '.policy_hash');
  return {
    policyHash: cBytes(policyHash),
    pasCaDer: array(`${name}_pas_ca_der`),
    runtimeHashes,
    serverHost: cStringValue(field('server_host')),
    serverPort: Number(field('server_port')),
    cipherList: cStringValue(field('cipher_list')),
    identityId: Number(field('identity_id')),
    identityCertificateDer,
  };
}

/** A PEM certificate's DER, decoded here rather than by the policy parser. */
function pemDer(pem: string): Uint8Array {
  return new Uint8Array(Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), 'base64'));
}

/** The facts the header must hold, taken from the policy JSON (the parsed policy only for what needs a parser). */
function expectedFacts(policy: Policy, identity?: number) {
  const json = JSON.parse(policy.text) as Record<string, unknown>;
  const address = /^(?:\[(.+)\]|(.+)):(\d+)$/.exec(json['veracruz_server_url'] as string)!;
  const certificate = identity === undefined ? undefined : (json['identities'] as { id: number; certificate?: string }[]).find((entry) => entry.id === identity)?.certificate;
  return {
    policyHash: createHash('sha256').update(policy.text).digest('hex'),
    pasCaDer: hexOf(pemDer(json['proxy_service_cert'] as string)),
    runtimeHashes: (
      [
        ['linux', 'runtime_manager_hash_linux'],
        ['nitro', 'runtime_manager_hash_nitro'],
        ['sev-snp', 'runtime_manager_hash_sevsnp'],
        ['tdx', 'runtime_manager_hash_tdx'],
      ] as const
    ).flatMap(([platform, key]) => {
      const hex = json[key];
      return typeof hex === 'string' && hex !== '' ? [{ platform, length: hex.length / 2, bytes: hex.toLowerCase() }] : [];
    }),
    serverHost: address[1] ?? address[2],
    serverPort: Number(address[3]),
    cipherList: WOLFSSL_NAMES[json['ciphersuite'] as string],
    identityId: identity ?? -1,
    identityCertificateDer: certificate === undefined ? null : hexOf(pemDer(certificate)),
  };
}

function comparable(facts: HeaderFacts) {
  return {
    ...facts,
    policyHash: hexOf(facts.policyHash),
    pasCaDer: hexOf(facts.pasCaDer),
    runtimeHashes: facts.runtimeHashes.map(({ platform, length, bytes }) => ({ platform, length, bytes: hexOf(bytes) })),
    identityCertificateDer: facts.identityCertificateDer === null ? null : hexOf(facts.identityCertificateDer),
  };
}

const policy = await parsePolicy(policyText());

test('every value in the header is the policy\'s: hash, PAS CA, runtime hashes (a 48-byte SEV-SNP one), server, ciphersuite, identity', () => {
  const header = policyFactsHeader(policy, { identity: 1 });
  assert.deepEqual(comparable(readHeader(header)), expectedFacts(policy, 1));
  const facts = readHeader(header);
  assert.deepEqual(
    facts.runtimeHashes.map(({ platform, length }) => [platform, length]),
    [['linux', 32], ['sev-snp', 48], ['tdx', 32]],
  );
  assert.equal(hexOf(facts.runtimeHashes[1]!.bytes), SEVSNP);
  assert.deepEqual([facts.serverHost, facts.serverPort, facts.identityId], ['127.0.0.1', 3011, 1]);
  assert.deepEqual(facts.identityCertificateDer, pemDer(bob.certificatePem));
});

test('without an identity, identity_id is -1 and there is no certificate', () => {
  const header = policyFactsHeader(policy);
  assert.deepEqual(comparable(readHeader(header)), expectedFacts(policy));
  assert.doesNotMatch(header, /_identity_certificate_der\[/);
});

test('an IPv6 server address gives the host without brackets', async () => {
  const v6 = await parsePolicy(policyText({ veracruzServer: '[::1]:3011' }));
  const facts = readHeader(policyFactsHeader(v6));
  assert.deepEqual([facts.serverHost, facts.serverPort], ['::1', 3011]);
  assert.deepEqual(comparable(facts), expectedFacts(v6));
});

test('the cipher list is wolfSSL\'s name of the suite in use, for each TLS 1.3 suite and for a TLS 1.2 name', async () => {
  for (const [ciphersuite, wolfSsl] of Object.entries(WOLFSSL_NAMES)) {
    const parsed = await parsePolicy(policyText({ ciphersuite }));
    assert.equal(readHeader(policyFactsHeader(parsed)).cipherList, wolfSsl, ciphersuite);
  }
});

test('a one-byte change of the policy file changes the hash in the header, and only the hash', async () => {
  const text = policyText();
  const changed = text.replace('"max_memory_mib": 256', '"max_memory_mib": 257');
  assert.equal(changed.length, text.length);
  const [before, after] = await Promise.all([parsePolicy(text), parsePolicy(changed)]);
  const [headerBefore, headerAfter] = [policyFactsHeader(before), policyFactsHeader(after)];
  assert.equal(hexOf(readHeader(headerAfter).policyHash), createHash('sha256').update(changed).digest('hex'));
  assert.notDeepEqual(readHeader(headerAfter).policyHash, readHeader(headerBefore).policyHash);
  const linesBefore = headerBefore.split('\n');
  const differing = headerAfter.split('\n').filter((line, index) => line !== linesBefore[index]);
  assert.ok(differing.length > 0);
  for (const line of differing) assert.match(line, /^( \* Policy file SHA-256: [0-9a-f]{64}| {4}0x[0-9a-f]{2}(, 0x[0-9a-f]{2})*,?)$/);
});

test('the header is deterministic, says it is generated and by which vc-pgen, and writes 12 bytes a line', () => {
  const header = policyFactsHeader(policy, { identity: 0 });
  assert.equal(policyFactsHeader(policy, { identity: 0 }), header);
  const comment = header.slice(0, header.indexOf('*/'));
  assert.ok(header.startsWith('/*\n'));
  assert.match(comment, new RegExp(`Policy file SHA-256: ${policy.hash}\\n`));
  assert.match(comment, new RegExp(`Generated by vc-pgen ${packageJson.version.replaceAll('.', '\\.')} .*do not edit`));
  assert.match(comment, /Identity: 0 \(alice\)/);
  assert.match(header, /^#include "vc_client\.h"$/m);
  assert.match(header, /^#ifndef VC_POLICY_FACTS_H\n#define VC_POLICY_FACTS_H\n/m);
  assert.ok(header.endsWith('#endif /* VC_POLICY_FACTS_H */\n'));
  // Within each array, every line but the last holds 12 bytes.
  for (const array of header.matchAll(/\{\n((?: +0x[^\n]*\n)+)/g)) {
    const counts = array[1]!.trimEnd().split('\n').map((line) => line.match(/0x/g)!.length);
    assert.ok(counts.slice(0, -1).every((count) => count === 12) && counts.at(-1)! <= 12, counts.join(' '));
  }
  const renamed = policyFactsHeader(policy, { name: 'site_b', include: 'device/facts_types.h' });
  assert.match(renamed, /^#include "device\/facts_types\.h"$/m);
  assert.match(renamed, /^#ifndef SITE_B_H$/m);
  assert.deepEqual(comparable(readHeader(renamed, 'site_b')), expectedFacts(policy));
  assert.doesNotMatch(renamed, /VC_POLICY_FACTS/);
});

test('refuses an identity that is not a certificate identity of the policy, naming it', () => {
  assert.throws(() => policyFactsHeader(policy, { identity: 7 }), refusedAs(Code.InvalidRequest, 'identity 7 is not a certificate identity of the policy (its certificate identities: 0, 1)'));
  assert.throws(() => policyFactsHeader(policy, { identity: 2 }), refusedAs(Code.InvalidRequest, /^identity 2 is another isolate, not a certificate identity of the policy: a device connects with a certificate/));
});

test('refuses a ciphersuite with no wolfSSL name, a name that is no C identifier and a strange include', () => {
  assert.throws(() => policyFactsHeader({ ...policy, ciphersuite: 'TLS1_3_SM4_GCM_SM3' }), refusedAs(Code.InvalidPolicy, /^ciphersuite "TLS1_3_SM4_GCM_SM3" has no wolfSSL name, so a device cannot use it/));
  for (const name of ['2facts', 'my-facts', 'static', '_Reserved', '']) {
    assert.throws(() => policyFactsHeader(policy, { name }), refusedAs(Code.InvalidRequest, new RegExp(`^name ${JSON.stringify(name)}: expected a C identifier`)), name);
  }
  for (const include of ['a"b.h', '../x.h', 'x.h\n#define y']) {
    assert.throws(() => policyFactsHeader(policy, { include }), refusedAs(Code.InvalidRequest, /^include .*: expected a header path/), include);
  }
});

/** The struct typedefs of the shared design, as a minimal stand-in for vc_client.h. */
const MINIMAL_TYPES = `#ifndef FACTS_TYPES_H
#define FACTS_TYPES_H
#include <stddef.h>
#include <stdint.h>
typedef struct { const char *platform; uint8_t length; uint8_t bytes[48]; } vc_runtime_hash;
typedef struct {
  uint8_t policy_hash[32];
  const uint8_t *pas_ca_der; size_t pas_ca_der_length;
  const vc_runtime_hash *runtime_hashes; size_t runtime_hash_count;
  const char *server_host; uint16_t server_port;
  const char *cipher_list;
  int32_t identity_id;
  const uint8_t *identity_certificate_der; size_t identity_certificate_der_length;
} vc_policy_facts;
#endif
`;

/** A C program printing one facts constant, a line per fact, as expectedFacts() gives them. */
function printingProgram(includes: string[], names: string[]): string {
  return `${includes.map((file) => `#include "${file}"`).join('\n')}
#include <stdio.h>

static void print_hex(const uint8_t *bytes, size_t length) {
  size_t index;
  for (index = 0; index < length; index++) printf("%02x", bytes[index]);
  printf("\\n");
}

static void print_facts(const vc_policy_facts *facts) {
  size_t index;
  print_hex(facts->policy_hash, sizeof facts->policy_hash);
  print_hex(facts->pas_ca_der, facts->pas_ca_der_length);
  for (index = 0; index < facts->runtime_hash_count; index++) {
    printf("%s %u ", facts->runtime_hashes[index].platform, (unsigned)facts->runtime_hashes[index].length);
    print_hex(facts->runtime_hashes[index].bytes, facts->runtime_hashes[index].length);
  }
  printf("%s\\n%u\\n%s\\n%ld\\n", facts->server_host, (unsigned)facts->server_port, facts->cipher_list, (long)facts->identity_id);
  if (facts->identity_certificate_der == NULL) printf("null %lu\\n", (unsigned long)facts->identity_certificate_der_length);
  else print_hex(facts->identity_certificate_der, facts->identity_certificate_der_length);
}

int main(void) {
${names.map((name) => `  print_facts(&${name});\n  printf("--\\n");`).join('\n')}
  return 0;
}
`;
}

/** expectedFacts() as printingProgram() prints them. */
function printed(expected: ReturnType<typeof expectedFacts>): string {
  return [
    expected.policyHash,
    expected.pasCaDer,
    ...expected.runtimeHashes.map(({ platform, length, bytes }) => `${platform} ${length} ${bytes}`),
    expected.serverHost,
    String(expected.serverPort),
    expected.cipherList,
    String(expected.identityId),
    expected.identityCertificateDer ?? 'null 0',
    '--',
    '',
  ].join('\n');
}

const C99 = ['-std=c99', '-pedantic-errors', '-Wall', '-Wextra', '-Werror'];

test('the header is valid C99: compiled with the system cc and run, it holds the policy\'s values; two policies live side by side', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'vc-pgen-header-'));
  try {
    const v6 = await parsePolicy(policyText({ veracruzServer: '[::1]:3011', ciphersuite: 'TLS1_3_AES_128_GCM_SHA256' }));
    await writeFile(join(directory, 'facts_types.h'), MINIMAL_TYPES);
    await writeFile(join(directory, 'site_a.h'), policyFactsHeader(policy, { identity: 1, name: 'SITE_A', include: 'facts_types.h' }));
    await writeFile(join(directory, 'site_b.h'), policyFactsHeader(v6, { name: 'site_b', include: 'facts_types.h' }));
    // Included twice: the include guard holds.
    await writeFile(join(directory, 'main.c'), printingProgram(['site_a.h', 'site_b.h', 'site_a.h'], ['SITE_A', 'site_b']));
    const program = join(directory, 'facts');
    execFileSync('cc', [...C99, '-o', program, join(directory, 'main.c')], { stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(execFileSync(program, { encoding: 'utf8' }), printed(expectedFacts(policy, 1)) + printed(expectedFacts(v6)));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

const embeddedInclude = fileURLToPath(new URL('../../../embedded/include', import.meta.url));

test('the header compiles against vc_client.h itself, when packages/embedded provides it', async (context) => {
  if (!existsSync(join(embeddedInclude, 'vc_client.h'))) {
    context.diagnostic('packages/embedded/include/vc_client.h is not there: checked against the design\'s typedefs only');
    return;
  }
  const directory = await mkdtemp(join(tmpdir(), 'vc-pgen-header-'));
  try {
    await writeFile(join(directory, 'vc_policy.h'), policyFactsHeader(policy, { identity: 0 }));
    await writeFile(join(directory, 'main.c'), printingProgram(['vc_policy.h'], ['VC_POLICY_FACTS']));
    const program = join(directory, 'facts');
    execFileSync('cc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-I', embeddedInclude, '-o', program, join(directory, 'main.c')], { stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(execFileSync(program, { encoding: 'utf8' }), printed(expectedFacts(policy, 0)));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('every cipher-list name is one the system wolfSSL accepts for TLS 1.3 (scripts/setup-system.sh installs it)', async () => {
  assert.ok(existsSync('/usr/include/wolfssl/ssl.h'), 'wolfSSL is not installed: run scripts/setup-system.sh');
  const directory = await mkdtemp(join(tmpdir(), 'vc-pgen-header-'));
  try {
    const names = Object.values(WOLFSSL_CIPHERSUITES);
    await writeFile(
      join(directory, 'ciphers.c'),
      `#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <stdio.h>

int main(void) {
  static const char *const names[] = { ${names.map((name) => JSON.stringify(name)).join(', ')} };
  size_t index;
  WOLFSSL_CTX *context;
  wolfSSL_Init();
  context = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  if (context == NULL) return 2;
  for (index = 0; index < sizeof names / sizeof names[0]; index++) {
    printf("%s %s\\n", names[index], wolfSSL_CTX_set_cipher_list(context, names[index]) == WOLFSSL_SUCCESS ? "ok" : "refused");
  }
  wolfSSL_CTX_free(context);
  wolfSSL_Cleanup();
  return 0;
}
`,
    );
    const program = join(directory, 'ciphers');
    execFileSync('cc', ['-std=c99', '-Wall', '-Werror', '-o', program, join(directory, 'ciphers.c'), '-lwolfssl'], { stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(execFileSync(program, { encoding: 'utf8' }), names.map((name) => `${name} ok\n`).join(''));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
