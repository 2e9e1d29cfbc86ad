/*
 * fd_create: writes 10000 bytes to an anonymous file from Veracruz's `veracruz_si.fd_create`, seeks back and
 * checks it reads the same bytes.
 *
 * Output: /output/pass  "pass\n" when the bytes round-trip (otherwise the program exits with 1).
 */
#include <unistd.h>

#include "vc_io.h"

/* Creates an anonymous read-write file; stores its descriptor in *fd and returns a WASI errno (0 = success). */
__attribute__((import_module("veracruz_si"), import_name("fd_create"))) int32_t fd_create(uint32_t *fd);

enum { SIZE = 10000 };

int main(void) {
    uint32_t fd;
    int32_t error = fd_create(&fd);
    if (error != 0) vc_fail(VC_EXIT_FAILURE, "fd_create failed with errno %d", (int)error);

    static unsigned char written[SIZE], read_back[SIZE];
    for (size_t i = 0; i < SIZE; i++) written[i] = (unsigned char)(i * 7 + 3);
    for (size_t done = 0; done < SIZE;) {
        ssize_t n = write((int)fd, written + done, SIZE - done);
        if (n <= 0) vc_fail(VC_EXIT_FAILURE, "write to the fd_create file failed: %s", strerror(errno));
        done += (size_t)n;
    }
    if (lseek((int)fd, 0, SEEK_SET) != 0) vc_fail(VC_EXIT_FAILURE, "seek in the fd_create file failed: %s", strerror(errno));
    size_t done = 0;
    while (done < SIZE) {
        ssize_t n = read((int)fd, read_back + done, SIZE - done);
        if (n < 0) vc_fail(VC_EXIT_FAILURE, "read from the fd_create file failed: %s", strerror(errno));
        if (n == 0) break;
        done += (size_t)n;
    }
    if (done != SIZE) vc_fail(VC_EXIT_FAILURE, "read back %zu bytes of %d", done, SIZE);
    if (memcmp(written, read_back, SIZE) != 0) vc_fail(VC_EXIT_FAILURE, "the bytes read back differ from those written");
    close((int)fd);
    vc_write_file("/output/pass", "pass\n", 5);
    return 0;
}
