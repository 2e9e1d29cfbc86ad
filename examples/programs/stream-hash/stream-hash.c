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

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n) { return x >> n | x << (32 - n); }

static uint32_t load_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void compress(uint32_t state[8], const unsigned char *block) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = load_be32(block + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int main(void) {
    int input = open("/input/stream", O_RDONLY);
    if (input < 0) vc_fail(VC_EXIT_MISSING_INPUT, "cannot open /input/stream: %s", strerror(errno));
    uint32_t state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
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
        pending += (size_t)got;
        size_t blocks = pending / 64;
        for (size_t i = 0; i < blocks; i++) compress(state, buffer + 64 * i);
        memmove(buffer, buffer + 64 * blocks, pending - 64 * blocks);
        pending -= 64 * blocks;
    }
    close(input);

    /* Padding: 0x80, zeros, then the length in bits as a big-endian u64, to a whole number of blocks. */
    buffer[pending++] = 0x80;
    while (pending % 64 != 56) buffer[pending++] = 0;
    uint64_t bits = total * 8;
    for (int i = 7; i >= 0; i--) buffer[pending++] = (unsigned char)(bits >> (8 * i));
    for (size_t i = 0; i < pending / 64; i++) compress(state, buffer + 64 * i);

    char line[160];
    int used = snprintf(line, sizeof line, "{\"sha256\":\"");
    for (int i = 0; i < 8; i++) used += snprintf(line + used, sizeof line - (size_t)used, "%08x", state[i]);
    used += snprintf(line + used, sizeof line - (size_t)used, "\",\"bytes\":%llu,\"words\":%llu}\n",
                     (unsigned long long)total, (unsigned long long)words);
    vc_write_file("/output/stream-hash", line, (size_t)used);
    return 0;
}
