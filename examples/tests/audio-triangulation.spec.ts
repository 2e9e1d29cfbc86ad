import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { audioEvent, deviceFiles, SPEED_OF_SOUND, type DeviceReading, type EventFix } from '../generators/audio-events.ts';
import { decodeF64, encodeF64 } from '../generators/files.ts';
import { exactFixes, triangulate } from '../reference/audio-triangulation.ts';
import { assertExit, ExampleRunner, type ExampleRun } from './harness.ts';

const OUTPUT = '/output/position.dat';
/** Exact times: the answer within a micrometre of the truth, t0 within the time sound takes over it. */
const EXACT = 1e-6;
/** Timing noise of 10 µs (3.4 mm of range): the fit within 5 cm of the truth, and within 1e-6 m of the reference. */
const NOISE = 1e-5;
const NOISY_TO_TRUTH = 0.05;

/** Readings of an event made at (x, y) at time t0 by devices at `positions`. */
function readings(positions: readonly [number, number][], event: EventFix): DeviceReading[] {
  return positions.map(([x, y]) => ({ x, y, t: event.t0 + Math.hypot(x - event.x, y - event.y) / SPEED_OF_SOUND }));
}

/** The program's answer, after checking it exited 0. */
function answer(run: ExampleRun): EventFix {
  assertExit(run, 0);
  const [x, y, t0] = decodeF64(run.read(OUTPUT));
  return { x: x!, y: y!, t0: t0! };
}

/** Fails unless `actual` is within `metres` of `expected` in position and `metres / c` in emission time. */
function assertNear(actual: EventFix, expected: EventFix | undefined, metres: number, what: string): void {
  assert.ok(expected !== undefined, `${what}: no answer to compare with`);
  const distance = Math.hypot(actual.x - expected.x, actual.y - expected.y);
  assert.ok(distance <= metres, `${what}: (${actual.x}, ${actual.y}) is ${distance} m from (${expected.x}, ${expected.y})`);
  const late = Math.abs(actual.t0 - expected.t0) * SPEED_OF_SOUND;
  assert.ok(late <= metres, `${what}: t0 ${actual.t0} is ${late / SPEED_OF_SOUND} s from ${expected.t0}`);
}

describe('audio-triangulation', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('locates an event from three devices exactly, as the reference does', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const event = audioEvent({ seed, size: 3 });
      const fix = answer(await runner.run('audio-triangulation', { files: deviceFiles(event.devices) }));
      assertNear(fix, event.source, EXACT, `seed ${seed}, truth`);
      assertNear(fix, triangulate(event.devices), EXACT, `seed ${seed}, reference`);
    }
  });

  it('locates an event from four devices exactly, as the reference does', async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const event = audioEvent({ seed, size: 4 });
      const fix = answer(await runner.run('audio-triangulation', { files: deviceFiles(event.devices) }));
      assertNear(fix, event.source, EXACT, `seed ${seed}, truth`);
      assertNear(fix, triangulate(event.devices), EXACT, `seed ${seed}, reference`);
    }
  });

  it('fits noisy times of four and eight devices by least squares, as the reference does', async () => {
    for (const [seed, size] of [[11, 4], [12, 4], [13, 8]] as const) {
      const event = audioEvent({ seed, size, noise: NOISE });
      const fix = answer(await runner.run('audio-triangulation', { files: deviceFiles(event.devices) }));
      assertNear(fix, triangulate(event.devices), EXACT, `seed ${seed}, reference`);
      assertNear(fix, event.source, NOISY_TO_TRUTH, `seed ${seed}, truth`);
    }
  });

  it('places an event four devices heard at the same moment at the centre of their square', async () => {
    const devices = [0, 20].flatMap((x) => [0, 20].map((y) => ({ x, y, t: 5 })));
    const fix = answer(await runner.run('audio-triangulation', { files: deviceFiles(devices) }));
    assertNear(fix, { x: 10, y: 10, t0: 5 - Math.sqrt(200) / SPEED_OF_SOUND }, EXACT, 'centre');
  });

  it('keeps its precision at map coordinates late in the day', async () => {
    const event = { x: 500_123.25, y: 5_000_321.5, t0: 80_000.125 };
    const devices = readings([[500_100, 5_000_300], [500_180, 5_000_310], [500_130, 5_000_390], [500_090, 5_000_350]], event);
    for (const subset of [devices.slice(0, 3), devices]) {
      const fix = answer(await runner.run('audio-triangulation', { files: deviceFiles(subset) }));
      assertNear(fix, event, EXACT, `${subset.length} devices`);
    }
  });

  it('takes the later-made position when two fit the times of three devices', async () => {
    // Made outside the devices' triangle: a second position, nearer, fits the same times.
    const event = { x: -100, y: -100, t0: 10 };
    const devices = readings([[0, 0], [60, 0], [0, 60]], event);
    const fixes = exactFixes(devices as [DeviceReading, DeviceReading, DeviceReading]);
    assert.equal(fixes.length, 2);
    assertNear(fixes[1]!, event, EXACT, 'the reference finds the truth as the earlier-made fix');
    const fix = answer(await runner.run('audio-triangulation', { files: deviceFiles(devices) }));
    assertNear(fix, fixes[0], EXACT, 'the later-made fix');
    assert.ok(fix.t0 > event.t0);
  });

  it('reads devices until the first missing number', async () => {
    const event = audioEvent({ seed: 21, size: 4 });
    const run = await runner.run('audio-triangulation', {
      files: { ...deviceFiles(event.devices), '/input/device-6.dat': new Uint8Array(3) /* malformed, but after a gap */ },
    });
    assertNear(answer(run), event.source, EXACT, 'truth');
  });

  it('exits 2 with fewer than three devices, writing nothing', async () => {
    const event = audioEvent({ seed: 3, size: 3 });
    for (const devices of [[], event.devices.slice(0, 2)]) {
      const run = await runner.run('audio-triangulation', { files: deviceFiles(devices) });
      assertExit(run, 2);
      assert.match(run.stderr, /at least 3 devices/);
      assert.equal(run.exists(OUTPUT), false);
    }
  });

  it('exits 3 on a reading of the wrong size or with a value that is not finite', async () => {
    const files = deviceFiles(audioEvent({ seed: 4, size: 3 }).devices);
    for (const bad of [files['/input/device-2.dat']!.subarray(0, 23), new Uint8Array(25), encodeF64([1, Number.NaN, 2]), encodeF64([1, 2, Infinity])]) {
      const run = await runner.run('audio-triangulation', { files: { ...files, '/input/device-2.dat': bad } });
      assertExit(run, 3);
      assert.match(run.stderr, /device-2\.dat/);
      assert.equal(run.exists(OUTPUT), false);
    }
  });

  it('exits 3 when the devices stand on one line or at one point', async () => {
    const event = { x: 5, y: 7, t0: 1 };
    for (const positions of [[[0, 0], [10, 0], [20, 0], [35, 0]], [[3, 3], [3, 3], [3, 3]]] as [number, number][][]) {
      const run = await runner.run('audio-triangulation', { files: deviceFiles(readings(positions, event)) });
      assertExit(run, 3);
      assert.match(run.stderr, /one line/);
    }
  });

  it('exits 3 when no position fits the times', async () => {
    // Heard a second apart by devices 10 m apart: sound takes 29 ms between them.
    const devices = [{ x: 0, y: 0, t: 0 }, { x: 10, y: 0, t: 1 }, { x: 0, y: 10, t: 0 }];
    assert.equal(triangulate(devices), undefined);
    const run = await runner.run('audio-triangulation', { files: deviceFiles(devices) });
    assertExit(run, 3);
    assert.match(run.stderr, /no position fits/);
    assert.equal(run.exists(OUTPUT), false);
  });
});
