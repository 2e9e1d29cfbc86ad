import { Right } from '@veracruz-ts/policy';
import { Errno } from '../../vfs/errno.ts';
import { LOOKUP_SYMLINK_FOLLOW } from '../abi.ts';
import { setTimes, writeNodeStat } from '../file-stat.ts';
import { has, lookupPath, pathRights, pathString } from '../path-arguments.ts';
import { defineSystemCalls } from '../system-call-handler.ts';

const encoder = new TextEncoder();

/**
 * The calls on names in the tree, each resolved from a directory descriptor within its pre-open:
 * stat and set times by path, make and remove directories, hard and symbolic links, rename and
 * unlink. Opening is in path-open.ts.
 */
export const PATH_CALLS = defineSystemCalls({
  path_create_directory: (context, fd, path, length) => {
    const directory = context.directory(fd, 0);
    const target = lookupPath(context, directory, path, length, { follow: false, permitted: has(Right.PATH_CREATE_DIRECTORY), content: false });
    if (target.parent === undefined || target.name === undefined || target.node !== undefined) return Errno.EXIST;
    context.vfs.insert(target.parent, target.name, context.vfs.newDirectory());
    return Errno.SUCCESS;
  },
  path_filestat_get: (context, fd, flags, path, length, result) => {
    const directory = context.directory(fd, 0);
    // PATH_FILESTAT_GET, or PATH_OPEN (opening the path and fstat-ing it tells the same): so that
    // stat() and Rust's Path::exists() work under Veracruz's r/w/x shorthands.
    const permitted = (rights: number): boolean => has(Right.PATH_FILESTAT_GET)(rights) || has(Right.PATH_OPEN)(rights);
    const { node, directoryOnly } = lookupPath(context, directory, path, length, { follow: (flags & LOOKUP_SYMLINK_FOLLOW) !== 0, permitted });
    if (node === undefined) return Errno.NOENT;
    if (directoryOnly && node.kind !== 'directory') return Errno.NOTDIR;
    writeNodeStat(context.memory, result, node);
    return Errno.SUCCESS;
  },
  path_filestat_set_times: (context, fd, flags, path, length, accessed, modified, fstflags) => {
    const directory = context.directory(fd, 0);
    const { node, directoryOnly } = lookupPath(context, directory, path, length, {
      follow: (flags & LOOKUP_SYMLINK_FOLLOW) !== 0,
      permitted: has(Right.PATH_FILESTAT_SET_TIMES),
    });
    if (node === undefined) return Errno.NOENT;
    if (directoryOnly && node.kind !== 'directory') return Errno.NOTDIR;
    setTimes(node, accessed, modified, fstflags, context.enableClock);
    return Errno.SUCCESS;
  },
  /**
   * Rights are per path and a hard link gives one file several, so besides PATH_LINK_SOURCE and
   * PATH_LINK_TARGET the linking principal must hold exactly the same rights at the new name as
   * over the file (ENOTCAPABLE otherwise): a link can neither widen its rights nor narrow those of
   * the name it copies. Other principals' policies may still tell the two names apart; for them
   * `VirtualFileSystem.rightsOver` grants only what every name grants.
   */
  path_link: (context, oldFd, oldFlags, oldPath, oldLength, newFd, newPath, newLength) => {
    const source = context.directory(oldFd, Right.PATH_LINK_SOURCE);
    const target = context.directory(newFd, Right.PATH_LINK_TARGET);
    // As wasmtime: a hard link is made to the name given, never through a last symbolic link.
    if (oldFlags & LOOKUP_SYMLINK_FOLLOW) return Errno.INVAL;
    const from = lookupPath(context, source, oldPath, oldLength, { follow: false, permitted: has(Right.PATH_LINK_SOURCE) });
    const to = lookupPath(context, target, newPath, newLength, { follow: false, permitted: has(Right.PATH_LINK_TARGET), content: false });
    if (from.node === undefined) return Errno.NOENT;
    if (from.node.kind === 'directory') return Errno.PERM;
    if (from.directoryOnly) return Errno.NOTDIR;
    if (from.node.kind === 'file' && from.node.service !== undefined) return Errno.PERM;
    if (to.node !== undefined || to.name === undefined) return Errno.EXIST;
    if (to.directoryOnly || to.parent === undefined) return Errno.NOENT;
    if (from.parent === undefined || from.name === undefined) return Errno.NOENT;
    if (context.vfs.rightsOver(context.rights, from.components, from.node) !== pathRights(context, to.components)) return Errno.NOTCAPABLE;
    context.vfs.link(from.node, from.parent, from.name, to.parent, to.name);
    return Errno.SUCCESS;
  },
  path_readlink: (context, fd, path, length, buffer, bufferLength, result) => {
    const directory = context.directory(fd, 0);
    const { node } = lookupPath(context, directory, path, length, { follow: false, permitted: has(Right.PATH_READLINK) });
    if (node === undefined) return Errno.NOENT;
    if (node.kind !== 'symlink') return Errno.INVAL;
    // A buffer too small gets the start of the target (wasmtime truncates silently too).
    const target = encoder.encode(node.target).subarray(0, bufferLength);
    context.memory.range(buffer, target.length).set(target);
    context.memory.u32(result, target.length);
    return Errno.SUCCESS;
  },
  path_remove_directory: (context, fd, path, length) => {
    const directory = context.directory(fd, 0);
    const target = lookupPath(context, directory, path, length, { follow: false, permitted: has(Right.PATH_REMOVE_DIRECTORY), content: false });
    if (target.components.length <= directory.root.length) return Errno.BUSY;
    if (target.parent === undefined || target.name === undefined) return Errno.INVAL;
    if (target.node === undefined) return Errno.NOENT;
    if (target.node.kind !== 'directory') return Errno.NOTDIR;
    if (target.node.entries.size > 0) return Errno.NOTEMPTY;
    context.vfs.remove(target.parent, target.name);
    return Errno.SUCCESS;
  },
  path_rename: (context, oldFd, oldPath, oldLength, newFd, newPath, newLength) => {
    const source = context.directory(oldFd, 0);
    const target = context.directory(newFd, 0);
    const from = lookupPath(context, source, oldPath, oldLength, { follow: false, permitted: has(Right.PATH_RENAME_SOURCE), content: false });
    const to = lookupPath(context, target, newPath, newLength, { follow: false, permitted: has(Right.PATH_RENAME_TARGET), content: false });
    // A pre-open root (or anything above it) never moves; nor does a directory named by `.` or `..`.
    if (from.components.length <= source.root.length || to.components.length <= target.root.length) return Errno.BUSY;
    if (from.parent === undefined || from.name === undefined || to.parent === undefined || to.name === undefined) return Errno.BUSY;
    const node = from.node;
    if (node === undefined) return Errno.NOENT;
    if (node.kind === 'file' && node.service !== undefined) return Errno.PERM;
    if (node.kind !== 'directory' && (from.directoryOnly || to.directoryOnly)) return Errno.NOTDIR;
    if (node.kind === 'directory' && from.components.length < to.components.length && from.components.every((part, index) => to.components[index] === part)) return Errno.INVAL;
    const existing = to.node;
    // The same name, or another name of the same file: nothing to do (POSIX).
    if (existing === node) return Errno.SUCCESS;
    if (existing !== undefined) {
      if (existing.kind === 'file' && existing.service !== undefined) return Errno.PERM;
      if (node.kind === 'directory') {
        if (existing.kind !== 'directory') return Errno.NOTDIR;
        if (existing.entries.size > 0) return Errno.NOTEMPTY;
      } else if (existing.kind === 'directory') {
        return Errno.ISDIR;
      }
    }
    // Replaces what the new name held; a longer name's bytes are reserved first (ENOSPC changes nothing).
    context.vfs.move(from.parent, from.name, to.parent, to.name);
    return Errno.SUCCESS;
  },
  path_symlink: (context, oldPath, oldLength, fd, newPath, newLength) => {
    const directory = context.directory(fd, 0);
    const contents = pathString(context, oldPath, oldLength);
    const target = lookupPath(context, directory, newPath, newLength, { follow: false, permitted: has(Right.PATH_SYMLINK), content: false });
    // wasmtime refuses absolute targets: such a link could only ever escape.
    if (contents.startsWith('/')) return Errno.PERM;
    if (contents === '') return Errno.NOENT;
    if (target.node !== undefined) return target.directoryOnly && target.node.kind !== 'directory' ? Errno.NOTDIR : Errno.EXIST;
    if (target.parent === undefined || target.name === undefined) return Errno.EXIST;
    if (target.directoryOnly) return Errno.NOENT;
    context.vfs.insert(target.parent, target.name, context.vfs.newSymlink(contents));
    return Errno.SUCCESS;
  },
  path_unlink_file: (context, fd, path, length) => {
    const directory = context.directory(fd, 0);
    const target = lookupPath(context, directory, path, length, { follow: false, permitted: has(Right.PATH_UNLINK_FILE), content: false });
    if (target.parent === undefined || target.name === undefined) return Errno.ISDIR;
    if (target.node === undefined) return Errno.NOENT;
    if (target.node.kind === 'directory') return Errno.ISDIR;
    if (target.directoryOnly) return Errno.NOTDIR;
    if (target.node.kind === 'file' && target.node.service !== undefined) return Errno.PERM;
    context.vfs.remove(target.parent, target.name);
    return Errno.SUCCESS;
  },
});
