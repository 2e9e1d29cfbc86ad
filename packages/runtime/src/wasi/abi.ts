import { ALL_RIGHTS } from '@veracruz-ts/policy';

/** WASI `filetype` values the runtime reports. */
export const FILETYPE = { UNKNOWN: 0, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4, SYMBOLIC_LINK: 7 } as const;
/** WASI `lookupflags`: follow a last symbolic link. */
export const LOOKUP_SYMLINK_FOLLOW = 1;
/** WASI `oflags` of `path_open`. */
export const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
/** WASI `fdflags`. */
export const FDFLAGS = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
/** WASI `fstflags` of the set-times calls. */
export const FSTFLAGS = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;
/** WASI `whence` of `fd_seek`. */
export const WHENCE = { SET: 0, CUR: 1, END: 2 } as const;
/** Most buffers one vectored read or write may name (POSIX IOV_MAX). */
export const IOV_MAX = 1024;
/** Most subscriptions one poll_oneoff may name. */
export const MAX_SUBSCRIPTIONS = 4096;
/** Largest file offset/size a program may reach (2^53 - 1 bytes). */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;
/** Every rights bit the runtime knows, to mask the 64-bit rights a program asks for. */
export const KNOWN_RIGHTS = BigInt(ALL_RIGHTS);
