#!/usr/bin/env node
// vc-client: a principal's command line. Veracruz's flags, plus every isolate check before any
// data leaves (chain to the policy's PAS CA, runtime hash, policy hash). See `vc-client --help`.
import { Code } from '@veracruz-ts/core';
import { EXIT_USAGE, UsageError, usageErrorLine, versionLine } from '@veracruz-ts/policy';
import { parseClientArguments, USAGE } from '../src/cli/arguments.ts';
import { runClient } from '../src/cli/run.ts';
import { runVerify } from '../src/cli/verify.ts';
import { CLIENT_VERSION } from '../src/cli/version.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'verify') {
  try {
    process.exit(await runVerify(argv.slice(1), process));
  } catch (reason) {
    if (!(reason instanceof UsageError)) throw reason;
    process.stderr.write(usageErrorLine('vc-client verify', reason.message));
    process.exit(EXIT_USAGE);
  }
}
let plan;
try {
  plan = parseClientArguments(argv);
} catch (reason) {
  if (!(reason instanceof UsageError)) throw reason; // a bug: let its stack show
  const { message } = reason;
  process.stderr.write(usageErrorLine('vc-client', message));
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({
      vcClient: CLIENT_VERSION, operations: [], error: { code: Code.InvalidRequest, message }, exitStatus: EXIT_USAGE,
    }, null, 2)}\n`);
  }
  process.exit(EXIT_USAGE);
}
if (plan === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (plan === 'version') {
  process.stdout.write(versionLine('vc-client', CLIENT_VERSION));
  process.exit(0);
}
process.exitCode = await runClient(plan, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
