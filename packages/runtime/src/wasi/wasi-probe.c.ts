/**
 * The C source of the WASI probe used by the WASI and engine tests: one program, compiled once,
 * whose first argument selects a scenario. Each scenario prints what it observed, so the tests
 * assert real wasi-libc behaviour over this runtime.
 */
export const WASI_PROBE_SOURCE = String.raw`
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

__attribute__((import_module("veracruz_si"), import_name("fd_create")))
uint32_t veracruz_fd_create(uint32_t *fd);

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int files(void) {
  FILE *f = fopen("/output/a.txt", "w");
  if (!f) { printf("open-w %d\n", errno); return 1; }
  fputs("hello", f); fclose(f);
  f = fopen("/output/a.txt", "a"); fputs(" world", f); fclose(f);
  char buf[64] = {0};
  f = fopen("/output/a.txt", "r");
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  printf("read %zu %s\n", n, buf);
  fseek(f, 6, SEEK_SET);
  memset(buf, 0, sizeof buf);
  fread(buf, 1, 5, f);
  printf("seek %s tell %ld\n", buf, ftell(f));
  fclose(f);
  struct stat st;
  stat("/output/a.txt", &st);
  printf("size %lld dir %d\n", (long long)st.st_size, S_ISDIR(st.st_mode) ? 1 : 0);
  int fd = open("/output/a.txt", O_RDWR);
  ftruncate(fd, 3);
  pwrite(fd, "XY", 2, 5);
  close(fd);
  stat("/output/a.txt", &st);
  printf("truncated %lld\n", (long long)st.st_size);
  errno = 0;
  printf("missing %d %d\n", fopen("/output/none.txt", "r") == NULL, errno);
  return 0;
}

static int dirs(void) {
  printf("mkdir %d\n", mkdir("/output/d", 0755));
  printf("mkdir-again %d %d\n", mkdir("/output/d", 0755), errno);
  const char *names[] = {"/output/d/c", "/output/d/a", "/output/d/b"};
  for (int i = 0; i < 3; i++) { FILE *f = fopen(names[i], "w"); fputs("x", f); fclose(f); }
  DIR *d = opendir("/output/d");
  char *seen[16]; int count = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) seen[count++] = strdup(e->d_name);
  closedir(d);
  qsort(seen, count, sizeof seen[0], cmp);
  printf("list");
  for (int i = 0; i < count; i++) printf(" %s", seen[i]);
  printf("\n");
  printf("rename %d\n", rename("/output/d/a", "/output/d/z"));
  printf("unlink %d\n", unlink("/output/d/b"));
  printf("rmdir-nonempty %d %d\n", rmdir("/output/d"), errno);
  unlink("/output/d/c"); unlink("/output/d/z");
  printf("rmdir %d\n", rmdir("/output/d"));
  struct stat st;
  printf("gone %d %d\n", stat("/output/d", &st), errno);
  return 0;
}

static int args(int argc, char **argv) {
  for (int i = 2; i < argc; i++) printf("arg %s\n", argv[i]);
  const char *v = getenv("GREETING");
  printf("env %s\n", v ? v : "(none)");
  return 0;
}

static int clock_probe(void) {
  struct timespec ts;
  errno = 0;
  int r = clock_gettime(CLOCK_REALTIME, &ts);
  printf("clock %d %d %d\n", r, errno, r == 0 && ts.tv_sec > 1600000000 ? 1 : 0);
  return 0;
}

static int random_probe(void) {
  unsigned char a[32], b[32];
  getentropy(a, sizeof a); getentropy(b, sizeof b);
  printf("random %s\n", memcmp(a, b, sizeof a) != 0 ? "differ" : "same");
  return 0;
}

static int sleep_probe(void) {
  struct timespec ts = {0, 30 * 1000 * 1000};
  printf("sleep %d\n", nanosleep(&ts, NULL));
  return 0;
}

static int fdcreate(void) {
  uint32_t fd = 0;
  uint32_t r = veracruz_fd_create(&fd);
  write((int)fd, "anon", 4);
  lseek((int)fd, 0, SEEK_SET);
  char buf[8] = {0};
  read((int)fd, buf, 4);
  printf("fdcreate %u %s\n", r, buf);
  return 0;
}

static int escape(void) {
  __wasi_fd_t fd;
  /* fd 3 is the first pre-open (sorted: /input). Raw calls bypass wasi-libc's path handling. */
  __wasi_errno_t e1 = __wasi_path_open(3, 0, "../output/a.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  __wasi_errno_t e2 = __wasi_path_open(3, 0, "/output/a.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  __wasi_errno_t e3 = __wasi_path_open(3, 0, "sub/../../x", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  errno = 0;
  FILE *f = fopen("/input/../output/a.txt", "r");
  printf("escape %d %d %d %d\n", e1, e2, e3, f == NULL ? errno : 0);
  errno = 0;
  int s = symlink("/input/data.txt", "/output/link");
  int serr = errno;
  errno = 0;
  int l = link("/input/data.txt", "/output/hard");
  int lerr = errno;
  printf("links %d %d %d %d\n", s, serr, l, lerr);
  return 0;
}

static int readonly(void) {
  char buf[64] = {0};
  FILE *f = fopen("/input/data.txt", "r");
  if (!f) { printf("open-r %d\n", errno); return 1; }
  fread(buf, 1, sizeof buf - 1, f);
  struct stat st, fst;
  int sr = stat("/input/data.txt", &st);
  int fr = fstat(fileno(f), &fst);
  fclose(f);
  printf("input %s\n", buf);
  printf("stat-input %d %lld %d %lld\n", sr, (long long)st.st_size, fr, (long long)fst.st_size);
  errno = 0;
  f = fopen("/input/data.txt", "w");
  printf("write-input %d %d\n", f == NULL, errno);
  errno = 0;
  printf("create-input %d %d\n", open("/input/new.txt", O_WRONLY | O_CREAT, 0644), errno);
  errno = 0;
  printf("unlink-input %d %d\n", unlink("/input/data.txt"), errno);
  f = fopen("/output/moved.txt", "w"); fputs("m", f); fclose(f);
  errno = 0;
  printf("rename-across %d %d\n", rename("/output/moved.txt", "/input/moved.txt"), errno);
  errno = 0;
  printf("rename-in %d %d\n", rename("/input/data.txt", "/output/stolen.txt"), errno);
  return 0;
}

static int narrow(void) {
  int fd = open("/output/n.txt", O_RDWR | O_CREAT, 0644);
  __wasi_fdstat_t st;
  __wasi_fd_fdstat_get(fd, &st);
  __wasi_errno_t e1 = __wasi_fd_fdstat_set_rights(fd, st.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE, 0);
  errno = 0;
  ssize_t w = write(fd, "x", 1);
  int werr = errno;
  __wasi_errno_t e2 = __wasi_fd_fdstat_set_rights(fd, st.fs_rights_base, 0);
  printf("narrow %d %zd %d %d\n", e1, w, werr, e2);
  return 0;
}

static int streams(void) {
  fprintf(stderr, "to-stderr\n");
  printf("to-stdout\n");
  return 0;
}

static int echo_stdin(void) {
  char buf[256];
  size_t n = fread(buf, 1, sizeof buf, stdin);
  for (size_t i = 0; i < n; i++) if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] -= 32;
  fwrite(buf, 1, n, stdout);
  return 0;
}

static int loop_forever(void) {
  volatile uint64_t counter = 0;
  for (;;) counter++;
  return 0;
}

static int grow(long mib) {
  size_t total = 0;
  for (long i = 0; i < mib; i++) {
    char *volatile p = malloc(1 << 20);
    if (!p) { printf("malloc failed after %zu MiB\n", total); return 9; }
    p[0] = 1; total++;
  }
  printf("allocated %zu MiB\n", total);
  return 0;
}

static int grow_trap(void) {
  if (__builtin_wasm_memory_grow(0, 65536) == (size_t)-1) __builtin_trap();
  return 0;
}

static int sum(long n) {
  uint64_t h = 1469598103934665603ULL;
  for (long i = 0; i < n; i++) { h ^= (uint64_t)i; h *= 1099511628211ULL; }
  printf("sum %llu\n", (unsigned long long)h);
  return 0;
}

static int progress(void) {
  int fd = open("/output/progress.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  for (unsigned i = 0;; i++) { char c = (char)('a' + i % 26); write(fd, &c, 1); }
  return 0;
}

static int recurse(volatile int depth) {
  volatile char pad[256];
  pad[0] = (char)depth;
  return recurse(depth + 1) + pad[0];
}

static int hostile(void) {
  static __wasi_ciovec_t iov[2000];
  for (int i = 0; i < 2000; i++) { iov[i].buf = (const uint8_t *)"x"; iov[i].buf_len = 1; }
  __wasi_size_t n = 0;
  __wasi_errno_t many = __wasi_fd_write(1, iov, 2000, &n);
  __wasi_errno_t some = __wasi_fd_write(1, iov, 3, &n);
  iov[0].buf = (const uint8_t *)0xfffffff0; iov[0].buf_len = 64;
  __wasi_errno_t fault = __wasi_fd_write(1, iov, 1, &n);
  printf("\nhostile %d %d %d\n", many, some, fault);
  return 0;
}

static int fill(void) {
  static char block[65536];
  int fd = open("/output/fill.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  long total = 0;
  for (;;) {
    ssize_t n = write(fd, block, sizeof block);
    if (n < 0) break;
    total += n;
  }
  int err = errno;
  close(fd);
  unlink("/output/fill.bin");
  fd = open("/output/after.bin", O_WRONLY | O_CREAT, 0644);
  ssize_t again = write(fd, block, sizeof block);
  printf("fill %ld %d %zd\n", total, err, again);
  return 0;
}

static int write_then_trap(void) {
  FILE *f = fopen("/output/partial.txt", "w");
  fputs("complete line\n", f);
  fclose(f);
  __builtin_trap();
}

int main(int argc, char **argv) {
  const char *c = argc > 1 ? argv[1] : "";
  if (!strcmp(c, "files")) return files();
  if (!strcmp(c, "dirs")) return dirs();
  if (!strcmp(c, "args")) return args(argc, argv);
  if (!strcmp(c, "clock")) return clock_probe();
  if (!strcmp(c, "random")) return random_probe();
  if (!strcmp(c, "sleep")) return sleep_probe();
  if (!strcmp(c, "fdcreate")) return fdcreate();
  if (!strcmp(c, "escape")) return escape();
  if (!strcmp(c, "readonly")) return readonly();
  if (!strcmp(c, "narrow")) return narrow();
  if (!strcmp(c, "streams")) return streams();
  if (!strcmp(c, "stdin")) return echo_stdin();
  if (!strcmp(c, "loop")) return loop_forever();
  if (!strcmp(c, "grow")) return grow(argc > 2 ? atol(argv[2]) : 1);
  if (!strcmp(c, "growtrap")) return grow_trap();
  if (!strcmp(c, "sum")) return sum(argc > 2 ? atol(argv[2]) : 1000);
  if (!strcmp(c, "trap")) __builtin_trap();
  if (!strcmp(c, "writetrap")) return write_then_trap();
  if (!strcmp(c, "progress")) return progress();
  if (!strcmp(c, "recurse")) return recurse(0);
  if (!strcmp(c, "hostile")) return hostile();
  if (!strcmp(c, "fill")) return fill();
  if (!strcmp(c, "exit")) exit(argc > 2 ? atoi(argv[2]) : 0);
  printf("unknown scenario %s\n", c);
  return 2;
}
`;
