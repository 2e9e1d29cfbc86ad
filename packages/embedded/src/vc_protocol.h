/*
 * The subset of Veracruz's transport protocol (transport_protocol.proto) the embedded client
 * speaks, as protobuf written the way prost writes it, each message framed by an 8-byte big-endian
 * length. Pure encoding and decoding: no I/O, no allocation.
 */
#ifndef VC_PROTOCOL_H
#define VC_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

/** Bytes of the length prefix before every message. */
#define VC_FRAME_HEADER_BYTES 8

/** The fields of RuntimeManagerRequest's `message_oneof` this client sends. */
typedef enum {
  VC_REQUEST_WRITE_FILE = 2,
  VC_REQUEST_APPEND_FILE = 3,
  VC_REQUEST_RESULT = 5,
  VC_REQUEST_SHUTDOWN = 8,
  VC_REQUEST_POLICY_HASH = 10,
  VC_REQUEST_READ_FILE_RANGE = 21,
  VC_REQUEST_FILE_SIZE = 22
} vc_request_field;

/** Veracruz's ResponseStatus values this client tells apart. */
#define VC_RESPONSE_SUCCESS 1
#define VC_RESPONSE_FAILED_INVALID_ROLE 2

/** A decoded RuntimeManagerResponse; its pointers are into the message decoded. */
typedef struct {
  int32_t status;
  const uint8_t *result; /* `result` (field 4): read data, or an exit code; NULL when absent */
  size_t result_length;
  const uint8_t *policy_hash; /* `policy_hash` (field 11): the hash as ASCII hex; NULL when absent */
  size_t policy_hash_length;
  int has_file_size; /* `file_size` (field 21) */
  uint64_t file_size;
  const char *error_code; /* `error_detail` (field 20): a VeracruzError code and message; NULL when absent */
  size_t error_code_length;
  const char *error_message;
  size_t error_message_length;
} vc_response;

/**
 * A framed request for `field` with its optional file name `path` (NULL or "" for none) and, for a
 * range read, `offset` and `length` (omitted when 0, as proto3 does). Returns the framed length, or
 * 0 if it does not fit in `capacity`.
 */
size_t vc_encode_request(uint8_t *out, size_t capacity, vc_request_field field, const char *path,
                         uint64_t offset, uint64_t length);

/**
 * The framed head of a write_file or append_file of `data_length` bytes to `path`: everything before
 * the data, which follows it on the wire as it is. Returns the head's length, or 0 if it does not fit.
 */
size_t vc_encode_data_head(uint8_t *out, size_t capacity, vc_request_field field, const char *path,
                           size_t data_length);

/** The message length a frame header announces. */
uint64_t vc_decode_frame_header(const uint8_t header[VC_FRAME_HEADER_BYTES]);

/** Decodes a response message; unknown fields are skipped. Returns 0, or -1 if it is malformed. */
int vc_decode_response(const uint8_t *message, size_t length, vc_response *response);

#endif /* VC_PROTOCOL_H */
