/*
 * The stack high-water mark of a host process's main thread, for the size benchmark: loaded with
 * LD_PRELOAD into vc-embedded, it paints a region below the stack pointer before main, and at
 * exit writes to the file $VC_STACK_REPORT how deep the stack went, measured from the process's
 * entry (__libc_stack_end): main, the C library and the session together. (wolfSSL's heap is
 * counted by vc-embedded itself: --heap-stats.)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* How much of the stack below the constructor's frame is painted. */
#define PAINT_BYTES (512 * 1024)
/* Left unpainted right below the constructor's frame, for the frames of the calls it makes. */
#define PAINT_MARGIN 4096
#define PAINT_WORD UINT64_C(0xa5c3a5c3a5c3a5c3)

extern void *__libc_stack_end;

static uint64_t *painted_low;
static uint64_t *painted_high;

__attribute__((constructor)) static void paint_stack(void) {
  unsigned char *frame = __builtin_frame_address(0);
  painted_high = (uint64_t *)((uintptr_t)(frame - PAINT_MARGIN) & ~(uintptr_t)7);
  painted_low = painted_high - PAINT_BYTES / sizeof(uint64_t);
  for (volatile uint64_t *word = painted_low; word < painted_high; word++) *word = PAINT_WORD;
}

__attribute__((destructor)) static void report_stack(void) {
  const char *path = getenv("VC_STACK_REPORT");
  if (path == NULL) return;
  const uint64_t *deepest = painted_low;
  while (deepest < painted_high && *deepest == PAINT_WORD) deepest++;
  FILE *out = fopen(path, "w");
  if (out == NULL) return;
  /* A peak at the painted region's floor means the stack went deeper than the paint reaches. */
  fprintf(out, "{\"stackPeak\":%lu,\"paintedTo\":%lu,\"beyondPaint\":%s}\n",
          (unsigned long)((uintptr_t)__libc_stack_end - (uintptr_t)deepest),
          (unsigned long)((uintptr_t)__libc_stack_end - (uintptr_t)painted_low), deepest == painted_low ? "true" : "false");
  fclose(out);
}
