/*
 * Sensor aggregation: running statistics over a stream of readings, reported as they accumulate.
 *
 * Input:  /input/readings   little-endian f64 readings, read until end of file. On a stream the reads wait for
 *                           writers and may return any number of bytes, so partial records are kept until whole.
 * Output: /output/aggregate one line of JSON every REPORT_EVERY readings and a final one at end of file,
 *                           appended (a run adds its lines after any earlier run's), each written as it is made:
 *   {"count":C,"invalid":I,"mean":M,"variance":V,"under":U,"histogram":[h0,...,h15],"over":O,"final":F}
 *   count     finite readings so far; invalid: non-finite readings (NaN, infinities), left out of the rest;
 *   mean      arithmetic mean, variance: population variance (sum of squared deviations / count), both by
 *             Welford's method, printed with 17 significant digits; null while count is 0;
 *   histogram HISTOGRAM_BINS equal bins over [HISTOGRAM_LOW, HISTOGRAM_HIGH): bin = floor((x - low) / width);
 *             under: readings below low; over: readings at or above high;
 *   final     true on the line written at end of file.
 * Exit codes: 2 the input cannot be opened or read, 3 it ends inside a record, 4 the output cannot be written.
 */
#include <fcntl.h>
#include <math.h>
#include <unistd.h>

#include "vc_io.h"

#define INPUT "/input/readings"
#define OUTPUT "/output/aggregate"
#define RECORD 8
#define REPORT_EVERY 4096
#define HISTOGRAM_BINS 16
#define HISTOGRAM_LOW (-20.0)
#define HISTOGRAM_HIGH 60.0
#define HISTOGRAM_WIDTH ((HISTOGRAM_HIGH - HISTOGRAM_LOW) / HISTOGRAM_BINS)

struct aggregate {
    uint64_t count, invalid, under, over, records;
    double mean, m2;
    uint64_t histogram[HISTOGRAM_BINS];
};

static void add_reading(struct aggregate *a, double x) {
    a->records++;
    if (!isfinite(x)) {
        a->invalid++;
        return;
    }
    a->count++;
    double delta = x - a->mean;
    a->mean += delta / (double)a->count;
    a->m2 += delta * (x - a->mean);
    if (x < HISTOGRAM_LOW) {
        a->under++;
    } else if (x >= HISTOGRAM_HIGH) {
        a->over++;
    } else {
        size_t bin = (size_t)floor((x - HISTOGRAM_LOW) / HISTOGRAM_WIDTH);
        /* Rounding can put a reading just below the top edge one past the last bin. */
        a->histogram[bin < HISTOGRAM_BINS ? bin : HISTOGRAM_BINS - 1]++;
    }
}

/* Writes all of `data` to `fd` with write(2), so each line leaves the program as soon as it is made. */
static void write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t written = write(fd, data, length);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write " OUTPUT ": %s", strerror(errno));
        data += written;
        length -= (size_t)written;
    }
}

static void report(int fd, const struct aggregate *a, int final) {
    char line[1024];
    int used;
    if (a->count == 0) {
        used = snprintf(line, sizeof line, "{\"count\":0,\"invalid\":%llu,\"mean\":null,\"variance\":null,\"under\":0,\"histogram\":[",
                        (unsigned long long)a->invalid);
    } else {
        used = snprintf(line, sizeof line, "{\"count\":%llu,\"invalid\":%llu,\"mean\":%.17g,\"variance\":%.17g,\"under\":%llu,\"histogram\":[",
                        (unsigned long long)a->count, (unsigned long long)a->invalid, a->mean, a->m2 / (double)a->count,
                        (unsigned long long)a->under);
    }
    for (int i = 0; i < HISTOGRAM_BINS; i++) {
        used += snprintf(line + used, sizeof line - (size_t)used, "%s%llu", i == 0 ? "" : ",", (unsigned long long)a->histogram[i]);
    }
    used += snprintf(line + used, sizeof line - (size_t)used, "],\"over\":%llu,\"final\":%s}\n",
                     (unsigned long long)a->over, final ? "true" : "false");
    write_all(fd, line, (size_t)used);
}

int main(void) {
    int input = open(INPUT, O_RDONLY);
    if (input < 0) vc_fail(VC_EXIT_MISSING_INPUT, "cannot open " INPUT ": %s", strerror(errno));
    int output = open(OUTPUT, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (output < 0) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot open " OUTPUT ": %s", strerror(errno));

    struct aggregate a = {0};
    enum { BUFFER = 1 << 16 };
    unsigned char *buffer = vc_alloc(BUFFER);
    size_t pending = 0; /* bytes of a record not yet complete, kept at the start of buffer (< RECORD) */
    for (;;) {
        ssize_t got = read(input, buffer + pending, BUFFER - pending);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) vc_fail(VC_EXIT_MISSING_INPUT, "cannot read " INPUT ": %s", strerror(errno));
        if (got == 0) break;
        pending += (size_t)got;
        size_t whole = pending / RECORD * RECORD;
        for (size_t offset = 0; offset < whole; offset += RECORD) {
            add_reading(&a, vc_get_f64(buffer + offset));
            if (a.records % REPORT_EVERY == 0) report(output, &a, 0);
        }
        memmove(buffer, buffer + whole, pending - whole);
        pending -= whole;
    }
    if (pending != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, INPUT " ends inside a record (%zu of %d bytes)", pending, RECORD);
    report(output, &a, 1);
    if (close(output) != 0) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write " OUTPUT ": %s", strerror(errno));
    return 0;
}
