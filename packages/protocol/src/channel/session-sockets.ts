/**
 * Messages about client connections the host hands to the isolate process itself, where the isolate
 * is a local process that can take a socket (the `linux` platform): the host accepts a principal's
 * TCP connection and passes the socket on, with a session id, beside the channel (Node's IPC channel
 * to the child, which carries descriptors); the isolate terminates TLS on it, so no byte of the
 * session passes through the host, and it reports when the connection has closed. The host keeps no
 * copy of the socket: it learns how a session went only from these reports, for its log and its
 * session count, and an isolate's report is its word, as every message of the channel is.
 */

/** host -> isolate, with the socket attached: a client connected; this socket is session `sessionId`. */
export interface SessionSocketMessage {
  type: 'session-socket';
  sessionId: number;
}

/** isolate -> host: the connection of a handed-over session has closed (or was refused at once). */
export interface SessionSocketClosedMessage {
  type: 'session-socket-closed';
  sessionId: number;
  /** Bytes the isolate read from the client's connection (ciphertext, at the TCP level). */
  bytesFromClient: number;
  /** Bytes the isolate wrote to it. */
  bytesToClient: number;
  /** Why it closed, for the host's log (never what the session carried). */
  reason: string;
}

/** The longest `reason` a closed report may carry; a longer one is cut (it only feeds a log line). */
export const MAX_SESSION_SOCKET_REASON = 200;

const isSessionId = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff;
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** `value` as a {@link SessionSocketMessage}, or undefined if it is not one (a peer may send anything). */
export function parseSessionSocketMessage(value: unknown): SessionSocketMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { type, sessionId } = value as Record<string, unknown>;
  return type === 'session-socket' && isSessionId(sessionId) ? { type, sessionId } : undefined;
}

/** `value` as a {@link SessionSocketClosedMessage}, or undefined if it is not one. */
export function parseSessionSocketClosedMessage(value: unknown): SessionSocketClosedMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { type, sessionId, bytesFromClient, bytesToClient, reason } = value as Record<string, unknown>;
  if (type !== 'session-socket-closed' || !isSessionId(sessionId) || !isCount(bytesFromClient) || !isCount(bytesToClient) || typeof reason !== 'string') {
    return undefined;
  }
  return { type, sessionId, bytesFromClient, bytesToClient, reason: reason.slice(0, MAX_SESSION_SOCKET_REASON) };
}

/**
 * isolate -> host: open a TCP connection to `address` for peer connection `connectionId` (an isolate
 * has no network of its own; it pushes dataflow outputs to peer isolates over connections its host
 * opens and hands over, and checks the peer itself, in TLS). The host connects only to addresses the
 * policy's `dataflow` names.
 */
export interface PeerConnectMessage {
  type: 'peer-connect';
  connectionId: number;
  address: string;
}

/** host -> isolate: the connection asked for, attached; or, without a socket, why there is none. */
export interface PeerSocketMessage {
  type: 'peer-socket';
  connectionId: number;
  error?: string;
}

/** `value` as a {@link PeerConnectMessage}, or undefined if it is not one. */
export function parsePeerConnectMessage(value: unknown): PeerConnectMessage | undefined {
  const { type, connectionId, address } = (value ?? {}) as Record<string, unknown>;
  return type === 'peer-connect' && isSessionId(connectionId) && typeof address === 'string' ? { type, connectionId, address } : undefined;
}

/** `value` as a {@link PeerSocketMessage}, or undefined if it is not one. */
export function parsePeerSocketMessage(value: unknown): PeerSocketMessage | undefined {
  const { type, connectionId, error } = (value ?? {}) as Record<string, unknown>;
  if (type !== 'peer-socket' || !isSessionId(connectionId)) return undefined;
  return typeof error === 'string' ? { type, connectionId, error: error.slice(0, MAX_SESSION_SOCKET_REASON) } : { type, connectionId };
}
