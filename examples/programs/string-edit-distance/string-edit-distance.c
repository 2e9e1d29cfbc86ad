/*
 * String edit distance: the (unrestricted) Damerau-Levenshtein distance between two texts, counted in Unicode
 * code points: insertions, deletions, substitutions and transpositions of adjacent characters, where a
 * transposed pair may also be edited in between.
 *
 * Inputs:  /input/hello-world-1.dat, /input/hello-world-2.dat  UTF-8 text (may be empty).
 * Output:  /output/string-edit-distance.dat                    the distance in decimal, then '\n'.
 *
 * The Lowrance-Wagner recurrence looks back to the row before the last occurrence of a character, so instead
 * of the whole n*m matrix this keeps two rows plus one saved row per distinct character of the first text.
 */
#include "vc_io.h"

static uint32_t *decode(const char *path, size_t *count) {
    size_t length;
    unsigned char *data = vc_read_file(path, &length);
    uint32_t *text = vc_alloc(length * sizeof *text);
    long decoded = vc_utf8_decode(data, length, text);
    if (decoded < 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: not valid UTF-8", path);
    free(data);
    *count = (size_t)decoded;
    return text;
}

static int compare_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Index of `code` in the sorted `alphabet`, or -1. */
static long find(const uint32_t *alphabet, size_t size, uint32_t code) {
    size_t low = 0, high = size;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (alphabet[middle] < code) low = middle + 1;
        else high = middle;
    }
    return low < size && alphabet[low] == code ? (long)low : -1;
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

int main(void) {
    size_t n, m;
    uint32_t *a = decode("/input/hello-world-1.dat", &n);
    uint32_t *b = decode("/input/hello-world-2.dat", &m);

    /* Dense indices for the characters of a; characters of b absent from a get -1 (never transposable). */
    uint32_t *alphabet = vc_alloc(n * sizeof *alphabet);
    memcpy(alphabet, a, n * sizeof *a);
    qsort(alphabet, n, sizeof *alphabet, compare_u32);
    size_t alphabet_size = 0;
    for (size_t i = 0; i < n; i++) {
        if (alphabet_size == 0 || alphabet[alphabet_size - 1] != alphabet[i]) alphabet[alphabet_size++] = alphabet[i];
    }
    long *a_index = vc_alloc(n * sizeof *a_index), *b_index = vc_alloc(m * sizeof *b_index);
    for (size_t i = 0; i < n; i++) a_index[i] = find(alphabet, alphabet_size, a[i]);
    for (size_t j = 0; j < m; j++) b_index[j] = find(alphabet, alphabet_size, b[j]);

    /* Rows have m + 2 cells: cell 0 is column -1 (a sentinel), cell j + 1 is column j. */
    size_t width = m + 2;
    uint32_t *previous = vc_alloc(width * sizeof *previous), *current = vc_alloc(width * sizeof *current);
    uint32_t *saved = vc_alloc(alphabet_size * width * sizeof *saved);
    size_t *last_row = calloc(alphabet_size + 1, sizeof *last_row);
    if (last_row == NULL) vc_fail(VC_EXIT_FAILURE, "out of memory");

    uint32_t infinity = (uint32_t)(n + m + 1);
    previous[0] = infinity;
    for (size_t j = 0; j <= m; j++) previous[j + 1] = (uint32_t)j;

    for (size_t i = 1; i <= n; i++) {
        current[0] = infinity;
        current[1] = (uint32_t)i;
        size_t last_match_column = 0;
        for (size_t j = 1; j <= m; j++) {
            long character = b_index[j - 1];
            size_t k = character >= 0 ? last_row[character] : 0;
            size_t l = last_match_column;
            uint32_t cost = 1;
            if (a[i - 1] == b[j - 1]) {
                cost = 0;
                last_match_column = j;
            }
            uint32_t best = min_u32(previous[j] + cost, min_u32(current[j] + 1, previous[j + 1] + 1));
            if (k > 0 && l > 0) {
                uint32_t transposition = saved[(size_t)character * width + l] + (uint32_t)(i - k - 1) + 1 + (uint32_t)(j - l - 1);
                best = min_u32(best, transposition);
            }
            current[j + 1] = best;
        }
        long own = a_index[i - 1];
        memcpy(saved + (size_t)own * width, previous, width * sizeof *previous);
        last_row[own] = i;
        uint32_t *swap = previous;
        previous = current;
        current = swap;
    }

    char out[32];
    int length = snprintf(out, sizeof out, "%u\n", previous[m + 1]);
    vc_write_file("/output/string-edit-distance.dat", out, (size_t)length);
    return 0;
}
