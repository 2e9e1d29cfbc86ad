import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { TsmFileSystem } from './tsm.ts';

/** Options for {@link TsmTestDouble.create}. */
export interface TsmTestDoubleOptions {
  /** What the `provider` attribute says. @default 'sev_guest' */
  provider?: string;
}

/**
 * A test double for Linux configfs-tsm, backed by a real temporary directory. It follows the
 * kernel's file protocol so the guest-side code can be tested without TEE hardware:
 * `mkdir` of an entry under the root populates `provider`, `generation` (0) and the other
 * attributes; `inblob` is write-only, takes at most 64 bytes and bumps `generation`; `outblob`,
 * `provider` and `generation` are read-only; reading `outblob` produces a (fake, unsigned) report
 * that embeds the inblob; `rmdir` removes an entry with its attributes. `interfere(n)` makes the
 * next `n` outblob reads race with another writer, as a second process writing the same entry would.
 *
 * The reports it makes are NOT evidence: they are `FAKE-TSM-REPORT` + provider + inblob.
 */
export class TsmTestDouble implements TsmFileSystem {
  /** The directory standing in for `/sys/kernel/config/tsm/report`. */
  readonly root: string;
  readonly #provider: string;
  #pendingRaces = 0;
  /** How many entries were created (each attempt creates one). */
  entriesCreated = 0;

  private constructor(root: string, provider: string) {
    this.root = root;
    this.#provider = provider;
  }

  /** Makes a fresh root in the system temporary directory. */
  static async create(options: TsmTestDoubleOptions = {}): Promise<TsmTestDouble> {
    const parent = await mkdtemp(join(tmpdir(), 'tsm-double-'));
    const root = join(parent, 'report');
    await mkdir(root);
    return new TsmTestDouble(root, options.provider ?? 'sev_guest');
  }

  /** Makes the next `times` outblob reads be preceded by another writer's inblob write. */
  interfere(times: number): void {
    this.#pendingRaces = times;
  }

  /** Removes the temporary directory. */
  async dispose(): Promise<void> {
    await rm(dirname(this.root), { recursive: true, force: true });
  }

  async mkdir(path: string): Promise<void> {
    if (dirname(path) !== this.root) throw fsError('ENOENT', 'mkdir', path);
    await mkdir(path); // EEXIST / ENOENT as the kernel would report them
    this.entriesCreated += 1;
    await writeFile(join(path, 'provider'), `${this.#provider}\n`);
    await writeFile(join(path, 'generation'), '0\n');
    await writeFile(join(path, 'privlevel_floor'), '0\n');
    await writeFile(join(path, 'auxblob'), new Uint8Array());
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const entry = await this.#entryOf(path, 'open');
    const attribute = basename(path);
    if (attribute === 'inblob') {
      if (data.length > 64) throw fsError('EINVAL', 'write', path);
      await writeFile(join(entry, 'inblob'), data);
      await rm(join(entry, 'outblob'), { force: true }); // a new inblob invalidates the cached report
      await this.#bumpGeneration(entry);
      return;
    }
    if (attribute === 'privlevel') {
      await writeFile(path, data);
      await this.#bumpGeneration(entry);
      return;
    }
    throw fsError('EACCES', 'open', path); // outblob, provider, generation and the rest are read-only
  }

  async readFile(path: string): Promise<Uint8Array> {
    const entry = await this.#entryOf(path, 'open');
    const attribute = basename(path);
    if (attribute === 'inblob' || attribute === 'privlevel') throw fsError('EACCES', 'open', path); // write-only
    if (attribute === 'outblob') {
      if (this.#pendingRaces > 0) {
        this.#pendingRaces -= 1;
        await writeFile(join(entry, 'inblob'), new Uint8Array(64).fill(0xee));
        await this.#bumpGeneration(entry);
      }
      const inblob = await readFile(join(entry, 'inblob')).catch(() => Buffer.alloc(0));
      const report = Buffer.concat([Buffer.from(`FAKE-TSM-REPORT ${this.#provider}\n`), inblob]);
      await writeFile(join(entry, 'outblob'), report);
      return new Uint8Array(report);
    }
    return new Uint8Array(await readFile(path));
  }

  async rmdir(path: string): Promise<void> {
    await this.#entryOf(join(path, 'generation'), 'rmdir');
    await rm(path, { recursive: true });
  }

  async #entryOf(path: string, syscall: string): Promise<string> {
    const entry = dirname(path);
    if (dirname(entry) !== this.root) throw fsError('ENOENT', syscall, path);
    const exists = await stat(entry).then(() => true, () => false);
    if (!exists) throw fsError('ENOENT', syscall, path);
    return entry;
  }

  async #bumpGeneration(entry: string): Promise<void> {
    const current = Number((await readFile(join(entry, 'generation'), 'utf8')).trim());
    await writeFile(join(entry, 'generation'), `${current + 1}\n`);
  }
}

function fsError(code: string, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}
