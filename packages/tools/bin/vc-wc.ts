#!/usr/bin/env node
/** vc-wc: check that a WebAssembly program only imports what the Veracruz runtime provides. */
import { main } from '../src/wc/cli.ts';

process.exitCode = main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
