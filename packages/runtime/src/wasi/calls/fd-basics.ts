import { ALL_RIGHTS, Right } from '@veracruz-ts/policy';
import { Errno } from '../../vfs/errno.ts';
import { FILETYPE, KNOWN_RIGHTS, MAX_OFFSET } from '../abi.ts';
import { setTimes, writeFilestat, writeNodeStat } from '../file-stat.ts';
import { defineSystemCalls } from '../system-call-handler.ts';

/**
 * A descriptor's life and metadata: creating (Veracruz's `fd_create`), closing and renumbering it,
 * its flags and rights (which only ever shrink), its size and times, and the advisory calls that
 * only check the rights (the VFS has nothing to sync).
 */
export const FD_BASIC_CALLS = defineSystemCalls({
  fd_advise: (context, fd, _offset, _length, advice) => {
    context.file(fd, Right.FD_ADVISE);
    return advice > 5 ? Errno.INVAL : Errno.SUCCESS;
  },
  fd_allocate: (context, fd, offset, length) => {
    const descriptor = context.file(fd, Right.FD_ALLOCATE);
    if (descriptor.type !== 'file') return Errno.NOTSUP;
    const end = Number(offset) + Number(length);
    if (end > MAX_OFFSET) return Errno.FBIG;
    if (end > descriptor.node.data.size) descriptor.node.data.truncate(end);
    return Errno.SUCCESS;
  },
  fd_close: (context, fd) => {
    context.closed(context.table.close(fd));
    return Errno.SUCCESS;
  },
  fd_datasync: (context, fd) => {
    context.file(fd, Right.FD_DATASYNC);
    return Errno.SUCCESS;
  },
  fd_fdstat_get: (context, fd, result) => {
    const descriptor = context.descriptor(fd, 0);
    const view = context.memory.view();
    const filetype = descriptor.type === 'directory' ? FILETYPE.DIRECTORY : descriptor.type === 'stream' ? FILETYPE.CHARACTER_DEVICE : FILETYPE.REGULAR_FILE;
    view.setUint8(result, filetype);
    view.setUint8(result + 1, 0);
    view.setUint16(result + 2, descriptor.flags, true);
    view.setUint32(result + 4, 0, true);
    view.setBigUint64(result + 8, BigInt(descriptor.rightsBase), true);
    view.setBigUint64(result + 16, BigInt(descriptor.rightsInheriting), true);
    return Errno.SUCCESS;
  },
  fd_fdstat_set_flags: (context, fd, flags) => {
    const descriptor = context.file(fd, Right.FD_FDSTAT_SET_FLAGS);
    if ((flags & ~0x1f) !== 0) return Errno.INVAL;
    descriptor.flags = flags;
    return Errno.SUCCESS;
  },
  fd_fdstat_set_rights: (context, fd, base, inheriting) => {
    const descriptor = context.descriptor(fd, 0);
    const newBase = Number(BigInt.asUintN(64, base) & KNOWN_RIGHTS);
    const newInheriting = Number(BigInt.asUintN(64, inheriting) & KNOWN_RIGHTS);
    // Rights may only shrink (WASI); asking for more is ENOTCAPABLE.
    if ((newBase & ~descriptor.rightsBase) !== 0 || (newInheriting & ~descriptor.rightsInheriting) !== 0) return Errno.NOTCAPABLE;
    descriptor.rightsBase = newBase;
    descriptor.rightsInheriting = newInheriting;
    return Errno.SUCCESS;
  },
  fd_filestat_get: (context, fd, result) => {
    // FD_FILESTAT_GET, or FD_SEEK (seeking to the end reveals the size anyway): Veracruz's r and w
    // shorthands lack FD_FILESTAT_GET, and fstat() is everyday libc behaviour.
    const descriptor = context.descriptor(fd, 0);
    if ((descriptor.rightsBase & (Right.FD_FILESTAT_GET | Right.FD_SEEK)) === 0) return Errno.NOTCAPABLE;
    if (descriptor.type === 'directory') writeNodeStat(context.memory, result, context.openDirectoryNode(descriptor));
    else if (descriptor.type === 'stream') {
      const streams = context.streams;
      const hooked = descriptor.stream === 'stdin' ? streams.stdin : descriptor.stream === 'stdout' ? streams.stdout : streams.stderr;
      const node = context.streamNode(descriptor);
      writeFilestat(context.memory, result, node, FILETYPE.CHARACTER_DEVICE, hooked === undefined ? node.data.size : 0);
    } else writeNodeStat(context.memory, result, descriptor.node);
    return Errno.SUCCESS;
  },
  fd_filestat_set_size: (context, fd, size) => {
    const descriptor = context.file(fd, Right.FD_FILESTAT_SET_SIZE);
    if (descriptor.type !== 'file') return Errno.INVAL;
    const length = Number(size);
    if (length > MAX_OFFSET || length < 0) return Errno.FBIG;
    // An open input stream is its writers' to append to (see path_open's O_TRUNC).
    if (descriptor.stream?.appendOnly && length < descriptor.node.data.size) return Errno.BUSY;
    descriptor.node.data.truncate(length);
    return Errno.SUCCESS;
  },
  fd_filestat_set_times: (context, fd, accessed, modified, flags) => {
    const descriptor = context.descriptor(fd, Right.FD_FILESTAT_SET_TIMES);
    const node = descriptor.type === 'directory' ? context.openDirectoryNode(descriptor) : descriptor.type === 'stream' ? context.streamNode(descriptor) : descriptor.node;
    setTimes(node, accessed, modified, flags, context.enableClock);
    return Errno.SUCCESS;
  },
  fd_renumber: (context, from, to) => {
    // Both must be open (EBADF otherwise, as wasmtime; POSIX dup2 would open `to`).
    const replaced = from === to ? undefined : context.table.get(to);
    context.table.renumber(from, to);
    if (replaced !== undefined) context.closed(replaced);
    return Errno.SUCCESS;
  },
  fd_sync: (context, fd) => {
    context.file(fd, Right.FD_SYNC);
    return Errno.SUCCESS;
  },

  fd_create: (context, result) => {
    // Veracruz's anonymous read-write file: every file right, not linked into the tree.
    const node = context.vfs.newFile();
    node.nlink = 0; // no name: fstat answers 0, like an unlinked open file
    const rights = ALL_RIGHTS & ~(Right.FD_EXECUTE | Right.SOCK_SHUTDOWN);
    context.memory.u32(result, context.addFile({ type: 'file', node, path: '', rightsBase: rights, rightsInheriting: rights, offset: 0, flags: 0 }));
    return Errno.SUCCESS;
  },
});
