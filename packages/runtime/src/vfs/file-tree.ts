import type { FileRights, StdStream } from '@veracruz-ts/policy';
import type { DirectoryNode, FileNode, VfsNode } from './nodes.ts';
import type { Resolution, ResolveOptions } from './path-resolution.ts';
import type { StorageQuota } from './storage-quota.ts';

/**
 * What each file, directory or symbolic link, and each further name of a file (hard link), counts
 * against the budget besides its contents, its name's bytes and a link's target, so that a program
 * creating names without end also meets the budget.
 */
export const NODE_BYTES = 256;

/** The absolute path of a component list. */
export function joinComponents(components: readonly string[]): string {
  return `/${components.join('/')}`;
}

/** A directory created on the way to a path, so that it can be removed again if the operation fails. */
export interface CreatedDirectory {
  parent: DirectoryNode;
  name: string;
  directory: DirectoryNode;
}

/**
 * The operations of the shared file tree that a principal's view builds on. The tree
 * (`VirtualFileSystem`) implements it; views depend on this interface, not on the tree's class.
 */
export interface FileTree {
  /** The account the tree's files and names are counted against. */
  readonly quota: StorageQuota;
  /** The node of a standard stream. */
  stream(name: StdStream): FileNode;
  /** A new detached empty file with one name to come. */
  newFile(): FileNode;
  /** Puts `node` into `parent` under `name`. */
  insert(parent: DirectoryNode, name: string, node: VfsNode): void;
  /** Removes `name` from `parent`, returning the node it named. */
  remove(parent: DirectoryNode, name: string): VfsNode | undefined;
  /** Resolves a relative path, following symbolic links within `options.root`. */
  resolve(options: ResolveOptions, path: string): Resolution;
  /** The rights `rights` give over the node at `components` (every name of a hard-linked file counts). */
  rightsOver(rights: readonly FileRights[], components: readonly string[], node: VfsNode | undefined): number;
  /** The directory at `components`, creating missing ones (all or nothing); created ones are added to `created`. */
  makeDirectories(components: readonly string[], created?: CreatedDirectory[]): DirectoryNode;
  /** Removes directories {@link makeDirectories} created, where they are still there and empty. */
  removeCreated(created: readonly CreatedDirectory[]): void;
  /** Writes `data` to a file node at `offset` (a service's special file serves the request with `writer`'s rights). */
  writeNode(node: FileNode, offset: number, data: Uint8Array, writer: readonly FileRights[]): void;
}
