// Creates 1 MiB files in a loop, ignoring every error.
#include <stdio.h>
#include <string.h>

static char block[1 << 20];

int main(void) {
  memset(block, 'f', sizeof block);
  char name[64];
  for (long i = 0;; i++) {
    snprintf(name, sizeof name, "/output/f%ld.dat", i);
    FILE *out = fopen(name, "w");
    if (out == NULL) continue;
    fwrite(block, 1, sizeof block, out);
    fclose(out);
  }
}
