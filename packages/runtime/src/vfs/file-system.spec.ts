import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS } from '@veracruz-ts/policy';
import { Errno } from './errno.ts';
import { NODE_BYTES, VirtualFileSystem } from './file-system.ts';
import type { CreatedDirectory } from './file-system.ts';
import { MAX_NAME_BYTES, MAX_PATH_BYTES } from './path-resolution.ts';

function failsWith(errno: number) {
  return (error: unknown) => error instanceof Error && 'errno' in error && error.errno === errno;
}

describe('what the VirtualFileSystem counts against the memory budget', () => {
  it('counts NODE_BYTES and the name\'s bytes for every entry, a link\'s target too, and refuses names over 255 bytes (ENAMETOOLONG)', () => {
    const vfs = new VirtualFileSystem();
    const dir = vfs.makeDirectories(['d']);
    let used = vfs.quota.used;
    const longest = 'x'.repeat(MAX_NAME_BYTES);
    vfs.insert(dir, longest, vfs.newFile());
    assert.equal(vfs.quota.used, used + NODE_BYTES + MAX_NAME_BYTES);
    used = vfs.quota.used;
    // Counted in UTF-8 bytes: 128 two-byte characters are 256 bytes.
    assert.throws(() => vfs.insert(dir, 'é'.repeat(128), vfs.newFile()), failsWith(Errno.NAMETOOLONG));
    assert.throws(() => vfs.insert(dir, 'y'.repeat(8 * 1024 * 1024), vfs.newDirectory()), failsWith(Errno.NAMETOOLONG));
    assert.equal(vfs.quota.used, used, 'a refused name returns the node it was for');
    vfs.insert(dir, 'link', vfs.newSymlink('t'.repeat(100)));
    assert.equal(vfs.quota.used, used + NODE_BYTES + 'link'.length + 100);
    vfs.move(dir, 'link', dir, 'renamed-link');
    assert.equal(vfs.quota.used, used + NODE_BYTES + 'renamed-link'.length + 100);
    vfs.remove(dir, 'renamed-link');
    vfs.remove(dir, longest);
    assert.equal(vfs.quota.used, used - NODE_BYTES - MAX_NAME_BYTES);
    // Lookups refuse them too, and paths over 4096 bytes.
    assert.throws(() => vfs.resolve({ start: [], root: [], follow: true }, `d/${'z'.repeat(MAX_NAME_BYTES + 1)}`), failsWith(Errno.NAMETOOLONG));
    assert.throws(() => vfs.resolve({ start: [], root: [], follow: true }, 'd/'.repeat(MAX_PATH_BYTES / 2 + 1)), failsWith(Errno.NAMETOOLONG));
  });

  it('gives back nothing for a name it never counted (an entry set directly, as vc-fee\'s loader does)', () => {
    const vfs = new VirtualFileSystem();
    const dir = vfs.makeDirectories(['d']);
    const base = vfs.quota.used;
    for (let index = 0; index < 20; index++) dir.entries.set(`${index}`.padEnd(200, 'x'), vfs.newFile());
    vfs.move(dir, '0'.padEnd(200, 'x'), dir, 'y');
    assert.equal(vfs.quota.used, base + 20 * NODE_BYTES + 'y'.length, 'the new name is counted');
    for (const name of [...dir.entries.keys()]) vfs.remove(dir, name);
    assert.equal(vfs.quota.used, base);
  });

  it('refuses a rename to a longer name the budget cannot hold, changing nothing', () => {
    const vfs = new VirtualFileSystem({ maxBytes: 5 * NODE_BYTES + 'd'.length + 'f'.length + 10 });
    const dir = vfs.makeDirectories(['d']);
    const file = vfs.newFile();
    vfs.insert(dir, 'f', file);
    vfs.move(dir, 'f', dir, 'g'.repeat(11));
    assert.equal(vfs.budget.free, 0);
    assert.throws(() => vfs.move(dir, 'g'.repeat(11), dir, 'h'.repeat(12)), failsWith(Errno.NOSPC));
    assert.equal(dir.entries.get('g'.repeat(11)), file);
    vfs.move(dir, 'g'.repeat(11), dir, 'f');
    assert.equal(vfs.budget.free, 10);
  });

  it('keeps an unlinked file counted while a descriptor has it open, growth and holes included, and returns all of it with the last descriptor', () => {
    const hole = 64 * 1024;
    // Streams, /d, the file, its hole, and half as much again.
    const vfs = new VirtualFileSystem({ maxBytes: 5 * NODE_BYTES + 'd'.length + 'f'.length + hole + hole / 2 });
    const view = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]);
    const dir = vfs.makeDirectories(['d']);
    const file = vfs.newFile();
    vfs.insert(dir, 'f', file);
    const base = vfs.quota.used - NODE_BYTES - 'f'.length;
    vfs.opened(file);
    file.data.truncate(hole);
    vfs.remove(dir, 'f');
    assert.equal(vfs.quota.used, base + NODE_BYTES + hole, 'an open unlinked file still counts, its hole included');
    // What the hole still counts cannot be used by another file: the isolate would hold both.
    assert.throws(() => view.writeFile('/d/g', new Uint8Array(hole)), (error: unknown) => error instanceof VeracruzError && error.code === Code.LimitExceeded);
    file.data.write(0, new Uint8Array(hole).fill(1));
    assert.equal(vfs.quota.used, base + NODE_BYTES + hole, 'filling the hole costs nothing more: it was counted');
    file.data.append(new Uint8Array(100));
    assert.equal(vfs.quota.used, base + NODE_BYTES + file.data.charged, 'growth after the unlink counts');
    vfs.closed(file);
    assert.equal(vfs.quota.used, base, 'gone with its last descriptor: everything returned');
    assert.equal(file.data.capacity, 0, 'and its storage dropped');
  });

  it('frees a file only when it has neither a name nor an open descriptor, whatever goes last', () => {
    const vfs = new VirtualFileSystem();
    const dir = vfs.makeDirectories(['d']);
    const base = vfs.quota.used;
    const file = vfs.newFile();
    vfs.insert(dir, 'a', file);
    vfs.link(file, dir, 'a', dir, 'b');
    file.data.write(0, new Uint8Array(500));
    vfs.opened(file);
    vfs.opened(file);
    vfs.closed(file);
    vfs.remove(dir, 'a');
    vfs.closed(file);
    assert.equal(vfs.quota.used, base + NODE_BYTES + 'b'.length + 500, 'one name left');
    vfs.opened(file);
    vfs.remove(dir, 'b');
    assert.equal(vfs.quota.used, base + NODE_BYTES + 500, 'one descriptor left');
    vfs.closed(file);
    assert.equal(vfs.quota.used, base);
    assert.throws(() => vfs.closed(file), /internal: a file closed more often than it was opened/);
  });

  it('removes a directory with what it still holds, and makes directories all or nothing', () => {
    const vfs = new VirtualFileSystem({ maxBytes: 6 * NODE_BYTES + 6 });
    const base = vfs.quota.used;
    const created: CreatedDirectory[] = [];
    const inner = vfs.makeDirectories(['a', 'b'], created);
    vfs.insert(inner, 'c', vfs.newFile());
    assert.equal(created.length, 2);
    vfs.remove(vfs.root, 'a');
    assert.equal(vfs.quota.used, base, 'a removed directory returns what it held');
    // Room for two directories, not three: nothing is left of the attempt.
    const small = new VirtualFileSystem({ maxBytes: 5 * NODE_BYTES + 2 });
    assert.throws(() => small.makeDirectories(['x', 'y', 'z']), failsWith(Errno.NOSPC));
    assert.equal(small.root.entries.size, 0);
    assert.equal(small.quota.used, 3 * NODE_BYTES);
    const kept: CreatedDirectory[] = [];
    small.makeDirectories(['x', 'y'], kept);
    small.removeCreated(kept);
    assert.deepEqual([small.root.entries.size, small.quota.used], [0, 3 * NODE_BYTES]);
  });
});
