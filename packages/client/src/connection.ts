import type { TLSSocket } from 'node:tls';
import { Code, isCode, VeracruzError } from '@veracruz-ts/core';
import {
  decodeResponsePieces,
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeFrameHeader,
  encodeRequestParts,
  FrameDecoder,
  joinPieces,
  type PiecewiseResultResponse,
  ResponseStatus,
  responseStatusName,
  type RuntimeManagerRequest,
  type RuntimeManagerResponse,
} from '@veracruz-ts/protocol';

interface Pending {
  /** The request, for error messages ("read_file /output/x"). */
  what: string;
  resolve: (response: RuntimeManagerResponse | PiecewiseResultResponse) => void;
  reject: (error: VeracruzError) => void;
}

/** A response with a result left in pieces as one with its result joined (the usual shape). */
function joined(response: RuntimeManagerResponse | PiecewiseResultResponse): RuntimeManagerResponse {
  if (!('resultPieces' in response)) return response;
  const { resultPieces, ...rest } = response;
  return { ...rest, body: { kind: 'result', data: joinPieces(resultPieces) } };
}

/** TLS alert names (RFC 8446 §6) by number: those an isolate refusing a principal sends, and a few more. */
const ALERT_NAMES: Readonly<Record<number, string>> = {
  10: 'unexpected_message',
  20: 'bad_record_mac',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  80: 'internal_error',
  116: 'certificate_required',
};

/**
 * The name of the TLS alert the peer sent, if `error` is node:tls reporting one: OpenSSL puts
 * "SSL alert number N" in the message, and the alert's name in the code
 * (`ERR_SSL_SSL/TLS_ALERT_CERTIFICATE_UNKNOWN`, `ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN`,
 * `ERR_SSL_TLSV1_ALERT_ACCESS_DENIED`, depending on the OpenSSL version and the alert).
 */
export function receivedTlsAlert(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const number = /SSL alert number (\d+)/.exec(error.message)?.[1];
  if (number !== undefined) return ALERT_NAMES[Number(number)] ?? `alert ${number}`;
  const code = (error as NodeJS.ErrnoException).code;
  const named = typeof code === 'string' ? /_ALERT_([A-Z0-9_]+)$/.exec(code)?.[1] : undefined;
  return named?.toLowerCase();
}

/**
 * What a TLS alert from the isolate means to the principal, as the error to throw; undefined if
 * `error` is not a received alert. Refusals of the principal's certificate are PermissionDenied,
 * with a sentence that says which; any other alert is Unavailable and named. In TLS 1.3 a refused
 * client certificate is only learnt after the client's side of the handshake is done, at the first
 * read: so this applies to connect and to any request alike.
 */
export function alertError(error: unknown): VeracruzError | undefined {
  const alert = receivedTlsAlert(error);
  if (alert === undefined) return undefined;
  const options = { cause: error };
  switch (alert) {
    case 'certificate_unknown':
    case 'access_denied':
    case 'unknown_ca':
      return new VeracruzError(Code.PermissionDenied,
        `the isolate does not know this identity: its certificate is not one of the policy's identities (TLS alert ${alert})`, options);
    case 'certificate_expired':
      return new VeracruzError(Code.PermissionDenied,
        `the isolate refused this identity's certificate as expired or not yet valid (TLS alert ${alert})`, options);
    case 'bad_certificate':
    case 'unsupported_certificate':
      return new VeracruzError(Code.PermissionDenied,
        `the isolate refused this identity's certificate, although the policy names it (TLS alert ${alert})`, options);
    case 'certificate_required':
      return new VeracruzError(Code.PermissionDenied, `the isolate requires a client certificate and got none (TLS alert ${alert})`, options);
    default:
      return new VeracruzError(Code.Unavailable, `the isolate ended the TLS session with alert ${alert}`, options);
  }
}

/** Whether `error` is a connection reset (TCP RST): how vc-server drops clients when the isolate dies. */
function isReset(error: Error | undefined): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET';
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
    return this.#send(request).then(joined);
  }

  /** Sends a request; resolves with the response if it is SUCCESS, else rejects with its error. */
  async call(request: RuntimeManagerRequest): Promise<RuntimeManagerResponse> {
    const response = await this.send(request);
    if (response.status !== ResponseStatus.SUCCESS) throw responseError(request, response);
    return response;
  }

  /**
   * {@link call} for a request answered with data (a read): resolves with the data as the pieces it
   * arrived in (TLS records), not joined into one array, so that a stream of reads allocates and
   * copies nothing per response. The pieces are the caller's.
   */
  async callForPieces(request: RuntimeManagerRequest): Promise<readonly Uint8Array[]> {
    const response = await this.#send(request);
    if ('resultPieces' in response) {
      if (response.status !== ResponseStatus.SUCCESS) throw responseError(request, joined(response));
      return response.resultPieces;
    }
    if (response.status !== ResponseStatus.SUCCESS) throw responseError(request, response);
    return response.body?.kind === 'result' && response.body.data.length > 0 ? [response.body.data] : [];
  }

  #send(request: RuntimeManagerRequest): Promise<RuntimeManagerResponse | PiecewiseResultResponse> {
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
    // The payload of a write is handed to TLS as it is, not copied into the message.
    const parts = encodeRequestParts(request);
    const length = parts.reduce((total, part) => total + part.length, 0);
    const what = describeRequest(request);
    const response = new Promise<RuntimeManagerResponse | PiecewiseResultResponse>((resolve, reject) => this.#pending.push({ what, resolve, reject }));
    this.#socket.cork();
    this.#socket.write(encodeFrameHeader(length));
    for (const part of parts) this.#socket.write(part);
    this.#socket.uncork();
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
    let messages: Uint8Array[][];
    try {
      // A response stays in the pieces (TLS records) it arrived in; only a caller that wants it whole joins it.
      messages = this.#decoder.pushPieces(chunk);
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
      try {
        pending.resolve(decodeResponsePieces(message));
      } catch (reason) {
        pending.reject(VeracruzError.from(reason, Code.InvalidRequest));
      }
    }
  }

  #closedReason(error: Error | undefined): VeracruzError {
    const refused = alertError(error);
    if (refused !== undefined) return refused;
    const waiting = this.#pending[0]?.what;
    const options = { cause: error };
    if (isReset(error)) {
      // vc-server resets client connections when the isolate dies; the host is not trusted, so
      // this is its claim (a host could reset for any reason), not a fact about the isolate.
      const when = waiting === undefined ? '' : ` mid-request (${waiting})`;
      return new VeracruzError(Code.Unavailable,
        `the connection to the isolate was lost${when}: the host reset it, as vc-server does when the isolate has died ` +
        '(this is the untrusted host\'s report, not the isolate\'s)', options);
    }
    const cause = error === undefined ? 'the connection closed' : error.message;
    if (waiting !== undefined) {
      return new VeracruzError(Code.Unavailable,
        `the connection to the isolate was lost mid-request (${waiting}): ${cause}; the isolate may have died or the host dropped the connection`,
        options);
    }
    return new VeracruzError(Code.Unavailable, `the session with the isolate ended (${cause})`, options);
  }

  #fail(error: VeracruzError): void {
    this.#closedError ??= error;
    for (const pending of this.#pending.splice(0)) pending.reject(this.#closedError);
  }
}
