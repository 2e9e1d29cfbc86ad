/** Where a progress bar draws: a terminal stream (stderr), or anything with its shape in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  /** Only a terminal gets a bar. */
  isTTY?: boolean;
  /** The terminal's width, read at every redraw (it may be resized). */
  columns?: number;
}

const MIB = 1024 * 1024;

/** Width assumed when a terminal does not say. */
const DEFAULT_COLUMNS = 80;

/**
 * A one-line progress bar on a terminal: label, bar, percent, amount, rate and time left, cut to
 * fit the terminal's width. On a stream that is not a terminal it draws nothing at all; on a
 * terminal, {@link clear} removes it, so the next line (a status line or an error) starts clean.
 * Only `\r` and spaces are written: no escape sequences.
 */
export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #label: string;
  readonly #now: () => number;
  readonly #started: number;
  readonly #enabled: boolean;
  #lastDraw = Number.NEGATIVE_INFINITY;
  #drawn = 0;

  /** `now` (milliseconds) is for tests. */
  constructor(label: string, stream: ProgressStream, now: () => number = () => performance.now()) {
    this.#label = label;
    this.#stream = stream;
    this.#now = now;
    this.#started = now();
    this.#enabled = stream.isTTY === true;
  }

  /** Redraws, at most every 100 ms and always at completion. */
  update(bytes: number, total: number | undefined): void {
    if (!this.#enabled) return;
    const now = this.#now();
    const done = total !== undefined && bytes >= total;
    if (!done && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const line = renderProgress({ label: this.#label, bytes, total, seconds: (now - this.#started) / 1000, columns: this.#columns() });
    // Spaces cover what a longer previous line left, within the width.
    const cover = Math.max(0, Math.min(this.#drawn, this.#columns() - 1) - line.length);
    this.#stream.write(`\r${line}${' '.repeat(cover)}`);
    this.#drawn = line.length;
  }

  /** Removes the bar's line and returns to its start (done or failed alike). */
  clear(): void {
    if (!this.#enabled || this.#drawn === 0) return;
    this.#stream.write(`\r${' '.repeat(this.#drawn)}\r`);
    this.#drawn = 0;
  }

  #columns(): number {
    const columns = this.#stream.columns;
    return columns !== undefined && columns > 0 ? columns : DEFAULT_COLUMNS;
  }
}

/** What a progress line shows. */
export interface ProgressState {
  label: string;
  bytes: number;
  /** Unknown for a stream of unknown length: no bar, no percent, no time left. */
  total: number | undefined;
  /** Seconds since the transfer began. */
  seconds: number;
  /** The terminal's width; the line is at most `columns - 1` long, so it never wraps. @default 80 */
  columns?: number;
}

const MIN_BAR = 10;
const MAX_BAR = 40;
const MIN_LABEL = 12;
const SHORT_LABEL_BAR = 20;

/** `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/** Keeps the end of a label (a path's tail says most), marking the cut with '…'. */
function shorten(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `…${text.slice(text.length - width + 1)}`;
}

/**
 * The text of a progress line (pure, for tests): as much as fits in `columns - 1`, dropping first
 * the rate, then the amount, then shortening the label, then the bar, keeping percent and time left.
 */
export function renderProgress(state: ProgressState): string {
  const width = Math.max(1, (state.columns ?? DEFAULT_COLUMNS) - 1);
  const { label, bytes, total, seconds } = state;
  const rate = seconds > 0 ? bytes / seconds : 0;
  const rateText = `${(rate / MIB).toFixed(1)} MiB/s`;
  if (total === undefined || total === 0) {
    const amount = `${(bytes / MIB).toFixed(1)} MiB`;
    const short = shorten(label, MIN_LABEL);
    return fit([`${label} ${amount} ${rateText}`, `${short} ${amount} ${rateText}`, `${short} ${amount}`, amount], width);
  }
  const fraction = Math.min(1, bytes / total);
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const amount = `${(bytes / MIB).toFixed(1)}/${(total / MIB).toFixed(1)} MiB`;
  const eta = `ETA ${rate > 0 ? formatDuration((total - bytes) / rate) : '--:--'}`;
  const bar = (cells: number): string => {
    const filled = Math.round(fraction * cells);
    return `[${'#'.repeat(filled)}${'.'.repeat(cells - filled)}]`;
  };
  // A shortened label leaves the bar SHORT_LABEL_BAR cells where it can.
  const others = [percent, eta].join(' ').length + 4;
  const shortLabel = shorten(label, Math.max(MIN_LABEL, width - others - SHORT_LABEL_BAR));
  // Richest first; the first layout whose bar gets at least MIN_BAR cells wins.
  for (const [shownLabel, extras] of [
    [label, [amount, rateText]],
    [label, [amount]],
    [label, []],
    [shortLabel, []],
  ] as const) {
    const fixed = [shownLabel, percent, ...extras, eta].join(' ').length + 1;
    const cells = Math.min(MAX_BAR, width - fixed - 2);
    if (cells >= MIN_BAR) return [shownLabel, bar(cells), percent, ...extras, eta].join(' ');
  }
  return fit([`${shorten(label, MIN_LABEL)} ${percent} ${eta}`, `${percent.trimStart()} ${eta}`, percent.trimStart()], width);
}

/** The first candidate that fits, else the last one cut to the width. */
function fit(candidates: string[], width: number): string {
  const line = candidates.find((candidate) => candidate.length <= width) ?? candidates[candidates.length - 1] ?? '';
  return line.slice(0, width);
}
