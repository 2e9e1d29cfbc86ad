/** Data for the audio-triangulation example: a sound made among microphones, and when each of them heard it. */
import { encodeF64, runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** Speed of sound the example assumes, metres a second (as the program does). */
export const SPEED_OF_SOUND = 343;
/** Side of the square field, in metres, the devices stand in. */
export const FIELD_SIZE = 100;

/** One device's reading: where it stands (metres) and when it heard the event (seconds, shared clock). */
export interface DeviceReading {
  x: number;
  y: number;
  t: number;
}

/** Where (metres) and when (seconds) an event was made. */
export interface EventFix {
  x: number;
  y: number;
  t0: number;
}

/** Options of the audio-events generator: `size` is the number of devices (default 3, at least 3). */
export interface AudioEventOptions extends GeneratorOptions {
  /** Standard deviation of each device's timing error, seconds. @default 0 (exact times) */
  noise?: number;
}

/** An event and the devices' readings of it. */
export interface AudioEvent {
  source: EventFix;
  devices: DeviceReading[];
}

/**
 * Draws `size` devices anywhere in the field, not nearly on one line (redrawn until the spread across their
 * widest direction is at least a fifth of the spread along it), and an event inside their convex hull (a random
 * convex combination of their positions: there three devices identify it, see the program), made at a time in
 * [0, 3600) s; each device hears it at t0 + distance / 343, plus Gaussian noise of `noise` seconds.
 */
export function audioEvent(options: AudioEventOptions): AudioEvent {
  const count = options.size ?? 3;
  if (!Number.isInteger(count) || count < 3) throw new RangeError(`need at least 3 devices, not ${count}`);
  const random = new SeededRandom(options.seed);
  let positions: { x: number; y: number }[];
  do {
    positions = Array.from({ length: count }, () => ({ x: random.nextFloat() * FIELD_SIZE, y: random.nextFloat() * FIELD_SIZE }));
  } while (spreadRatio(positions) < 0.2 ** 2);
  const weights = positions.map(() => -Math.log(1 - random.nextFloat()));
  const total = weights.reduce((sum, w) => sum + w, 0);
  const x = positions.reduce((sum, p, i) => sum + (weights[i]! / total) * p.x, 0);
  const y = positions.reduce((sum, p, i) => sum + (weights[i]! / total) * p.y, 0);
  const t0 = random.nextFloat() * 3600;
  const noise = options.noise ?? 0;
  const devices = positions.map((p) => ({ ...p, t: t0 + Math.hypot(p.x - x, p.y - y) / SPEED_OF_SOUND + (noise > 0 ? noise * random.nextGaussian() : 0) }));
  return { source: { x, y, t0 }, devices };
}

/** Smallest over largest eigenvalue of the positions' scatter matrix: 0 on a line, 1 spread evenly. */
function spreadRatio(positions: readonly { x: number; y: number }[]): number {
  const mx = positions.reduce((s, p) => s + p.x, 0) / positions.length;
  const my = positions.reduce((s, p) => s + p.y, 0) / positions.length;
  let sxx = 0, sxy = 0, syy = 0;
  for (const p of positions) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
    syy += (p.y - my) ** 2;
  }
  const mean = (sxx + syy) / 2, radius = Math.hypot((sxx - syy) / 2, sxy);
  return (mean - radius) / (mean + radius);
}

/** The devices' files: `/input/device-1.dat`, `-2.dat`, ..., each x, y, t as f64. */
export function deviceFiles(devices: readonly DeviceReading[]): GeneratedFiles {
  return Object.fromEntries(devices.map((d, i) => [`/input/device-${i + 1}.dat`, encodeF64([d.x, d.y, d.t])]));
}

/** The files of `audioEvent(options)` (the true position is `audioEvent(options).source`). */
export function generateAudioEvents(options: AudioEventOptions): GeneratedFiles {
  return deviceFiles(audioEvent(options).devices);
}

runGeneratorCli(import.meta.url, generateAudioEvents);
