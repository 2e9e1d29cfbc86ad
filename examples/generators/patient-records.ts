/**
 * Data for the regression map-reduce examples: patient records as CSV, one shard per hospital, whose outcome
 * follows a known linear model plus Gaussian noise.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** The features, in column order, then the outcome (the last column). */
export const PATIENT_COLUMNS = ['age', 'bmi', 'systolic_bp', 'cholesterol', 'glucose', 'risk_score'] as const;

/** The model the outcome is drawn from: risk_score = intercept + Σ coefficient × feature + N(0, noise²). */
export const PATIENT_MODEL = {
  intercept: -12,
  /** One per feature, in column order. */
  coefficients: [0.35, 0.8, 0.12, 0.05, 0.09],
  noise: 2,
} as const;

const HEADER = `${PATIENT_COLUMNS.join(',')}\n`;

/** One record line (ending in `\n`), with realistic, correlated features printed to a fixed precision. */
function patientRecordLine(random: SeededRandom): string {
  const age = 18 + random.nextInt(73);
  const bmi = Math.min(55, Math.max(15, 27 + random.nextGaussian() * 5));
  const systolic = Math.round(95 + 0.5 * age + random.nextGaussian() * 12);
  const cholesterol = 170 + 0.6 * age + random.nextGaussian() * 35;
  const glucose = 90 + 0.8 * (bmi - 27) + random.nextGaussian() * 15;
  const features = [age, Number(bmi.toFixed(1)), systolic, Number(cholesterol.toFixed(1)), Number(glucose.toFixed(1))];
  const outcome = features.reduce((sum, value, i) => sum + PATIENT_MODEL.coefficients[i]! * value, PATIENT_MODEL.intercept) + random.nextGaussian() * PATIENT_MODEL.noise;
  return `${features.join(',')},${outcome.toFixed(3)}\n`;
}

/** `/input/records.csv`: the header line, then `size` records (default 1000); one seed per shard. */
export function generatePatientRecords(options: GeneratorOptions): GeneratedFiles {
  const random = new SeededRandom(options.seed);
  const lines = [HEADER];
  for (let i = 0, count = options.size ?? 1000; i < count; i++) lines.push(patientRecordLine(random));
  return { '/input/records.csv': new TextEncoder().encode(lines.join('')) };
}

/** What {@link writePatientRecordsShard} wrote. */
export interface WrittenShard {
  rows: number;
  bytes: number;
}

/**
 * Writes a shard of at most `bytes` bytes (within one record of it, and at least the header) to `path`: the
 * same lines as {@link generatePatientRecords} with this seed, 1 MiB at a time, so shards of hundreds of MiB
 * never sit in memory whole. The file is written beside `path` and renamed into place when complete.
 */
export function writePatientRecordsShard(path: string, options: { seed: number; bytes: number }): WrittenShard {
  const random = new SeededRandom(options.seed);
  const partial = `${path}.partial`;
  const descriptor = openSync(partial, 'w');
  let written = 0;
  let rows = 0;
  const flush = (chunk: string) => {
    const data = Buffer.from(chunk, 'latin1'); // records are ASCII
    for (let offset = 0; offset < data.length; ) offset += writeSync(descriptor, data, offset);
    written += data.length;
  };
  try {
    let chunk = HEADER;
    for (;;) {
      const line = patientRecordLine(random);
      if (written + chunk.length + line.length > options.bytes) break;
      chunk += line;
      rows++;
      if (chunk.length >= 1 << 20) {
        flush(chunk);
        chunk = '';
      }
    }
    flush(chunk);
  } catch (reason) {
    closeSync(descriptor);
    rmSync(partial, { force: true });
    throw reason;
  }
  closeSync(descriptor);
  renameSync(partial, path);
  return { rows, bytes: written };
}

runGeneratorCli(import.meta.url, generatePatientRecords);
