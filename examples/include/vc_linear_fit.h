/*
 * The least-squares line through n points (x then y, little-endian f64, 16 bytes a point), centred on
 * the means first: numerically sturdier than the one-pass sums of squares. A point that is not finite,
 * or x all equal, ends the program with VC_EXIT_MALFORMED_INPUT.
 */
#ifndef VC_LINEAR_FIT_H
#define VC_LINEAR_FIT_H

#include <math.h>

#include "vc_io.h"

static void vc_linear_fit(const unsigned char *data, size_t n, double *gradient, double *intercept) {
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
}

#endif
