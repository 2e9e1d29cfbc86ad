/*
 * Linear regression: least-squares line through the points of /input/linear-regression.dat.
 *
 * Input:  /input/linear-regression.dat   n >= 2 points, each x then y as little-endian f64 (16 bytes a point).
 * Output: /output/linear-regression.dat  gradient then intercept as little-endian f64 (16 bytes).
 */
#include <math.h>

#include "vc_io.h"

int main(void) {
    size_t length;
    unsigned char *data = vc_read_file("/input/linear-regression.dat", &length);
    if (length % 16 != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "linear-regression.dat: %zu bytes is not a whole number of (x, y) f64 pairs", length);
    size_t n = length / 16;
    if (n < 2) vc_fail(VC_EXIT_MALFORMED_INPUT, "linear-regression.dat: need at least 2 points, got %zu", n);

    /* Centre on the means first: numerically sturdier than the one-pass sums of squares. */
    double sum_x = 0, sum_y = 0;
    for (size_t i = 0; i < n; i++) {
        double x = vc_get_f64(data + 16 * i), y = vc_get_f64(data + 16 * i + 8);
        if (!isfinite(x) || !isfinite(y)) vc_fail(VC_EXIT_MALFORMED_INPUT, "linear-regression.dat: point %zu is not finite", i);
        sum_x += x;
        sum_y += y;
    }
    double mean_x = sum_x / (double)n, mean_y = sum_y / (double)n;
    double covariance = 0, variance = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = vc_get_f64(data + 16 * i) - mean_x, dy = vc_get_f64(data + 16 * i + 8) - mean_y;
        covariance += dx * dy;
        variance += dx * dx;
    }
    if (variance == 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "linear-regression.dat: all x are equal, the gradient is undefined");

    double gradient = covariance / variance;
    double intercept = mean_y - gradient * mean_x;
    unsigned char out[16];
    vc_put_f64(out, gradient);
    vc_put_f64(out + 8, intercept);
    vc_write_file("/output/linear-regression.dat", out, sizeof out);
    free(data);
    return 0;
}
