import { Right } from '@veracruz-ts/policy';
import { Errno } from '../../vfs/errno.ts';
import type { CreatedDirectory } from '../../vfs/file-system.ts';
import { joinComponents } from '../../vfs/file-system.ts';
import { StreamRegistry } from '../../vfs/streams.ts';
import { KNOWN_RIGHTS, LOOKUP_SYMLINK_FOLLOW, OFLAGS } from '../abi.ts';
import { has, lookupPath } from '../path-arguments.ts';
import { defineSystemCalls } from '../system-call-handler.ts';

/**
 * Opening (and creating, truncating) a file or directory by path. The new descriptor holds the
 * rights asked for, within what the directory descriptor passes on and what the policy grants
 * over the node.
 */
export const PATH_OPEN_CALLS = defineSystemCalls({
  path_open: (context, fd, lookup, path, length, oflags, base, inheriting, fdflags, result) => {
    const directory = context.directory(fd, 0);
    let need = Right.PATH_OPEN;
    if (oflags & OFLAGS.CREAT) need |= Right.PATH_CREATE_FILE;
    if (oflags & OFLAGS.TRUNC) need |= Right.PATH_FILESTAT_SET_SIZE;
    // CREAT|EXCL never follows a last link: a link there, even dangling, is EEXIST (POSIX).
    const exclusive = (oflags & OFLAGS.CREAT) !== 0 && (oflags & OFLAGS.EXCL) !== 0;
    const follow = (lookup & LOOKUP_SYMLINK_FOLLOW) !== 0 && !exclusive;
    const target = lookupPath(context, directory, path, length, { follow, permitted: has(need), missingParents: (oflags & OFLAGS.CREAT) !== 0 });
    // As wasmtime: O_DIRECTORY cannot create or truncate.
    if (oflags & OFLAGS.DIRECTORY && oflags & (OFLAGS.CREAT | OFLAGS.EXCL | OFLAGS.TRUNC)) return Errno.INVAL;
    let node = target.node;
    if (node !== undefined && exclusive) return Errno.EXIST;
    // A last symbolic link that is not followed cannot be opened (POSIX O_NOFOLLOW).
    if (node?.kind === 'symlink') return Errno.LOOP;
    if (node === undefined) {
      const name = target.components[target.components.length - 1];
      if ((oflags & OFLAGS.CREAT) === 0) return Errno.NOENT;
      if (name === undefined || target.directoryOnly) return Errno.ISDIR;
      // Veracruz creates missing parent directories of a created file (none are left if it cannot be).
      const directories: CreatedDirectory[] = [];
      const parent = target.parent ?? context.vfs.makeDirectories(target.components.slice(0, -1), directories);
      try {
        const created = context.vfs.newFile();
        context.vfs.insert(parent, name, created);
        node = created;
      } catch (reason) {
        context.vfs.removeCreated(directories);
        throw reason;
      }
    }
    if (target.directoryOnly && node.kind !== 'directory') return Errno.NOTDIR;
    const limit = directory.rightsInheriting & context.vfs.rightsOver(context.rights, target.components, node);
    const requested = BigInt.asUintN(64, base);
    const rightsBase = Number(requested & KNOWN_RIGHTS) & limit;
    const rightsInheriting = Number(BigInt.asUintN(64, inheriting) & KNOWN_RIGHTS) & limit;
    if (node.kind === 'directory') {
      // A directory is not opened for writing (wasmtime: EISDIR, as the host's open() answers).
      if (oflags & OFLAGS.TRUNC || (requested & BigInt(Right.FD_WRITE)) !== 0n) return Errno.ISDIR;
      context.memory.u32(result, context.table.add({ type: 'directory', components: target.components, root: directory.root, rightsBase, rightsInheriting, flags: fdflags & 0x1f }));
      return Errno.SUCCESS;
    }
    if (oflags & OFLAGS.DIRECTORY) return Errno.NOTDIR;
    // A policy stream is recognised by its file, whichever name (or link) reached it.
    const stream = StreamRegistry.of(context.vfs)?.streamAt(node);
    if (oflags & OFLAGS.TRUNC) {
      // An open input stream is its writers' to append to: it is not emptied under them.
      if (stream?.appendOnly) return Errno.BUSY;
      node.data.truncate(0);
    }
    context.memory.u32(result, context.addFile({ type: 'file', node, path: joinComponents(target.components), rightsBase, rightsInheriting, offset: 0, flags: fdflags & 0x1f, ...(stream === undefined ? {} : { stream }) }));
    return Errno.SUCCESS;
  },
});
