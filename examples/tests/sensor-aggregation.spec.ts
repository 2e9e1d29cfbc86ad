import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { encodeF64 } from '../generators/files.ts';
import { generateSensorReadings, sensorReadings } from '../generators/sensor-readings.ts';
import { aggregateReadings, type SensorAggregate } from '../reference/sensor-aggregation.ts';
import { assertClose, assertExit, createFileSystem, ExampleRunner, writeFiles, type ExampleRun } from './harness.ts';

const INPUT = '/input/readings';
const OUTPUT = '/output/aggregate';
const REPORT_EVERY = 4096;

type Line = SensorAggregate & { final: boolean };

function lines(run: ExampleRun): Line[] {
  const text = run.text(OUTPUT);
  assert.ok(text.endsWith('\n'), 'every line ends in a newline');
  return text.slice(0, -1).split('\n').map((line) => JSON.parse(line) as Line);
}

function assertAggregate(actual: Line, expected: SensorAggregate, what: string): void {
  const { mean, variance, ...counts } = actual;
  const { mean: expectedMean, variance: expectedVariance, ...expectedCounts } = expected;
  assert.deepEqual({ ...counts, final: undefined }, { ...expectedCounts, final: undefined }, what);
  if (expectedMean === null || expectedVariance === null) {
    assert.deepEqual([mean, variance], [null, null], what);
    return;
  }
  assertClose(mean!, expectedMean, `${what} mean`);
  assertClose(variance!, expectedVariance, `${what} variance`);
}

describe('sensor-aggregation', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('reports every 4096 readings and finally the statistics of all of them', async () => {
    const files = generateSensorReadings({ seed: 3, size: 10000 });
    const readings = [0, 1, 2].flatMap((sensor) => sensorReadings({ seed: 3, size: 10000, sensor }));
    const run = await runner.run('sensor-aggregation', { files });
    assertExit(run, 0);
    const reported = lines(run);
    assert.equal(reported.length, Math.floor(readings.length / REPORT_EVERY) + 1);
    reported.slice(0, -1).forEach((line, i) => {
      assert.equal(line.final, false);
      assertAggregate(line, aggregateReadings(readings.slice(0, (i + 1) * REPORT_EVERY)), `line ${i}`);
    });
    const final = reported.at(-1)!;
    assert.equal(final.final, true);
    assertAggregate(final, aggregateReadings(readings), 'final line');
    // The generated data reaches both ends of the histogram's range.
    assert.ok(final.under > 0 && final.over > 0, JSON.stringify(final));
  });

  it('puts the edges of the range in the right bins and counts non-finite readings apart', async () => {
    const readings = [-20, -20.000000001, 60, 59.999999999, 0, 5, 4.999999999, Number.NaN, Infinity, -Infinity];
    const run = await runner.run('sensor-aggregation', { files: { [INPUT]: encodeF64(readings) } });
    assertExit(run, 0);
    const [final] = lines(run);
    assertAggregate(final!, aggregateReadings(readings), 'final line');
    assert.equal(final!.invalid, 3);
    assert.deepEqual([final!.under, final!.over, final!.histogram[0], final!.histogram[4], final!.histogram[5], final!.histogram[15]], [1, 1, 1, 2, 1, 1]);
  });

  it('reports no mean or variance for an empty input', async () => {
    const run = await runner.run('sensor-aggregation', { files: { [INPUT]: new Uint8Array() } });
    assertExit(run, 0);
    assert.deepEqual(lines(run), [{ count: 0, invalid: 0, mean: null, variance: null, under: 0, histogram: new Array(16).fill(0), over: 0, final: true }]);
  });

  it('appends its lines after an earlier run’s', async () => {
    const vfs = createFileSystem({ [INPUT]: encodeF64([1, 2, 3]) });
    assertExit(await runner.run('sensor-aggregation', { vfs }), 0);
    writeFiles(vfs, { [INPUT]: encodeF64([10]) });
    const run = await runner.run('sensor-aggregation', { vfs });
    assertExit(run, 0);
    assert.deepEqual(lines(run).map((line) => [line.count, line.mean, line.final]), [[3, 2, true], [1, 10, true]]);
  });

  it('needs no more than read on /input/ and write on /output/', async () => {
    const rights = [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_WRITE }];
    const run = await runner.run('sensor-aggregation', { files: { [INPUT]: encodeF64([1, 2]) }, rights });
    assertExit(run, 0);
    assert.equal(lines(run).length, 1);
  });

  it('exits 2 without its input, 3 on a partial record, 4 when it may not write its output', async () => {
    assertExit(await runner.run('sensor-aggregation'), 2);
    const partial = await runner.run('sensor-aggregation', { files: { [INPUT]: encodeF64([1, 2]).subarray(0, 13) } });
    assertExit(partial, 3);
    assert.match(partial.stderr, /ends inside a record \(5 of 8 bytes\)/);
    const readOnly = await runner.run('sensor-aggregation', { files: { [INPUT]: encodeF64([1]) }, rights: [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_READ }] });
    assertExit(readOnly, 4);
  });
});
