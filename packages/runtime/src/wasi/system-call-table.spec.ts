import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno } from '../vfs/errno.ts';
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
import type { SystemCallName } from './signatures.ts';
import { COMPUTATION_SIGNATURES, CRYPTO_SIGNATURES, SYSTEM_CALLS, VERACRUZ_SIGNATURES, WASI_SIGNATURES } from './signatures.ts';
import { defineSystemCalls } from './system-call-handler.ts';
import { HANDLERS_BY_CALL, SYSTEM_CALL_HANDLERS } from './system-call-table.ts';

const FAMILIES = [
  ENVIRONMENT_CALLS, FD_BASIC_CALLS, FD_IO_CALLS, DIRECTORY_CALLS, PATH_OPEN_CALLS, PATH_CALLS, POLL_CALLS, PROCESS_AND_SOCKET_CALLS, CRYPTO_CALLS, COMPUTATION_CALLS,
];

describe('the system call handler table', () => {
  it('has a handler for every import the signature table lists, and none it does not list', () => {
    const listed = [WASI_SIGNATURES, VERACRUZ_SIGNATURES, CRYPTO_SIGNATURES, COMPUTATION_SIGNATURES].flatMap((table) => Object.keys(table)).sort();
    assert.deepEqual(Object.keys(SYSTEM_CALL_HANDLERS).sort(), listed);
  });

  it('gives each handler the context and exactly the parameters its signature lists', () => {
    for (const { name, kinds } of SYSTEM_CALLS) {
      assert.equal(SYSTEM_CALL_HANDLERS[name as SystemCallName].length, 1 + kinds.length, name);
    }
  });

  it('handles each call in exactly one family', () => {
    const names = FAMILIES.flatMap((family) => Object.keys(family));
    assert.equal(new Set(names).size, names.length, 'no call in two families (a later one would silently win)');
    assert.equal(names.length, SYSTEM_CALLS.length);
  });

  it('indexes the handlers by call number, as SYSTEM_CALLS numbers the calls', () => {
    assert.equal(HANDLERS_BY_CALL.length, SYSTEM_CALLS.length);
    SYSTEM_CALLS.forEach((entry, call) => {
      assert.equal(HANDLERS_BY_CALL[call], SYSTEM_CALL_HANDLERS[entry.name as SystemCallName], entry.name);
    });
  });

  it('refuses to compile a handler whose parameters differ from its import\'s', () => {
    // tsc checks each directive below: were the error it expects gone, the directive would fail the type check.
    // One call each: a call with several errors may report only some of them.
    const refused = [
      defineSystemCalls({
        // @ts-expect-error: too few parameters (fd_read takes fd, iovs, count, result), so `result` would go unread.
        fd_read: (_context, _fd, _iovs, _count) => Errno.SUCCESS,
      }),
      defineSystemCalls({
        // @ts-expect-error: too many parameters (fd_close takes fd only).
        fd_close: (_context, _fd, _extra) => Errno.SUCCESS,
      }),
      defineSystemCalls({
        // @ts-expect-error: fd_seek's offset is an i64, so a bigint, not a number.
        fd_seek: (_context, _fd, _offset: number, _whence, _result) => Errno.SUCCESS,
      }),
      defineSystemCalls({
        // @ts-expect-error: a name the signature table does not list.
        fd_frobnicate: (_context: unknown) => Errno.SUCCESS,
      }),
    ];
    // At run time the definer only hands its argument back.
    assert.deepEqual(refused.map((family) => Object.keys(family)), [['fd_read'], ['fd_close'], ['fd_seek'], ['fd_frobnicate']]);
  });
});
