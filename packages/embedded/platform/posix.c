/* The platform layer on POSIX (Linux, macOS): BSD sockets, time(), getrandom()/arc4random. */
#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L

#include "vc_posix.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#else
#include <stdlib.h>
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

int64_t vc_posix_fixed_time = 0;

int vc_platform_tcp_connect(const char *host, uint16_t port, vc_platform_socket *socket_out) {
  struct addrinfo hints, *addresses, *address;
  char service[8];
  snprintf(service, sizeof service, "%u", (unsigned)port);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int resolved = getaddrinfo(host, service, &hints, &addresses);
  if (resolved != 0) return -1000 + resolved;
  int error = ECONNREFUSED;
  for (address = addresses; address != NULL; address = address->ai_next) {
    int fd = socket(address->ai_family, address->ai_socktype, address->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    if (connect(fd, address->ai_addr, address->ai_addrlen) == 0) {
      int on = 1;
      /* Each request is one TLS record: send it at once. */
      (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
#ifdef SO_NOSIGPIPE
      (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#endif
      freeaddrinfo(addresses);
      *socket_out = fd;
      return 0;
    }
    error = errno;
    close(fd);
  }
  freeaddrinfo(addresses);
  return -error;
}

static long failure(void) {
  return errno == ECONNRESET || errno == EPIPE ? VC_PLATFORM_RESET
         : errno == EAGAIN || errno == EWOULDBLOCK ? VC_PLATFORM_TIMEOUT
                                                   : VC_PLATFORM_ERROR;
}

long vc_platform_tcp_send(vc_platform_socket socket_fd, const uint8_t *data, size_t length) {
  for (;;) {
    ssize_t sent = send((int)socket_fd, data, length, MSG_NOSIGNAL);
    if (sent >= 0) return sent > 0 ? (long)sent : VC_PLATFORM_ERROR;
    if (errno != EINTR) return failure();
  }
}

long vc_platform_tcp_recv(vc_platform_socket socket_fd, uint8_t *buffer, size_t capacity) {
  for (;;) {
    ssize_t received = recv((int)socket_fd, buffer, capacity, 0);
    if (received >= 0) return (long)received;
    if (errno != EINTR) return failure();
  }
}

void vc_platform_tcp_close(vc_platform_socket socket_fd) {
  close((int)socket_fd);
}

int64_t vc_platform_time(void) {
  return vc_posix_fixed_time != 0 ? vc_posix_fixed_time : (int64_t)time(NULL);
}

int vc_platform_random(uint8_t *buffer, uint32_t length) {
#if defined(__linux__)
  while (length > 0) {
    ssize_t got = getrandom(buffer, length, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buffer += got;
    length -= (uint32_t)got;
  }
#else
  arc4random_buf(buffer, length);
#endif
  return 0;
}
