// A well-behaved run: writes one small output file and exits 0.
#include <stdio.h>

int main(void) {
  FILE *out = fopen("/output/ok.txt", "w");
  if (out == NULL) return 1;
  fputs("ok\n", out);
  return fclose(out) == 0 ? 0 : 1;
}
