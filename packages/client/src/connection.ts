import type { TLSSocket } from 'node:tls';
import { Code, isCode, VeracruzError } from '@veracruz-ts/policy';
import {
  decodeResponse,
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeFrameHeader,
  encodeRequestParts,
  FrameDecoder,
  ResponseStatus,
  responseStatusName,
  type RuntimeManagerRequest,
  type RuntimeManagerResponse,
} from '@veracruz-ts/protocol';

interface Pending {
  resolve: (response: RuntimeManagerResponse) => void;
  reject: (error: VeracruzError) => void;
}

/** What a request is about, for error messages: "write_file /input/a". */
export function describeRequest(request: RuntimeManagerRequest): string {
  return 'fileName' in request && request.fileName !== '' ? `${request.kind} ${request.fileName}` : request.kind;
}

/**
 * The error a failed response stands for: the runtime's error detail when it sent one (ours do),
 * else the bare Veracruz status (a Veracruz runtime).
 */
export function responseError(request: RuntimeManagerRequest, response: RuntimeManagerResponse): VeracruzError {
  const detail = response.errorDetail;
  if (detail !== undefined && isCode(detail.code)) return new VeracruzError(detail.code, detail.message);
  const code = response.status === ResponseStatus.FAILED_INVALID_ROLE ? Code.PermissionDenied : Code.InvalidRequest;
  return new VeracruzError(code, `${describeRequest(request)} failed: ${responseStatusName(response.status)}`);
}

/**
 * Requests and responses over one TLS session: each framed with the 8-byte length, answered in
 * order. Several requests may be in flight (pipelining), which is what makes streaming fast.
 */
export class FramedConnection {
  readonly #socket: TLSSocket;
  readonly #decoder: FrameDecoder;
  readonly #pending: Pending[] = [];
  #closedError: VeracruzError | undefined;
  #answered = 0;

  constructor(socket: TLSSocket, options: { maxMessageBytes?: number } = {}) {
    this.#socket = socket;
    this.#decoder = new FrameDecoder({ maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES });
    socket.on('data', (chunk: Buffer) => this.#receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    socket.on('error', (error: Error) => this.#fail(this.#closedReason(error)));
    socket.on('end', () => this.#fail(this.#closedReason(undefined)));
    socket.on('close', () => this.#fail(this.#closedReason(undefined)));
    // The isolate may already have dropped the session (e.g. during the client's checks).
    if (socket.destroyed || socket.readableEnded) this.#fail(this.#closedReason(undefined));
  }

  /** Whether the session is closed; requests then fail at once. */
  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  /** Number of requests sent but not yet answered. */
  get inFlight(): number {
    return this.#pending.length;
  }

  /** Sends a request and resolves with its response, whatever the status. */
  send(request: RuntimeManagerRequest): Promise<RuntimeManagerResponse> {
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
    // The payload of a write is handed to TLS as it is, not copied into the message.
    const parts = encodeRequestParts(request);
    const length = parts.reduce((total, part) => total + part.length, 0);
    const response = new Promise<RuntimeManagerResponse>((resolve, reject) => this.#pending.push({ resolve, reject }));
    this.#socket.cork();
    this.#socket.write(encodeFrameHeader(length));
    for (const part of parts) this.#socket.write(part);
    this.#socket.uncork();
    return response;
  }

  /** Sends a request; resolves with the response if it is SUCCESS, else rejects with its error. */
  async call(request: RuntimeManagerRequest): Promise<RuntimeManagerResponse> {
    const response = await this.send(request);
    if (response.status !== ResponseStatus.SUCCESS) throw responseError(request, response);
    return response;
  }

  /** Resolves when the socket's write buffer has room again (at once if it has). */
  async writable(): Promise<void> {
    if (!this.#socket.writableNeedDrain || this.#closedError !== undefined) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
  }

  /** Ends the session (TLS close_notify) and waits until the socket has closed. */
  async close(): Promise<void> {
    if (this.#socket.destroyed) return;
    const closed = new Promise<void>((resolve) => this.#socket.once('close', () => resolve()));
    this.#socket.end();
    const timer = setTimeout(() => this.#socket.destroy(), 2000);
    await closed;
    clearTimeout(timer);
  }

  #receive(chunk: Uint8Array): void {
    let messages: Uint8Array[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (reason) {
      this.#fail(VeracruzError.from(reason, Code.InvalidRequest));
      this.#socket.destroy();
      return;
    }
    for (const message of messages) {
      const pending = this.#pending.shift();
      if (pending === undefined) {
        this.#fail(new VeracruzError(Code.Internal, 'the isolate sent a response to no request'));
        this.#socket.destroy();
        return;
      }
      this.#answered++;
      try {
        pending.resolve(decodeResponse(message));
      } catch (reason) {
        pending.reject(VeracruzError.from(reason, Code.InvalidRequest));
      }
    }
  }

  #closedReason(error: Error | undefined): VeracruzError {
    const cause = error === undefined ? 'it closed the session' : error.message;
    if (this.#answered === 0) {
      // The isolate verifies the client certificate after a TLS 1.3 client already thinks it is
      // connected, and drops the session if it is not a policy identity.
      return new VeracruzError(Code.Unavailable,
        `the isolate ended the session before answering (${cause}); is this identity's certificate in the policy, and its key the right one?`,
        { cause: error });
    }
    return new VeracruzError(Code.Unavailable, `the session with the isolate ended (${cause})`, { cause: error });
  }

  #fail(error: VeracruzError): void {
    this.#closedError ??= error;
    for (const pending of this.#pending.splice(0)) pending.reject(this.#closedError);
  }
}
