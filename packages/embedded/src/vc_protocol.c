#include "vc_protocol.h"

#include <string.h>

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_BYTES = 2, WIRE_FIXED32 = 5 };

static size_t varint_length(uint64_t value) {
  size_t length = 1;
  while (value >= 0x80) {
    value >>= 7;
    length++;
  }
  return length;
}

/* A writer that stops writing, and remembers it, once `capacity` is reached. */
typedef struct {
  uint8_t *out;
  size_t capacity;
  size_t length;
  int full;
} writer;

static void put_byte(writer *w, uint8_t byte) {
  if (w->length < w->capacity) w->out[w->length++] = byte;
  else w->full = 1;
}

static void put_varint(writer *w, uint64_t value) {
  while (value >= 0x80) {
    put_byte(w, (uint8_t)(value | 0x80));
    value >>= 7;
  }
  put_byte(w, (uint8_t)value);
}

static void put_tag(writer *w, unsigned field, unsigned wire_type) {
  put_varint(w, (uint64_t)(field << 3 | wire_type));
}

static void put_frame_header(writer *w, uint64_t message_length) {
  for (int shift = 56; shift >= 0; shift -= 8) put_byte(w, (uint8_t)(message_length >> shift));
}

static size_t tag_length(unsigned field) {
  return varint_length((uint64_t)field << 3 | WIRE_BYTES);
}

static size_t path_field_length(size_t path_length) {
  return path_length == 0 ? 0 : 1 + varint_length(path_length) + path_length;
}

static void put_path_field(writer *w, const char *path, size_t path_length) {
  if (path_length == 0) return;
  put_tag(w, 1, WIRE_BYTES);
  put_varint(w, path_length);
  for (size_t index = 0; index < path_length; index++) put_byte(w, (uint8_t)path[index]);
}

size_t vc_encode_request(uint8_t *out, size_t capacity, vc_request_field field, const char *path,
                         uint64_t offset, uint64_t length) {
  size_t path_length = path == NULL ? 0 : strlen(path);
  uint64_t inner = path_field_length(path_length) + (offset == 0 ? 0 : 1 + varint_length(offset)) +
                   (length == 0 ? 0 : 1 + varint_length(length));
  writer w = {out, capacity, 0, 0};
  put_frame_header(&w, tag_length(field) + varint_length(inner) + inner);
  put_tag(&w, field, WIRE_BYTES);
  put_varint(&w, inner);
  put_path_field(&w, path, path_length);
  if (offset != 0) {
    put_tag(&w, 2, WIRE_VARINT);
    put_varint(&w, offset);
  }
  if (length != 0) {
    put_tag(&w, 3, WIRE_VARINT);
    put_varint(&w, length);
  }
  return w.full ? 0 : w.length;
}

size_t vc_encode_data_head(uint8_t *out, size_t capacity, vc_request_field field, const char *path,
                           size_t data_length) {
  size_t path_length = path == NULL ? 0 : strlen(path);
  /* Empty data is omitted, as proto3 does. */
  uint64_t data_field = data_length == 0 ? 0 : 1 + varint_length(data_length) + data_length;
  uint64_t inner = path_field_length(path_length) + data_field;
  writer w = {out, capacity, 0, 0};
  put_frame_header(&w, tag_length(field) + varint_length(inner) + inner);
  put_tag(&w, field, WIRE_BYTES);
  put_varint(&w, inner);
  put_path_field(&w, path, path_length);
  if (data_length != 0) {
    put_tag(&w, 2, WIRE_BYTES);
    put_varint(&w, data_length);
  }
  return w.full ? 0 : w.length;
}

uint64_t vc_decode_frame_header(const uint8_t header[VC_FRAME_HEADER_BYTES]) {
  uint64_t length = 0;
  for (int index = 0; index < VC_FRAME_HEADER_BYTES; index++) length = length << 8 | header[index];
  return length;
}

/* A reader over one message; any overrun marks it malformed. */
typedef struct {
  const uint8_t *at;
  const uint8_t *end;
  int malformed;
} reader;

static uint64_t get_varint(reader *r) {
  uint64_t value = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (r->at >= r->end) break;
    uint8_t byte = *r->at++;
    value |= (uint64_t)(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  r->malformed = 1;
  return 0;
}

/* A field's key (field number << 3 | wire type); beyond 32 bits or field 0 is malformed, as in prost. */
static uint64_t get_key(reader *r) {
  uint64_t key = get_varint(r);
  if (key > 0xffffffffu || key >> 3 == 0) r->malformed = 1;
  return key;
}

/* The bytes of a length-delimited field, as a reader of its own. */
static reader get_bytes(reader *r) {
  uint64_t length = get_varint(r);
  reader inner = {r->at, r->at, 0};
  if (r->malformed || length > (uint64_t)(r->end - r->at)) {
    r->malformed = 1;
    return inner;
  }
  inner.end = r->at + length;
  r->at = inner.end;
  return inner;
}

static void skip(reader *r, unsigned wire_type) {
  size_t width = wire_type == WIRE_FIXED64 ? 8 : 4;
  switch (wire_type) {
    case WIRE_VARINT:
      (void)get_varint(r);
      return;
    case WIRE_BYTES:
      (void)get_bytes(r);
      return;
    case WIRE_FIXED64:
    case WIRE_FIXED32:
      if ((size_t)(r->end - r->at) < width) r->malformed = 1;
      else r->at += width;
      return;
    default:
      r->malformed = 1;
  }
}

/* The field `wanted` of an embedded message, if it has that wire type; the last occurrence wins. */
static int find_field(reader message, unsigned wanted, unsigned wanted_type, reader *bytes, uint64_t *varint) {
  int found = 0;
  while (message.at < message.end && !message.malformed) {
    uint64_t tag = get_key(&message);
    if (message.malformed) break;
    unsigned field = (unsigned)(tag >> 3), wire_type = (unsigned)(tag & 7);
    if (field == wanted && wire_type == wanted_type) {
      if (wire_type == WIRE_BYTES) *bytes = get_bytes(&message);
      else *varint = get_varint(&message);
      found = 1;
    } else {
      skip(&message, wire_type);
    }
  }
  return message.malformed ? -1 : found;
}

int vc_decode_response(const uint8_t *message, size_t length, vc_response *response) {
  reader r = {message, message + length, 0};
  memset(response, 0, sizeof *response);
  while (r.at < r.end && !r.malformed) {
    uint64_t tag = get_key(&r);
    if (r.malformed) break;
    unsigned field = (unsigned)(tag >> 3), wire_type = (unsigned)(tag & 7);
    if (field == 1 && wire_type == WIRE_VARINT) {
      response->status = (int32_t)get_varint(&r);
      continue;
    }
    if (wire_type != WIRE_BYTES || (field != 4 && field != 11 && field != 20 && field != 21)) {
      skip(&r, wire_type);
      continue;
    }
    reader inner = get_bytes(&r);
    reader value = {inner.at, inner.at, 0};
    uint64_t number = 0;
    if (r.malformed) break;
    if (field == 21) {
      if (find_field(inner, 1, WIRE_VARINT, &value, &number) < 0) return -1;
      response->has_file_size = 1;
      response->file_size = number;
    } else if (field == 20) {
      reader text = {inner.at, inner.at, 0};
      if (find_field(inner, 1, WIRE_BYTES, &value, &number) < 0) return -1;
      if (find_field(inner, 2, WIRE_BYTES, &text, &number) < 0) return -1;
      response->error_code = (const char *)value.at;
      response->error_code_length = (size_t)(value.end - value.at);
      response->error_message = (const char *)text.at;
      response->error_message_length = (size_t)(text.end - text.at);
    } else {
      /* result and policy_hash: a message holding bytes field 1 (absent when empty). */
      if (find_field(inner, 1, WIRE_BYTES, &value, &number) < 0) return -1;
      size_t data_length = (size_t)(value.end - value.at);
      if (field == 4) {
        response->result = value.at;
        response->result_length = data_length;
      } else {
        response->policy_hash = value.at;
        response->policy_hash_length = data_length;
      }
    }
  }
  return r.malformed ? -1 : 0;
}
