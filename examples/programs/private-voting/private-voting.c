/*
 * Private voting: counts the voters' ballots and publishes, signed by a key made inside the isolate, the tally
 * and a bulletin of commitments in which every voter finds its own ballot without learning anyone else's.
 *
 * Inputs:  /input/election.dat       options u32 (1..1024)
 *          /input/ballots/<voter>    choice u32 (0..options-1), then a 32-byte nonce the voter chose (36 bytes)
 * Outputs: /output/tally.json        {"options":n,"counts":[...],"invalid":m,"ballots":b} + "\n": votes per option,
 *                                    ballots of the wrong size or with a choice out of range, ballot files read
 *          /output/bulletin.dat      the valid ballots' commitments SHA-256(nonce || choice u32 LE), 32 bytes each,
 *                                    sorted bytewise (in no voter's order)
 *          /output/election-key.pub  the Ed25519 public key (32 bytes) of a key generated for this run
 *          /output/bulletin.sig      its Ed25519 signature (64 bytes) of SHA-256(tally.json || bulletin.dat)
 *
 * The signing key is made for SIGN_MESSAGE only and is not exportable: the program checks that exporting it is
 * refused (PERM), so no one, the program included, ever holds its private half.
 *
 * Exit codes: 0 success, 1 a crypto call failed (or exporting the key was not refused), 2 election.dat or the
 * ballots directory is missing, 3 election.dat is malformed, 4 an output cannot be written.
 */
#include "vc.h"

#include "vc_io.h"

enum { BALLOT_SIZE = 36, NONCE_SIZE = 32, COMMITMENT_SIZE = 32, MAX_OPTIONS = 1024 };

static void check(vc_status status, const char *what) {
    if (status != VC_OK) vc_fail(VC_EXIT_FAILURE, "%s: %s", what, vc_strerror(status));
}

static void write_output(const char *path, const void *data, size_t length) {
    vc_status status = vc_write_file(path, data, length);
    if (status != VC_OK) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write %s: %s", path, strerror(status));
}

static int compare_commitments(const void *a, const void *b) { return memcmp(a, b, COMMITMENT_SIZE); }

int main(void) {
    size_t length;
    unsigned char *election = vc_try_read_file("/input/election.dat", &length);
    if (election == NULL) vc_fail(VC_EXIT_MISSING_INPUT, "cannot read /input/election.dat: %s", strerror(errno));
    if (length != 4) vc_fail(VC_EXIT_MALFORMED_INPUT, "election.dat: %zu bytes, expected a u32", length);
    uint32_t options = vc_get_u32(election);
    if (options < 1 || options > MAX_OPTIONS) vc_fail(VC_EXIT_MALFORMED_INPUT, "election.dat: %u options, expected 1..%d", options, MAX_OPTIONS);
    free(election);

    size_t ballots;
    char **voters = vc_list_directory("/input/ballots", &ballots, VC_EXIT_MISSING_INPUT);
    uint64_t *counts = calloc(options, sizeof *counts);
    unsigned char *bulletin = vc_alloc(ballots * COMMITMENT_SIZE);
    if (counts == NULL) vc_fail(VC_EXIT_FAILURE, "out of memory");
    size_t valid = 0, invalid = 0;
    char path[512];
    for (size_t i = 0; i < ballots; i++) {
        snprintf(path, sizeof path, "/input/ballots/%s", voters[i]);
        unsigned char *ballot = vc_try_read_file(path, &length);
        if (ballot == NULL) vc_fail(VC_EXIT_MISSING_INPUT, "cannot read %s: %s", path, strerror(errno));
        uint32_t choice = length == BALLOT_SIZE ? vc_get_u32(ballot) : options;
        if (choice >= options) {
            /* A spoilt ballot is counted as such, not fatal: one voter cannot stop the election. */
            invalid++;
        } else {
            counts[choice]++;
            /* The commitment: SHA-256(nonce || choice u32 LE), by the isolate's hash. */
            unsigned char preimage[NONCE_SIZE + 4];
            memcpy(preimage, ballot + 4, NONCE_SIZE);
            vc_put_u32(preimage + NONCE_SIZE, choice);
            check(vc_hash(VC_ALG_SHA_256, preimage, sizeof preimage, bulletin + valid * COMMITMENT_SIZE, COMMITMENT_SIZE, NULL), "hash");
            valid++;
        }
        free(ballot);
        free(voters[i]);
    }
    free(voters);
    /* Sorted, the bulletin keeps no trace of the order of the voters' names. */
    qsort(bulletin, valid, COMMITMENT_SIZE, compare_commitments);

    size_t capacity = 96 + 21 * (size_t)options, used = 0;
    char *tally = vc_alloc(capacity);
    used += (size_t)snprintf(tally + used, capacity - used, "{\"options\":%u,\"counts\":[", options);
    for (uint32_t option = 0; option < options; option++) {
        used += (size_t)snprintf(tally + used, capacity - used, option == 0 ? "%llu" : ",%llu", (unsigned long long)counts[option]);
    }
    used += (size_t)snprintf(tally + used, capacity - used, "],\"invalid\":%zu,\"ballots\":%zu}\n", invalid, ballots);

    /* The election key: Ed25519, for signing only, never exportable. */
    vc_key key;
    check(vc_key_generate(VC_KEY_TYPE_ECC_KEY_PAIR(VC_ECC_FAMILY_TWISTED_EDWARDS), 255, VC_USAGE_SIGN_MESSAGE, VC_ALG_PURE_EDDSA, &key), "key_generate");
    unsigned char secret[64];
    size_t secret_length = 0;
    vc_status exported = vc_key_export(key, secret, sizeof secret, &secret_length);
    if (exported != VC_EPERM) vc_fail(VC_EXIT_FAILURE, "exporting the election key was not refused: %s", vc_strerror(exported));
    unsigned char public_key[32];
    size_t public_length = 0;
    check(vc_key_export_public(key, public_key, sizeof public_key, &public_length), "key_export_public");
    if (public_length != sizeof public_key) vc_fail(VC_EXIT_FAILURE, "key_export_public gave %zu bytes", public_length);

    /* The signature covers both files at once: SHA-256(tally.json || bulletin.dat). */
    unsigned char *signed_bytes = vc_alloc(used + valid * COMMITMENT_SIZE), digest[32], signature[64];
    memcpy(signed_bytes, tally, used);
    memcpy(signed_bytes + used, bulletin, valid * COMMITMENT_SIZE);
    check(vc_hash(VC_ALG_SHA_256, signed_bytes, used + valid * COMMITMENT_SIZE, digest, sizeof digest, NULL), "hash");
    size_t signature_length = 0;
    check(vc_sign_message(key, VC_ALG_PURE_EDDSA, digest, sizeof digest, signature, sizeof signature, &signature_length), "sign_message");
    check(vc_key_destroy(key), "key_destroy");

    write_output("/output/tally.json", tally, used);
    write_output("/output/bulletin.dat", bulletin, valid * COMMITMENT_SIZE);
    write_output("/output/election-key.pub", public_key, sizeof public_key);
    write_output("/output/bulletin.sig", signature, signature_length);
    free(signed_bytes);
    free(tally);
    free(bulletin);
    free(counts);
    return 0;
}
