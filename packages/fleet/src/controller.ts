/**
 * A fleet's controller on this host: the fleet's PAS, the reconciler over members that are
 * processes here, and the fleet's API, which `vc-fleet status|submit|scale|cancel|down` call.
 * It writes `DIR/controller.json` (its URL and pid) and `DIR/control-token` (mode 0600, the bearer
 * token of every request that changes something); reads need no token, since all they tell is the
 * host's view, which a party may want to read too (see the SDK's fleet option).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Code, formatHostPort, VeracruzError } from '@veracruz-ts/core';
import { timestamped } from '@veracruz-ts/policy';
import { writeFileAtomically } from '@veracruz-ts/policy/node';
import { DEFAULT_RUNTIME_BUNDLE, type JsonApi, type JsonRoute, startJsonApi } from '@veracruz-ts/server';
import { ensureIdentity, partyIdentities, readTopologyFiles, runtimeHashOf, startFleetPas } from './fleet-setup.ts';
import { localMembers } from './local-members.ts';
import { type ComputationRequest, Reconciler } from './reconciler.ts';
import { statusRoutes } from './status-routes.ts';
import { parseTopology } from './topology.ts';

/** Options of {@link startController}. */
export interface ControllerOptions {
  /** The fleet directory: PAS, identities, computations' policies, controller.json. */
  dir: string;
  /** Warm members to keep. @default 2 */
  pool?: number;
  /** Most members alive at once. @default max(16, pool) */
  maxMembers?: number;
  /** Each member's memory budget in MiB. @default 512 */
  memoryMib?: number;
  /** The runtime bundle every member runs. @default DEFAULT_RUNTIME_BUNDLE */
  runtimePath?: string;
  /** Days from assignment to each policy's `enclave_cert_expiry`. @default 30 */
  certificateDays?: number;
  /** Where members and the API listen. @default '127.0.0.1' */
  host?: string;
  /** The API's port. @default 0 (a free one) */
  port?: number;
  /** How often members' hosts are asked for their health. @default 1000 */
  healthIntervalMs?: number;
  /**
   * Upload each computation's programs as the fleet's provisioner (given the write right on exactly
   * them). Without it, a party needs the write right on the programs and uploads them. @default true
   */
  provisionPrograms?: boolean;
  /** The fleet's log. @default stderr, each line timed */
  log?: (line: string) => void;
}

/** `DIR/controller.json`. */
export interface ControllerFile {
  url: string;
  pid: number;
}

/** What `POST /v1/computations` takes. */
export interface SubmitBody {
  /** The computation's id. */
  id: string;
  /** The topology, as its file holds it (text or parsed JSON). */
  topology: unknown;
  /** Where the topology's relative paths start (an absolute directory on the controller's host). */
  baseDir: string;
}

/** A running controller. */
export interface Controller {
  /** The API: `http://host:port`. */
  url: string;
  /** The bearer token of changing requests. */
  token: string;
  reconciler: Reconciler;
  /** Settles once `down` was requested (over the API) or close() was called. */
  closed: Promise<void>;
  /** Stops every member, the API and the PAS. Safe to call twice. */
  close(): Promise<void>;
}

/** The file names in the fleet directory. */
export const CONTROLLER_FILE = 'controller.json';
export const TOKEN_FILE = 'control-token';

/** Starts a controller; resolves once its API listens (members warm up in the background). */
export async function startController(options: ControllerOptions): Promise<Controller> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${timestamped(line, new Date())}\n`));
  const dir = resolve(options.dir);
  const host = options.host ?? '127.0.0.1';
  const runtimePath = options.runtimePath ?? DEFAULT_RUNTIME_BUNDLE;
  const runtimeHash = await runtimeHashOf(runtimePath);
  await refuseRunningController(dir);
  const pool = options.pool ?? 2;
  const maxMembers = options.maxMembers ?? Math.max(16, pool);
  await mkdir(join(dir, 'computations'), { recursive: true });
  const { pas, devKeyPath, caPath } = await startFleetPas(dir, host, maxMembers);
  let api: JsonApi | undefined;
  let reconciler: Reconciler | undefined;
  try {
    const provisioner = options.provisionPrograms === false ? undefined : await ensureIdentity(join(dir, 'host'), 'provisioner');
    const backend = localMembers({ runtimePath, devKeyPath, pasUrl: pas.url, host, compileCacheDir: join(dir, 'host', 'compile-cache'), ...(options.memoryMib === undefined ? {} : { memoryMib: options.memoryMib }), log: (name, line) => log(`[${name}] ${line}`) });
    reconciler = new Reconciler({
      backend, pool, maxMembers, log,
      environment: {
        runtimeHash, pasCaPem: pas.caCertificatePem, pasAddress: pas.url.replace(/^http:\/\//, ''), certificateDays: options.certificateDays ?? 30,
        ...(provisioner === undefined ? {} : { provisioner }),
      },
      writePolicy: async (computation, isolate, text) => {
        const path = join(dir, 'computations', computation, `${isolate}.policy.json`);
        await mkdir(join(dir, 'computations', computation), { recursive: true });
        await writeFileAtomically(path, text, { mode: 0o644 });
        return path;
      },
      ...(options.healthIntervalMs === undefined ? {} : { healthIntervalMs: options.healthIntervalMs }),
    });
    const fleet = reconciler;
    let requestDown: () => void = () => {};
    const downRequested = new Promise<void>((resolve) => (requestDown = resolve));
    const routes: JsonRoute[] = [
      ...statusRoutes(fleet, { url: pas.url, caCertificate: caPath }),
      { method: 'POST', path: '/v1/computations', handle: async ({ body }) => ({ status: 202, body: fleet.submit(await computationRequest(body, dir)) }) },
      {
        method: 'POST', path: '/v1/scale',
        handle: ({ body }) => {
          const pool = (body as { pool?: unknown } | undefined)?.pool;
          if (typeof pool !== 'number') throw new VeracruzError(Code.InvalidRequest, 'scale: the body must be {"pool": N}');
          fleet.scale(pool);
          return { status: 200, body: fleet.status().pool };
        },
      },
      { method: 'POST', path: '/v1/cancel/', handle: async ({ rest }) => ({ status: 200, body: await fleet.cancel(rest) }) },
      {
        method: 'POST', path: '/v1/down',
        handle: () => {
          requestDown();
          return { status: 202, body: { state: 'stopping' } };
        },
      },
    ];
    const token = randomBytes(24).toString('base64url');
    api = await startJsonApi({ listen: formatHostPort(host, options.port ?? 0), token, routes, log });
    const url = `http://${api.address}`;
    await writeFileAtomically(join(dir, TOKEN_FILE), `${token}\n`, { mode: 0o600 });
    await writeFileAtomically(join(dir, CONTROLLER_FILE), `${JSON.stringify({ url, pid: process.pid } satisfies ControllerFile)}\n`, { mode: 0o644 });
    reconciler.start();
    log(`fleet controller on ${url}: pool ${pool}, at most ${maxMembers} members, PAS ${pas.url}`);
    const openApi = api;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => (closing ??= (async () => {
      requestDown();
      await fleet.close();
      await openApi.close();
      await pas.close().catch(() => {});
      await rm(join(dir, CONTROLLER_FILE), { force: true });
    })());
    return { url, token, reconciler, closed: downRequested, close };
  } catch (error) {
    await reconciler?.close();
    await api?.close();
    await pas.close().catch(() => {});
    throw error;
  }
}

/** Reads a submission: the topology and its files (on this host), and the parties' identities. */
async function computationRequest(body: unknown, dir: string): Promise<ComputationRequest> {
  const { id, topology: given, baseDir } = (body ?? {}) as Partial<SubmitBody>;
  if (typeof id !== 'string') throw new VeracruzError(Code.InvalidRequest, 'submit: the body needs "id", the computation\'s id');
  if (typeof baseDir !== 'string' || !baseDir.startsWith('/')) throw new VeracruzError(Code.InvalidRequest, 'submit: the body needs "baseDir", an absolute directory');
  const topology = parseTopology(typeof given === 'string' ? given : JSON.stringify(given));
  const fixed = topology.isolates.find((isolate) => isolate.port !== undefined);
  if (fixed !== undefined) throw new VeracruzError(Code.InvalidRequest, `isolates.${fixed.name}.port: a pool's members listen on ports of their own, which the policies name; remove it`);
  const files = await readTopologyFiles(topology, baseDir);
  const { parties, partyCertificates } = await partyIdentities(topology, baseDir, dir, files.broughtCertificates);
  return {
    id, topology, partyCertificates,
    programs: new Map([...files.programs].map(([file, bytes]) => [file, new Uint8Array(bytes)])),
    parties: Object.fromEntries(Object.entries(parties).map(([name, identity]) => [name, { certificate: identity.certificatePath, ...(identity.keyPath === undefined ? {} : { key: identity.keyPath }) }])),
  };
}

/** Refuses to start where a controller runs already (its controller.json names a live process). */
async function refuseRunningController(dir: string): Promise<void> {
  let file: ControllerFile;
  try {
    file = JSON.parse(await readFile(join(dir, CONTROLLER_FILE), 'utf8')) as ControllerFile;
  } catch {
    return;
  }
  if (!processRuns(file.pid)) return;
  throw new VeracruzError(Code.AlreadyExists, `a fleet controller runs in ${dir} already (pid ${file.pid}, ${file.url}); stop it (vc-fleet down --dir ${dir}) or use another directory (if that process is no controller, remove ${join(dir, CONTROLLER_FILE)})`);
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
