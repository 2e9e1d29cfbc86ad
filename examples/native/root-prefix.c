/*
 * Native builds only (benchmarks): the programs open absolute isolate paths such as /input/data.bin. Linked
 * with -Wl,--wrap=..., these wrappers prefix every absolute path with $VC_NATIVE_ROOT, so a native run reads
 * <root>/input/... and writes <root>/output/... without touching the real /input or /output.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

FILE *__real_fopen(const char *path, const char *mode);
int __real_open(const char *path, int flags, ...);
DIR *__real_opendir(const char *path);
int __real_mkdir(const char *path, mode_t mode);

/* The path to use for `path`: under $VC_NATIVE_ROOT when it is absolute and the variable is set. */
static const char *rooted(const char *path, char *buffer, size_t size) {
    const char *root = getenv("VC_NATIVE_ROOT");
    if (root == NULL || path[0] != '/') return path;
    snprintf(buffer, size, "%s%s", root, path);
    return buffer;
}

FILE *__wrap_fopen(const char *path, const char *mode) {
    char buffer[4096];
    return __real_fopen(rooted(path, buffer, sizeof buffer), mode);
}

int __wrap_open(const char *path, int flags, ...) {
    char buffer[4096];
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list args;
        va_start(args, flags);
        mode = (mode_t)va_arg(args, int);
        va_end(args);
    }
    return __real_open(rooted(path, buffer, sizeof buffer), flags, mode);
}

DIR *__wrap_opendir(const char *path) {
    char buffer[4096];
    return __real_opendir(rooted(path, buffer, sizeof buffer));
}

int __wrap_mkdir(const char *path, mode_t mode) {
    char buffer[4096];
    return __real_mkdir(rooted(path, buffer, sizeof buffer), mode);
}
