/*
 * Shamir secret sharing: recovers a secret from its shares by Lagrange interpolation at x = 0 over GF(2^8)
 * (the AES field, polynomial x^8 + x^4 + x^3 + x + 1), independently for every byte.
 *
 * Inputs:  /input/shamir-0.dat, /input/shamir-1.dat, ...  read until the next one is missing; each share is one
 *          byte x (non-zero, distinct across shares) followed by the share bytes (same length in every share).
 * Output:  /output/shamir.dat  the secret bytes.
 */
#include "vc_gf256.h"
#include "vc_io.h"

int main(void) {
    vc_gf256_init();
    enum { MAX_SHARES = 255 };
    unsigned char *shares[MAX_SHARES];
    size_t count = 0, length = 0;
    for (;;) {
        char path[64];
        snprintf(path, sizeof path, "/input/shamir-%zu.dat", count);
        size_t share_length;
        unsigned char *share = vc_try_read_file(path, &share_length);
        if (share == NULL) break;
        if (count == MAX_SHARES) vc_fail(VC_EXIT_MALFORMED_INPUT, "more than %d shares", MAX_SHARES);
        if (share_length == 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: empty share", path);
        if (count > 0 && share_length != length + 1) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: %zu bytes, the first share has %zu", path, share_length, length + 1);
        if (share[0] == 0) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: share x coordinate is 0", path);
        for (size_t i = 0; i < count; i++) {
            if (shares[i][0] == share[0]) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: x coordinate %u repeats share %zu", path, share[0], i);
        }
        length = share_length - 1;
        shares[count++] = share;
    }
    if (count == 0) vc_fail(VC_EXIT_MISSING_INPUT, "no shares: cannot open /input/shamir-0.dat: %s", strerror(errno));

    /* Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i), and subtraction is xor in GF(2^8). */
    uint8_t basis[MAX_SHARES];
    for (size_t i = 0; i < count; i++) {
        uint8_t numerator = 1, denominator = 1;
        for (size_t j = 0; j < count; j++) {
            if (j == i) continue;
            numerator = vc_gf256_mul(numerator, shares[j][0]);
            denominator = vc_gf256_mul(denominator, shares[j][0] ^ shares[i][0]);
        }
        basis[i] = vc_gf256_div(numerator, denominator);
    }

    unsigned char *secret = vc_alloc(length);
    memset(secret, 0, length);
    for (size_t i = 0; i < count; i++) {
        const unsigned char *y = shares[i] + 1;
        if (basis[i] == 0) continue;
        unsigned log_basis = vc_gf256_log[basis[i]];
        for (size_t k = 0; k < length; k++) {
            if (y[k] != 0) secret[k] ^= vc_gf256_exp[vc_gf256_log[y[k]] + log_basis];
        }
    }
    vc_write_file("/output/shamir.dat", secret, length);
    return 0;
}
