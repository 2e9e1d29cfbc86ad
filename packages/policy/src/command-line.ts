/**
 * What every command-line tool of the project says the same way: usage errors (one line, exit
 * status 2, a pointer to `--help`, never Node's raw `parseArgs` text), `--version`, and the
 * timestamp that starts each log line of a long-running service. Pure text, no Node built-ins, so
 * the package stays browser-safe; the tools do the printing.
 */

import { VeracruzError } from '@veracruz-ts/core';

/** The exit status of a usage error (unknown option, missing value, wrong arguments), in every tool. */
export const EXIT_USAGE = 2;

/** A usage error: the tool prints {@link usageErrorLine} and exits with {@link EXIT_USAGE}. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** What `node:util` `parseArgs` says, by error code, turned into one short sentence. */
const PARSE_ARGS_MESSAGES: readonly { code: string; pattern: RegExp; sentence: (option: string) => string }[] = [
  { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION', pattern: /option '([^']+)'/i, sentence: (option) => `unknown option '${option}'` },
  {
    code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
    pattern: /'([^']+)' argument is ambiguous/,
    sentence: (option) => `option '${option}' needs a value (for a value that starts with '-', write ${option}=VALUE)`,
  },
  { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', pattern: /'(?:-\w, )?(-[^' ]+)(?: <value>)?' argument missing/, sentence: (option) => `option '${option}' needs a value` },
  { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', pattern: /'([^']+)' does not take an argument/, sentence: (option) => `option '${option}' takes no value` },
  { code: 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL', pattern: /argument '([^']*)'/, sentence: (argument) => `unexpected argument '${argument}'` },
];

/**
 * The sentence for an error thrown by Node's `parseArgs` (`unknown option '--foo'`), or undefined
 * when `error` is not one. Node's own text is long and capitalised differently in each case.
 */
export function parseArgsErrorMessage(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (!code.startsWith('ERR_PARSE_ARGS_')) return undefined;
  const message = error instanceof Error ? error.message : '';
  for (const known of PARSE_ARGS_MESSAGES) {
    const match = known.code === code ? known.pattern.exec(message) : null;
    if (match !== null) return known.sentence(match[1] ?? '');
  }
  const firstLine = message.split('\n')[0] ?? '';
  return firstLine.charAt(0).toLowerCase() + firstLine.slice(1);
}

/**
 * Turns a `parseArgs` error into a {@link UsageError}; returns anything else unchanged, so it can be
 * used as `catch (error) { throw asUsageError(error); }`.
 */
export function asUsageError(error: unknown): unknown {
  const message = parseArgsErrorMessage(error);
  return message === undefined ? error : new UsageError(message);
}

/**
 * How a tool's command ends when it throws: a usage error as {@link usageErrorLine} and
 * {@link EXIT_USAGE}, anything else as `tool: [code] message` and 1. Writes the line with `stderr`
 * and returns the exit status.
 */
export function failedCommand(tool: string, error: unknown, stderr: (text: string) => void): number {
  const usage = error instanceof UsageError ? error.message : parseArgsErrorMessage(error);
  if (usage !== undefined) {
    stderr(usageErrorLine(tool, usage));
    return EXIT_USAGE;
  }
  stderr(`${tool}: ${VeracruzError.from(error).message}\n`);
  return 1;
}

/** The line a tool prints on stderr for a usage error: `vc-pgen: unknown option '--foo' (see vc-pgen --help)`. */
export function usageErrorLine(tool: string, message: string): string {
  return `${tool}: ${message} (see ${tool} --help)\n`;
}

/** The line a tool prints for `-V`/`--version`: its name and its package's version. */
export function versionLine(tool: string, version: string): string {
  return `${tool} ${version}\n`;
}

/** What a tool prints for `--help` (its usage) or `-V`/`--version` in `argv`, or undefined when neither is asked for. */
export function helpOrVersion(argv: readonly string[], tool: string, usage: string, version: string): string | undefined {
  if (argv.includes('--help')) return `${usage}\n`;
  if (argv.includes('-V') || argv.includes('--version')) return versionLine(tool, version);
  return undefined;
}

/** A log line of a long-running service, led by the time it is written (ISO 8601, UTC). */
export function timestamped(line: string, at: Date): string {
  return `${at.toISOString()} ${line}`;
}

/** One option, as `--help` describes it. */
export interface OptionHelp {
  /** Its spellings, short first: `['-c', '--certificate']`. */
  names: readonly string[];
  /** The value it takes, if any: `FILE`. */
  value?: string;
  /** What it does. */
  help: string;
  /** What applies when it is not given, in words; left out for actions such as `--help`. */
  default?: string;
}

/** Splits text into lines of at most `width` characters at spaces (longer words stay whole; empty text is one empty line). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

/**
 * The options part of a `--help` text: each option's spellings and value, then what it does and
 * its default, wrapped to 100 columns.
 */
export function formatOptions(options: readonly OptionHelp[]): string {
  const column = 34;
  return options
    .map((option) => {
      const head = `  ${option.names.join(', ')}${option.value === undefined ? '' : ` ${option.value}`}`;
      const text = option.default === undefined ? option.help : `${option.help}. Default: ${option.default}.`;
      const body = wrapWords(text, 100 - column);
      const first = head.length < column - 1 ? `${head.padEnd(column)}${body.shift() ?? ''}` : head;
      return [first, ...body.map((line) => `${' '.repeat(column)}${line}`)].join('\n');
    })
    .join('\n');
}
