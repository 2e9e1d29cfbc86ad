import { Errno } from '../vfs/errno.ts';
import type { VfsNode } from '../vfs/nodes.ts';
import { FILETYPE, FSTFLAGS } from './abi.ts';
import { nowNanoseconds } from './clock.ts';
import { fail } from './fail.ts';
import type { GuestMemory } from './guest-memory.ts';

const encoder = new TextEncoder();

/** Writes a WASI `filestat` record (64 bytes) at `pointer`. */
export function writeFilestat(memory: GuestMemory, pointer: number, node: VfsNode | undefined, filetype: number, size: number): void {
  const view = memory.view();
  view.setBigUint64(pointer, 0n, true);
  view.setBigUint64(pointer + 8, BigInt(node?.inode ?? 0), true);
  view.setUint8(pointer + 16, filetype);
  for (let pad = 17; pad < 24; pad++) view.setUint8(pointer + pad, 0);
  // Directories answer 1, as btrfs does (they have no hard links; POSIX tools read < 2 as "unknown").
  view.setBigUint64(pointer + 24, BigInt(node === undefined || node.kind === 'directory' ? 1 : node.nlink), true);
  view.setBigUint64(pointer + 32, BigInt(size), true);
  view.setBigUint64(pointer + 40, node?.times.accessed ?? 0n, true);
  view.setBigUint64(pointer + 48, node?.times.modified ?? 0n, true);
  view.setBigUint64(pointer + 56, node?.times.changed ?? 0n, true);
}

/** Writes the `filestat` of a VFS node: its type, and its size (a link's: its target's length in bytes). */
export function writeNodeStat(memory: GuestMemory, pointer: number, node: VfsNode): void {
  if (node.kind === 'directory') writeFilestat(memory, pointer, node, FILETYPE.DIRECTORY, 0);
  else if (node.kind === 'symlink') writeFilestat(memory, pointer, node, FILETYPE.SYMBOLIC_LINK, encoder.encode(node.target).length);
  else writeFilestat(memory, pointer, node, FILETYPE.REGULAR_FILE, node.data.size);
}

/** Sets a node's access and modification times as the set-times calls' `fstflags` ask. */
export function setTimes(node: VfsNode, accessed: bigint, modified: bigint, flags: number, enableClock: boolean): void {
  if ((flags & FSTFLAGS.ATIM && flags & FSTFLAGS.ATIM_NOW) || (flags & FSTFLAGS.MTIM && flags & FSTFLAGS.MTIM_NOW)) fail(Errno.INVAL);
  // *_NOW reads the clock: refused like a clock read when the policy disables clocks.
  if ((flags & (FSTFLAGS.ATIM_NOW | FSTFLAGS.MTIM_NOW)) !== 0 && !enableClock) fail(Errno.ACCES);
  const now = flags & (FSTFLAGS.ATIM_NOW | FSTFLAGS.MTIM_NOW) ? nowNanoseconds() : 0n;
  // i64 arguments arrive signed; a timestamp is a u64, stored as such so it reads back unchanged.
  if (flags & FSTFLAGS.ATIM) node.times.accessed = BigInt.asUintN(64, accessed);
  if (flags & FSTFLAGS.ATIM_NOW) node.times.accessed = now;
  if (flags & FSTFLAGS.MTIM) node.times.modified = BigInt.asUintN(64, modified);
  if (flags & FSTFLAGS.MTIM_NOW) node.times.modified = now;
}
