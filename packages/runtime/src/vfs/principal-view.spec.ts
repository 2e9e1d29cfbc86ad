import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE, Right } from '@veracruz-ts/policy';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { DEFAULT_SERVICES } from '../services/registry.ts';
import { encodeAesCtrRequest } from '../services/aes-services.ts';
import { NODE_BYTES, VirtualFileSystem } from './file-system.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

function denied(code: string, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof VeracruzError, String(error));
    assert.equal(error.code, code);
    assert.match(error.rawMessage, pattern);
    return true;
  };
}

describe('PrincipalView', () => {
  it('writes, appends and reads within its rights, creating parent directories', () => {
    const vfs = new VirtualFileSystem();
    const view = vfs.view([{ file_name: '/data/', rights: RIGHTS_READ | RIGHTS_WRITE }]);
    view.writeFile('/data/a/b.txt', bytes('one'));
    view.appendFile('/data/a/b.txt', bytes('+two'));
    assert.equal(text(view.readFile('/data/a/b.txt')), 'one+two');
    assert.equal(view.fileSize('/data/a/b.txt'), 7);
    const range = new Uint8Array(8);
    assert.equal(view.readRangeInto('/data/a/b.txt', 2, range.subarray(0, 3)), 3);
    assert.equal(text(range.subarray(0, 3)), 'e+t');
    assert.equal(view.readRangeInto('/data/a/b.txt', 5, range), 2, 'fewer at the end');
    assert.equal(text(range.subarray(0, 2)), 'wo');
    view.writeFile('/data/a/b.txt', bytes('x'));
    assert.equal(text(view.readFile('/data/a/b.txt')), 'x');
  });

  it('names the operation, path and missing rights, never the contents', () => {
    const vfs = new VirtualFileSystem();
    vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]).writeFile('/input/secret.txt', bytes('TOP-SECRET'));
    const reader = vfs.view([{ file_name: '/input', rights: RIGHTS_READ }]);
    assert.throws(() => reader.writeFile('/input/secret.txt', bytes('y')), denied(Code.PermissionDenied, /^write \/input\/secret\.txt: missing FD_WRITE, PATH_FILESTAT_SET_SIZE$/));
    assert.throws(() => reader.appendFile('/input/new.txt', bytes('y')), denied(Code.PermissionDenied, /^append \/input\/new\.txt: missing FD_WRITE, PATH_CREATE_FILE$/));
    assert.throws(() => reader.readExecutable('/input/secret.txt'), denied(Code.PermissionDenied, /^execute \/input\/secret\.txt: missing FD_EXECUTE$/));
    const writer = vfs.view([{ file_name: '/input', rights: RIGHTS_WRITE }]);
    assert.throws(() => writer.readFile('/input/secret.txt'), (error: unknown) => {
      assert.ok(error instanceof VeracruzError);
      assert.equal(error.rawMessage, 'read /input/secret.txt: missing FD_READ');
      assert.ok(!error.message.includes('TOP-SECRET'));
      return true;
    });
    assert.throws(() => reader.readFile('/output/x'), denied(Code.PermissionDenied, /^read \/output\/x: no right covers this path$/));
    assert.throws(() => reader.readFile('/input/none'), denied(Code.NotFound, /^read \/input\/none: no such file$/));
    assert.throws(() => reader.readFile('/input'), denied(Code.InvalidRequest, /is a directory/));
  });

  it('matches whole components only and resolves .. before checking rights', () => {
    const vfs = new VirtualFileSystem();
    const view = vfs.view([{ file_name: '/input', rights: ALL_RIGHTS }]);
    assert.throws(() => view.writeFile('/inputs/x', bytes('y')), denied(Code.PermissionDenied, /no right covers/));
    assert.throws(() => view.writeFile('/input/../etc/x', bytes('y')), denied(Code.PermissionDenied, /^write \/etc\/x: no right covers/));
    assert.throws(() => view.writeFile('/input/../../input2/x', bytes('y')), denied(Code.PermissionDenied, /^write \/input2\/x/));
    view.writeFile('input/./sub//f', bytes('ok'));
    assert.equal(text(view.readFile('/input/sub/f')), 'ok');
  });

  it('uses the longest matching entry, even when it grants less', () => {
    const vfs = new VirtualFileSystem();
    const view = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }, { file_name: '/locked', rights: RIGHTS_READ }]);
    assert.throws(() => view.writeFile('/locked/x', bytes('y')), denied(Code.PermissionDenied, /missing/));
    view.writeFile('/open/x', bytes('y'));
  });

  it('reads executables only with FD_EXECUTE', () => {
    const vfs = new VirtualFileSystem();
    vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]).writeFile('/program/p.wasm', bytes('\0asm'));
    assert.equal(vfs.view([{ file_name: '/program', rights: RIGHTS_EXECUTE }]).readExecutable('/program/p.wasm').length, 4);
  });

  it('reaches std streams only through an exact stream entry', () => {
    const vfs = new VirtualFileSystem();
    const client = vfs.view([{ file_name: 'stdin', rights: RIGHTS_WRITE }, { file_name: 'stdout', rights: RIGHTS_READ }, { file_name: '/', rights: ALL_RIGHTS }]);
    client.writeFile('stdin', bytes('input'));
    client.appendFile('stdin', bytes('+more'));
    assert.equal(client.fileSize('stdout'), 0);
    assert.throws(() => client.readFile('stderr'), denied(Code.PermissionDenied, /^read stderr: no right covers/));
    assert.throws(() => client.readFile('stdin'), denied(Code.PermissionDenied, /^read stdin: missing FD_READ$/));
    assert.equal(text(vfs.view([{ file_name: 'stdin', rights: RIGHTS_READ }]).readFile('stdin')), 'input+more');
  });

  it('exists: no right is an error, a missing file is false', () => {
    const vfs = new VirtualFileSystem();
    const view = vfs.view([{ file_name: '/output', rights: RIGHTS_READ }, { file_name: '/blind', rights: Right.FD_READ }]);
    vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]).writeFile('/output/done', bytes(''));
    assert.equal(view.exists('/output/done'), true);
    assert.equal(view.exists('/output/missing'), false);
    assert.equal(view.exists('/output/done/below'), false);
    assert.throws(() => view.exists('/elsewhere'), denied(Code.PermissionDenied, /^stat \/elsewhere: no right covers/));
    assert.throws(() => view.exists('/blind/x'), denied(Code.PermissionDenied, /missing PATH_OPEN/));
  });

  it('refuses writes past the byte budget with LimitExceeded, leaving the file as it was', () => {
    // Room for three streams, two files named a and b (one byte each), and 100 bytes of contents.
    const names = 2;
    const vfs = new VirtualFileSystem({ maxBytes: 100 + 5 * NODE_BYTES + names });
    const view = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]);
    view.writeFile('/a', new Uint8Array(60));
    assert.throws(() => view.writeFile('/b', new Uint8Array(41)), denied(Code.LimitExceeded, /^write \/b: the isolate's memory budget \(\d+ bytes\) cannot hold \d+ more bytes of files$/));
    assert.throws(() => view.appendFile('/a', new Uint8Array(NODE_BYTES + 1 + 41)), denied(Code.LimitExceeded, /^append \/a/));
    assert.equal(view.fileSize('/a'), 60);
    assert.equal(view.exists('/b'), false, 'a refused write leaves no empty file');
    assert.throws(() => view.writeFile('/a', new Uint8Array(NODE_BYTES + 1 + 101)), denied(Code.LimitExceeded, /^write \/a/));
    assert.equal(view.fileSize('/a'), 60);
    view.writeFile('/a', new Uint8Array(NODE_BYTES + 1 + 100));
    view.writeFile('/a', new Uint8Array(10));
    view.writeFile('/b', new Uint8Array(90));
    assert.equal(vfs.budget.used, 100 + 5 * NODE_BYTES + names, 'contents plus three streams and two files with their names');
  });

  it('counts the std streams in the same budget and names the stream that was refused', () => {
    const vfs = new VirtualFileSystem({ maxBytes: 1000 + 4 * NODE_BYTES + '/a'.length - 1 });
    const view = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }, { file_name: 'stdin', rights: ALL_RIGHTS }]);
    view.writeFile('/a', new Uint8Array(600));
    assert.throws(() => view.writeFile('stdin', new Uint8Array(401)), denied(Code.LimitExceeded, /^write stdin: .* cannot hold 401 more bytes of stdin$/));
    view.writeFile('stdin', new Uint8Array(400));
    assert.deepEqual({ ...vfs.budget.usage(), files: undefined }, { ...vfs.budget.usage(), stdin: 400, files: undefined });
    assert.equal(vfs.budget.free, 0);
    view.writeFile('stdin', new Uint8Array(0));
    assert.equal(vfs.budget.free, 400, 'replacing a stream returns its bytes');
  });

  it('keeps the old contents and creates no file when a write is refused because the budget filled meanwhile', () => {
    const vfs = new VirtualFileSystem({ maxBytes: 200 + 5 * NODE_BYTES });
    const view = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]);
    view.writeFile('/a', new Uint8Array(100).fill(7));
    // Another holder of the budget (a running program's memory, a session) takes what is left.
    assert.ok(vfs.budget.tryReserve(vfs.budget.free - 50, 'program memory'));
    assert.throws(() => view.writeFile('/a', new Uint8Array(151)), denied(Code.LimitExceeded, /^write \/a: .*51 more bytes of files$/));
    assert.deepEqual(view.readFile('/a'), new Uint8Array(100).fill(7));
    assert.throws(() => view.appendFile('/new', new Uint8Array(10)), denied(Code.LimitExceeded, /^append \/new/));
    assert.equal(view.exists('/new'), false);
  });

  it('leaves no directory behind that a refused write created for its file', () => {
    // The budget fills between the check and the write (a running program's memory grows, say):
    // here the check lets everything through, and the contents are refused after the directories.
    class RacingBudget extends MemoryBudget {
      override check(): void {}
    }
    const vfs = new VirtualFileSystem({ budget: new RacingBudget(3 * NODE_BYTES + 3 * (NODE_BYTES + 1) + 10, 0) });
    const view = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]);
    const before = vfs.budget.used;
    assert.throws(() => view.writeFile('/a/b/c', new Uint8Array(11)), denied(Code.LimitExceeded, /^write \/a\/b\/c: .* cannot hold 11 more bytes of files$/));
    assert.equal(view.exists('/a'), false, 'the parents made for the refused write are gone');
    assert.equal(vfs.budget.used, before);
    view.writeFile('/a/b/c', new Uint8Array(10));
    assert.equal(vfs.budget.free, 0);
  });

  it('refuses names over 255 bytes and paths over 4096 bytes with LimitExceeded, without echoing a long path', () => {
    const vfs = new VirtualFileSystem();
    const view = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]);
    const used = vfs.budget.used;
    assert.throws(() => view.writeFile(`/in/${'n'.repeat(256)}`, bytes('x')), denied(Code.LimitExceeded, /^write \/in\/n+: a name is longer than 255 bytes$/));
    assert.throws(() => view.appendFile(`/${'d/'.repeat(4 * 1024 * 1024)}x`, bytes('x')), denied(Code.LimitExceeded, /^append: the path is longer than 4096 bytes$/));
    assert.throws(() => view.readFile(`/${'n'.repeat(8 * 1024 * 1024)}`), denied(Code.LimitExceeded, /^read: the path is longer than 4096 bytes$/));
    assert.equal(vfs.budget.used, used);
    view.writeFile(`/in/${'n'.repeat(255)}`, bytes('x'));
    assert.equal(vfs.budget.used, used + 2 * NODE_BYTES + 'in'.length + 255 + 1);
  });

  it('reports a service refused by the memory budget as LimitExceeded, not as a failed service', () => {
    const vfs = new VirtualFileSystem({ services: DEFAULT_SERVICES, maxBytes: 64 * 1024 });
    const root = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]);
    root.writeFile('/input/plain.bin', new Uint8Array(40_000));
    const request = encodeAesCtrRequest({ key: new Uint8Array(16), iv: new Uint8Array(16), inputPath: '/input/plain.bin', outputPath: '/output/cipher.bin', isEncryption: true });
    assert.throws(() => root.writeFile('/services/aesctr.dat', request),
      denied(Code.LimitExceeded, /^write \/services\/aesctr\.dat: the isolate's memory budget \(65536 bytes\) cannot hold \d+ more bytes of files$/));
    assert.equal(root.exists('/output/cipher.bin'), false);
    assert.equal(root.exists('/output'), false);
  });

  it('follows symbolic links the way programs do, checking the rights of the path they reach', () => {
    const vfs = new VirtualFileSystem();
    const admin = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]);
    admin.writeFile('/input/data.txt', bytes('secret'));
    admin.writeFile('/output/result.txt', bytes('result'));
    const output = vfs.lookup(['output']);
    assert.ok(output?.kind === 'directory');
    vfs.insert(output, 'latest', vfs.newSymlink('result.txt'));
    vfs.insert(output, 'to-input', vfs.newSymlink('../input/data.txt'));
    vfs.insert(output, 'dangling', vfs.newSymlink('new/made.txt'));
    vfs.insert(output, 'loop', vfs.newSymlink('loop'));
    vfs.insert(output, 'above', vfs.newSymlink('../../../x'));
    const client = vfs.view([{ file_name: '/output', rights: RIGHTS_READ | RIGHTS_WRITE }]);
    assert.equal(text(client.readFile('/output/latest')), 'result');
    client.appendFile('/output/latest', bytes('+more'));
    assert.equal(text(admin.readFile('/output/result.txt')), 'result+more');
    // The link leads where this principal has no right: refused as if the path had been named.
    assert.throws(() => client.readFile('/output/to-input'), denied(Code.PermissionDenied, /^read \/input\/data\.txt: missing FD_READ, FD_SEEK, PATH_OPEN$/));
    // A reader of /input may follow it, but not write through it.
    const both = vfs.view([{ file_name: '/output', rights: ALL_RIGHTS }, { file_name: '/input', rights: RIGHTS_READ }]);
    assert.equal(text(both.readFile('/output/to-input')), 'secret');
    assert.throws(() => both.writeFile('/output/to-input', bytes('x')), denied(Code.PermissionDenied, /^write \/input\/data\.txt: missing FD_WRITE/));
    assert.equal(text(admin.readFile('/input/data.txt')), 'secret');
    // Writing through a dangling link creates its target (and, as for any write, missing directories).
    client.writeFile('/output/dangling', bytes('made'));
    assert.equal(text(admin.readFile('/output/new/made.txt')), 'made');
    assert.equal(client.exists('/output/latest'), true);
    assert.throws(() => client.readFile('/output/loop'), denied(Code.InvalidRequest, /^read \/output\/loop: too many levels of symbolic links$/));
    assert.throws(() => admin.readFile('/output/above'), denied(Code.InvalidRequest, /^read \/output\/above: a symbolic link leads outside the tree$/));
    assert.equal(client.exists('/output/loop'), false);
  });

  it('grants over a file with several names (hard links) only what the principal holds on every name', () => {
    const vfs = new VirtualFileSystem();
    const admin = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]);
    admin.writeFile('/input/data.txt', bytes('secret'));
    const input = vfs.lookup(['input']);
    const output = vfs.makeDirectories(['output']);
    const file = vfs.lookup(['input', 'data.txt']);
    assert.ok(input?.kind === 'directory' && file?.kind === 'file');
    vfs.link(file, input, 'data.txt', output, 'copy.txt');
    const client = vfs.view([{ file_name: '/input', rights: RIGHTS_READ }, { file_name: '/output', rights: ALL_RIGHTS }]);
    assert.equal(text(client.readFile('/output/copy.txt')), 'secret');
    assert.throws(() => client.writeFile('/output/copy.txt', bytes('changed')), denied(Code.PermissionDenied, /^write \/output\/copy\.txt: missing FD_WRITE, PATH_FILESTAT_SET_SIZE$/));
    // A principal with no right on one of the names cannot reach the file by the other.
    const outsider = vfs.view([{ file_name: '/output', rights: ALL_RIGHTS }]);
    assert.throws(() => outsider.readFile('/output/copy.txt'), denied(Code.PermissionDenied, /^read \/output\/copy\.txt: missing FD_READ, FD_SEEK, PATH_OPEN$/));
    vfs.remove(input, 'data.txt');
    outsider.writeFile('/output/copy.txt', bytes('mine now'));
    assert.equal(text(client.readFile('/output/copy.txt')), 'mine now');
  });

  it('refuses to write a file where a directory is, or under a file', () => {
    const vfs = new VirtualFileSystem();
    const view = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]);
    view.writeFile('/a/file', bytes('x'));
    assert.throws(() => view.writeFile('/a', bytes('y')), denied(Code.InvalidRequest, /is a directory/));
    assert.throws(() => view.writeFile('/a/file/below', bytes('y')), denied(Code.NotFound, /parent is not a directory/));
  });
});
