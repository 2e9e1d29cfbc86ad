import { Right } from '@veracruz-ts/policy';
import { Errno } from '../../vfs/errno.ts';
import { FDFLAGS, MAX_OFFSET, WHENCE } from '../abi.ts';
import type { OpenFile, OpenStream } from '../descriptors.ts';
import { fail } from '../fail.ts';
import type { ProcessContext } from '../process-context.ts';
import { defineSystemCalls } from '../system-call-handler.ts';

/** Writes gathered buffers through a descriptor at `position` (or its offset); returns bytes written. */
function write(context: ProcessContext, descriptor: OpenFile | OpenStream, buffers: Uint8Array[], position: number | undefined): number {
  let total = 0;
  for (const buffer of buffers) total += buffer.length;
  if (descriptor.type === 'stream') {
    const hook = descriptor.stream === 'stdout' ? context.streams.stdout : descriptor.stream === 'stderr' ? context.streams.stderr : undefined;
    if (hook !== undefined) {
      for (const buffer of buffers) if (buffer.length > 0) hook(buffer.slice());
      return total;
    }
    const node = context.streamNode(descriptor);
    const start = descriptor.stream === 'stdin' ? descriptor.offset : node.data.size;
    if (start + total > MAX_OFFSET) fail(Errno.FBIG);
    // All or nothing: the whole write is reserved at once (see ChunkedData.writeAll).
    node.data.writeAll(start, buffers);
    if (descriptor.stream === 'stdin') descriptor.offset = start + total;
    return total;
  }
  const node = descriptor.node;
  if (node.service !== undefined) {
    const request = new Uint8Array(total);
    let at = 0;
    for (const buffer of buffers) {
      request.set(buffer, at);
      at += buffer.length;
    }
    context.vfs.writeNode(node, 0, request, context.rights);
    if (position === undefined) descriptor.offset += total;
    return total;
  }
  const append = position === undefined && (descriptor.flags & FDFLAGS.APPEND) !== 0;
  const at = append ? node.data.size : (position ?? descriptor.offset);
  if (at + total > MAX_OFFSET) fail(Errno.FBIG);
  // All or nothing: the whole write is reserved at once, so that a write that does not fit changes
  // nothing, even when a program's memory.grow in another thread takes budget meanwhile.
  node.data.writeAll(at, buffers);
  if (position === undefined) descriptor.offset = at + total;
  // Whoever follows a policy stream written here looks again.
  descriptor.stream?.grew();
  return total;
}

/** Reads into scattered buffers from a descriptor at `position` (or its offset); returns bytes read. */
function read(context: ProcessContext, descriptor: OpenFile | OpenStream, buffers: Uint8Array[], position: number | undefined): number {
  const node = descriptor.type === 'stream' ? context.streamNode(descriptor) : descriptor.node;
  let at = position ?? descriptor.offset;
  let total = 0;
  for (const buffer of buffers) {
    const count = node.data.readInto(at, buffer);
    at += count;
    total += count;
    if (count < buffer.length) break;
  }
  if (position === undefined) descriptor.offset = at;
  return total;
}

/**
 * Reads a descriptor at `position` (or its offset) and stores the count at `resultPointer`. On a
 * policy stream's file, a read at the end of its data waits while the stream is open (the handler's
 * promise), then reads what came; it gets end of file once the stream has ended, EIO once it failed.
 * The descriptor's own file is waited on: once it is no longer the stream's (another file was renamed
 * over the path), it reads as an ordinary file. A wait ends early when the process does (time limit,
 * trap): the call is then ECANCELED.
 */
function readDescriptor(context: ProcessContext, descriptor: OpenFile | OpenStream, iovs: number, count: number, resultPointer: number, position: number | undefined): number | Promise<number> {
  // The buffers are found anew on each attempt: the memory may have grown while the call waited.
  const buffers = context.memory.iovecs(iovs, count);
  const stream = descriptor.type === 'file' ? descriptor.stream : undefined;
  const start = position ?? descriptor.offset;
  if (stream !== undefined && descriptor.type === 'file' && start >= descriptor.node.data.size && buffers.some((buffer) => buffer.length > 0)) {
    const end = stream.programEnd(descriptor.node);
    if (end === 'failed') return Errno.IO;
    if (end === 'wait') {
      // The retry goes through the event loop: a wait that ends at once can never starve timers (the time limit) and sessions.
      return stream.waitForData(context, start, { file: descriptor.node })
        .then((woken) => new Promise<typeof woken>((resolve) => setImmediate(resolve, woken)))
        .then((woken) => (woken === 'gone' || context.ended ? Errno.CANCELED : readDescriptor(context, descriptor, iovs, count, resultPointer, position)));
    }
  }
  const done = read(context, descriptor, buffers, position);
  stream?.consumed(context, start + done);
  context.memory.u32(resultPointer, done);
  return Errno.SUCCESS;
}

/** Reads standard input from the live hook: the one call that waits for data from outside. */
async function readStdinHook(context: ProcessContext, hook: (max: number) => Promise<Uint8Array | null>, buffers: Uint8Array[], resultPointer: number): Promise<number> {
  const capacity = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
  const data = capacity === 0 ? new Uint8Array(0) : ((await hook(capacity)) ?? new Uint8Array(0));
  // Re-derive the buffers: the memory may have grown (a new buffer object) while we waited.
  let done = 0;
  for (const buffer of buffers) {
    const count = Math.min(buffer.length, data.length - done);
    if (count <= 0) break;
    context.memory.range(buffer.byteOffset, count).set(data.subarray(done, done + count));
    done += count;
  }
  context.memory.u32(resultPointer, done);
  return Errno.SUCCESS;
}

/** Whether output to `stream` goes to a live hook rather than the VFS stream file. */
function streamHooked(context: ProcessContext, stream: 'stdout' | 'stderr'): boolean {
  return (stream === 'stdout' ? context.streams.stdout : context.streams.stderr) !== undefined;
}

/**
 * Moving bytes through a descriptor: reads and writes (vectored, at the offset or at a position),
 * seeking and telling.
 */
export const FD_IO_CALLS = defineSystemCalls({
  fd_pread: (context, fd, iovs, count, offset, result) => {
    const descriptor = context.file(fd, Right.FD_READ | Right.FD_SEEK);
    if (descriptor.type === 'stream') return Errno.SPIPE;
    return readDescriptor(context, descriptor, iovs, count, result, Number(BigInt.asUintN(64, offset)));
  },
  fd_pwrite: (context, fd, iovs, count, offset, result) => {
    const descriptor = context.file(fd, Right.FD_WRITE | Right.FD_SEEK);
    if (descriptor.type === 'stream') return Errno.SPIPE;
    const position = Number(BigInt.asUintN(64, offset));
    context.memory.u32(result, write(context, descriptor, context.memory.iovecs(iovs, count), position));
    return Errno.SUCCESS;
  },
  fd_read: (context, fd, iovs, count, result) => {
    const descriptor = context.file(fd, Right.FD_READ);
    if (descriptor.type === 'stream' && descriptor.stream === 'stdin' && context.streams.stdin !== undefined) {
      return readStdinHook(context, context.streams.stdin, context.memory.iovecs(iovs, count), result);
    }
    if (descriptor.type === 'stream' && descriptor.stream !== 'stdin' && streamHooked(context, descriptor.stream)) {
      context.memory.u32(result, 0);
      return Errno.SUCCESS;
    }
    return readDescriptor(context, descriptor, iovs, count, result, undefined);
  },
  fd_seek: (context, fd, offset, whence, result) => {
    const delta = Number(offset);
    const tellOnly = whence === WHENCE.CUR && delta === 0;
    const descriptor = context.file(fd, tellOnly ? 0 : Right.FD_SEEK);
    if (tellOnly && (descriptor.rightsBase & (Right.FD_SEEK | Right.FD_TELL)) === 0) return Errno.NOTCAPABLE;
    if (descriptor.type === 'stream') return Errno.SPIPE;
    const base = whence === WHENCE.SET ? 0 : whence === WHENCE.CUR ? descriptor.offset : whence === WHENCE.END ? descriptor.node.data.size : NaN;
    if (Number.isNaN(base)) return Errno.INVAL;
    const target = base + delta;
    if (target < 0) return Errno.INVAL;
    if (target > MAX_OFFSET) return Errno.OVERFLOW;
    descriptor.offset = target;
    context.memory.u64(result, target);
    return Errno.SUCCESS;
  },
  fd_tell: (context, fd, result) => {
    // FD_TELL, or FD_SEEK (which reveals the position anyway through fd_seek(0, CUR)).
    const descriptor = context.file(fd, 0);
    if ((descriptor.rightsBase & (Right.FD_TELL | Right.FD_SEEK)) === 0) return Errno.NOTCAPABLE;
    if (descriptor.type === 'stream') return Errno.SPIPE;
    context.memory.u64(result, descriptor.offset);
    return Errno.SUCCESS;
  },
  fd_write: (context, fd, iovs, count, result) => {
    const descriptor = context.file(fd, Right.FD_WRITE);
    context.memory.u32(result, write(context, descriptor, context.memory.iovecs(iovs, count), undefined));
    return Errno.SUCCESS;
  },
});
