/*
 * Logistic regression trained by full-batch gradient descent.
 *
 * Input:  /input/logistic-regression.dat
 *         header: n samples (u32), d features (u32), iterations (u32), learning rate (f64), all little-endian;
 *         then n samples, each d features then a label (0 or 1), as f64 (8 (d + 1) bytes a sample).
 * Output: /output/logistic-regression.dat  d + 1 weights as little-endian f64: the bias, then one a feature.
 *
 * Each iteration: for every sample, p = sigmoid(w0 + sum_k w_k x_k); gradient_k += (p - y) x_k (x_0 = 1);
 * then w_k -= rate * gradient_k / n.
 */
#include <math.h>

#include "vc_io.h"

int main(void) {
    size_t length;
    unsigned char *data = vc_read_file("/input/logistic-regression.dat", &length);
    if (length < 20) vc_fail(VC_EXIT_MALFORMED_INPUT, "logistic-regression.dat: %zu bytes is shorter than the 20-byte header", length);
    uint32_t n = vc_get_u32(data), d = vc_get_u32(data + 4), iterations = vc_get_u32(data + 8);
    double rate = vc_get_f64(data + 12);
    if (n == 0 || d == 0 || d > 4096) vc_fail(VC_EXIT_MALFORMED_INPUT, "logistic-regression.dat: need n >= 1 and 1 <= d <= 4096, got n = %u, d = %u", n, d);
    if (!(rate > 0) || !isfinite(rate)) vc_fail(VC_EXIT_MALFORMED_INPUT, "logistic-regression.dat: learning rate must be positive");
    size_t stride = (size_t)d + 1;
    uint64_t expected = (uint64_t)n * stride * 8;
    if ((uint64_t)(length - 20) != expected) {
        vc_fail(VC_EXIT_MALFORMED_INPUT, "logistic-regression.dat: %zu bytes of samples, expected %llu", length - 20, (unsigned long long)expected);
    }

    double *samples = vc_alloc((size_t)n * stride * sizeof *samples);
    for (size_t i = 0; i < (size_t)n * stride; i++) samples[i] = vc_get_f64(data + 20 + 8 * i);
    free(data);
    for (size_t i = 0; i < n; i++) {
        double label = samples[i * stride + d];
        if (label != 0 && label != 1) vc_fail(VC_EXIT_MALFORMED_INPUT, "logistic-regression.dat: label of sample %zu is not 0 or 1", i);
        for (size_t k = 0; k < d; k++) {
            if (!isfinite(samples[i * stride + k])) vc_fail(VC_EXIT_MALFORMED_INPUT, "logistic-regression.dat: feature %zu of sample %zu is not finite", k, i);
        }
    }

    double *weights = vc_alloc(stride * sizeof *weights), *gradient = vc_alloc(stride * sizeof *gradient);
    memset(weights, 0, stride * sizeof *weights);
    for (uint32_t iteration = 0; iteration < iterations; iteration++) {
        memset(gradient, 0, stride * sizeof *gradient);
        for (size_t i = 0; i < n; i++) {
            const double *x = samples + i * stride;
            double z = weights[0];
            for (size_t k = 0; k < d; k++) z += weights[k + 1] * x[k];
            double error = 1.0 / (1.0 + exp(-z)) - x[d];
            gradient[0] += error;
            for (size_t k = 0; k < d; k++) gradient[k + 1] += error * x[k];
        }
        for (size_t k = 0; k < stride; k++) weights[k] -= rate * gradient[k] / n;
    }

    unsigned char *out = vc_alloc(stride * 8);
    for (size_t k = 0; k < stride; k++) vc_put_f64(out + 8 * k, weights[k]);
    vc_write_file("/output/logistic-regression.dat", out, stride * 8);
    return 0;
}
