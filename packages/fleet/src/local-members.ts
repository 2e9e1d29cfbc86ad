/**
 * The pool's backend on this host: each member is a `vc-server warm` process of its own (so killing
 * a host, or its isolate, is a real process dying), holding a loopback port for its clients from
 * its start, certified by the fleet's PAS with this host's development key. The host's JSON event
 * lines on stdout say when it is warm and why it ended; its control port takes the policy. Its
 * stdin is a pipe from this process: if the fleet's process dies, its hosts stop too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Code, formatHostPort, VeracruzError } from '@veracruz-ts/core';
import { CONTROL_TOKEN_ENV, freePort, type WarmControlClient, warmControlClient } from '@veracruz-ts/server';
import type { MemberBackend, MemberExit, MemberHandle, MemberHealth, MemberInfo } from './member.ts';

/** vc-server's entry point, run on this very Node. */
const VC_SERVER = fileURLToPath(import.meta.resolve('@veracruz-ts/server/bin'));

/** Options of {@link localMembers}. */
export interface LocalMembersOptions {
  /** The runtime bundle every member runs. */
  runtimePath: string;
  /** This host's development key (enrolled at the PAS). */
  devKeyPath: string;
  /** The PAS, `http://host:port`. */
  pasUrl: string;
  /** Where members listen for clients. @default '127.0.0.1' */
  host?: string;
  /** Each member's memory budget (MiB): a computation's isolates may ask for at most this. @default 512 */
  memoryMib?: number;
  /** Members started at once (the PAS's start burst is sized for it). @default 4 */
  startConcurrency?: number;
  /** How long a member may take to be warm. @default 60000 */
  startTimeoutMs?: number;
  /**
   * Where hosts keep Node's compile cache (their own code, compiled once for all of them): a host
   * starts with less CPU, which is what a burst of starts on a small machine runs short of. The
   * isolate is not affected: its host launches it with an empty environment. @default none
   */
  compileCacheDir?: string;
  /** A host's log lines (its stderr), with the member's name. */
  log: (name: string, line: string) => void;
}

/** A member on this host (its processes are in `info.pids`). */
export interface LocalMember extends MemberHandle {
  /** Where clients reach it once assigned. */
  listen: string;
}

interface Internal extends LocalMember {
  control: WarmControlClient;
  child: ChildProcess;
  /** Whether this backend asked it to stop (an end in order is then this backend's doing). */
  stopRequested: boolean;
}

/** Members as processes on this host: see the file comment. */
export function localMembers(options: LocalMembersOptions): MemberBackend & { start(name: string): Promise<LocalMember> } {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const internal = (member: MemberHandle): Internal => member as Internal;
  /** Every host started, until its process is gone (it may outlive its exit line by a moment). */
  const running = new Set<Promise<void>>();
  return {
    kind: 'local',
    startConcurrency: options.startConcurrency ?? 4,
    start: async (name) => {
      const listen = formatHostPort(host, await freePort(host));
      const token = randomBytes(24).toString('base64url');
      const startedAt = new Date();
      const child = spawn(process.execPath, [
        VC_SERVER, 'warm', '--pas', options.pasUrl, '--listen', listen, '--control', formatHostPort(host, 0),
        '--runtime', options.runtimePath, '--dev-key', options.devKeyPath, '--memory-mib', String(options.memoryMib ?? 512), '--exit-with-stdin',
      ], {
        env: { ...process.env, [CONTROL_TOKEN_ENV]: token, ...(options.compileCacheDir === undefined ? {} : { NODE_COMPILE_CACHE: options.compileCacheDir }) },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdin!.on('error', () => {});
      createInterface({ input: child.stderr! }).on('line', (line) => options.log(name, line));
      let member: Internal | undefined;
      const events = createInterface({ input: child.stdout! });
      let reportExit: (exit: MemberExit) => void = () => {};
      const exited = new Promise<MemberExit>((resolve) => (reportExit = resolve));
      // The host's exit line says why at once (it may still finish an answer before it exits); a host
      // that ends without one died itself. 'close', not 'exit': every line is read by then.
      const gone = new Promise<void>((resolve) => child.once('close', (code, signal) => {
        reportExit({ code: 1, reason: `its host (vc-server warm, pid ${child.pid}) ended: ${signal === null ? `exit code ${code}` : `signal ${signal}`}` });
        resolve();
      }));
      running.add(gone);
      void gone.then(() => running.delete(gone));
      const hostExited = (code: number, reason: string, byPrincipal: boolean): void => {
        // A host that said it ended and lingers is ended here.
        setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 5000).unref();
        // Stopped, but neither by a principal nor by the fleet: whatever it held is gone all the same.
        if (code === 0 && !byPrincipal && member?.stopRequested !== true) reportExit({ code: 1, reason: `its host stopped it unasked (${reason})` });
        else reportExit({ code, reason });
      };
      return await new Promise<LocalMember>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new VeracruzError(Code.Unavailable, `member ${name} was not warm within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        void exited.then((exit) => {
          clearTimeout(timer);
          reject(new VeracruzError(Code.Unavailable, `member ${name} ended before it was warm: ${exit.reason}`));
        });
        events.on('line', (line) => {
          let event: Record<string, unknown>;
          try {
            event = JSON.parse(line) as Record<string, unknown>;
          } catch {
            return;
          }
          if (event.event === 'exit') hostExited(Number(event.code), String(event.reason), event.byPrincipal === true);
          if (event.event !== 'warm') return;
          clearTimeout(timer);
          const info: MemberInfo = { name, startedAt, attestedAt: new Date(String(event.attestedAt)), measurement: String(event.measurement), pids: { host: child.pid!, isolate: Number(event.isolatePid) } };
          member = { info, exited, listen, control: warmControlClient(name, String(event.control), token), child, stopRequested: false };
          resolve(member);
        });
      });
    },
    address: (member) => internal(member).listen,
    assign: async (member, policyText) => {
      await internal(member).control.assign(policyText, 60_000);
    },
    health: (member): Promise<MemberHealth> => internal(member).control.health(2000),
    stop: async (member, how = 'orderly') => {
      const handle = internal(member);
      const { child } = handle;
      handle.stopRequested = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      // Its isolate follows: it stops when the channel to its host closes.
      if (how === 'kill') child.kill('SIGKILL');
      else await handle.control.stop(2000).catch(() => child.kill('SIGTERM'));
      const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
      await member.exited;
      clearTimeout(forced);
    },
    close: async () => {
      await Promise.all([...running]);
    },
  };
}
