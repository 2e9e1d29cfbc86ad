/*
 * The smallest program that uses the whole client API, for the Cortex-M4 size figures: every
 * public function is reachable, so --gc-sections keeps exactly the client code a device carries.
 * The policy facts are a placeholder (a real header adds its PAS CA certificate and runtime
 * hashes as read-only data, a few hundred bytes); nothing here runs.
 */
#include "vc_client.h"

static const vc_runtime_hash runtime_hashes[1] = {{"linux", 32, {0}}};
static const uint8_t pas_ca_der[1] = {0x30};

static const vc_policy_facts facts = {
    {0}, pas_ca_der, sizeof pas_ca_der, runtime_hashes, 1, "isolate", 3017, "TLS13-CHACHA20-POLY1305-SHA256", 0, NULL, 0,
};

static vc_session session;
static uint8_t file[16];
static uint64_t sink_total;

static long source(void *context, uint8_t *buffer, size_t capacity) {
  (void)context;
  (void)buffer;
  (void)capacity;
  return 0;
}

static int sink(void *context, const uint8_t *data, size_t length) {
  (void)context;
  (void)data;
  sink_total += length;
  return 0;
}

int main(void) {
  static const uint8_t identity_bytes[1] = {0};
  const vc_identity identity = {identity_bytes, 1, identity_bytes, 1, VC_ENCODING_DER};
  char hex[65];
  uint64_t size = 0;
  uint32_t exit_code = 0;
  int failures = 0;
  if (vc_connect(&session, &facts, &identity, NULL, 0) != VC_OK) return 1;
  failures += vc_policy_hash(&session, hex) != VC_OK;
  failures += vc_write_file(&session, "/input/a", file, sizeof file) != VC_OK;
  failures += vc_append_file(&session, "/input/a", file, sizeof file) != VC_OK;
  failures += vc_write_stream(&session, "/input/b", source, NULL) != VC_OK;
  failures += vc_append_stream(&session, "/input/b", source, NULL) != VC_OK;
  failures += vc_file_size(&session, "/output/a", &size) != VC_OK;
  failures += vc_read_file(&session, "/output/a", sink, NULL, &size) != VC_OK;
  failures += vc_run(&session, "/program/p.wasm", &exit_code) != VC_OK;
  failures += vc_shutdown(&session) != VC_OK;
  failures += vc_status_name(session.status)[0] == 0;
  failures += vc_session_message(&session)[0] != 0;
  vc_close(&session);
  return failures + (int)exit_code;
}
