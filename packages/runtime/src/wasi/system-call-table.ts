import { COMPUTATION_CALLS } from './calls/computation.ts';
import { CRYPTO_CALLS } from './calls/crypto.ts';
import { DIRECTORY_CALLS } from './calls/directories.ts';
import { ENVIRONMENT_CALLS } from './calls/environment.ts';
import { FD_BASIC_CALLS } from './calls/fd-basics.ts';
import { FD_IO_CALLS } from './calls/fd-io.ts';
import { PATH_OPEN_CALLS } from './calls/path-open.ts';
import { PATH_CALLS } from './calls/paths.ts';
import { POLL_CALLS } from './calls/poll.ts';
import { PROCESS_AND_SOCKET_CALLS } from './calls/process-and-sockets.ts';
import type { ProcessContext } from './process-context.ts';
import type { SystemCallName } from './signatures.ts';
import { SYSTEM_CALLS } from './signatures.ts';
import type { SystemCallHandlers } from './system-call-handler.ts';

/** Every system call's handler, by name; the type makes a call the signature table lists but no family handles fail to compile. */
export const SYSTEM_CALL_HANDLERS: SystemCallHandlers = {
  ...ENVIRONMENT_CALLS,
  ...FD_BASIC_CALLS,
  ...FD_IO_CALLS,
  ...DIRECTORY_CALLS,
  ...PATH_OPEN_CALLS,
  ...PATH_CALLS,
  ...POLL_CALLS,
  ...PROCESS_AND_SOCKET_CALLS,
  ...CRYPTO_CALLS,
  ...COMPUTATION_CALLS,
};

/** A handler as dispatch calls it: with arguments decoded from the same signature table that typed it. */
export type DecodedCallHandler = (context: ProcessContext, ...args: (number | bigint)[]) => number | Promise<number>;

/**
 * The handlers indexed by call number (as SYSTEM_CALLS), so that dispatch finds one without a
 * lookup by name. The one cast from typed handlers to raw arguments: the engine decodes each
 * argument by the kinds of the same table entry (i32 to number, i64 to bigint).
 */
export const HANDLERS_BY_CALL: readonly DecodedCallHandler[] = SYSTEM_CALLS.map(
  (entry) => SYSTEM_CALL_HANDLERS[entry.name as SystemCallName] as unknown as DecodedCallHandler,
);
