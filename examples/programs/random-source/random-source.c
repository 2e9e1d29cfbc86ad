/*
 * Random source: 32 bytes from the platform's random generator (WASI random_get).
 *
 * Output: /output/random.dat  32 random bytes.
 */
#include <unistd.h>

#include "vc_io.h"

int main(void) {
    unsigned char bytes[32];
    if (getentropy(bytes, sizeof bytes) != 0) vc_fail(VC_EXIT_FAILURE, "random_get failed: %s", strerror(errno));
    vc_write_file("/output/random.dat", bytes, sizeof bytes);
    return 0;
}
