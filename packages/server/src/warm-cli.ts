/**
 * `vc-server warm`: a host for a fleet's pool. It boots an isolate, has the PAS certify it without a
 * policy, serves its control port (see warm-control.ts) and reports each step as one JSON line on
 * stdout (`warm`, `serving`, `exit`), which is how the local fleet backend follows it; a cluster
 * reads the same exit reason from the termination log.
 */
import { writeFile } from 'node:fs/promises';
import { parseHostPort, VeracruzError } from '@veracruz-ts/core';
import { UsageError } from '@veracruz-ts/policy';
import { waitForStopSignal } from '@veracruz-ts/policy/node';
import type { ServerPlatform } from './server.ts';
import { startWarmServer } from './warm.ts';
import { serveWarmControl } from './warm-control.ts';

/** The environment variable that carries the control token. */
export const CONTROL_TOKEN_ENV = 'VC_CONTROL_TOKEN';

/** What `vc-server warm` takes from the command line. */
export interface WarmCommand {
  platform: ServerPlatform;
  network: 'auto' | 'required' | 'off';
  pas: string | undefined;
  listen: string | undefined;
  control: string | undefined;
  memoryMib: string | undefined;
  terminationLog: string | undefined;
  runtime: string | undefined;
  devKey: string | undefined;
  nodeFlags: string[] | undefined;
  /** Stop when stdin ends: the launcher holds its other end, so its death stops this host too. */
  exitWithStdin: boolean;
  log: (line: string) => void;
}

/** One event line on stdout. */
function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** Runs the warm host until its isolate ends; returns the exit status. */
export async function runWarmHost(command: WarmCommand): Promise<number> {
  const token = process.env[CONTROL_TOKEN_ENV];
  if (token === undefined || token.length < 16) throw new UsageError(`warm: set ${CONTROL_TOKEN_ENV} to the control token (16 characters at least)`);
  if (command.pas === undefined) throw new UsageError('warm: --pas is required (no policy names one yet)');
  if (command.listen === undefined) throw new UsageError('warm: --listen HOST:PORT is required (the policy assigned later names that address)');
  let listenPort: number;
  try {
    listenPort = parseHostPort(command.listen, '--listen').port;
  } catch (error) {
    throw new UsageError(VeracruzError.from(error).rawMessage);
  }
  if (listenPort === 0) throw new UsageError('warm: --listen needs a port of its own: the policy assigned later names it');
  const memoryMib = command.memoryMib === undefined ? undefined : Number(command.memoryMib);
  if (memoryMib !== undefined && (!/^\d+$/.test(command.memoryMib!) || memoryMib < 1)) throw new UsageError(`--memory-mib: expected a positive integer, got '${command.memoryMib}'`);
  const ended = async (code: number, reason: string, byPrincipal = false): Promise<number> => {
    // Nothing more to wait for: stdin, read for --exit-with-stdin, must not keep this process up.
    process.stdin.destroy();
    emit({ event: 'exit', code, reason, byPrincipal });
    if (command.terminationLog !== undefined) await writeFile(command.terminationLog, reason).catch(() => {});
    return code;
  };
  // Listened for before the boot: a stop during it (a pod deleted, say) ends the boot in order.
  const stopRequested = waitForStopSignal().then((signal) => `stopped by ${signal}`);
  const launcherGone = command.exitWithStdin ? stdinEnded().then(() => 'stopped: its launcher is gone (stdin closed)') : new Promise<string>(() => {});
  const stopping = Promise.race([stopRequested, launcherGone]);
  let warm;
  try {
    const starting = startWarmServer({
      pasUrl: command.pas,
      listen: command.listen,
      platform: command.platform,
      network: command.network,
      log: command.log,
      ...(memoryMib === undefined ? {} : { memoryMib }),
      ...(command.runtime === undefined ? {} : { runtimePath: command.runtime }),
      ...(command.devKey === undefined ? {} : { devKeyPath: command.devKey }),
      ...(command.nodeFlags === undefined ? {} : { nodeFlags: command.nodeFlags }),
    });
    const first = await Promise.race([starting.then((server) => ({ server })), stopping.then((reason) => ({ reason }))]);
    if ('reason' in first) {
      await starting.then((server) => server.close(), () => {});
      return ended(1, `${first.reason} before the isolate was warm`);
    }
    warm = first.server;
  } catch (error) {
    return ended(1, `the isolate could not be started and certified: ${VeracruzError.from(error).rawMessage}`);
  }
  const running = warm;
  void stopping.then((reason) => {
    command.log(reason);
    void running.close();
  });
  let control;
  try {
    control = await serveWarmControl(warm, { listen: command.control ?? '127.0.0.1:0', token, log: command.log, onServing: (answer) => emit({ event: 'serving', ...answer }) });
  } catch (error) {
    await warm.close();
    return ended(1, VeracruzError.from(error).rawMessage);
  }
  emit({ event: 'warm', control: control.address, listen: command.listen, measurement: warm.measurement, attestedAt: warm.attestedAt.toISOString(), pid: process.pid, isolatePid: warm.isolatePid });
  const exit = await warm.exited;
  // Said first: whoever follows this host learns why at once, while a last answer is delivered.
  const code = await ended(exit.code, exit.reason, exit.byPrincipal === true);
  await control.close();
  return code;
}

/** Resolves when stdin ends (its writer closed it or died). */
function stdinEnded(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on('data', () => {});
    process.stdin.once('end', () => resolve());
    process.stdin.once('error', () => resolve());
  });
}
