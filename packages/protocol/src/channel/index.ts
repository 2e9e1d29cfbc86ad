/**
 * The host <-> isolate channel: one framed, multiplexed byte stream between vc-server (untrusted)
 * and the isolate process, carrying TLS ciphertext per session with credit-based flow control,
 * plus the boot messages (attestation, initialize) and lifecycle messages (shutdown, errors); and
 * the messages that hand a client's connection itself to an isolate that is a local process.
 */
export * from './messages.ts';
export * from './codec.ts';
export * from './flow-control.ts';
export * from './connection.ts';
export * from './session-sockets.ts';
