import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Socket } from 'node:net';
import type { webcrypto } from 'node:crypto';
import { createLinuxEvidence } from '@veracruz-ts/attestation/evidence';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { parsePeerConnectMessage, parseSessionSocketClosedMessage, type PeerConnectMessage, type PeerSocketMessage } from '@veracruz-ts/protocol/channel';
import type { SessionSocketClosedMessage, SessionSocketMessage } from '@veracruz-ts/protocol/channel';
import { BUFFER_MEMORY_FLAG } from '../heap-tuning.ts';
import { buildRuntimeCommand } from '../operator-hints.ts';
import { DEFAULT_RUNTIME_BUNDLE, REPOSITORY_ROOT } from '@veracruz-ts/runtime/bundle';
import { createMemoryCgroup } from './memory-cgroup.ts';
import type { IsolateExit, LaunchOptions, LaunchedIsolate, SessionSocketPort } from './types.ts';

/** How the `linux` isolate is kept off the network. */
export type NetworkIsolation = 'auto' | 'required' | 'off';

/** Options of {@link launchLinuxIsolate}. */
export interface LinuxLaunchOptions extends LaunchOptions {
  /** The host-local development key that signs evidence (plays the hardware's attestation key). */
  devKey: webcrypto.CryptoKey;
  /**
   * Run the isolate in new namespaces (`unshare --user --net --ipc --uts`), so it has
   * no network of its own. `auto` uses it when unprivileged user namespaces work and says so otherwise;
   * `required` refuses to start without it. @default 'auto'
   */
  network?: NetworkIsolation | undefined;
}

/**
 * The V8/Node flags the isolate always gets: the engine needs the optimizing tier from the start;
 * and the isolate allocates an ArrayBuffer for nearly every piece of relayed data (socket reads, TLS
 * records, request messages, file chunks), which by default starts a full mark every 64 MiB of such
 * memory; counting it in the heap's global limit instead roughly halves those collections.
 * `--expose-gc` lets the engine reclaim a finished program's shared memory at once (programs are
 * WebAssembly and cannot reach it).
 */
export const ISOLATE_NODE_FLAGS = ['--no-liftoff', BUFFER_MEMORY_FLAG, '--expose-gc'] as const;

/**
 * What the isolate process needs besides its memory budget: Node and V8 themselves, compiled code,
 * the engine's worker threads, TLS contexts, and garbage not yet collected. The outer memory limit is
 * the budget plus this; measured idle RSS is about 120 MiB.
 */
export const ISOLATE_MEMORY_OVERHEAD_BYTES = 384 * 1024 * 1024;

/**
 * New user, network, IPC and UTS namespaces: no network interface but a downed loopback, no shared
 * System V IPC, and no root mapping (inside, the isolate runs as the overflow user `nobody`).
 */
const UNSHARE_ARGUMENTS = ['--user', '--net', '--ipc', '--uts'] as const;

let unshareCommand: string | null | undefined;

/** The `unshare` executable if this host lets an unprivileged process create the namespaces (checked once). */
function usableUnshare(): string | null {
  if (unshareCommand === undefined) {
    unshareCommand = null;
    for (const directory of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
      const candidate = join(directory, 'unshare');
      if (directory === '' || !existsSync(candidate)) continue;
      const probe = spawnSync(candidate, [...UNSHARE_ARGUMENTS, 'true'], { stdio: 'ignore', timeout: 5000, env: {} });
      if (probe.status === 0) unshareCommand = candidate;
      break;
    }
  }
  return unshareCommand;
}

/**
 * What only benchmarks may ask of {@link launchLinuxIsolate} (through the server's `./testing` entry
 * point; vc-server and `startServer` never do).
 */
export interface LinuxLaunchInternals {
  /**
   * Runs the isolate WITHOUT the permission model, with V8's CPU profiler writing to this directory
   * when it exits: to see where its time goes, on the same code and data path it runs sandboxed.
   */
  cpuProfileDirectory?: string | undefined;
}

/** The host's end of the isolate's IPC channel, used only to hand it clients' sockets. */
function sessionSocketPort(child: ChildProcess, log: (line: string) => void): SessionSocketPort {
  let onClosed: (message: SessionSocketClosedMessage) => void = () => {};
  let onPeerConnect: (message: PeerConnectMessage) => void = () => {};
  child.on('message', (message: unknown) => {
    const closed = parseSessionSocketClosedMessage(message);
    const peer = parsePeerConnectMessage(message);
    if (closed !== undefined) onClosed(closed);
    else if (peer !== undefined) onPeerConnect(peer);
    else log('linux isolate: ignored a message on the IPC channel that was neither a session report nor a peer connection request');
  });
  return {
    send(sessionId, socket, sent) {
      const message: SessionSocketMessage = { type: 'session-socket', sessionId };
      try {
        // Node sends the message without the socket if the socket has no descriptor any more.
        if (socket.destroyed) throw new VeracruzError(Code.Unavailable, 'the connection closed before it could be handed over');
        // The host closes its copy itself once the descriptor is on its way (the write completed):
        // Node would keep it until the isolate acknowledged it, and for ever if the isolate died first.
        child.send(message, socket, { keepOpen: true }, (error) => {
          if (error === null) socket.destroy();
          sent(error);
        });
      } catch (error) {
        sent(error as Error);
      }
    },
    onClosed(listener) {
      onClosed = listener;
    },
    onPeerConnect(listener) {
      onPeerConnect = listener;
    },
    sendPeerSocket(connectionId, socket, error) {
      const message: PeerSocketMessage = error === undefined ? { type: 'peer-socket', connectionId } : { type: 'peer-socket', connectionId, error };
      if (child.connected) child.send(message, socket, { keepOpen: true }, () => socket?.destroy());
      else socket?.destroy();
    },
  };
}

/** Whether this host lets an unprivileged process create a user + network namespace (checked once). */
export function canUnshareNetwork(): boolean {
  return usableUnshare() !== null;
}

/**
 * Launches the `linux` software isolate: measures the bundle (SHA-256) into a private directory and
 * starts it from there, as a separate Node process with:
 *
 * - Node's permission model (`--permission`): no file-system access except reading its own bundle,
 *   no child processes, no native addons, no WASI, no inspector; worker threads are allowed because
 *   the engine runs programs in them (a worker given an explicit empty execArgv escapes the model in
 *   Node 24, so this guards against runtime mistakes, not against code already running inside it);
 * - no code generation from strings (`eval`, `new Function`), in workers too;
 * - an empty environment and an empty working directory;
 * - no network when the host allows unprivileged namespaces (`unshare --user --net --ipc --uts`):
 *   Node 24's permission model does not restrict sockets itself;
 * - its only channel to the host on an inherited socket pair (fd 3); stdout/stderr are diagnostics;
 *   with `sessionSockets`, also Node's IPC channel (fd 4, named by NODE_CHANNEL_FD and
 *   NODE_CHANNEL_SERIALIZATION_MODE in its environment, which is otherwise empty), on which the host
 *   hands it clients' connections and nothing else;
 *
 * - memory: given the policy's budget, V8's heap limit and, where the host lets this process create
 *   one, a memory cgroup (v2, else v1) of the budget plus {@link ISOLATE_MEMORY_OVERHEAD_BYTES}, so a
 *   fault in the runtime's own accounting ends the isolate, not the host. Which applied is logged.
 *
 * Not enforced: CPU use of the process, and anything a local root user can do to a process. This is a development isolate: its evidence is
 * signed by a host-local key and marked insecure.
 */
export async function launchLinuxIsolate(options: LinuxLaunchOptions, internals: LinuxLaunchInternals = {}): Promise<LaunchedIsolate> {
  const bundle = await readFile(options.runtimePath).catch((error: unknown) => {
    const build = buildRuntimeCommand(REPOSITORY_ROOT);
    const hint = options.runtimePath === DEFAULT_RUNTIME_BUNDLE ? `build it with: ${build}` : `the default bundle is built with: ${build}`;
    throw new VeracruzError(Code.NotFound, `runtime bundle ${options.runtimePath} cannot be read (${hint})`, { cause: error });
  });
  const measurement = new Uint8Array(createHash('sha256').update(bundle).digest());
  // Launch the exact bytes we measured: a private copy, read-only, in a fresh directory.
  const directory = await mkdtemp(join(tmpdir(), 'vc-isolate-'));
  const runtimeFile = join(directory, 'veracruz-runtime.mjs');
  const workDirectory = join(directory, 'work');
  await writeFile(runtimeFile, bundle, { mode: 0o400 });
  await mkdir(workDirectory, { mode: 0o500 });
  await chmod(directory, 0o700);

  const budget = options.memoryBudgetBytes;
  // V8 counts ArrayBuffers (file chunks, buffers) in its heap limit with the flags above: past this
  // limit the isolate stops with an out-of-memory error instead of growing.
  const heapLimit = budget === undefined ? [] : [`--max-old-space-size=${Math.ceil((budget + ISOLATE_MEMORY_OVERHEAD_BYTES) / (1024 * 1024))}`];
  const sealed = options.sealedStorage;
  let sealedDirectory: string | undefined;
  if (sealed !== undefined) {
    // A fresh directory only this isolate may use (the permission model allows it no other).
    sealedDirectory = sealed.parent === undefined ? join(directory, 'sealed') : await mkdtemp(join(sealed.parent, 'vc-sealed-')).catch(async (error: NodeJS.ErrnoException) => {
      await rm(directory, { recursive: true, force: true });
      throw new VeracruzError(Code.NotFound, `sealed storage: cannot make a directory in ${sealed.parent} (${error.code ?? error.message})`, { cause: error });
    });
    if (sealed.parent === undefined) await mkdir(sealedDirectory, { mode: 0o700 });
    else await chmod(sealedDirectory, 0o700);
  }
  const removeDirectories = async (): Promise<void> => {
    await rm(directory, { recursive: true, force: true });
    if (sealed?.parent !== undefined && sealedDirectory !== undefined) await rm(sealedDirectory, { recursive: true, force: true });
  };
  const sealedAccess = sealedDirectory === undefined ? [] : [`--allow-fs-read=${sealedDirectory}`, `--allow-fs-write=${sealedDirectory}`];
  const profile = internals.cpuProfileDirectory;
  // A CPU profile must be written to disk, which the permission model forbids (see LinuxLaunchInternals).
  const sandbox = profile === undefined
    ? ['--permission', '--allow-worker', `--allow-fs-read=${runtimeFile}`, ...sealedAccess, '--disable-warning=SecurityWarning']
    : ['--cpu-prof', `--cpu-prof-dir=${profile}`];
  const nodeArguments = [
    ...ISOLATE_NODE_FLAGS,
    ...heapLimit,
    ...(options.nodeFlags ?? []),
    ...sandbox,
    // The runtime never evaluates strings as code; WebAssembly compilation is unaffected.
    '--disallow-code-generation-from-strings',
    runtimeFile,
    '--platform', 'linux',
    '--channel-fd', '3',
    ...(options.sessionSockets === true ? ['--session-sockets', 'ipc'] : []),
    ...(sealedDirectory === undefined ? [] : ['--sealed-dir', sealedDirectory, '--sealed-max-bytes', String(sealed!.maxBytes)]),
  ];
  const network = options.network ?? 'auto';
  let command = process.execPath;
  let commandArguments = nodeArguments;
  if (network !== 'off') {
    const unshare = usableUnshare();
    if (unshare !== null) {
      command = unshare;
      commandArguments = [...UNSHARE_ARGUMENTS, '--', process.execPath, ...nodeArguments];
    } else if (network === 'required') {
      await removeDirectories();
      throw new VeracruzError(Code.Unavailable, 'linux isolate: network isolation required, but this host does not allow unprivileged network namespaces');
    } else {
      options.log('linux isolate: unprivileged network namespaces are unavailable; the isolate process can open sockets');
    }
  }

  // The kernel's limit, where this host lets us set one: a cgroup the isolate is moved into at once.
  const cgroup = budget === undefined ? undefined : await createMemoryCgroup(`veracruz-isolate-${randomUUID()}`, budget + ISOLATE_MEMORY_OVERHEAD_BYTES);
  const child = spawn(command, commandArguments, {
    cwd: workDirectory,
    env: {},
    // fd 3: the channel; fd 4, when asked for: the IPC channel that carries clients' sockets.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...(options.sessionSockets === true ? ['ipc' as const] : [])],
  });
  // Listened for before anything is awaited: an isolate that dies at once must still be seen to.
  const exited = new Promise<IsolateExit>((resolve) => {
    child.once('exit', (code, signal) => {
      void (async () => {
        let cause: string | undefined;
        if (cgroup !== undefined && 'kind' in cgroup) {
          if (await cgroup.oomKilled()) cause = `its memory exceeded the ${cgroup.kind} limit of ${cgroup.limitBytes / (1024 * 1024)} MiB`;
          await cgroup.remove();
        }
        await removeDirectories();
        resolve(cause === undefined ? { code, signal } : { code, signal, cause });
      })();
    });
    child.once('error', (error) => {
      options.log(`linux isolate: could not start: ${error.message}`);
      const removeCgroup = cgroup !== undefined && 'kind' in cgroup ? cgroup.remove() : Promise.resolve();
      void removeCgroup.then(removeDirectories).finally(() => resolve({ code: 127, signal: null }));
    });
  });

  const channel = child.stdio[3] as Socket;
  for (const stream of [child.stdout, child.stderr]) {
    if (stream !== null) createInterface({ input: stream }).on('line', (line) => options.log(line));
  }
  let outerLimits = heapLimit.length === 0 ? 'none (no memory budget given)' : `V8 heap limit ${heapLimit[0]!.split('=')[1]} MiB`;
  if (cgroup !== undefined && 'kind' in cgroup) {
    if (child.pid !== undefined) {
      await cgroup.add(child.pid).then(
        () => (outerLimits += `, ${cgroup.kind} memory limit ${cgroup.limitBytes / (1024 * 1024)} MiB`),
        (error: Error) => (outerLimits += `; the ${cgroup.kind} memory limit could not be applied: ${error.message}`),
      );
    }
  } else if (cgroup !== undefined) {
    outerLimits += `; no memory cgroup (${cgroup.unavailable}); RLIMIT_AS is not used: WebAssembly reserves far more address space than it uses`;
  }
  options.log(`linux isolate: outer memory limits: ${outerLimits}`);
  if (profile !== undefined) options.log(`linux isolate: NOT SANDBOXED (no permission model): writing a CPU profile to ${profile}`);
  return {
    sessionSockets: options.sessionSockets === true ? sessionSocketPort(child, options.log) : undefined,
    input: channel,
    output: channel,
    measurement,
    attestationPlatform: 'linux',
    evidenceFor: ({ csrHash, nonce }) => createLinuxEvidence({ devKey: options.devKey, nonce, measurement, csrHash }),
    exited,
    pid: child.pid,
    outerLimits,
    kill: () => {
      child.kill('SIGKILL');
    },
  };
}
