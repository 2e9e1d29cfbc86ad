/*
 * Linear regression: least-squares line through the points of /input/linear-regression.dat.
 *
 * Input:  /input/linear-regression.dat   n >= 2 points, each x then y as little-endian f64 (16 bytes a point).
 * Output: /output/linear-regression.dat  gradient then intercept as little-endian f64 (16 bytes).
 */
#include "vc_io.h"
#include "vc_linear_fit.h"

int main(void) {
    size_t length;
    unsigned char *data = vc_read_file("/input/linear-regression.dat", &length);
    if (length % 16 != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "linear-regression.dat: %zu bytes is not a whole number of (x, y) f64 pairs", length);
    size_t n = length / 16;
    if (n < 2) vc_fail(VC_EXIT_MALFORMED_INPUT, "linear-regression.dat: need at least 2 points, got %zu", n);

    double gradient, intercept;
    vc_linear_fit(data, n, &gradient, &intercept);
    unsigned char out[16];
    vc_put_f64(out, gradient);
    vc_put_f64(out + 8, intercept);
    vc_write_file("/output/linear-regression.dat", out, sizeof out);
    free(data);
    return 0;
}
