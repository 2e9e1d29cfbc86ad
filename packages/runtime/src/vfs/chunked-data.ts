/** Size of one storage chunk of a file: writes and reads touch only the chunks they cover. */
export const CHUNK_SIZE = 64 * 1024;

/**
 * The bytes of one file, stored as fixed-size chunks so that a write, an append or a read costs time
 * proportional to the bytes moved, never a copy of the whole file. Chunks never written (holes left by
 * a seek past the end) are not allocated and read as zeros.
 */
export class ChunkedData {
  #chunks: (Uint8Array | undefined)[] = [];
  #size = 0;

  /** The file's length in bytes. */
  get size(): number {
    return this.#size;
  }

  /** Copies up to `target.length` bytes starting at `offset` into `target`; returns how many were copied. */
  readInto(offset: number, target: Uint8Array): number {
    if (offset >= this.#size) return 0;
    const length = Math.min(target.length, this.#size - offset);
    let done = 0;
    while (done < length) {
      const position = offset + done;
      const index = Math.floor(position / CHUNK_SIZE);
      const within = position - index * CHUNK_SIZE;
      const count = Math.min(CHUNK_SIZE - within, length - done);
      const chunk = this.#chunks[index];
      if (chunk === undefined) target.fill(0, done, done + count);
      else target.set(chunk.subarray(within, within + count), done);
      done += count;
    }
    return length;
  }

  /** A copy of up to `length` bytes starting at `offset` (shorter at the end of the file). */
  read(offset: number, length: number): Uint8Array {
    const available = Math.max(0, Math.min(length, this.#size - offset));
    const target = new Uint8Array(available);
    this.readInto(offset, target);
    return target;
  }

  /** The whole file as one new array. */
  toBytes(): Uint8Array {
    return this.read(0, this.#size);
  }

  /** Writes `data` at `offset`, growing the file (zero-filled) as needed. */
  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const position = offset + done;
      const index = Math.floor(position / CHUNK_SIZE);
      const within = position - index * CHUNK_SIZE;
      const count = Math.min(CHUNK_SIZE - within, data.length - done);
      let chunk = this.#chunks[index];
      if (chunk === undefined) {
        while (this.#chunks.length < index) this.#chunks.push(undefined);
        chunk = new Uint8Array(CHUNK_SIZE);
        this.#chunks[index] = chunk;
      }
      chunk.set(data.subarray(done, done + count), within);
      done += count;
    }
    this.#size = Math.max(this.#size, offset + data.length);
  }

  /** Appends `data` at the end of the file. */
  append(data: Uint8Array): void {
    this.write(this.#size, data);
  }

  /** Sets the length: shrinking drops bytes (zeroing the tail of the last kept chunk), growing adds zeros. */
  truncate(size: number): void {
    if (size < this.#size) {
      const keep = Math.ceil(size / CHUNK_SIZE);
      this.#chunks.length = Math.min(this.#chunks.length, keep);
      const last = this.#chunks[keep - 1];
      if (last !== undefined) last.fill(0, size - (keep - 1) * CHUNK_SIZE);
    }
    this.#size = size;
  }
}
