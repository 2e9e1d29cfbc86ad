import type { Readable } from 'node:stream';

/**
 * Reads a stream on demand, at most `max` bytes per call (null at the end): the program's fd 0
 * reads block (in the worker) until the terminal or pipe delivers. The stream is only touched on
 * the first read, so a program that never reads stdin leaves it alone.
 */
export function createStdinReader(stream: Readable): (max: number) => Promise<Uint8Array | null> {
  let iterator: AsyncIterator<Buffer> | undefined;
  let pending: Uint8Array = new Uint8Array(0);
  let ended = false;
  return async (max: number) => {
    if (pending.length === 0 && !ended) {
      iterator ??= stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const next = await iterator.next();
      if (next.done === true) ended = true;
      else pending = new Uint8Array(next.value);
    }
    if (pending.length === 0) return null;
    const chunk = pending.subarray(0, max);
    pending = pending.subarray(chunk.length);
    return chunk;
  };
}
