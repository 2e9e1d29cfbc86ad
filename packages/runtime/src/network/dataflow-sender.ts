import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { opensslCiphersuite, type Policy, type PolicyDataflow } from '@veracruz-ts/policy';
import { decodeResponseStatus, encodeFrameHeader, encodeWriteParts, FrameDecoder, ResponseStatus } from '@veracruz-ts/protocol';
import type { MemoryBudget } from '../budget/memory-budget.ts';
import { checkPeerCertificate } from './peer-certificate.ts';

/** Options of {@link DataflowSender}. */
export interface DataflowSenderOptions {
  policy: Policy;
  /** This isolate's attested chain and key: its client certificate towards the peer. */
  certificateChainPem: string;
  privateKeyPem: string;
  /** Asks the host for a TCP connection to `address` (the isolate has no network of its own). */
  connect: (address: string) => Promise<Duplex>;
  /** The content of an output file now, or undefined when it does not exist. */
  readOutput: (path: string) => Uint8Array | undefined;
  /** The isolate's memory budget: a copy being sent is held in it, as a response is. */
  budget: Pick<MemoryBudget, 'tryReserve' | 'release'>;
  /** Where delivery outcomes go (the host's log: paths and addresses, never data). */
  log: (line: string) => void;
  /** First retry delay, doubled up to 30 s. @default 500 */
  retryDelayMs?: number;
  /** A delivery is given up after this long. @default 600000 */
  giveUpAfterMs?: number;
}

/** The largest answer to a write the sender reads. */
const ANSWER_LIMIT_BYTES = 64 * 1024;

/** Refusals a retry cannot change: the peer's policy does not let this isolate write there. */
const FINAL: ReadonlySet<string> = new Set([Code.PermissionDenied, Code.InvalidRequest, Code.NotFound]);

/**
 * Pushes the policy's `dataflow` outputs to peer isolates after each successful run: each output as
 * that run left it, in one `write_file` of the whole file over mutual attested TLS 1.3 (this
 * isolate's certificate as the client's; the peer's checked against the entry before anything is
 * sent). Delivery is at least once: a failed attempt is retried with backoff, and a write of the
 * whole file is idempotent, so a retry cannot count anything twice. A newer run's output replaces one
 * still waiting. The copies waiting, and the one being sent, are held in the memory budget.
 */
export class DataflowSender {
  readonly #options: DataflowSenderOptions;
  /** The output waiting per entry; a delivery loop runs while an entry has one. */
  readonly #pending = new Map<PolicyDataflow, Uint8Array>();

  constructor(options: DataflowSenderOptions) {
    this.#options = options;
  }

  /** A program or pipeline run succeeded: deliver every dataflow output that exists. */
  runSucceeded(): void {
    for (const flow of this.#options.policy.dataflow) {
      const data = this.#options.readOutput(flow.file);
      if (data === undefined) continue;
      if (!this.#options.budget.tryReserve(data.length, 'responses')) {
        this.#options.log(`dataflow: ${flow.file} not sent: the memory budget cannot hold a copy of its ${data.length} bytes`);
        continue;
      }
      const waiting = this.#pending.get(flow);
      this.#pending.set(flow, data);
      if (waiting === undefined) void this.#deliver(flow);
      else this.#options.budget.release(waiting.length, 'responses');
    }
  }

  async #deliver(flow: PolicyDataflow): Promise<void> {
    const what = `${flow.file} to ${flow.path} at ${flow.address}`;
    const giveUp = Date.now() + (this.#options.giveUpAfterMs ?? 600_000);
    let delay = this.#options.retryDelayMs ?? 500;
    const done = (data: Uint8Array): void => {
      this.#pending.delete(flow);
      this.#options.budget.release(data.length, 'responses');
    };
    for (let attempt = 1; ; attempt++) {
      const data = this.#pending.get(flow)!;
      try {
        await this.#send(flow, data, giveUp);
        this.#options.log(`dataflow: delivered ${what} (${data.length} bytes, attempt ${attempt})`);
        if (this.#pending.get(flow) === data) return done(data);
        continue; // a newer output came meanwhile
      } catch (error) {
        const failure = VeracruzError.from(error, Code.Unavailable);
        const final = FINAL.has(failure.code) || Date.now() + delay > giveUp;
        this.#options.log(`dataflow: ${what}, attempt ${attempt} failed${final ? ', giving up' : ''}: ${failure.message}`);
        if (final) return done(this.#pending.get(flow)!);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  }

  async #send(flow: PolicyDataflow, data: Uint8Array, giveUp: number): Promise<void> {
    // The copy being sent is charged again while it is in flight: a newer run may replace (and
    // release) it as the pending copy before TLS has written it all.
    if (!this.#options.budget.tryReserve(data.length, 'requests')) {
      throw new VeracruzError(Code.LimitExceeded, `the memory budget cannot hold the ${data.length}-byte request now`);
    }
    try {
      await this.#exchange(flow, data, giveUp);
    } finally {
      this.#options.budget.release(data.length, 'requests');
    }
  }

  async #exchange(flow: PolicyDataflow, data: Uint8Array, giveUp: number): Promise<void> {
    const transport = await this.#options.connect(flow.address);
    const socket = tls.connect({
      socket: transport, key: this.#options.privateKeyPem, cert: this.#options.certificateChainPem,
      // The peer is checked below against the dataflow entry, not against a CA list of OpenSSL's.
      rejectUnauthorized: false, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: opensslCiphersuite(this.#options.policy.ciphersuite),
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const response = await new Promise<Uint8Array>((resolve, reject) => {
        // A peer (or a host relaying) that stalls must not hold the delivery for ever: the attempt ends when it is given up.
        timer = setTimeout(() => reject(new VeracruzError(Code.Unavailable, 'the peer did not answer before the delivery was given up')), giveUp - Date.now());
        // The answer to a write is a status: a peer announcing more is refused before it is buffered.
        const decoder = new FrameDecoder({ maxMessageBytes: ANSWER_LIMIT_BYTES });
        socket.on('error', (error: Error) => {
          // The receiver refused this isolate's certificate (an alert inside the encrypted session, so
          // no host forged it): its policy, fixed by the hash this one names, will not change its mind.
          const refused = /alert number (42|45|46|116)\b/.test(error.message);
          reject(refused ? new VeracruzError(Code.PermissionDenied, `the peer refused this isolate: ${error.message.trim()}`) : error);
        });
        socket.on('close', () => reject(new VeracruzError(Code.Unavailable, 'the connection closed before the peer answered')));
        socket.once('secureConnect', () => {
          checkPeerCertificate(socket.getPeerX509Certificate()!.raw, flow.isolate, 'policyHash', new Date()).then(() => {
            // The data is written as it is, after its header: framed whole it took a copy, and far longer.
            const parts = encodeWriteParts({ kind: 'write_file', fileName: flow.path, data });
            socket.cork();
            socket.write(encodeFrameHeader(parts.reduce((total, part) => total + part.length, 0)));
            for (const part of parts) socket.write(part);
            socket.uncork();
            socket.on('data', (chunk: Buffer) => {
              // A length over the limit throws here, in an event handler: it must fail the attempt, not the isolate.
              try {
                const [message] = decoder.push(chunk);
                if (message !== undefined) resolve(message);
              } catch (error) {
                reject(error);
              }
            });
          }, reject);
        });
      });
      let answer: ReturnType<typeof decodeResponseStatus>;
      try {
        answer = decodeResponseStatus(response);
      } catch (error) {
        throw new VeracruzError(Code.Unavailable, `the peer's answer is malformed: ${VeracruzError.from(error).rawMessage}`);
      }
      if (answer.status !== ResponseStatus.SUCCESS) {
        const detail = answer.errorDetail;
        throw new VeracruzError((detail?.code ?? Code.Unavailable) as Code, `the peer refused the write: ${detail?.message ?? `status ${answer.status}`}`);
      }
    } finally {
      clearTimeout(timer);
      socket.destroy();
      transport.destroy();
    }
  }
}
