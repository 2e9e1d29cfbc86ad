/*
 * Stream hash: SHA-256, byte count and word count of an input read until end of file (on a stream, until every
 * writer has closed it), in 64 KiB reads that return whatever has arrived.
 *
 * Input:  /input/stream        any bytes.
 * Output: /output/stream-hash  one line of JSON: {"sha256":"<lowercase hex>","bytes":N,"words":W}
 *                              where words are maximal runs of bytes other than ASCII space, \t, \n, \v, \f, \r.
 * Exit codes: 2 the input cannot be opened or read, 4 the output cannot be written.
 */
#include <fcntl.h>
#include <unistd.h>

#include "vc_io.h"
#include "vc_sha256.h"

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int main(void) {
    int input = open("/input/stream", O_RDONLY);
    if (input < 0) vc_fail(VC_EXIT_MISSING_INPUT, "cannot open /input/stream: %s", strerror(errno));
    uint32_t state[8];
    vc_sha256_init(state);
    enum { CHUNK = 1 << 16 };
    unsigned char *buffer = vc_alloc(CHUNK + 128);
    uint64_t total = 0, words = 0;
    int in_word = 0;
    size_t pending = 0; /* bytes in buffer not yet compressed (< 64 between reads) */
    for (;;) {
        ssize_t got = read(input, buffer + pending, CHUNK);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) vc_fail(VC_EXIT_MISSING_INPUT, "cannot read /input/stream: %s", strerror(errno));
        if (got == 0) break;
        for (ssize_t i = 0; i < got; i++) {
            int space = is_space(buffer[pending + (size_t)i]);
            if (!space && !in_word) words++;
            in_word = !space;
        }
        total += (uint64_t)got;
        pending = vc_sha256_update(state, buffer, pending + (size_t)got);
    }
    close(input);

    vc_sha256_finish(state, buffer, pending, total);

    char line[160];
    int used = snprintf(line, sizeof line, "{\"sha256\":\"");
    for (int i = 0; i < 8; i++) used += snprintf(line + used, sizeof line - (size_t)used, "%08x", state[i]);
    used += snprintf(line + used, sizeof line - (size_t)used, "\",\"bytes\":%llu,\"words\":%llu}\n",
                     (unsigned long long)total, (unsigned long long)words);
    vc_write_file("/output/stream-hash", line, (size_t)used);
    return 0;
}
