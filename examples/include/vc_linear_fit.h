/*
 * The least-squares line through the points of a file (x then y, little-endian f64, 16 bytes a point),
 * centred on the means first: numerically sturdier than the one-pass sums of squares. A missing file ends
 * the program with VC_EXIT_MISSING_INPUT; fewer than 2 points, a point that is not finite, or x all
 * equal, with VC_EXIT_MALFORMED_INPUT.
 */
#ifndef VC_LINEAR_FIT_H
#define VC_LINEAR_FIT_H

#include <math.h>

#include "vc_io.h"

static void vc_linear_fit(const char *path, double *gradient, double *intercept) {
    size_t length;
    unsigned char *data = vc_try_read_file(path, &length);
    if (data == NULL) vc_fail(VC_EXIT_MISSING_INPUT, "cannot open %s: %s", path, strerror(errno));
    if (length % 16 != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "linear-regression.dat: %zu bytes is not a whole number of (x, y) f64 pairs", length);
    size_t n = length / 16;
    if (n < 2) vc_fail(VC_EXIT_MALFORMED_INPUT, "linear-regression.dat: need at least 2 points, got %zu", n);
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
    *gradient = covariance / variance;
    *intercept = mean_y - *gradient * mean_x;
    free(data);
}

#endif
