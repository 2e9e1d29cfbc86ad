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

/* path_open with an explicit path length (wasi-libc's wrapper stops at the first NUL). */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")))
int32_t raw_path_open(int32_t fd, int32_t dirflags, const char *path, size_t path_len, int32_t oflags,
                      uint64_t base, uint64_t inheriting, int32_t fdflags, __wasi_fd_t *result);

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
  /* fd 3 is the first pre-open (sorted: /input), 4 is /output. Raw calls bypass wasi-libc's path handling. */
  mkdir("/output/sub", 0755);
  __wasi_errno_t e1 = __wasi_path_open(3, 0, "../output/a.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  __wasi_errno_t e2 = __wasi_path_open(3, 0, "/output/a.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  __wasi_errno_t e3 = __wasi_path_open(4, 0, "sub/../../x", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
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


/* Prints errno of a failed call as "name -1 errno", or "name 0". */
static void show(const char *name, int result) {
  printf("%s %d %d\n", name, result < 0 ? -1 : result, result < 0 ? errno : 0);
  errno = 0;
}

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) { fputs(text, f); fclose(f); }
}

static const char *slurp(const char *path) {
  static char buf[64];
  memset(buf, 0, sizeof buf);
  FILE *f = fopen(path, "r");
  if (!f) { snprintf(buf, sizeof buf, "(errno %d)", errno); errno = 0; return buf; }
  fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  return buf;
}

static const char *kind_at(const char *dir, const char *name) {
  DIR *d = opendir(dir);
  struct dirent *e;
  const char *kind = "none";
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, name) != 0) continue;
    kind = e->d_type == DT_LNK ? "link" : e->d_type == DT_DIR ? "dir" : e->d_type == DT_REG ? "file" : "other";
  }
  closedir(d);
  return kind;
}

static int symlinks(void) {
  char buf[64] = {0};
  struct stat st;
  __wasi_fd_t fd;
  __wasi_size_t used = 0;
  put("/output/t.txt", "target-data");
  show("symlink", symlink("t.txt", "/output/l"));
  ssize_t n = readlink("/output/l", buf, sizeof buf);
  printf("readlink %zd %s\n", n, buf);
  memset(buf, 0, sizeof buf);
  __wasi_errno_t short_read = __wasi_path_readlink(4, "l", buf, 3, &used);
  printf("readlink-short %d %u %s\n", short_read, used, buf);
  show("readlink-file", (int)readlink("/output/t.txt", buf, sizeof buf));
  show("readlink-missing", (int)readlink("/output/none", buf, sizeof buf));
  printf("follow %s\n", slurp("/output/l"));
  lstat("/output/l", &st);
  printf("lstat link %d size %lld nlink %llu\n", S_ISLNK(st.st_mode) ? 1 : 0, (long long)st.st_size, (unsigned long long)st.st_nlink);
  stat("/output/l", &st);
  printf("stat file %d size %lld\n", S_ISREG(st.st_mode) ? 1 : 0, (long long)st.st_size);
  /* No LOOKUP_SYMLINK_FOLLOW: the link itself cannot be opened (O_NOFOLLOW). */
  printf("nofollow %d %d\n", __wasi_path_open(4, 0, "l", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd),
         __wasi_path_open(4, 0, "l", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd));
  printf("kind %s %s\n", kind_at("/output", "l"), kind_at("/output", "t.txt"));
  show("dangling", symlink("missing.txt", "/output/d"));
  show("open-dangling", open("/output/d", O_RDONLY));
  show("stat-dangling", stat("/output/d", &st));
  show("lstat-dangling", lstat("/output/d", &st));
  show("excl-dangling", open("/output/d", O_WRONLY | O_CREAT | O_EXCL, 0644));
  int created = open("/output/d", O_WRONLY | O_CREAT, 0644);
  write(created, "made", 4);
  close(created);
  printf("created-through %s\n", slurp("/output/missing.txt"));
  show("self-loop", symlink("loop", "/output/loop"));
  show("open-loop", open("/output/loop", O_RDONLY));
  symlink("b", "/output/a"); symlink("a", "/output/b");
  show("open-cycle", open("/output/a", O_RDONLY));
  show("escape-link", symlink("../input/data.txt", "/output/esc"));
  show("open-escape", open("/output/esc", O_RDONLY));
  show("absolute-link", symlink("/input/data.txt", "/output/abs"));
  mkdir("/output/sub", 0755);
  show("dir-link", symlink("sub", "/output/ls"));
  put("/output/ls/inner.txt", "inner");
  printf("through-dir %s\n", slurp("/output/sub/inner.txt"));
  show("unlink-link", unlink("/output/l"));
  printf("target-kept %s\n", slurp("/output/t.txt"));
  show("open-trailing", open("/output/t.txt/", O_RDONLY));
  show("unlink-trailing", unlink("/output/t.txt/"));
  show("unlink-dir-trailing", unlink("/output/sub/"));
  show("exists", symlink("x", "/output/t.txt"));
  show("exists-dir-slash", symlink("x", "/output/sub/"));
  show("exists-file-slash", symlink("x", "/output/t.txt/"));
  show("new-slash", symlink("x", "/output/fresh/"));
  show("rmdir-link", rmdir("/output/ls"));
  return 0;
}

static int hardlinks(void) {
  struct stat a, b;
  put("/output/h1", "data");
  show("link", link("/output/h1", "/output/h2"));
  stat("/output/h1", &a);
  stat("/output/h2", &b);
  printf("nlink %llu %llu same %d\n", (unsigned long long)a.st_nlink, (unsigned long long)b.st_nlink, a.st_ino == b.st_ino ? 1 : 0);
  FILE *f = fopen("/output/h2", "a"); fputs("+more", f); fclose(f);
  printf("shared %s\n", slurp("/output/h1"));
  show("unlink-first", unlink("/output/h1"));
  stat("/output/h2", &b);
  printf("kept %s nlink %llu\n", slurp("/output/h2"), (unsigned long long)b.st_nlink);
  put("/output/other", "o");
  show("link-existing", link("/output/h2", "/output/other"));
  show("link-self", link("/output/h2", "/output/h2"));
  mkdir("/output/dir", 0755);
  show("link-dir", link("/output/dir", "/output/dirlink"));
  show("link-new-slash", link("/output/h2", "/output/h3/"));
  show("link-missing", link("/output/none", "/output/h4"));
  printf("follow-flag %d\n", __wasi_path_link(4, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "h2", 4, "h5"));
  symlink("h2", "/output/sl");
  show("link-to-symlink", link("/output/sl", "/output/sl2"));
  struct stat l;
  lstat("/output/sl2", &l);
  printf("symlink-linked %d\n", S_ISLNK(l.st_mode) ? 1 : 0);
  show("link-from-input", link("/input/data.txt", "/output/stolen"));
  return 0;
}

/* Errors that follow wasmtime's answers. */
static int errors(void) {
  __wasi_fd_t fd;
  __wasi_fd_t dir;
  __wasi_filesize_t pos;
  mkdir("/output/d", 0755);
  put("/output/f", "x");
  printf("dir-write %d %d\n",
         __wasi_path_open(4, 0, "d", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0, &fd),
         __wasi_path_open(4, 0, "d", __WASI_OFLAGS_DIRECTORY | __WASI_OFLAGS_CREAT, 0, 0, 0, &fd));
  __wasi_errno_t opened = __wasi_path_open(4, 0, "d", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READ, 0, 0, &dir);
  printf("dir-seek %d %d %d\n", opened, __wasi_fd_seek(dir, 0, __WASI_WHENCE_CUR, &pos), __wasi_fd_tell(dir, &pos));
  printf("renumber-closed %d\n", __wasi_fd_renumber(dir, 200));
  printf("renumber-closed-from %d\n", __wasi_fd_renumber(201, dir));
  __wasi_fd_t file;
  __wasi_path_open(4, 0, "f", 0, __WASI_RIGHTS_FD_READ, 0, 0, &file);
  printf("sock %d %d\n", __wasi_sock_shutdown(200, __WASI_SDFLAGS_WR), __wasi_sock_shutdown(file, __WASI_SDFLAGS_WR));
  printf("truncate %d %d\n", __wasi_fd_filestat_set_size(file, 0),
         __wasi_path_open(3, 0, "data.txt", __WASI_OFLAGS_TRUNC, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
  printf("renumber %d %d\n", __wasi_fd_renumber(file, dir), __wasi_fd_close(file));
  /* Rights reported are the rights held: never more than the policy's r (24582) on /input. */
  __wasi_fdstat_t st, input;
  __wasi_fd_fdstat_get(3, &st);
  __wasi_path_open(3, 0, "data.txt", 0, ~(__wasi_rights_t)0, ~(__wasi_rights_t)0, 0, &fd);
  __wasi_fd_fdstat_get(fd, &input);
  printf("rights %llu %llu %llu\n", (unsigned long long)st.fs_rights_base, (unsigned long long)input.fs_rights_base, (unsigned long long)input.fs_rights_inheriting);
  printf("nul %d empty %d\n", raw_path_open(4, 0, "f\0", 2, 0, 0, 0, 0, &fd), raw_path_open(4, 0, "", 0, 0, 0, 0, 0, &fd));
  return 0;
}

/* File times: set, read back, do arithmetic on them. */
static int times(void) {
  struct stat st;
  put("/output/t", "x");
  stat("/output/t", &st);
  long long before = (long long)st.st_mtim.tv_sec;
  struct timespec set[2] = {{before - 100, 5}, {before - 3600, 7}};
  show("utimensat", utimensat(AT_FDCWD, "/output/t", set, 0));
  stat("/output/t", &st);
  printf("times %lld %ld %lld %ld positive %d\n", before - (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
         before - (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, before > 3600 ? 1 : 0);
  int fd = open("/output/t", O_RDWR);
  struct timespec later[2] = {{0, UTIME_OMIT}, {before + 10, 0}};
  show("futimens", futimens(fd, later));
  fstat(fd, &st);
  printf("fd-times %lld %lld\n", (long long)st.st_mtim.tv_sec - before, before - (long long)st.st_atim.tv_sec);
  struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  show("now", futimens(fd, now));
  return 0;
}

/* What this principal can do with PATH: its contents (or errno), and the WASI errno of appending to it. */
static int access_probe(const char *path) {
  printf("read %s\n", slurp(path));
  int fd = open(path, O_WRONLY | O_APPEND);
  if (fd < 0) { printf("write open %d\n", errno); return 0; }
  /* Raw: wasi-libc's write() reports ENOTCAPABLE as EBADF. */
  __wasi_ciovec_t iov = {(const uint8_t *)"+w", 2};
  __wasi_size_t n = 0;
  printf("write %d\n", __wasi_fd_write(fd, &iov, 1, &n));
  close(fd);
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
  if (!strcmp(c, "symlinks")) return symlinks();
  if (!strcmp(c, "hardlinks")) return hardlinks();
  if (!strcmp(c, "errors")) return errors();
  if (!strcmp(c, "times")) return times();
  if (!strcmp(c, "link") && argc > 3) { show("link", link(argv[2], argv[3])); return 0; }
  if (!strcmp(c, "symlink") && argc > 3) { show("symlink", symlink(argv[2], argv[3])); return 0; }
  if (!strcmp(c, "unlink") && argc > 2) { show("unlink", unlink(argv[2])); return 0; }
  if (!strcmp(c, "access") && argc > 2) return access_probe(argv[2]);
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
