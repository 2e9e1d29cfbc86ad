/*
 * Random u32 list: the first stage of the sorting pipeline.
 *
 * Output: /output/unsorted_numbers.txt  32 random unsigned 32-bit numbers in decimal, comma-separated, then '\n'.
 */
#include <unistd.h>

#include "vc_io.h"

int main(void) {
    uint32_t numbers[32];
    if (getentropy(numbers, sizeof numbers) != 0) vc_fail(VC_EXIT_FAILURE, "random_get failed: %s", strerror(errno));
    char text[32 * 11 + 1];
    size_t used = 0;
    for (size_t i = 0; i < 32; i++) {
        used += (size_t)snprintf(text + used, sizeof text - used, i == 0 ? "%u" : ",%u", numbers[i]);
    }
    text[used++] = '\n';
    vc_write_file("/output/unsorted_numbers.txt", text, used);
    return 0;
}
