/**
 * The messages of Veracruz's `transport_protocol` (proto/transport_protocol.proto) as plain
 * TypeScript values. Requests and response bodies are tagged unions named after the protobuf
 * `oneof` fields, so a reader of the .proto file finds each one by its name.
 */

/** Veracruz's `ResponseStatus` enum, with its wire values. */
export const ResponseStatus = {
  UNSET: 0,
  SUCCESS: 1,
  FAILED_INVALID_ROLE: 2,
  FAILED_NOT_READY: 3,
  FAILED_GENERIC: 4,
  FAILED_VM_ERROR: 5,
  FAILED_ERROR_CODE_RETURNED: 6,
  FAILED_INVALID_REQUEST: 7,
} as const;

/** One of {@link ResponseStatus}'s values (an unknown number decodes as itself). */
export type ResponseStatus = (typeof ResponseStatus)[keyof typeof ResponseStatus];

/** The name of a status value, for messages ("FAILED_INVALID_REQUEST"); `STATUS_<n>` if unknown. */
export function responseStatusName(status: number): string {
  for (const [name, value] of Object.entries(ResponseStatus)) if (value === status) return name;
  return `STATUS_${status}`;
}

/** One request a principal sends to the runtime (`RuntimeManagerRequest.message_oneof`). */
export type RequestMessage =
  /** Create or truncate `fileName` and write `data` (field 2). */
  | { kind: 'write_file'; fileName: string; data: Uint8Array }
  /** Append `data` to `fileName`, creating it if needed (field 3). */
  | { kind: 'append_file'; fileName: string; data: Uint8Array }
  /** Legacy, answered with FAILED_INVALID_REQUEST (field 4). */
  | { kind: 'request_pi_hash'; fileName: string }
  /** Execute the program at `fileName`; the result is its exit code (field 5). */
  | { kind: 'request_result'; fileName: string }
  /** Legacy, answered with FAILED_INVALID_REQUEST (field 6). */
  | { kind: 'request_proxy_psa_attestation_token'; challenge: Uint8Array }
  /** End the computation (field 8). */
  | { kind: 'request_shutdown' }
  /** Legacy, answered with FAILED_INVALID_REQUEST (field 9). */
  | { kind: 'psa_attestation_init'; challenge: Uint8Array; deviceId: number }
  /** The hex SHA-256 of the policy the runtime enforces (field 10). */
  | { kind: 'request_policy_hash' }
  /** The whole of `fileName`, or of the `stdout`/`stderr` stream (field 11). */
  | { kind: 'read_file'; fileName: string }
  /** Run the pipeline named (or indexed) by `fileName` (field 12). */
  | { kind: 'request_pipeline'; fileName: string }
  /** New: `length` bytes of `fileName` from `offset`, fewer at the end of the file (field 21). */
  | { kind: 'read_file_range'; fileName: string; offset: number; length: number }
  /** New: the size of `fileName` in bytes (field 22). */
  | { kind: 'request_file_size'; fileName: string }
  /**
   * New: up to `length` bytes of `fileName` from `offset`; when there are none yet, the answer waits
   * up to `waitMs` (the runtime caps it at 30 s) for data or the end of the stream (field 23).
   */
  | { kind: 'read_stream'; fileName: string; offset: number; length: number; waitMs: number }
  /** New: this principal will append no more to the stream `fileName` (field 24). */
  | { kind: 'close_stream'; fileName: string }
  /**
   * New: the rights in force (the policy's, less what programs narrowed) of every subject, and the
   * narrowings made, as JSON in `result` (field 25).
   */
  | { kind: 'request_rights' }
  /** No operation set (an empty `oneof`), or one this version does not know. */
  | { kind: 'none' };

/** A whole `RuntimeManagerRequest`. `context` is never set by Veracruz (0). */
export type RuntimeManagerRequest = RequestMessage & { context?: number };

/** The payload of a response (`RuntimeManagerResponse.message_oneof`). */
export type ResponseBody =
  /** Read data or a program's exit code as u32 little-endian (field 4). */
  | { kind: 'result'; data: Uint8Array }
  /** Legacy (field 5). */
  | { kind: 'pi_hash'; data: Uint8Array }
  /** Legacy (field 6). */
  | { kind: 'error'; error: Uint8Array }
  /** Legacy (field 10). */
  | { kind: 'state'; state: Uint8Array }
  /** The policy hash as ASCII hex (field 11). */
  | { kind: 'policy_hash'; data: Uint8Array }
  /** Legacy (field 12). */
  | { kind: 'cert'; data: Uint8Array }
  /** New: answer to `request_file_size` (field 21). */
  | { kind: 'file_size'; size: number }
  /**
   * New: answer to `read_stream` (field 22). `end`: the stream has ended and `data` reaches its end,
   * so nothing more will come.
   */
  | { kind: 'stream_chunk'; data: Uint8Array; end: boolean };

/** New (field 20): why a request failed, as a VeracruzError code and a message without secrets. */
export interface ErrorDetail {
  code: string;
  message: string;
}

/** A whole `RuntimeManagerResponse`. */
export interface RuntimeManagerResponse {
  status: number;
  context?: number;
  body?: ResponseBody;
  errorDetail?: ErrorDetail;
}
