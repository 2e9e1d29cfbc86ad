#!/usr/bin/env node
/** vc-pgen: generate, explain and prepare Veracruz policies. See packages/policy/README.md. */
import { main } from '../src/pgen/cli.ts';

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
});
