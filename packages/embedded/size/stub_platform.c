/*
 * The platform layer reduced to nothing, for the Cortex-M4 size figures: every vc_platform.h
 * function is here so the image links, and none of them costs flash worth counting, so the image's
 * figures are the client's, wolfSSL's and the C library's alone.
 */
#include "vc_platform.h"

int vc_platform_tcp_connect(const char *host, uint16_t port, vc_platform_socket *socket) {
  (void)host;
  (void)port;
  *socket = 0;
  return 0;
}

long vc_platform_tcp_send(vc_platform_socket socket, const uint8_t *data, size_t length) {
  (void)socket;
  (void)data;
  return (long)length;
}

long vc_platform_tcp_recv(vc_platform_socket socket, uint8_t *buffer, size_t capacity) {
  (void)socket;
  (void)buffer;
  (void)capacity;
  return 0;
}

void vc_platform_tcp_close(vc_platform_socket socket) { (void)socket; }

int64_t vc_platform_time(void) { return 0; }

int vc_platform_random(uint8_t *buffer, uint32_t length) {
  (void)buffer;
  (void)length;
  return 0;
}
