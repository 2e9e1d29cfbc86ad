import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main, USAGE } from './compile.ts';

async function vcCc(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(argv, { stdout: (text) => (out += text), stderr: (text) => (err += text) });
  return { status, out, err };
}

describe('vc-cc', () => {
  it('prints its help and version on stdout', async () => {
    assert.deepEqual(await vcCc('--help'), { status: 0, out: `${USAGE}\n`, err: '' });
    assert.match((await vcCc('-V')).out, /^vc-cc \d+\.\d+\.\d+\n$/);
  });

  it('compiles against vc.h, and leaves the output as it was when the compiler refuses or a file is missing', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'vc-cc-'));
    const good = join(directory, 'good.c');
    const bad = join(directory, 'bad.c');
    const output = join(directory, 'program.wasm');
    writeFileSync(good, '#include "vc.h"\nint main(void) { uint8_t h[32]; size_t n; return vc_hash(VC_ALG_SHA_256, "a", 1, h, 32, &n); }\n');
    writeFileSync(bad, 'int main(void) { return missing(); }\n');
    assert.equal((await vcCc(good, '-o', output)).status, 0);
    const built = readFileSync(output);
    assert.deepEqual([...built.subarray(0, 4)], [0, 0x61, 0x73, 0x6d]);
    const refused = await vcCc(bad, '-o', output);
    assert.equal(refused.status, 1);
    assert.match(refused.err, /vc-cc: clang failed:[\s\S]*undeclared function 'missing'/);
    assert.deepEqual(readFileSync(output), built);
    assert.deepEqual(await vcCc(join(directory, 'none.c'), '-o', output), { status: 2, out: '', err: `vc-cc: cannot read ${join(directory, 'none.c')}: ENOENT\n` });
    assert.deepEqual(await vcCc(good), { status: 2, out: '', err: 'vc-cc: missing -o PROGRAM.wasm (see vc-cc --help)\n' });
  });
});
