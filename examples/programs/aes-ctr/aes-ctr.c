/*
 * AES-CTR through the "Counter mode AES Service": encrypts the NIST SP 800-38A F.5.1 (AES-128-CTR) plaintext
 * and decrypts the result, each by writing a request to the service file, and checks both against the
 * known-answer vector.
 *
 * Files written (so the program needs write rights on /output/ and /services/aesctr.dat, read on /output/):
 *   /output/aesctr-plaintext.dat, /output/aesctr-ciphertext.dat, /output/aesctr-decrypted.dat  working files;
 *   /output/aesctr_pass.txt  "pass\n" on success (otherwise the program exits with 1).
 *
 * Request (postcard): key [16], iv [16], input path (LEB128 length + UTF-8), output path (same), encrypt (1 byte).
 * The service appends its output, so each output file is emptied first.
 */
#include <fcntl.h>
#include <unistd.h>

#include "vc_io.h"

static const unsigned char KEY[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
static const unsigned char COUNTER[16] = {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff};
static const unsigned char PLAINTEXT[64] = {
    0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a,
    0xae, 0x2d, 0x8a, 0x57, 0x1e, 0x03, 0xac, 0x9c, 0x9e, 0xb7, 0x6f, 0xac, 0x45, 0xaf, 0x8e, 0x51,
    0x30, 0xc8, 0x1c, 0x46, 0xa3, 0x5c, 0xe4, 0x11, 0xe5, 0xfb, 0xc1, 0x19, 0x1a, 0x0a, 0x52, 0xef,
    0xf6, 0x9f, 0x24, 0x45, 0xdf, 0x4f, 0x9b, 0x17, 0xad, 0x2b, 0x41, 0x7b, 0xe6, 0x6c, 0x37, 0x10,
};
static const unsigned char CIPHERTEXT[64] = {
    0x87, 0x4d, 0x61, 0x91, 0xb6, 0x20, 0xe3, 0x26, 0x1b, 0xef, 0x68, 0x64, 0x99, 0x0d, 0xb6, 0xce,
    0x98, 0x06, 0xf6, 0x6b, 0x79, 0x70, 0xfd, 0xff, 0x86, 0x17, 0x18, 0x7b, 0xb9, 0xff, 0xfd, 0xff,
    0x5a, 0xe4, 0xdf, 0x3e, 0xdb, 0xd5, 0xd3, 0x5e, 0x5b, 0x4f, 0x09, 0x02, 0x0d, 0xb0, 0x3e, 0xab,
    0x1e, 0x03, 0x1d, 0xda, 0x2f, 0xbe, 0x03, 0xd1, 0x79, 0x21, 0x70, 0xa0, 0xf3, 0x00, 0x9c, 0xee,
};

static const char *const SERVICE = "/services/aesctr.dat";

static size_t put_string(unsigned char *out, const char *text) {
    size_t length = strlen(text), used = 0;
    size_t remaining = length;
    do {
        unsigned char byte = remaining & 0x7f;
        remaining >>= 7;
        out[used++] = byte | (remaining ? 0x80 : 0);
    } while (remaining);
    memcpy(out + used, text, length);
    return used + length;
}

/* Asks the service to run AES-128-CTR over `input` and append the result to `output`. */
static void call_service(const char *input, const char *output, int encrypt) {
    unsigned char request[512];
    size_t used = 0;
    memcpy(request, KEY, 16);
    memcpy(request + 16, COUNTER, 16);
    used = 32;
    used += put_string(request + used, input);
    used += put_string(request + used, output);
    request[used++] = encrypt ? 1 : 0;

    int fd = open(SERVICE, O_WRONLY);
    if (fd < 0) vc_fail(VC_EXIT_FAILURE, "cannot open %s: %s", SERVICE, strerror(errno));
    /* One write: the service parses the whole buffer on every write. */
    ssize_t written = write(fd, request, used);
    if (written != (ssize_t)used) vc_fail(VC_EXIT_FAILURE, "cannot write the request to %s: %s", SERVICE, strerror(errno));
    close(fd);
}

static void expect(const char *path, const unsigned char *expected, size_t expected_length) {
    size_t length;
    unsigned char *actual = vc_read_file(path, &length);
    if (length != expected_length) vc_fail(VC_EXIT_FAILURE, "%s: %zu bytes, expected %zu", path, length, expected_length);
    if (memcmp(actual, expected, length) != 0) vc_fail(VC_EXIT_FAILURE, "%s: does not match the known answer", path);
    free(actual);
}

int main(void) {
    vc_write_file("/output/aesctr-plaintext.dat", PLAINTEXT, sizeof PLAINTEXT);
    vc_write_file("/output/aesctr-ciphertext.dat", "", 0);
    call_service("/output/aesctr-plaintext.dat", "/output/aesctr-ciphertext.dat", 1);
    expect("/output/aesctr-ciphertext.dat", CIPHERTEXT, sizeof CIPHERTEXT);

    vc_write_file("/output/aesctr-decrypted.dat", "", 0);
    call_service("/output/aesctr-ciphertext.dat", "/output/aesctr-decrypted.dat", 0);
    expect("/output/aesctr-decrypted.dat", PLAINTEXT, sizeof PLAINTEXT);

    vc_write_file("/output/aesctr_pass.txt", "pass\n", 5);
    return 0;
}
