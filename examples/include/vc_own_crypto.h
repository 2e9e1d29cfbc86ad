/*
 * Cryptography compiled into the program itself, in portable C: SHA-512 (FIPS 180-4), ChaCha20-Poly1305
 * (RFC 8439) and Ed25519 signing (RFC 8032). The crypto-bench example runs these against the same operations
 * done by the runtime through the crypto ABI (`veracruz_crypto_v1`), to show what a program gains by calling it.
 *
 * Written for clarity and reasonable speed, without secret-dependent branches or table indices:
 *   - field elements of GF(2^255 - 19) are ten signed limbs of 26 and 25 bits alternately (int64 products);
 *   - base-point multiples come from a table of 64 rows x 8 points (j * 16^i * B), built at the first
 *     signature, read with a constant-time scan and signed 4-bit digits: 64 point additions a multiplication;
 *   - scalars are reduced modulo the group order bit by bit (Horner with a masked conditional subtraction).
 * Only what signing needs is here (no point decoding, no verification).
 */
#ifndef VC_OWN_CRYPTO_H
#define VC_OWN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------- SHA-512 */

typedef struct {
    uint64_t state[8];
    uint64_t total; /* bytes hashed so far (inputs below 2^61 bytes) */
    unsigned char buffer[128];
    size_t buffered;
} vc_sha512_ctx;

static inline uint64_t vc_own_rotr64(uint64_t x, int n) { return x >> n | x << (64 - n); }

static inline uint64_t vc_own_load_be64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static inline void vc_own_store_be64(unsigned char *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

/* Folds one 128-byte block into `state`. */
static inline void vc_sha512_compress(uint64_t state[8], const unsigned char *block) {
    static const uint64_t K[80] = {
        0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc, 0x3956c25bf348b538, 0x59f111f1b605d019,
        0x923f82a4af194f9b, 0xab1c5ed5da6d8118, 0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
        0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694, 0xe49b69c19ef14ad2, 0xefbe4786384f25e3,
        0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65, 0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
        0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4, 0xc6e00bf33da88fc2, 0xd5a79147930aa725,
        0x06ca6351e003826f, 0x142929670a0e6e70, 0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
        0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b, 0xa2bfe8a14cf10364, 0xa81a664bbc423001,
        0xc24b8b70d0f89791, 0xc76c51a30654be30, 0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
        0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8, 0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb,
        0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3, 0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
        0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b, 0xca273eceea26619c, 0xd186b8c721c0c207,
        0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178, 0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
        0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c, 0x4cc5d4becb3e42b6, 0x597f299cfc657e2a,
        0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
    };
    uint64_t w[80];
    for (int i = 0; i < 16; i++) w[i] = vc_own_load_be64(block + 8 * i);
    for (int i = 16; i < 80; i++) {
        uint64_t s0 = vc_own_rotr64(w[i - 15], 1) ^ vc_own_rotr64(w[i - 15], 8) ^ (w[i - 15] >> 7);
        uint64_t s1 = vc_own_rotr64(w[i - 2], 19) ^ vc_own_rotr64(w[i - 2], 61) ^ (w[i - 2] >> 6);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint64_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 80; i++) {
        uint64_t t1 = h + (vc_own_rotr64(e, 14) ^ vc_own_rotr64(e, 18) ^ vc_own_rotr64(e, 41)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint64_t t2 = (vc_own_rotr64(a, 28) ^ vc_own_rotr64(a, 34) ^ vc_own_rotr64(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

static inline void vc_sha512_init(vc_sha512_ctx *ctx) {
    static const uint64_t initial[8] = {0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
                                        0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179};
    memcpy(ctx->state, initial, sizeof initial);
    ctx->total = 0;
    ctx->buffered = 0;
}

static inline void vc_sha512_update(vc_sha512_ctx *ctx, const void *data, size_t length) {
    const unsigned char *in = data;
    ctx->total += length;
    if (ctx->buffered > 0) {
        size_t take = 128 - ctx->buffered < length ? 128 - ctx->buffered : length;
        memcpy(ctx->buffer + ctx->buffered, in, take);
        ctx->buffered += take;
        in += take;
        length -= take;
        if (ctx->buffered < 128) return;
        vc_sha512_compress(ctx->state, ctx->buffer);
        ctx->buffered = 0;
    }
    for (; length >= 128; in += 128, length -= 128) vc_sha512_compress(ctx->state, in);
    memcpy(ctx->buffer, in, length);
    ctx->buffered = length;
}

static inline void vc_sha512_final(vc_sha512_ctx *ctx, unsigned char digest[64]) {
    uint64_t bits = ctx->total * 8;
    size_t used = ctx->buffered;
    ctx->buffer[used++] = 0x80;
    if (used > 112) {
        memset(ctx->buffer + used, 0, 128 - used);
        vc_sha512_compress(ctx->state, ctx->buffer);
        used = 0;
    }
    /* The length is a 128-bit big-endian count of bits; its high half is 0 below 2^61 bytes. */
    memset(ctx->buffer + used, 0, 120 - used);
    vc_own_store_be64(ctx->buffer + 120, bits);
    vc_sha512_compress(ctx->state, ctx->buffer);
    for (int i = 0; i < 8; i++) vc_own_store_be64(digest + 8 * i, ctx->state[i]);
}

/* SHA-512 of `length` bytes at `data`. */
static inline void vc_sha512(const void *data, size_t length, unsigned char digest[64]) {
    vc_sha512_ctx ctx;
    vc_sha512_init(&ctx);
    vc_sha512_update(&ctx, data, length);
    vc_sha512_final(&ctx, digest);
}

/* ------------------------------------------------------------------------------------- ChaCha20-Poly1305 */

static inline uint32_t vc_own_load_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void vc_own_store_le32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t vc_own_rotl32(uint32_t x, int n) { return x << n | x >> (32 - n); }

#define VC_OWN_QUARTER_ROUND(x, a, b, c, d)                  \
    do {                                                      \
        x[a] += x[b], x[d] = vc_own_rotl32(x[d] ^ x[a], 16);  \
        x[c] += x[d], x[b] = vc_own_rotl32(x[b] ^ x[c], 12);  \
        x[a] += x[b], x[d] = vc_own_rotl32(x[d] ^ x[a], 8);   \
        x[c] += x[d], x[b] = vc_own_rotl32(x[b] ^ x[c], 7);   \
    } while (0)

/* One 64-byte ChaCha20 key-stream block (RFC 8439 2.3): 32-byte key, block counter, 12-byte nonce. */
static inline void vc_chacha20_block(const unsigned char key[32], uint32_t counter, const unsigned char nonce[12], unsigned char out[64]) {
    uint32_t input[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    for (int i = 0; i < 8; i++) input[4 + i] = vc_own_load_le32(key + 4 * i);
    input[12] = counter;
    for (int i = 0; i < 3; i++) input[13 + i] = vc_own_load_le32(nonce + 4 * i);
    uint32_t x[16];
    memcpy(x, input, sizeof x);
    for (int round = 0; round < 10; round++) {
        VC_OWN_QUARTER_ROUND(x, 0, 4, 8, 12);
        VC_OWN_QUARTER_ROUND(x, 1, 5, 9, 13);
        VC_OWN_QUARTER_ROUND(x, 2, 6, 10, 14);
        VC_OWN_QUARTER_ROUND(x, 3, 7, 11, 15);
        VC_OWN_QUARTER_ROUND(x, 0, 5, 10, 15);
        VC_OWN_QUARTER_ROUND(x, 1, 6, 11, 12);
        VC_OWN_QUARTER_ROUND(x, 2, 7, 8, 13);
        VC_OWN_QUARTER_ROUND(x, 3, 4, 9, 14);
    }
    for (int i = 0; i < 16; i++) vc_own_store_le32(out + 4 * i, x[i] + input[i]);
}

/* XORs `length` bytes of `in` with the key stream starting at block `counter` into `out` (may be `in`). */
static inline void vc_chacha20_xor(const unsigned char key[32], uint32_t counter, const unsigned char nonce[12], const unsigned char *in,
                                   unsigned char *out, size_t length) {
    unsigned char stream[64];
    for (size_t done = 0; done < length; done += 64, counter++) {
        vc_chacha20_block(key, counter, nonce, stream);
        size_t n = length - done < 64 ? length - done : 64;
        for (size_t i = 0; i < n; i++) out[done + i] = in[done + i] ^ stream[i];
    }
}

/* Poly1305 (RFC 8439 2.5) with five 26-bit limbs: the accumulator h, the clamped key r, and s the pad. */
typedef struct {
    uint32_t r[5], h[5], pad[4];
    unsigned char buffer[16];
    size_t buffered;
} vc_poly1305_ctx;

static inline void vc_poly1305_init(vc_poly1305_ctx *ctx, const unsigned char key[32]) {
    /* r is clamped (RFC 8439: r &= 0x0ffffffc0ffffffc0ffffffc0fffffff) while splitting into limbs. */
    uint32_t t0 = vc_own_load_le32(key), t1 = vc_own_load_le32(key + 4), t2 = vc_own_load_le32(key + 8), t3 = vc_own_load_le32(key + 12);
    ctx->r[0] = t0 & 0x3ffffff;
    ctx->r[1] = (t0 >> 26 | t1 << 6) & 0x3ffff03;
    ctx->r[2] = (t1 >> 20 | t2 << 12) & 0x3ffc0ff;
    ctx->r[3] = (t2 >> 14 | t3 << 18) & 0x3f03fff;
    ctx->r[4] = (t3 >> 8) & 0x00fffff;
    for (int i = 0; i < 4; i++) ctx->pad[i] = vc_own_load_le32(key + 16 + 4 * i);
    memset(ctx->h, 0, sizeof ctx->h);
    ctx->buffered = 0;
}

/* h = (h + block + hibit * 2^128) * r mod 2^130 - 5, for one 16-byte block. */
static inline void vc_poly1305_block(vc_poly1305_ctx *ctx, const unsigned char block[16], uint32_t hibit) {
    const uint32_t *r = ctx->r;
    uint32_t *h = ctx->h;
    uint32_t t0 = vc_own_load_le32(block), t1 = vc_own_load_le32(block + 4), t2 = vc_own_load_le32(block + 8), t3 = vc_own_load_le32(block + 12);
    h[0] += t0 & 0x3ffffff;
    h[1] += (t0 >> 26 | t1 << 6) & 0x3ffffff;
    h[2] += (t1 >> 20 | t2 << 12) & 0x3ffffff;
    h[3] += (t2 >> 14 | t3 << 18) & 0x3ffffff;
    h[4] += t3 >> 8 | hibit << 24;
    /* Limbs above 2^130 wrap around multiplied by 5 (2^130 = 5 mod p). */
    uint64_t s1 = r[1] * 5ull, s2 = r[2] * 5ull, s3 = r[3] * 5ull, s4 = r[4] * 5ull;
    uint64_t d0 = (uint64_t)h[0] * r[0] + h[1] * s4 + h[2] * s3 + h[3] * s2 + h[4] * s1;
    uint64_t d1 = (uint64_t)h[0] * r[1] + (uint64_t)h[1] * r[0] + h[2] * s4 + h[3] * s3 + h[4] * s2;
    uint64_t d2 = (uint64_t)h[0] * r[2] + (uint64_t)h[1] * r[1] + (uint64_t)h[2] * r[0] + h[3] * s4 + h[4] * s3;
    uint64_t d3 = (uint64_t)h[0] * r[3] + (uint64_t)h[1] * r[2] + (uint64_t)h[2] * r[1] + (uint64_t)h[3] * r[0] + h[4] * s4;
    uint64_t d4 = (uint64_t)h[0] * r[4] + (uint64_t)h[1] * r[3] + (uint64_t)h[2] * r[2] + (uint64_t)h[3] * r[1] + (uint64_t)h[4] * r[0];
    d1 += d0 >> 26;
    d2 += d1 >> 26;
    d3 += d2 >> 26;
    d4 += d3 >> 26;
    uint64_t low = (d0 & 0x3ffffff) + (d4 >> 26) * 5;
    h[0] = (uint32_t)low & 0x3ffffff;
    h[1] = ((uint32_t)d1 & 0x3ffffff) + (uint32_t)(low >> 26);
    h[2] = (uint32_t)d2 & 0x3ffffff;
    h[3] = (uint32_t)d3 & 0x3ffffff;
    h[4] = (uint32_t)d4 & 0x3ffffff;
}

static inline void vc_poly1305_update(vc_poly1305_ctx *ctx, const unsigned char *in, size_t length) {
    if (ctx->buffered > 0) {
        size_t take = 16 - ctx->buffered < length ? 16 - ctx->buffered : length;
        memcpy(ctx->buffer + ctx->buffered, in, take);
        ctx->buffered += take;
        in += take;
        length -= take;
        if (ctx->buffered < 16) return;
        vc_poly1305_block(ctx, ctx->buffer, 1);
        ctx->buffered = 0;
    }
    for (; length >= 16; in += 16, length -= 16) vc_poly1305_block(ctx, in, 1);
    memcpy(ctx->buffer, in, length);
    ctx->buffered = length;
}

static inline void vc_poly1305_final(vc_poly1305_ctx *ctx, unsigned char tag[16]) {
    uint32_t *h = ctx->h;
    if (ctx->buffered > 0) {
        /* A short last block: its bytes, a 1, then zeros (no 2^128 bit). */
        ctx->buffer[ctx->buffered] = 1;
        memset(ctx->buffer + ctx->buffered + 1, 0, 15 - ctx->buffered);
        vc_poly1305_block(ctx, ctx->buffer, 0);
    }
    /* Carry fully, then h - p = h + 5 - 2^130: keep it if that does not borrow (h >= p). */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 4; i++) {
            h[i + 1] += h[i] >> 26;
            h[i] &= 0x3ffffff;
        }
        h[0] += (h[4] >> 26) * 5;
        h[4] &= 0x3ffffff;
    }
    uint32_t g[5], carry = 5;
    for (int i = 0; i < 5; i++) {
        g[i] = h[i] + carry;
        carry = g[i] >> 26;
        g[i] &= 0x3ffffff;
    }
    uint32_t keep_g = 0u - carry; /* all ones when h + 5 reached 2^130 */
    for (int i = 0; i < 5; i++) h[i] = (g[i] & keep_g) | (h[i] & ~keep_g);
    uint32_t f[4] = {h[0] | h[1] << 26, h[1] >> 6 | h[2] << 20, h[2] >> 12 | h[3] << 14, h[3] >> 18 | h[4] << 8};
    uint64_t sum = 0;
    for (int i = 0; i < 4; i++) {
        sum += (uint64_t)f[i] + ctx->pad[i];
        vc_own_store_le32(tag + 4 * i, (uint32_t)sum);
        sum >>= 32;
    }
}

/* Feeds zero bytes up to the next 16-byte boundary of the input so far (RFC 8439's padding of AAD and ciphertext). */
static inline void vc_poly1305_pad16(vc_poly1305_ctx *ctx) {
    if (ctx->buffered == 0) return;
    memset(ctx->buffer + ctx->buffered, 0, 16 - ctx->buffered);
    vc_poly1305_block(ctx, ctx->buffer, 1);
    ctx->buffered = 0;
}

/* ChaCha20-Poly1305 encryption (RFC 8439 2.8): writes the ciphertext then the 16-byte tag (length + 16 bytes) to `out`. */
static inline void vc_chacha20_poly1305_encrypt(const unsigned char key[32], const unsigned char nonce[12], const unsigned char *aad, size_t aad_length,
                                                const unsigned char *plaintext, size_t length, unsigned char *out) {
    unsigned char block0[64], lengths[16];
    vc_chacha20_block(key, 0, nonce, block0);
    vc_chacha20_xor(key, 1, nonce, plaintext, out, length);
    vc_poly1305_ctx mac;
    vc_poly1305_init(&mac, block0);
    vc_poly1305_update(&mac, aad, aad_length);
    vc_poly1305_pad16(&mac);
    vc_poly1305_update(&mac, out, length);
    vc_poly1305_pad16(&mac);
    uint64_t sizes[2] = {aad_length, length};
    for (int i = 0; i < 2; i++) {
        vc_own_store_le32(lengths + 8 * i, (uint32_t)sizes[i]);
        vc_own_store_le32(lengths + 8 * i + 4, (uint32_t)(sizes[i] >> 32));
    }
    vc_poly1305_update(&mac, lengths, sizeof lengths);
    vc_poly1305_final(&mac, out + length);
}

/* ----------------------------------------------------------------------------- GF(2^255 - 19) elements */

/* f = sum f[i] 2^ceil(25.5 i): even limbs hold 26 bits, odd limbs 25, each signed (carries keep |f[i]| near 2^25). */
typedef int64_t vc_fe[10];

static inline int vc_fe_bits(int i) { return i & 1 ? 25 : 26; }

/* Carries every limb into the next (the top one back into f[0] times 19, as 2^255 = 19), rounding to nearest. */
static inline void vc_fe_carry(vc_fe h) {
    for (int i = 0; i < 10; i++) {
        int bits = vc_fe_bits(i);
        int64_t carry = (h[i] + ((int64_t)1 << (bits - 1))) >> bits;
        h[i] -= carry * ((int64_t)1 << bits);
        if (i < 9) h[i + 1] += carry;
        else h[0] += 19 * carry;
    }
    int64_t carry = (h[0] + ((int64_t)1 << 25)) >> 26;
    h[0] -= carry * ((int64_t)1 << 26);
    h[1] += carry;
}

static inline void vc_fe_copy(vc_fe h, const vc_fe f) { memcpy(h, f, sizeof(vc_fe)); }

static inline void vc_fe_set(vc_fe h, int64_t small) {
    memset(h, 0, sizeof(vc_fe));
    h[0] = small;
}

/* Sums and differences are not carried: the multiplication takes limbs up to 2^27. */
static inline void vc_fe_add(vc_fe h, const vc_fe f, const vc_fe g) {
    for (int i = 0; i < 10; i++) h[i] = f[i] + g[i];
}

static inline void vc_fe_sub(vc_fe h, const vc_fe f, const vc_fe g) {
    for (int i = 0; i < 10; i++) h[i] = f[i] - g[i];
}

/*
 * h = f g. The product of limbs i and j has weight 2^(ceil(25.5 i) + ceil(25.5 j)), which is twice
 * 2^ceil(25.5 (i + j)) when i and j are both odd; past limb 9 it wraps around times 19.
 */
static inline void vc_fe_mul(vc_fe h, const vc_fe f, const vc_fe g) {
    int64_t g19[10], f2[10], t[10] = {0};
    for (int i = 0; i < 10; i++) {
        g19[i] = 19 * g[i];
        f2[i] = i & 1 ? 2 * f[i] : f[i];
    }
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 10; j++) {
            int64_t fi = j & 1 ? f2[i] : f[i];
            if (i + j < 10) t[i + j] += fi * g[j];
            else t[i + j - 10] += fi * g19[j];
        }
    }
    vc_fe_carry(t);
    vc_fe_copy(h, t);
}

static inline void vc_fe_square(vc_fe h, const vc_fe f) { vc_fe_mul(h, f, f); }

/* h = f^(2^n) */
static inline void vc_fe_square_times(vc_fe h, const vc_fe f, int n) {
    vc_fe_square(h, f);
    for (int i = 1; i < n; i++) vc_fe_square(h, h);
}

/* h = 1/f = f^(p - 2), p - 2 = (2^250 - 1) 2^5 + 11, by an addition chain of 254 squarings and 11 products. */
static inline void vc_fe_invert(vc_fe h, const vc_fe f) {
    vc_fe z2, z9, z11, z5, z10, z20, z40, z50, z100, z200, z250, t;
    vc_fe_square(z2, f);
    vc_fe_square_times(t, z2, 2);
    vc_fe_mul(z9, t, f);
    vc_fe_mul(z11, z9, z2);
    vc_fe_square(t, z11);
    vc_fe_mul(z5, t, z9); /* f^(2^5 - 1) */
    vc_fe_square_times(t, z5, 5);
    vc_fe_mul(z10, t, z5);
    vc_fe_square_times(t, z10, 10);
    vc_fe_mul(z20, t, z10);
    vc_fe_square_times(t, z20, 20);
    vc_fe_mul(z40, t, z20);
    vc_fe_square_times(t, z40, 10);
    vc_fe_mul(z50, t, z10);
    vc_fe_square_times(t, z50, 50);
    vc_fe_mul(z100, t, z50);
    vc_fe_square_times(t, z100, 100);
    vc_fe_mul(z200, t, z100);
    vc_fe_square_times(t, z200, 50);
    vc_fe_mul(z250, t, z50); /* f^(2^250 - 1) */
    vc_fe_square_times(t, z250, 5);
    vc_fe_mul(h, t, z11);
}

/* Reads 32 little-endian bytes (bit 255 ignored). */
static inline void vc_fe_from_bytes(vc_fe h, const unsigned char s[32]) {
    int position = 0;
    for (int i = 0; i < 10; i++) {
        int bits = vc_fe_bits(i);
        uint64_t window = 0;
        for (int k = 0; k < 5 && position / 8 + k < 32; k++) window |= (uint64_t)s[position / 8 + k] << (8 * k);
        h[i] = (int64_t)((window >> (position % 8)) & (((uint64_t)1 << bits) - 1));
        position += bits;
    }
}

/* Writes the canonical value (0 <= value < p) as 32 little-endian bytes. */
static inline void vc_fe_to_bytes(unsigned char s[32], const vc_fe f) {
    int64_t h[10], t[10];
    vc_fe_copy(h, f);
    /* Floor carries make every limb non-negative and within its width; three passes settle the wrap-around. */
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < 10; i++) {
            int bits = vc_fe_bits(i);
            int64_t carry = h[i] >> bits;
            h[i] -= carry * ((int64_t)1 << bits);
            if (i < 9) h[i + 1] += carry;
            else h[0] += 19 * carry;
        }
    }
    /* Now 0 <= h < 2^255; h >= p exactly when h + 19 reaches 2^255, and then h - p = h + 19 - 2^255. */
    vc_fe_copy(t, h);
    t[0] += 19;
    for (int i = 0; i < 9; i++) {
        int bits = vc_fe_bits(i);
        t[i + 1] += t[i] >> bits;
        t[i] &= ((int64_t)1 << bits) - 1;
    }
    int64_t reduce = -(t[9] >> 25); /* all ones when h >= p */
    t[9] &= ((int64_t)1 << 25) - 1;
    for (int i = 0; i < 10; i++) h[i] = (t[i] & reduce) | (h[i] & ~reduce);
    uint64_t accumulator = 0;
    int held = 0, out = 0;
    for (int i = 0; i < 10; i++) {
        accumulator |= (uint64_t)h[i] << held;
        held += vc_fe_bits(i);
        for (; held >= 8 && out < 32; held -= 8, accumulator >>= 8) s[out++] = (unsigned char)accumulator;
    }
    for (; out < 32; accumulator >>= 8) s[out++] = (unsigned char)accumulator;
}

/* f = g where mask is all ones, unchanged where it is 0. */
static inline void vc_fe_select(vc_fe f, const vc_fe g, int64_t mask) {
    for (int i = 0; i < 10; i++) f[i] ^= mask & (f[i] ^ g[i]);
}

/* --------------------------------------------------------------------------------- edwards25519 points */

/* Extended coordinates: x = X/Z, y = Y/Z, x y = T/Z. */
typedef struct {
    vc_fe X, Y, Z, T;
} vc_ge;

/* A point ready to be added: Y + X, Y - X, 2 Z, 2 d T. */
typedef struct {
    vc_fe y_plus_x, y_minus_x, z2, t2d;
} vc_ge_cached;

static inline void vc_ge_identity(vc_ge *p) {
    vc_fe_set(p->X, 0);
    vc_fe_set(p->Y, 1);
    vc_fe_set(p->Z, 1);
    vc_fe_set(p->T, 0);
}

static inline void vc_ge_to_cached(vc_ge_cached *c, const vc_ge *p) {
    static const unsigned char d2_bytes[32] = {0x59, 0xf1, 0xb2, 0x26, 0x94, 0x9b, 0xd6, 0xeb, 0x56, 0xb1, 0x83, 0x82, 0x9a, 0x14, 0xe0, 0x00,
                                               0x30, 0xd1, 0xf3, 0xee, 0xf2, 0x80, 0x8e, 0x19, 0xe7, 0xfc, 0xdf, 0x56, 0xdc, 0xd9, 0x06, 0x24};
    vc_fe d2;
    vc_fe_from_bytes(d2, d2_bytes); /* 2 d, d = -121665 / 121666 */
    vc_fe_add(c->y_plus_x, p->Y, p->X);
    vc_fe_sub(c->y_minus_x, p->Y, p->X);
    vc_fe_add(c->z2, p->Z, p->Z);
    vc_fe_mul(c->t2d, p->T, d2);
    vc_fe_carry(c->y_plus_x);
    vc_fe_carry(c->y_minus_x);
    vc_fe_carry(c->z2);
}

/* r = p + q (the unified addition of Hisil, Wong, Carter and Dawson 2008 for a = -1: 8 products). */
static inline void vc_ge_add(vc_ge *r, const vc_ge *p, const vc_ge_cached *q) {
    vc_fe a, b, c, d, e, f, g, h;
    vc_fe_sub(e, p->Y, p->X);
    vc_fe_mul(a, e, q->y_minus_x);
    vc_fe_add(e, p->Y, p->X);
    vc_fe_mul(b, e, q->y_plus_x);
    vc_fe_mul(c, p->T, q->t2d);
    vc_fe_mul(d, p->Z, q->z2);
    vc_fe_sub(e, b, a);
    vc_fe_sub(f, d, c);
    vc_fe_add(g, d, c);
    vc_fe_add(h, b, a);
    vc_fe_mul(r->X, e, f);
    vc_fe_mul(r->Y, g, h);
    vc_fe_mul(r->T, e, h);
    vc_fe_mul(r->Z, f, g);
}

/* r = 2 p (doubling for a = -1: 4 squarings and 4 products). */
static inline void vc_ge_double(vc_ge *r, const vc_ge *p) {
    vc_fe a, b, c, e, f, g, h, t;
    vc_fe_square(a, p->X);
    vc_fe_square(b, p->Y);
    vc_fe_square(c, p->Z);
    vc_fe_add(c, c, c);
    vc_fe_add(t, p->X, p->Y);
    vc_fe_square(e, t);
    vc_fe_sub(e, e, a);
    vc_fe_sub(e, e, b); /* 2 X Y */
    vc_fe_sub(g, b, a); /* -a X^2 + Y^2 with a = -1 */
    vc_fe_sub(f, g, c);
    vc_fe_carry(f);
    vc_fe_add(h, a, b);
    vc_fe_set(t, 0);
    vc_fe_sub(h, t, h); /* a X^2 - Y^2 */
    vc_fe_mul(r->X, e, f);
    vc_fe_mul(r->Y, g, h);
    vc_fe_mul(r->T, e, h);
    vc_fe_mul(r->Z, f, g);
}

/* Encodes a point: y little-endian with the low bit of x in bit 255 (RFC 8032 5.1.2). */
static inline void vc_ge_encode(unsigned char s[32], const vc_ge *p) {
    vc_fe z_inverse, x, y;
    unsigned char x_bytes[32];
    vc_fe_invert(z_inverse, p->Z);
    vc_fe_mul(x, p->X, z_inverse);
    vc_fe_mul(y, p->Y, z_inverse);
    vc_fe_to_bytes(s, y);
    vc_fe_to_bytes(x_bytes, x);
    s[31] ^= (unsigned char)((x_bytes[0] & 1) << 7);
}

/* The table j * 16^i * B for i < 64, 1 <= j <= 8 (B the base point), computed once per run. */
static inline vc_ge_cached (*vc_ge_base_table(void))[8] {
    static vc_ge_cached table[64][8];
    static int ready = 0;
    if (ready) return table;
    static const unsigned char bx[32] = {0x1a, 0xd5, 0x25, 0x8f, 0x60, 0x2d, 0x56, 0xc9, 0xb2, 0xa7, 0x25, 0x95, 0x60, 0xc7, 0x2c, 0x69,
                                         0x5c, 0xdc, 0xd6, 0xfd, 0x31, 0xe2, 0xa4, 0xc0, 0xfe, 0x53, 0x6e, 0xcd, 0xd3, 0x36, 0x69, 0x21};
    static const unsigned char by[32] = {0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                         0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};
    vc_ge row, multiple;
    vc_fe_from_bytes(row.X, bx);
    vc_fe_from_bytes(row.Y, by);
    vc_fe_set(row.Z, 1);
    vc_fe_mul(row.T, row.X, row.Y);
    for (int i = 0; i < 64; i++) {
        vc_ge_to_cached(&table[i][0], &row);
        multiple = row;
        for (int j = 1; j < 8; j++) {
            vc_ge next;
            if (j == 1) vc_ge_double(&next, &row);
            else vc_ge_add(&next, &multiple, &table[i][0]);
            multiple = next;
            vc_ge_to_cached(&table[i][j], &multiple);
        }
        vc_ge_double(&row, &multiple); /* 16 * 16^i B */
    }
    ready = 1;
    return table;
}

/* r = k B for a 32-byte little-endian scalar k < 2^255. */
static inline void vc_ge_scalar_mult_base(vc_ge *r, const unsigned char k[32]) {
    vc_ge_cached(*table)[8] = vc_ge_base_table();
    /* Signed base-16 digits e[i] in [-8, 8): k = sum e[i] 16^i. */
    signed char e[64];
    for (int i = 0; i < 32; i++) {
        e[2 * i] = (signed char)(k[i] & 15);
        e[2 * i + 1] = (signed char)(k[i] >> 4);
    }
    int carry = 0;
    for (int i = 0; i < 63; i++) {
        e[i] = (signed char)(e[i] + carry);
        carry = (e[i] + 8) >> 4;
        e[i] = (signed char)(e[i] - carry * 16);
    }
    e[63] = (signed char)(e[63] + carry);
    vc_ge_identity(r);
    for (int i = 0; i < 64; i++) {
        int64_t negative = -(int64_t)(e[i] < 0);
        int64_t magnitude = (e[i] ^ negative) - negative;
        /* Scan the whole row so that which entry is read does not show in memory access. */
        vc_ge_cached chosen;
        vc_fe_set(chosen.y_plus_x, 1);
        vc_fe_set(chosen.y_minus_x, 1);
        vc_fe_set(chosen.z2, 2);
        vc_fe_set(chosen.t2d, 0);
        for (int j = 0; j < 8; j++) {
            int64_t equal = -(int64_t)(magnitude == j + 1);
            vc_fe_select(chosen.y_plus_x, table[i][j].y_plus_x, equal);
            vc_fe_select(chosen.y_minus_x, table[i][j].y_minus_x, equal);
            vc_fe_select(chosen.z2, table[i][j].z2, equal);
            vc_fe_select(chosen.t2d, table[i][j].t2d, equal);
        }
        /* -P: swap Y + X and Y - X, negate T. */
        vc_fe swapped, negated;
        vc_fe_copy(swapped, chosen.y_plus_x);
        vc_fe_select(chosen.y_plus_x, chosen.y_minus_x, negative);
        vc_fe_select(chosen.y_minus_x, swapped, negative);
        for (int l = 0; l < 10; l++) negated[l] = -chosen.t2d[l];
        vc_fe_select(chosen.t2d, negated, negative);
        vc_ge sum;
        vc_ge_add(&sum, r, &chosen);
        *r = sum;
    }
}

/* ------------------------------------------------------------------- scalars modulo the group order L */

/* r = x mod L for x given as `words` little-endian 32-bit words; Horner, one bit at a time. */
static inline void vc_sc_reduce_words(uint32_t r[8], const uint32_t *x, size_t words) {
    /* L = 2^252 + 27742317777372353535851937790883648493 */
    static const uint32_t L[8] = {0x5cf5d3ed, 0x5812631a, 0xa2f79cd6, 0x14def9de, 0x00000000, 0x00000000, 0x00000000, 0x10000000};
    memset(r, 0, 8 * sizeof(uint32_t));
    for (size_t bit = 32 * words; bit-- > 0;) {
        /* r < L < 2^253, so 2 r + 1 fits in 8 words. */
        for (int k = 7; k > 0; k--) r[k] = r[k] << 1 | r[k - 1] >> 31;
        r[0] = r[0] << 1 | ((x[bit / 32] >> (bit % 32)) & 1);
        uint32_t t[8], borrow = 0;
        for (int k = 0; k < 8; k++) {
            uint64_t difference = (uint64_t)r[k] - L[k] - borrow;
            t[k] = (uint32_t)difference;
            borrow = (uint32_t)(difference >> 63);
        }
        uint32_t keep_t = borrow - 1; /* all ones when r >= L */
        for (int k = 0; k < 8; k++) r[k] = (t[k] & keep_t) | (r[k] & ~keep_t);
    }
}

static inline void vc_sc_to_bytes(unsigned char s[32], const uint32_t r[8]) {
    for (int k = 0; k < 8; k++) vc_own_store_le32(s + 4 * k, r[k]);
}

/* s = (64-byte little-endian number) mod L */
static inline void vc_sc_reduce64(unsigned char s[32], const unsigned char x[64]) {
    uint32_t words[16], r[8];
    for (int k = 0; k < 16; k++) words[k] = vc_own_load_le32(x + 4 * k);
    vc_sc_reduce_words(r, words, 16);
    vc_sc_to_bytes(s, r);
}

/* s = (a b + c) mod L for 32-byte little-endian scalars. */
static inline void vc_sc_mul_add(unsigned char s[32], const unsigned char a[32], const unsigned char b[32], const unsigned char c[32]) {
    uint32_t aw[8], bw[8], product[16] = {0}, r[8];
    for (int k = 0; k < 8; k++) {
        aw[k] = vc_own_load_le32(a + 4 * k);
        bw[k] = vc_own_load_le32(b + 4 * k);
        product[k] = vc_own_load_le32(c + 4 * k);
    }
    for (int i = 0; i < 8; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < 8; j++) {
            uint64_t t = (uint64_t)aw[i] * bw[j] + product[i + j] + carry;
            product[i + j] = (uint32_t)t;
            carry = t >> 32;
        }
        for (int k = i + 8; k < 16; k++) {
            uint64_t t = (uint64_t)product[k] + carry;
            product[k] = (uint32_t)t;
            carry = t >> 32;
        }
    }
    vc_sc_reduce_words(r, product, 16);
    vc_sc_to_bytes(s, r);
}

/* --------------------------------------------------------------------------------------------- Ed25519 */

/* A signing key expanded from its 32-byte seed (RFC 8032 5.1.5): the scalar, the nonce prefix, the public key. */
typedef struct {
    unsigned char scalar[32], prefix[32], public_key[32];
} vc_ed25519_key;

static inline void vc_ed25519_key_from_seed(vc_ed25519_key *key, const unsigned char seed[32]) {
    unsigned char h[64];
    vc_sha512(seed, 32, h);
    h[0] &= 248;
    h[31] &= 127;
    h[31] |= 64;
    memcpy(key->scalar, h, 32);
    memcpy(key->prefix, h + 32, 32);
    vc_ge a;
    vc_ge_scalar_mult_base(&a, key->scalar);
    vc_ge_encode(key->public_key, &a);
}

/* The 64-byte signature R || S of `length` bytes at `message` (RFC 8032 5.1.6). */
static inline void vc_ed25519_sign(const vc_ed25519_key *key, const void *message, size_t length, unsigned char signature[64]) {
    unsigned char digest[64], r[32], k[32];
    vc_sha512_ctx ctx;
    vc_sha512_init(&ctx);
    vc_sha512_update(&ctx, key->prefix, 32);
    vc_sha512_update(&ctx, message, length);
    vc_sha512_final(&ctx, digest);
    vc_sc_reduce64(r, digest);
    vc_ge point;
    vc_ge_scalar_mult_base(&point, r);
    vc_ge_encode(signature, &point);
    vc_sha512_init(&ctx);
    vc_sha512_update(&ctx, signature, 32);
    vc_sha512_update(&ctx, key->public_key, 32);
    vc_sha512_update(&ctx, message, length);
    vc_sha512_final(&ctx, digest);
    vc_sc_reduce64(k, digest);
    vc_sc_mul_add(signature + 32, k, key->scalar, r);
}

#endif
