import type { ChunkedData } from './chunked-data.ts';
import type { NativeService } from '../services/native-service.ts';

/** Timestamps of a node in nanoseconds since the epoch (0 unless a program set them, as in Veracruz). */
export interface NodeTimes {
  accessed: bigint;
  modified: bigint;
  changed: bigint;
}

/** A directory: named children. */
export interface DirectoryNode {
  kind: 'directory';
  inode: number;
  entries: Map<string, VfsNode>;
  times: NodeTimes;
}

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
}

/** Any node of the tree. */
export type VfsNode = DirectoryNode | FileNode;
