import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildExamples, buildHash, listPrograms, wasmPath } from './build.ts';

describe('examples build', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vc-examples-build-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('lists one program per directory holding C sources, sorted, with their sources', () => {
    mkdirSync(join(scratch, 'b-prog'));
    writeFileSync(join(scratch, 'b-prog', 'main.c'), 'int main(void) { return 0; }');
    writeFileSync(join(scratch, 'b-prog', 'util.h'), '#define X 1');
    mkdirSync(join(scratch, 'a-prog'));
    writeFileSync(join(scratch, 'a-prog', 'a.c'), '');
    writeFileSync(join(scratch, 'a-prog', 'b.c'), '');
    mkdirSync(join(scratch, 'no-sources'));
    writeFileSync(join(scratch, 'no-sources', 'notes.txt'), 'not a program');
    const programs = listPrograms(scratch);
    assert.deepEqual(programs.map((p) => p.name), ['a-prog', 'b-prog']);
    assert.deepEqual(Object.keys(programs[0]!.sources), ['a.c', 'b.c']);
    assert.deepEqual(programs[1]!.sources, { 'main.c': 'int main(void) { return 0; }', 'util.h': '#define X 1' });
  });

  it('changes the build hash with any source, header or flag', () => {
    const program = { name: 'p', sources: { 'p.c': 'int main(void) { return 0; }' } };
    const base = buildHash(program, { 'h.h': '' }, ['-O2']);
    assert.equal(buildHash(program, { 'h.h': '' }, ['-O2']), base);
    assert.notEqual(buildHash({ name: 'p', sources: { 'p.c': 'int main(void) { return 1; }' } }, { 'h.h': '' }, ['-O2']), base);
    assert.notEqual(buildHash(program, { 'h.h': '#define A' }, ['-O2']), base);
    assert.notEqual(buildHash(program, { 'h.h': '' }, ['-O1']), base);
  });

  it('builds every example and then leaves unchanged ones alone', async () => {
    const first = await buildExamples();
    assert.deepEqual(first.failed, []);
    const names = listPrograms().map((p) => p.name);
    assert.ok(names.includes('linear-regression') && names.includes('sha256'));
    for (const name of names) assert.ok(existsSync(wasmPath(name)), name);
    const modified = statSync(wasmPath('sha256')).mtimeMs;
    const second = await buildExamples();
    assert.deepEqual(second.built, []);
    assert.deepEqual(second.upToDate, names);
    assert.equal(statSync(wasmPath('sha256')).mtimeMs, modified);
  });
});
