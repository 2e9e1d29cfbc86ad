/*
 * Regression reduce: sums the sufficient statistics regression-map wrote for each shard and solves the normal
 * equations X'X b = X'y (Cholesky), giving the least-squares coefficients over every shard's rows together.
 *
 * Inputs:  /input/stats/<name>  every file there: a regression-map /output/stats.dat (see regression-map.c); all
 *          must have the same d and column names.
 * Outputs: /output/coefficients.dat  little-endian: n u64 (rows in all), partials u32, then d+1 f64
 *          (intercept first, then x1..xd in column order);
 *          /output/coefficients.txt  one line a coefficient: "intercept = <value>" then "<column name> = <value>",
 *          values printed with 17 significant digits.
 */
#include <math.h>

#include "vc_io.h"

#define STATS_DIRECTORY "/input/stats"
#define MAX_FEATURES 1024
/* A pivot below this fraction of its diagonal entry means the column is (numerically) a combination of those
 * before it: 1 - R^2 of regressing it on them is under 1e-10. */
#define SINGULAR_RATIO 1e-10

/* One partial's contents (pointers into the file's bytes), or the running totals. */
struct partial {
    uint32_t d;
    uint64_t n;
    const unsigned char *sums;  /* X'X, X'y, y'y: (d+1)^2 + (d+1) + 1 f64 */
    const unsigned char *names; /* d+1 names: u32 length then bytes */
    size_t names_length;
};

/* Checks the layout of partial `path` (length `length`) and finds its parts; malformed ends the program. */
static struct partial parse_partial(const char *path, const unsigned char *data, size_t length) {
    struct partial partial;
    if (length < 16 || memcmp(data, "VRS1", 4) != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: not a regression-map statistics file", path);
    partial.d = vc_get_u32(data + 4);
    partial.n = vc_get_u64(data + 8);
    if (partial.d > MAX_FEATURES) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: d = %u is more than %d features", path, partial.d, MAX_FEATURES);
    size_t k = partial.d + 1, values = k * k + k + 1, offset = 16 + 8 * values;
    if (length < offset) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: truncated (%zu bytes)", path, length);
    partial.sums = data + 16;
    for (size_t i = 0; i < values; i++) {
        if (!isfinite(vc_get_f64(partial.sums + 8 * i))) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: sum %zu is not finite", path, i);
    }
    partial.names = data + offset;
    for (size_t c = 0; c < k; c++) {
        if (length - offset < 4 || length - offset - 4 < vc_get_u32(data + offset)) {
            vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: truncated in the name of column %zu", path, c + 1);
        }
        offset += 4 + vc_get_u32(data + offset);
    }
    if (offset != length) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: %zu bytes after the column names", path, length - offset);
    partial.names_length = (size_t)(data + offset - partial.names);
    return partial;
}

/*
 * Solves A b = r for symmetric positive definite A (k x k, its lower triangle overwritten by the Cholesky factor
 * L, A = L L'; r overwritten). Column 0 is the intercept's, so its pivot is n > 0.
 */
static void solve_cholesky(double *a, double *r, double *b, size_t k) {
    for (size_t j = 0; j < k; j++) {
        double diagonal = a[j * k + j], pivot = diagonal;
        for (size_t p = 0; p < j; p++) pivot -= a[j * k + p] * a[j * k + p];
        if (!(pivot > SINGULAR_RATIO * diagonal)) {
            vc_fail(VC_EXIT_MALFORMED_INPUT, "the normal equations are singular: feature %zu is constant or a linear combination of the features before it (or there are fewer rows than coefficients)", j);
        }
        a[j * k + j] = sqrt(pivot);
        for (size_t i = j + 1; i < k; i++) {
            double value = a[i * k + j];
            for (size_t p = 0; p < j; p++) value -= a[i * k + p] * a[j * k + p];
            a[i * k + j] = value / a[j * k + j];
        }
    }
    for (size_t i = 0; i < k; i++) { /* L w = r, w in r */
        for (size_t p = 0; p < i; p++) r[i] -= a[i * k + p] * r[p];
        r[i] /= a[i * k + i];
    }
    for (size_t i = k; i-- > 0;) { /* L' b = w */
        double value = r[i];
        for (size_t p = i + 1; p < k; p++) value -= a[p * k + i] * b[p];
        b[i] = value / a[i * k + i];
    }
}

int main(void) {
    size_t count;
    char **files = vc_list_directory(STATS_DIRECTORY, &count, VC_EXIT_MISSING_INPUT);
    if (count == 0) vc_fail(VC_EXIT_MISSING_INPUT, STATS_DIRECTORY " holds no partials");

    struct partial first = {0};
    const char *first_path = NULL;
    double *totals = NULL; /* X'X, X'y, y'y summed */
    uint64_t n = 0;
    size_t k = 0, values = 0;
    for (size_t f = 0; f < count; f++) {
        char *path = vc_alloc(strlen(files[f]) + sizeof STATS_DIRECTORY + 1);
        sprintf(path, STATS_DIRECTORY "/%s", files[f]);
        size_t length;
        unsigned char *data = vc_read_file(path, &length);
        struct partial partial = parse_partial(path, data, length);
        if (totals == NULL) {
            first = partial;
            first_path = path;
            k = partial.d + 1;
            values = k * k + k + 1;
            totals = calloc(values, sizeof *totals);
            if (totals == NULL) vc_fail(VC_EXIT_FAILURE, "out of memory");
        } else if (partial.d != first.d) {
            vc_fail(VC_EXIT_MALFORMED_INPUT, "%s has d = %u features, %s has %u", path, partial.d, first_path, first.d);
        } else if (partial.names_length != first.names_length || memcmp(partial.names, first.names, first.names_length) != 0) {
            vc_fail(VC_EXIT_MALFORMED_INPUT, "%s names its columns differently from %s", path, first_path);
        }
        if (partial.n > UINT64_MAX - n) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: the row counts overflow", path);
        n += partial.n;
        for (size_t i = 0; i < values; i++) totals[i] += vc_get_f64(partial.sums + 8 * i);
        /* The first partial's bytes stay: its names label the coefficients. */
        if (f > 0) { free(data); free(path); }
    }

    if (n == 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "the partials hold no rows");
    double *coefficients = vc_alloc(k * sizeof *coefficients);
    solve_cholesky(totals, totals + k * k, coefficients, k);

    size_t length = 12 + 8 * k;
    unsigned char *out = vc_alloc(length);
    vc_put_u64(out, n);
    vc_put_u32(out + 8, (uint32_t)count);
    for (size_t i = 0; i < k; i++) vc_put_f64(out + 12 + 8 * i, coefficients[i]);

    /* Text: each line is at most a name (< the partial's size), " = " and a %.17g number. */
    char *text = vc_alloc(first.names_length + 40 * (k + 1)), *line = text;
    line += sprintf(line, "intercept = %.17g\n", coefficients[0]);
    const unsigned char *name = first.names;
    for (size_t i = 1; i < k; i++) {
        uint32_t name_length = vc_get_u32(name);
        memcpy(line, name + 4, name_length);
        line += name_length;
        line += sprintf(line, " = %.17g\n", coefficients[i]);
        name += 4 + name_length;
    }
    vc_write_file("/output/coefficients.dat", out, length);
    vc_write_file("/output/coefficients.txt", text, (size_t)(line - text));
    return 0;
}
