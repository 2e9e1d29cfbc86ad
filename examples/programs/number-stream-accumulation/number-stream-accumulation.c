/*
 * Number-stream accumulation: a running sum over two streams that grow between runs. The state is kept in
 * the output file, so each run consumes only the numbers appended since the previous one.
 *
 * Inputs:  /input/number-stream-init.dat  the starting value, one little-endian f64 (read only on the first run).
 *          /input/number-stream-1.dat, /input/number-stream-2.dat  appended little-endian f64s.
 * State and output: /output/accumulation.dat  count consumed from each stream (u64) then the sum (f64), 16 bytes.
 *
 * A run adds the pairs (stream1[i], stream2[i]) for i from the stored count up to the shorter stream's length:
 * sum = (sum + stream1[i]) + stream2[i], in order. With nothing new the state is rewritten unchanged.
 */
#include <math.h>

#include "vc_io.h"

int main(void) {
    uint64_t count;
    double sum;
    size_t length;
    unsigned char *state = vc_try_read_file("/output/accumulation.dat", &length);
    if (state != NULL) {
        if (length != 16) vc_fail(VC_EXIT_MALFORMED_INPUT, "accumulation.dat: %zu bytes, expected 16", length);
        count = vc_get_u64(state);
        sum = vc_get_f64(state + 8);
        free(state);
    } else {
        unsigned char *init = vc_read_file("/input/number-stream-init.dat", &length);
        if (length != 8) vc_fail(VC_EXIT_MALFORMED_INPUT, "number-stream-init.dat: %zu bytes, expected one f64 (8)", length);
        count = 0;
        sum = vc_get_f64(init);
        free(init);
    }

    size_t length1, length2;
    unsigned char *stream1 = vc_read_file("/input/number-stream-1.dat", &length1);
    unsigned char *stream2 = vc_read_file("/input/number-stream-2.dat", &length2);
    if (length1 % 8 != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "number-stream-1.dat: %zu bytes is not a whole number of f64s", length1);
    if (length2 % 8 != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "number-stream-2.dat: %zu bytes is not a whole number of f64s", length2);
    uint64_t available = (length1 < length2 ? length1 : length2) / 8;
    if (count > available) vc_fail(VC_EXIT_MALFORMED_INPUT, "accumulation.dat: count %llu exceeds the %llu numbers in the streams", (unsigned long long)count, (unsigned long long)available);

    for (; count < available; count++) {
        sum = sum + vc_get_f64(stream1 + 8 * count);
        sum = sum + vc_get_f64(stream2 + 8 * count);
    }
    if (!isfinite(sum)) vc_fail(VC_EXIT_MALFORMED_INPUT, "the sum is not finite");

    unsigned char out[16];
    vc_put_u64(out, count);
    vc_put_f64(out + 8, sum);
    vc_write_file("/output/accumulation.dat", out, sizeof out);
    return 0;
}
