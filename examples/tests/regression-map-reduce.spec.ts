import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RIGHTS_READ, RIGHTS_WRITE, type FileRights } from '@veracruz-ts/policy';
import { decodeF64 } from '../generators/files.ts';
import { generatePatientRecords, PATIENT_COLUMNS, PATIENT_MODEL, writePatientRecordsShard } from '../generators/patient-records.ts';
import { parseRecords, regressionFromCsv, type Records } from '../reference/regression.ts';
import { assertClose, assertExit, createFileSystem, ExampleRunner, type ExampleRun } from './harness.ts';

const RECORDS = '/input/records.csv';
const STATS = '/output/stats.dat';
const COEFFICIENTS = '/output/coefficients.dat';
const COEFFICIENTS_TEXT = '/output/coefficients.txt';

/** The contents of a regression-map `stats.dat`. */
interface Statistics {
  d: number;
  n: number;
  xtx: number[];
  xty: number[];
  yty: number;
  names: string[];
}

function decodeStatistics(bytes: Uint8Array): Statistics {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'VRS1');
  const d = view.getUint32(4, true);
  const k = d + 1;
  const values = [...decodeF64(bytes.subarray(16, 16 + 8 * (k * k + k + 1)))];
  const names: string[] = [];
  let offset = 16 + 8 * values.length;
  for (let c = 0; c < k; c++) {
    const length = view.getUint32(offset, true);
    names.push(new TextDecoder().decode(bytes.subarray(offset + 4, offset + 4 + length)));
    offset += 4 + length;
  }
  assert.equal(offset, bytes.length, 'nothing after the names');
  return { d, n: Number(view.getBigUint64(8, true)), xtx: values.slice(0, k * k), xty: values.slice(k * k, k * k + k), yty: values[k * k + k]!, names };
}

/** The sums the map program should produce, added in the same order (so equal to the last bit). */
function expectedStatistics(records: Records): Statistics {
  const k = records.names.length;
  const width = k + 1;
  const sums = new Array<number>(width * width).fill(0);
  for (const row of records.rows) {
    const z = [1, ...row];
    for (let i = 0; i < width; i++) for (let j = i; j < width; j++) sums[i * width + j]! += z[i]! * z[j]!;
  }
  const xtx: number[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) xtx.push(sums[Math.min(i, j) * width + Math.max(i, j)]!);
  return { d: k - 1, n: records.rows.length, xtx, xty: Array.from({ length: k }, (_, i) => sums[i * width + k]!), yty: sums[k * width + k]!, names: records.names };
}

function coefficientsOf(run: ExampleRun): { n: number; partials: number; coefficients: number[] } {
  const bytes = run.read(COEFFICIENTS);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { n: Number(view.getBigUint64(0, true)), partials: view.getUint32(8, true), coefficients: [...decodeF64(bytes.subarray(12))] };
}

const csv = (text: string) => new TextEncoder().encode(text);
const recordsText = (files: Record<string, Uint8Array>) => new TextDecoder().decode(files[RECORDS]);

describe('regression-map and regression-reduce', () => {
  const runner = new ExampleRunner();
  const scratch = mkdtempSync(join(tmpdir(), 'vc-regression-'));
  after(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await runner.close();
  });

  // Four hospitals' shards of different sizes; together more than the map program's 1 MiB reads.
  const shards = [10000, 11000, 9000, 10500].map((size, i) => recordsText(generatePatientRecords({ seed: 40 + i, size })));

  async function mapShard(text: string): Promise<Uint8Array> {
    const run = await runner.run('regression-map', { files: { [RECORDS]: csv(text) } });
    assertExit(run, 0);
    return run.read(STATS);
  }

  function reduce(partials: Record<string, Uint8Array>) {
    const files = Object.fromEntries(Object.entries(partials).map(([name, bytes]) => [`/input/stats/${name}`, bytes]));
    return runner.run('regression-reduce', { files });
  }

  /** Coefficients of the reduce over every shard's partial, kept for the one-shard comparison. */
  let fourShardFit: number[] | undefined;

  it('maps four shards to their exact sums and reduces them to the least-squares fit of all rows', async () => {
    const partials: Record<string, Uint8Array> = {};
    for (const [i, text] of shards.entries()) {
      const stats = await mapShard(text);
      assert.deepEqual(decodeStatistics(stats), expectedStatistics(parseRecords(text)), `shard ${i + 1}`);
      partials[`hospital-${i + 1}`] = stats;
    }
    const run = await reduce(partials);
    assertExit(run, 0);
    const expected = regressionFromCsv(shards);
    const actual = coefficientsOf(run);
    assert.equal(actual.n, expected.n);
    assert.equal(actual.partials, 4);
    assert.equal(actual.coefficients.length, PATIENT_COLUMNS.length);
    actual.coefficients.forEach((value, i) => {
      assertClose(value, expected.coefficients[i]!, `coefficient ${i}`);
    });
    fourShardFit = actual.coefficients;

    const lines = run.text(COEFFICIENTS_TEXT).split('\n');
    assert.equal(lines.pop(), '', 'the text ends in a newline');
    assert.deepEqual(lines.map((line) => line.split(' = ')[0]), ['intercept', ...PATIENT_COLUMNS.slice(0, -1)]);
    assert.deepEqual(lines.map((line) => Number(line.split(' = ')[1])), actual.coefficients, 'the text holds the same values');

    // The generator's model is recovered (to within the noise).
    assert.ok(Math.abs(actual.coefficients[0]! - PATIENT_MODEL.intercept) < 3, `intercept ${actual.coefficients[0]}`);
    PATIENT_MODEL.coefficients.forEach((value, i) => {
      assert.ok(Math.abs(actual.coefficients[i + 1]! - value) < 0.02, `${PATIENT_COLUMNS[i]}: ${actual.coefficients[i + 1]}`);
    });
  });

  it('gives the same fit from one shard holding all the rows (lines split across its 1 MiB reads)', async () => {
    const whole = shards[0]! + shards.slice(1).map((text) => text.slice(text.indexOf('\n') + 1)).join('');
    assert.ok(whole.length > 1 << 20);
    const run = await reduce({ all: await mapShard(whole) });
    assertExit(run, 0);
    const actual = coefficientsOf(run);
    assert.equal(actual.partials, 1);
    const expected = regressionFromCsv([whole]);
    assert.equal(actual.n, expected.n);
    actual.coefficients.forEach((value, i) => {
      assertClose(value, expected.coefficients[i]!, `coefficient ${i}`);
      if (fourShardFit !== undefined) assertClose(value, fourShardFit[i]!, `coefficient ${i} against four shards`);
    });
  });

  it('reads CRLF and LF line ends, blanks around fields, empty lines, every number form and a last line without a newline', async () => {
    const text = 'a, b ,y\r\n1,2,3\r\n\n\t-.5 ,+3.,1e2\n0.1,3.14159265358979323846264,2.5E-30\n\n-0,123456789012345678901,7';
    const stats = decodeStatistics(await mapShard(text));
    assert.deepEqual(stats, expectedStatistics(parseRecords(text)));
    assert.deepEqual(stats.names, ['a', 'b', 'y']);
    assert.equal(stats.n, 4);
  });

  it('fits the mean alone when the records have no features, and sums a header-only shard as no rows', async () => {
    // Four rows: sqrt(n) = 2 is exact, so is the mean.
    const run = await reduce({ one: await mapShard('y\n1\n2\n6\n7\n'), none: await mapShard('y\n') });
    assertExit(run, 0);
    assert.deepEqual(coefficientsOf(run), { n: 4, partials: 2, coefficients: [4] });
    assert.equal(run.text(COEFFICIENTS_TEXT), 'intercept = 4\n');
  });

  it('need no more than the rights the README documents: /input/ r, /output/ w', async () => {
    const rights: FileRights[] = [
      { file_name: '/input/', rights: RIGHTS_READ },
      { file_name: '/output/', rights: RIGHTS_WRITE },
    ];
    const map = await runner.run('regression-map', { files: generatePatientRecords({ seed: 1, size: 20 }), rights });
    assertExit(map, 0);
    const run = await runner.run('regression-reduce', { files: { '/input/stats/hospital-1': map.read(STATS) }, rights });
    assertExit(run, 0);
    assert.ok(run.read(COEFFICIENTS_TEXT).length > 0);
  });

  it('map exits 2 without its input, writing nothing', async () => {
    const run = await runner.run('regression-map');
    assertExit(run, 2);
    assert.match(run.stderr, /records\.csv/);
    assert.equal(run.exists(STATS), false);
  });

  it('map exits 3 naming the line on a wrong field count, a non-number or a non-finite number, and never shows the value', async () => {
    const cases: [string, RegExp][] = [
      ['x,y\n1,2\n3\n', /line 3: 1 fields, the header has 2/],
      ['x,y\n1,2\n\n3,4,5\n', /line 4: more than the header's 2 fields/],
      ['x,y\n1,2\n3,secret\n', /line 3, field 2: not a decimal number/],
      ['x,y\n1,\n', /line 2, field 2: not a decimal number/],
      ['x,y\n1,nan\n', /line 2, field 2: not a decimal number/],
      ['x,y\ninf,1\n', /line 2, field 1: not a decimal number/],
      ['x,y\n0x10,1\n', /line 2, field 1: not a decimal number/],
      ['x,y\n1e,1\n', /line 2, field 1: not a decimal number/],
      ['x,y\n1 2,1\n', /line 2, field 1: not a decimal number/],
      ['x,y\n1,2\n3,1e999\n', /line 3, field 2: not finite/],
      ['x,,y\n1,2,3\n', /line 1: column 2 has no name/],
      ['', /no header line/],
      ['\r\n\n', /no header line/],
      [`x,y\n1,${'1'.repeat(1 << 20)}\n`, /line 2: longer than 1048576 bytes/],
    ];
    for (const [text, message] of cases) {
      const run = await runner.run('regression-map', { files: { [RECORDS]: csv(text) } });
      assertExit(run, 3);
      assert.match(run.stderr, message, JSON.stringify(text.slice(0, 40)));
      assert.doesNotMatch(run.stderr, /secret/);
      assert.equal(run.exists(STATS), false);
    }
  });

  it('reduce exits 2 when /input/stats/ is missing or empty', async () => {
    const missing = await runner.run('regression-reduce');
    assertExit(missing, 2);
    assert.match(missing.stderr, /\/input\/stats/);
    const vfs = createFileSystem();
    vfs.makeDirectories(['input', 'stats']);
    const empty = await runner.run('regression-reduce', { vfs });
    assertExit(empty, 2);
    assert.match(empty.stderr, /holds no partials/);
    assert.equal(empty.exists(COEFFICIENTS), false);
  });

  it('reduce exits 3 on a malformed partial, naming it', async () => {
    const good = await mapShard('x,y\n1,2\n2,3\n3,5\n');
    const nonFinite = good.slice();
    new DataView(nonFinite.buffer).setFloat64(16, Number.NaN, true);
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(0), /not a regression-map statistics file/],
      [csv('x,y\n1,2\n'), /not a regression-map statistics file/],
      [good.subarray(0, 40), /truncated/],
      [good.subarray(0, good.length - 1), /truncated in the name of column 2/],
      [new Uint8Array([...good, 0]), /1 bytes after the column names/],
      [nonFinite, /sum 0 is not finite/],
    ];
    for (const [bad, message] of cases) {
      const run = await reduce({ a: good, b: bad });
      assertExit(run, 3);
      assert.match(run.stderr, /\/input\/stats\/b/);
      assert.match(run.stderr, message);
      assert.equal(run.exists(COEFFICIENTS), false);
    }
  });

  it('reduce exits 3 when the partials disagree on d or on the column names', async () => {
    const two = await mapShard('x1,x2,y\n1,2,3\n2,1,4\n3,3,5\n4,1,1\n');
    const one = await mapShard('x1,y\n1,2\n2,3\n3,5\n');
    const renamed = await mapShard('x1,x3,y\n1,2,3\n2,1,4\n3,3,5\n4,1,1\n');
    const d = await reduce({ a: two, b: one });
    assertExit(d, 3);
    assert.match(d.stderr, /\/input\/stats\/b has d = 1 features, \/input\/stats\/a has 2/);
    const names = await reduce({ a: two, b: renamed });
    assertExit(names, 3);
    assert.match(names.stderr, /\/input\/stats\/b names its columns differently/);
  });

  it('reduce exits 3 on a singular design or no rows at all', async () => {
    const cases: [string, RegExp][] = [
      ['x1,x2,y\n1,5,1\n2,5,2\n3,5,4\n', /singular: feature 2 is constant/], // a constant feature
      ['x1,x2,y\n1,2,1\n2,4,2\n3,6,4\n', /singular: feature 2/], // x2 = 2 x1
      ['x1,x2,y\n1,2,1\n2,7,2\n', /singular/], // fewer rows than coefficients
      ['x1,y\n', /the partials hold no rows/],
    ];
    for (const [text, message] of cases) {
      const run = await reduce({ only: await mapShard(text) });
      assertExit(run, 3);
      assert.match(run.stderr, message);
      assert.equal(run.exists(COEFFICIENTS), false);
    }
  });

  it('generate shards of a byte size in chunks, the same records as generatePatientRecords', () => {
    const path = join(scratch, 'shard.csv');
    const written = writePatientRecordsShard(path, { seed: 9, bytes: 3 << 20 });
    const text = readFileSync(path, 'latin1');
    assert.equal(text.length, written.bytes);
    assert.ok(written.bytes <= 3 << 20 && written.bytes > (3 << 20) - 100, `${written.bytes} bytes`);
    assert.equal(text, recordsText(generatePatientRecords({ seed: 9, size: written.rows })));
    assert.equal(parseRecords(text).rows.length, written.rows);
    assert.notEqual(recordsText(generatePatientRecords({ seed: 10, size: 5 })), recordsText(generatePatientRecords({ seed: 9, size: 5 })));
  });
});
