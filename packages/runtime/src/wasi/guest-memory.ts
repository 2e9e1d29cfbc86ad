import { Errno, FsFailure } from '../vfs/errno.ts';
import { IOV_MAX } from './abi.ts';
import { fail } from './fail.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The program's (shared) linear memory as the system calls see it: every range a program names is
 * bounds-checked (EFAULT), so a hostile pointer fails its call instead of reaching other memory.
 */
export class GuestMemory {
  #memory: WebAssembly.Memory | undefined;

  /** Attaches the program's linear memory. */
  attach(memory: WebAssembly.Memory): void {
    this.#memory = memory;
  }

  /** All of memory as bytes; a fresh view each time, since memory.grow replaces the buffer. */
  bytes(): Uint8Array {
    if (this.#memory === undefined) throw new Error('memory not attached');
    return new Uint8Array(this.#memory.buffer);
  }

  /** All of memory as a DataView; a fresh view each time, since memory.grow replaces the buffer. */
  view(): DataView {
    if (this.#memory === undefined) throw new Error('memory not attached');
    return new DataView(this.#memory.buffer);
  }

  /** The `length` bytes at `pointer`; EFAULT past the end of memory. */
  range(pointer: number, length: number): Uint8Array {
    const bytes = this.bytes();
    if (pointer + length > bytes.length) fail(Errno.FAULT);
    return bytes.subarray(pointer, pointer + length);
  }

  /** The UTF-8 string at `pointer`; EILSEQ if it is not UTF-8. */
  string(pointer: number, length: number): string {
    try {
      return decoder.decode(this.range(pointer, length).slice());
    } catch (reason) {
      if (reason instanceof FsFailure) throw reason;
      return fail(Errno.ILSEQ);
    }
  }

  /** Stores a little-endian u32. */
  u32(pointer: number, value: number): void {
    this.view().setUint32(pointer, value, true);
  }

  /** Stores a little-endian u32 at a range checked first (EFAULT rather than a RangeError). */
  putU32(pointer: number, value: number): void {
    this.putU32s(pointer, [value]);
  }

  /** Stores little-endian u32s one after the other, at a range checked first. */
  putU32s(pointer: number, values: readonly number[]): void {
    this.range(pointer, values.length * 4);
    for (const [index, value] of values.entries()) this.u32(pointer + index * 4, value);
  }

  /**
   * A variable-length output of the programs' ABI (docs/program-abi.md): its length at
   * `lengthPointer`, and the bytes at `out` if `size` holds them, else ENOBUFS.
   */
  output(data: Uint8Array, out: number, size: number, lengthPointer: number): number {
    // Every range is checked before anything is written: a faulting call changes nothing.
    const target = data.length > size ? undefined : this.range(out, data.length);
    this.putU32(lengthPointer, data.length);
    if (target === undefined) return Errno.NOBUFS;
    target.set(data);
    return Errno.SUCCESS;
  }

  /** Stores a little-endian u64. */
  u64(pointer: number, value: bigint | number): void {
    this.view().setBigUint64(pointer, BigInt(value), true);
  }

  /** The buffers of the `count` iovecs at `pointer` (each a view into memory). */
  iovecs(pointer: number, count: number): Uint8Array[] {
    // POSIX IOV_MAX: also keeps a hostile count from building millions of views in this thread.
    if (count > IOV_MAX) fail(Errno.INVAL);
    const view = this.view();
    const buffers: Uint8Array[] = [];
    for (let index = 0; index < count; index++) {
      const base = view.getUint32(pointer + index * 8, true);
      const length = view.getUint32(pointer + index * 8 + 4, true);
      buffers.push(this.range(base, length));
    }
    return buffers;
  }
}
