/*
 * Linear regression: least-squares line through the points of /input/linear-regression.dat.
 *
 * Input:  /input/linear-regression.dat   n >= 2 points, each x then y as little-endian f64 (16 bytes a point).
 * Output: /output/linear-regression.dat  gradient then intercept as little-endian f64 (16 bytes).
 */
#include "vc_io.h"
#include "vc_linear_fit.h"

int main(void) {
    double gradient, intercept;
    vc_linear_fit("/input/linear-regression.dat", &gradient, &intercept);
    unsigned char out[16];
    vc_put_f64(out, gradient);
    vc_put_f64(out + 8, intercept);
    vc_write_file("/output/linear-regression.dat", out, sizeof out);
    return 0;
}
