import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Duplex, Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Code, VeracruzError } from '@veracruz-ts/policy';
import { countBufferMemoryInHeapLimit } from '@veracruz-ts/protocol/channel';
import { type ConnectOptions, VeracruzClient } from '../client.ts';
import { type ClientPlan, planHasWork } from './arguments.ts';
import { ProgressBar } from './progress.ts';

/** Where vc-client reads and writes, so it can run inside a test. */
export interface ClientIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  /** A transport to use instead of TCP (tests). */
  transport?: () => Duplex;
}

/** Files at least this large get a progress bar (on a terminal). */
const PROGRESS_THRESHOLD_BYTES = 8 * 1024 * 1024;

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

/**
 * Carries out a vc-client plan: connect and verify, upload programs then data, execute, read
 * results, shut down. Returns the exit status (0 ok, 1 error, 2 nothing to do); errors are
 * printed on stderr with their code.
 */
export async function runClient(plan: ClientPlan, io: ClientIo): Promise<number> {
  const status = (line: string): void => {
    if (!plan.quiet) io.stderr.write(`${line}\n`);
  };
  if (!planHasWork(plan)) {
    io.stderr.write('Nothing to do\n');
    return 2;
  }
  // A transfer allocates a buffer per TLS record; with V8's default, that means a full collection
  // every 64 MiB of them (see countBufferMemoryInHeapLimit). This process exists for the transfer.
  countBufferMemoryInHeapLimit();
  let client: VeracruzClient | undefined;
  let warnings = 0;
  try {
    const policy = await readFile(plan.policyPath).catch((reason: NodeJS.ErrnoException) => {
      throw new VeracruzError(Code.NotFound, `cannot read the policy ${plan.policyPath}: ${reason.code ?? String(reason)}`);
    });
    const options: ConnectOptions = {
      policy,
      certificatePem: await readLocalFile(plan.identityPath, 'identity certificate'),
      privateKeyPem: await readLocalFile(plan.keyPath, 'private key'),
    };
    if (plan.server !== undefined) options.address = plan.server;
    if (io.transport !== undefined) options.transport = io.transport();
    client = await VeracruzClient.connect(options);
    status(`Loaded policy ${plan.policyPath} ${client.policy.hash}`);
    status(`Connected to ${plan.server ?? client.policy.veracruz_server_url}: isolate verified ` +
      `(${client.attestation.platform} runtime ${client.attestation.runtimeHash}, policy hash matches)`);
    const showProgress = !plan.quiet && io.stderr.isTTY === true;

    for (const [kind, transfers] of [['program', plan.programs], ['data', plan.data]] as const) {
      for (const { remote, local } of transfers) {
        if (local === '-') {
          const data = await readAll(io.stdin);
          await client.writeFile(remote, data);
          status(`Uploaded ${kind} ${remote} (${data.length} bytes from stdin)`);
          continue;
        }
        const size = (await stat(local).catch((reason: NodeJS.ErrnoException) => {
          throw new VeracruzError(Code.NotFound, `cannot read ${local}: ${reason.code ?? String(reason)}`);
        })).size;
        const bar = showProgress && size >= PROGRESS_THRESHOLD_BYTES ? new ProgressBar(`upload ${remote}`, (text) => io.stderr.write(text)) : undefined;
        await client.writeFileStream(remote, createReadStream(local, { highWaterMark: 1024 * 1024 }), {
          total: size,
          ...(bar === undefined ? {} : { onProgress: ({ bytes, total }) => bar.update(bytes, total) }),
        });
        bar?.finish();
        status(`Uploaded ${kind} ${remote} (${size} bytes from ${local})`);
      }
    }

    for (const program of plan.computes) {
      const exitCode = await client.execute(program);
      status(`Executed ${program}: exit code ${exitCode}`);
    }

    for (const { remote, local } of plan.results) {
      try {
        await readResult(client, remote, local, io, showProgress);
        status(`Read ${remote} into ${local === '-' ? 'stdout' : local}`);
      } catch (reason) {
        // As Veracruz: a result that cannot be read is a warning; the rest goes on.
        warnings++;
        io.stderr.write(`[warn] ${VeracruzError.from(reason).message}\n`);
      }
    }

    if (plan.shutdown) {
      await client.shutdown();
      status('Requested shutdown');
    }
    await client.close();
    return warnings === 0 ? 0 : 1;
  } catch (reason) {
    io.stderr.write(`vc-client: ${VeracruzError.from(reason).message}\n`);
    await client?.close().catch(() => {});
    return 1;
  }
}

async function readResult(client: VeracruzClient, remote: string, local: string, io: ClientIo, showProgress: boolean): Promise<void> {
  // Large results are streamed in ranges; a runtime without ranged reads (Veracruz) is read whole.
  const size = await client.fileSize(remote).catch(() => undefined);
  const output = local === '-' ? io.stdout : createWriteStream(local);
  try {
    if (size === undefined) {
      output.write(await client.readFile(remote));
    } else {
      const bar = showProgress && size >= PROGRESS_THRESHOLD_BYTES ? new ProgressBar(`download ${remote}`, (text) => io.stderr.write(text)) : undefined;
      for await (const part of client.readFileStream(remote, bar === undefined ? {} : { onProgress: ({ bytes, total }) => bar.update(bytes, total) })) {
        if (!output.write(part)) await new Promise<void>((resolve) => output.once('drain', () => resolve()));
      }
      bar?.finish();
    }
  } finally {
    if (output !== io.stdout) {
      output.end();
      await finished(output);
    }
  }
}
