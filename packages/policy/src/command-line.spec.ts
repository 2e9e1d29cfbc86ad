import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { EXIT_USAGE, UsageError, asUsageError, failedCommand, formatOptions, parseArgsErrorMessage, timestamped, usageErrorLine, versionLine } from './command-line.ts';

const OPTIONS = { certificate: { type: 'string', short: 'c' }, json: { type: 'boolean' } } as const;

function parseArgsError(args: string[], allowPositionals = false): unknown {
  try {
    parseArgs({ args, options: OPTIONS, strict: true, allowPositionals });
  } catch (error) {
    return error;
  }
  return assert.fail(`parseArgs accepted ${args.join(' ')}`);
}

test('translates every parseArgs error into one short sentence', () => {
  assert.equal(parseArgsErrorMessage(parseArgsError(['--foo'])), "unknown option '--foo'");
  assert.equal(parseArgsErrorMessage(parseArgsError(['--foo'], true)), "unknown option '--foo'");
  assert.equal(parseArgsErrorMessage(parseArgsError(['-z'])), "unknown option '-z'");
  assert.equal(parseArgsErrorMessage(parseArgsError(['-c'])), "option '--certificate' needs a value");
  assert.equal(parseArgsErrorMessage(parseArgsError(['--certificate', '--json'])), "option '--certificate' needs a value (for a value that starts with '-', write --certificate=VALUE)");
  assert.equal(parseArgsErrorMessage(parseArgsError(['--json=yes'])), "option '--json' takes no value");
  assert.equal(parseArgsErrorMessage(parseArgsError(['policy.json'])), "unexpected argument 'policy.json'");
  assert.equal(parseArgsErrorMessage(new Error('something else')), undefined);
  assert.equal(parseArgsErrorMessage('not an error'), undefined);
});

test('asUsageError converts parseArgs errors and passes anything else through', () => {
  const converted = asUsageError(parseArgsError(['--foo']));
  assert.ok(converted instanceof UsageError);
  assert.equal(converted.message, "unknown option '--foo'");
  const other = new Error('disk full');
  assert.equal(asUsageError(other), other);
});

test('usage, version and log lines have one shape in every tool', () => {
  assert.equal(EXIT_USAGE, 2);
  assert.equal(usageErrorLine('vc-pgen', "unknown option '--foo'"), "vc-pgen: unknown option '--foo' (see vc-pgen --help)\n");
  assert.equal(versionLine('vc-fee', '0.1.0'), 'vc-fee 0.1.0\n');
  assert.equal(timestamped('session 1 opened', new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))), '2026-01-02T03:04:05.006Z session 1 opened');
});

test('failedCommand: a usage error is one line and status 2, anything else the tool, the code and the message and status 1', () => {
  const lines: string[] = [];
  const write = (text: string) => lines.push(text);
  assert.equal(failedCommand('vc-x', new UsageError('nothing to do'), write), EXIT_USAGE);
  let parseError: unknown;
  try {
    parseArgs({ args: ['--bogus'], options: {}, strict: true });
  } catch (error) {
    parseError = error;
  }
  assert.equal(failedCommand('vc-x', parseError, write), EXIT_USAGE);
  assert.equal(failedCommand('vc-x', new VeracruzError(Code.NotFound, 'policy.json: no such file'), write), 1);
  assert.deepEqual(lines, [
    'vc-x: nothing to do (see vc-x --help)\n',
    "vc-x: unknown option '--bogus' (see vc-x --help)\n",
    'vc-x: [not_found] policy.json: no such file\n',
  ]);
});

test('formatOptions lays out each option with what it does and its default', () => {
  const text = formatOptions([
    { names: ['-o', '--output-policy-file'], value: 'FILE', help: "where to write the policy; '-' is stdout", default: 'output.json' },
    { names: ['--proxy-attestation-server-cert'], value: 'FILE', help: 'the PAS CA certificate (PEM)', default: 'required' },
    { names: ['--help'], help: 'this text' },
    { names: ['-x'], value: 'DATE', help: 'a long explanation '.repeat(8).trim() },
  ]);
  const lines = text.split('\n');
  assert.equal(lines[0], `${'  -o, --output-policy-file FILE'.padEnd(34)}where to write the policy; '-' is stdout. Default: output.json.`);
  assert.equal(lines[1], '  --proxy-attestation-server-cert FILE');
  assert.equal(lines[2], `${' '.repeat(34)}the PAS CA certificate (PEM). Default: required.`);
  assert.equal(lines[3], `${'  --help'.padEnd(34)}this text`);
  assert.ok(lines.slice(4).every((line) => line.length <= 100), text);
  assert.ok(lines.length > 5, 'long help wraps');
});
