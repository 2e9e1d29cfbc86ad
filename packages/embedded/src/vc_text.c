#include "vc_text.h"

void vc_text_start(vc_text *text, char *data, size_t capacity) {
  text->data = data;
  text->capacity = capacity;
  text->length = 0;
  data[0] = '\0';
}

void vc_text_add_bytes(vc_text *text, const char *bytes, size_t length) {
  size_t room = text->capacity - 1 - text->length;
  if (length > room) length = room;
  for (size_t index = 0; index < length; index++) text->data[text->length++] = bytes[index];
  text->data[text->length] = '\0';
}

void vc_text_add(vc_text *text, const char *string) {
  size_t length = 0;
  while (string[length] != '\0') length++;
  vc_text_add_bytes(text, string, length);
}

void vc_text_hex(vc_text *text, const uint8_t *bytes, size_t length) {
  static const char digits[] = "0123456789abcdef";
  for (size_t index = 0; index < length; index++) {
    char pair[2] = {digits[bytes[index] >> 4], digits[bytes[index] & 15]};
    vc_text_add_bytes(text, pair, 2);
  }
}

void vc_text_int(vc_text *text, long long value) {
  char digits[24];
  size_t at = sizeof digits;
  unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
  do {
    digits[--at] = (char)('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude > 0);
  if (value < 0) digits[--at] = '-';
  vc_text_add_bytes(text, digits + at, sizeof digits - at);
}
