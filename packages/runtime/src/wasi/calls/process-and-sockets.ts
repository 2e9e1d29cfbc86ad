import { Errno } from '../../vfs/errno.ts';
import type { ProcessContext } from '../process-context.ts';
import { defineSystemCalls } from '../system-call-handler.ts';

/** The answer to every socket call: no descriptor is ever a socket. */
function notASocket(context: ProcessContext, fd: number): number {
  // EBADF for no descriptor, else ENOTSOCK (as wasmtime answers).
  if (context.table.get(fd) === undefined) return Errno.BADF;
  return Errno.NOTSOCK;
}

/**
 * The process's own end (proc_exit records the code; the worker then stops the program), the
 * signals it cannot raise, and the sockets it does not have.
 */
export const PROCESS_AND_SOCKET_CALLS = defineSystemCalls({
  proc_exit: (context, code) => {
    context.exitCode = code;
    return Errno.SUCCESS;
  },
  proc_raise: (_context, _signal) => Errno.NOTSUP,
  sock_accept: (context, fd, _flags, _result) => notASocket(context, fd),
  sock_recv: (context, fd, _buffers, _count, _flags, _receivedLength, _receivedFlags) => notASocket(context, fd),
  sock_send: (context, fd, _buffers, _count, _flags, _sentLength) => notASocket(context, fd),
  sock_shutdown: (context, fd, _how) => notASocket(context, fd),
});
