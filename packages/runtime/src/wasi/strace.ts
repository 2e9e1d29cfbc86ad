/**
 * strace lines for the programs a runtime runs outside an isolate (vc-fee --strace, tests): the
 * isolate never traces, so this formatting is not part of its bundle.
 */
import { errnoName } from '../vfs/errno.ts';
import type { GuestMemory } from './guest-memory.ts';
import type { StraceSink } from './process-options.ts';
import type { SystemCallName } from './signatures.ts';

/** Argument positions where a (pointer, length) path pair starts, per system call. */
const PATH_ARGUMENTS: Readonly<Record<string, readonly number[]>> = {
  path_create_directory: [1],
  path_filestat_get: [2],
  path_filestat_set_times: [2],
  path_link: [2, 5],
  path_open: [2],
  path_readlink: [1],
  path_remove_directory: [1],
  path_rename: [1, 4],
  path_symlink: [0, 3],
  path_unlink_file: [1],
} satisfies Partial<Record<SystemCallName, readonly number[]>>;

/** A byte string as a C string literal, cut at 32 bytes (`"..."` marks the cut). */
function cString(bytes: Uint8Array): string {
  let out = '"';
  for (const byte of bytes.subarray(0, 32)) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else if (byte === 0x0a) out += '\\n';
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"${bytes.length > 32 ? '...' : ''}`;
}

/**
 * The arguments of a system call for an strace line: numbers as they are, (pointer, length) path
 * pairs as C strings, and for fd_write/fd_pwrite the data written instead of the iovec array's address.
 */
export function straceArguments(memory: GuestMemory, name: string, args: readonly (number | bigint)[]): string {
  const pairs = PATH_ARGUMENTS[name] ?? [];
  const parts: string[] = [];
  for (let index = 0; index < args.length; index++) {
    if ((name === 'fd_write' || name === 'fd_pwrite') && index === 1) {
      // The data written, gathered from the iovecs, instead of the iovec array's address.
      let text: string;
      try {
        const buffers = memory.iovecs(args[1] as number, Math.min(args[2] as number, 64));
        const head = new Uint8Array(33);
        let filled = 0;
        for (const buffer of buffers) {
          const count = Math.min(buffer.length, head.length - filled);
          head.set(buffer.subarray(0, count), filled);
          filled += count;
        }
        text = cString(head.subarray(0, filled));
      } catch {
        text = '<bad pointer>';
      }
      parts.push(text);
      continue;
    }
    if (pairs.includes(index)) {
      let text: string;
      try {
        text = cString(memory.range(args[index] as number, args[index + 1] as number));
      } catch {
        text = '<bad pointer>';
      }
      parts.push(text);
      index++;
    } else {
      parts.push(String(args[index]));
    }
  }
  return parts.join(', ');
}

/** A trace that receives one line per system call: `name(args) = ERRNO`. */
export function straceLines(line: (text: string) => void): StraceSink {
  return ({ name, args, memory, errno }) => line(`${name}(${straceArguments(memory, name, args)}) = ${errnoName(errno)}`);
}
