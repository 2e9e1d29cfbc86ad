/*
 * Moving-average convergence/divergence (MACD) of every price series in /input/macd/.
 *
 * Inputs:  /input/macd/<name>  one series a file: n >= 1 prices, little-endian f64 each.
 * Outputs: /output/macd/<name> for each input, n records of three little-endian f64s (24 bytes):
 *          macd = EMA12 - EMA26, signal = EMA9 of macd, histogram = macd - signal.
 * EMA_N uses alpha = 2 / (N + 1) and starts at the first value: e_0 = v_0, e_t = e_{t-1} + alpha (v_t - e_{t-1}).
 */
#include <math.h>
#include <sys/stat.h>

#include "vc_io.h"

static void macd_file(const char *name) {
    char input_path[512], output_path[512];
    snprintf(input_path, sizeof input_path, "/input/macd/%s", name);
    snprintf(output_path, sizeof output_path, "/output/macd/%s", name);
    size_t length;
    unsigned char *data = vc_read_file(input_path, &length);
    if (length == 0 || length % 8 != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: %zu bytes is not a non-empty series of f64s", input_path, length);
    size_t n = length / 8;
    unsigned char *out = vc_alloc(n * 24);
    const double fast_alpha = 2.0 / 13.0, slow_alpha = 2.0 / 27.0, signal_alpha = 2.0 / 10.0;
    double fast = 0, slow = 0, signal = 0;
    for (size_t t = 0; t < n; t++) {
        double price = vc_get_f64(data + 8 * t);
        if (!isfinite(price)) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: price %zu is not finite", input_path, t);
        if (t == 0) {
            fast = slow = price;
        } else {
            fast += fast_alpha * (price - fast);
            slow += slow_alpha * (price - slow);
        }
        double macd = fast - slow;
        signal = t == 0 ? macd : signal + signal_alpha * (macd - signal);
        vc_put_f64(out + 24 * t, macd);
        vc_put_f64(out + 24 * t + 8, signal);
        vc_put_f64(out + 24 * t + 16, macd - signal);
    }
    vc_write_file(output_path, out, n * 24);
    free(out);
    free(data);
}

int main(void) {
    size_t count;
    char **names = vc_list_directory("/input/macd", &count, VC_EXIT_MISSING_INPUT);
    if (count == 0) vc_fail(VC_EXIT_MISSING_INPUT, "/input/macd holds no series");

    if (mkdir("/output/macd", 0755) != 0 && errno != EEXIST) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot create /output/macd: %s", strerror(errno));
    for (size_t i = 0; i < count; i++) macd_file(names[i]);
    return 0;
}
