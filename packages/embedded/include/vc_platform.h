/*
 * The platform layer of the embedded Veracruz client: everything it needs from the device, and
 * nothing else. A port to an RTOS or a bare-metal network stack implements these six functions
 * (platform/posix.c is the POSIX one); the client and wolfSSL reach the network, the clock and the
 * entropy source only through them.
 *
 * All calls block. None may allocate on the client's behalf beyond what the port's own stack does.
 */
#ifndef VC_PLATFORM_H
#define VC_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A connected TCP socket, as the port names it (a file descriptor, a pointer cast, an index). */
typedef intptr_t vc_platform_socket;

/** Failures the port reports from send and receive (any other negative value is a generic error). */
#define VC_PLATFORM_ERROR (-1)
/** The peer reset the connection. */
#define VC_PLATFORM_RESET (-2)
/** No data came within the port's receive timeout. */
#define VC_PLATFORM_TIMEOUT (-3)

/**
 * Opens a TCP connection to `host` (a name or an address) at `port`. Returns 0 and sets
 * `*socket`, or a negative port-specific code (POSIX: -errno, or a getaddrinfo error below -1000).
 */
int vc_platform_tcp_connect(const char *host, uint16_t port, vc_platform_socket *socket);

/** Sends up to `length` bytes; returns how many were sent (at least 1), or a VC_PLATFORM_* code. */
long vc_platform_tcp_send(vc_platform_socket socket, const uint8_t *data, size_t length);

/**
 * Receives up to `capacity` bytes; returns how many arrived (at least 1), 0 when the peer closed
 * the connection in order, or a VC_PLATFORM_* code.
 */
long vc_platform_tcp_recv(vc_platform_socket socket, uint8_t *buffer, size_t capacity);

/** Closes a socket opened by vc_platform_tcp_connect. */
void vc_platform_tcp_close(vc_platform_socket socket);

/**
 * The time now, in seconds since the Unix epoch (UTC). Certificates are checked against it, so a
 * device needs a real clock (RTC, NTP, GNSS); a clock in 1970 makes every certificate "not yet valid".
 */
int64_t vc_platform_time(void);

/**
 * Fills `buffer` with `length` bytes from a cryptographically secure source; returns 0, or a
 * negative value on failure. Its signature is that of wolfSSL's CUSTOM_RAND_GENERATE_SEED, so a
 * port's wolfSSL user_settings.h can seed wolfSSL's DRBG with it directly.
 */
int vc_platform_random(uint8_t *buffer, uint32_t length);

#ifdef __cplusplus
}
#endif

#endif /* VC_PLATFORM_H */
