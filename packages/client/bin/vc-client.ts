#!/usr/bin/env node
// vc-client: a principal's command line. Veracruz's flags, plus every isolate check before any
// data leaves (chain to the policy's PAS CA, runtime hash, policy hash). See `vc-client --help`.
import { VeracruzError } from '@veracruz-ts/policy';
import { parseClientArguments, USAGE } from '../src/cli/arguments.ts';
import { runClient } from '../src/cli/run.ts';

let plan;
try {
  plan = parseClientArguments(process.argv.slice(2));
} catch (reason) {
  process.stderr.write(`vc-client: ${VeracruzError.from(reason).message}\n\n${USAGE}\n`);
  process.exit(1);
}
if (plan === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
process.exitCode = await runClient(plan, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
