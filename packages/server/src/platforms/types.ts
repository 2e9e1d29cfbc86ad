import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { Platform } from '@veracruz-ts/attestation';
import type { PeerConnectMessage, SessionSocketClosedMessage } from '@veracruz-ts/protocol/channel';

/** How an isolate ended. */
export interface IsolateExit {
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: string | null;
  /** What the launcher knows of why, when it knows more than the code (e.g. its memory limit killed it). */
  cause?: string;
}

/** A running isolate as its launcher sees it. */
export interface LaunchedIsolate {
  /** Frames from the isolate. */
  input: Readable;
  /** Frames to the isolate. */
  output: Writable;
  /** What the launcher measured before starting it (linux: SHA-256 of the bundle), if it measures. */
  measurement: Uint8Array | undefined;
  /** The attestation platform of this isolate's evidence (what the PAS verifies it as). */
  attestationPlatform: Platform;
  /**
   * Produces evidence on the isolate's behalf, for platforms where the launcher plays the hardware
   * (linux). Platforms whose isolate reports its own evidence throw.
   */
  evidenceFor(request: { csrHash: Uint8Array; nonce: Uint8Array }): Promise<Uint8Array>;
  /** Settles when the isolate has ended, however it ended. */
  exited: Promise<IsolateExit>;
  /** The isolate's process id, when it is a local process. */
  pid: number | undefined;
  /** Stops the isolate at once. */
  kill(): void;
  /** The limits the launcher applied from outside, in words (for the operator's log). */
  outerLimits?: string;
  /**
   * Where the launcher was asked to and can pass clients' connections to the isolate process itself
   * (linux), the means to; undefined where their bytes are relayed over the channel.
   */
  sessionSockets?: SessionSocketPort | undefined;
}

/**
 * Hands clients' TCP connections to an isolate that is a local process (see
 * `@veracruz-ts/protocol/channel`'s session-sockets): the isolate terminates TLS on the socket itself.
 */
export interface SessionSocketPort {
  /**
   * Passes `socket` to the isolate as session `sessionId`; once it is sent the host's copy is closed.
   * `sent` is called with null then, or with the error that kept it from being sent (the socket is
   * then still the host's).
   */
  send(sessionId: number, socket: Socket, sent: (error: Error | null) => void): void;
  /** Sets who hears the isolate's reports that a handed-over connection has closed. */
  onClosed(listener: (message: SessionSocketClosedMessage) => void): void;
  /** Sets who hears the isolate's requests for connections to peer isolates (its policy's dataflow). */
  onPeerConnect(listener: (message: PeerConnectMessage) => void): void;
  /** Hands the isolate the peer connection it asked for, or tells it why there is none; the host's copy is closed once sent. */
  sendPeerSocket(connectionId: number, socket: Socket | undefined, error?: string): void;
}

/** Options every launcher understands. */
export interface LaunchOptions {
  /** The runtime to launch (linux: the bundle file). */
  runtimePath: string;
  /** Where isolate diagnostics go (its stderr lines). */
  log: (line: string) => void;
  /** Extra V8/Node flags for the isolate. */
  nodeFlags?: readonly string[] | undefined;
  /**
   * The isolate's memory budget in bytes (the policy's `max_memory_mib`). The runtime enforces it
   * itself; launchers that can also enforce a limit from outside (linux: a memory cgroup and V8's
   * heap limit) set it to this plus a fixed overhead, so a bug in the accounting cannot take the host down.
   */
  memoryBudgetBytes?: number | undefined;
  /**
   * Hand clients' connections to the isolate process itself instead of relaying their bytes, where
   * the platform can (linux); see {@link LaunchedIsolate.sessionSockets}. @default false
   */
  sessionSockets?: boolean | undefined;
  /** Storage on this host for the isolate's sealed file data; absent: none (files stay in its memory). */
  sealedStorage?: SealedStorageOptions | undefined;
}

/**
 * Where the isolate may seal file data out to (see the runtime's sealed storage). The host only
 * provides the space: it sees the chunks' sizes and the order they are written and read, nothing else.
 */
export interface SealedStorageOptions {
  /** A directory in which the launcher makes a fresh one for this isolate (removed when it ends). @default the launcher's private directory */
  parent?: string | undefined;
  /** Most bytes the isolate may keep there. */
  maxBytes: number;
}
