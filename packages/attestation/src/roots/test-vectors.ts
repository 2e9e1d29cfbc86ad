/**
 * Access to the real evidence samples in `packages/attestation/test-vectors/` and their
 * MANIFEST.json, so tests are driven by the manifest's facts and expectations.
 */
import { readFileSync } from 'node:fs';

/** One MANIFEST.json entry (only the fields tests read are typed). */
export interface VectorEntry {
  id: string;
  file: string;
  kind: string;
  role: string;
  verification_time?: string | null;
  needs?: { file: string; role: string }[];
  expected?: {
    valid: boolean;
    debug?: boolean | null;
    reason?: string;
    tcb_status?: string | null;
    advisory_ids?: string[];
    fails_at?: { time: string; reason: string }[];
  };
  tamper?: { offset_in_file: number; old_byte: string; new_byte: string; what: string };
  derived_from?: string;
  facts?: Record<string, unknown>;
}

const root = new URL('../../test-vectors/', import.meta.url);

/** The parsed MANIFEST.json. */
export const MANIFEST: readonly VectorEntry[] = JSON.parse(readFileSync(new URL('MANIFEST.json', root), 'utf8')) as VectorEntry[];

/** The bytes of a vector file, by its manifest path (e.g. "nitro/x.cose"). */
export function vectorBytes(file: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(file, root)));
}

/** The text of a vector file. */
export function vectorText(file: string): string {
  return readFileSync(new URL(file, root), 'utf8');
}

/** Manifest entries of one kind and role. */
export function vectorsOf(kind: string, role: string): VectorEntry[] {
  return MANIFEST.filter((entry) => entry.kind === kind && entry.role === role);
}

/** Bytes from lowercase hex. */
export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
