import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { normalizePath } from '@veracruz-ts/policy';
import type { ChunkedData, VirtualFileSystem } from '@veracruz-ts/runtime';
import { pathComponents } from '@veracruz-ts/runtime';
import { writeFileAtomicallySync } from '@veracruz-ts/policy/node';

/** A host directory mapped into the VFS (`--dir HOST[::GUEST]`). */
export interface DirMapping {
  /** Absolute host path. */
  host: string;
  /** Normalized absolute guest path. */
  guest: string;
}

/**
 * Parses `HOST[::GUEST]`. Without GUEST the directory appears at the path as written, made
 * absolute inside the VFS: `--dir input` → `/input`, `--dir ./data/in` → `/data/in`, `--dir /tmp/x`
 * → `/tmp/x`, `--dir .` → `/` (Veracruz's FEE loads `-i DIR` at `/DIR` the same way).
 */
export function parseDirArgument(text: string, cwd: string): DirMapping {
  const separator = text.indexOf('::');
  const host = separator === -1 ? text : text.slice(0, separator);
  const guest = separator === -1 ? host : text.slice(separator + 2);
  if (host === '' || guest === '') throw new VeracruzError(Code.InvalidRequest, `--dir ${text}: expected HOST[::GUEST]`);
  return { host: resolve(cwd, host), guest: normalizePath(guest) };
}

/** What was loaded from the host, to find what a run changed: guest file path → sha256. */
export type LoadSnapshot = Map<string, string>;

function digest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Copies the host directory tree into the VFS at the guest path (creating it if the host has none). */
export function loadHostDirectory(vfs: VirtualFileSystem, mapping: DirMapping, snapshot: LoadSnapshot): void {
  const walk = (hostPath: string, guestComponents: string[]): void => {
    const directory = vfs.makeDirectories(guestComponents);
    for (const entry of readdirSync(hostPath, { withFileTypes: true })) {
      const hostChild = join(hostPath, entry.name);
      const stats = statSync(hostChild);
      if (stats.isDirectory()) walk(hostChild, [...guestComponents, entry.name]);
      else if (stats.isFile()) {
        const bytes = readFileSync(hostChild);
        const node = vfs.newFile();
        node.data.write(0, bytes);
        vfs.insert(directory, entry.name, node); // its name counts in the budget too
        snapshot.set(`/${[...guestComponents, entry.name].join('/')}`, digest(bytes));
      }
    }
  };
  let stats;
  try {
    stats = statSync(mapping.host);
  } catch {
    mkdirSync(mapping.host, { recursive: true });
    stats = statSync(mapping.host);
  }
  if (!stats.isDirectory()) throw new VeracruzError(Code.InvalidRequest, `--dir ${mapping.host}: not a directory`);
  walk(mapping.host, pathComponents(mapping.guest));
}

/** The changes written back to the host. */
export interface WriteBackReport {
  written: string[];
  removed: string[];
}

/** A file's contents in chunks of one reused buffer (each written before the next is read). */
function* chunksOf(data: ChunkedData): Generator<Uint8Array> {
  const buffer = new Uint8Array(1 << 20);
  for (let offset = 0; offset < data.size; offset += buffer.length) yield buffer.subarray(0, data.readInto(offset, buffer));
}

/**
 * Writes the guest tree back to the host directory: new and changed files are written, files that
 * were loaded and are gone are removed (and directories the run removed, when empty on the host).
 * Each file is replaced whole or not at all (a temporary file beside it, renamed into place): a
 * full disk leaves the host's copy as it was. Every file is tried; if some could not be written,
 * a VeracruzError naming each of them is thrown at the end. Symbolic links the run made are not
 * written back: a link made inside the isolate could point anywhere on the host.
 */
export function writeBackHostDirectory(vfs: VirtualFileSystem, mapping: DirMapping, snapshot: LoadSnapshot): WriteBackReport {
  const report: WriteBackReport = { written: [], removed: [] };
  const failures: VeracruzError[] = [];
  const present = new Set<string>();
  const base = pathComponents(mapping.guest);
  const walk = (components: string[], hostPath: string): void => {
    const node = vfs.lookup(components);
    if (node === undefined || node.kind === 'symlink') return;
    if (node.kind === 'directory') {
      try {
        mkdirSync(hostPath, { recursive: true });
      } catch (reason) {
        failures.push(new VeracruzError(Code.Internal, `cannot create ${hostPath}: ${(reason as NodeJS.ErrnoException).code ?? String(reason)}`));
        return;
      }
      for (const [name, child] of node.entries) {
        if (child.kind === 'file' && child.service !== undefined) continue;
        walk([...components, name], join(hostPath, name));
      }
      return;
    }
    const guestPath = `/${components.join('/')}`;
    present.add(guestPath);
    const hash = createHash('sha256');
    for (const chunk of chunksOf(node.data)) hash.update(chunk);
    if (snapshot.get(guestPath) === hash.digest('hex')) return;
    try {
      // A new file gets the usual mode (the umask decides); one that exists keeps its own.
      writeFileAtomicallySync(hostPath, chunksOf(node.data), { mode: 0o666 });
      report.written.push(hostPath);
    } catch (reason) {
      failures.push(VeracruzError.from(reason));
    }
  };
  walk(base, mapping.host);
  for (const guestPath of snapshot.keys()) {
    if (present.has(guestPath)) continue;
    const relative = pathComponents(guestPath).slice(base.length);
    const hostPath = join(mapping.host, ...relative);
    rmSync(hostPath, { force: true });
    report.removed.push(hostPath);
    // Remove parent directories that the run removed too (only if now empty on the host).
    for (let depth = relative.length - 1; depth > 0; depth--) {
      const guestDirectory = [...base, ...relative.slice(0, depth)];
      if (vfs.lookup(guestDirectory) !== undefined) break;
      try {
        rmdirSync(join(mapping.host, ...relative.slice(0, depth)));
      } catch {
        break;
      }
    }
  }
  const first = failures[0];
  if (first !== undefined) {
    throw new VeracruzError(first.code, `--dir ${mapping.host}: ${failures.length} file${failures.length === 1 ? '' : 's'} could not be written back ` +
      `(${report.written.length} written): ${failures.map((failure) => failure.rawMessage).join('; ')}`);
  }
  return report;
}
