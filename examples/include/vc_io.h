/*
 * Small I/O helpers shared by the example programs: read or write a whole file, decode and encode
 * little-endian numbers, and fail with a message on stderr and a documented exit code.
 *
 * Exit codes used by every example:
 *   0 success, 1 internal failure (out of memory, check failed),
 *   2 an input file is missing or unreadable, 3 an input is malformed, 4 an output cannot be written.
 */
#ifndef VC_IO_H
#define VC_IO_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    VC_EXIT_FAILURE = 1,
    VC_EXIT_MISSING_INPUT = 2,
    VC_EXIT_MALFORMED_INPUT = 3,
    VC_EXIT_OUTPUT_FAILED = 4,
};

/* Prints "error: <message>" on stderr and exits with `code`. */
static inline _Noreturn void vc_fail(int code, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("error: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(code);
}

/* malloc that never returns NULL (allocation failure ends the program). */
static inline void *vc_alloc(size_t size) {
    void *memory = malloc(size == 0 ? 1 : size);
    if (memory == NULL) vc_fail(VC_EXIT_FAILURE, "out of memory (%zu bytes)", size);
    return memory;
}

/*
 * Reads the whole file at `path`. Returns NULL (errno kept) if it cannot be opened; ends the program on a
 * read error. Sizes the buffer by seeking to the end when the file allows it (one allocation, no copies:
 * WebAssembly's realloc cannot remap pages), then reads until end of file, growing if the file grew.
 */
static inline unsigned char *vc_try_read_file(const char *path, size_t *length) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) return NULL;
    size_t capacity = 1 << 16, used = 0;
    if (fseek(file, 0, SEEK_END) == 0) {
        long size = ftell(file);
        if (fseek(file, 0, SEEK_SET) != 0) vc_fail(VC_EXIT_MISSING_INPUT, "cannot rewind %s: %s", path, strerror(errno));
        /* One spare byte, so reaching end of file needs no further allocation. */
        if (size >= 0) capacity = (size_t)size + 1;
    }
    unsigned char *data = vc_alloc(capacity);
    for (;;) {
        if (used == capacity) {
            capacity *= 2;
            unsigned char *grown = realloc(data, capacity);
            if (grown == NULL) vc_fail(VC_EXIT_FAILURE, "out of memory reading %s", path);
            data = grown;
        }
        size_t got = fread(data + used, 1, capacity - used, file);
        used += got;
        if (got == 0) break;
    }
    if (ferror(file)) vc_fail(VC_EXIT_MISSING_INPUT, "cannot read %s: %s", path, strerror(errno));
    fclose(file);
    *length = used;
    return data;
}

/* A program that includes vc.h (first) gets its vc_read_file and vc_write_file, which return a status instead. */
#ifndef VC_H
/* Reads the whole file at `path`, or ends the program with VC_EXIT_MISSING_INPUT. */
static inline unsigned char *vc_read_file(const char *path, size_t *length) {
    unsigned char *data = vc_try_read_file(path, length);
    if (data == NULL) vc_fail(VC_EXIT_MISSING_INPUT, "cannot open %s: %s", path, strerror(errno));
    return data;
}

/* Creates or truncates `path` and writes `length` bytes, or ends the program with VC_EXIT_OUTPUT_FAILED. */
static inline void vc_write_file(const char *path, const void *data, size_t length) {
    FILE *file = fopen(path, "wb");
    if (file == NULL) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot create %s: %s", path, strerror(errno));
    if (length > 0 && fwrite(data, 1, length, file) != length) {
        vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write %s: %s", path, strerror(errno));
    }
    if (fclose(file) != 0) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write %s: %s", path, strerror(errno));
}
#endif

static inline int vc_compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The entry names of directory `path` (without "." and ".."), sorted by bytes; their number in
 * *count. A directory that cannot be opened ends the program with `missing_code`.
 */
static inline char **vc_list_directory(const char *path, size_t *count, int missing_code) {
    DIR *dir = opendir(path);
    if (dir == NULL) vc_fail(missing_code, "cannot open %s: %s", path, strerror(errno));
    size_t used = 0, capacity = 16;
    char **names = vc_alloc(capacity * sizeof *names);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        if (used == capacity) {
            capacity *= 2;
            char **grown = realloc(names, capacity * sizeof *names);
            if (grown == NULL) vc_fail(VC_EXIT_FAILURE, "out of memory");
            names = grown;
        }
        size_t name_length = strlen(entry->d_name);
        names[used] = vc_alloc(name_length + 1);
        memcpy(names[used++], entry->d_name, name_length + 1);
    }
    closedir(dir);
    qsort(names, used, sizeof *names, vc_compare_names);
    *count = used;
    return names;
}

static inline uint32_t vc_get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t vc_get_u64(const unsigned char *p) {
    return (uint64_t)vc_get_u32(p) | (uint64_t)vc_get_u32(p + 4) << 32;
}

static inline double vc_get_f64(const unsigned char *p) {
    uint64_t bits = vc_get_u64(p);
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static inline void vc_put_u32(unsigned char *p, uint32_t value) {
    p[0] = (unsigned char)value;
    p[1] = (unsigned char)(value >> 8);
    p[2] = (unsigned char)(value >> 16);
    p[3] = (unsigned char)(value >> 24);
}

static inline void vc_put_u64(unsigned char *p, uint64_t value) {
    vc_put_u32(p, (uint32_t)value);
    vc_put_u32(p + 4, (uint32_t)(value >> 32));
}

static inline void vc_put_f64(unsigned char *p, double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    vc_put_u64(p, bits);
}

/*
 * Decodes well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF) into `out` (which may be
 * NULL to only validate; it needs room for `length` code points). Returns the number of code points, or -1.
 */
static inline long vc_utf8_decode(const unsigned char *data, size_t length, uint32_t *out) {
    static const uint32_t minimum[4] = {0, 0x80, 0x800, 0x10000};
    size_t i = 0;
    long count = 0;
    while (i < length) {
        unsigned char c = data[i];
        size_t extra;
        uint32_t code;
        if (c < 0x80) { extra = 0; code = c; }
        else if ((c & 0xE0) == 0xC0) { extra = 1; code = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { extra = 2; code = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { extra = 3; code = c & 0x07; }
        else return -1;
        if (extra >= length - i) return -1;
        for (size_t k = 1; k <= extra; k++) {
            if ((data[i + k] & 0xC0) != 0x80) return -1;
            code = code << 6 | (data[i + k] & 0x3F);
        }
        if (code < minimum[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return -1;
        if (out != NULL) out[count] = code;
        count++;
        i += extra + 1;
    }
    return count;
}

#endif
