/* A bounded text builder for error messages: no printf, no allocation, always NUL-ended, cut when full. */
#ifndef VC_TEXT_H
#define VC_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *data;
  size_t capacity;
  size_t length;
} vc_text;

/** Starts an empty text in `data` (capacity at least 1). */
void vc_text_start(vc_text *text, char *data, size_t capacity);
/** Appends a NUL-ended string. */
void vc_text_add(vc_text *text, const char *string);
/** Appends `length` bytes of a string that need not be NUL-ended. */
void vc_text_add_bytes(vc_text *text, const char *bytes, size_t length);
/** Appends `bytes` as lowercase hex. */
void vc_text_hex(vc_text *text, const uint8_t *bytes, size_t length);
/** Appends a decimal number. */
void vc_text_int(vc_text *text, long long value);

#endif /* VC_TEXT_H */
