// Writes 1 MiB to stdout for ever, ignoring errors: a buggy program a policy may well permit.
#include <stdio.h>
#include <string.h>

static char block[1 << 20];

int main(void) {
  memset(block, 'x', sizeof block);
  for (;;) fwrite(block, 1, sizeof block, stdout);
}
