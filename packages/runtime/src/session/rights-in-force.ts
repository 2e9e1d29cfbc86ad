import { type FileRights, hasRights, isStdStream, normalizePath, type Policy, Right, resolveRights } from '@veracruz-ts/policy';
import { Errno } from '../vfs/errno.ts';
import type { ComputationRights } from '../wasi/process-options.ts';

/** Programs are subjects `PROGRAM_SUBJECT | i` (the i-th entry of `programs[]`). */
export const PROGRAM_SUBJECT = 0x80000000;


/** One narrowing a program made, as `request_rights` reports it. */
export interface Narrowing {
  at: string;
  program: string;
  subject: number;
  path: string;
  before: number;
  after: number;
}

/**
 * The rights of a computation's subjects as they stand: the policy's, less what programs narrowed
 * (docs/program-abi.md, `veracruz_v1`). Narrowing replaces entries of the very `file_rights` arrays
 * the sessions' views and program runs check, so every later request and run obeys it; it can only
 * take bits away, so the policy stays an upper bound. The policy's text and hash do not change.
 */
export class RightsInForce implements ComputationRights {
  readonly #policy: Policy;
  /** Every narrowing made, in order. */
  readonly narrowings: Narrowing[] = [];

  constructor(policy: Policy) {
    this.#policy = policy;
  }

  /** The principals: identities, and isolates admitted as principals. */
  #principals(): { id: number; file_rights: FileRights[] }[] {
    return [...this.#policy.identities, ...this.#policy.isolate_principals];
  }

  #entries(subject: number): FileRights[] | undefined {
    if (subject >= PROGRAM_SUBJECT) return this.#policy.programs[subject - PROGRAM_SUBJECT]?.file_rights;
    return this.#principals().find((principal) => principal.id === subject)?.file_rights;
  }

  subjects(): number[] {
    return [...this.#principals().map((principal) => principal.id), ...this.#policy.programs.map((_, index) => PROGRAM_SUBJECT + index)];
  }

  rightsOf(subject: number, path: string): number | undefined {
    const entries = this.#entries(subject);
    return entries === undefined ? undefined : (resolveRights(entries, path)?.rights ?? 0);
  }

  readers(path: string): number[] {
    return this.#principals().filter((principal) => hasRights(principal.file_rights, path, Right.FD_READ)).map((principal) => principal.id);
  }

  narrow(subject: number, path: string, rights: number, by: string): number {
    const entries = this.#entries(subject);
    if (entries === undefined) return Errno.NOENT;
    // At most 1024 narrowings a computation: each is a record, and perhaps an entry every later check reads.
    if (this.narrowings.length >= 1024) return Errno.NOSPC;
    const target = normalizePath(path);
    const before = resolveRights(entries, target)?.rights ?? 0;
    if ((rights & ~before) !== 0) return Errno.PERM;
    let exact = false;
    entries.forEach((entry, index) => {
      const name = normalizePath(entry.file_name);
      // The path itself gets `rights` (its entry holds them all), paths below it no more than `rights`;
      // a std stream is below no path.
      if (name === target) exact = true;
      else if (isStdStream(name) || !(target === '/' || name.startsWith(`${target}/`))) return;
      entries[index] = { file_name: entry.file_name, rights: entry.rights & rights };
    });
    if (!exact) entries.push({ file_name: target, rights });
    this.narrowings.push({ at: new Date().toISOString(), program: by, subject, path: target, before, after: rights });
    return Errno.SUCCESS;
  }

  /** The answer to `request_rights`: every subject's rights in force and the narrowings made. */
  report(): Uint8Array {
    const subjects = this.subjects().map((subject) => ({ subject, file_rights: this.#entries(subject) }));
    return Buffer.from(JSON.stringify({ subjects, narrowings: this.narrowings }));
  }
}
