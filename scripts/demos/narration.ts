// What every demo prints with: numbered steps, indented detail, and a command runner.
import { spawnSync } from 'node:child_process';
import { REPOSITORY_ROOT } from '@veracruz-ts/server';

/** Output helpers for a demo of `steps` steps. */
export function narrator(steps: number): {
  bold: (text: string) => string;
  step: (text: string) => void;
  say: (text: string) => void;
  short: (hex: string) => string;
} {
  const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
  let stepNumber = 0;
  return {
    bold,
    step: (text) => console.log(`\n${bold(`[${++stepNumber}/${steps}] ${text}`)}`),
    say: (text) => console.log(`      ${text}`),
    short: (hex) => `${hex.slice(0, 16)}…`,
  };
}

/** Runs a command from the repository root; returns its stdout, throws with its output if it fails. */
export function run(command: string, args: string[], what: string): string {
  const result = spawnSync(command, args, { cwd: REPOSITORY_ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${what} failed:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}
