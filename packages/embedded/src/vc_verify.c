#include "vc_verify.h"

#include <string.h>

#include "vc_text.h"

/* wolfSSL's ASN error codes (wolfcrypt/error-crypt.h), which its chain verification reports. */
#define VC_ASN_BEFORE_DATE_E (-150)
#define VC_ASN_AFTER_DATE_E (-151)
#define VC_ASN_SIG_CONFIRM_E (-155)
#define VC_ASN_NO_SIGNER_E (-188)

/* 2.5.30.1, Veracruz's runtime-hash extension. */
static const uint8_t RUNTIME_HASH_OID[] = {0x55, 0x1e, 0x01};
/* 2.25.175502363497633101215918906921151556982: the policy hash, then the identity hash. */
static const uint8_t POLICY_BINDING_OID[] = {0x69, 0x82, 0x88, 0x88, 0xc3, 0xa5, 0xac, 0xd0, 0xe2, 0x97,
                                             0xe5, 0xb6, 0xea, 0xb9, 0xee, 0xa9, 0x9f, 0xfb, 0xda, 0x76};

/* One DER element: its tag and contents. */
typedef struct {
  uint8_t tag;
  const uint8_t *value;
  size_t length;
} der_item;

/* Reads the element at *at (before end), moving *at past it. Returns 0, or -1 if malformed. */
static int der_next(const uint8_t **at, const uint8_t *end, der_item *item) {
  const uint8_t *p = *at;
  if (end - p < 2) return -1;
  item->tag = *p++;
  size_t length = *p++;
  if (length & 0x80) {
    size_t count = length & 0x7f;
    /* No indefinite length (0x80); at most 4 length bytes, and no more than a size_t holds. */
    if (count == 0 || count > 4 || count > sizeof length || (size_t)(end - p) < count) return -1;
    length = 0;
    while (count-- > 0) length = length << 8 | *p++;
  }
  if (length > (size_t)(end - p)) return -1;
  item->value = p;
  item->length = length;
  *at = p + length;
  return 0;
}

/* The contents of the element at `at` if it is a SEQUENCE (or `tag`). */
static int der_enter(const uint8_t *at, const uint8_t *end, uint8_t tag, der_item *item) {
  return der_next(&at, end, item) == 0 && item->tag == tag ? 0 : -1;
}

int vc_find_extension(const uint8_t *certificate, size_t length, const uint8_t *oid, size_t oid_length,
                      const uint8_t **value, size_t *value_length) {
  der_item top, tbs, field;
  if (der_enter(certificate, certificate + length, 0x30, &top) < 0) return -1;
  if (der_enter(top.value, top.value + top.length, 0x30, &tbs) < 0) return -1;
  const uint8_t *at = tbs.value, *end = tbs.value + tbs.length;
  /* version, serial, signature, issuer, validity, subject, key, then optional [1] [2] [3]. */
  while (at < end) {
    if (der_next(&at, end, &field) < 0) return -1;
    if (field.tag != 0xa3) continue;
    der_item extensions, extension, extension_oid, next;
    if (der_enter(field.value, field.value + field.length, 0x30, &extensions) < 0) return -1;
    const uint8_t *each = extensions.value, *extensions_end = extensions.value + extensions.length;
    while (each < extensions_end) {
      if (der_next(&each, extensions_end, &extension) < 0 || extension.tag != 0x30) return -1;
      const uint8_t *part = extension.value, *extension_end = extension.value + extension.length;
      if (der_next(&part, extension_end, &extension_oid) < 0 || extension_oid.tag != 0x06) return -1;
      if (der_next(&part, extension_end, &next) < 0) return -1;
      if (next.tag == 0x01 && der_next(&part, extension_end, &next) < 0) return -1; /* critical */
      if (next.tag != 0x04) return -1;
      if (extension_oid.length == oid_length && memcmp(extension_oid.value, oid, oid_length) == 0) {
        *value = next.value;
        *value_length = next.length;
        return 1;
      }
    }
    return 0;
  }
  return 0;
}

/* Names wolfSSL's verdict on the chain. */
static void describe_chain_error(vc_text *text, int error, int depth) {
  const char *name = NULL, *meaning = NULL;
  switch (error) {
    case VC_ASN_NO_SIGNER_E: name = "ASN_NO_SIGNER_E"; meaning = "not signed by the policy's PAS CA"; break;
    case VC_ASN_AFTER_DATE_E: name = "ASN_AFTER_DATE_E"; meaning = "expired, by the device's clock"; break;
    case VC_ASN_BEFORE_DATE_E: name = "ASN_BEFORE_DATE_E"; meaning = "not yet valid, by the device's clock"; break;
    case VC_ASN_SIG_CONFIRM_E: name = "ASN_SIG_CONFIRM_E"; meaning = "its signature does not verify"; break;
    default: break;
  }
  vc_text_add(text, "chain: ");
  if (name != NULL) {
    vc_text_add(text, name);
  } else {
    vc_text_add(text, "wolfSSL verification error ");
    vc_text_int(text, error);
  }
  vc_text_add(text, depth == 0 ? " at the isolate certificate" : " at chain[");
  if (depth != 0) {
    vc_text_int(text, depth);
    vc_text_add(text, "]");
  }
  if (meaning != NULL) {
    vc_text_add(text, " (");
    vc_text_add(text, meaning);
    vc_text_add(text, ")");
  }
}

/* Whether the carried hash is the listed one; a listed 32-byte prefix matches a carried SEV-SNP 48. */
static int runtime_hash_matches(const vc_runtime_hash *listed, const uint8_t *carried, size_t length) {
  if (listed->length == length) return memcmp(listed->bytes, carried, length) == 0;
  return length == 48 && listed->length == 32 && memcmp(listed->bytes, carried, 32) == 0;
}

static vc_status check_runtime_hash(const vc_policy_facts *facts, const uint8_t *leaf, size_t leaf_length,
                                    vc_text *text, const char **platform) {
  const uint8_t *hash;
  size_t length;
  int found = vc_find_extension(leaf, leaf_length, RUNTIME_HASH_OID, sizeof RUNTIME_HASH_OID, &hash, &length);
  if (found < 0) {
    vc_text_add(text, "the isolate certificate is not well-formed DER");
    return VC_ATTESTATION_FAILED;
  }
  if (found == 0) {
    vc_text_add(text, "the isolate certificate has no runtime-hash extension (2.5.30.1)");
    return VC_ATTESTATION_FAILED;
  }
  if (length != 32 && length != 48) {
    vc_text_add(text, "runtime-hash extension 2.5.30.1 holds ");
    vc_text_int(text, (long long)length);
    vc_text_add(text, " bytes; expected 32 (or 48 for SEV-SNP)");
    return VC_ATTESTATION_FAILED;
  }
  for (size_t index = 0; index < facts->runtime_hash_count; index++) {
    if (runtime_hash_matches(&facts->runtime_hashes[index], hash, length)) {
      *platform = facts->runtime_hashes[index].platform;
      return VC_OK;
    }
  }
  vc_text_add(text, "runtime hash ");
  vc_text_hex(text, hash, length);
  vc_text_add(text, " is not one the policy allows (");
  if (facts->runtime_hash_count == 0) vc_text_add(text, "the policy lists none");
  for (size_t index = 0; index < facts->runtime_hash_count; index++) {
    const vc_runtime_hash *listed = &facts->runtime_hashes[index];
    if (index > 0) vc_text_add(text, ", ");
    vc_text_add(text, listed->platform);
    vc_text_add(text, ": ");
    vc_text_hex(text, listed->bytes, 8);
    vc_text_add(text, "...");
  }
  vc_text_add(text, ")");
  return VC_ATTESTATION_FAILED;
}

static vc_status check_policy_binding(const vc_policy_facts *facts, const uint8_t *leaf, size_t leaf_length,
                                      vc_text *text) {
  const uint8_t *binding;
  size_t length;
  int found = vc_find_extension(leaf, leaf_length, POLICY_BINDING_OID, sizeof POLICY_BINDING_OID, &binding, &length);
  if (found <= 0) {
    vc_text_add(text, "the isolate certificate binds no policy (no extension 2.25.175502363497633101215918906921151556982)");
    return VC_ATTESTATION_FAILED;
  }
  if (length != 64) {
    vc_text_add(text, "policy-binding extension holds ");
    vc_text_int(text, (long long)length);
    vc_text_add(text, " bytes; expected 64");
    return VC_ATTESTATION_FAILED;
  }
  if (memcmp(binding, facts->policy_hash, 32) == 0) return VC_OK;
  vc_text_add(text, "the isolate certificate binds policy ");
  vc_text_hex(text, binding, 32);
  vc_text_add(text, ", not this policy (");
  vc_text_hex(text, facts->policy_hash, 32);
  vc_text_add(text, ")");
  return VC_ATTESTATION_FAILED;
}

vc_status vc_verify_isolate(const vc_policy_facts *facts, const uint8_t *leaf, size_t leaf_length,
                            int chain_error, int chain_error_depth, char *message, size_t capacity,
                            const char **platform) {
  vc_text text;
  vc_text_start(&text, message, capacity);
  if (leaf == NULL || leaf_length == 0) {
    vc_text_add(&text, "the isolate presented no certificate");
    return VC_ATTESTATION_FAILED;
  }
  if (chain_error != 0) {
    describe_chain_error(&text, chain_error, chain_error_depth);
    return VC_ATTESTATION_FAILED;
  }
  vc_status status = check_runtime_hash(facts, leaf, leaf_length, &text, platform);
  return status != VC_OK ? status : check_policy_binding(facts, leaf, leaf_length, &text);
}
