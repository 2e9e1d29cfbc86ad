/**
 * File rights: the WASI rights bits plus Veracruz's FD_EXECUTE, and how a principal's
 * `file_rights` entries apply to a path (their shorthands and text forms are in rights-text.ts).
 * Pure functions; no I/O.
 *
 * Path semantics (kept from Veracruz, with its gaps closed):
 * - `stdin`, `stdout`, `stderr` (exactly, no slash) name the standard streams; they match only
 *   an entry with exactly that name.
 * - Every other name is a path; a relative one gets a leading `/` (as Veracruz does), `//` and
 *   `.` collapse, `..` removes the previous component but never climbs above `/`, a trailing `/`
 *   is dropped. So `/input/../output/x` is `/output/x` and `/../../etc` is `/etc`.
 * - A path gets the rights of the longest entry that is a whole-component prefix of it:
 *   `/input/` covers `/input` and `/input/a/b`, never `/inputs/x`. No match means no access.
 * - Names are compared exactly, code unit by code unit. Unicode normalisation (NFC/NFD) is NOT
 *   applied: `/café` written with a combining accent is a different path from the precomposed
 *   one, as it is for the WASI programs that open it. Silently normalising would let two
 *   different byte strings reach the same file and surprise whoever audited the policy.
 */
/** The rights bits by their Veracruz (WASI `Rights`) names; bit 29 is Veracruz's FD_EXECUTE. */
export const Right = {
  FD_DATASYNC: 1 << 0,
  FD_READ: 1 << 1,
  FD_SEEK: 1 << 2,
  FD_FDSTAT_SET_FLAGS: 1 << 3,
  FD_SYNC: 1 << 4,
  FD_TELL: 1 << 5,
  FD_WRITE: 1 << 6,
  FD_ADVISE: 1 << 7,
  FD_ALLOCATE: 1 << 8,
  PATH_CREATE_DIRECTORY: 1 << 9,
  PATH_CREATE_FILE: 1 << 10,
  PATH_LINK_SOURCE: 1 << 11,
  PATH_LINK_TARGET: 1 << 12,
  PATH_OPEN: 1 << 13,
  FD_READDIR: 1 << 14,
  PATH_READLINK: 1 << 15,
  PATH_RENAME_SOURCE: 1 << 16,
  PATH_RENAME_TARGET: 1 << 17,
  PATH_FILESTAT_GET: 1 << 18,
  PATH_FILESTAT_SET_SIZE: 1 << 19,
  PATH_FILESTAT_SET_TIMES: 1 << 20,
  FD_FILESTAT_GET: 1 << 21,
  FD_FILESTAT_SET_SIZE: 1 << 22,
  FD_FILESTAT_SET_TIMES: 1 << 23,
  PATH_SYMLINK: 1 << 24,
  PATH_REMOVE_DIRECTORY: 1 << 25,
  PATH_UNLINK_FILE: 1 << 26,
  POLL_FD_READWRITE: 1 << 27,
  SOCK_SHUTDOWN: 1 << 28,
  FD_EXECUTE: 1 << 29,
} as const;

/** The name of one right bit. */
export type RightName = keyof typeof Right;

/** Every known bit (bits 0 to 29). */
export const ALL_RIGHTS: number = Object.values(Right).reduce((all, bit) => all | bit, 0);

const rightEntries = Object.entries(Right) as [RightName, number][];

/** One entry of a principal's `file_rights`: a path (or std stream name) and its rights bits. */
export interface FileRights {
  file_name: string;
  rights: number;
}

/** The names that denote the standard streams rather than paths. */
export const STD_STREAMS = ['stdin', 'stdout', 'stderr'] as const;

/** One of {@link STD_STREAMS}. */
export type StdStream = (typeof STD_STREAMS)[number];

/** Whether `name` is exactly one of the standard stream names. */
export function isStdStream(name: string): name is StdStream {
  return name === 'stdin' || name === 'stdout' || name === 'stderr';
}

/** Whether `bits` is a rights value made only of known bits (an unsigned integer below 2^30). */
export function isValidRights(bits: unknown): bits is number {
  return typeof bits === 'number' && Number.isInteger(bits) && bits >= 0 && bits <= ALL_RIGHTS;
}

/**
 * The bits of a rights value that name no right (bit 30 and up), as unsigned hex, for error
 * messages: `0xc0000000` for 0xffffffff. `bits` is a non-negative integer of any size.
 */
export function formatUnknownRights(bits: number): string {
  // BigInt, not `bits & ~ALL_RIGHTS`: JavaScript's bitwise operators work on signed 32-bit values.
  return `0x${((BigInt(bits) >> 30n) << 30n).toString(16)}`;
}

/** The names of the bits set in `bits`, in bit order; unknown bits are shown as `BIT_<n>`. */
export function rightNames(bits: number): string[] {
  const names: string[] = [];
  for (const [name, bit] of rightEntries) if ((bits & bit) !== 0) names.push(name);
  for (let bit = 30; bit < 32; bit++) if ((bits & (1 << bit)) !== 0) names.push(`BIT_${bit}`);
  return names;
}

/** The names of the rights in `need` that `have` lacks (empty when `have` covers `need`). */
export function missingRights(have: number, need: number): string[] {
  return rightNames(need & ~have);
}

/**
 * The canonical form of a policy or request path: absolute, `//` and `.` collapsed, `..`
 * resolved lexically without ever climbing above `/`, no trailing `/` (except the root `/`).
 * The std stream names are returned unchanged. Unicode is compared as written (no NFC).
 */
export function normalizePath(path: string): string {
  if (isStdStream(path)) return path;
  const components: string[] = [];
  for (const component of path.split('/')) {
    if (component === '' || component === '.') continue;
    if (component === '..') components.pop();
    else components.push(component);
  }
  return `/${components.join('/')}`;
}

/** Whether normalized path `prefix` is `path` itself or a whole-component ancestor of it. */
function coversPath(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** The result of {@link resolveRights}: which entry applies and what it grants. */
export interface ResolvedRights {
  /** The matching entry's normalized name (`/input`, `/`, `stdout`). */
  prefix: string;
  /** The rights that entry grants. */
  rights: number;
  /** The entry as written in the policy. */
  entry: FileRights;
}

/**
 * The rights a principal holding `entries` has over `path`: those of the longest entry that is
 * a whole-component prefix of the normalized path; a std stream name matches only an entry with
 * exactly that name. `undefined` means no access at all. If several entries normalize to the
 * same prefix (a validated policy refuses that), the first one applies.
 */
export function resolveRights(entries: readonly FileRights[], path: string): ResolvedRights | undefined {
  if (isStdStream(path)) {
    const entry = entries.find((candidate) => candidate.file_name === path);
    return entry === undefined ? undefined : { prefix: path, rights: entry.rights, entry };
  }
  const target = normalizePath(path);
  let best: ResolvedRights | undefined;
  for (const entry of entries) {
    if (isStdStream(entry.file_name)) continue;
    const prefix = normalizePath(entry.file_name);
    if (!coversPath(prefix, target)) continue;
    if (best === undefined || prefix.length > best.prefix.length) best = { prefix, rights: entry.rights, entry };
  }
  return best;
}

/** Whether `entries` grant every bit of `need` on `path`. */
export function hasRights(entries: readonly FileRights[], path: string, need: number): boolean {
  const resolved = resolveRights(entries, path);
  return resolved !== undefined && (resolved.rights & need) === need;
}
