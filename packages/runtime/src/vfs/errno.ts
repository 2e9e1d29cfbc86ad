/** WASI preview1 error numbers used by the file system and the WASI layer. */
export const Errno = {
  SUCCESS: 0,
  TOOBIG: 1,
  ACCES: 2,
  AGAIN: 6,
  BADF: 8,
  BADMSG: 9,
  BUSY: 10,
  CANCELED: 11,
  EXIST: 20,
  FAULT: 21,
  FBIG: 22,
  ILSEQ: 25,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  MLINK: 34,
  NAMETOOLONG: 37,
  NOBUFS: 42,
  NOENT: 44,
  NOMEM: 48,
  NOSPC: 51,
  NOSYS: 52,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTSOCK: 57,
  NOTSUP: 58,
  OVERFLOW: 61,
  PERM: 63,
  SPIPE: 70,
  XDEV: 75,
  NOTCAPABLE: 76,
} as const;

const names = new Map<number, string>(Object.entries(Errno).map(([name, value]) => [value, name]));

/** `ENOENT`-style name of an errno value (for strace lines and messages). */
export function errnoName(errno: number): string {
  const name = names.get(errno);
  return name === undefined ? `E${errno}` : errno === 0 ? 'SUCCESS' : `E${name}`;
}

/**
 * A failed file-system operation carrying its WASI errno. Internal to the runtime: the WASI layer
 * turns it into the errno a program sees, the host-side view into a VeracruzError.
 */
export class FsFailure extends Error {
  /** The WASI errno. */
  readonly errno: number;
  constructor(errno: number, what: string) {
    super(`${what}: ${errnoName(errno)}`);
    this.name = 'FsFailure';
    this.errno = errno;
  }
}
