import { randomFillSync } from 'node:crypto';
import { Errno } from '../../vfs/errno.ts';
import { nowNanoseconds } from '../clock.ts';
import type { GuestMemory } from '../guest-memory.ts';
import { defineSystemCalls } from '../system-call-handler.ts';

/** Stores how many strings there are and their total size (with their NULs). */
function putSizes(memory: GuestMemory, strings: readonly Uint8Array[], countPointer: number, sizePointer: number): number {
  memory.u32(countPointer, strings.length);
  memory.u32(sizePointer, strings.reduce((sum, item) => sum + item.length, 0));
  return Errno.SUCCESS;
}

/** Copies the strings one after another from `buffer`, their addresses into the array at `pointers`. */
function putStrings(memory: GuestMemory, strings: readonly Uint8Array[], pointers: number, buffer: number): number {
  let at = buffer;
  strings.forEach((item, index) => {
    memory.u32(pointers + index * 4, at);
    memory.range(at, item.length).set(item);
    at += item.length;
  });
  return Errno.SUCCESS;
}

/**
 * What a program reads of the world it runs in: its arguments and environment, the clocks (only
 * where the policy enables them: EACCES otherwise) and random bytes.
 */
export const ENVIRONMENT_CALLS = defineSystemCalls({
  args_get: (context, argv, buffer) => putStrings(context.memory, context.args, argv, buffer),
  args_sizes_get: (context, count, size) => putSizes(context.memory, context.args, count, size),
  environ_get: (context, environ, buffer) => putStrings(context.memory, context.env, environ, buffer),
  environ_sizes_get: (context, count, size) => putSizes(context.memory, context.env, count, size),

  clock_res_get: (context, id, result) => {
    if (!context.enableClock) return Errno.ACCES;
    if (id > 3) return Errno.INVAL;
    context.memory.u64(result, 1000n);
    return Errno.SUCCESS;
  },
  clock_time_get: (context, id, _precision, result) => {
    if (!context.enableClock) return Errno.ACCES;
    if (id === 0) context.memory.u64(result, nowNanoseconds());
    else if (id === 1) context.memory.u64(result, process.hrtime.bigint());
    else if (id === 2 || id === 3) context.memory.u64(result, BigInt(Math.round(performance.now() * 1e6)));
    else return Errno.INVAL;
    return Errno.SUCCESS;
  },

  random_get: (context, pointer, length) => {
    const target = context.memory.range(pointer, length);
    const random = new Uint8Array(target.length);
    randomFillSync(random);
    target.set(random);
    return Errno.SUCCESS;
  },
});
