import type { BundleFigures } from './figures.ts';

/** Limits the runtime bundle must stay within; committed in `packages/runtime/bundle-budget.json`. */
export interface BundleBudget {
  /** Most bytes the bundle may have. */
  maxBytes: number;
  /** Largest share (0 to 1) of the bundle's bytes that may come from dependencies. */
  maxThirdPartyShare: number;
  /** Most lines of the project's own source files the bundle may draw on. */
  maxOwnSourceLines: number;
}

/**
 * Reads a budget from its JSON text, refusing anything but the three positive numbers so that a
 * typo cannot silently lift a limit.
 */
export function parseBundleBudget(text: string): BundleBudget {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('bundle budget: expected a JSON object');
  const record = value as Record<string, unknown>;
  const keys = ['maxBytes', 'maxThirdPartyShare', 'maxOwnSourceLines'];
  for (const key of Object.keys(record)) if (!keys.includes(key)) throw new Error(`bundle budget: unknown field ${key}`);
  const number = (key: string, max = Number.MAX_SAFE_INTEGER): number => {
    const field = record[key];
    if (typeof field !== 'number' || !Number.isFinite(field) || field <= 0 || field > max) {
      throw new Error(`bundle budget: ${key} must be a number in (0, ${max}]`);
    }
    return field;
  };
  return { maxBytes: number('maxBytes'), maxThirdPartyShare: number('maxThirdPartyShare', 1), maxOwnSourceLines: number('maxOwnSourceLines') };
}

/** Every way `figures` exceeds `budget`, as sentences; empty when within it. */
export function bundleOverBudget(figures: BundleFigures, budget: BundleBudget): string[] {
  const over: string[] = [];
  if (figures.bytes > budget.maxBytes) over.push(`the bundle is ${figures.bytes} bytes; the budget is ${budget.maxBytes}`);
  if (figures.thirdPartyShare > budget.maxThirdPartyShare) {
    over.push(`${percent(figures.thirdPartyShare)} of it is third-party code; the budget is ${percent(budget.maxThirdPartyShare)}`);
  }
  if (figures.ownSourceLines > budget.maxOwnSourceLines) {
    over.push(`it draws on ${figures.ownSourceLines} lines of own source; the budget is ${budget.maxOwnSourceLines}`);
  }
  return over;
}

/** One line with the bundle's headline figures. */
export function describeFigures(figures: BundleFigures): string {
  const kib = (figures.bytes / 1024).toFixed(1);
  return `${figures.bytes} bytes (${kib} KiB), ${percent(figures.thirdPartyShare)} third-party (${figures.packages.map((entry) => `${entry.name} ${entry.bytes}`).join(', ') || 'none'}), ${figures.ownFiles} own files with ${figures.ownSourceLines} source lines`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
