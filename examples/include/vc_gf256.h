/*
 * GF(2^8), the AES field (polynomial x^8 + x^4 + x^3 + x + 1), by exponent and logarithm tables: what
 * Shamir secret sharing computes in, one byte at a time. Call vc_gf256_init() once before the rest.
 */
#ifndef VC_GF256_H
#define VC_GF256_H

#include <stdint.h>

static uint8_t vc_gf256_exp[510], vc_gf256_log[256];

static void vc_gf256_init(void) {
    uint8_t value = 1;
    for (int i = 0; i < 255; i++) {
        vc_gf256_exp[i] = vc_gf256_exp[i + 255] = value;
        vc_gf256_log[value] = (uint8_t)i;
        /* Multiply by the generator 3 = x + 1. */
        uint8_t doubled = (uint8_t)(value << 1) ^ (value & 0x80 ? 0x1B : 0);
        value ^= doubled;
    }
}

static inline uint8_t vc_gf256_mul(uint8_t a, uint8_t b) {
    if (a == 0 || b == 0) return 0;
    return vc_gf256_exp[vc_gf256_log[a] + vc_gf256_log[b]];
}

/* a / b, for b non-zero. */
static inline uint8_t vc_gf256_div(uint8_t a, uint8_t b) {
    if (a == 0) return 0;
    return vc_gf256_exp[vc_gf256_log[a] + 255 - vc_gf256_log[b]];
}

#endif
