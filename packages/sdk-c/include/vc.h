/*
 * vc.h: the C SDK for Veracruz-ts programs (header only, C99 or later, clang --target=wasm32-wasip1).
 *
 * Declares the imports of `veracruz_crypto_v1` (PSA-shaped cryptography) and `veracruz_v1` (the policy in
 * force, rights, narrowing, signed results) as `vc_raw_*` functions taking exactly the ABI's i32 arguments,
 * and a typed layer over them (`size_t` lengths, `vc_key` handles) with a few helpers. The contract is
 * docs/program-abi.md.
 *
 * Every function returns a vc_status: VC_OK (0) or a WASI errno (VC_E*). Variable-length outputs take
 * (out, out_size, out_len): *out_len receives the whole output's length even when out_size is too small
 * (VC_ENOBUFS, nothing written to out), so a caller may ask with out_size 0 first. out_len may be NULL.
 * The file helpers return wasi-libc's errno, which uses the same numbering.
 */
#ifndef VC_H
#define VC_H

#if !defined(__wasm32__)
#error "vc.h is for wasm32 programs (clang --target=wasm32-wasip1)"
#endif
#ifdef VC_IO_H
#error "include vc.h before vc_io.h (vc.h's file helpers take the place of vc_io.h's)"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------------------------------------------------
 * Types and constants
 * ------------------------------------------------------------------------------------------------------- */

/* A call's result: VC_OK or a WASI errno. */
typedef int32_t vc_status;
/* A key handle, valid in the run that made it only. */
typedef uint32_t vc_key;

/* A key's attributes, as key_attributes writes them (four u32). */
typedef struct {
    uint32_t type;
    uint32_t bits;
    uint32_t usage;
    uint32_t alg;
} vc_key_attrs;

/* Errno values (WASI preview1 numbering). */
#define VC_OK 0
#define VC_E2BIG 1
#define VC_EACCES 2
#define VC_EBADF 8
#define VC_EBADMSG 9
#define VC_EEXIST 20
#define VC_EFAULT 21
#define VC_EILSEQ 25
#define VC_EINVAL 28
#define VC_EIO 29
#define VC_EISDIR 31
#define VC_ENOBUFS 42
#define VC_ENOENT 44
#define VC_ENOMEM 48
#define VC_ENOSPC 51
#define VC_ENOTDIR 54
#define VC_ENOTSUP 58
#define VC_EPERM 63
#define VC_ENOTCAPABLE 76

/* Hash algorithms. */
#define VC_ALG_SHA_256 0x02000009u
#define VC_ALG_SHA_384 0x0200000au
#define VC_ALG_SHA_512 0x0200000bu
/* HMAC with hash h. */
#define VC_ALG_HMAC(h) (0x03800000u | ((uint32_t)(h) & 0xffu))
/* HKDF with hash h. */
#define VC_ALG_HKDF(h) (0x08000100u | ((uint32_t)(h) & 0xffu))
/* AES-GCM: 12-byte nonce, 16-byte tag. */
#define VC_ALG_GCM 0x05500200u
/* ChaCha20-Poly1305: 12-byte nonce, 16-byte tag. */
#define VC_ALG_CHACHA20_POLY1305 0x05100500u
/* ECDSA with hash h: signature r || s, each the curve's size, big-endian. */
#define VC_ALG_ECDSA(h) (0x06000600u | ((uint32_t)(h) & 0xffu))
/* Ed25519 (64-byte signatures). */
#define VC_ALG_PURE_EDDSA 0x06000800u
/* Raw ECDH (P-256, P-384, X25519). */
#define VC_ALG_ECDH 0x09020000u
/* Made for no operation (a key only to export). */
#define VC_ALG_NONE 0u

/* Elliptic curve families. */
#define VC_ECC_FAMILY_SECP_R1 0x12u
#define VC_ECC_FAMILY_MONTGOMERY 0x41u
#define VC_ECC_FAMILY_TWISTED_EDWARDS 0x42u

/* Key types. */
#define VC_KEY_TYPE_RAW_DATA 0x1001u
#define VC_KEY_TYPE_HMAC 0x1100u
#define VC_KEY_TYPE_DERIVE 0x1200u
#define VC_KEY_TYPE_AES 0x2400u
#define VC_KEY_TYPE_CHACHA20 0x2004u
/* Key pair of curve family f. */
#define VC_KEY_TYPE_ECC_KEY_PAIR(f) (0x7100u | ((uint32_t)(f) & 0xffu))
/* Public key of curve family f. */
#define VC_KEY_TYPE_ECC_PUBLIC_KEY(f) (0x4100u | ((uint32_t)(f) & 0xffu))

/* Usage flags (fixed when a key is made). */
#define VC_USAGE_EXPORT 0x1u
#define VC_USAGE_ENCRYPT 0x100u
#define VC_USAGE_DECRYPT 0x200u
#define VC_USAGE_SIGN_MESSAGE 0x400u
#define VC_USAGE_VERIFY_MESSAGE 0x800u
#define VC_USAGE_DERIVE 0x4000u

/* The subject id of the policy's i-th program (principals are named by their identity id). */
#define VC_SUBJECT_PROGRAM(i) (0x80000000u | (uint32_t)(i))

/* Rights bits (WASI rights; bit 29 is Veracruz's FD_EXECUTE). */
#define VC_RIGHT_FD_DATASYNC (1u << 0)
#define VC_RIGHT_FD_READ (1u << 1)
#define VC_RIGHT_FD_SEEK (1u << 2)
#define VC_RIGHT_FD_FDSTAT_SET_FLAGS (1u << 3)
#define VC_RIGHT_FD_SYNC (1u << 4)
#define VC_RIGHT_FD_TELL (1u << 5)
#define VC_RIGHT_FD_WRITE (1u << 6)
#define VC_RIGHT_FD_ADVISE (1u << 7)
#define VC_RIGHT_FD_ALLOCATE (1u << 8)
#define VC_RIGHT_PATH_CREATE_DIRECTORY (1u << 9)
#define VC_RIGHT_PATH_CREATE_FILE (1u << 10)
#define VC_RIGHT_PATH_LINK_SOURCE (1u << 11)
#define VC_RIGHT_PATH_LINK_TARGET (1u << 12)
#define VC_RIGHT_PATH_OPEN (1u << 13)
#define VC_RIGHT_FD_READDIR (1u << 14)
#define VC_RIGHT_PATH_READLINK (1u << 15)
#define VC_RIGHT_PATH_RENAME_SOURCE (1u << 16)
#define VC_RIGHT_PATH_RENAME_TARGET (1u << 17)
#define VC_RIGHT_PATH_FILESTAT_GET (1u << 18)
#define VC_RIGHT_PATH_FILESTAT_SET_SIZE (1u << 19)
#define VC_RIGHT_PATH_FILESTAT_SET_TIMES (1u << 20)
#define VC_RIGHT_FD_FILESTAT_GET (1u << 21)
#define VC_RIGHT_FD_FILESTAT_SET_SIZE (1u << 22)
#define VC_RIGHT_FD_FILESTAT_SET_TIMES (1u << 23)
#define VC_RIGHT_PATH_SYMLINK (1u << 24)
#define VC_RIGHT_PATH_REMOVE_DIRECTORY (1u << 25)
#define VC_RIGHT_PATH_UNLINK_FILE (1u << 26)
#define VC_RIGHT_POLL_FD_READWRITE (1u << 27)
#define VC_RIGHT_SOCK_SHUTDOWN (1u << 28)
#define VC_RIGHT_FD_EXECUTE (1u << 29)
/* The policy shorthands: r, w and x. */
#define VC_RIGHT_READ 24582u
#define VC_RIGHT_WRITE 534084u
#define VC_RIGHT_EXECUTE 536879108u
/*
 * The bits that change a file or directory: the w shorthand's bits that r does not hold (FD_WRITE,
 * PATH_CREATE_FILE, PATH_CREATE_DIRECTORY, PATH_FILESTAT_SET_SIZE) and every other bit that writes,
 * truncates, renames, removes or links over. What vc_lock_writes removes.
 */
#define VC_RIGHT_MODIFY                                                                                   \
    (VC_RIGHT_FD_WRITE | VC_RIGHT_FD_ALLOCATE | VC_RIGHT_PATH_CREATE_DIRECTORY | VC_RIGHT_PATH_CREATE_FILE | \
     VC_RIGHT_PATH_LINK_TARGET | VC_RIGHT_PATH_RENAME_SOURCE | VC_RIGHT_PATH_RENAME_TARGET |                \
     VC_RIGHT_PATH_FILESTAT_SET_SIZE | VC_RIGHT_PATH_FILESTAT_SET_TIMES | VC_RIGHT_FD_FILESTAT_SET_SIZE |    \
     VC_RIGHT_FD_FILESTAT_SET_TIMES | VC_RIGHT_PATH_SYMLINK | VC_RIGHT_PATH_REMOVE_DIRECTORY |              \
     VC_RIGHT_PATH_UNLINK_FILE)

/* Length of a SHA-256 digest (policy_hash's output). */
#define VC_SHA_256_LENGTH 32u
/* Length of an AEAD nonce (GCM, ChaCha20-Poly1305). */
#define VC_AEAD_NONCE_LENGTH 12u
/* Length of an AEAD tag. */
#define VC_AEAD_TAG_LENGTH 16u

/* ---------------------------------------------------------------------------------------------------------
 * Raw imports: the ABI's functions exactly (pointers and lengths are i32).
 * ------------------------------------------------------------------------------------------------------- */

#define VC_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

/* veracruz_crypto_v1.random: len bytes from the isolate's CSPRNG. */
VC_IMPORT("veracruz_crypto_v1", "random") int32_t vc_raw_crypto_random(void *buf, uint32_t len);
/* veracruz_crypto_v1.hash: SHA-256/384/512 of the input. */
VC_IMPORT("veracruz_crypto_v1", "hash")
int32_t vc_raw_crypto_hash(uint32_t alg, const void *in, uint32_t in_len, void *out, uint32_t out_size, uint32_t *out_len);
/* veracruz_crypto_v1.key_generate: a new random key, its handle at *key. */
VC_IMPORT("veracruz_crypto_v1", "key_generate")
int32_t vc_raw_crypto_key_generate(uint32_t type, uint32_t bits, uint32_t usage, uint32_t alg, uint32_t *key);
/* veracruz_crypto_v1.key_import: a key from its data (bits 0: from the data's length). */
VC_IMPORT("veracruz_crypto_v1", "key_import")
int32_t vc_raw_crypto_key_import(uint32_t type, uint32_t bits, uint32_t usage, uint32_t alg, const void *data, uint32_t data_len, uint32_t *key);
/* veracruz_crypto_v1.key_export: the key's data (EPERM unless made with VC_USAGE_EXPORT). */
VC_IMPORT("veracruz_crypto_v1", "key_export")
int32_t vc_raw_crypto_key_export(uint32_t key, void *out, uint32_t out_size, uint32_t *out_len);
/* veracruz_crypto_v1.key_export_public: the public key of a key pair or public key. */
VC_IMPORT("veracruz_crypto_v1", "key_export_public")
int32_t vc_raw_crypto_key_export_public(uint32_t key, void *out, uint32_t out_size, uint32_t *out_len);
/* veracruz_crypto_v1.key_attributes: type, bits, usage, alg as four u32 at out. */
VC_IMPORT("veracruz_crypto_v1", "key_attributes") int32_t vc_raw_crypto_key_attributes(uint32_t key, void *out);
/* veracruz_crypto_v1.key_destroy: forgets the key. */
VC_IMPORT("veracruz_crypto_v1", "key_destroy") int32_t vc_raw_crypto_key_destroy(uint32_t key);
/* veracruz_crypto_v1.mac_compute: HMAC (usage SIGN_MESSAGE). */
VC_IMPORT("veracruz_crypto_v1", "mac_compute")
int32_t vc_raw_crypto_mac_compute(uint32_t key, uint32_t alg, const void *in, uint32_t in_len, void *out, uint32_t out_size, uint32_t *out_len);
/* veracruz_crypto_v1.mac_verify: EBADMSG unless the MAC matches (usage VERIFY_MESSAGE). */
VC_IMPORT("veracruz_crypto_v1", "mac_verify")
int32_t vc_raw_crypto_mac_verify(uint32_t key, uint32_t alg, const void *in, uint32_t in_len, const void *mac, uint32_t mac_len);
/* veracruz_crypto_v1.aead_encrypt: ciphertext || tag (usage ENCRYPT). */
VC_IMPORT("veracruz_crypto_v1", "aead_encrypt")
int32_t vc_raw_crypto_aead_encrypt(uint32_t key, uint32_t alg, const void *nonce, uint32_t nonce_len, const void *aad, uint32_t aad_len,
                                   const void *in, uint32_t in_len, void *out, uint32_t out_size, uint32_t *out_len);
/* veracruz_crypto_v1.aead_decrypt: the plaintext, or EBADMSG with nothing written (usage DECRYPT). */
VC_IMPORT("veracruz_crypto_v1", "aead_decrypt")
int32_t vc_raw_crypto_aead_decrypt(uint32_t key, uint32_t alg, const void *nonce, uint32_t nonce_len, const void *aad, uint32_t aad_len,
                                   const void *in, uint32_t in_len, void *out, uint32_t out_size, uint32_t *out_len);
/* veracruz_crypto_v1.sign_message: ECDSA or Ed25519 signature (usage SIGN_MESSAGE). */
VC_IMPORT("veracruz_crypto_v1", "sign_message")
int32_t vc_raw_crypto_sign_message(uint32_t key, uint32_t alg, const void *in, uint32_t in_len, void *sig, uint32_t sig_size, uint32_t *sig_len);
/* veracruz_crypto_v1.verify_message: EBADMSG unless the signature verifies (usage VERIFY_MESSAGE). */
VC_IMPORT("veracruz_crypto_v1", "verify_message")
int32_t vc_raw_crypto_verify_message(uint32_t key, uint32_t alg, const void *in, uint32_t in_len, const void *sig, uint32_t sig_len);
/* veracruz_crypto_v1.key_agreement: raw ECDH shared secret with a peer's public key (usage DERIVE). */
VC_IMPORT("veracruz_crypto_v1", "key_agreement")
int32_t vc_raw_crypto_key_agreement(uint32_t key, uint32_t alg, const void *peer, uint32_t peer_len, void *out, uint32_t out_size, uint32_t *out_len);
/* veracruz_crypto_v1.key_derive: HKDF to a new symmetric key (usage DERIVE). */
VC_IMPORT("veracruz_crypto_v1", "key_derive")
int32_t vc_raw_crypto_key_derive(uint32_t key, uint32_t alg, const void *salt, uint32_t salt_len, const void *info, uint32_t info_len, uint32_t type,
                                 uint32_t bits, uint32_t usage, uint32_t key_alg, uint32_t *derived);
/* veracruz_crypto_v1.derive_bytes: HKDF output bytes (usage DERIVE). */
VC_IMPORT("veracruz_crypto_v1", "derive_bytes")
int32_t vc_raw_crypto_derive_bytes(uint32_t key, uint32_t alg, const void *salt, uint32_t salt_len, const void *info, uint32_t info_len, void *out,
                                   uint32_t out_len);

/* veracruz_v1.policy_get: the policy's exact bytes. */
VC_IMPORT("veracruz_v1", "policy_get") int32_t vc_raw_policy_get(void *out, uint32_t out_size, uint32_t *out_len);
/* veracruz_v1.policy_hash: the policy's SHA-256 (32 bytes at out). */
VC_IMPORT("veracruz_v1", "policy_hash") int32_t vc_raw_policy_hash(void *out);
/* veracruz_v1.subjects: every subject id (principals, then programs); ENOBUFS if more than out_count. */
VC_IMPORT("veracruz_v1", "subjects") int32_t vc_raw_subjects(uint32_t *out, uint32_t out_count, uint32_t *count);
/* veracruz_v1.rights_get: the rights in force of subject on path (ENOENT: no such subject). */
VC_IMPORT("veracruz_v1", "rights_get") int32_t vc_raw_rights_get(uint32_t subject, const void *path, uint32_t path_len, uint32_t *rights);
/* veracruz_v1.readers: the principals that may read path now. */
VC_IMPORT("veracruz_v1", "readers")
int32_t vc_raw_readers(const void *path, uint32_t path_len, uint32_t *out, uint32_t out_count, uint32_t *count);
/* veracruz_v1.rights_narrow: subject holds exactly rights on path and below (EPERM for a widening). */
VC_IMPORT("veracruz_v1", "rights_narrow") int32_t vc_raw_rights_narrow(uint32_t subject, const void *path, uint32_t path_len, uint32_t rights);
/* veracruz_v1.result_sign: signs the file at path, writing the signed-result envelope to out_path. */
VC_IMPORT("veracruz_v1", "result_sign")
int32_t vc_raw_result_sign(const void *path, uint32_t path_len, const void *out_path, uint32_t out_path_len);

#undef VC_IMPORT

/* ---------------------------------------------------------------------------------------------------------
 * Typed layer
 * ------------------------------------------------------------------------------------------------------- */

/* Passes on the output length a raw call reported (on success or VC_ENOBUFS) where the caller asked for it. */
static inline vc_status vc__with_length(vc_status status, uint32_t length, size_t *out_len) {
    if (out_len != NULL && (status == VC_OK || status == VC_ENOBUFS)) *out_len = length;
    return status;
}

/* Fills buf with len random bytes from the isolate's CSPRNG. */
static inline vc_status vc_random(void *buf, size_t len) { return vc_raw_crypto_random(buf, len); }

/* Hashes in with alg (VC_ALG_SHA_256/384/512) into out. */
static inline vc_status vc_hash(uint32_t alg, const void *in, size_t in_len, void *out, size_t out_size, size_t *out_len) {
    uint32_t length = 0;
    return vc__with_length(vc_raw_crypto_hash(alg, in, in_len, out, out_size, &length), length, out_len);
}

/* Generates a key of type/bits for usage and algorithm alg; its handle in *key. */
static inline vc_status vc_key_generate(uint32_t type, uint32_t bits, uint32_t usage, uint32_t alg, vc_key *key) {
    return vc_raw_crypto_key_generate(type, bits, usage, alg, key);
}

/* Imports a key from its data (bits 0: from the data's length); its handle in *key. */
static inline vc_status vc_key_import(uint32_t type, uint32_t bits, uint32_t usage, uint32_t alg, const void *data, size_t data_len, vc_key *key) {
    return vc_raw_crypto_key_import(type, bits, usage, alg, data, data_len, key);
}

/* Exports a key made with VC_USAGE_EXPORT (VC_EPERM otherwise). */
static inline vc_status vc_key_export(vc_key key, void *out, size_t out_size, size_t *out_len) {
    uint32_t length = 0;
    return vc__with_length(vc_raw_crypto_key_export(key, out, out_size, &length), length, out_len);
}

/* Exports the public key of a key pair or public key (VC_EINVAL for a symmetric key). */
static inline vc_status vc_key_export_public(vc_key key, void *out, size_t out_size, size_t *out_len) {
    uint32_t length = 0;
    return vc__with_length(vc_raw_crypto_key_export_public(key, out, out_size, &length), length, out_len);
}

/* Reads a key's type, bits, usage and algorithm. */
static inline vc_status vc_key_attributes(vc_key key, vc_key_attrs *attrs) { return vc_raw_crypto_key_attributes(key, attrs); }

/* Destroys a key (its handle is VC_EBADF afterwards). */
static inline vc_status vc_key_destroy(vc_key key) { return vc_raw_crypto_key_destroy(key); }

/* Computes an HMAC of in with a key made for alg and VC_USAGE_SIGN_MESSAGE. */
static inline vc_status vc_mac_compute(vc_key key, uint32_t alg, const void *in, size_t in_len, void *out, size_t out_size, size_t *out_len) {
    uint32_t length = 0;
    return vc__with_length(vc_raw_crypto_mac_compute(key, alg, in, in_len, out, out_size, &length), length, out_len);
}

/* Verifies an HMAC in constant time (VC_EBADMSG if it does not match). */
static inline vc_status vc_mac_verify(vc_key key, uint32_t alg, const void *in, size_t in_len, const void *mac, size_t mac_len) {
    return vc_raw_crypto_mac_verify(key, alg, in, in_len, mac, mac_len);
}

/* Encrypts in with AEAD alg into out: ciphertext then the 16-byte tag (out needs in_len + 16). */
static inline vc_status vc_aead_encrypt(vc_key key, uint32_t alg, const void *nonce, size_t nonce_len, const void *aad, size_t aad_len, const void *in,
                                        size_t in_len, void *out, size_t out_size, size_t *out_len) {
    uint32_t length = 0;
    return vc__with_length(vc_raw_crypto_aead_encrypt(key, alg, nonce, nonce_len, aad, aad_len, in, in_len, out, out_size, &length), length, out_len);
}

/* Decrypts ciphertext || tag into out (VC_EBADMSG, nothing written, if it was tampered with). */
static inline vc_status vc_aead_decrypt(vc_key key, uint32_t alg, const void *nonce, size_t nonce_len, const void *aad, size_t aad_len, const void *in,
                                        size_t in_len, void *out, size_t out_size, size_t *out_len) {
    uint32_t length = 0;
    return vc__with_length(vc_raw_crypto_aead_decrypt(key, alg, nonce, nonce_len, aad, aad_len, in, in_len, out, out_size, &length), length, out_len);
}

/* Signs in with ECDSA (r || s) or Ed25519 using a key made for alg and VC_USAGE_SIGN_MESSAGE. */
static inline vc_status vc_sign_message(vc_key key, uint32_t alg, const void *in, size_t in_len, void *sig, size_t sig_size, size_t *sig_len) {
    uint32_t length = 0;
    return vc__with_length(vc_raw_crypto_sign_message(key, alg, in, in_len, sig, sig_size, &length), length, sig_len);
}

/* Verifies a signature with a key pair or public key (VC_EBADMSG if it does not verify). */
static inline vc_status vc_verify_message(vc_key key, uint32_t alg, const void *in, size_t in_len, const void *sig, size_t sig_len) {
    return vc_raw_crypto_verify_message(key, alg, in, in_len, sig, sig_len);
}

/* Raw ECDH shared secret of a key pair and a peer's public key (in the public-key export format). */
static inline vc_status vc_key_agreement(vc_key key, uint32_t alg, const void *peer, size_t peer_len, void *out, size_t out_size, size_t *out_len) {
    uint32_t length = 0;
    return vc__with_length(vc_raw_crypto_key_agreement(key, alg, peer, peer_len, out, out_size, &length), length, out_len);
}

/* Derives a new symmetric key with HKDF from a VC_KEY_TYPE_DERIVE key; its handle in *derived. */
static inline vc_status vc_key_derive(vc_key key, uint32_t alg, const void *salt, size_t salt_len, const void *info, size_t info_len, uint32_t type,
                                      uint32_t bits, uint32_t usage, uint32_t key_alg, vc_key *derived) {
    return vc_raw_crypto_key_derive(key, alg, salt, salt_len, info, info_len, type, bits, usage, key_alg, derived);
}

/* Writes out_len bytes of HKDF output from a VC_KEY_TYPE_DERIVE key into out. */
static inline vc_status vc_derive_bytes(vc_key key, uint32_t alg, const void *salt, size_t salt_len, const void *info, size_t info_len, void *out,
                                        size_t out_len) {
    return vc_raw_crypto_derive_bytes(key, alg, salt, salt_len, info, info_len, out, out_len);
}

/* Copies the policy's exact bytes (its JSON text) into out. */
static inline vc_status vc_policy_get(void *out, size_t out_size, size_t *out_len) {
    uint32_t length = 0;
    return vc__with_length(vc_raw_policy_get(out, out_size, &length), length, out_len);
}

/* Writes the policy's SHA-256 (VC_SHA_256_LENGTH bytes) to out. */
static inline vc_status vc_policy_hash(uint8_t out[VC_SHA_256_LENGTH]) { return vc_raw_policy_hash(out); }

/* Copies up to out_count subject ids into out; *count receives how many there are (VC_ENOBUFS if more). */
static inline vc_status vc_subjects(uint32_t *out, size_t out_count, size_t *count) {
    uint32_t found = 0;
    return vc__with_length(vc_raw_subjects(out, out_count, &found), found, count);
}

/* The rights in force of subject on the NUL-terminated path (VC_ENOENT: no such subject). */
static inline vc_status vc_rights_get(uint32_t subject, const char *path, uint32_t *rights) {
    return vc_raw_rights_get(subject, path, strlen(path), rights);
}

/* Copies up to out_count ids of the principals that may read path now; *count receives how many. */
static inline vc_status vc_readers(const char *path, uint32_t *out, size_t out_count, size_t *count) {
    uint32_t found = 0;
    return vc__with_length(vc_raw_readers(path, strlen(path), out, out_count, &found), found, count);
}

/* From now on subject holds exactly rights on path and below it (VC_EPERM, nothing changed, for a widening). */
static inline vc_status vc_rights_narrow(uint32_t subject, const char *path, uint32_t rights) {
    return vc_raw_rights_narrow(subject, path, strlen(path), rights);
}

/* Signs the file at path with the isolate's key, writing the signed-result envelope (JSON) to out_path. */
static inline vc_status vc_result_sign(const char *path, const char *out_path) {
    return vc_raw_result_sign(path, strlen(path), out_path, strlen(out_path));
}

/* ---------------------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------------------- */

/* A short description of a status ("unknown error" for values this ABI does not use). */
static inline const char *vc_strerror(vc_status status) {
    switch (status) {
    case VC_OK: return "success";
    case VC_E2BIG: return "input longer than 64 MiB";
    case VC_EACCES: return "permission denied";
    case VC_EBADF: return "no key of this run has that handle";
    case VC_EBADMSG: return "verification failed";
    case VC_EEXIST: return "file exists";
    case VC_EFAULT: return "pointer outside the program's memory";
    case VC_EILSEQ: return "path is not UTF-8";
    case VC_EINVAL: return "invalid argument";
    case VC_EIO: return "I/O error";
    case VC_EISDIR: return "is a directory";
    case VC_ENOBUFS: return "output buffer too small";
    case VC_ENOENT: return "no such subject or file";
    case VC_ENOMEM: return "out of memory or too many keys";
    case VC_ENOSPC: return "no space left";
    case VC_ENOTDIR: return "not a directory";
    case VC_ENOTSUP: return "not supported (an unsupported combination, or no computation)";
    case VC_EPERM: return "not permitted";
    case VC_ENOTCAPABLE: return "the program's rights do not allow it";
    default: return "unknown error";
    }
}

/* Reads the policy's text into a malloc'd, NUL-terminated buffer (*text; free it) of *len bytes. */
static inline vc_status vc_policy_read(char **text, size_t *len) {
    size_t needed = 0;
    vc_status status = vc_policy_get(NULL, 0, &needed);
    for (;;) {
        if (status != VC_OK && status != VC_ENOBUFS) return status;
        char *buffer = malloc(needed + 1);
        if (buffer == NULL) return VC_ENOMEM;
        size_t got = 0;
        status = vc_policy_get(buffer, needed, &got);
        if (status == VC_OK) {
            buffer[got] = '\0';
            *text = buffer;
            if (len != NULL) *len = got;
            return VC_OK;
        }
        free(buffer);
        needed = got;
    }
}

/* Asks a list-returning call for its count, then fills a malloc'd array (shared by the two list helpers). */
static inline vc_status vc__list(const char *path, uint32_t **ids, size_t *count) {
    size_t needed = 0;
    vc_status status = path == NULL ? vc_subjects(NULL, 0, &needed) : vc_readers(path, NULL, 0, &needed);
    for (;;) {
        if (status != VC_OK && status != VC_ENOBUFS) return status;
        uint32_t *buffer = malloc(needed == 0 ? 1 : needed * sizeof *buffer);
        if (buffer == NULL) return VC_ENOMEM;
        size_t got = 0;
        status = path == NULL ? vc_subjects(buffer, needed, &got) : vc_readers(path, buffer, needed, &got);
        if (status == VC_OK) {
            *ids = buffer;
            *count = got;
            return VC_OK;
        }
        free(buffer);
        needed = got;
    }
}

/* Every subject id (principals in policy order, then programs) in a malloc'd array (*ids; free it). */
static inline vc_status vc_subjects_list(uint32_t **ids, size_t *count) { return vc__list(NULL, ids, count); }

/* The ids of the principals that may read path now, in a malloc'd array (*ids; free it). */
static inline vc_status vc_readers_list(const char *path, uint32_t **ids, size_t *count) { return vc__list(path, ids, count); }

/*
 * Removes the rights bits from subject's rights on path, and from every path below it: the subject keeps
 * on path what it held there less bits, and below path no more than that (so a right held only on a
 * deeper path, and not on path itself, goes too). Narrows even when path itself holds none of bits,
 * since a deeper path may.
 */
static inline vc_status vc_rights_remove(uint32_t subject, const char *path, uint32_t bits) {
    uint32_t rights = 0;
    vc_status status = vc_rights_get(subject, path, &rights);
    if (status != VC_OK) return status;
    return vc_rights_narrow(subject, path, rights & ~bits);
}

/* Takes every VC_RIGHT_MODIFY bit on path (and below it) from every subject, this program included. */
static inline vc_status vc_lock_writes(const char *path) {
    uint32_t *ids = NULL;
    size_t count = 0;
    vc_status status = vc_subjects_list(&ids, &count);
    for (size_t i = 0; status == VC_OK && i < count; i++) status = vc_rights_remove(ids[i], path, VC_RIGHT_MODIFY);
    free(ids);
    return status;
}

/* Reads the whole file at path into a malloc'd buffer (*data; free it) of *len bytes. */
static inline vc_status vc_read_file(const char *path, uint8_t **data, size_t *len) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) return errno;
    /* Sized by seeking to the end when the file allows it: one allocation (realloc copies in WebAssembly). */
    size_t capacity = 1 << 16, used = 0;
    if (fseek(file, 0, SEEK_END) == 0) {
        long size = ftell(file);
        if (size >= 0) capacity = (size_t)size + 1;
        if (fseek(file, 0, SEEK_SET) != 0) {
            vc_status error = errno;
            fclose(file);
            return error;
        }
    }
    uint8_t *buffer = malloc(capacity);
    if (buffer == NULL) {
        fclose(file);
        return VC_ENOMEM;
    }
    for (;;) {
        if (used == capacity) {
            uint8_t *grown = capacity > SIZE_MAX / 2 ? NULL : realloc(buffer, capacity * 2);
            if (grown == NULL) {
                free(buffer);
                fclose(file);
                return VC_ENOMEM;
            }
            buffer = grown;
            capacity *= 2;
        }
        size_t got = fread(buffer + used, 1, capacity - used, file);
        used += got;
        if (got == 0) break;
    }
    if (ferror(file)) {
        vc_status error = errno != 0 ? errno : VC_EIO;
        free(buffer);
        fclose(file);
        return error;
    }
    fclose(file);
    *data = buffer;
    *len = used;
    return VC_OK;
}

/* Writes len bytes to path with fopen mode ("wb" or "ab"). */
static inline vc_status vc__put_file(const char *path, const char *mode, const void *data, size_t len) {
    FILE *file = fopen(path, mode);
    if (file == NULL) return errno;
    vc_status status = VC_OK;
    if (len > 0 && fwrite(data, 1, len, file) != len) status = errno != 0 ? errno : VC_EIO;
    if (fclose(file) != 0 && status == VC_OK) status = errno != 0 ? errno : VC_EIO;
    return status;
}

/* Creates or truncates path and writes len bytes to it. */
static inline vc_status vc_write_file(const char *path, const void *data, size_t len) { return vc__put_file(path, "wb", data, len); }

/* Appends len bytes to path (creating it if needed). */
static inline vc_status vc_append_file(const char *path, const void *data, size_t len) { return vc__put_file(path, "ab", data, len); }

/* Whether path names an existing file or directory the program may see. */
static inline bool vc_file_exists(const char *path) {
    struct stat info;
    return stat(path, &info) == 0;
}

#endif
