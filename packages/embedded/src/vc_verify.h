/*
 * The checks on the isolate's certificate that decide whether anything may be sent to it: the
 * chain (wolfSSL's verdict against the policy's PAS CA, named here), then the runtime-hash and
 * policy-binding extensions of the leaf, read by a small DER walker rather than through wolfSSL,
 * which need not expose extensions it does not know.
 */
#ifndef VC_VERIFY_H
#define VC_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "vc_client.h"

/**
 * Finds the extension with OID `oid` (the OID's content bytes) in a DER certificate
 * (tbsCertificate -> [3] extensions). Returns 1 and its value (the extnValue OCTET STRING's
 * contents), 0 if the certificate has no such extension, -1 if the certificate is not well-formed.
 */
int vc_find_extension(const uint8_t *certificate, size_t length, const uint8_t *oid, size_t oid_length,
                      const uint8_t **value, size_t *value_length);

/**
 * Checks the isolate's leaf certificate against the policy facts, after wolfSSL's verification of
 * the chain reported `chain_error` (0: none) at `chain_error_depth`. Returns VC_OK and the
 * platform whose runtime hash matched, or VC_ATTESTATION_FAILED with the reason in `message`.
 */
vc_status vc_verify_isolate(const vc_policy_facts *facts, const uint8_t *leaf, size_t leaf_length,
                            int chain_error, int chain_error_depth, char *message, size_t capacity,
                            const char **platform);

#endif /* VC_VERIFY_H */
