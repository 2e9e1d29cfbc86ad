/**
 * Reading a policy's `streams` array: which files are streams, when they end, how much unread data
 * they may hold and what a writer's disconnect does. Each fault names its JSON path
 * (`streams[1].deadline_ms: ...`).
 */
import { invalid, join, ObjectReader, show } from './policy-json-reader.ts';
import { DEFAULT_STREAM_BUFFERED_BYTES } from './policy-defaults.ts';
import type { PolicyStream, WriterDisconnect } from './policy-model.ts';
import { isStdStream, normalizePath } from './rights.ts';

const WRITER_DISCONNECT: readonly WriterDisconnect[] = ['abort', 'close', 'wait'];

function readStream(value: unknown, path: string, unknown: Record<string, unknown>): PolicyStream {
  const entry = new ObjectReader(value, path);
  const written = entry.nonEmptyString('path');
  const at = entry.at('path');
  if (written.includes('\0')) invalid(at, 'contains a NUL character');
  if (isStdStream(written)) invalid(at, `${written} is a standard stream; a policy stream is a file path`);
  if (!written.startsWith('/')) invalid(at, `expected an absolute file path, got ${show(written)}`);
  if (written.endsWith('/')) invalid(at, `${show(written)} names a directory (trailing /); a stream is a file`);
  const normalized = normalizePath(written);
  if (normalized === '/') invalid(at, `${show(written)} is the root directory; a stream is a file`);
  const stream: PolicyStream = {
    path: normalized,
    max_buffered_bytes: entry.has('max_buffered_bytes')
      ? entry.integer('max_buffered_bytes', 1, Number.MAX_SAFE_INTEGER)
      : DEFAULT_STREAM_BUFFERED_BYTES,
    on_writer_disconnect: 'abort',
  };
  if (entry.has('deadline_ms')) stream.deadline_ms = entry.integer('deadline_ms', 1, Number.MAX_SAFE_INTEGER);
  if (entry.has('on_writer_disconnect')) {
    const action = entry.raw('on_writer_disconnect');
    if (!WRITER_DISCONNECT.includes(action as WriterDisconnect)) {
      invalid(entry.at('on_writer_disconnect'), `expected "abort", "close" or "wait", got ${show(action)}`);
    }
    stream.on_writer_disconnect = action as WriterDisconnect;
  }
  entry.collectUnknown(unknown);
  return stream;
}

/**
 * The `streams` entries of a policy (`value` is the field as written; absent reads as []).
 * Refuses a path given twice, and a path under another stream's path (a stream is a file, so
 * nothing lies under it). Unknown entry fields are copied into `unknown` by JSON path.
 */
export function readStreams(value: unknown, path: string, unknown: Record<string, unknown>): PolicyStream[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid(path, `expected an array, got ${show(value)}`);
  const streams = value.map((item, index) => readStream(item, join(path, index), unknown));
  streams.forEach((stream, index) => {
    streams.forEach((other, otherIndex) => {
      if (otherIndex === index) return;
      const here = `${join(path, index)}.path`;
      const there = `${join(path, otherIndex)}.path`;
      if (otherIndex < index && other.path === stream.path) invalid(here, `${stream.path} is already a stream in ${there}`);
      if (other.path.startsWith(`${stream.path}/`)) invalid(here, `${stream.path} is a directory of ${there} (${other.path}); a stream is a file`);
    });
  });
  return streams;
}
