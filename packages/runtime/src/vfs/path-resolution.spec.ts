import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno } from './errno.ts';
import { MAX_LINKS, NODE_BYTES, VirtualFileSystem } from './file-system.ts';
import { byteLength, MAX_NAME_BYTES, MAX_SYMLINK_HOPS, nameTooLong, PathFailure } from './path-resolution.ts';
import type { ResolveOptions } from './path-resolution.ts';

/** A tree: /pre/dir/file, /pre/file, /outside/secret, with links added per test. */
function tree(): VirtualFileSystem {
  const vfs = new VirtualFileSystem();
  const dir = vfs.makeDirectories(['pre', 'dir']);
  vfs.insert(dir, 'file', vfs.newFile());
  vfs.insert(vfs.makeDirectories(['pre']), 'file', vfs.newFile());
  vfs.insert(vfs.makeDirectories(['outside']), 'secret', vfs.newFile());
  return vfs;
}

function symlink(vfs: VirtualFileSystem, at: string[], target: string): void {
  const name = at[at.length - 1] as string;
  vfs.insert(vfs.makeDirectories(at.slice(0, -1)), name, vfs.newSymlink(target));
}

const FROM_PRE: ResolveOptions = { start: ['pre'], root: ['pre'], follow: true };

function fails(errno: number, at?: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof PathFailure, String(error));
    assert.equal(error.errno, errno);
    if (at !== undefined) assert.deepEqual(error.at, at);
    return true;
  };
}

describe('resolvePath', () => {
  it('resolves components, `.` and `..` physically, within the root', () => {
    const vfs = tree();
    const found = vfs.resolve(FROM_PRE, 'dir/./../dir/file');
    assert.deepEqual(found.components, ['pre', 'dir', 'file']);
    assert.equal(found.node?.kind, 'file');
    assert.equal(found.name, 'file');
    const missing = vfs.resolve(FROM_PRE, 'dir/new');
    assert.equal(missing.node, undefined);
    assert.equal(missing.parent, vfs.lookup(['pre', 'dir']));
    const dot = vfs.resolve(FROM_PRE, '.');
    assert.deepEqual([dot.components, dot.name, dot.node?.kind, dot.directoryOnly], [['pre'], undefined, 'directory', true]);
    assert.throws(() => vfs.resolve(FROM_PRE, '..'), fails(Errno.PERM, ['pre']));
    assert.throws(() => vfs.resolve(FROM_PRE, 'dir/../../outside/secret'), fails(Errno.PERM));
    assert.throws(() => vfs.resolve(FROM_PRE, '/pre/file'), fails(Errno.PERM));
    assert.throws(() => vfs.resolve(FROM_PRE, ''), fails(Errno.NOENT));
    // `..` after a missing or non-directory component is not resolved lexically (POSIX).
    assert.throws(() => vfs.resolve(FROM_PRE, 'none/../file'), fails(Errno.NOENT, ['pre', 'none']));
    assert.throws(() => vfs.resolve(FROM_PRE, 'file/../file'), fails(Errno.NOTDIR, ['pre', 'file']));
  });

  it('marks trailing slashes, and reports missing parents only when asked', () => {
    const vfs = tree();
    assert.equal(vfs.resolve(FROM_PRE, 'file/').directoryOnly, true);
    assert.equal(vfs.resolve(FROM_PRE, 'file').directoryOnly, false);
    const deep = vfs.resolve({ ...FROM_PRE, missingParents: true }, 'a/b/c');
    assert.deepEqual([deep.components, deep.missingFrom, deep.parent, deep.name], [['pre', 'a', 'b', 'c'], 1, undefined, 'c']);
    assert.throws(() => vfs.resolve({ ...FROM_PRE, missingParents: true }, 'a/../c'), fails(Errno.NOENT));
  });

  it('follows links in the middle always, a last link only when asked or before a slash', () => {
    const vfs = tree();
    symlink(vfs, ['pre', 'to-dir'], 'dir');
    symlink(vfs, ['pre', 'dir', 'up'], '../file');
    assert.deepEqual(vfs.resolve(FROM_PRE, 'to-dir/file').components, ['pre', 'dir', 'file']);
    assert.deepEqual(vfs.resolve(FROM_PRE, 'to-dir/up').components, ['pre', 'file']);
    const unfollowed = vfs.resolve({ ...FROM_PRE, follow: false }, 'to-dir');
    assert.deepEqual([unfollowed.components, unfollowed.node?.kind], [['pre', 'to-dir'], 'symlink']);
    assert.equal(vfs.resolve({ ...FROM_PRE, follow: false }, 'to-dir/').node?.kind, 'directory');
    // A link's `..` is the parent of the directory holding the link, not lexical.
    symlink(vfs, ['pre', 'dir', 'sibling'], '../dir/file');
    assert.deepEqual(vfs.resolve(FROM_PRE, 'to-dir/sibling').components, ['pre', 'dir', 'file']);
  });

  it('never leaves the root through a link: absolute targets and `..` above it are EPERM, where the link is', () => {
    const vfs = tree();
    symlink(vfs, ['pre', 'out'], '../outside/secret');
    symlink(vfs, ['pre', 'abs'], '/outside/secret');
    assert.throws(() => vfs.resolve(FROM_PRE, 'out'), fails(Errno.PERM, ['pre']));
    assert.throws(() => vfs.resolve(FROM_PRE, 'abs'), fails(Errno.PERM, ['pre', 'abs']));
    // From a wider root the same link is fine.
    assert.deepEqual(vfs.resolve({ start: ['pre'], root: [], follow: true }, 'out').components, ['outside', 'secret']);
  });

  it(`fails with ELOOP after ${MAX_SYMLINK_HOPS} links`, () => {
    const vfs = tree();
    symlink(vfs, ['pre', 'self'], 'self');
    assert.throws(() => vfs.resolve(FROM_PRE, 'self'), fails(Errno.LOOP, ['pre', 'self']));
    for (let index = 0; index < MAX_SYMLINK_HOPS; index++) symlink(vfs, ['pre', `chain${index}`], index === MAX_SYMLINK_HOPS - 1 ? 'file' : `chain${index + 1}`);
    assert.equal(vfs.resolve(FROM_PRE, 'chain0').node?.kind, 'file');
    symlink(vfs, ['pre', 'longer'], 'chain0');
    assert.throws(() => vfs.resolve(FROM_PRE, 'longer'), fails(Errno.LOOP));
  });
});

describe('name lengths', () => {
  it('counts UTF-8 bytes as TextEncoder writes them: 1 to 4 a character, 3 for a lone surrogate', () => {
    for (const text of ['', 'a', 'é', '€', '😀', '\ud800', '\udc00', 'a\udc00\ud800b', '😀\ud83d']) {
      assert.equal(byteLength(text), new TextEncoder().encode(text).length, JSON.stringify(text));
    }
    // 255 bytes at most: 127 two-byte characters fit, 128 do not, though they are fewer than 255.
    assert.equal(MAX_NAME_BYTES, 255);
    assert.equal(nameTooLong('é'.repeat(127)), false);
    assert.equal(nameTooLong('é'.repeat(128)), true);
    assert.equal(nameTooLong('a'.repeat(255)), false);
    assert.equal(nameTooLong('a'.repeat(256)), true);
  });
});

describe('hard links in the VirtualFileSystem', () => {
  it('counts names, reserves each name before adding it, and returns the file\'s bytes with its last name', () => {
    const vfs = new VirtualFileSystem({ maxBytes: 10 * NODE_BYTES });
    const dir = vfs.makeDirectories(['d']);
    const file = vfs.newFile();
    vfs.insert(dir, 'a', file);
    file.data.write(0, new Uint8Array(100));
    const before = vfs.quota.used;
    vfs.link(file, dir, 'a', dir, 'bb');
    assert.equal(file.nlink, 2);
    assert.equal(vfs.quota.used, before + NODE_BYTES + 'bb'.length);
    vfs.remove(dir, 'a');
    assert.equal(file.nlink, 1);
    assert.equal(vfs.quota.used, before + 'bb'.length - 'a'.length, 'a name returns its NODE_BYTES and its bytes, the contents stay');
    vfs.remove(dir, 'bb');
    assert.equal(vfs.quota.used, before - NODE_BYTES - 100 - 'a'.length);
  });

  it('refuses a name the budget cannot hold, changing nothing, and more than MAX_LINKS names (EMLINK)', () => {
    // Three std streams, d, the file and one more name, and the names d, a and b.
    const vfs = new VirtualFileSystem({ maxBytes: 6 * NODE_BYTES + 3 });
    const dir = vfs.makeDirectories(['d']);
    const file = vfs.newFile();
    vfs.insert(dir, 'a', file);
    vfs.link(file, dir, 'a', dir, 'b');
    assert.throws(() => vfs.link(file, dir, 'a', dir, 'c'), (error: unknown) => error instanceof Error && 'errno' in error && error.errno === Errno.NOSPC);
    assert.equal(dir.entries.has('c'), false);
    assert.equal(file.nlink, 2);
    file.nlink = MAX_LINKS;
    assert.throws(() => vfs.link(file, dir, 'a', dir, 'd'), (error: unknown) => error instanceof Error && 'errno' in error && error.errno === Errno.MLINK);
  });

  it('grants over a file with several names only what every name grants, wherever its directories move', () => {
    const vfs = new VirtualFileSystem();
    const open = vfs.makeDirectories(['open']);
    const locked = vfs.makeDirectories(['locked']);
    const file = vfs.newFile();
    vfs.insert(locked, 'f', file);
    const rights = [{ file_name: '/', rights: 7 }, { file_name: '/locked', rights: 1 }];
    assert.equal(vfs.rightsOver(rights, ['open', 'g'], undefined), 7);
    vfs.link(file, locked, 'f', open, 'g');
    assert.equal(vfs.rightsOver(rights, ['open', 'g'], file), 1);
    // Moving the locked directory out from under the entry lifts the restriction, as for any path.
    vfs.move(vfs.root, 'locked', open, 'was-locked');
    assert.deepEqual(vfs.pathOf(locked), ['open', 'was-locked']);
    assert.equal(vfs.rightsOver(rights, ['open', 'g'], file), 7);
    vfs.move(open, 'g', vfs.root, 'h');
    const relocked = vfs.newDirectory();
    vfs.insert(vfs.root, 'locked', relocked);
    vfs.move(open, 'was-locked', vfs.root, 'elsewhere');
    vfs.link(file, vfs.root, 'h', relocked, 'again');
    assert.equal(vfs.rightsOver(rights, ['h'], file), 1);
  });
});
