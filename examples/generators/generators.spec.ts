import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeF64, encodeF64 } from './files.ts';
import { generateLinearRegression } from './linear-regression.ts';
import { SeededRandom } from './random.ts';
import { generateSensorReadings, SENSOR_COUNT, sensorReadings } from './sensor-readings.ts';
import { gfMultiply, splitSecret } from './shamir-secret-sharing.ts';

describe('data generators', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vc-examples-gen-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('give the same bytes for the same seed and different bytes for another', () => {
    assert.deepEqual(new SeededRandom(42).bytes(64), new SeededRandom(42).bytes(64));
    assert.notDeepEqual(new SeededRandom(42).bytes(64), new SeededRandom(43).bytes(64));
    assert.deepEqual(generateLinearRegression({ seed: 5, size: 10 }), generateLinearRegression({ seed: 5, size: 10 }));
  });

  it('draw floats in [0, 1)', () => {
    const random = new SeededRandom(1);
    for (let i = 0; i < 10000; i++) {
      const value = random.nextFloat();
      assert.ok(value >= 0 && value < 1);
    }
  });

  it('round-trip f64 arrays and refuse partial ones', () => {
    assert.deepEqual([...decodeF64(encodeF64([1.5, -0, Infinity]))], [1.5, -0, Infinity]);
    assert.throws(() => decodeF64(new Uint8Array(7)));
  });

  it('multiply in GF(2^8) as in FIPS-197 (0x57 * 0x83 = 0xc1) and split secrets into points of one polynomial', () => {
    assert.equal(gfMultiply(0x57, 0x83), 0xc1);
    assert.equal(gfMultiply(0x57, 0x13), 0xfe);
    const shares = splitSecret(new Uint8Array([9, 8]), 3, 1, new SeededRandom(1));
    // Threshold 1: a constant polynomial, every share holds the secret.
    for (const share of shares) assert.deepEqual([...share.subarray(1)], [9, 8]);
    assert.deepEqual(shares.map((s) => s[0]), [1, 2, 3]);
  });

  it('give each sensor its own readings, all of them in one file one sensor after another', () => {
    const [a, b] = [0, 1].map((sensor) => sensorReadings({ seed: 2, size: 50, sensor }));
    assert.deepEqual(sensorReadings({ seed: 2, size: 50, sensor: 0 }), a);
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(sensorReadings({ seed: 3, size: 50, sensor: 0 }), a);
    const all = decodeF64(generateSensorReadings({ seed: 2, size: 50 })['/input/readings']!);
    assert.equal(all.length, 50 * SENSOR_COUNT);
    assert.deepEqual([...all.subarray(50, 100)], b);
    assert.ok(all.every(Number.isFinite));
  });

  it('write their files under --out at the isolate paths from the command line', () => {
    const script = fileURLToPath(new URL('./linear-regression.ts', import.meta.url));
    const run = spawnSync(process.execPath, [script, '--out', scratch, '--seed', '5', '--size', '10'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const written = readFileSync(join(scratch, 'input', 'linear-regression.dat'));
    assert.deepEqual(new Uint8Array(written), generateLinearRegression({ seed: 5, size: 10 })['/input/linear-regression.dat']);
    const bad = spawnSync(process.execPath, [script, '--seed', 'x'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
  });
});
