/** Data for the sensor-aggregation example: readings from a few sensors, each with its own level and noise. */
import { encodeF64, runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** How many sensors `generateSensorReadings` draws readings for. */
export const SENSOR_COUNT = 3;

/**
 * `size` readings (default 10000) from sensor number `sensor` (0, 1, ...): a temperature in °C around a level
 * drawn for that sensor, with a slow daily swing and Gaussian noise; about one reading in 500 is a spike far
 * outside the usual range (either way), so the histogram's under/over counts are exercised. The same seed and
 * sensor always give the same readings; different sensors give different ones.
 */
export function sensorReadings(options: GeneratorOptions & { sensor: number }): number[] {
  // One generator per (seed, sensor): mixing the sensor into the seed keeps sensors independent of each other.
  const random = new SeededRandom(Math.imul(options.seed, 0x9e3779b1) ^ Math.imul(options.sensor + 1, 0x85ebca6b));
  const count = options.size ?? 10000;
  const level = 5 + random.nextFloat() * 30;
  const noise = 1 + random.nextFloat() * 4;
  const readings: number[] = [];
  for (let t = 0; t < count; t++) {
    if (random.nextInt(500) === 0) {
      readings.push(random.nextFloat() < 0.5 ? -40 - random.nextFloat() * 40 : 70 + random.nextFloat() * 40);
      continue;
    }
    readings.push(level + 8 * Math.sin((2 * Math.PI * t) / 1440) + noise * random.nextGaussian());
  }
  return readings;
}

/** The readings of SENSOR_COUNT sensors, `size` each, one sensor after another, in `/input/readings` (f64s). */
export function generateSensorReadings(options: GeneratorOptions): GeneratedFiles {
  const all: number[] = [];
  for (let sensor = 0; sensor < SENSOR_COUNT; sensor++) all.push(...sensorReadings({ ...options, sensor }));
  return { '/input/readings': encodeF64(all) };
}

runGeneratorCli(import.meta.url, generateSensorReadings);
