#!/usr/bin/env -S node --no-liftoff --expose-gc
/** vc-fee: run a WebAssembly/WASI program or pipeline on the Veracruz engine (see packages/runtime/README.md). */
import { main } from '../src/fee/cli.ts';

const status = await main(process.argv.slice(2), {
  stdout: (data) => process.stdout.write(data),
  stderr: (data) => process.stderr.write(data),
  stdin: process.stdin,
  cwd: process.cwd(),
  terminals: { stdin: process.stdin.isTTY === true, stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true },
});
// Exit at once: an untouched stdin (a terminal) must not keep the process waiting.
process.exit(status);
