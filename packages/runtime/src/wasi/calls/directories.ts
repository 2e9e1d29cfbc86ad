import { Right } from '@veracruz-ts/policy';
import { Errno } from '../../vfs/errno.ts';
import type { VfsNode } from '../../vfs/nodes.ts';
import { FILETYPE } from '../abi.ts';
import { defineSystemCalls } from '../system-call-handler.ts';

const encoder = new TextEncoder();

/**
 * What a program learns of directory descriptors: the pre-opens (how libc finds its root
 * directories) and a directory's entries, `.` and `..` first, then by name.
 */
export const DIRECTORY_CALLS = defineSystemCalls({
  fd_prestat_get: (context, fd, result) => {
    const descriptor = context.table.get(fd);
    if (descriptor === undefined || descriptor.type !== 'directory' || descriptor.preopenName === undefined) return Errno.BADF;
    context.memory.u32(result, 0);
    context.memory.u32(result + 4, encoder.encode(descriptor.preopenName).length);
    return Errno.SUCCESS;
  },
  fd_prestat_dir_name: (context, fd, pointer, length) => {
    const descriptor = context.table.get(fd);
    if (descriptor === undefined || descriptor.type !== 'directory' || descriptor.preopenName === undefined) return Errno.BADF;
    const name = encoder.encode(descriptor.preopenName);
    if (length < name.length) return Errno.NAMETOOLONG;
    context.memory.range(pointer, name.length).set(name);
    return Errno.SUCCESS;
  },
  fd_readdir: (context, fd, buffer, length, cookie, result) => {
    const directory = context.directory(fd, Right.FD_READDIR);
    const node = context.openDirectoryNode(directory);
    const parent = directory.components.length > directory.root.length ? context.vfs.lookup(directory.components.slice(0, -1)) : node;
    const entries: [string, VfsNode][] = [['.', node], ['..', parent ?? node], ...[...node.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))];
    const output = context.memory.range(buffer, length);
    const view = context.memory.view();
    let used = 0;
    for (let index = Number(cookie); index < entries.length && used < length; index++) {
      const [name, entry] = entries[index] as [string, VfsNode];
      const encoded = encoder.encode(name);
      const record = new Uint8Array(24 + encoded.length);
      const recordView = new DataView(record.buffer);
      recordView.setBigUint64(0, BigInt(index + 1), true);
      recordView.setBigUint64(8, BigInt(entry.inode), true);
      recordView.setUint32(16, encoded.length, true);
      recordView.setUint8(20, entry.kind === 'directory' ? FILETYPE.DIRECTORY : entry.kind === 'symlink' ? FILETYPE.SYMBOLIC_LINK : FILETYPE.REGULAR_FILE);
      record.set(encoded, 24);
      const count = Math.min(record.length, length - used);
      output.set(record.subarray(0, count), used);
      used += count;
    }
    view.setUint32(result, used, true);
    return Errno.SUCCESS;
  },
});
