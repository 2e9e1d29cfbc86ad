/*
 * Read file: exercises reading, printing, directory creation, writing and listing.
 *
 * Input:   /input/hello-world-1.dat  any bytes.
 * Outputs: stdout                    the input bytes.
 *          /output/test/test.txt     "hello\n" (the directory /output/test is created).
 *          /output/hello-world-1.dat the input bytes, then the names in /output/ sorted by bytes, one a line.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "vc_io.h"

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    size_t length;
    unsigned char *input = vc_read_file("/input/hello-world-1.dat", &length);
    if (fwrite(input, 1, length, stdout) != length || fflush(stdout) != 0) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write stdout");

    if (mkdir("/output/test", 0755) != 0 && errno != EEXIST) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot create /output/test: %s", strerror(errno));
    vc_write_file("/output/test/test.txt", "hello\n", 6);

    DIR *dir = opendir("/output");
    if (dir == NULL) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot list /output: %s", strerror(errno));
    size_t count = 0, capacity = 16, listing_length = 0;
    char **names = vc_alloc(capacity * sizeof *names);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        if (count == capacity) {
            capacity *= 2;
            char **grown = realloc(names, capacity * sizeof *names);
            if (grown == NULL) vc_fail(VC_EXIT_FAILURE, "out of memory");
            names = grown;
        }
        size_t name_length = strlen(entry->d_name);
        names[count] = vc_alloc(name_length + 1);
        memcpy(names[count++], entry->d_name, name_length + 1);
        listing_length += name_length + 1;
    }
    closedir(dir);
    qsort(names, count, sizeof *names, compare_names);

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
