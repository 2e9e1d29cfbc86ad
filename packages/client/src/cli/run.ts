import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Duplex, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { formatRights } from '@veracruz-ts/policy';
import { writeFileAtomically } from '@veracruz-ts/policy/node';
import { type ConnectOptions, type RightsReport, VeracruzClient } from '../client.ts';
import { type ClientPlan, planHasWork, type Transfer } from './arguments.ts';
import { ProgressBar, type ProgressStream } from './progress.ts';
import { CLIENT_VERSION } from './version.ts';

/** Where vc-client reads and writes, so it can run inside a test. */
export interface ClientIo {
  stdin: Readable;
  stdout: Writable & { isTTY?: boolean };
  /** Status lines, warnings, errors and the progress bar (when a terminal). */
  stderr: Writable & ProgressStream;
  /** A transport to use instead of TCP (tests). */
  transport?: () => Duplex;
}

/** Files at least this large get a progress bar (on a terminal). */
const PROGRESS_THRESHOLD_BYTES = 8 * 1024 * 1024;

/** An error as `--json` reports it: the code to switch on, the sentence to read. */
export interface ReportedError {
  code: Code;
  message: string;
}

/** How an operation went; `skipped` means it was not attempted (an earlier error ended the run). */
export type OperationStatus = 'ok' | 'failed' | 'skipped';

/** One operation of the run, as `--json` reports it. */
export type ClientOperation =
  | { operation: 'upload'; kind: 'program' | 'data'; remote: string; local: string; status: OperationStatus; bytes?: number; error?: ReportedError }
  | { operation: 'feed'; remote: string; local: string; status: OperationStatus; bytes?: number; error?: ReportedError }
  | { operation: 'execute'; remote: string; status: OperationStatus; exitCode?: number; error?: ReportedError }
  | { operation: 'follow'; remote: string; status: OperationStatus; bytes?: number; error?: ReportedError }
  | { operation: 'read'; remote: string; local: string; status: OperationStatus; bytes?: number; error?: ReportedError }
  | {
    operation: 'shutdown';
    /** `requested` by -s, or Veracruz's implicit shutdown `after-results`. */
    reason: 'requested' | 'after-results';
    status: OperationStatus;
    /** Why it was skipped, when that was vc-client's choice. */
    note?: string;
    error?: ReportedError;
  };

/** The document `vc-client --json` prints on stdout. */
export interface ClientReport {
  /** vc-client's version. */
  vcClient: string;
  /** The policy file and the SHA-256 of its bytes (when it could be read). */
  policy: { path: string; hash?: string };
  /** The address connected to. */
  server?: string;
  /** What was verified about the isolate before anything was sent (absent if that failed). */
  attestation?: {
    platform: string;
    runtimeHash: string;
    policyHash: string;
    /** SHA-256 of the isolate certificate (DER). */
    isolateCertificateSha256: string;
  };
  /** Every operation the command line asked for, in the order they run. */
  operations: ClientOperation[];
  /** With --rights: the rights in force and the narrowings made. */
  rights?: RightsReport;
  /** What ended the run early, if anything did. */
  error?: ReportedError;
  /** vc-client's exit status. */
  exitStatus: number;
}

function reported(reason: unknown): ReportedError {
  const error = VeracruzError.from(reason);
  return { code: error.code, message: error.rawMessage };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function readAll(stream: Readable): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (part: Buffer) => parts.push(part));
    stream.once('end', () => resolve(Buffer.concat(parts)));
    stream.once('error', reject);
  });
}

async function readLocalFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (reason) {
    throw new VeracruzError(Code.NotFound, `cannot read the ${what} ${path}: ${(reason as NodeJS.ErrnoException).code ?? String(reason)}`);
  }
}

function plannedOperations(plan: ClientPlan): ClientOperation[] {
  return [
    ...plan.programs.map(({ remote, local }) => ({ operation: 'upload' as const, kind: 'program' as const, remote, local, status: 'skipped' as const })),
    ...plan.data.map(({ remote, local }) => ({ operation: 'upload' as const, kind: 'data' as const, remote, local, status: 'skipped' as const })),
    ...plan.feeds.map(({ remote, local }) => ({ operation: 'feed' as const, remote, local, status: 'skipped' as const })),
    ...plan.computes.map((remote) => ({ operation: 'execute' as const, remote, status: 'skipped' as const })),
    ...plan.follows.map((remote) => ({ operation: 'follow' as const, remote, status: 'skipped' as const })),
    ...plan.results.map(({ remote, local }) => ({ operation: 'read' as const, remote, local, status: 'skipped' as const })),
    ...(plan.shutdown ? [{ operation: 'shutdown' as const, reason: plan.shutdownAfterResults ? 'after-results' as const : 'requested' as const, status: 'skipped' as const }] : []),
  ];
}

/**
 * Carries out a vc-client plan: connect and verify, upload programs then data, feed streams,
 * execute, follow streams, read results, shut down. Returns the exit status (0 ok; 1 an error, or a result that could not be
 * read; 2 nothing to do; with `exitCode`, the programs' last non-zero exit code). Errors are
 * printed on stderr with their code; with `json`, the whole run is also described on stdout.
 */
export async function runClient(plan: ClientPlan, io: ClientIo): Promise<number> {
  const status = (line: string): void => {
    if (!plan.quiet) io.stderr.write(`${line}\n`);
  };
  const operations = plannedOperations(plan);
  const report: ClientReport = { vcClient: CLIENT_VERSION, policy: { path: plan.policyPath }, operations, exitStatus: 0 };
  const finish = (exitStatus: number): number => {
    report.exitStatus = exitStatus;
    if (plan.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return exitStatus;
  };
  if (!planHasWork(plan)) {
    io.stderr.write('Nothing to do\n');
    report.error = { code: Code.InvalidRequest, message: 'nothing to do: no program, data, compute, result or shutdown was asked for' };
    return finish(2);
  }
  if (plan.shutdownAfterResults) {
    status('Note: after reading results, vc-client shuts the computation down for every party (as Veracruz does); ' +
      'pass -n/--no-shutdown to keep it running');
  }
  // A transfer allocates a buffer per TLS record; with V8's default, that means a full collection
  // every 64 MiB of them: counted in the heap's global limit instead. Process-wide, and this process
  // (vc-client) exists for the transfer.
  setFlagsFromString('--external-memory-accounted-in-global-limit');
  let client: VeracruzClient | undefined;
  let unreadResults = 0;
  let programExitCode: number | undefined;
  let next = 0;
  try {
    const policy = await readFile(plan.policyPath).catch((reason: NodeJS.ErrnoException) => {
      throw new VeracruzError(Code.NotFound, `cannot read the policy ${plan.policyPath}: ${reason.code ?? String(reason)}`);
    });
    report.policy.hash = sha256Hex(policy);
    const options: ConnectOptions = {
      policy,
      certificatePem: await readLocalFile(plan.identityPath, 'identity certificate'),
      privateKeyPem: await readLocalFile(plan.keyPath, 'private key'),
    };
    if (plan.server !== undefined) options.address = plan.server;
    if (plan.fleet !== undefined) options.fleet = plan.fleet;
    // A new connection (and session) each time, verified as the first.
    const connect = (): Promise<VeracruzClient> => VeracruzClient.connect(io.transport === undefined ? options : { ...options, transport: io.transport() });
    client = await connect();
    report.server = plan.server ?? client.policy.veracruz_server_url;
    report.attestation = {
      platform: client.attestation.platform,
      runtimeHash: client.attestation.runtimeHash,
      policyHash: client.attestation.policyHash,
      isolateCertificateSha256: sha256Hex(client.attestation.certificate),
    };
    status(`Loaded policy ${plan.policyPath} ${client.policy.hash}`);
    status(`Connected to ${report.server}: isolate verified ` +
      `(${client.attestation.platform} runtime ${client.attestation.runtimeHash}, policy hash matches)`);
    const showProgress = !plan.quiet && io.stderr.isTTY === true;

    for (const [kind, transfers] of [['program', plan.programs], ['data', plan.data]] as const) {
      for (const transfer of transfers) {
        const operation = operations[next++]!;
        operation.status = 'failed';
        const bytes = await upload(client, transfer, io, showProgress);
        Object.assign(operation, { status: 'ok', bytes });
        status(`Uploaded ${kind} ${transfer.remote} (${bytes} bytes from ${transfer.local === '-' ? 'stdin' : transfer.local})`);
      }
    }

    if (plan.feeds.length > 0) {
      const feeds = operations.slice(next, next + plan.feeds.length);
      next += plan.feeds.length;
      await feedAll(client, connect, plan, feeds, io, showProgress, status);
    }

    for (const program of plan.computes) {
      const operation = operations[next++]!;
      operation.status = 'failed';
      const exitCode = await client.execute(program);
      Object.assign(operation, { status: 'ok', exitCode });
      if (exitCode !== 0) programExitCode = exitCode;
      status(`Executed ${program}: exit code ${exitCode}${exitCode !== 0 && !plan.exitCode ? ' (vc-client still exits 0; --exit-code makes it exit with this code)' : ''}`);
    }

    if (plan.rights) {
      report.rights = await client.rights();
      if (!plan.json) io.stdout.write(`${JSON.stringify(report.rights, null, 2)}\n`);
      for (const narrowing of report.rights.narrowings) {
        status(`Narrowed by ${narrowing.program} at ${narrowing.at}: subject ${narrowing.subject} on ${narrowing.path}, ` +
          `${formatRights(narrowing.before)} -> ${formatRights(narrowing.after)}`);
      }
    }

    for (const remote of plan.follows) {
      const operation = operations[next++]!;
      operation.status = 'failed';
      let bytes = 0;
      // Written as it arrives (that is the point of following), so stdout keeps what came before an error.
      for await (const part of client.followStream(remote) as AsyncIterable<Uint8Array>) {
        bytes += part.length;
        if (!io.stdout.write(part)) await once(io.stdout, 'drain');
      }
      Object.assign(operation, { status: 'ok', bytes });
      status(`Followed ${remote} to stdout until it ended (${bytes} bytes)`);
    }

    for (const transfer of plan.results) {
      const operation = operations[next++]!;
      try {
        const bytes = await readResult(client, transfer, io, showProgress);
        Object.assign(operation, { status: 'ok', bytes });
        status(`Read ${transfer.remote} into ${transfer.local === '-' ? 'stdout' : transfer.local} (${bytes} bytes)`);
      } catch (reason) {
        const error = VeracruzError.from(reason);
        // The session is gone: nothing else can be read, and the run ends here.
        if (error.code === Code.Unavailable) {
          operation.status = 'failed';
          throw error;
        }
        // As Veracruz: a result that cannot be read is a warning; the rest goes on.
        unreadResults++;
        Object.assign(operation, { status: 'failed', error: reported(error) });
        io.stderr.write(`[warn] ${error.message}\n`);
      }
    }

    if (plan.shutdown) {
      const operation = operations[next++]!;
      if (plan.shutdownAfterResults && unreadResults > 0) {
        // Shutting down would end the only chance to read what was not read: Veracruz does, we do not.
        const note = `not shutting the computation down: ${unreadResults} result${unreadResults === 1 ? '' : 's'} could not be read; run with -s to shut it down anyway`;
        Object.assign(operation, { status: 'skipped', note });
        io.stderr.write(`[warn] ${note}\n`);
      } else {
        operation.status = 'failed';
        await client.shutdown();
        operation.status = 'ok';
        status('Requested shutdown');
      }
    }
    await client.close();
  } catch (reason) {
    const error = VeracruzError.from(reason);
    const failed = operations.find((operation) => operation.status === 'failed' && operation.error === undefined);
    if (failed !== undefined) failed.error = reported(error);
    report.error = reported(error);
    io.stderr.write(`vc-client: ${error.message}\n`);
    await client?.close().catch(() => {});
    return finish(1);
  }
  if (unreadResults > 0) return finish(1);
  // Exit statuses are 8 bits: a larger code must not read as success.
  return finish(plan.exitCode && programExitCode !== undefined ? Math.min(programExitCode, 255) : 0);
}

async function upload(client: VeracruzClient, { remote, local }: Transfer, io: ClientIo, showProgress: boolean): Promise<number> {
  if (local === '-') {
    const data = await readAll(io.stdin);
    await client.writeFile(remote, data);
    return data.length;
  }
  const size = (await stat(local).catch((reason: NodeJS.ErrnoException) => {
    throw new VeracruzError(Code.NotFound, `cannot read ${local}: ${reason.code ?? String(reason)}`);
  })).size;
  const bar = showProgress && size >= PROGRESS_THRESHOLD_BYTES ? new ProgressBar(`upload ${remote}`, io.stderr) : undefined;
  try {
    await client.writeFileStream(remote, createReadStream(local, { highWaterMark: 1024 * 1024 }), {
      total: size,
      ...(bar === undefined ? {} : { onProgress: ({ bytes, total }) => bar.update(bytes, total) }),
    });
  } finally {
    bar?.clear();
  }
  return size;
}

/**
 * Feeds every stream of `plan` at once, each through a connection of its own (the first through
 * `client`, the others through new ones, closed after): a program that reads them in an order of its
 * own never waits on a stream whose feed is queued behind another's, held back because the program is
 * not reading that one yet. The first failure stops the other feeds (their streams are left open, not
 * closed) and is thrown. `operations` are the feeds' own, in plan order.
 */
async function feedAll(
  client: VeracruzClient,
  connect: () => Promise<VeracruzClient>,
  plan: ClientPlan,
  operations: ClientOperation[],
  io: ClientIo,
  showProgress: boolean,
  status: (line: string) => void,
): Promise<void> {
  const stop = new AbortController();
  const connections: VeracruzClient[] = [];
  let failure: { remote: string; error: VeracruzError } | undefined;
  await Promise.all(plan.feeds.map(async (transfer, index) => {
    const operation = operations[index]!;
    operation.status = 'failed';
    try {
      const feeder = index === 0 ? client : await connect();
      if (feeder !== client) connections.push(feeder);
      stop.signal.throwIfAborted();
      // Several bars on one terminal would overwrite each other.
      const bytes = await feed(feeder, transfer, plan.recordBytes, io, showProgress && plan.feeds.length === 1, stop.signal);
      Object.assign(operation, { status: 'ok', bytes });
      status(`Fed stream ${transfer.remote} (${bytes} bytes from ${transfer.local === '-' ? 'stdin' : transfer.local}) and closed it`);
    } catch (reason) {
      if (failure === undefined) {
        failure = { remote: transfer.remote, error: VeracruzError.from(reason) };
        operation.error = reported(failure.error);
        stop.abort();
      } else {
        operation.error = { code: failure.error.code, message: `stopped when the feed of ${failure.remote} failed; ${transfer.remote} was not closed` };
      }
    }
  }));
  await Promise.all(connections.map((connection) => connection.close().catch(() => {})));
  if (failure !== undefined) throw failure.error;
}

/**
 * Appends a local file or stdin to the stream `remote` through a stream writer (whole records of
 * `recordBytes`), closing it at the end; returns the bytes fed. Aborting `signal` stops it without closing the stream.
 */
async function feed(client: VeracruzClient, { remote, local }: Transfer, recordBytes: number, io: ClientIo, showProgress: boolean, signal: AbortSignal): Promise<number> {
  const size = local === '-' ? undefined : (await stat(local).catch((reason: NodeJS.ErrnoException) => {
    throw new VeracruzError(Code.NotFound, `cannot read ${local}: ${reason.code ?? String(reason)}`);
  })).size;
  const writer = client.openStreamWriter(remote, { recordBytes });
  const bar = showProgress && size !== undefined && size >= PROGRESS_THRESHOLD_BYTES ? new ProgressBar(`feed ${remote}`, io.stderr) : undefined;
  if (bar !== undefined) writer.on('progress', ({ bytes }: { bytes: number }) => bar.update(bytes, size));
  try {
    await pipeline(local === '-' ? io.stdin : createReadStream(local, { highWaterMark: 1024 * 1024 }), writer, { signal });
  } catch (reason) {
    const error = VeracruzError.from(reason);
    // A local read error is the local file's, not the isolate's.
    if (!(reason instanceof VeracruzError)) throw new VeracruzError(Code.NotFound, `cannot read ${local === '-' ? 'stdin' : local}: ${error.rawMessage}`, { cause: reason });
    throw error;
  } finally {
    bar?.clear();
  }
  return writer.acceptedBytes;
}

/**
 * Reads one result into a local file or stdout; returns its size. A file is replaced only once
 * the whole result has arrived (writeFileAtomically): a refused or broken read leaves it as it was.
 * Stdout cannot be taken back, so a read that breaks midway leaves there what had arrived.
 */
async function readResult(client: VeracruzClient, { remote, local }: Transfer, io: ClientIo, showProgress: boolean): Promise<number> {
  // Large results are streamed in ranges; a runtime without ranged reads (Veracruz) is read whole.
  const size = await client.fileSize(remote).catch(() => undefined);
  // A result printed on the terminal the bar is drawn on would tangle with it.
  const bar = showProgress && size !== undefined && size >= PROGRESS_THRESHOLD_BYTES && !(local === '-' && io.stdout.isTTY === true)
    ? new ProgressBar(`download ${remote}`, io.stderr) : undefined;
  let bytes = 0;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (size === undefined) {
      const data = await client.readFile(remote);
      bytes = data.length;
      yield data;
      return;
    }
    for await (const part of client.readFileStream(remote, bar === undefined ? {} : { onProgress: (progress) => bar.update(progress.bytes, progress.total) })) {
      bytes += part.length;
      yield part;
    }
  }
  try {
    if (local !== '-') {
      await writeFileAtomically(local, chunks());
    } else {
      for await (const part of chunks()) {
        if (!io.stdout.write(part)) await once(io.stdout, 'drain');
      }
    }
  } finally {
    bar?.clear();
  }
  return bytes;
}
