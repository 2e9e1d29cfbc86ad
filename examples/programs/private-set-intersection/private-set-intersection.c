/*
 * Private set intersection: the lines present in both parties' sets.
 *
 * Inputs:  /input/private-set-1.dat, /input/private-set-2.dat  UTF-8 text, one element a line, each line ending
 *          in '\n' (no NUL bytes). Duplicates within a file are allowed and count once.
 * Output:  /output/private-set.dat  the common elements, sorted by bytes, unique, each followed by '\n'.
 */
#include "vc_io.h"

typedef struct {
    const char *text;
    size_t length;
} Line;

static int compare_lines(const void *a, const void *b) {
    const Line *x = a, *y = b;
    size_t shorter = x->length < y->length ? x->length : y->length;
    int order = memcmp(x->text, y->text, shorter);
    if (order != 0) return order;
    return (x->length > y->length) - (x->length < y->length);
}

/* Splits a set file into sorted, unique lines; the lines point into `data`. */
static Line *read_set(const char *path, size_t *count) {
    size_t length;
    unsigned char *data = vc_read_file(path, &length);
    if (length > 0 && data[length - 1] != '\n') vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: the last line does not end in a newline", path);
    if (memchr(data, 0, length) != NULL) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: contains a NUL byte", path);
    if (vc_utf8_decode(data, length, NULL) < 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: not valid UTF-8", path);
    size_t lines = 0;
    for (size_t i = 0; i < length; i++) lines += data[i] == '\n';
    Line *set = vc_alloc(lines * sizeof *set);
    size_t start = 0, n = 0;
    for (size_t i = 0; i < length; i++) {
        if (data[i] != '\n') continue;
        set[n++] = (Line){(const char *)data + start, i - start};
        start = i + 1;
    }
    qsort(set, n, sizeof *set, compare_lines);
    size_t unique = 0;
    for (size_t i = 0; i < n; i++) {
        if (unique == 0 || compare_lines(&set[unique - 1], &set[i]) != 0) set[unique++] = set[i];
    }
    *count = unique;
    return set;
}

int main(void) {
    size_t count1, count2;
    Line *set1 = read_set("/input/private-set-1.dat", &count1);
    Line *set2 = read_set("/input/private-set-2.dat", &count2);

    FILE *out = fopen("/output/private-set.dat", "wb");
    if (out == NULL) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot create /output/private-set.dat: %s", strerror(errno));
    size_t i = 0, j = 0;
    while (i < count1 && j < count2) {
        int order = compare_lines(&set1[i], &set2[j]);
        if (order < 0) i++;
        else if (order > 0) j++;
        else {
            fwrite(set1[i].text, 1, set1[i].length, out);
            fputc('\n', out);
            i++;
            j++;
        }
    }
    if (ferror(out) || fclose(out) != 0) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write /output/private-set.dat");
    return 0;
}
