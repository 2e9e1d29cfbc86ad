/**
 * The streams of a computation: the files its policy declares streams (`streams`), each with its
 * {@link StreamState}. Their files exist, empty, from the start, so that a program can open one before
 * any writer arrives. The WASI layer finds the registry of the file system it serves through
 * {@link StreamRegistry.of}; a file system whose policy declares no stream has none, and reads and
 * writes there go exactly as before.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';
import { type FileRights, hasRights, normalizePath, type PolicyIdentity, type PolicyStream, Right, streamWriters } from '@veracruz-ts/policy';
import { FsFailure } from './errno.ts';
import { pathComponents, type VirtualFileSystem } from './file-system.ts';
import type { FileNode } from './nodes.ts';
import { StreamState } from './streams-state.ts';

export { StreamState, type StreamEnd, type StreamStatus, type StreamWaitResult } from './streams-state.ts';

const registries = new WeakMap<VirtualFileSystem, StreamRegistry>();

/** The policy streams of one file system (see the file comment). */
export class StreamRegistry {
  readonly #vfs: VirtualFileSystem;
  readonly #streams = new Map<string, StreamState>();

  /**
   * Creates the (empty) file of every stream of `policy` in `vfs` and registers the streams there.
   * Throws VeracruzError(InvalidPolicy) when a stream's path is taken by a directory or a service's
   * special file, or lies under a file.
   */
  constructor(policy: { streams: readonly PolicyStream[]; identities: readonly Pick<PolicyIdentity, 'id' | 'file_rights'>[] }, vfs: VirtualFileSystem) {
    this.#vfs = vfs;
    for (const stream of policy.streams) {
      const components = pathComponents(stream.path);
      this.#create(stream.path, components);
      const state = new StreamState(stream, streamWriters(policy, stream.path), () => this.#fileAt(components));
      this.#streams.set(stream.path, state);
    }
    if (this.#streams.size > 0) registries.set(vfs, this);
  }

  /** The registry of `vfs`'s streams, or undefined when its policy declares none. */
  static of(vfs: VirtualFileSystem): StreamRegistry | undefined {
    return registries.get(vfs);
  }

  /** Every stream, in policy order. */
  get streams(): Iterable<StreamState> {
    return this.#streams.values();
  }

  /** The stream at `path` (compared after normalisation), if it is one. */
  get(path: string): StreamState | undefined {
    return this.#streams.get(normalizePath(path));
  }

  /** The stream whose file `node` is now (under whichever name it was reached), if any. */
  streamAt(node: FileNode): StreamState | undefined {
    for (const stream of this.#streams.values()) if (stream.file === node) return stream;
    return undefined;
  }

  /** A session ended: `on_writer_disconnect` applies to the streams it appended to, and its waits end. */
  sessionEnded(session: object): void {
    for (const stream of this.#streams.values()) stream.sessionEnded(session);
  }

  /** A program's process (`owner`) ended: it reads no stream any more, and its waits end. */
  ownerGone(owner: object): void {
    for (const stream of this.#streams.values()) stream.ownerGone(owner);
  }

  /**
   * A run with `rights` starts: the output streams it may write (FD_WRITE) open again until
   * {@link runFinished}; returns them. Failed reads counted before are forgotten.
   */
  runStarting(rights: readonly FileRights[]): StreamState[] {
    const written: StreamState[] = [];
    for (const stream of this.#streams.values()) {
      stream.takeFailedProgramReads();
      if (stream.isOutput && hasRights(rights, stream.path, Right.FD_WRITE)) {
        stream.runStarted();
        written.push(stream);
      }
    }
    return written;
  }

  /** The run that wrote `streams` finished: they have ended, or failed for `failure` (the run did not exit normally). */
  runFinished(streams: readonly StreamState[], failure?: string): void {
    for (const stream of streams) stream.runFinished(failure);
  }

  /** The failed streams from which a program got EIO since the run started. */
  takeFailedReads(): StreamState[] {
    return [...this.#streams.values()].filter((stream) => stream.takeFailedProgramReads() > 0);
  }

  #fileAt(components: readonly string[]): FileNode | undefined {
    try {
      const node = this.#vfs.lookup(components);
      return node?.kind === 'file' ? node : undefined;
    } catch (reason) {
      // A file where a directory of the path should be: the stream's file is not there.
      if (reason instanceof FsFailure) return undefined;
      throw reason;
    }
  }

  #create(path: string, components: string[]): void {
    const name = components.at(-1)!;
    try {
      const existing = this.#vfs.lookup(components);
      if (existing === undefined) {
        const parent = this.#vfs.makeDirectories(components.slice(0, -1));
        this.#vfs.insert(parent, name, this.#vfs.newFile());
        return;
      }
      if (existing.kind === 'file' && existing.service === undefined) return;
    } catch (reason) {
      if (!(reason instanceof FsFailure)) throw reason;
      throw new VeracruzError(Code.InvalidPolicy, `streams: ${path} cannot be created: ${reason.message}`, { cause: reason });
    }
    throw new VeracruzError(Code.InvalidPolicy, `streams: ${path} is taken by a directory or a service's special file, not a file`);
  }
}
