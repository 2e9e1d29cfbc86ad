/**
 * A fatal TLS 1.3 alert for a client whose certificate the session manager refuses.
 *
 * Why this exists: node:tls cannot send one. Node's OpenSSL verify callback accepts every chain so
 * that JavaScript can judge it after the handshake, and a server socket that is then refused is
 * destroyed without an alert (nodejs/node#20737): the client sees a handshake that succeeded and a
 * connection that closes for no stated reason. Node offers no call to send an alert either. So the
 * isolate, which is the TLS endpoint and holds the session's keys, writes the one record itself:
 * an alert protected under the server's application traffic key (RFC 8446 §5.2, §7.3), with the
 * sequence number that follows the records OpenSSL has sent. Nothing else of TLS is done here.
 */
import { type CipherCCMTypes, createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';

/** The TLS alert descriptions (RFC 8446 §6) the session manager may refuse a client with. */
export const TlsAlert = {
  /** A certificate the policy names, which OpenSSL's own checks refused (not expiry). */
  bad_certificate: 42,
  /** A certificate the policy names, outside its validity period. */
  certificate_expired: 45,
  /** A certificate that is not one of the policy's identities. */
  certificate_unknown: 46,
  /** No certificate at all. */
  certificate_required: 116,
} as const;

/** One of {@link TlsAlert}'s names. */
export type TlsAlertName = keyof typeof TlsAlert;

interface Suite {
  hash: 'sha256' | 'sha384';
  // GCM, CCM and ChaCha20-Poly1305 take the same options (authTagLength, setAAD's plaintextLength);
  // the calls below name the CCM type only to pick one overload of node:crypto's typings.
  cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' | 'aes-128-ccm';
  keyLength: number;
  tagLength: number;
}

// The TLS 1.3 suites a policy can name (RFC 8446 §B.4), by their IANA names (`getCipher().standardName`).
const SUITES: Readonly<Record<string, Suite>> = {
  TLS_AES_128_GCM_SHA256: { hash: 'sha256', cipher: 'aes-128-gcm', keyLength: 16, tagLength: 16 },
  TLS_AES_256_GCM_SHA384: { hash: 'sha384', cipher: 'aes-256-gcm', keyLength: 32, tagLength: 16 },
  TLS_CHACHA20_POLY1305_SHA256: { hash: 'sha256', cipher: 'chacha20-poly1305', keyLength: 32, tagLength: 16 },
  TLS_AES_128_CCM_SHA256: { hash: 'sha256', cipher: 'aes-128-ccm', keyLength: 16, tagLength: 16 },
  TLS_AES_128_CCM_8_SHA256: { hash: 'sha256', cipher: 'aes-128-ccm', keyLength: 16, tagLength: 8 },
};

const RECORD_HEADER_BYTES = 5;
const CONTENT_APPLICATION_DATA = 23;
const CONTENT_ALERT = 21;
const ALERT_LEVEL_FATAL = 2;
const IV_BYTES = 12;

/** The write key and IV of one direction of a TLS 1.3 connection, for one ciphersuite. */
export interface TrafficKeys {
  suite: string;
  key: Buffer;
  iv: Buffer;
}

/** HKDF-Expand-Label with an empty context (RFC 8446 §7.1); every TLS 1.3 key and IV fits one block. */
function expandLabel(hash: Suite['hash'], secret: Uint8Array, label: string, length: number): Buffer {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'ascii');
  const info = Buffer.concat([Buffer.of(length >> 8, length & 0xff, fullLabel.length), fullLabel, Buffer.of(0)]);
  return createHmac(hash, secret).update(info).update(Buffer.of(1)).digest().subarray(0, length);
}

/**
 * The record protection keys of a traffic secret (RFC 8446 §7.3), or undefined for a suite this
 * module does not know.
 */
export function trafficKeys(suite: string, secret: Uint8Array): TrafficKeys | undefined {
  const parameters = SUITES[suite];
  if (parameters === undefined) return undefined;
  return {
    suite,
    key: expandLabel(parameters.hash, secret, 'key', parameters.keyLength),
    iv: expandLabel(parameters.hash, secret, 'iv', IV_BYTES),
  };
}

function nonce(iv: Buffer, sequence: bigint): Buffer {
  const padded = Buffer.alloc(IV_BYTES);
  padded.writeBigUInt64BE(sequence, IV_BYTES - 8);
  for (let index = 0; index < IV_BYTES; index++) padded[index]! ^= iv[index]!;
  return padded;
}

/** Protects one TLSInnerPlaintext (content, then its content type) as a TLS 1.3 record. */
export function sealRecord(keys: TrafficKeys, sequence: bigint, innerPlaintext: Uint8Array): Buffer {
  const suite = SUITES[keys.suite]!;
  const length = innerPlaintext.length + suite.tagLength;
  const header = Buffer.of(CONTENT_APPLICATION_DATA, 3, 3, length >> 8, length & 0xff);
  const cipher = createCipheriv(suite.cipher as CipherCCMTypes, keys.key, nonce(keys.iv, sequence), { authTagLength: suite.tagLength });
  cipher.setAAD(header, { plaintextLength: innerPlaintext.length });
  return Buffer.concat([header, cipher.update(innerPlaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The TLSInnerPlaintext of a whole record, or undefined if it was not protected under `keys` at `sequence`. */
export function openRecord(keys: TrafficKeys, sequence: bigint, record: Uint8Array): Buffer | undefined {
  const suite = SUITES[keys.suite]!;
  if (record.length < RECORD_HEADER_BYTES + suite.tagLength || record[0] !== CONTENT_APPLICATION_DATA) return undefined;
  const header = record.subarray(0, RECORD_HEADER_BYTES);
  const body = record.subarray(RECORD_HEADER_BYTES, record.length - suite.tagLength);
  try {
    const decipher = createDecipheriv(suite.cipher as CipherCCMTypes, keys.key, nonce(keys.iv, sequence), { authTagLength: suite.tagLength });
    decipher.setAuthTag(record.subarray(record.length - suite.tagLength));
    decipher.setAAD(header, { plaintextLength: body.length });
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** A fatal alert record, protected under `keys` at `sequence`. */
export function sealAlert(keys: TrafficKeys, sequence: bigint, alert: TlsAlertName): Buffer {
  return sealRecord(keys, sequence, Uint8Array.of(ALERT_LEVEL_FATAL, TlsAlert[alert], CONTENT_ALERT));
}

type WriteCallback = (error?: Error | null) => void;
type Write = (chunk: Buffer, callback?: WriteCallback) => boolean;

/** How long a refused session waits for its alert to be handed to the host before the stream is dropped. */
const ALERT_FLUSH_MS = 5000;

/**
 * What refuses one session's client with an alert once the verdict on its certificate is known:
 * {@link refuse} if it is no, {@link release} if it is yes.
 */
export interface HandshakeRefusal {
  /** node:tls's `keylog` line for this session; only the server's first application traffic secret is kept. */
  keylog(line: Buffer): void;
  /** The client is admitted: forget the secret; the connection is left as it was. */
  release(): void;
  /**
   * The client is refused: the alert follows the records TLS sent, nothing else of TLS does, and the
   * connection is ended. `suite` is the negotiated suite's IANA name (`getCipher().standardName`).
   * Resolves with whether the alert was sent (false: unknown suite, no secret, or the connection
   * closed first; it is then ended without an alert, as node:tls would have done).
   */
  refuse(suite: string, alert: TlsAlertName): Promise<boolean>;
}

/** The server traffic secret of a `SERVER_TRAFFIC_SECRET_0` keylog line, if it is one. */
function serverTrafficSecret(line: Buffer): Buffer | undefined {
  const [label, , secret] = line.toString('latin1').trim().split(' ');
  return label === 'SERVER_TRAFFIC_SECRET_0' && secret !== undefined ? Buffer.from(secret, 'hex') : undefined;
}

/** Ends `stream` after `record` (if any); resolves with whether the record went out before it closed. */
function endWith(stream: Duplex, write: (record: Buffer) => void, record: Buffer | undefined): Promise<boolean> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (sent: boolean): void => {
      clearTimeout(timer);
      stream.off('finish', onFinish);
      stream.off('close', onClose);
      resolve(sent);
    };
    const onFinish = (): void => finish(record !== undefined);
    const onClose = (): void => finish(false);
    const timer = setTimeout(() => finish(false), ALERT_FLUSH_MS);
    stream.on('finish', onFinish);
    stream.on('close', onClose);
    if (record !== undefined) write(record);
    stream.end();
  });
}

/**
 * Refuses the client of a session whose TLS runs natively on its TCP socket (a connection the host
 * handed over): no record passes through JavaScript there, so {@link HandshakeRecordWatch} cannot
 * count them. What it needs is how many records the server sent under the application key before the
 * verdict, and those are its session tickets: OpenSSL reports each ticket it issues as a new session,
 * which node:tls emits as `newSession` on the session's server (and waits for) once its listener is
 * there, so this counts them. The tickets are issued right after the handshake-done callback, in the
 * same read, so the alert waits for that read to finish; then it goes to the socket below TLS, after
 * everything TLS wrote (writes to one socket leave in order), and the socket is ended.
 *
 * Construct it before the server takes the connection: the listener must be there from the start.
 */
export class SocketHandshakeRefusal implements HandshakeRefusal {
  readonly #socket: Socket;
  #tickets = 0n;
  #serverTrafficSecret: Buffer | undefined;
  #state: 'watching' | 'refused' | 'released' = 'watching';

  constructor(socket: Socket, server: tls.Server) {
    this.#socket = socket;
    // No session is stored: nothing is resumed (a resumed TLS 1.3 session presents no certificate).
    server.on('newSession', (_id: Buffer, _data: Buffer, done: () => void) => {
      this.#tickets++;
      done();
    });
  }

  keylog(line: Buffer): void {
    if (this.#state !== 'watching') return;
    this.#serverTrafficSecret = serverTrafficSecret(line) ?? this.#serverTrafficSecret;
  }

  release(): void {
    if (this.#state !== 'watching') return;
    this.#state = 'released';
    this.#forget();
  }

  refuse(suite: string, alert: TlsAlertName): Promise<boolean> {
    if (this.#state !== 'watching') return Promise.resolve(false);
    this.#state = 'refused';
    return new Promise((resolve) => setImmediate(() => {
      const secret = this.#serverTrafficSecret;
      const keys = secret === undefined ? undefined : trafficKeys(suite, secret);
      const record = keys === undefined ? undefined : sealAlert(keys, this.#tickets, alert);
      keys?.key.fill(0);
      this.#forget();
      const socket = this.#socket;
      resolve(endWith(socket, (bytes) => socket.write(bytes), record));
    }));
  }

  #forget(): void {
    this.#serverTrafficSecret?.fill(0);
    this.#serverTrafficSecret = undefined;
  }
}

/**
 * Watches, during one session's handshake, the TLS records the server writes to the ciphertext
 * stream, so that it can refuse the client with an alert at the right sequence number:
 * {@link refuse} once the verdict is no, or {@link release} once it is yes (the stream is then as
 * it was, at no cost for the rest of the session).
 *
 * It sits on the stream's `write` (an own property that shadows the prototype's until released):
 * node:tls writes ciphertext to a wrapped stream through `write` and offers no other view of it.
 */
export class HandshakeRecordWatch implements HandshakeRefusal {
  readonly #ciphertext: Duplex;
  readonly #write: Write;
  // Whole records written so far that may be under the application key (type 23). Only the
  // handshake's records pass through here: a few KiB.
  readonly #records: Buffer[] = [];
  // The record being written: its bytes so far, and how many it has in all (5 until the header is in).
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #partialNeeds = RECORD_HEADER_BYTES;
  #serverTrafficSecret: Buffer | undefined;
  // watching: writes pass and are observed; refusing: only the rest of the record in progress
  // passes, then the alert; refused: writes go nowhere; released: the stream is as it was.
  #state: 'watching' | 'refusing' | 'refused' | 'released' = 'watching';
  #refusal: { suite: string; alert: TlsAlertName; done: (sent: boolean) => void } | undefined;

  constructor(ciphertext: Duplex) {
    this.#ciphertext = ciphertext;
    this.#write = ciphertext.write as Write;
    const watch = this;
    Object.defineProperty(ciphertext, 'write', {
      configurable: true,
      writable: true,
      value(chunk: unknown, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
        return watch.#onWrite(chunk, typeof encoding === 'function' ? encoding : callback);
      },
    });
  }

  keylog(line: Buffer): void {
    if (this.#state !== 'watching') return;
    this.#serverTrafficSecret = serverTrafficSecret(line) ?? this.#serverTrafficSecret;
  }

  /** The client is admitted: also gives the stream its own `write` back. */
  release(): void {
    if (this.#state !== 'watching') return;
    this.#state = 'released';
    this.#forget();
    delete (this.#ciphertext as { write?: unknown }).write;
  }

  /** See {@link HandshakeRefusal.refuse}: from now on nothing more that TLS writes reaches the client. */
  refuse(suite: string, alert: TlsAlertName): Promise<boolean> {
    if (this.#state !== 'watching') return Promise.resolve(false);
    return new Promise((resolve) => {
      this.#refusal = { suite, alert, done: resolve };
      this.#state = 'refusing';
      if (this.#partialBytes === 0) this.#sendAlert();
    });
  }

  #onWrite(chunk: unknown, callback: WriteCallback | undefined): boolean {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    if (this.#state === 'watching') {
      this.#observe(bytes);
      return this.#write.call(this.#ciphertext, bytes, callback);
    }
    // Refusing: only the rest of a record already begun may still go out, so the client's records
    // stay whole (its header first, which says how long its body is), then the alert.
    let offset = 0;
    while (this.#state === 'refusing' && offset < bytes.length) {
      const part = bytes.subarray(offset, offset + this.#partialNeeds - this.#partialBytes);
      offset += part.length;
      this.#observe(part);
      this.#write.call(this.#ciphertext, part);
      if (this.#partialBytes === 0) this.#sendAlert();
    }
    // Refused (and the bytes after the record in progress): TLS is told its writes succeeded, and
    // they go nowhere.
    if (callback !== undefined) process.nextTick(callback);
    return true;
  }

  // Splits the outgoing bytes into records and keeps the type-23 ones (copied: TLS may reuse its buffers).
  #observe(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(bytes.length - offset, this.#partialNeeds - this.#partialBytes);
      this.#partial.push(Buffer.from(bytes.subarray(offset, offset + take)));
      this.#partialBytes += take;
      offset += take;
      if (this.#partialBytes < this.#partialNeeds) return;
      if (this.#partialNeeds === RECORD_HEADER_BYTES) {
        const header = Buffer.concat(this.#partial);
        this.#partial = [header];
        this.#partialNeeds += header.readUInt16BE(3);
        if (this.#partialNeeds > this.#partialBytes) continue;
      }
      const record = Buffer.concat(this.#partial);
      if (record[0] === CONTENT_APPLICATION_DATA) this.#records.push(record);
      this.#partial = [];
      this.#partialBytes = 0;
      this.#partialNeeds = RECORD_HEADER_BYTES;
    }
  }

  #sendAlert(): void {
    const refusal = this.#refusal!;
    this.#state = 'refused';
    const secret = this.#serverTrafficSecret;
    const keys = secret === undefined ? undefined : trafficKeys(refusal.suite, secret);
    let record: Buffer | undefined;
    if (keys !== undefined) {
      // The records that open under the application key are the ones the client counts (session
      // tickets, if any went out before the verdict); the handshake's were under other keys.
      let sequence = 0n;
      for (const written of this.#records) if (openRecord(keys, sequence, written) !== undefined) sequence++;
      record = sealAlert(keys, sequence, refusal.alert);
      keys.key.fill(0);
    }
    this.#forget();
    const ciphertext = this.#ciphertext;
    void endWith(ciphertext, (bytes) => this.#write.call(ciphertext, bytes), record).then(refusal.done);
  }

  #forget(): void {
    this.#serverTrafficSecret?.fill(0);
    this.#serverTrafficSecret = undefined;
    this.#records.length = 0;
    this.#partial = [];
    this.#partialBytes = 0;
    this.#partialNeeds = RECORD_HEADER_BYTES;
  }
}
