/*
 * Sessions and operations over wolfSSL. The client allocates nothing: every buffer is in the
 * caller's vc_session. wolfSSL allocates its context, session and record buffers itself.
 */
#include "vc_client.h"

#include <limits.h>
#include <string.h>

#ifndef WOLFSSL_USER_SETTINGS
#include <wolfssl/options.h>
#endif
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "vc_protocol.h"
#include "vc_text.h"
#include "vc_verify.h"

#if !defined(WOLFSSL_TLS13) || !defined(SESSION_CERTS)
#error "the embedded client needs wolfSSL with TLS 1.3 (WOLFSSL_TLS13) and the peer's chain kept (SESSION_CERTS)"
#endif
/* The verification callback must see the isolate's certificate even when it verifies, to check it is the one kept. */
#if !defined(WOLFSSL_ALWAYS_VERIFY_CB)
#error "the embedded client needs wolfSSL to call the verification callback on the peer's certificate (WOLFSSL_ALWAYS_VERIFY_CB)"
#endif

/* vc_verify.c names wolfSSL's chain errors by these values without including wolfSSL. */
typedef char vc_asn_codes_match[(ASN_NO_SIGNER_E == -188 && ASN_AFTER_DATE_E == -151 &&
                                 ASN_BEFORE_DATE_E == -150 && ASN_SIG_CONFIRM_E == -155) ? 1 : -1];

static const char *const STATUS_NAMES[] = {
    "ok", "invalid_policy", "invalid_request", "permission_denied", "not_found", "already_exists",
    "limit_exceeded", "program_failed", "attestation_failed", "unavailable", "integrity_violation", "internal",
};

const char *vc_status_name(vc_status status) {
  return (unsigned)status < sizeof STATUS_NAMES / sizeof STATUS_NAMES[0] ? STATUS_NAMES[status] : "internal";
}

const char *vc_session_message(const vc_session *session) {
  return session->message;
}

static vc_status succeed(vc_session *session) {
  session->message[0] = '\0';
  return session->status = VC_OK;
}

/* Fails with a message made of up to three parts (NULL parts are skipped). */
static vc_status fail(vc_session *session, vc_status status, const char *first, const char *second, const char *third) {
  vc_text text;
  vc_text_start(&text, session->message, sizeof session->message);
  const char *parts[3] = {first, second, third};
  for (int index = 0; index < 3; index++) {
    if (parts[index] != NULL) vc_text_add(&text, parts[index]);
  }
  return session->status = status;
}

/* A text over the session's message, for failures that need numbers. */
static vc_text *message_text(vc_session *session, vc_text *text) {
  vc_text_start(text, session->message, sizeof session->message);
  return text;
}

/* ---- the platform under wolfSSL ---- */

static time_t platform_time(time_t *out) {
  time_t now = (time_t)vc_platform_time();
  if (out != NULL) *out = now;
  return now;
}

#ifdef WC_RNG_SEED_CB
/* wolfSSL's DRBG seeded from the device's entropy source, when wolfSSL lets it be set at run time. */
static int platform_seed(OS_Seed *os, byte *seed, word32 length) {
  (void)os;
  return vc_platform_random(seed, length) == 0 ? 0 : RNG_FAILURE_E;
}
#endif

static int tls_receive(WOLFSSL *tls, char *buffer, int size, void *context) {
  vc_session *session = (vc_session *)context;
  (void)tls;
  long received = vc_platform_tcp_recv(session->socket, (uint8_t *)buffer, (size_t)size);
  if (received > 0) {
    session->bytes_received += (uint64_t)received;
    return (int)received;
  }
  session->transport_end = received == 0 ? 1 : (int)received;
  if (received == 0) return WOLFSSL_CBIO_ERR_CONN_CLOSE;
  if (received == VC_PLATFORM_RESET) return WOLFSSL_CBIO_ERR_CONN_RST;
  return received == VC_PLATFORM_TIMEOUT ? WOLFSSL_CBIO_ERR_TIMEOUT : WOLFSSL_CBIO_ERR_GENERAL;
}

static int tls_send(WOLFSSL *tls, char *buffer, int size, void *context) {
  vc_session *session = (vc_session *)context;
  (void)tls;
  long sent = vc_platform_tcp_send(session->socket, (const uint8_t *)buffer, (size_t)size);
  if (sent > 0) return (int)sent;
  session->transport_end = sent == 0 ? VC_PLATFORM_ERROR : (int)sent;
  return sent == VC_PLATFORM_RESET ? WOLFSSL_CBIO_ERR_CONN_RST : WOLFSSL_CBIO_ERR_CONN_CLOSE;
}

/* wolfSSL's own error for a chain error its OpenSSL layer reports as an X509_V_ERR code. */
static int native_chain_error(int error) {
#if defined(OPENSSL_EXTRA) || defined(OPENSSL_EXTRA_X509_SMALL) || defined(HAVE_WEBSERVER)
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: return ASN_NO_SIGNER_E;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD: return ASN_BEFORE_DATE_E;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: return ASN_AFTER_DATE_E;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return ASN_SIG_CONFIRM_E;
    default: break;
  }
#endif
  return error;
}

/*
 * wolfSSL's verdict on each certificate of the isolate's chain: the first failure is kept and the
 * handshake goes on, so that vc_verify_isolate can refuse with the reason before any request.
 */
static int record_verification(int verified, WOLFSSL_X509_STORE_CTX *store) {
  vc_session *session = (vc_session *)store->userCtx;
  if (session != NULL && store->error_depth == 0 && session->leaf_kept >= 0) {
    /*
     * The certificate verified here is the one whose key the handshake proves. The checks read the
     * kept chain's first, and wolfSSL keeps no certificate of MAX_X509_SIZE bytes or more: the next
     * one (any certificate the PAS signed) would take its place. They must be the same bytes.
     */
    WOLFSSL_X509_CHAIN *chain = wolfSSL_get_peer_chain((WOLFSSL *)session->tls);
    int length = chain != NULL && wolfSSL_get_chain_count(chain) >= 1 ? wolfSSL_get_chain_length(chain, 0) : 0;
    const unsigned char *kept = length > 0 ? wolfSSL_get_chain_cert(chain, 0) : NULL;
    int same = store->certs != NULL && store->totalCerts >= 1 && kept != NULL &&
               store->certs[0].length == (word32)length && memcmp(store->certs[0].buffer, kept, (size_t)length) == 0;
    session->leaf_kept = same ? 1 : -1;
  }
  if (verified) return 1;
  if (session == NULL) return 0; /* nowhere to keep the verdict: let wolfSSL fail the handshake */
  if (session->chain_error == 0) {
    session->chain_error = store->error != 0 ? native_chain_error(store->error) : -1;
    session->chain_error_depth = store->error_depth;
  }
  return 1;
}

/* ---- errors of the TLS session ---- */

static const struct {
  uint8_t code;
  const char *name;
} ALERT_NAMES[] = {
    {10, "unexpected_message"}, {20, "bad_record_mac"}, {40, "handshake_failure"}, {42, "bad_certificate"},
    {43, "unsupported_certificate"}, {45, "certificate_expired"}, {46, "certificate_unknown"},
    {47, "illegal_parameter"}, {48, "unknown_ca"}, {49, "access_denied"}, {50, "decode_error"},
    {51, "decrypt_error"}, {70, "protocol_version"}, {80, "internal_error"}, {116, "certificate_required"},
};

/* What a fatal alert from the isolate means to this principal (as the TypeScript client says it). */
static vc_status alert_failure(vc_session *session, int alert) {
  const char *name = NULL, *refusal = NULL;
  for (size_t index = 0; index < sizeof ALERT_NAMES / sizeof ALERT_NAMES[0]; index++) {
    if (ALERT_NAMES[index].code == alert) name = ALERT_NAMES[index].name;
  }
  switch (alert) {
    case 46: case 48: case 49:
      refusal = "the isolate does not know this identity: its certificate is not one of the policy's identities";
      break;
    case 45:
      refusal = "the isolate refused this identity's certificate as expired or not yet valid";
      break;
    case 42: case 43:
      refusal = "the isolate refused this identity's certificate, although the policy names it";
      break;
    case 116:
      refusal = "the isolate requires a client certificate and got none";
      break;
    default:
      break;
  }
  vc_text text;
  vc_text_add(message_text(session, &text), refusal != NULL ? refusal : "the isolate ended the TLS session with");
  vc_text_add(&text, refusal != NULL ? " (TLS alert " : " alert ");
  if (name == NULL) vc_text_int(&text, alert);
  else vc_text_add(&text, name);
  if (refusal != NULL) vc_text_add(&text, ")");
  return session->status = refusal != NULL ? VC_PERMISSION_DENIED : VC_UNAVAILABLE;
}

/* The fatal alert the isolate sent, or -1. */
static int received_alert(vc_session *session) {
  WOLFSSL_ALERT_HISTORY history;
  if (wolfSSL_get_alert_history((WOLFSSL *)session->tls, &history) != WOLFSSL_SUCCESS) return -1;
  return history.last_rx.code > 0 && history.last_rx.level == alert_fatal ? history.last_rx.code : -1;
}

static void add_request(vc_text *text, const char *kind, const char *path) {
  vc_text_add(text, kind);
  if (path != NULL && path[0] != '\0') {
    vc_text_add(text, " ");
    vc_text_add(text, path);
  }
}

/* Why a read or write on the established session failed (`result` is wolfSSL's return). */
static vc_status session_failure(vc_session *session, int result, const char *kind, const char *path) {
  int alert = received_alert(session);
  if (alert > 0) return alert_failure(session, alert);
  int error = wolfSSL_get_error((WOLFSSL *)session->tls, result);
  vc_text text;
  message_text(session, &text);
  vc_text_add(&text, "the connection to the isolate was lost mid-request (");
  add_request(&text, kind, path);
  if (session->transport_end == VC_PLATFORM_RESET) {
    /* vc-server resets clients' connections when the isolate dies; the host is not trusted. */
    vc_text_add(&text, "): the host reset it, as vc-server does when the isolate has died "
                       "(this is the untrusted host's report, not the isolate's)");
  } else if (session->transport_end != 0 || error == WOLFSSL_ERROR_ZERO_RETURN) {
    vc_text_add(&text, "): the connection closed; the isolate may have died or the host dropped the connection");
  } else {
    vc_text_add(&text, "): wolfSSL error ");
    vc_text_int(&text, error);
    vc_text_add(&text, " (");
    vc_text_add(&text, wc_GetErrorString(error));
    vc_text_add(&text, ")");
  }
  return session->status = VC_UNAVAILABLE;
}

/* Why the handshake failed. */
static vc_status failed_handshake(vc_session *session, int result) {
  int alert = received_alert(session);
  if (alert > 0) return alert_failure(session, alert);
  if (session->bytes_received == 0 && session->transport_end != 0) {
    return fail(session, VC_UNAVAILABLE,
                "the connection was closed before the TLS handshake began: the server turned it away (it may be at "
                "its session limit, or the isolate cannot take another session now); retry later",
                NULL, NULL);
  }
  int error = wolfSSL_get_error((WOLFSSL *)session->tls, result);
  vc_text text;
  message_text(session, &text);
  vc_text_add(&text, "TLS handshake with the isolate failed: wolfSSL error ");
  vc_text_int(&text, error);
  vc_text_add(&text, " (");
  vc_text_add(&text, wc_GetErrorString(error));
  vc_text_add(&text, ")");
  return session->status = VC_UNAVAILABLE;
}

/* ---- requests and responses ---- */

static const char *const RESPONSE_STATUS_NAMES[] = {
    "UNSET", "SUCCESS", "FAILED_INVALID_ROLE", "FAILED_NOT_READY", "FAILED_GENERIC", "FAILED_VM_ERROR",
    "FAILED_ERROR_CODE_RETURNED", "FAILED_INVALID_REQUEST",
};

/* The error a failed response stands for: the isolate's error detail, else the bare status. */
static vc_status response_failure(vc_session *session, const vc_response *response, const char *kind, const char *path) {
  if (response->error_code != NULL) {
    for (unsigned code = VC_INVALID_POLICY; code <= VC_INTERNAL; code++) {
      const char *name = STATUS_NAMES[code];
      if (strlen(name) == response->error_code_length && memcmp(name, response->error_code, response->error_code_length) == 0) {
        vc_text text;
        vc_text_add_bytes(message_text(session, &text), response->error_message, response->error_message_length);
        return session->status = (vc_status)code;
      }
    }
  }
  vc_text text;
  add_request(message_text(session, &text), kind, path);
  vc_text_add(&text, " failed: ");
  if (response->status >= 0 && response->status < (int32_t)(sizeof RESPONSE_STATUS_NAMES / sizeof RESPONSE_STATUS_NAMES[0])) {
    vc_text_add(&text, RESPONSE_STATUS_NAMES[response->status]);
  } else {
    vc_text_add(&text, "STATUS_");
    vc_text_int(&text, response->status);
  }
  return session->status = response->status == VC_RESPONSE_FAILED_INVALID_ROLE ? VC_PERMISSION_DENIED : VC_INVALID_REQUEST;
}

static vc_status receive_exactly(vc_session *session, uint8_t *out, size_t length, const char *kind, const char *path) {
  while (length > 0) {
    int chunk = length > INT_MAX ? INT_MAX : (int)length;
    int received = wolfSSL_read((WOLFSSL *)session->tls, out, chunk);
    if (received <= 0) return session_failure(session, received, kind, path);
    out += received;
    length -= (size_t)received;
  }
  return VC_OK;
}

/* Sends one framed request and decodes its response into `response` (pointing into the buffer). */
static vc_status call(vc_session *session, const uint8_t *request, size_t length, const char *kind, const char *path,
                      vc_response *response) {
  int sent = wolfSSL_write((WOLFSSL *)session->tls, request, (int)length);
  if (sent != (int)length) return session_failure(session, sent, kind, path);
  uint8_t header[VC_FRAME_HEADER_BYTES];
  if (receive_exactly(session, header, sizeof header, kind, path) != VC_OK) return session->status;
  uint64_t message_length = vc_decode_frame_header(header);
  if (message_length > VC_BUFFER_BYTES) {
    /* Read and drop it, so the session stays in step, and say why. */
    for (uint64_t left = message_length; left > 0;) {
      size_t part = left > VC_BUFFER_BYTES ? VC_BUFFER_BYTES : (size_t)left;
      if (receive_exactly(session, session->buffer, part, kind, path) != VC_OK) return session->status;
      left -= part;
    }
    vc_text text;
    vc_text_add(message_text(session, &text), "the isolate's answer to ");
    add_request(&text, kind, path);
    vc_text_add(&text, " has ");
    vc_text_int(&text, (long long)message_length);
    vc_text_add(&text, " bytes, more than this client's buffer holds (VC_BUFFER_BYTES ");
    vc_text_int(&text, VC_BUFFER_BYTES);
    vc_text_add(&text, ")");
    return session->status = VC_LIMIT_EXCEEDED;
  }
  if (receive_exactly(session, session->buffer, (size_t)message_length, kind, path) != VC_OK) return session->status;
  if (vc_decode_response(session->buffer, (size_t)message_length, response) != 0) {
    vc_text text;
    vc_text_add(message_text(session, &text), "the isolate's answer to ");
    add_request(&text, kind, path);
    vc_text_add(&text, " is not a well-formed response");
    return session->status = VC_INTERNAL;
  }
  if (response->status != VC_RESPONSE_SUCCESS) return response_failure(session, response, kind, path);
  return succeed(session);
}

/* Checks that the session is usable and `path` (if any) fits the buffers. */
static vc_status check_request(vc_session *session, const char *path) {
  if (session->tls == NULL) return fail(session, VC_UNAVAILABLE, "the session is not connected", NULL, NULL);
  if (path != NULL && strlen(path) > VC_PATH_BYTES) {
    return fail(session, VC_INVALID_REQUEST, "path longer than VC_PATH_BYTES: ", path, NULL);
  }
  return VC_OK;
}

/* A request without data, sent and answered. */
static vc_status simple_call(vc_session *session, vc_request_field field, const char *kind, const char *path,
                             uint64_t offset, uint64_t length, vc_response *response) {
  if (check_request(session, path) != VC_OK) return session->status;
  size_t size = vc_encode_request(session->buffer, sizeof session->buffer, field, path, offset, length);
  return call(session, session->buffer, size, kind, path, response);
}

/* ---- the operations ---- */

static vc_status send_stream(vc_session *session, const char *path, vc_source source, void *context, int first_is_write) {
  if (check_request(session, path) != VC_OK) return session->status;
  uint8_t *chunk = session->buffer + VC_HEAD_BYTES;
  uint64_t stored = 0;
  for (int first = 1, ended = 0; !ended; first = 0) {
    size_t filled = 0;
    while (filled < VC_CHUNK_BYTES) {
      long produced = source(context, chunk + filled, VC_CHUNK_BYTES - filled);
      if (produced < 0) {
        vc_text text;
        vc_text_add(message_text(session, &text), "the data source for ");
        vc_text_add(&text, path);
        vc_text_add(&text, " failed after ");
        vc_text_int(&text, (long long)(stored + filled));
        vc_text_add(&text, " bytes");
        return session->status = VC_INVALID_REQUEST;
      }
      if (produced == 0) {
        ended = 1;
        break;
      }
      filled += (size_t)produced;
    }
    if (filled == 0 && !first) break;
    int write = first && first_is_write;
    vc_request_field field = write ? VC_REQUEST_WRITE_FILE : VC_REQUEST_APPEND_FILE;
    /* The head is encoded at the buffer's start, then moved to just before the chunk. */
    size_t head = vc_encode_data_head(session->buffer, VC_HEAD_BYTES, field, path, filled);
    memmove(chunk - head, session->buffer, head);
    vc_response response;
    if (call(session, chunk - head, head + filled, write ? "write_file" : "append_file", path, &response) != VC_OK) {
      if (stored > 0 && session->status != VC_UNAVAILABLE) {
        vc_text text = {session->message, sizeof session->message, strlen(session->message)};
        vc_text_add(&text, " (the first ");
        vc_text_int(&text, (long long)stored);
        vc_text_add(&text, " bytes of ");
        vc_text_add(&text, path);
        vc_text_add(&text, " were stored before the refusal)");
      }
      return session->status;
    }
    stored += filled;
  }
  return succeed(session);
}

vc_status vc_write_stream(vc_session *session, const char *path, vc_source source, void *context) {
  return send_stream(session, path, source, context, 1);
}

vc_status vc_append_stream(vc_session *session, const char *path, vc_source source, void *context) {
  return send_stream(session, path, source, context, 0);
}

typedef struct {
  const uint8_t *data;
  size_t left;
} memory_source;

static long read_memory(void *context, uint8_t *buffer, size_t capacity) {
  memory_source *source = (memory_source *)context;
  size_t part = source->left < capacity ? source->left : capacity;
  if (part > 0) memcpy(buffer, source->data, part);
  source->data += part;
  source->left -= part;
  return (long)part;
}

vc_status vc_write_file(vc_session *session, const char *path, const uint8_t *data, size_t length) {
  memory_source source = {data, length};
  return send_stream(session, path, read_memory, &source, 1);
}

vc_status vc_append_file(vc_session *session, const char *path, const uint8_t *data, size_t length) {
  memory_source source = {data, length};
  return send_stream(session, path, read_memory, &source, 0);
}

vc_status vc_file_size(vc_session *session, const char *path, uint64_t *size) {
  vc_response response;
  if (simple_call(session, VC_REQUEST_FILE_SIZE, "request_file_size", path, 0, 0, &response) != VC_OK) {
    return session->status;
  }
  *size = response.file_size;
  return VC_OK;
}

vc_status vc_read_file(vc_session *session, const char *path, vc_sink sink, void *context, uint64_t *length) {
  uint64_t size = 0, offset = 0;
  if (length != NULL) *length = 0;
  if (vc_file_size(session, path, &size) != VC_OK) return session->status;
  while (offset < size) {
    uint64_t wanted = size - offset < VC_CHUNK_BYTES ? size - offset : VC_CHUNK_BYTES;
    vc_response response;
    if (simple_call(session, VC_REQUEST_READ_FILE_RANGE, "read_file_range", path, offset, wanted, &response) != VC_OK) {
      return session->status;
    }
    if (response.result_length > wanted) {
      return fail(session, VC_INTERNAL, "the isolate answered a range read of ", path, " with more bytes than asked");
    }
    if (response.result_length == 0) break; /* the file shrank since its size was read */
    if (sink(context, response.result, response.result_length) != 0) {
      return fail(session, VC_INVALID_REQUEST, "the caller stopped the read of ", path, NULL);
    }
    offset += response.result_length;
    if (length != NULL) *length = offset;
    if (response.result_length < wanted) break;
  }
  return succeed(session);
}

vc_status vc_run(vc_session *session, const char *path, uint32_t *exit_code) {
  vc_response response;
  if (simple_call(session, VC_REQUEST_RESULT, "request_result", path, 0, 0, &response) != VC_OK) return session->status;
  if (response.result == NULL || response.result_length != 4) {
    return fail(session, VC_INTERNAL, "the isolate answered an execution without a 4-byte exit code", NULL, NULL);
  }
  const uint8_t *code = response.result;
  *exit_code = (uint32_t)code[0] | (uint32_t)code[1] << 8 | (uint32_t)code[2] << 16 | (uint32_t)code[3] << 24;
  return VC_OK;
}

vc_status vc_policy_hash(vc_session *session, char hex[65]) {
  vc_response response;
  hex[0] = '\0';
  if (simple_call(session, VC_REQUEST_POLICY_HASH, "request_policy_hash", NULL, 0, 0, &response) != VC_OK) {
    return session->status;
  }
  char expected[65];
  vc_text text;
  vc_text_start(&text, expected, sizeof expected);
  vc_text_hex(&text, session->facts->policy_hash, 32);
  size_t length = response.policy_hash_length;
  if (length != 64) {
    vc_text_add(message_text(session, &text), "the isolate reported a policy hash of ");
    vc_text_int(&text, (long long)length);
    vc_text_add(&text, " characters, not a SHA-256 in hex");
    return session->status = VC_ATTESTATION_FAILED;
  }
  for (size_t index = 0; index < 64; index++) {
    char digit = (char)response.policy_hash[index];
    hex[index] = digit >= 'A' && digit <= 'F' ? (char)(digit - 'A' + 'a') : digit;
  }
  hex[64] = '\0';
  if (memcmp(hex, expected, 64) != 0) {
    vc_text_add(message_text(session, &text), "the isolate enforces policy ");
    vc_text_add(&text, hex);
    vc_text_add(&text, ", not this policy (");
    vc_text_add(&text, expected);
    vc_text_add(&text, ")");
    return session->status = VC_ATTESTATION_FAILED;
  }
  return succeed(session);
}

vc_status vc_shutdown(vc_session *session) {
  vc_response response;
  return simple_call(session, VC_REQUEST_SHUTDOWN, "request_shutdown", NULL, 0, 0, &response);
}

/* ---- connecting ---- */

/* Checks the device's certificate is the one the policy facts name for this device, if they name one. */
static vc_status check_identity(vc_session *session, const vc_identity *identity) {
  const vc_policy_facts *facts = session->facts;
  if (facts->identity_certificate_der == NULL) return VC_OK;
  const uint8_t *der = identity->certificate;
  size_t length = identity->certificate_length;
#ifdef WOLFSSL_PEM_TO_DER
  if (identity->encoding == VC_ENCODING_PEM) {
    int converted = wc_CertPemToDer(identity->certificate, (int)identity->certificate_length, session->buffer,
                                    (int)sizeof session->buffer, CERT_TYPE);
    if (converted <= 0) return fail(session, VC_INVALID_REQUEST, "the device certificate is not a PEM certificate", NULL, NULL);
    der = session->buffer;
    length = (size_t)converted;
  }
#endif
  if (length == facts->identity_certificate_der_length && memcmp(der, facts->identity_certificate_der, length) == 0) {
    return VC_OK;
  }
  vc_text text;
  vc_text_add(message_text(session, &text), "the device certificate is not identity ");
  vc_text_int(&text, facts->identity_id);
  vc_text_add(&text, "'s certificate in the policy");
  return session->status = VC_INVALID_REQUEST;
}

/* Makes the wolfSSL context: TLS 1.3 only, the policy's suite, the PAS CA as the only anchor, the device's identity. */
static vc_status make_context(vc_session *session, const vc_identity *identity) {
  const vc_policy_facts *facts = session->facts;
  int format = identity->encoding == VC_ENCODING_PEM ? WOLFSSL_FILETYPE_PEM : WOLFSSL_FILETYPE_ASN1;
  WOLFSSL_CTX *context = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  if (context == NULL) return fail(session, VC_INTERNAL, "wolfSSL could not make a TLS context (out of memory?)", NULL, NULL);
  session->tls_context = context;
  if (wolfSSL_CTX_load_verify_buffer(context, facts->pas_ca_der, (long)facts->pas_ca_der_length, WOLFSSL_FILETYPE_ASN1) !=
      WOLFSSL_SUCCESS) {
    return fail(session, VC_INVALID_POLICY, "the policy's PAS CA certificate does not load into wolfSSL", NULL, NULL);
  }
  if (wolfSSL_CTX_set_cipher_list(context, facts->cipher_list) != WOLFSSL_SUCCESS) {
    return fail(session, VC_INVALID_POLICY, "the policy's ciphersuite ", facts->cipher_list,
                " is not one this wolfSSL build supports");
  }
  if (wolfSSL_CTX_use_certificate_buffer(context, identity->certificate, (long)identity->certificate_length, format) !=
      WOLFSSL_SUCCESS) {
    return fail(session, VC_INVALID_REQUEST, "the device certificate does not load (not a certificate in the encoding given)",
                NULL, NULL);
  }
  /* Never quote the key or wolfSSL's words about it. */
  if (wolfSSL_CTX_use_PrivateKey_buffer(context, identity->private_key, (long)identity->private_key_length, format) !=
      WOLFSSL_SUCCESS) {
    return fail(session, VC_INVALID_REQUEST, "the device private key does not load", NULL, NULL);
  }
#ifndef NO_CHECK_PRIVATE_KEY
  if (wolfSSL_CTX_check_private_key(context) != WOLFSSL_SUCCESS) {
    return fail(session, VC_INVALID_REQUEST, "the device certificate does not match the private key", NULL, NULL);
  }
#endif
  wolfSSL_CTX_set_verify(context, WOLFSSL_VERIFY_PEER, record_verification);
  wolfSSL_CTX_SetIORecv(context, tls_receive);
  wolfSSL_CTX_SetIOSend(context, tls_send);
  return VC_OK;
}

/* The isolate's certificate (DER) as the handshake received it. */
static const uint8_t *isolate_certificate(vc_session *session, size_t *length) {
  WOLFSSL_X509_CHAIN *chain = wolfSSL_get_peer_chain((WOLFSSL *)session->tls);
  *length = 0;
  if (chain == NULL || wolfSSL_get_chain_count(chain) < 1) return NULL;
  int size = wolfSSL_get_chain_length(chain, 0);
  *length = size > 0 ? (size_t)size : 0;
  return wolfSSL_get_chain_cert(chain, 0);
}

vc_status vc_connect(vc_session *session, const vc_policy_facts *facts, const vc_identity *identity, const char *host,
                     uint16_t port) {
  memset(session, 0, offsetof(vc_session, message));
  session->message[0] = '\0';
  session->facts = facts;
  if (host == NULL) {
    host = facts->server_host;
    port = facts->server_port;
  }
  if (wolfSSL_Init() != WOLFSSL_SUCCESS) return fail(session, VC_INTERNAL, "wolfSSL does not initialise", NULL, NULL);
  session->wolfssl_initialized = 1;
#ifndef NO_ASN_TIME
  /* Certificates are valid or not by the device's clock. */
  wc_SetTimeCb(platform_time);
#endif
#ifdef WC_RNG_SEED_CB
  wc_SetSeed_Cb(platform_seed);
#endif
  if (check_identity(session, identity) != VC_OK || make_context(session, identity) != VC_OK) {
    vc_status status = session->status;
    vc_close(session);
    return session->status = status;
  }
  int connected = vc_platform_tcp_connect(host, port, &session->socket);
  if (connected != 0) {
    vc_text text;
    vc_text_add(message_text(session, &text), "cannot reach the Veracruz server at ");
    vc_text_add(&text, host);
    vc_text_add(&text, ":");
    vc_text_int(&text, port);
    vc_text_add(&text, " (platform error ");
    vc_text_int(&text, connected);
    vc_text_add(&text, ")");
    session->status = VC_UNAVAILABLE;
    vc_close(session);
    return session->status = VC_UNAVAILABLE;
  }
  session->socket_open = 1;
  WOLFSSL *tls = wolfSSL_new((WOLFSSL_CTX *)session->tls_context);
  vc_status status = VC_OK;
  if (tls == NULL) {
    status = fail(session, VC_INTERNAL, "wolfSSL could not make a TLS session (out of memory?)", NULL, NULL);
  } else {
    session->tls = tls;
    wolfSSL_SetIOReadCtx(tls, session);
    wolfSSL_SetIOWriteCtx(tls, session);
    wolfSSL_SetCertCbCtx(tls, session);
    int result = wolfSSL_connect(tls);
    if (result != WOLFSSL_SUCCESS) {
      status = failed_handshake(session, result);
    } else {
      /* Checks 1 and 2, and 3 from the certificate: nothing has been sent but the handshake. */
      size_t leaf_length;
      const uint8_t *leaf = isolate_certificate(session, &leaf_length);
      if (session->leaf_kept != 1 && session->chain_error == 0) {
        status = fail(session, VC_ATTESTATION_FAILED, "the isolate certificate is not the one wolfSSL kept for the checks "
                      "(it keeps none of MAX_X509_SIZE bytes or more)", NULL, NULL);
      } else {
        status = session->status = vc_verify_isolate(facts, leaf, leaf_length, session->chain_error, session->chain_error_depth,
                                                     session->message, sizeof session->message, &session->platform);
      }
      /* Check 3 as the isolate reports it; an isolate refusing this identity says so here, with an alert. */
      char reported[65];
      if (status == VC_OK) status = vc_policy_hash(session, reported);
    }
  }
  if (status != VC_OK) {
    vc_close(session);
    return session->status = status;
  }
  return succeed(session);
}

void vc_close(vc_session *session) {
  if (session->tls != NULL) {
    /* close_notify, if the connection still takes it; the isolate's answer is not awaited. */
    if (session->transport_end == 0) (void)wolfSSL_shutdown((WOLFSSL *)session->tls);
    wolfSSL_free((WOLFSSL *)session->tls);
    session->tls = NULL;
  }
  if (session->tls_context != NULL) {
    wolfSSL_CTX_free((WOLFSSL_CTX *)session->tls_context);
    session->tls_context = NULL;
  }
  if (session->socket_open) {
    vc_platform_tcp_close(session->socket);
    session->socket_open = 0;
  }
  if (session->wolfssl_initialized) {
    (void)wolfSSL_Cleanup();
    session->wolfssl_initialized = 0;
  }
}
