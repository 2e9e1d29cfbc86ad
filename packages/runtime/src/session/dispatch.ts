import { createHash } from 'node:crypto';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { type FileRights, findPipeline, findProgram, isStdStream, normalizePath, type Policy, programLimits } from '@veracruz-ts/policy';
import { DEFAULT_MAX_MESSAGE_BYTES, type PiecewiseWriteRequest, ResponseStatus, type RuntimeManagerRequest, type RuntimeManagerResponse } from '@veracruz-ts/protocol';
import type { ExecutionEngine, ExecutionOutcome, PrincipalView, VirtualFileSystem } from '../index.ts';
import { BudgetExceeded } from '../budget/memory-budget.ts';
import { pathComponents } from '../vfs/file-system.ts';
import { StreamRegistry, type StreamState } from '../vfs/streams.ts';
import type { ProgramAbi, ResultSigner } from '../wasi/process-options.ts';
import { RightsInForce } from './rights-in-force.ts';
import { asVeracruzError, errorResponse, exitCodeBytes, RESPONSE_HEADROOM_BYTES, successResponse, withHeadroom, withReservation } from './responses.ts';

/** The principal a session speaks for: a policy identity and its view of the shared file tree. */
export interface SessionPrincipal {
  /** The identity's `id` in the policy. */
  id: number;
  /** The identity's `file_rights`. */
  fileRights: readonly FileRights[];
  /** The identity's rights over the shared VFS. */
  view: PrincipalView;
}

/** Where a response's copy of file data is made (a session's reused buffers); new arrays by default. */
export interface ResponseAllocator {
  /** An array of exactly `length` bytes, whose contents the caller overwrites. */
  take(length: number): Uint8Array;
}

const newArrays: ResponseAllocator = { take: (length) => new Uint8Array(length) };

/** What {@link RequestDispatcher} needs. */
export interface RequestDispatcherOptions {
  policy: Policy;
  vfs: VirtualFileSystem;
  engine: ExecutionEngine;
  /**
   * The largest message the session accepts and sends; whole-file reads above it are refused
   * with a hint to read in ranges. @default DEFAULT_MAX_MESSAGE_BYTES (64 MiB)
   */
  maxMessageBytes?: number;
  /** Called after each run that exited 0 (the policy's dataflow then pushes its outputs). */
  onRunSucceeded?: (() => void) | undefined;
  /** The isolate's attested key, for programs' signed results (`result_sign`). */
  signer?: ResultSigner | undefined;
}

// Bytes a response needs besides the payload: status, tags and lengths, generously (its headroom included).
const RESPONSE_OVERHEAD_BYTES = 64;

/** The longest a `read_stream` waits for data, whatever it asks: a session waits for one request at a time. */
export const MAX_STREAM_WAIT_MS = 30_000;

/**
 * Carries out Veracruz's operations for one principal at a time over the shared VFS, with
 * Veracruz's semantics (`file_hashes` on write, execute rights, exit code as u32 LE, policy hash
 * as ASCII hex) and precise errors. Program and pipeline runs are serialised, as in Veracruz,
 * so two programs never interleave on the shared tree; file operations are synchronous.
 *
 * A write's payload may come in the pieces it arrived in (stored one after the other, all or
 * nothing); a read's data is copied into an array from the session's `allocator`.
 *
 * Files the policy declares streams (see StreamRegistry) are created empty here. An append to an
 * input stream is refused once it has ended (a whole-file write while it is open too), and its answer
 * is held while more than the stream's `max_buffered_bytes` wait unread by a running program (the
 * session then waits, which is the backpressure); `read_stream` follows a file as it grows,
 * `close_stream` says a writer is done, and a run that may write an output stream opens it until the
 * run finishes (it fails unless the run exited). The session manager says
 * when a session's connection closed ({@link sessionClosed}) and when it is over ({@link sessionEnded}).
 */
export class RequestDispatcher {
  readonly #policy: Policy;
  readonly #vfs: VirtualFileSystem;
  readonly #engine: ExecutionEngine;
  readonly #maxPayloadBytes: number;
  readonly #fileHashes: ReadonlyMap<string, string>;
  #executions: Promise<unknown> = Promise.resolve();
  #shutDown = false;
  readonly #streams: StreamRegistry | undefined;
  /** Sessions whose connection closed: they wait for nothing any more. */
  readonly #closedSessions = new WeakSet<SessionPrincipal>();
  readonly #onRunSucceeded: (() => void) | undefined;
  /** The rights as programs narrowed them; every session's checks read the same entries. */
  readonly #rights: RightsInForce;
  /** What programs see of the computation, less which program runs. */
  readonly #abi: Omit<ProgramAbi, 'program'>;

  constructor(options: RequestDispatcherOptions) {
    this.#policy = options.policy;
    this.#vfs = options.vfs;
    this.#engine = options.engine;
    this.#maxPayloadBytes = (options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) - RESPONSE_OVERHEAD_BYTES;
    this.#fileHashes = new Map(options.policy.file_hashes.map((entry) => [normalizePath(entry.file_path), entry.hash.toLowerCase()]));
    this.#streams = options.policy.streams.length === 0 ? undefined : new StreamRegistry(options.policy, options.vfs);
    this.#onRunSucceeded = options.onRunSucceeded;
    this.#rights = new RightsInForce(options.policy);
    this.#abi = { policyText: Buffer.from(options.policy.text), policyHash: Buffer.from(options.policy.hash, 'hex'), rights: this.#rights, signer: options.signer };
  }

  /**
   * `principal`'s connection closed: a `read_stream` it waits on answers now and its held append is
   * let go (the requests it sent before are still served, without waiting).
   */
  sessionClosed(principal: SessionPrincipal): void {
    this.#closedSessions.add(principal);
    this.#streams?.ownerGone(principal);
  }

  /**
   * `principal`'s session is over, its last request served: for each stream it appended to and its
   * identity did not close, the policy's `on_writer_disconnect` applies.
   */
  sessionEnded(principal: SessionPrincipal): void {
    this.#closedSessions.add(principal);
    this.#streams?.sessionEnded(principal);
  }

  /** Whether a principal has asked for shutdown; later requests are refused as unavailable. */
  get shutDown(): boolean {
    return this.#shutDown;
  }

  /** Answers one request (see the class comment); never throws. */
  async dispatch(
    principal: SessionPrincipal,
    request: RuntimeManagerRequest | PiecewiseWriteRequest,
    allocator: ResponseAllocator = newArrays,
  ): Promise<RuntimeManagerResponse> {
    try {
      if (this.#shutDown) throw new VeracruzError(Code.Unavailable, `${request.kind}: the computation has been shut down`);
      return await this.#dispatch(principal, request, allocator);
    } catch (reason) {
      return errorResponse(asVeracruzError(reason, request.kind));
    }
  }

  async #dispatch(principal: SessionPrincipal, request: RuntimeManagerRequest | PiecewiseWriteRequest, allocator: ResponseAllocator): Promise<RuntimeManagerResponse> {
    const { view } = principal;
    if ('pieces' in request) return this.#write(principal, request.kind, request.fileName, request.pieces);
    switch (request.kind) {
      case 'write_file':
      case 'append_file':
        return this.#write(principal, request.kind, request.fileName, [request.data]);
      case 'read_file': {
        const path = this.#path(request.fileName);
        const size = view.fileSize(path);
        if (size > this.#maxPayloadBytes) {
          throw new VeracruzError(Code.LimitExceeded,
            `read ${path}: the file has ${size} bytes, more than one message carries (${this.#maxPayloadBytes}); read it in ranges`);
        }
        // An empty file is an empty `result` (Veracruz sent none, and its client then failed).
        return this.#reservedResponse(`read ${path}`, size, allocator, (target) => view.readRangeInto(path, 0, target));
      }
      case 'read_file_range': {
        const path = this.#path(request.fileName);
        if (request.length > this.#maxPayloadBytes) {
          throw new VeracruzError(Code.LimitExceeded,
            `read ${path}: a range of ${request.length} bytes is more than one message carries (${this.#maxPayloadBytes})`);
        }
        const bytes = Math.min(request.length, Math.max(0, view.fileSize(path) - request.offset));
        return this.#reservedResponse(`read ${path}`, bytes, allocator, (target) => view.readRangeInto(path, request.offset, target));
      }
      case 'request_file_size': {
        const path = this.#path(request.fileName);
        return { status: ResponseStatus.SUCCESS, body: { kind: 'file_size', size: view.fileSize(path) } };
      }
      case 'read_stream':
        return this.#readStream(principal, this.#path(request.fileName), request.offset, request.length, request.waitMs, allocator);
      case 'close_stream':
        return this.#closeStream(principal, this.#path(request.fileName));
      case 'request_result': {
        const path = this.#path(request.fileName);
        await this.#awaitInputs(path);
        return this.#serialised(() => this.#execute(principal, path));
      }
      case 'request_pipeline':
        return this.#serialised(() => this.#runPipeline(principal, request.fileName));
      case 'request_policy_hash':
        return { status: ResponseStatus.SUCCESS, body: { kind: 'policy_hash', data: new TextEncoder().encode(this.#policy.hash) } };
      case 'request_rights':
        return successResponse(this.#rights.report());
      case 'request_shutdown':
        // Any identity may end the computation (Veracruz: expected_shutdown_list = every identity).
        this.#shutDown = true;
        return successResponse();
      case 'none':
        throw new VeracruzError(Code.InvalidRequest, 'the request names no operation this runtime knows');
      default:
        throw new VeracruzError(Code.InvalidRequest, `operation ${request.kind} is not supported (a legacy Veracruz message)`);
    }
  }

  async #write(principal: SessionPrincipal, kind: 'write_file' | 'append_file', fileName: string, data: readonly Uint8Array[]): Promise<RuntimeManagerResponse> {
    const { view } = principal;
    const path = this.#path(fileName);
    const stream = this.#streams?.get(path);
    // Only a writer learns how the stream stands; anyone else is refused for the right it lacks.
    if (stream?.writers.has(principal.id)) stream.checkWritable(kind === 'write_file' ? 'write' : 'append', principal.id);
    if (kind === 'write_file') {
      this.#checkHash(path, data);
      view.writeFile(path, data);
    } else {
      if (this.#fileHashes.has(path)) {
        throw new VeracruzError(Code.PermissionDenied,
          `append ${path}: the policy fixes this file's hash (file_hashes), so it can only be written whole`);
      }
      view.appendFile(path, data);
    }
    if (stream !== undefined) {
      stream.appended(principal, principal.id);
      // The data is stored; the answer waits while running programs leave too much of it unread.
      if (!this.#closedSessions.has(principal)) await stream.holdWhileFull(principal);
    }
    return successResponse();
  }

  // Up to `length` bytes of `path` from `offset`; when there are none yet and the file is an open
  // stream, waits up to `waitMs` (at most MAX_STREAM_WAIT_MS) for data or the stream's end. `end`:
  // the stream has ended (a file that is no stream always has) and the data reaches its end.
  async #readStream(principal: SessionPrincipal, path: string, offset: number, length: number, waitMs: number, allocator: ResponseAllocator): Promise<RuntimeManagerResponse> {
    const { view } = principal;
    if (length > this.#maxPayloadBytes) {
      throw new VeracruzError(Code.LimitExceeded,
        `read_stream ${path}: a range of ${length} bytes is more than one message carries (${this.#maxPayloadBytes})`);
    }
    // The same rights as a ranged read, checked before anything is waited for.
    let size = view.fileSize(path);
    const stream = this.#streams?.get(path);
    if (stream !== undefined && length > 0 && offset >= size && waitMs > 0) {
      const until = performance.now() + Math.min(waitMs, MAX_STREAM_WAIT_MS);
      while (stream.status === 'open' && stream.size <= offset && !this.#closedSessions.has(principal)) {
        const left = until - performance.now();
        if (left <= 0 || (await stream.waitForData(principal, offset, { timeoutMs: left })) !== 'changed') break;
      }
      size = view.fileSize(path);
    }
    if (stream?.status === 'failed') throw stream.failedError('read_stream');
    const bytes = Math.min(length, Math.max(0, size - offset));
    const end = (stream === undefined || stream.status === 'ended') && offset + bytes >= size;
    const response = this.#reservedResponse(`read_stream ${path}`, bytes, allocator, (target) => view.readRangeInto(path, offset, target));
    const data = response.body?.kind === 'result' ? response.body.data : new Uint8Array(0);
    response.body = { kind: 'stream_chunk', data, end };
    return response;
  }

  #closeStream(principal: SessionPrincipal, path: string): RuntimeManagerResponse {
    const stream = this.#streams?.get(path);
    if (stream === undefined) throw new VeracruzError(Code.InvalidRequest, `close_stream ${path}: the policy declares no stream at this path`);
    if (!stream.writers.has(principal.id)) {
      throw new VeracruzError(Code.PermissionDenied, `close_stream ${path}: missing FD_WRITE (identity ${principal.id} does not write this stream)`);
    }
    stream.close(principal.id);
    return successResponse();
  }

  #path(name: string): string {
    if (isStdStream(name)) return name;
    if (name === '') throw new VeracruzError(Code.InvalidRequest, 'the request names no file');
    return normalizePath(name);
  }

  #reservedResponse(what: string, bytes: number, allocator: ResponseAllocator, copy: (target: Uint8Array) => number): RuntimeManagerResponse {
    // A response with a copy of `bytes` bytes (made by `copy`), reserved in the budget first; the session
    // writing it takes the reservation over. The copy leaves room for the headers: TLS takes one buffer.
    const reserved = bytes + RESPONSE_OVERHEAD_BYTES;
    if (!this.#vfs.budget.tryReserve(reserved, 'responses')) {
      const refusal = new BudgetExceeded('responses', bytes, this.#vfs.budget.limit);
      throw new VeracruzError(Code.LimitExceeded, `${what}: ${refusal.sentence} now; read it in smaller ranges`);
    }
    try {
      const target = allocator.take(RESPONSE_HEADROOM_BYTES + bytes).subarray(RESPONSE_HEADROOM_BYTES);
      const data = target.subarray(0, copy(target));
      return withReservation(withHeadroom(successResponse(data)), reserved);
    } catch (reason) {
      this.#vfs.budget.release(reserved, 'responses');
      throw reason;
    }
  }

  #checkHash(path: string, data: readonly Uint8Array[]): void {
    const expected = this.#fileHashes.get(path);
    if (expected === undefined) return;
    const hash = createHash('sha256');
    for (const piece of data) hash.update(piece);
    const actual = hash.digest('hex');
    if (actual !== expected) {
      throw new VeracruzError(Code.PermissionDenied,
        `write ${path}: the data's SHA-256 is not the hash the policy requires for this path (file_hashes: ${expected})`);
    }
  }

  #serialised(run: () => Promise<RuntimeManagerResponse>): Promise<RuntimeManagerResponse> {
    const result = this.#executions.then(run, run);
    this.#executions = result.catch(() => undefined);
    return result;
  }

  async #execute(principal: SessionPrincipal, path: string): Promise<RuntimeManagerResponse> {
    // The caller needs FD_EXECUTE|FD_SEEK on the binary; the program then runs with its own rights.
    const program = principal.view.readExecutable(path);
    const entry = findProgram(this.#policy, path);
    if (entry === undefined) {
      throw new VeracruzError(Code.PermissionDenied, `execute ${path}: the policy lists no program at this path (programs[])`);
    }
    return this.#run(`program ${path}`, entry.file_rights, () => this.#engine.execute({
      vfs: this.#vfs,
      program,
      rights: entry.file_rights,
      limits: programLimits(this.#policy, path),
      enableClock: this.#policy.enable_clock,
      abi: { ...this.#abi, program: path },
    }));
  }

  // Runs a program or pipeline whose programs have `rights`: the output streams they may write are
  // open while it runs; once it finishes they have ended if it exited having read no failed stream,
  // and have failed otherwise (their data may be partial). A run that got EIO from a failed stream
  // says so, naming the stream.
  async #run(what: string, rights: readonly FileRights[], run: () => Promise<ExecutionOutcome>): Promise<RuntimeManagerResponse> {
    const response = await this.#runWithStreams(what, rights, run);
    // A successful answer carries the exit code (u32 LE): all zero bytes is exit 0.
    if (response.status === ResponseStatus.SUCCESS && response.body?.kind === 'result' && response.body.data.every((byte) => byte === 0)) this.#onRunSucceeded?.();
    return response;
  }

  // A run of a program the policy's await_inputs names waits until each of its files exists, or
  // fails naming those still missing once the deadline has passed.
  async #awaitInputs(program: string): Promise<void> {
    const awaited = this.#policy.await_inputs.find((entry) => entry.program === program);
    if (awaited === undefined) return;
    const deadline = Date.now() + awaited.deadline_ms;
    for (;;) {
      const missing = awaited.files.filter((file) => this.#vfs.lookup(pathComponents(file)) === undefined);
      if (missing.length === 0) return;
      if (Date.now() >= deadline) {
        throw new VeracruzError(Code.Unavailable, `execute ${program}: waited ${awaited.deadline_ms} ms for its inputs (await_inputs); missing: ${missing.join(', ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, deadline - Date.now())));
    }
  }

  async #runWithStreams(what: string, rights: readonly FileRights[], run: () => Promise<ExecutionOutcome>): Promise<RuntimeManagerResponse> {
    const streams = this.#streams;
    if (streams === undefined) return outcomeResponse(await run(), what);
    const written = streams.runStarting(rights);
    let outcome: ExecutionOutcome | undefined;
    let failedReads: StreamState[] = [];
    try {
      outcome = await run();
    } finally {
      failedReads = streams.takeFailedReads();
      streams.runFinished(written, writerFailure(outcome, failedReads));
    }
    return streamFailureResponse(failedReads, outcome, what) ?? outcomeResponse(outcome, what);
  }

  async #runPipeline(principal: SessionPrincipal, name: string): Promise<RuntimeManagerResponse> {
    // Veracruz looks pipelines up by array index (vc-pgen names them "0", "1", ...); a name works too.
    const entry = findPipeline(this.#policy, name);
    if (entry === undefined) {
      throw new VeracruzError(Code.NotFound, `pipeline ${JSON.stringify(name)}: the policy has no pipeline with this index or name`);
    }
    return this.#run(`pipeline ${entry.name}`, entry.file_rights, () => this.#engine.runPipeline({
      vfs: this.#vfs,
      pipeline: entry.expr,
      callerRights: principal.fileRights,
      pipelineRights: entry.file_rights,
      // Pipeline steps are not programs[] entries: they run under the policy-level limits.
      limits: programLimits(this.#policy, ''),
      enableClock: this.#policy.enable_clock,
      abi: { ...this.#abi, program: entry.name },
    }));
  }
}

// Why the output streams a run wrote failed, or undefined if they have ended well (it exited, having read no failed stream).
function writerFailure(outcome: ExecutionOutcome | undefined, failedReads: readonly StreamState[]): string | undefined {
  const run = 'the run that wrote it';
  switch (outcome?.kind) {
    case 'exited':
      return failedReads.length === 0 ? undefined : `${run} read past the data of failed stream ${failedReads.map((stream) => stream.path).join(', ')}`;
    case 'limit':
      return outcome.limit === 'budget' ? `${run} was refused memory by the isolate's budget` : `${run} reached its ${outcome.limit} limit`;
    case 'trapped':
      return `${run} trapped`;
    case 'rejected':
      return `${run} was rejected (not runnable)`;
    case 'integrity':
      return `${run} was given forged sealed data`;
    default:
      return `${run} failed`;
  }
}

// The answer to a run that read past the data of `failed` streams (EIO), or undefined if none: a run
// that exited fails as unavailable naming them (its outputs may rest on data it never got); any other
// ending keeps its own error, which then names them too.
function streamFailureResponse(failed: readonly StreamState[], outcome: ExecutionOutcome, what: string): RuntimeManagerResponse | undefined {
  if (failed.length === 0) return undefined;
  const streams = failed.map((stream) => `stream ${stream.path} failed (${stream.failure})`).join('; ');
  if (outcome.kind === 'exited') {
    return errorResponse(new VeracruzError(Code.Unavailable, `${what} read past the data it had: ${streams}; the program got EIO and then exited with code ${outcome.exitCode}`));
  }
  const response = outcomeResponse(outcome, what);
  if (response.errorDetail !== undefined) response.errorDetail.message += ` (it had read past the data of a failed stream: ${streams})`;
  return response;
}

/** A finished run as a response: any exit code is SUCCESS (as in Veracruz); traps and limits are errors. */
export function outcomeResponse(outcome: ExecutionOutcome, what: string): RuntimeManagerResponse {
  switch (outcome.kind) {
    case 'exited':
      return successResponse(exitCodeBytes(outcome.exitCode));
    case 'limit':
      if (outcome.limit === 'budget') return errorResponse(new VeracruzError(Code.LimitExceeded, `${what}: ${outcome.message}`));
      return errorResponse(new VeracruzError(Code.LimitExceeded, `${what} reached its ${outcome.limit} limit: ${outcome.message}`));
    case 'trapped':
      return errorResponse(new VeracruzError(Code.ProgramFailed, `${what} trapped: ${outcome.message}`));
    case 'rejected':
      return errorResponse(new VeracruzError(Code.ProgramFailed, `${what} was rejected: ${outcome.message}`));
    case 'integrity':
      return errorResponse(new VeracruzError(Code.IntegrityViolation, `${what}: ${outcome.message}`));
  }
}
