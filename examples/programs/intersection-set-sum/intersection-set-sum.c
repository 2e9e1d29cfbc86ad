/*
 * Intersection set sum: total spend of the customers who also saw the advertisement.
 *
 * Inputs:  /input/intersection-advertisement-viewer.dat  viewer ids, little-endian u64 each (8 bytes a viewer).
 *          /input/intersection-customer.dat              customers, each id (u64) then total spend (f64), 16 bytes.
 * Output:  /output/intersection-set-sum.dat              the sum, in customer-file order, as a little-endian f64.
 */
#include <math.h>

#include "vc_io.h"

/*
 * Sorts ids ascending: least-significant-digit radix sort, 16 bits a pass. Written out rather than qsort so
 * that native and WebAssembly builds run the same algorithm (their C libraries' qsort differ).
 */
static void sort_ids(uint64_t *ids, size_t count) {
    uint64_t *scratch = vc_alloc(count * sizeof *scratch);
    size_t *offsets = vc_alloc(65536 * sizeof *offsets);
    uint64_t *from = ids, *to = scratch;
    for (int shift = 0; shift < 64; shift += 16) {
        memset(offsets, 0, 65536 * sizeof *offsets);
        for (size_t i = 0; i < count; i++) offsets[from[i] >> shift & 0xffff]++;
        size_t total = 0;
        for (size_t digit = 0; digit < 65536; digit++) {
            size_t n = offsets[digit];
            offsets[digit] = total;
            total += n;
        }
        for (size_t i = 0; i < count; i++) to[offsets[from[i] >> shift & 0xffff]++] = from[i];
        uint64_t *swap = from;
        from = to;
        to = swap;
    }
    /* Four passes: the sorted ids are back in `ids`. */
    free(offsets);
    free(scratch);
}

static int contains(const uint64_t *sorted, size_t count, uint64_t id) {
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (sorted[middle] < id) low = middle + 1;
        else high = middle;
    }
    return low < count && sorted[low] == id;
}

int main(void) {
    size_t viewers_length, customers_length;
    unsigned char *viewers_data = vc_read_file("/input/intersection-advertisement-viewer.dat", &viewers_length);
    unsigned char *customers_data = vc_read_file("/input/intersection-customer.dat", &customers_length);
    if (viewers_length % 8 != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "intersection-advertisement-viewer.dat: %zu bytes is not a whole number of u64 ids", viewers_length);
    if (customers_length % 16 != 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "intersection-customer.dat: %zu bytes is not a whole number of (id, spend) records", customers_length);

    size_t viewer_count = viewers_length / 8, customer_count = customers_length / 16;
    uint64_t *viewers = vc_alloc(viewer_count * sizeof *viewers);
    for (size_t i = 0; i < viewer_count; i++) viewers[i] = vc_get_u64(viewers_data + 8 * i);
    free(viewers_data);
    sort_ids(viewers, viewer_count);

    double sum = 0;
    for (size_t i = 0; i < customer_count; i++) {
        uint64_t id = vc_get_u64(customers_data + 16 * i);
        double spend = vc_get_f64(customers_data + 16 * i + 8);
        if (!isfinite(spend)) vc_fail(VC_EXIT_MALFORMED_INPUT, "intersection-customer.dat: spend of customer %zu is not finite", i);
        if (contains(viewers, viewer_count, id)) sum += spend;
    }

    unsigned char out[8];
    vc_put_f64(out, sum);
    vc_write_file("/output/intersection-set-sum.dat", out, sizeof out);
    free(viewers);
    free(customers_data);
    return 0;
}
