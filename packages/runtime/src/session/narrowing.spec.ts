import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type SignedResult, signedResultStatement } from '@veracruz-ts/attestation/signed-result';
import { parsePolicy, type Policy, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { ResponseStatus, type RuntimeManagerRequest, type RuntimeManagerResponse } from '@veracruz-ts/protocol';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { compileC } from '../engine/compile-c.ts';
import { ExecutionEngine } from '../engine/engine.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import type { ResultSigner } from '../wasi/process-options.ts';
import { RequestDispatcher, type SessionPrincipal } from './dispatch.ts';
import { PROGRAM_SUBJECT } from './rights-in-force.ts';
import { createTestPki, createTestPrincipal, testPolicyText, testSigner } from './test-fixture.ts';

/**
 * Writes /output/result.txt, then uses `veracruz_v1`: tries to widen alice's rights, takes bob's away,
 * names a subject that does not exist, locks the result against its own later runs, and signs it.
 * Prints each call's errno.
 */
const NARROWING_SOURCE = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#define ABI(name) __attribute__((import_module("veracruz_v1"), import_name(name)))
ABI("rights_get") int32_t rights_get(uint32_t subject, const char *path, size_t length, uint32_t *rights);
ABI("rights_narrow") int32_t rights_narrow(uint32_t subject, const char *path, size_t length, uint32_t rights);
ABI("readers") int32_t readers(const char *path, size_t length, uint32_t *out, size_t capacity, size_t *count);
ABI("policy_hash") int32_t policy_hash(uint8_t *out);
ABI("policy_get") int32_t policy_get(uint8_t *out, size_t size, size_t *length);
ABI("result_sign") int32_t result_sign(const char *path, size_t length, const char *out, size_t out_length);
#define P(text) text, strlen(text)

int main(void) {
  FILE *file = fopen("/output/result.txt", "w");
  int written = file != NULL && fputs("42\n", file) >= 0;
  if (file == NULL || fclose(file) != 0 || !written) { printf("write refused\n"); return 4; }
  uint32_t rights = 0;
  int status = rights_get(2, P("/output/result.txt"), &rights);
  printf("bob %d %u\n", status, rights);
  printf("widen %d\n", rights_narrow(1, P("/output/"), rights | 64));
  printf("narrow %d\n", rights_narrow(2, P("/output/"), 0));
  printf("nobody %d\n", rights_narrow(7, P("/output/"), 0));
  static char long_path[5000];
  memset(long_path, 'a', sizeof long_path);
  long_path[0] = '/';
  printf("long %d\n", rights_narrow(2, long_path, sizeof long_path, 0));
  uint32_t ids[4];
  size_t count = 0;
  status = readers(P("/output/result.txt"), ids, 4, &count);
  printf("readers %d %zu %u %u\n", status, count, ids[0], ids[1]);
  rights_get(0x80000000u, P("/output/result.txt"), &rights);
  // Every bit of the w shorthand that r does not also hold: no write, create or truncate.
  printf("lock %d\n", rights_narrow(0x80000000u, P("/output/result.txt"), rights & ~(534084u & ~24582u)));
  printf("sign %d\n", result_sign(P("/output/result.txt"), P("/output/result.sig")));
  printf("sign-unreadable %d\n", result_sign(P("/input/none"), P("/output/x.sig")));
  uint8_t hash[32];
  size_t length = 0;
  printf("hash %d %02x%02x policy %d %zu\n", policy_hash(hash), hash[0], hash[1], policy_get(hash, 0, &length), length);
  return 0;
}
`;

const PROGRAM_RIGHTS = [{ file_name: '/output/', rights: RIGHTS_WRITE | RIGHTS_READ }, { file_name: 'stdout', rights: RIGHTS_WRITE }];

let policy: Policy;
let engine: ExecutionEngine;
let signer: ResultSigner;

before(async () => {
  const binary = await compileC(NARROWING_SOURCE);
  const pki = await createTestPki();
  const principals = await Promise.all([
    createTestPrincipal('owner', [{ file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }, { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE }, { file_name: 'stdout', rights: RIGHTS_READ }]),
    createTestPrincipal('alice', [{ file_name: '/output/', rights: RIGHTS_READ }]),
    createTestPrincipal('bob', [{ file_name: '/output/', rights: RIGHTS_READ }]),
  ]);
  policy = await parsePolicy(testPolicyText({
    principals, pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash,
    programs: [{ path: '/program/narrow.wasm', binary, rights: PROGRAM_RIGHTS }],
  }));
  signer = await testSigner(pki, policy);
  engine = new ExecutionEngine();
  programBinary = binary;
});
after(() => engine.close());

let programBinary: Uint8Array;

function computation(): (id: number, request: RuntimeManagerRequest) => Promise<RuntimeManagerResponse> {
  const vfs = new VirtualFileSystem({ budget: new MemoryBudget(policy.max_memory_mib * 1024 * 1024) });
  const dispatcher = new RequestDispatcher({ policy, vfs, engine, signer });
  return (id, request) => {
    const fileRights = policy.identities[id]!.file_rights;
    const principal: SessionPrincipal = { id, fileRights, view: vfs.view(fileRights) };
    return dispatcher.dispatch(principal, request);
  };
}

const text = (response: RuntimeManagerResponse): string => (response.body?.kind === 'result' ? new TextDecoder().decode(response.body.data) : '');

describe('programs narrowing rights (veracruz_v1)', () => {
  it('narrow for every later request, never widen, and their narrowing is listed; a signed result verifies', async () => {
    const send = computation();
    assert.equal((await send(0, { kind: 'write_file', fileName: '/program/narrow.wasm', data: programBinary })).status, ResponseStatus.SUCCESS);
    const run = await send(0, { kind: 'request_result', fileName: '/program/narrow.wasm' });
    assert.equal(run.status, ResponseStatus.SUCCESS, run.errorDetail?.message);
    const stdout = text(await send(0, { kind: 'read_file', fileName: 'stdout' }));
    const hash = policy.hash.slice(0, 4);
    assert.equal(stdout, [
      `bob 0 ${RIGHTS_READ}`, 'widen 63', 'narrow 0', 'nobody 44', 'long 37', 'readers 0 2 0 1', 'lock 0', 'sign 0', 'sign-unreadable 76',
      `hash 0 ${hash} policy 42 ${Buffer.byteLength(policy.text)}`, '',
    ].join('\n'));

    // Bob lost his read; alice and the owner kept theirs.
    const refused = await send(2, { kind: 'read_file', fileName: '/output/result.txt' });
    assert.notEqual(refused.status, ResponseStatus.SUCCESS);
    assert.match(refused.errorDetail?.message ?? '', /read \/output\/result\.txt: missing FD_READ/);
    assert.equal(text(await send(1, { kind: 'read_file', fileName: '/output/result.txt' })), '42\n');

    const report = JSON.parse(text(await send(1, { kind: 'request_rights' }))) as {
      subjects: { subject: number; file_rights: { file_name: string; rights: number }[] }[];
      narrowings: { program: string; subject: number; path: string; before: number; after: number }[];
    };
    assert.deepEqual(report.narrowings.map(({ program, subject, path, before, after }) => ({ program, subject, path, before, after })), [
      { program: '/program/narrow.wasm', subject: 2, path: '/output', before: RIGHTS_READ, after: 0 },
      { program: '/program/narrow.wasm', subject: PROGRAM_SUBJECT, path: '/output/result.txt', before: RIGHTS_WRITE | RIGHTS_READ, after: RIGHTS_READ },
    ]);
    assert.deepEqual(report.subjects.find((entry) => entry.subject === 2)?.file_rights, [{ file_name: '/output/', rights: 0 }]);

    // The lock holds for the program's next run: it can no longer open its result for writing.
    const again = await send(0, { kind: 'request_result', fileName: '/program/narrow.wasm' });
    assert.deepEqual(again.body?.kind === 'result' ? [...again.body.data] : [], [4, 0, 0, 0]);
    assert.equal(text(await send(0, { kind: 'read_file', fileName: 'stdout' })), 'write refused\n');
    assert.equal(text(await send(1, { kind: 'read_file', fileName: '/output/result.txt' })), '42\n');

    const envelope = JSON.parse(text(await send(1, { kind: 'read_file', fileName: '/output/result.sig' }))) as SignedResult;
    assert.deepEqual([envelope.path, envelope.size, envelope.sha256, envelope.policy_hash, envelope.program],
      ['/output/result.txt', 3, createHash('sha256').update('42\n').digest('hex'), policy.hash, '/program/narrow.wasm']);
    const publicKey = createPublicKey(new X509Certificate(envelope.certificate).publicKey.export({ format: 'pem', type: 'spki' }));
    assert.ok(verify('sha256', signedResultStatement(envelope), publicKey, Buffer.from(envelope.signature, 'base64')));
    assert.ok(!verify('sha256', signedResultStatement({ ...envelope, sha256: '00'.repeat(32) }), publicKey, Buffer.from(envelope.signature, 'base64')));
  });
});
