import type { ChunkedData } from './chunked-data.ts';
import type { NativeService } from '../services/native-service.ts';

/**
 * Timestamps of a node in nanoseconds since the epoch. A node starts at {@link DEFAULT_FILE_TIME};
 * only a program's explicit `*_filestat_set_times` changes them.
 */
export interface NodeTimes {
  accessed: bigint;
  modified: bigint;
  changed: bigint;
}

/** A directory: named children. Directories have exactly one name (no hard links to them). */
export interface DirectoryNode {
  kind: 'directory';
  inode: number;
  entries: Map<string, VfsNode>;
  times: NodeTimes;
  /** See {@link FileNode.nameBytes}. */
  nameBytes: number;
  /**
   * The directory holding this one and the name it has there; undefined for the root and for a
   * removed directory. Kept so that the paths of a hard-linked file can be computed from its names.
   */
  parent?: DirectoryNode | undefined;
  name?: string | undefined;
}

/**
 * Where a node with several names (hard links) is named: directory → names in it. Recorded from
 * the first `path_link` on; a node with one name has none (its one path is the one used to reach it).
 */
export type NodeNames = Map<DirectoryNode, Set<string>>;

/**
 * A regular file, or a service's special file when `service` is set: writing a complete request
 * to it runs the service (the bytes collect in `data` until they parse).
 */
export interface FileNode {
  kind: 'file';
  inode: number;
  data: ChunkedData;
  times: NodeTimes;
  service?: NativeService;
  /** How many directory entries name this file (0: an anonymous or fully unlinked file). */
  nlink: number;
  /**
   * How many program descriptors have this file open. A file is gone, and its bytes return to the
   * budget, when it has neither a name nor an open descriptor.
   */
  open: number;
  /**
   * Bytes of this node's names counted in the budget (a node put into a directory's `entries`
   * directly, not through `VirtualFileSystem.insert`, has none to give back).
   */
  nameBytes: number;
  /** Every name, once the file has had more than one. */
  names?: NodeNames;
}

/** A symbolic link: a relative path, resolved when a lookup follows it. */
export interface SymlinkNode {
  kind: 'symlink';
  inode: number;
  /** The link's contents as given to `path_symlink` (never absolute). */
  target: string;
  times: NodeTimes;
  /** How many directory entries name this link (hard links to a symbolic link are allowed, as in POSIX). */
  nlink: number;
  /** See {@link FileNode.nameBytes}. */
  nameBytes: number;
  /** Every name, once the link has had more than one. */
  names?: NodeNames;
}

/** Any node of the tree. */
export type VfsNode = DirectoryNode | FileNode | SymlinkNode;

/** A node that is not a directory, so can have several names. */
export type LinkableNode = FileNode | SymlinkNode;

/**
 * The time every node starts with: 2000-01-01T00:00:00Z. Not the clock, so that file metadata
 * tells nothing about time to a principal whose policy disables clocks, and runs stay
 * deterministic; not 0, so that a program can subtract a duration from a file time (Rust's
 * `modified()? - Duration` panicked on 0).
 */
export const DEFAULT_FILE_TIME = 946_684_800_000_000_000n;
