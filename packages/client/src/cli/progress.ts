/** A one-line progress bar for a terminal (stderr): name, bar, percent, bytes, rate. */
export class ProgressBar {
  readonly #write: (text: string) => void;
  readonly #label: string;
  readonly #width: number;
  readonly #started = performance.now();
  #lastDraw = 0;

  constructor(label: string, write: (text: string) => void, width = 30) {
    this.#label = label;
    this.#write = write;
    this.#width = width;
  }

  /** Redraws (at most every 100 ms, and always at completion). */
  update(bytes: number, total: number | undefined): void {
    const now = performance.now();
    const done = total !== undefined && bytes >= total;
    if (!done && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    this.#write(`\r${renderProgress(this.#label, bytes, total, (now - this.#started) / 1000, this.#width)}`);
  }

  /** Ends the line. */
  finish(): void {
    this.#write('\n');
  }
}

const MIB = 1024 * 1024;

/** The text of a progress line (pure, for tests). */
export function renderProgress(label: string, bytes: number, total: number | undefined, seconds: number, width = 30): string {
  const rate = seconds > 0 ? bytes / MIB / seconds : 0;
  const amount = `${(bytes / MIB).toFixed(1)} MiB`;
  if (total === undefined || total === 0) return `${label} ${amount} ${rate.toFixed(1)} MiB/s`;
  const fraction = Math.min(1, bytes / total);
  const filled = Math.round(fraction * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  return `${label} [${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${amount} of ${(total / MIB).toFixed(1)} MiB ${rate.toFixed(1)} MiB/s`;
}
