import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { compileC } from '@veracruz-ts/runtime/testing';
import { main } from './cli.ts';

const HASH_IMPORT = String.raw`
#include <stdint.h>
#include <stddef.h>
__attribute__((import_module("veracruz_crypto_v1"), import_name("hash")))
int32_t vc_hash(uint32_t alg, const void *in, size_t in_len, void *out, size_t out_size, size_t *out_len);
__attribute__((import_module("veracruz_v1"), import_name("policy_hash"))) int32_t vc_policy_hash(uint8_t *out);
int main(void) { uint8_t out[32]; size_t length; vc_policy_hash(out); return vc_hash(0x02000009, "a", 1, out, 32, &length); }
`;

/** The same import declared with one parameter too few, and one the ABI does not have. */
const WRONG_IMPORTS = String.raw`
#include <stdint.h>
#include <stddef.h>
__attribute__((import_module("veracruz_crypto_v1"), import_name("hash")))
int32_t vc_hash(uint32_t alg, const void *in, size_t in_len, void *out, size_t out_size);
__attribute__((import_module("veracruz_crypto_v1"), import_name("rsa_decrypt"))) int32_t vc_rsa(void);
int main(void) { uint8_t out[32]; return vc_hash(0x02000009, "a", 1, out, 32) + vc_rsa(); }
`;

let directory: string;
const files: Record<string, string> = {};

before(async () => {
  directory = mkdtempSync(join(tmpdir(), 'vc-wc-'));
  for (const [name, source] of Object.entries({ uses: HASH_IMPORT, wrong: WRONG_IMPORTS })) {
    files[name] = join(directory, `${name}.wasm`);
    writeFileSync(files[name], await compileC(source));
  }
});

function wc(...argv: string[]): { status: number; out: string } {
  let out = '';
  const status = main(argv, { stdout: (text) => (out += text), stderr: (text) => (out += text) });
  return { status, out };
}

describe('vc-wc and the programs\' ABI', () => {
  it('accepts a program that imports the ABI with its signatures, and says which modules it uses', () => {
    assert.deepEqual(wc(files.uses as string), { status: 0, out: "ok\nuses the programs' ABI: veracruz_v1, veracruz_crypto_v1\n" });
  });

  it('reports an ABI import with the wrong signature and one the ABI does not have', () => {
    assert.deepEqual(wc(files.wrong as string), {
      status: 1, out: 'unsupported: veracruz_crypto_v1.hash (wrong signature)\nunsupported: veracruz_crypto_v1.rsa_decrypt\n',
    });
  });
});
