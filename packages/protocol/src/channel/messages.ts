import type { Code } from '@veracruz-ts/core';

/**
 * The messages of the host <-> isolate channel. The host (vc-server) is untrusted: it only relays
 * TLS ciphertext, relays attestation material between the isolate and the PAS, and starts/stops the
 * isolate. Nothing here carries plaintext of a principal.
 */

/** Wire tag of each message kind (the byte after the frame length). */
export const MessageType = {
  /** host -> isolate: a client connected; later tls-data with this id belongs to it. */
  NewSession: 1,
  /** both ways: TLS record bytes of one session (ciphertext only). */
  TlsData: 2,
  /** both ways: the session is over (client gone, or TLS session ended); the reason is for logs. */
  Close: 3,
  /** both ways: the receiver has consumed `bytes` more bytes of this session's tls-data (flow control credit). */
  Ack: 4,
  /** host -> isolate: produce a CSR and evidence for this PAS nonce (the CSR binding the policy, when given). */
  AttestationRequest: 5,
  /** isolate -> host: the CSR, and either the evidence or a request that the launcher produce it. */
  AttestationResponse: 6,
  /** host -> isolate: the policy's exact bytes and the certificate chain the PAS issued (leaf first, DER). */
  Initialize: 7,
  /** isolate -> host: outcome of initialize (or of an attestation request that failed). */
  Status: 8,
  /** both ways: host -> isolate "stop now"; isolate -> host "a principal asked to shut down; I am exiting". */
  Shutdown: 9,
  /** isolate -> host: a fatal error; the isolate exits after sending it. */
  IsolateError: 10,
} as const;

/** One of {@link MessageType}'s values. */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Who must produce the attestation evidence for the isolate's CSR. */
export const EvidenceSource = {
  /** The isolate produced the evidence itself (SEV-SNP/TDX guest report); it is in `evidence`. */
  Isolate: 0,
  /**
   * The launcher must produce it (the `linux` platform, where the launching host plays the hardware:
   * it measured the bundle it started and signs sha256(CSR) + nonce with its dev key). `evidence` is empty.
   */
  Launcher: 1,
} as const;

/** One of {@link EvidenceSource}'s values. */
export type EvidenceSource = (typeof EvidenceSource)[keyof typeof EvidenceSource];

/** `'ok'`, or the {@link Code} of a failure. */
export type StatusCode = 'ok' | Code;

/** A decoded channel message. Session ids are unsigned 32-bit integers chosen by the host. */
export type ChannelMessage =
  | { type: 'new-session'; sessionId: number }
  | { type: 'tls-data'; sessionId: number; data: Uint8Array }
  | { type: 'close'; sessionId: number; reason: string }
  | { type: 'ack'; sessionId: number; bytes: number }
  | { type: 'attestation-request'; nonce: Uint8Array; policyBinding?: Uint8Array }
  | { type: 'attestation-response'; csr: Uint8Array; source: EvidenceSource; evidence: Uint8Array }
  | { type: 'initialize'; policy: Uint8Array; certificateChain: Uint8Array[] }
  | { type: 'status'; code: StatusCode; message: string }
  | { type: 'shutdown'; reason: string }
  | { type: 'isolate-error'; code: Code; message: string };

/** The `type` strings of {@link ChannelMessage}. */
export type ChannelMessageKind = ChannelMessage['type'];

/** Maps each message kind to its wire tag. */
export const tagOfKind: Readonly<Record<ChannelMessageKind, MessageType>> = {
  'new-session': MessageType.NewSession,
  'tls-data': MessageType.TlsData,
  close: MessageType.Close,
  ack: MessageType.Ack,
  'attestation-request': MessageType.AttestationRequest,
  'attestation-response': MessageType.AttestationResponse,
  initialize: MessageType.Initialize,
  status: MessageType.Status,
  shutdown: MessageType.Shutdown,
  'isolate-error': MessageType.IsolateError,
};
