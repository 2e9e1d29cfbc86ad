/**
 * The host <-> isolate channel: one framed, multiplexed byte stream between vc-server (untrusted)
 * and the isolate process, carrying TLS ciphertext per session with credit-based flow control,
 * plus the boot messages (attestation, initialize) and lifecycle messages (shutdown, errors).
 */
export * from './messages.ts';
export * from './codec.ts';
export * from './flow-control.ts';
export * from './connection.ts';
export * from './heap-tuning.ts';
