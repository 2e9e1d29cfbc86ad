/*
 * Shamir sharing with the receivers chosen from the data, and the rights narrowed to match.
 *
 * Inputs:  /input/scores/<id>   one file per custodian, named by its subject id in the policy (decimal):
 *                               a u32 score (little-endian)
 *          /input/secret.dat    the secret (any bytes)
 *          /input/params.dat    k u32 (receivers), t u32 (threshold), 1 <= t <= k <= 255
 * Outputs: /output/shares/<id>  for each of the k custodians with the highest scores (ties: lower id first):
 *                               x u8 (1..k, in that order) then the secret's bytes split over GF(2^8) (the AES
 *                               field, as shamir-secret-sharing reads them), threshold t, coefficients from
 *                               veracruz_crypto_v1.random
 *          /output/receivers.json  {"receivers":[ids],"k":k,"t":t} and a newline
 *          /output/receivers.sig   receivers.json signed by the isolate (veracruz_v1.result_sign)
 *
 * Then, through veracruz_v1, for the rest of the computation: each chosen custodian may read its own share and
 * no other; every other subject (excluded custodians, other principals, programs) loses every right on
 * /output/shares/; nobody may modify /output/shares/ or /output/receivers.json any more.
 */
#include "vc.h"
#include "vc_gf256.h"
#include "vc_io.h"

typedef struct {
    uint32_t id;
    uint32_t score;
} custodian;

/* Highest score first; among equal scores, the lower id. */
static int by_rank(const void *a, const void *b) {
    const custodian *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Reads a whole input file, or ends the program (2 when it cannot be read). */
static uint8_t *read_input(const char *path, size_t *length) {
    uint8_t *data = NULL;
    vc_status status = vc_read_file(path, &data, length);
    if (status == VC_ENOMEM) vc_fail(VC_EXIT_FAILURE, "out of memory reading %s", path);
    if (status != VC_OK) vc_fail(VC_EXIT_MISSING_INPUT, "cannot read %s: %s", path, vc_strerror(status));
    return data;
}

/* Parses a subject id written in decimal without leading zeros; false if it is not one. */
static bool parse_id(const char *name, uint32_t *id) {
    size_t length = strlen(name);
    if (length == 0 || length > 10 || (name[0] == '0' && length > 1)) return false;
    uint64_t value = 0;
    for (size_t i = 0; i < length; i++) {
        if (name[i] < '0' || name[i] > '9') return false;
        value = value * 10 + (uint64_t)(name[i] - '0');
    }
    if (value > UINT32_MAX) return false;
    *id = (uint32_t)value;
    return true;
}

/* Ends the program when a veracruz_v1 call failed: the computation could not be narrowed as promised. */
static void require(vc_status status, const char *what, const char *path) {
    if (status != VC_OK) vc_fail(VC_EXIT_FAILURE, "%s %s: %s", what, path, vc_strerror(status));
}

int main(void) {
    vc_gf256_init();

    size_t params_length = 0;
    uint8_t *params = read_input("/input/params.dat", &params_length);
    if (params_length != 8) vc_fail(VC_EXIT_MALFORMED_INPUT, "/input/params.dat: %zu bytes, expected 8 (k u32, t u32)", params_length);
    uint32_t k = vc_get_u32(params), t = vc_get_u32(params + 4);
    free(params);
    if (k < 1 || k > 255 || t < 1 || t > k) vc_fail(VC_EXIT_MALFORMED_INPUT, "/input/params.dat: need 1 <= t <= k <= 255, got k = %u, t = %u", k, t);

    size_t secret_length = 0;
    uint8_t *secret = read_input("/input/secret.dat", &secret_length);

    uint32_t *subjects = NULL;
    size_t subject_count = 0;
    require(vc_subjects_list(&subjects, &subject_count), "cannot list the subjects", "");

    /* The custodians: one score file each, named by a principal's id. */
    size_t count = 0;
    char **names = vc_list_directory("/input/scores", &count, VC_EXIT_MISSING_INPUT);
    custodian *custodians = vc_alloc(count * sizeof *custodians);
    for (size_t i = 0; i < count; i++) {
        uint32_t id = 0;
        if (!parse_id(names[i], &id) || id >= VC_SUBJECT_PROGRAM(0)) vc_fail(VC_EXIT_MALFORMED_INPUT, "/input/scores/%s: not a principal's id", names[i]);
        bool known = false;
        for (size_t s = 0; s < subject_count && !known; s++) known = subjects[s] == id;
        if (!known) vc_fail(VC_EXIT_MALFORMED_INPUT, "/input/scores/%s: no principal has that id", names[i]);
        char path[64];
        snprintf(path, sizeof path, "/input/scores/%s", names[i]);
        size_t length = 0;
        uint8_t *score = read_input(path, &length);
        if (length != 4) vc_fail(VC_EXIT_MALFORMED_INPUT, "%s: %zu bytes, expected a u32", path, length);
        custodians[i] = (custodian){id, vc_get_u32(score)};
        free(score);
    }
    if (k > count) vc_fail(VC_EXIT_MALFORMED_INPUT, "k = %u receivers, but only %zu custodians", k, count);
    qsort(custodians, count, sizeof *custodians, by_rank);

    /* Share i (x = i + 1) goes to the i-th ranked custodian; y = a0 + a1 x + ... over GF(2^8), a0 the secret byte. */
    uint8_t **shares = vc_alloc(k * sizeof *shares);
    for (uint32_t i = 0; i < k; i++) {
        shares[i] = vc_alloc(secret_length + 1);
        shares[i][0] = (uint8_t)(i + 1);
    }
    enum { CHUNK = 4096 };
    uint8_t *coefficients = vc_alloc((size_t)(t - 1) * CHUNK);
    for (size_t start = 0; start < secret_length; start += CHUNK) {
        size_t chunk = secret_length - start < CHUNK ? secret_length - start : CHUNK;
        vc_status status = vc_random(coefficients, (size_t)(t - 1) * chunk);
        if (status != VC_OK) vc_fail(VC_EXIT_FAILURE, "random: %s", vc_strerror(status));
        for (uint32_t i = 0; i < k; i++) {
            uint8_t x = (uint8_t)(i + 1), *y = shares[i] + 1 + start;
            for (size_t b = 0; b < chunk; b++) {
                const uint8_t *a = coefficients + b * (t - 1);
                uint8_t value = 0;
                for (uint32_t c = t - 1; c >= 1; c--) value = vc_gf256_mul((uint8_t)(value ^ a[c - 1]), x);
                y[b] = value ^ secret[start + b];
            }
        }
    }
    free(coefficients);

    char path[64];
    for (uint32_t i = 0; i < k; i++) {
        snprintf(path, sizeof path, "/output/shares/%u", custodians[i].id);
        vc_status status = vc_write_file(path, shares[i], secret_length + 1);
        if (status != VC_OK) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write %s: %s", path, vc_strerror(status));
    }
    /* {"receivers":[...],"k":..,"t":..}: at most 255 ids of 10 digits and their commas. */
    char json[255 * 11 + 64];
    size_t used = (size_t)snprintf(json, sizeof json, "{\"receivers\":[");
    for (uint32_t i = 0; i < k; i++) used += (size_t)snprintf(json + used, sizeof json - used, "%s%u", i == 0 ? "" : ",", custodians[i].id);
    used += (size_t)snprintf(json + used, sizeof json - used, "],\"k\":%u,\"t\":%u}\n", k, t);
    vc_status status = vc_write_file("/output/receivers.json", json, used);
    if (status != VC_OK) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write /output/receivers.json: %s", vc_strerror(status));

    /* Narrowing: each chosen custodian keeps its own share only; everyone else loses /output/shares/ entirely. */
    for (size_t s = 0; s < subject_count; s++) {
        uint32_t subject = subjects[s];
        bool chosen = false;
        for (uint32_t i = 0; i < k && !chosen; i++) chosen = custodians[i].id == subject;
        if (!chosen) {
            require(vc_rights_remove(subject, "/output/shares/", UINT32_MAX), "cannot narrow rights on", "/output/shares/");
            continue;
        }
        for (uint32_t i = 0; i < k; i++) {
            if (custodians[i].id == subject) continue;
            snprintf(path, sizeof path, "/output/shares/%u", custodians[i].id);
            require(vc_rights_remove(subject, path, UINT32_MAX), "cannot narrow rights on", path);
        }
    }
    require(vc_lock_writes("/output/shares/"), "cannot lock", "/output/shares/");
    require(vc_lock_writes("/output/receivers.json"), "cannot lock", "/output/receivers.json");

    /* What the narrowing promised: each share's only reader is its custodian. */
    for (uint32_t i = 0; i < k; i++) {
        snprintf(path, sizeof path, "/output/shares/%u", custodians[i].id);
        uint32_t *readers = NULL;
        size_t reader_count = 0;
        require(vc_readers_list(path, &readers, &reader_count), "cannot list the readers of", path);
        if (reader_count != 1 || readers[0] != custodians[i].id) {
            vc_fail(VC_EXIT_FAILURE, "%s: %zu readers, expected custodian %u alone (the policy must let it read its share)", path, reader_count,
                    custodians[i].id);
        }
        free(readers);
    }

    status = vc_result_sign("/output/receivers.json", "/output/receivers.sig");
    if (status != VC_OK) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot sign /output/receivers.json into /output/receivers.sig: %s", vc_strerror(status));
    return 0;
}
