/*
 * SHA-256 shared by the example programs that hash their input: the initial state, the block function, and the
 * two steps around it (compress the whole blocks buffered so far, then pad and compress the tail).
 *
 * Usage: a buffer of (read size + 128) bytes, `pending` bytes of it not yet compressed (always < 64 between reads):
 *   vc_sha256_init(state);
 *   for each read of `got` bytes at buffer + pending: pending = vc_sha256_update(state, buffer, pending + got);
 *   vc_sha256_finish(state, buffer, pending, total bytes read);   then state[0..7] is the digest, big-endian words.
 */
#ifndef VC_SHA256_H
#define VC_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Sets `state` to the initial hash value. */
static inline void vc_sha256_init(uint32_t state[8]) {
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(state, initial, sizeof initial);
}

static inline uint32_t vc_sha256_rotr(uint32_t x, int n) { return x >> n | x << (32 - n); }

static inline uint32_t vc_sha256_load_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Folds one 64-byte block into `state`. */
static inline void vc_sha256_compress(uint32_t state[8], const unsigned char *block) {
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
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = vc_sha256_load_be32(block + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = vc_sha256_rotr(w[i - 15], 7) ^ vc_sha256_rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = vc_sha256_rotr(w[i - 2], 17) ^ vc_sha256_rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (vc_sha256_rotr(e, 6) ^ vc_sha256_rotr(e, 11) ^ vc_sha256_rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (vc_sha256_rotr(a, 2) ^ vc_sha256_rotr(a, 13) ^ vc_sha256_rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

/* Compresses the whole blocks among the first `pending` bytes of `buffer`, moves the rest to its start and
 * returns how many bytes that is (< 64). */
static inline size_t vc_sha256_update(uint32_t state[8], unsigned char *buffer, size_t pending) {
    size_t blocks = pending / 64;
    for (size_t i = 0; i < blocks; i++) vc_sha256_compress(state, buffer + 64 * i);
    memmove(buffer, buffer + 64 * blocks, pending - 64 * blocks);
    return pending - 64 * blocks;
}

/* Pads the last `pending` (< 64) bytes at the start of `buffer`, which has room for 128, and compresses them;
 * `total` is the length of the whole input in bytes. */
static inline void vc_sha256_finish(uint32_t state[8], unsigned char *buffer, size_t pending, uint64_t total) {
    /* Padding: 0x80, zeros, then the length in bits as a big-endian u64, to a whole number of blocks. */
    buffer[pending++] = 0x80;
    while (pending % 64 != 56) buffer[pending++] = 0;
    uint64_t bits = total * 8;
    for (int i = 7; i >= 0; i--) buffer[pending++] = (unsigned char)(bits >> (8 * i));
    for (size_t i = 0; i < pending / 64; i++) vc_sha256_compress(state, buffer + 64 * i);
}

#endif
