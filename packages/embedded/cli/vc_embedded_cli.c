/*
 * vc-embedded: the embedded client as a host command, for trying it and testing it. It is built
 * per policy: build.ts compiles it with `-include` the policy's facts header (`vc-pgen header`),
 * which defines VC_POLICY_FACTS. One command per run, over one verified session.
 *
 * Exit codes: 0 done; 1 refused or failed (one line on stderr: "vc-embedded: [code] why"); 2 usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WOLFSSL_USER_SETTINGS
#include <wolfssl/options.h>
#endif
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/memory.h>

#include "vc_client.h"
#include "vc_posix.h"

static const char USAGE[] =
    "usage: vc-embedded --cert CERT --key KEY [--address HOST:PORT] [--at UNIX_SECONDS] [--heap-stats] [--verbose] COMMAND\n"
    "  --cert, --key    the device's identity: its certificate and private key (PEM or DER files)\n"
    "  --address        where vc-server listens (default: the policy's veracruz_server_url)\n"
    "  --at             check certificates at this time instead of the system clock\n"
    "  --heap-stats     print wolfSSL's heap use on stderr at the end\n"
    "  --verbose        say on stderr what was verified\n"
    "commands:\n"
    "  write REMOTE LOCAL|-    create or replace REMOTE with the bytes of LOCAL (or stdin), in chunks\n"
    "  append REMOTE LOCAL|-   append the bytes of LOCAL (or stdin) to REMOTE, in chunks\n"
    "  read REMOTE             print REMOTE's bytes on stdout, read in chunks\n"
    "  run PROGRAM             run PROGRAM and print its exit code\n"
    "  policy-hash             print the policy hash the isolate enforces (checked against this policy)\n"
    "  shutdown                end the computation\n";

static vc_session session;
static uint8_t certificate[16384];
static uint8_t private_key[16384];
static char address_host[256];

/* wolfSSL's heap, counted: every block carries its size before it. */
typedef union {
  size_t size;
  long double align_float;
  void *align_pointer;
  long long align_integer;
} block_header;
static size_t heap_now, heap_peak, heap_allocations;

static void count(size_t added, size_t removed) {
  heap_now = heap_now + added - removed;
  if (heap_now > heap_peak) heap_peak = heap_now;
}

static void *counting_malloc(size_t size) {
  block_header *block = malloc(sizeof *block + size);
  if (block == NULL) return NULL;
  block->size = size;
  heap_allocations++;
  count(size, 0);
  return block + 1;
}

static void counting_free(void *pointer) {
  if (pointer == NULL) return;
  block_header *block = (block_header *)pointer - 1;
  count(0, block->size);
  free(block);
}

static void *counting_realloc(void *pointer, size_t size) {
  if (pointer == NULL) return counting_malloc(size);
  block_header *block = (block_header *)pointer - 1;
  size_t old = block->size;
  block_header *moved = realloc(block, sizeof *moved + size);
  if (moved == NULL) return NULL;
  moved->size = size;
  heap_allocations++;
  count(size, old);
  return moved + 1;
}

static int usage(const char *problem) {
  if (problem != NULL) fprintf(stderr, "vc-embedded: %s\n", problem);
  fputs(USAGE, stderr);
  return 2;
}

/* Reads a whole (small) file; returns its length, or -1 with errno set. */
static long read_whole(const char *path, uint8_t *buffer, size_t capacity) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) return -1;
  size_t length = fread(buffer, 1, capacity, file);
  int failed = ferror(file), more = !failed && fgetc(file) != EOF;
  fclose(file);
  if (failed || more) {
    errno = failed ? EIO : EFBIG;
    return -1;
  }
  return (long)length;
}

static long read_stream(void *context, uint8_t *buffer, size_t capacity) {
  FILE *file = (FILE *)context;
  size_t length = fread(buffer, 1, capacity, file);
  return length == 0 && ferror(file) ? -1 : (long)length;
}

static int write_stdout(void *context, const uint8_t *data, size_t length) {
  (void)context;
  return fwrite(data, 1, length, stdout) == length ? 0 : -1;
}

static int failed(void) {
  fprintf(stderr, "vc-embedded: [%s] %s\n", vc_status_name(session.status), vc_session_message(&session));
  return 1;
}

/* HOST:PORT or [V6]:PORT. Returns 0, or -1 if it is neither. */
static int parse_address(const char *address, const char **host, uint16_t *port) {
  const char *colon = strrchr(address, ':');
  if (colon == NULL || colon == address) return -1;
  const char *start = address, *end = colon;
  if (*start == '[') {
    if (end[-1] != ']') return -1;
    start++;
    end--;
  }
  if ((size_t)(end - start) >= sizeof address_host) return -1;
  char *rest;
  unsigned long number = strtoul(colon + 1, &rest, 10);
  if (colon[1] == '\0' || *rest != '\0' || number > 65535) return -1;
  memcpy(address_host, start, (size_t)(end - start));
  address_host[end - start] = '\0';
  *host = address_host;
  *port = (uint16_t)number;
  return 0;
}

/* How many arguments `name` takes; -1 if it is no command. */
static int command_arguments(const char *name) {
  if (!strcmp(name, "write") || !strcmp(name, "append")) return 2;
  if (!strcmp(name, "read") || !strcmp(name, "run")) return 1;
  return !strcmp(name, "policy-hash") || !strcmp(name, "shutdown") ? 0 : -1;
}

/* Runs `command` over the connected session. Returns the exit code. */
static int run_command(char **command) {
  const char *name = command[0];
  if (!strcmp(name, "write") || !strcmp(name, "append")) {
    FILE *local = strcmp(command[2], "-") == 0 ? stdin : fopen(command[2], "rb");
    if (local == NULL) {
      fprintf(stderr, "vc-embedded: [invalid_request] cannot open %s: %s\n", command[2], strerror(errno));
      return 1;
    }
    vc_status status = name[0] == 'w' ? vc_write_stream(&session, command[1], read_stream, local)
                                      : vc_append_stream(&session, command[1], read_stream, local);
    if (local != stdin) fclose(local);
    return status == VC_OK ? 0 : failed();
  }
  if (!strcmp(name, "read")) {
    if (vc_read_file(&session, command[1], write_stdout, NULL, NULL) != VC_OK) return failed();
    return fflush(stdout) == 0 ? 0 : 1;
  }
  if (!strcmp(name, "run")) {
    uint32_t exit_code;
    if (vc_run(&session, command[1], &exit_code) != VC_OK) return failed();
    printf("%lu\n", (unsigned long)exit_code);
    return 0;
  }
  if (!strcmp(name, "policy-hash")) {
    char hex[65];
    if (vc_policy_hash(&session, hex) != VC_OK) return failed();
    printf("%s\n", hex);
    return 0;
  }
  return vc_shutdown(&session) == VC_OK ? 0 : failed();
}

int main(int argc, char **argv) {
  const char *certificate_path = NULL, *key_path = NULL, *host = NULL;
  uint16_t port = 0;
  int heap_stats = 0, verbose = 0, index = 1;
  for (; index < argc && strncmp(argv[index], "--", 2) == 0; index++) {
    const char *option = argv[index];
    if (!strcmp(option, "--heap-stats")) {
      heap_stats = 1;
      continue;
    }
    if (!strcmp(option, "--verbose")) {
      verbose = 1;
      continue;
    }
    if (!strcmp(option, "--help")) return usage(NULL) - 2;
    if (index + 1 >= argc) return usage("an option is missing its value");
    const char *value = argv[++index];
    if (!strcmp(option, "--cert")) {
      certificate_path = value;
    } else if (!strcmp(option, "--key")) {
      key_path = value;
    } else if (!strcmp(option, "--address")) {
      if (parse_address(value, &host, &port) != 0) return usage("--address must be HOST:PORT");
    } else if (!strcmp(option, "--at")) {
      char *rest;
      vc_posix_fixed_time = strtoll(value, &rest, 10);
      if (*value == '\0' || *rest != '\0' || vc_posix_fixed_time <= 0) return usage("--at must be Unix seconds");
    } else {
      return usage("unknown option");
    }
  }
  if (certificate_path == NULL || key_path == NULL) return usage("--cert and --key are required");
  if (index >= argc) return usage("no command");
  int arguments = command_arguments(argv[index]);
  if (arguments < 0) return usage("unknown command");
  if (argc - index != arguments + 1) return usage("wrong number of arguments");

  vc_identity identity;
  long certificate_length = read_whole(certificate_path, certificate, sizeof certificate);
  long key_length = certificate_length < 0 ? 0 : read_whole(key_path, private_key, sizeof private_key);
  if (certificate_length < 0 || key_length < 0) {
    fprintf(stderr, "vc-embedded: [invalid_request] cannot read %s: %s\n", certificate_length < 0 ? certificate_path : key_path,
            strerror(errno));
    return 1;
  }
  identity.certificate = certificate;
  identity.certificate_length = (size_t)certificate_length;
  identity.private_key = private_key;
  identity.private_key_length = (size_t)key_length;
  identity.encoding = certificate_length > 10 && memcmp(certificate, "-----BEGIN", 10) == 0 ? VC_ENCODING_PEM : VC_ENCODING_DER;

  if (heap_stats) wolfSSL_SetAllocators(counting_malloc, counting_free, counting_realloc);
  int code;
  if (vc_connect(&session, &VC_POLICY_FACTS, &identity, host, port) != VC_OK) {
    code = failed();
  } else {
    if (verbose) fprintf(stderr, "vc-embedded: verified the isolate: a %s runtime the policy allows, enforcing this policy\n", session.platform);
    code = run_command(argv + index);
    vc_close(&session);
  }
  if (heap_stats) {
    fprintf(stderr, "vc-embedded: wolfSSL heap: peak %lu bytes, %lu allocations, %lu bytes still held\n",
            (unsigned long)heap_peak, (unsigned long)heap_allocations, (unsigned long)heap_now);
  }
  return code;
}
