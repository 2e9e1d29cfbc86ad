/*
 * Audio triangulation: where and when a sound was made, from the times microphones at known positions heard it
 * (time difference of arrival, speed of sound 343 m/s, in a plane).
 *
 * Inputs: /input/device-1.dat, /input/device-2.dat, ...  read until the next one is missing, at least 3; each is
 *         x f64, y f64 (the device's position, metres) then t f64 (when it heard the event, seconds on a clock
 *         every device shares), little-endian, 24 bytes.
 * Output: /output/position.dat  x f64, y f64, t0 f64: the event's position and the time it was made.
 *
 * The event at s, made at t0, reaches device i at t_i = t0 + |s - p_i| / c. The program finds s and t0 with the
 * least squares of the range residuals |s - p_i| - c (t_i - t0), which all vanish with three devices:
 *  1. A start. With the earliest device m at the origin, q_i = p_i - p_m, rho_i = c (t_i - t_m) and the unknown
 *     d = c (t_m - t0) = |s|, squaring |s - q_i| = rho_i + d and subtracting |s| = d leaves equations linear in
 *     (s, d): 2 q_i.s + 2 rho_i d = |q_i|^2 - rho_i^2. With four devices or more these fix s and d (least
 *     squares). With three, or when d drops out (an event equidistant from every device), they give the line
 *     s = a + b d, and |a + b d| = d picks d: a quadratic. Its two roots can both fit; the program takes the
 *     smaller d, the later event, which is the right one whenever the event is inside the devices' convex hull
 *     (a point with every distance shorter by the same amount lies on one side of all the devices).
 *  2. Gauss-Newton on the range residuals from there, halving a step that does not lower their squares.
 */
#include <math.h>

#include "vc_io.h"

#define SPEED_OF_SOUND 343.0
#define MAX_DEVICES 1024
/* Devices whose spread across their widest direction is under 1e-5 of the spread along it are on one line. */
#define COLLINEAR_RATIO 1e-10
/* The d column of the linear equations fixes d when the part of it the s columns do not explain is above this
 * share of its squared length; below, d has dropped out. */
#define INDEPENDENT_RATIO 1e-10
#define MAX_ITERATIONS 100

struct device {
    double x, y, t;
};

/* The devices' readings, shifted so that the earliest is at the origin at time 0 (the solve works there). */
static struct device devices[MAX_DEVICES];
static size_t device_count;

/* Reads /input/device-1.dat, -2.dat, ... until one is missing; fewer than 3 or malformed ends the program. */
static void read_devices(void) {
    for (;;) {
        char path[64];
        snprintf(path, sizeof path, "/input/device-%zu.dat", device_count + 1);
        size_t length;
        unsigned char *data = vc_try_read_file(path, &length);
        if (data == NULL) {
            if (device_count >= 3) return;
            vc_fail(VC_EXIT_MISSING_INPUT, "need at least 3 devices, found %zu: cannot open %s: %s", device_count, path, strerror(errno));
        }
        if (device_count == MAX_DEVICES) vc_fail(VC_EXIT_MALFORMED_INPUT, "more than %d devices", MAX_DEVICES);
        if (length != 24) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: %zu bytes, expected 24 (x, y, t as f64)", path, length);
        struct device device = {vc_get_f64(data), vc_get_f64(data + 8), vc_get_f64(data + 16)};
        free(data);
        if (!isfinite(device.x) || !isfinite(device.y) || !isfinite(device.t)) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: a value is not finite", path);
        devices[device_count++] = device;
    }
}

/* Solves the 3 x 3 system a v = r (Gaussian elimination, partial pivoting; a and r are overwritten). */
static int solve3(double a[3][3], double r[3], double v[3]) {
    for (int c = 0; c < 3; c++) {
        int pivot = c;
        for (int i = c + 1; i < 3; i++) if (fabs(a[i][c]) > fabs(a[pivot][c])) pivot = i;
        if (a[pivot][c] == 0) return 0;
        for (int k = 0; k < 3; k++) { double swap = a[c][k]; a[c][k] = a[pivot][k]; a[pivot][k] = swap; }
        double swap = r[c]; r[c] = r[pivot]; r[pivot] = swap;
        for (int i = c + 1; i < 3; i++) {
            double factor = a[i][c] / a[c][c];
            for (int k = c; k < 3; k++) a[i][k] -= factor * a[c][k];
            r[i] -= factor * r[c];
        }
    }
    for (int i = 2; i >= 0; i--) {
        double sum = r[i];
        for (int k = i + 1; k < 3; k++) sum -= a[i][k] * v[k];
        v[i] = sum / a[i][i];
    }
    return 1;
}

/* The smallest d >= 0 with |a + b d| = d, or -1 if there is none. */
static double smallest_distance(const double a[2], const double b[2]) {
    double alpha = b[0] * b[0] + b[1] * b[1] - 1, beta = a[0] * b[0] + a[1] * b[1], gamma = a[0] * a[0] + a[1] * a[1];
    double discriminant = beta * beta - alpha * gamma;
    /* A double root (the event on the edge of where two positions fit) can round to just below zero. */
    if (discriminant < 0 && discriminant >= -1e-12 * (beta * beta + fabs(alpha * gamma))) discriminant = 0;
    if (discriminant < 0) return -1;
    /* alpha d^2 + 2 beta d + gamma = 0, roots q / alpha and gamma / q without cancellation. */
    double q = -(beta + copysign(sqrt(discriminant), beta)), best = -1;
    double roots[2] = {alpha != 0 ? q / alpha : -1, q != 0 ? gamma / q : (gamma == 0 ? 0 : -1)};
    for (int i = 0; i < 2; i++) {
        if (roots[i] >= 0 && isfinite(roots[i]) && (best < 0 || roots[i] < best)) best = roots[i];
    }
    return best;
}

/* Sum of the squared range residuals |s - q_i| - rho_i - d at (x, y, d). */
static double cost(const double v[3]) {
    double sum = 0;
    for (size_t i = 0; i < device_count; i++) {
        double residual = hypot(v[0] - devices[i].x, v[1] - devices[i].y) - SPEED_OF_SOUND * devices[i].t - v[2];
        sum += residual * residual;
    }
    return sum;
}

int main(void) {
    read_devices();
    size_t earliest = 0;
    for (size_t i = 1; i < device_count; i++) if (devices[i].t < devices[earliest].t) earliest = i;
    struct device origin = devices[earliest];
    double scale = 0;
    for (size_t i = 0; i < device_count; i++) {
        devices[i].x -= origin.x;
        devices[i].y -= origin.y;
        devices[i].t -= origin.t;
        scale = fmax(scale, hypot(devices[i].x, devices[i].y));
    }

    /* Step 1: the linear equations' normal matrix in (x, y, d) and right-hand side. */
    double normal[3][3] = {{0}}, right[3] = {0};
    for (size_t i = 0; i < device_count; i++) {
        double rho = SPEED_OF_SOUND * devices[i].t;
        double row[3] = {2 * devices[i].x, 2 * devices[i].y, 2 * rho};
        double value = devices[i].x * devices[i].x + devices[i].y * devices[i].y - rho * rho;
        for (int j = 0; j < 3; j++) {
            right[j] += row[j] * value;
            for (int k = 0; k < 3; k++) normal[j][k] += row[j] * row[k];
        }
    }
    double determinant = normal[0][0] * normal[1][1] - normal[0][1] * normal[1][0], trace = normal[0][0] + normal[1][1];
    if (!(determinant > COLLINEAR_RATIO * trace * trace)) {
        vc_fail(VC_EXIT_MALFORMED_INPUT, "the devices are on one line (or at one point): their times cannot place the event");
    }
    /* s = a + b d, the least-squares s for a given d. */
    double a[2] = {(normal[1][1] * right[0] - normal[0][1] * right[1]) / determinant,
                   (normal[0][0] * right[1] - normal[1][0] * right[0]) / determinant};
    double b[2] = {-(normal[1][1] * normal[0][2] - normal[0][1] * normal[1][2]) / determinant,
                   -(normal[0][0] * normal[1][2] - normal[1][0] * normal[0][2]) / determinant};
    /* What of the d column the s columns do not explain (Schur complement): zero with three devices. */
    double independent = normal[2][2] + normal[2][0] * b[0] + normal[2][1] * b[1];
    double d;
    if (device_count > 3 && independent > INDEPENDENT_RATIO * normal[2][2]) {
        d = (right[2] - normal[2][0] * a[0] - normal[2][1] * a[1]) / independent;
    } else {
        d = smallest_distance(a, b);
        if (d < 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "no position fits the arrival times");
    }
    double v[3] = {a[0] + b[0] * d, a[1] + b[1] * d, d};

    /* Step 2: Gauss-Newton. */
    double current = cost(v);
    int converged = 0;
    for (int iteration = 0; iteration < MAX_ITERATIONS && !converged; iteration++) {
        double jtj[3][3] = {{0}}, jtr[3] = {0}, step[3];
        for (size_t i = 0; i < device_count; i++) {
            double dx = v[0] - devices[i].x, dy = v[1] - devices[i].y, distance = hypot(dx, dy);
            double row[3] = {distance > 0 ? dx / distance : 0, distance > 0 ? dy / distance : 0, -1};
            double residual = distance - SPEED_OF_SOUND * devices[i].t - v[2];
            for (int j = 0; j < 3; j++) {
                jtr[j] -= row[j] * residual;
                for (int k = 0; k < 3; k++) jtj[j][k] += row[j] * row[k];
            }
        }
        /* Singular only when every device lies on one of two rays from the point; three devices are then already
         * at their exact solution, and more hardly ever get there. */
        if (!solve3(jtj, jtr, step)) {
            converged = 1;
            break;
        }
        double fraction = 1, trial[3] = {0}, next = INFINITY;
        for (int halving = 0; halving < 40; halving++, fraction /= 2) {
            for (int j = 0; j < 3; j++) trial[j] = v[j] + fraction * step[j];
            next = cost(trial);
            if (next < current) break;
        }
        double moved = fraction * sqrt(step[0] * step[0] + step[1] * step[1] + step[2] * step[2]);
        /* No step lowers the cost any more, or the last one was at the level of rounding: a minimum. */
        if (!(next < current) || moved <= 1e-13 * (scale + fabs(v[2]))) converged = 1;
        if (next < current) {
            memcpy(v, trial, sizeof v);
            current = next;
        }
    }
    if (!converged || !isfinite(current)) vc_fail(VC_EXIT_MALFORMED_INPUT, "no position fits the arrival times: the least-squares fit does not converge");

    unsigned char out[24];
    vc_put_f64(out, origin.x + v[0]);
    vc_put_f64(out + 8, origin.y + v[1]);
    vc_put_f64(out + 16, origin.t - v[2] / SPEED_OF_SOUND);
    vc_write_file("/output/position.dat", out, sizeof out);
    return 0;
}
