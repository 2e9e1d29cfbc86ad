import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RIGHTS_READ, RIGHTS_WRITE, createIdentity } from '@veracruz-ts/policy';
import { compileC } from '@veracruz-ts/runtime/testing';
import { runTool } from '../run-tool.ts';

const FEE = new URL('../../bin/vc-fee.ts', import.meta.url).pathname;

/** Runs vc-fee in a child process. */
const fee = (args: readonly string[]) => runTool(FEE, args);

/** Veracruz's postcard-native example in C: /input/postcard.dat -> the service -> /output/postcard_native.txt. */
const POSTCARD_NATIVE = `
#include <stdio.h>
int main(void) {
  static char buf[65536];
  FILE *in = fopen("/input/postcard.dat", "rb");
  if (!in) { perror("input"); return 1; }
  size_t n = fread(buf, 1, sizeof buf, in);
  fclose(in);
  FILE *service = fopen("/services/postcard_string.dat", "wb");
  if (!service || fwrite(buf, 1, n, service) != n || fclose(service) != 0) { perror("service"); return 2; }
  FILE *result = fopen("/services/postcard_result.dat", "rb");
  if (!result) { perror("result"); return 3; }
  n = fread(buf, 1, sizeof buf, result);
  fclose(result);
  FILE *out = fopen("/output/postcard_native.txt", "wb");
  if (!out || fwrite(buf, 1, n, out) != n || fclose(out) != 0) { perror("output"); return 4; }
  return 0;
}`;

/** vec![Struct3 { e1: ENUM2_3(300), e2: ENUM2_3(7), e3: ENUM2_3(0) }] in postcard, and its JSON. */
const REQUEST = Uint8Array.of(0x01, 0x02, 0xac, 0x02, 0x02, 0x07, 0x02, 0x00);
const RESULT = '[{"e1":{"ENUM2_3":300},"e2":{"ENUM2_3":7},"e3":{"ENUM2_3":0}}]';

let work: string;
let programPath: string;
let policyBase: Record<string, unknown>;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'vc-fee-native-'));
  programPath = join(work, 'postcard-native.wasm');
  writeFileSync(programPath, await compileC(POSTCARD_NATIVE));
  const validity = { notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000) };
  const [owner, pas] = await Promise.all([createIdentity('owner', validity), createIdentity('pas', validity)]);
  policyBase = {
    ciphersuite: 'TLS1_3_CHACHA20_POLY1305_SHA256', debug: false, enable_clock: false, execution_strategy: 'JIT', max_memory_mib: 64,
    identities: [{ certificate: owner.certificatePem, id: 0, file_rights: [{ file_name: '/input/', rights: RIGHTS_WRITE }] }],
    programs: [{
      program_file_name: '/program/postcard-native.wasm', id: 0,
      file_rights: [
        { file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
        { file_name: '/services/', rights: RIGHTS_READ | RIGHTS_WRITE }, { file_name: 'stderr', rights: RIGHTS_WRITE },
      ],
    }],
    file_hashes: [{ file_path: '/program/postcard-native.wasm', hash: createHash('sha256').update(readFileSync(programPath)).digest('hex') }],
    pipelines: [],
    enclave_cert_expiry: { day: 1, hour: 0, minute: 0, month: 1, year: 2030 },
    proxy_attestation_server_url: '127.0.0.1:3010', proxy_service_cert: pas.certificatePem,
    runtime_manager_hash_linux: '00'.repeat(32), veracruz_server_url: '127.0.0.1:3011',
  };
});
after(() => rmSync(work, { recursive: true, force: true }));

/** Fresh input (holding REQUEST) and output directories, and a policy file with these native modules. */
function setUp(nativeModules: unknown[]): { dirs: string[]; output: string; policyPath: string } {
  const base = mkdtempSync(join(work, 'case-'));
  const input = join(base, 'input');
  const output = join(base, 'output');
  mkdirSync(input);
  mkdirSync(output);
  writeFileSync(join(input, 'postcard.dat'), REQUEST);
  const policyPath = join(base, 'policy.json');
  writeFileSync(policyPath, JSON.stringify({ ...policyBase, native_modules: nativeModules }, null, 2));
  return { dirs: ['--dir', `${input}::/input`, '--dir', `${output}::/output`], output, policyPath };
}

describe('vc-fee and native modules', { concurrency: 2 }, () => {
  it('runs the Postcard Service, by default and as a policy declares it', async () => {
    const plain = setUp([]);
    const byDefault = await fee(['run', ...plain.dirs, programPath]);
    assert.equal(byDefault.status, 0, byDefault.stderr);
    assert.equal(readFileSync(join(plain.output, 'postcard_native.txt'), 'utf8'), RESULT);

    const declared = setUp([{ name: 'Postcard Service', type: { Static: { special_file: '/services/postcard_string.dat' } } }]);
    const underPolicy = await fee(['run', '--policy', declared.policyPath, '--as', 'program:/program/postcard-native.wasm', ...declared.dirs, programPath]);
    assert.equal(underPolicy.status, 0, underPolicy.stderr);
    assert.equal(readFileSync(join(declared.output, 'postcard_native.txt'), 'utf8'), RESULT);
  });

  it('refuses at start, with status 2 and the reason, a policy with a module it cannot run', async () => {
    const { dirs, output, policyPath } = setUp([
      { name: 'Postcard Service', type: { Static: { special_file: '/services/postcard_string.dat' } } },
      { name: 'Darknet Inference', type: { Dynamic: { special_file: '/services/darknet.dat', entry_point: '/native/darknet' } } },
    ]);
    const refused = await fee(['run', '--policy', policyPath, '--as', 'program:/program/postcard-native.wasm', ...dirs, programPath]);
    assert.equal(refused.status, 2);
    assert.equal(refused.stderr,
      'vc-fee: native_modules[1] "Darknet Inference" (Dynamic, special file /services/darknet.dat, entry point /native/darknet): '
      + 'a Dynamic module is native code run in a sandbox, and this runtime runs built-in services only (AEAD Service, Counter mode AES Service, Postcard Service)\n');
    assert.throws(() => readFileSync(join(output, 'postcard_native.txt')), /ENOENT/, 'the program did not run');
  });
});
