import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Code, VeracruzError } from '@veracruz-ts/core';

/** Where Linux exposes configfs-tsm attestation reports (CONFIG_TSM_REPORTS). */
export const TSM_REPORT_ROOT = '/sys/kernel/config/tsm/report';

/** The most report data a TSM provider signs (SEV-SNP and TDX both take 64 bytes). */
export const TSM_INBLOB_MAX = 64;

/**
 * The few file operations the configfs-tsm protocol uses. The default is `node:fs`; tests pass
 * a double that behaves like the kernel's configfs entries.
 */
export interface TsmFileSystem {
  /** Creates a report entry (configfs fills it with its attribute files). */
  mkdir(path: string): Promise<void>;
  /** Writes one attribute (e.g. `inblob`). */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Reads one attribute (e.g. `outblob`, `generation`, `provider`). */
  readFile(path: string): Promise<Uint8Array>;
  /** Removes a report entry (configfs takes `rmdir` even though attributes are listed inside). */
  rmdir(path: string): Promise<void>;
}

/** The real configfs through `node:fs/promises`. */
export const nodeTsmFileSystem: TsmFileSystem = {
  mkdir: async (path) => {
    await mkdir(path);
  },
  writeFile: (path, data) => writeFile(path, data),
  readFile: async (path) => new Uint8Array(await readFile(path)),
  rmdir: (path) => rmdir(path),
};

/** Options for {@link requestTsmReport}. */
export interface TsmReportOptions {
  /** The configfs-tsm report directory. @default TSM_REPORT_ROOT */
  root?: string;
  /** The data the TEE signs into the report (at most 64 bytes; SEV-SNP/TDX: `bindReportData`). */
  reportData: Uint8Array;
  /** How many fresh entries to try when another writer races on one. @default 3 */
  maxAttempts?: number;
  /** The file operations. @default nodeTsmFileSystem */
  fileSystem?: TsmFileSystem;
}

/** A report as configfs-tsm produced it. */
export interface TsmReport {
  /** The provider's report (SEV-SNP: the 1184-byte attestation report; TDX: the quote). */
  outblob: Uint8Array;
  /** Who made it: `sev_guest`, `tdx_guest`, ... */
  provider: string;
  /** The entry's generation when the report was read (one write of inblob after creation). */
  generation: number;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

function unavailable(reason: string, cause?: unknown): VeracruzError {
  return new VeracruzError(Code.Unavailable, `configfs-tsm: ${reason}`, cause === undefined ? undefined : { cause });
}

/** Thrown inside an attempt when the generation moved: someone else wrote to the entry. */
class GenerationRace extends Error {}

/**
 * Asks the confidential VM's TEE for a report through Linux configfs-tsm: creates a fresh entry
 * (`mkdir`), writes `inblob`, reads `outblob`, `provider` and `generation`, and removes the entry.
 * Because configfs entries are shared by name, it checks that `generation` counted exactly our
 * own write and did not move while the report was read; when another writer raced, it retries
 * with a fresh entry, and fails with `Unavailable` after `maxAttempts`.
 */
export async function requestTsmReport(options: TsmReportOptions): Promise<TsmReport> {
  const fs = options.fileSystem ?? nodeTsmFileSystem;
  const root = options.root ?? TSM_REPORT_ROOT;
  const maxAttempts = options.maxAttempts ?? 3;
  if (options.reportData.length === 0 || options.reportData.length > TSM_INBLOB_MAX) {
    throw new VeracruzError(Code.InvalidRequest, `configfs-tsm: report data is ${options.reportData.length} bytes, expected 1 to ${TSM_INBLOB_MAX}`);
  }
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    try {
      return await attemptReport(fs, root, options.reportData);
    } catch (error) {
      if (!(error instanceof GenerationRace)) throw error;
    }
  }
  throw unavailable(`another writer changed the report entry during each of ${maxAttempts} attempts`);
}

async function attemptReport(fs: TsmFileSystem, root: string, reportData: Uint8Array): Promise<TsmReport> {
  const entry = join(root, `veracruz-${Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex')}`);
  try {
    await fs.mkdir(entry);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') throw unavailable(`${root} does not exist (not a confidential VM, or a kernel without CONFIG_TSM_REPORTS)`, error);
    if (code === 'EACCES' || code === 'EPERM') throw unavailable(`no permission to create a report entry in ${root}`, error);
    throw unavailable(`cannot create a report entry in ${root} (${code ?? 'unknown error'})`, error);
  }
  try {
    const before = await readGeneration(fs, entry);
    await fs.writeFile(join(entry, 'inblob'), reportData).catch((error: unknown) => {
      throw unavailable(`writing inblob failed (${errorCode(error) ?? 'unknown error'})`, error);
    });
    const written = await readGeneration(fs, entry);
    if (written !== before + 1) throw new GenerationRace();
    const outblob = await fs.readFile(join(entry, 'outblob')).catch((error: unknown) => {
      throw unavailable(`reading outblob failed (${errorCode(error) ?? 'unknown error'}); is a TSM provider loaded?`, error);
    });
    const after = await readGeneration(fs, entry);
    if (after !== written) throw new GenerationRace();
    const provider = new TextDecoder().decode(await fs.readFile(join(entry, 'provider'))).trim();
    if (outblob.length === 0) throw unavailable(`provider ${provider} returned an empty report`);
    return { outblob, provider, generation: after };
  } finally {
    await fs.rmdir(entry).catch(() => {
      // The report is already read; a leftover entry only costs the kernel a little memory.
    });
  }
}

async function readGeneration(fs: TsmFileSystem, entry: string): Promise<number> {
  const raw = await fs.readFile(join(entry, 'generation')).catch((error: unknown) => {
    throw unavailable(`reading generation failed (${errorCode(error) ?? 'unknown error'})`, error);
  });
  const text = new TextDecoder().decode(raw).trim();
  if (!/^\d+$/.test(text)) throw unavailable(`generation attribute is not a number (${JSON.stringify(text.slice(0, 20))})`);
  return Number(text);
}
