/*
 * Regression map: the sufficient statistics of a least-squares linear regression (with an intercept) over one
 * shard of records, for regression-reduce to combine with the other shards'.
 *
 * Input:  /input/records.csv  a header line naming the columns (features x1..xd, then the outcome y), then one
 *         row a line: d + 1 decimal numbers separated by ','. Numbers are [+-]digits[.digits][(e|E)[+-]digits]
 *         (digits may be missing on one side of the point), spaces and tabs around a field are ignored, lines
 *         end in "\n" or "\r\n" and empty lines are skipped. Read in 1 MiB chunks; a line may not be longer.
 * Output: /output/stats.dat  little-endian: magic "VRS1", d u32, n u64, X'X ((d+1)^2 f64, row-major, column 0
 *         the intercept's 1s), X'y (d+1 f64), y'y f64, then the d+1 column names (features then outcome), each
 *         a u32 byte length then UTF-8 bytes.
 */
#include <math.h>

#include "vc_io.h"

#define INPUT "/input/records.csv"
#define OUTPUT "/output/stats.dat"
#define MAX_COLUMNS 1025 /* d <= 1024 features, plus the outcome */

enum { CHUNK = 1 << 20 };

/* Exactly representable powers of ten: a product or quotient with them rounds once (Clinger's fast path). */
static const double POWERS_OF_TEN[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                         1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/*
 * Parses the decimal number in [p, end) into *out, rounded exactly as strtod rounds it. Returns 0 if the text
 * is not a number of the grammar above. Up to 15 significant digits and a power of ten within 10^±22 take
 * the fast path; anything else goes to strtod.
 */
static int parse_number(const char *p, const char *end, double *out) {
    const char *start = p;
    int negative = 0;
    if (p < end && (*p == '+' || *p == '-')) negative = *p++ == '-';
    uint64_t mantissa = 0;
    int digits = 0, significant = 0, exponent = 0;
    for (; p < end && is_digit(*p); p++, digits++) {
        if (mantissa > 0 || *p != '0') significant++;
        if (significant <= 15) mantissa = mantissa * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && *p == '.') {
        for (p++; p < end && is_digit(*p); p++, digits++) {
            if (mantissa > 0 || *p != '0') significant++;
            if (significant <= 15) { mantissa = mantissa * 10 + (uint64_t)(*p - '0'); exponent--; }
        }
    }
    if (digits == 0) return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int exponent_negative = 0, exponent_digits = 0, written = 0;
        if (p < end && (*p == '+' || *p == '-')) exponent_negative = *p++ == '-';
        for (; p < end && is_digit(*p); p++, exponent_digits++) {
            if (written < 100000) written = written * 10 + (*p - '0');
        }
        if (exponent_digits == 0) return 0;
        exponent += exponent_negative ? -written : written;
    }
    if (p != end) return 0;

    if (significant <= 15 && exponent >= -22 && exponent <= 22) {
        double value = (double)mantissa;
        value = exponent < 0 ? value / POWERS_OF_TEN[-exponent] : value * POWERS_OF_TEN[exponent];
        *out = negative ? -value : value;
        return 1;
    }
    size_t length = (size_t)(end - start);
    char small[64];
    char *text = length < sizeof small ? small : vc_alloc(length + 1);
    memcpy(text, start, length);
    text[length] = '\0';
    *out = strtod(text, NULL);
    if (text != small) free(text);
    return 1;
}

static const char *skip_blanks(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    return p;
}

static const char *trim_blanks(const char *start, const char *end) {
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    return end;
}

/* The column names from the header line, and the running sums. */
struct statistics {
    uint32_t columns; /* d + 1 */
    char *names[MAX_COLUMNS];
    size_t name_lengths[MAX_COLUMNS];
    uint64_t n;
    double *sums; /* upper triangle of z z' summed over the rows, z = (1, x1..xd, y): (d+2) x (d+2) row-major */
    double *z;
};

static void read_header(struct statistics *stats, const char *line, const char *end, size_t line_number) {
    stats->columns = 0;
    for (const char *field = line;; field++) {
        const char *comma = memchr(field, ',', (size_t)(end - field));
        const char *field_end = comma == NULL ? end : comma;
        const char *name = skip_blanks(field, field_end), *name_end = trim_blanks(name, field_end);
        if (stats->columns == MAX_COLUMNS) vc_fail(VC_EXIT_MALFORMED_INPUT, INPUT " line %zu: more than %d columns", line_number, MAX_COLUMNS);
        size_t length = (size_t)(name_end - name);
        if (length == 0 || vc_utf8_decode((const unsigned char *)name, length, NULL) < 0) {
            vc_fail(VC_EXIT_MALFORMED_INPUT, INPUT " line %zu: column %u has no name, or one that is not UTF-8", line_number, stats->columns + 1);
        }
        stats->names[stats->columns] = vc_alloc(length);
        memcpy(stats->names[stats->columns], name, length);
        stats->name_lengths[stats->columns++] = length;
        if (comma == NULL) break;
        field = comma;
    }
    size_t width = stats->columns + 1;
    stats->sums = calloc(width * width, sizeof *stats->sums);
    stats->z = vc_alloc(width * sizeof *stats->z);
    if (stats->sums == NULL) vc_fail(VC_EXIT_FAILURE, "out of memory");
    stats->z[0] = 1;
}

static void add_row(struct statistics *stats, const char *line, const char *end, size_t line_number) {
    uint32_t column = 0;
    for (const char *field = line;; field++) {
        const char *comma = memchr(field, ',', (size_t)(end - field));
        const char *field_end = comma == NULL ? end : comma;
        if (column == stats->columns) {
            vc_fail(VC_EXIT_MALFORMED_INPUT, INPUT " line %zu: more than the header's %u fields", line_number, stats->columns);
        }
        const char *start = skip_blanks(field, field_end);
        double value;
        if (!parse_number(start, trim_blanks(start, field_end), &value)) {
            vc_fail(VC_EXIT_MALFORMED_INPUT, INPUT " line %zu, field %u: not a decimal number", line_number, column + 1);
        }
        if (!isfinite(value)) vc_fail(VC_EXIT_MALFORMED_INPUT, INPUT " line %zu, field %u: not finite", line_number, column + 1);
        stats->z[++column] = value;
        if (comma == NULL) break;
        field = comma;
    }
    if (column != stats->columns) {
        vc_fail(VC_EXIT_MALFORMED_INPUT, INPUT " line %zu: %u fields, the header has %u", line_number, column, stats->columns);
    }
    size_t width = stats->columns + 1;
    for (size_t i = 0; i < width; i++) {
        double *row = stats->sums + i * width, zi = stats->z[i];
        for (size_t j = i; j < width; j++) row[j] += zi * stats->z[j];
    }
    stats->n++;
}

/* Handles one line (without its "\n"): the header first, then rows; empty lines are skipped. */
static void take_line(struct statistics *stats, const char *line, const char *end, size_t line_number) {
    if (end > line && end[-1] == '\r') end--;
    if (end == line) return;
    if (stats->sums == NULL) {
        read_header(stats, line, end, line_number);
    } else {
        add_row(stats, line, end, line_number);
    }
}

static void write_statistics(const struct statistics *stats) {
    size_t width = stats->columns + 1, k = stats->columns; /* k = d + 1 */
    size_t length = 4 + 4 + 8 + 8 * (k * k + k + 1);
    for (uint32_t c = 0; c < stats->columns; c++) length += 4 + stats->name_lengths[c];
    unsigned char *out = vc_alloc(length), *p = out;
    memcpy(p, "VRS1", 4);
    vc_put_u32(p + 4, stats->columns - 1);
    vc_put_u64(p + 8, stats->n);
    p += 16;
    /* z = (1, x, y): X'X is the leading k x k block, X'y the last column above y'y. Mirror the triangle. */
    for (size_t i = 0; i < k; i++, p += 8 * k) {
        for (size_t j = 0; j < k; j++) vc_put_f64(p + 8 * j, i <= j ? stats->sums[i * width + j] : stats->sums[j * width + i]);
    }
    for (size_t i = 0; i < k; i++, p += 8) vc_put_f64(p, stats->sums[i * width + k]);
    vc_put_f64(p, stats->sums[k * width + k]);
    p += 8;
    for (uint32_t c = 0; c < stats->columns; c++) {
        vc_put_u32(p, (uint32_t)stats->name_lengths[c]);
        memcpy(p + 4, stats->names[c], stats->name_lengths[c]);
        p += 4 + stats->name_lengths[c];
    }
    vc_write_file(OUTPUT, out, length);
    free(out);
}

int main(void) {
    FILE *input = fopen(INPUT, "rb");
    if (input == NULL) vc_fail(VC_EXIT_MISSING_INPUT, "cannot open " INPUT ": %s", strerror(errno));
    static struct statistics stats; /* static: the name table is too big for the stack */
    char *buffer = vc_alloc(CHUNK);
    size_t kept = 0, line_number = 0; /* kept: bytes of an unfinished line at the front of buffer */
    for (;;) {
        size_t got = fread(buffer + kept, 1, CHUNK - kept, input);
        if (got == 0) break;
        char *line = buffer, *end = buffer + kept + got, *newline;
        while ((newline = memchr(line, '\n', (size_t)(end - line))) != NULL) {
            take_line(&stats, line, newline, ++line_number);
            line = newline + 1;
        }
        kept = (size_t)(end - line);
        if (kept == CHUNK) vc_fail(VC_EXIT_MALFORMED_INPUT, INPUT " line %zu: longer than %d bytes", line_number + 1, CHUNK);
        memmove(buffer, line, kept);
    }
    if (ferror(input)) vc_fail(VC_EXIT_MISSING_INPUT, "cannot read " INPUT ": %s", strerror(errno));
    fclose(input);
    if (kept > 0) take_line(&stats, buffer, buffer + kept, ++line_number);
    if (stats.sums == NULL) vc_fail(VC_EXIT_MALFORMED_INPUT, INPUT ": no header line");

    write_statistics(&stats);
    return 0;
}
