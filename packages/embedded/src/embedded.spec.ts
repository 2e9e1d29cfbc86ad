// The embedded C client end to end: `vc-embedded` built with the system compiler and wolfSSL, for
// a header `vc-pgen header` made from the policy, against a real PAS and vc-server (linux isolate)
// on loopback. Its refusals are checked to come before anything is sent: the file it would have
// written does not exist afterwards, as the TypeScript SDK sees it.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createPrivateKey, randomBytes, type webcrypto, X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { VeracruzClient } from '@veracruz-ts/client';
import {
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  Code,
  createCertificate,
  KeyUsage,
  keyUsageExtension,
  randomSerialNumber,
  subjectKeyIdentifierExtension,
  type X509Extension,
} from '@veracruz-ts/core';
import { createIdentity, parsePolicy, type Policy, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import type { RunningServer } from '@veracruz-ts/server';
import { policyFactsHeader } from '@veracruz-ts/tools/header';
import { connect, e2ePolicy, exampleProgram, party, type Party, rejectsWith, startComputation, startTestPas, type TestPas } from '../../../tests/e2e/harness.ts';
import { buildEmbeddedCli, C_FLAGS, EMBEDDED_ROOT } from './build.ts';

const run = promisify(execFile);
const CHUNK_BYTES = 4096;
const SORT = '/program/sort-integers.wasm';

interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command without blocking this process (vc-server and the PAS run in it). */
function runCli(binary: string, args: readonly string[], stdin?: Uint8Array): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr }));
    child.stdin.end(stdin === undefined ? undefined : Buffer.from(stdin));
  });
}

/** The TLS records in one direction of a session's bytes: content type and length. */
function tlsRecords(bytes: Buffer): { type: number; length: number }[] {
  const records: { type: number; length: number }[] = [];
  for (let offset = 0; offset + 5 <= bytes.length; offset += 5 + bytes.readUInt16BE(offset + 3)) {
    records.push({ type: bytes[offset]!, length: bytes.readUInt16BE(offset + 3) });
  }
  return records;
}

/** A fresh ECDSA P-256 key pair and its SPKI. */
async function p256(): Promise<{ keys: webcrypto.CryptoKeyPair; spki: Uint8Array }> {
  const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return { keys, spki: new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey)) };
}

/** A certificate valid from an hour ago for a day, as DER. */
async function certificate(subject: string, issuer: string, spki: Uint8Array, signer: webcrypto.CryptoKey, extensions: X509Extension[]): Promise<Uint8Array> {
  const now = Date.now();
  return createCertificate({ serialNumber: randomSerialNumber(), subject, issuer, notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 86_400_000), publicKey: spki, extensions }, signer);
}

/** Little-endian u32s as bytes. */
function u32s(values: readonly number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => {
    bytes.writeUInt32LE(value, index * 4);
  });
  return bytes;
}

describe('building vc-embedded', () => {
  it('fails saying to run scripts/setup-system.sh when wolfSSL\'s headers are missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vc-embedded-cc-'));
    try {
      // A compiler that finds no system headers at all, as on a machine without libwolfssl-dev.
      const cc = join(dir, 'cc');
      await writeFile(cc, '#!/bin/sh\nexec cc --sysroot=/nonexistent -nostdinc "$@"\n');
      await chmod(cc, 0o755);
      await writeFile(join(dir, 'facts.h'), '');
      await assert.rejects(buildEmbeddedCli({ policyHeader: join(dir, 'facts.h'), cc, outDir: dir }),
        /^Error: wolfSSL's headers are missing \(<wolfssl\/ssl\.h> does not compile with .*\): run scripts\/setup-system\.sh/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A C harness for the parsers a server's bytes reach: vc_find_extension over a certificate (argv[1])
 * and vc_decode_response over a response, each whole, cut at every length and with every byte
 * replaced by edge values, always from a heap copy of exactly the length given (so AddressSanitizer
 * sees any read past it); then inputs each malformed in one known way.
 */
const PARSER_HARNESS = String.raw`#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc_protocol.h"
#include "vc_verify.h"

static const uint8_t RUNTIME_HASH_OID[] = {0x55, 0x1e, 0x01};
static const uint8_t EDGES[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0x82, 0x84, 0x85, 0xff};
static int failures;

static int inside(const uint8_t *copy, size_t length, const void *pointer, size_t size) {
  const uint8_t *at = (const uint8_t *)pointer;
  return pointer == NULL || (at >= copy && size <= length && (size_t)(at - copy) <= length - size);
}

static int find(const uint8_t *data, size_t length) {
  uint8_t *copy = malloc(length > 0 ? length : 1);
  memcpy(copy, data, length);
  const uint8_t *value = NULL;
  size_t value_length = 0;
  int found = vc_find_extension(copy, length, RUNTIME_HASH_OID, sizeof RUNTIME_HASH_OID, &value, &value_length);
  if (found < -1 || found > 1 || (found == 1 && (value == NULL || !inside(copy, length, value, value_length)))) failures++;
  free(copy);
  return found;
}

static int decode(const uint8_t *data, size_t length) {
  uint8_t *copy = malloc(length > 0 ? length : 1);
  memcpy(copy, data, length);
  vc_response r;
  int decoded = vc_decode_response(copy, length, &r);
  if ((decoded != 0 && decoded != -1) || !inside(copy, length, r.result, r.result_length) ||
      !inside(copy, length, r.policy_hash, r.policy_hash_length) || !inside(copy, length, r.error_code, r.error_code_length) ||
      !inside(copy, length, r.error_message, r.error_message_length)) {
    failures++;
  }
  free(copy);
  return decoded;
}

static void mangle(const uint8_t *data, size_t length, int (*parse)(const uint8_t *, size_t)) {
  uint8_t *work = malloc(length);
  for (size_t cut = 0; cut <= length; cut++) (void)parse(data, cut);
  for (size_t at = 0; at < length; at++) {
    for (size_t edge = 0; edge < sizeof EDGES; edge++) {
      memcpy(work, data, length);
      work[at] = EDGES[edge];
      (void)parse(work, length);
    }
  }
  free(work);
}

#define CASE(name, parse, ...)                        \
  do {                                                \
    static const uint8_t bytes[] = {__VA_ARGS__};     \
    printf("%s %d\n", name, parse(bytes, sizeof bytes)); \
  } while (0)

int main(int argc, char **argv) {
  static uint8_t certificate[16384];
  FILE *file = argc > 1 ? fopen(argv[1], "rb") : NULL;
  if (file == NULL) return 2;
  size_t length = fread(certificate, 1, sizeof certificate, file);
  fclose(file);
  const uint8_t *value;
  size_t value_length = 0;
  int found = vc_find_extension(certificate, length, RUNTIME_HASH_OID, sizeof RUNTIME_HASH_OID, &value, &value_length);
  printf("certificate %d %u\n", found, (unsigned)value_length);
  mangle(certificate, length, find);
  CASE("indefinite-length", find, 0x30, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00);
  CASE("five-length-bytes", find, 0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x03, 0x30, 0x01, 0x00);
  CASE("length-past-the-end", find, 0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00);
  CASE("no-extensions", find, 0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01);
  CASE("extension-value-not-octets", find, 0x30, 0x0d, 0x30, 0x0b, 0xa3, 0x09, 0x30, 0x07, 0x30, 0x05, 0x06, 0x03, 0x55, 0x1e, 0x01);

  static const uint8_t response[] = {
      0x08, 0x01, 0x10, 0x05, 0x22, 0x06, 0x0a, 0x04, 'a', 'b', 'c', 'd', 0x5a, 0x42, 0x0a, 0x40,
      '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0',
      '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0',
      '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0',
      '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0',
      0xaa, 0x01, 0x03, 0x08, 0xac, 0x02, 0xa2, 0x01, 0x0e, 0x0a, 0x09, 'n', 'o', 't', '_', 'f', 'o', 'u', 'n', 'd',
      0x12, 0x01, 'm', 0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8};
  vc_response r;
  int decoded = vc_decode_response(response, sizeof response, &r);
  printf("response %d status=%d result=%.*s policy_hash=%u file_size=%u error=%.*s: %.*s\n", decoded, (int)r.status,
         (int)r.result_length, (const char *)r.result, (unsigned)r.policy_hash_length, (unsigned)r.file_size,
         (int)r.error_code_length, r.error_code, (int)r.error_message_length, r.error_message);
  mangle(response, sizeof response, decode);
  CASE("key-beyond-32-bits", decode, 0x08, 0x01, 0xa2, 0x80, 0x80, 0x80, 0x80, 0x01, 0x06, 0x0a, 0x04, 'a', 'b', 'c', 'd');
  CASE("field-0", decode, 0x08, 0x01, 0x02, 0x00);
  CASE("length-past-the-end", decode, 0x08, 0x01, 0x22, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00);
  CASE("eleven-byte-varint", decode, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
  CASE("group", decode, 0x08, 0x01, 0x0b, 0x0c);
  CASE("fixed64-cut", decode, 0x08, 0x01, 0x09, 0x00, 0x00);
  printf("failures %d\n", failures);
  return 0;
}
`;

describe('the DER walker and the protobuf decoder, on malformed input (a C harness under AddressSanitizer)', () => {
  it('read nothing outside what they are given, point only inside it, and refuse what is malformed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vc-embedded-parsers-'));
    try {
      // The runtime-hash extension after a critical one, so the walker reads a BOOLEAN on its way.
      const key = await p256();
      await writeFile(join(dir, 'leaf.der'), await certificate('CN=VeracruzCompute', 'CN=Test PAS CA', key.spki, key.keys.privateKey, [
        basicConstraintsExtension(false),
        { oid: '2.5.30.1', critical: false, value: new Uint8Array(32).fill(7) },
      ]));
      await writeFile(join(dir, 'harness.c'), PARSER_HARNESS);
      const sources = ['src/vc_verify.c', 'src/vc_protocol.c', 'src/vc_text.c'].map((source) => join(EMBEDDED_ROOT, source));
      const includes = ['include', 'src'].map((directory) => `-I${join(EMBEDDED_ROOT, directory)}`);
      await run('cc', [...C_FLAGS, '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', ...includes, 'harness.c', ...sources, '-o', 'harness'], { cwd: dir });
      const { stdout } = await run(join(dir, 'harness'), [join(dir, 'leaf.der')], { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
      assert.equal(stdout, [
        'certificate 1 32',
        'indefinite-length -1',
        'five-length-bytes -1',
        'length-past-the-end -1',
        'no-extensions 0',
        'extension-value-not-octets -1',
        'response 0 status=1 result=abcd policy_hash=64 file_size=300 error=not_found: m',
        'key-beyond-32-bits -1',
        'field-0 -1',
        'length-past-the-end -1',
        'eleven-byte-varint -1',
        'group -1',
        'fixed64-cut -1',
        'failures 0',
        '',
      ].join('\n'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('vc-embedded, the embedded C client, against vc-server (linux isolate)', { timeout: 300_000 }, () => {
  let pas: TestPas;
  let server: RunningServer;
  let provider: Party;
  let device: Party;
  let policyText: string;
  let policy: Policy;
  let dir: string;
  let deviceArgs: string[];
  let binary: string;
  const clients: VeracruzClient[] = [];
  /** What each session's client sent, as the host relayed it (ciphertext). */
  const sent = new Map<number, Buffer[]>();

  /** Builds vc-embedded for the facts of `facts` (a parsed policy, perhaps altered). */
  async function cliFor(name: string, facts: Policy, identity?: number): Promise<string> {
    const header = join(dir, `${name}.h`);
    await writeFile(header, policyFactsHeader(facts, identity === undefined ? {} : { identity }));
    // Each run's PAS CA is new, so no build outlives the run: they go to its temporary directory.
    return buildEmbeddedCli({ policyHeader: header, chunkBytes: CHUNK_BYTES, outDir: join(dir, 'build') });
  }

  /** The device's view through the TypeScript SDK, to check what the embedded client did (or did not). */
  async function sdk(): Promise<VeracruzClient> {
    const client = await connect(server, policyText, device);
    clients.push(client);
    return client;
  }

  async function identityArgs(who: { certificatePem: string; privateKeyPem: string }, name: string): Promise<string[]> {
    await writeFile(join(dir, `${name}.crt`), who.certificatePem);
    await writeFile(join(dir, `${name}.key`), who.privateKeyPem, { mode: 0o600 });
    return ['--cert', join(dir, `${name}.crt`), '--key', join(dir, `${name}.key`), '--address', server.url];
  }

  /** Asserts `result` is a refusal with exactly `line` on stderr, and that `remote` was not written. */
  async function assertRefusedBeforeSending(result: CliResult, line: string | RegExp, remote: string): Promise<void> {
    if (typeof line === 'string') assert.equal(result.stderr, `vc-embedded: ${line}\n`);
    else assert.match(result.stderr, line);
    assert.equal(result.code, 1);
    assert.equal(result.stdout.length, 0);
    await assert.rejects((await sdk()).readFile(remote), rejectsWith(Code.NotFound, /./));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vc-embedded-'));
    pas = await startTestPas();
    provider = await party('program-provider', [{ file_name: '/program/', rights: RIGHTS_WRITE }]);
    device = await party('device', [
      { file_name: '/input/', rights: RIGHTS_READ | RIGHTS_WRITE },
      { file_name: '/program/', rights: RIGHTS_EXECUTE },
      { file_name: '/output/', rights: RIGHTS_READ },
    ]);
    const sort = await exampleProgram('sort-integers');
    policyText = await e2ePolicy(pas, {
      parties: [provider, device],
      programs: [{ path: SORT, binary: sort, rights: [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_WRITE }] }],
    });
    policy = await parsePolicy(policyText);
    // Over the relay, so the test sees the records the device sends, as any host could.
    server = await startComputation(policyText, pas, {
      relay: true,
      relayTap: (direction, sessionId, bytes) => {
        if (direction === 'to-isolate') sent.set(sessionId, [...(sent.get(sessionId) ?? []), Buffer.from(bytes)]);
      },
    });
    const uploader = await connect(server, policyText, provider);
    await uploader.writeFile(SORT, sort);
    await uploader.close();
    binary = await cliFor('policy', policy, 1);
    deviceArgs = await identityArgs(device, 'device');
  });

  after(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await server?.close().catch(() => {});
    await pas?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('reuses a build whose inputs are unchanged', async () => {
    assert.equal(await cliFor('policy-again', policy, 1), binary);
  });

  const values = Array.from({ length: 4700 }, (_, index) => (index * 2_654_435_761) >>> 0);
  const written = u32s(values.slice(0, 3600)); // 14400 bytes: a write_file and 3 append_file
  const appended = u32s(values.slice(3600)); // 4400 bytes: 2 append_file

  it('writes a file in chunks, appends to it, and reads the same bytes back in chunks', async () => {
    assert.ok(written.length > 3 * CHUNK_BYTES && appended.length > CHUNK_BYTES);
    await writeFile(join(dir, 'ints.bin'), written);
    const earlier = new Set(sent.keys());
    const write = await runCli(binary, [...deviceArgs, 'write', '/input/ints.bin', join(dir, 'ints.bin')]);
    assert.deepEqual({ code: write.code, stderr: write.stderr }, { code: 0, stderr: '' });
    // One TLS record per request: the write_file and three append_file, none above a chunk and its head.
    const session = [...sent.keys()].filter((id) => !earlier.has(id));
    assert.equal(session.length, 1);
    const large = tlsRecords(Buffer.concat(sent.get(session[0]!)!)).filter((record) => record.type === 23 && record.length > 1000);
    assert.equal(large.length, 4, JSON.stringify(large));
    for (const record of large) assert.ok(record.length <= CHUNK_BYTES + 64, `a record of ${record.length} bytes`);
    const append = await runCli(binary, [...deviceArgs, 'append', '/input/ints.bin', '-'], appended);
    assert.deepEqual({ code: append.code, stderr: append.stderr }, { code: 0, stderr: '' });

    const whole = Buffer.concat([written, appended]);
    const read = await runCli(binary, [...deviceArgs, 'read', '/input/ints.bin']);
    assert.deepEqual({ code: read.code, stderr: read.stderr }, { code: 0, stderr: '' });
    assert.ok(read.stdout.equals(whole), `read back ${read.stdout.length} bytes, not the ${whole.length} written`);
    assert.ok(Buffer.from(await (await sdk()).readFile('/input/ints.bin')).equals(whole), 'the SDK reads what the device wrote');
  });

  it('runs a program, prints its exit code, and reads its output', async () => {
    const run = await runCli(binary, [...deviceArgs, 'run', SORT]);
    assert.deepEqual({ code: run.code, stdout: run.stdout.toString(), stderr: run.stderr }, { code: 0, stdout: '0\n', stderr: '' });
    const read = await runCli(binary, [...deviceArgs, 'read', '/output/sorted.bin']);
    assert.equal(read.code, 0, read.stderr);
    assert.ok(read.stdout.equals(u32s([...values].sort((a, b) => a - b))), 'the sorted integers');
  });

  it('prints the policy hash the isolate enforces, and what it verified; wolfSSL\'s heap is all returned', async () => {
    const result = await runCli(binary, [...deviceArgs, '--verbose', '--heap-stats', 'policy-hash']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), `${policy.hash}\n`);
    assert.match(result.stderr, /^vc-embedded: verified the isolate: a linux runtime the policy allows, enforcing this policy\n/);
    assert.match(result.stderr, /\nvc-embedded: wolfSSL heap: peak [1-9]\d* bytes, [1-9]\d* allocations, 0 bytes still held\n$/);
  });

  it('surfaces the isolate\'s error detail (code and message) as the TypeScript client does', async () => {
    const result = await runCli(binary, [...deviceArgs, 'read', '/output/missing.bin']);
    let expected = '';
    await assert.rejects((await sdk()).readFile('/output/missing.bin'), (error: unknown) => {
      expected = error instanceof Error ? error.message : String(error);
      return true;
    });
    assert.match(expected, /^\[not_found\] /);
    assert.equal(result.stderr, `vc-embedded: ${expected}\n`);
    assert.equal(result.code, 1);
  });

  it('refuses an isolate whose runtime hash the policy does not allow, before sending anything', async () => {
    const cli = await cliFor('other-runtime', { ...policy, runtime_manager_hash_linux: 'ab'.repeat(32) });
    const result = await runCli(cli, [...deviceArgs, 'write', '/input/refused-runtime.bin', join(dir, 'ints.bin')]);
    await assertRefusedBeforeSending(result,
      `[attestation_failed] runtime hash ${policy.runtime_manager_hash_linux} is not one the policy allows (linux: abababababababab...)`,
      '/input/refused-runtime.bin');
  });

  it('refuses an isolate certified by another PAS CA, naming wolfSSL\'s verdict, before sending anything', async () => {
    const foreign = await createIdentity('another-pas-ca');
    const cli = await cliFor('foreign-ca', await parsePolicy(JSON.stringify({ ...JSON.parse(policyText), proxy_service_cert: foreign.certificatePem.trim() }, null, 2)));
    const result = await runCli(cli, [...deviceArgs, 'write', '/input/refused-ca.bin', join(dir, 'ints.bin')]);
    await assertRefusedBeforeSending(result,
      '[attestation_failed] chain: ASN_NO_SIGNER_E at the isolate certificate (not signed by the policy\'s PAS CA)',
      '/input/refused-ca.bin');
  });

  it('refuses an isolate bound to a policy one byte different from the device\'s, before sending anything', async () => {
    const altered = policyText.replace('\n  "debug"', '\n \t"debug"');
    assert.equal(altered.length, policyText.length);
    const other = await parsePolicy(altered);
    const cli = await cliFor('one-byte-different', other);
    const result = await runCli(cli, [...deviceArgs, 'write', '/input/refused-policy.bin', join(dir, 'ints.bin')]);
    await assertRefusedBeforeSending(result,
      `[attestation_failed] the isolate certificate binds policy ${policy.hash}, not this policy (${other.hash})`,
      '/input/refused-policy.bin');
  });

  it('checks validity by the device\'s clock: an isolate certificate expired or not yet valid then is refused', async () => {
    // The first certificate wolfSSL finds out of date is named: the PAS CA (chain[1]) or the isolate's own.
    const at = (year: number): string => String(Date.UTC(year, 0, 1) / 1000);
    const late = await runCli(binary, [...deviceArgs, '--at', at(2200), 'write', '/input/refused-late.bin', join(dir, 'ints.bin')]);
    await assertRefusedBeforeSending(late,
      /^vc-embedded: \[attestation_failed\] chain: ASN_AFTER_DATE_E at (the isolate certificate|chain\[1\]) \(expired, by the device's clock\)\n$/,
      '/input/refused-late.bin');
    const early = await runCli(binary, [...deviceArgs, '--at', at(2001), 'write', '/input/refused-early.bin', join(dir, 'ints.bin')]);
    await assertRefusedBeforeSending(early,
      /^vc-embedded: \[attestation_failed\] chain: ASN_BEFORE_DATE_E at (the isolate certificate|chain\[1\]) \(not yet valid, by the device's clock\)\n$/,
      '/input/refused-early.bin');
  });

  it('is refused by the isolate when its certificate is not one of the policy\'s identities, and sends no data', async () => {
    const stranger = await createIdentity('stranger');
    const cli = await cliFor('no-identity', policy);
    const result = await runCli(cli, [...(await identityArgs(stranger, 'stranger')), 'write', '/input/refused-stranger.bin', join(dir, 'ints.bin')]);
    await assertRefusedBeforeSending(result,
      '[permission_denied] the isolate does not know this identity: its certificate is not one of the policy\'s identities (TLS alert certificate_unknown)',
      '/input/refused-stranger.bin');
  });

  it('refuses to connect with a certificate that is not the identity the header names', async () => {
    const result = await runCli(binary, [...(await identityArgs(provider, 'provider')), 'write', '/input/refused-identity.bin', join(dir, 'ints.bin')]);
    await assertRefusedBeforeSending(result, '[invalid_request] the device certificate is not identity 1\'s certificate in the policy', '/input/refused-identity.bin');
  });

  it('checks the certificate the isolate authenticated with, not the next one in its chain when wolfSSL cannot keep it', async () => {
    // wolfSSL keeps no chain certificate of MAX_X509_SIZE (2048) bytes or more for the session, and
    // the next one takes its place: a host holding the key of a large certificate from the PAS (for
    // a runtime the policy does not allow) sends a copy of a good isolate certificate after it.
    const ca = await p256();
    const caName = 'CN=Test PAS CA';
    const caDer = await certificate(caName, caName, ca.spki, ca.keys.privateKey, [
      basicConstraintsExtension(true, 0),
      keyUsageExtension(KeyUsage.keyCertSign | KeyUsage.cRLSign),
      await subjectKeyIdentifierExtension(ca.spki),
    ]);
    const trusting = await parsePolicy(JSON.stringify({ ...JSON.parse(policyText), proxy_service_cert: new X509Certificate(caDer).toString().trim() }, null, 2));
    const isolateExtensions = async (spki: Uint8Array, runtimeHash: string): Promise<X509Extension[]> => [
      basicConstraintsExtension(false),
      keyUsageExtension(KeyUsage.digitalSignature),
      await subjectKeyIdentifierExtension(spki),
      await authorityKeyIdentifierExtension(ca.spki),
      { oid: '2.5.30.1', critical: false, value: Buffer.from(runtimeHash, 'hex') },
      { oid: '2.25.175502363497633101215918906921151556982', critical: false, value: Buffer.concat([Buffer.from(trusting.hash, 'hex'), Buffer.alloc(32)]) },
    ];
    const good = await p256();
    const goodDer = await certificate('CN=VeracruzCompute', caName, good.spki, ca.keys.privateKey, await isolateExtensions(good.spki, policy.runtime_manager_hash_linux!));
    const large = await p256();
    const largeDer = await certificate('CN=VeracruzCompute', caName, large.spki, ca.keys.privateKey, [
      ...(await isolateExtensions(large.spki, 'cd'.repeat(32))),
      { oid: '1.3.6.1.4.1.55555.1', critical: false, value: new Uint8Array(2600) },
    ]);
    assert.ok(largeDer.length > 2048 && goodDer.length < 2048, `${largeDer.length} and ${goodDer.length} bytes`);
    const largeKey = createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey('pkcs8', large.keys.privateKey)), format: 'der', type: 'pkcs8' })
      .export({ format: 'pem', type: 'pkcs8' }) as string;

    // A host answering every request with success, and the policy hash the device expects.
    const requests: number[] = [];
    const policyHash = Buffer.concat([Buffer.from([0x08, 0x01, 0x5a, 66, 0x0a, 64]), Buffer.from(trusting.hash, 'ascii')]);
    const host = createServer({
      key: largeKey,
      cert: new X509Certificate(largeDer).toString() + new X509Certificate(goodDer).toString(),
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
    }, (socket) => {
      let pending = Buffer.alloc(0);
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 8 && pending.length >= 8 + Number(pending.readBigUInt64BE(0))) {
          const message = pending.subarray(8, 8 + Number(pending.readBigUInt64BE(0)));
          pending = pending.subarray(8 + message.length);
          const field = ((message[0]! & 0x7f) | ((message[0]! & 0x80) === 0 ? 0 : message[1]! << 7)) >> 3;
          requests.push(field);
          const answer = field === 10 ? policyHash : Buffer.from([0x08, 0x01]);
          const frame = Buffer.alloc(8);
          frame.writeBigUInt64BE(BigInt(answer.length));
          socket.write(Buffer.concat([frame, answer]));
        }
      });
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    try {
      const cli = await cliFor('large-leaf', trusting, 1);
      const port = (host.address() as AddressInfo).port;
      const result = await runCli(cli, [...deviceArgs, '--address', `127.0.0.1:${port}`, 'write', '/input/large-leaf.bin', '-'], Buffer.from('a reading'));
      assert.deepEqual({ code: result.code, stderr: result.stderr, requests }, {
        code: 1,
        stderr: 'vc-embedded: [attestation_failed] the isolate certificate is not the one wolfSSL kept for the checks (it keeps none of MAX_X509_SIZE bytes or more)\n',
        requests: [],
      });
    } finally {
      await new Promise((resolve) => host.close(resolve));
    }
  });

  it('streams a file of random bytes whose size is not a multiple of the chunk', async () => {
    const data = randomBytes(3 * CHUNK_BYTES + 123);
    const write = await runCli(binary, [...deviceArgs, 'write', '/input/random.bin', '-'], data);
    assert.equal(write.code, 0, write.stderr);
    const read = await runCli(binary, [...deviceArgs, 'read', '/input/random.bin']);
    assert.ok(read.stdout.equals(data));
    const empty = await runCli(binary, [...deviceArgs, 'write', '/input/empty.bin', '-'], new Uint8Array(0));
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal((await (await sdk()).readFile('/input/empty.bin')).length, 0);
  });

  it('says how to use it, with exit code 2', async () => {
    const result = await runCli(binary, [...deviceArgs, 'read']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^vc-embedded: wrong number of arguments\nusage: vc-embedded /);
  });

  it('shuts the computation down', async () => {
    const result = await runCli(binary, [...deviceArgs, 'shutdown']);
    assert.deepEqual({ code: result.code, stderr: result.stderr }, { code: 0, stderr: '' });
    await assert.rejects(connect(server, policyText, device).then((client) => {
      clients.push(client);
      return client.readFile('/input/ints.bin');
    }), rejectsWith(Code.Unavailable, /./));
  });
});
