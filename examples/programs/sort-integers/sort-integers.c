/*
 * Sort integers: ascending order of unsigned 32-bit integers (least-significant-digit radix sort, 4 passes).
 *
 * Input:  /input/ints.bin     little-endian u32s.
 * Output: /output/sorted.bin  the same u32s in ascending order, little-endian.
 */
#include "vc_io.h"

int main(void) {
    size_t length;
    unsigned char *data = vc_read_file("/input/ints.bin", &length);
    if (length % 4 != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "ints.bin: %zu bytes is not a whole number of u32s", length);
    size_t n = length / 4;
    uint32_t *keys = vc_alloc(n * sizeof *keys), *scratch = vc_alloc(n * sizeof *scratch);
    for (size_t i = 0; i < n; i++) keys[i] = vc_get_u32(data + 4 * i);

    for (int shift = 0; shift < 32; shift += 8) {
        size_t offsets[256] = {0};
        for (size_t i = 0; i < n; i++) offsets[keys[i] >> shift & 0xff]++;
        size_t total = 0;
        for (int digit = 0; digit < 256; digit++) {
            size_t count = offsets[digit];
            offsets[digit] = total;
            total += count;
        }
        for (size_t i = 0; i < n; i++) scratch[offsets[keys[i] >> shift & 0xff]++] = keys[i];
        uint32_t *swap = keys;
        keys = scratch;
        scratch = swap;
    }

    for (size_t i = 0; i < n; i++) vc_put_u32(data + 4 * i, keys[i]);
    vc_write_file("/output/sorted.bin", data, length);
    return 0;
}
