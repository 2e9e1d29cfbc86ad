// Appends 1 MiB at a time to one output file until a write fails, then reports how far it got.
#include <stdio.h>
#include <string.h>

static char block[1 << 20];

int main(void) {
  memset(block, 'a', sizeof block);
  FILE *out = fopen("/output/big.dat", "a");
  if (out == NULL) return 2;
  setvbuf(out, NULL, _IONBF, 0);
  long blocks = 0;
  while (fwrite(block, 1, sizeof block, out) == sizeof block) blocks++;
  perror("append");
  fprintf(stderr, "appended %ld MiB\n", blocks);
  fclose(out);
  return 0;
}
