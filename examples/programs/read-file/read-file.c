/*
 * Read file: exercises reading, printing, directory creation, writing and listing.
 *
 * Input:   /input/hello-world-1.dat  any bytes.
 * Outputs: stdout                    the input bytes.
 *          /output/test/test.txt     "hello\n" (the directory /output/test is created).
 *          /output/hello-world-1.dat the input bytes, then the names in /output/ sorted by bytes, one a line.
 */
#include <sys/stat.h>

#include "vc_io.h"

int main(void) {
    size_t length;
    unsigned char *input = vc_read_file("/input/hello-world-1.dat", &length);
    if (fwrite(input, 1, length, stdout) != length || fflush(stdout) != 0) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write stdout");

    if (mkdir("/output/test", 0755) != 0 && errno != EEXIST) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot create /output/test: %s", strerror(errno));
    vc_write_file("/output/test/test.txt", "hello\n", 6);

    size_t count, listing_length = 0;
    char **names = vc_list_directory("/output", &count, VC_EXIT_OUTPUT_FAILED);
    for (size_t i = 0; i < count; i++) listing_length += strlen(names[i]) + 1;

    unsigned char *out = vc_alloc(length + listing_length);
    memcpy(out, input, length);
    size_t used = length;
    for (size_t i = 0; i < count; i++) {
        size_t name_length = strlen(names[i]);
        memcpy(out + used, names[i], name_length);
        used += name_length;
        out[used++] = '\n';
    }
    vc_write_file("/output/hello-world-1.dat", out, used);
    return 0;
}
