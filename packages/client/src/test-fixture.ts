/**
 * For the client's specs only: an in-process computation (real TLS, real session manager and
 * engine) whose policy declares streams, with principals and C programs that read streams as they
 * grow; connecting a client to an in-process computation; matching the errors the client throws.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before } from 'node:test';
import { VeracruzError } from '@veracruz-ts/core';
import { type FileRights, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import {
  compileC,
  createTestPki,
  createTestPrincipal,
  type InProcessComputation,
  startInProcess,
  type TestPrincipal,
  testPolicyText,
} from '@veracruz-ts/runtime/testing';
import { type ConnectOptions, VeracruzClient } from './client.ts';

/** A `streams` entry as written in a policy. */
export interface StreamEntry {
  path: string;
  deadline_ms?: number;
  max_buffered_bytes?: number;
  on_writer_disconnect?: 'abort' | 'close' | 'wait';
}

/**
 * Copies INPUT to OUTPUT (appending) as it arrives, each read written at once with write(2); then
 * exits 0. Exit 2: INPUT cannot be opened; 5: a read failed (an aborted stream); 4: a write failed.
 */
const COPY_SOURCE = `
#include <fcntl.h>
#include <unistd.h>
int main(void) {
  int in = open(INPUT, O_RDONLY);
  if (in < 0) return 2;
  int out = open(OUTPUT, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0) return 4;
  static char buffer[65536];
  ssize_t got;
  while ((got = read(in, buffer, sizeof buffer)) > 0) {
    if (write(out, buffer, (size_t)got) != got) return 4;
  }
  return got < 0 ? 5 : 0;
}
`;

/**
 * Creates OUTPUT ".started" (so a test knows it runs), reads the first HEAD bytes of INPUT, then
 * GATE until it ends, then the rest of INPUT; writes the number of INPUT bytes to OUTPUT in
 * decimal. While it waits on GATE, it is a running program that is behind on INPUT.
 */
const GATED_COUNT_SOURCE = `
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
static char buffer[65536];
int main(void) {
  FILE *started = fopen(OUTPUT ".started", "w");
  if (started == NULL || fclose(started) != 0) return 4;
  int in = open(INPUT, O_RDONLY);
  int gate = open(GATE, O_RDONLY);
  if (in < 0 || gate < 0) return 2;
  long long total = 0;
  ssize_t got;
  while (total < HEAD && (got = read(in, buffer, (size_t)(HEAD - total))) > 0) total += got;
  while ((got = read(gate, buffer, sizeof buffer)) > 0) {}
  if (got < 0) return 5;
  while ((got = read(in, buffer, sizeof buffer)) > 0) total += got;
  if (got < 0) return 5;
  FILE *out = fopen(OUTPUT, "w");
  if (out == NULL) return 4;
  fprintf(out, "%lld", total);
  return fclose(out) == 0 ? 0 : 4;
}
`;

/** C string literal for a macro definition. */
const quoted = (path: string): string => `"${path}"`;

/** The copy program from `input` to `output`. */
export function copyProgram(input: string, output: string): Promise<Uint8Array> {
  return compileC(COPY_SOURCE, ['-O2', `-DINPUT=${quoted(input)}`, `-DOUTPUT=${quoted(output)}`]);
}

/** The gated counting program (see its source above). */
export function gatedCountProgram(input: string, gate: string, head: number, output: string): Promise<Uint8Array> {
  return compileC(GATED_COUNT_SOURCE, ['-O2', `-DINPUT=${quoted(input)}`, `-DGATE=${quoted(gate)}`, `-DHEAD=${head}`, `-DOUTPUT=${quoted(output)}`]);
}

/** Rights of a program that reads /input/ and writes /output/. */
export const PROGRAM_RIGHTS: FileRights[] = [
  { file_name: '/input/', rights: RIGHTS_READ },
  { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
];

/** A running computation and a way to connect its principals. */
export interface StreamComputation {
  computation: InProcessComputation;
  /** The policy file's text. */
  policyText: string;
  principals: Record<string, TestPrincipal>;
  connect(name: string, options?: { chunkBytes?: number; window?: number }): Promise<VeracruzClient>;
}

/** What a stream computation is made of (see startStreamComputation). */
export interface StreamComputationOptions {
  principals: Record<string, FileRights[]>;
  streams: StreamEntry[];
  programs?: { path: string; binary: Uint8Array; limits?: Record<string, number> }[];
}

/**
 * Connects `principal` to `computation` (whose policy file is `policyText`) over a new in-process
 * session, in requests of 64 KiB unless `overrides` say otherwise.
 */
export function connectInProcess(
  computation: InProcessComputation,
  policyText: string,
  principal: { certificatePem: string; privateKeyPem: string },
  overrides: Partial<ConnectOptions> = {},
): Promise<VeracruzClient> {
  return VeracruzClient.connect({
    policy: policyText,
    certificatePem: principal.certificatePem,
    privateKeyPem: principal.privateKeyPem,
    transport: computation.openSession(),
    chunkBytes: 64 * 1024,
    ...overrides,
  });
}

/**
 * Starts a computation whose policy gives each named principal its rights, declares `streams`, and
 * lists `programs` (uploaded by whoever may write /program/) with PROGRAM_RIGHTS.
 */
export async function startStreamComputation(options: StreamComputationOptions): Promise<StreamComputation> {
  const pki = await createTestPki();
  const principals: Record<string, TestPrincipal> = {};
  for (const [name, rights] of Object.entries(options.principals)) principals[name] = await createTestPrincipal(name, rights);
  const policy = JSON.parse(testPolicyText({
    principals: Object.values(principals),
    pasCertificatePem: pki.ca.certificatePem,
    runtimeHashLinux: pki.runtimeHash,
    programs: (options.programs ?? []).map((program) => ({ ...program, rights: PROGRAM_RIGHTS })),
  })) as Record<string, unknown>;
  policy.streams = options.streams;
  const policyText = JSON.stringify(policy, null, 2);
  const computation = await startInProcess(policyText, pki);
  return {
    computation,
    policyText,
    principals,
    connect: (name, overrides = {}) => connectInProcess(computation, policyText, principals[name]!, overrides),
  };
}

/**
 * For the suite it is called in: starts the computation `options` describe before the suite's tests
 * and closes it after them. What it returns stands for that computation while the tests run.
 */
export function streamComputationForSuite(options: () => Promise<StreamComputationOptions>): StreamComputation {
  let started: StreamComputation | undefined;
  before(async () => {
    started = await startStreamComputation(await options());
  });
  after(() => started?.computation.close());
  const current = (): StreamComputation => {
    if (started === undefined) throw new Error('the stream computation has not started');
    return started;
  };
  return {
    get computation() {
      return current().computation;
    },
    get policyText() {
      return current().policyText;
    },
    get principals() {
      return current().principals;
    },
    connect: (name, overrides) => current().connect(name, overrides),
  };
}

/** Rights to upload and execute programs under /program/ and read results under /output/. */
export const ANALYST_RIGHTS: FileRights[] = [
  { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE | RIGHTS_READ },
  { file_name: '/output/', rights: RIGHTS_READ },
];

/** `length` bytes with a recognisable pattern starting at `seed`. */
export function patterned(length: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => (index * 31 + seed * 7 + (index >> 8)) & 0xff);
}

/** For `assert.rejects`: the error is a VeracruzError with `code` whose message matches `pattern`. */
export function isError(code: string, pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof VeracruzError, `not a VeracruzError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

/**
 * A stand-in for vc-server over real TCP: relays to the in-process `computation` until armed, then
 * drops the client at its next request, with a reset (as vc-server does when the isolate dies) or
 * with a plain close.
 */
export async function droppingHost(computation: InProcessComputation, how: 'reset' | 'close'): Promise<{ transport: net.Socket; arm: () => void; close: () => void }> {
  let armed = false;
  const server = net.createServer((socket) => {
    const isolate = computation.openSession();
    socket.on('error', () => {});
    isolate.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.on('data', (chunk: Buffer) => {
      if (!armed) isolate.write(chunk);
      else if (how === 'reset') socket.resetAndDestroy();
      else socket.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const transport = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(transport, 'connect');
  return { transport, arm: () => (armed = true), close: () => server.close() };
}
