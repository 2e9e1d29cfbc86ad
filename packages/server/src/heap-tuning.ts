import { setFlagsFromString } from 'node:v8';

/** The V8 flag {@link countBufferMemoryInHeapLimit} sets. */
export const BUFFER_MEMORY_FLAG = '--external-memory-accounted-in-global-limit';

/**
 * Makes V8 count ArrayBuffer memory in the heap's global limit instead of starting a full mark for
 * every 64 MiB of it. A process that moves bulk TLS data allocates an ArrayBuffer for nearly every
 * piece of it (socket reads, TLS records), so with the default a 1 GiB transfer runs a full
 * collection every few milliseconds, and concurrent marking takes about a third of two cores.
 * Process-wide: for process entry points (vc-server's, benchmarks), never called by a library.
 */
export function countBufferMemoryInHeapLimit(): void {
  setFlagsFromString(BUFFER_MEMORY_FLAG);
}
