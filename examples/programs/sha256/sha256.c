/*
 * SHA-256 of a (large) input, read in 1 MiB chunks.
 *
 * Input:  /input/data.bin  any bytes.
 * Output: stdout           the digest in lowercase hex, then '\n'.
 */
#include "vc_io.h"
#include "vc_sha256.h"

int main(void) {
    FILE *input = fopen("/input/data.bin", "rb");
    if (input == NULL) vc_fail(VC_EXIT_MISSING_INPUT, "cannot open /input/data.bin: %s", strerror(errno));
    uint32_t state[8];
    vc_sha256_init(state);
    enum { CHUNK = 1 << 20 };
    unsigned char *buffer = vc_alloc(CHUNK + 128);
    uint64_t total = 0;
    size_t pending = 0; /* bytes in buffer not yet compressed (< 64 between reads) */
    for (;;) {
        size_t got = fread(buffer + pending, 1, CHUNK, input);
        if (got == 0) break;
        total += got;
        pending = vc_sha256_update(state, buffer, pending + got);
    }
    if (ferror(input)) vc_fail(VC_EXIT_MISSING_INPUT, "cannot read /input/data.bin: %s", strerror(errno));
    fclose(input);

    vc_sha256_finish(state, buffer, pending, total);

    for (int i = 0; i < 8; i++) printf("%08x", state[i]);
    putchar('\n');
    return fflush(stdout) == 0 ? 0 : VC_EXIT_OUTPUT_FAILED;
}
