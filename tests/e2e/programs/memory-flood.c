// Allocates (and touches) 1 MiB at a time until malloc fails, then exits 3.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *volatile kept;
int main(void) {
  for (long mib = 0;; mib++) {
    char *block = malloc(1 << 20);
    if (block == NULL) {
      printf("malloc failed after %ld MiB\n", mib);
      return 3;
    }
    memset(block, 1, 1 << 20);
    kept = block; // escapes, so the compiler cannot drop the allocation
  }
}
