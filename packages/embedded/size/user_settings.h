/*
 * wolfSSL 5.5.4 for vc_client on a Cortex-M4: a TLS 1.3 client and nothing more.
 *
 * What an isolate asks of a device: TLS 1.3 with the policy's one ciphersuite, an ECDSA P-256
 * client certificate, an ECDHE P-256 key share, and an ECDSA P-256 / SHA-256 chain (isolate
 * certificate under the PAS CA) checked against the clock. Everything else is switched off.
 * VC_SIZE_AES_GCM selects TLS_AES_128_GCM_SHA256 instead of TLS_CHACHA20_POLY1305_SHA256 (the
 * policies' default); VC_SIZE_HOST builds the same set natively (no Thumb assembly) so the set
 * can be run against a real vc-server.
 */
#ifndef VC_SIZE_USER_SETTINGS_H
#define VC_SIZE_USER_SETTINGS_H

/* Bare metal: one thread, no files, no sockets of wolfSSL's own (the client's I/O callbacks
 * call the platform layer), no /dev/random. */
#define SINGLE_THREADED
#define NO_FILESYSTEM
#define NO_WRITEV
#define WOLFSSL_USER_IO
#define WOLFSSL_NO_SOCK
#define NO_DEV_RANDOM
#define NO_MAIN_DRIVER
#define WOLFSSL_IGNORE_FILE_WARN
#define WOLFSSL_GENERAL_ALIGNMENT 4
#define SIZEOF_LONG_LONG 8

/* Large temporaries on the heap (counted), not on a small stack. */
#define WOLFSSL_SMALL_STACK

/* TLS 1.3 client only. */
#define WOLFSSL_TLS13
#define NO_OLD_TLS
#define WOLFSSL_NO_TLS12
#define NO_WOLFSSL_SERVER
#define HAVE_TLS_EXTENSIONS
#define HAVE_SUPPORTED_CURVES
#define HAVE_HKDF
#define NO_PSK
#define NO_SESSION_CACHE
#define WOLFSSL_NO_DEF_TICKET_ENC_CB
#define NO_WOLFSSL_DIR

/* Certificates: ASN.1 templates (smaller code); the peer's chain kept for the session, where
 * vc_verify.c reads the isolate certificate's extensions (wolfSSL_get_peer_chain). */
#define WOLFSSL_ASN_TEMPLATE
#define SESSION_CERTS
/* The verification callback sees the isolate's certificate even when it verifies, so the client can
 * check it is the one kept in the chain (wolfSSL keeps none of MAX_X509_SIZE bytes or more). */
#define WOLFSSL_ALWAYS_VERIFY_CB
/* The isolate sends its certificate and the PAS CA's: room for one intermediate more. Each slot
 * of the kept chain is 2 KiB of heap (MAX_X509_SIZE); wolfSSL's default is 9. */
#define MAX_CHAIN_DEPTH 3
#define NO_PWDBASED

/* Public keys: ECC P-256 only (key share, both certificates, CertificateVerify). */
#define HAVE_ECC
#define ECC_USER_CURVES
#define ECC_TIMING_RESISTANT
#define TFM_TIMING_RESISTANT
#define NO_RSA
#define NO_DH
#define NO_DSA

/* Big numbers: wolfSSL's single-precision P-256 code, with the Cortex-M assembly on the device. */
#define WOLFSSL_SP_MATH
#define WOLFSSL_HAVE_SP_ECC
#define WOLFSSL_SP_SMALL
#define SP_WORD_SIZE 32
#ifndef VC_SIZE_HOST
#define WOLFSSL_SP_ASM
#define WOLFSSL_SP_ARM_CORTEX_M_ASM
#endif

/* The record cipher and the hashes TLS 1.3 and the certificates need. */
#ifdef VC_SIZE_AES_GCM
#define HAVE_AESGCM
#define GCM_SMALL
#define NO_AES_CBC
#define WOLFSSL_AES_128
#else
#define HAVE_CHACHA
#define HAVE_POLY1305
#define HAVE_ONE_TIME_AUTH
#define NO_AES
#endif
#define NO_SHA
#define NO_MD4
#define NO_MD5
#define NO_DES3
#define NO_RC4
#define NO_HC128
#define NO_RABBIT
#define WOLFSSL_NO_SHAKE256
#define NO_SIG_WRAPPER

/* Error codes, not strings: the client names the chain errors it reports itself (vc_verify.c);
 * wc_GetErrorString becomes one fixed sentence. */
#define NO_ERROR_STRINGS

/* Time and randomness from the platform layer (size/wolfssl_port.c). vc_connect installs its own
 * time callback (wc_SetTimeCb); XTIME is what wolfSSL falls back on, and its own gmtime turns the
 * seconds into dates for certificate validity. Random bytes come straight from the platform's
 * source (a hardware TRNG on a device), without wolfSSL's hash DRBG. */
#define USER_TIME
#define HAVE_TIME_T_TYPE
#define HAVE_TM_TYPE
#define XTIME(t) vc_wolfssl_time(t)
#define WC_NO_HASHDRBG
#define CUSTOM_RAND_GENERATE_BLOCK vc_wolfssl_random_block

#include <time.h>
time_t vc_wolfssl_time(time_t *now);
int vc_wolfssl_random_block(unsigned char *output, unsigned int length);

#endif
