/*
 * Sort numbers: the second stage of the sorting pipeline.
 *
 * Input:  /output/unsorted_numbers.txt  unsigned 32-bit decimal numbers, comma-separated, optionally ending in '\n'.
 * Output: /output/sorted_numbers.txt    the same numbers in ascending order, same format (always ending in '\n').
 */
#include "vc_io.h"

static int compare_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int main(void) {
    size_t length;
    unsigned char *text = vc_read_file("/output/unsorted_numbers.txt", &length);
    if (length > 0 && text[length - 1] == '\n') length--;
    if (length == 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "unsorted_numbers.txt: no numbers");

    size_t count = 1;
    for (size_t i = 0; i < length; i++) count += text[i] == ',';
    uint32_t *numbers = vc_alloc(count * sizeof *numbers);
    size_t n = 0, i = 0;
    while (i <= length) {
        uint64_t value = 0;
        size_t digits = 0;
        for (; i < length && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
            value = value * 10 + (uint64_t)(text[i] - '0');
            if (value > UINT32_MAX) vc_fail(VC_EXIT_MALFORMED_INPUT, "unsorted_numbers.txt: number %zu exceeds 32 bits", n);
        }
        if (digits == 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "unsorted_numbers.txt: expected a number at byte %zu", i);
        if (i < length && text[i] != ',') vc_fail(VC_EXIT_MALFORMED_INPUT, "unsorted_numbers.txt: unexpected byte at %zu", i);
        numbers[n++] = (uint32_t)value;
        i++;
    }
    qsort(numbers, n, sizeof *numbers, compare_u32);

    char *out = vc_alloc(n * 11 + 1);
    size_t used = 0;
    for (size_t k = 0; k < n; k++) used += (size_t)sprintf(out + used, k == 0 ? "%u" : ",%u", numbers[k]);
    out[used++] = '\n';
    vc_write_file("/output/sorted_numbers.txt", out, used);
    return 0;
}
