#!/usr/bin/env node
/** vc-fleet: a network of isolates on this host from one topology file. See packages/fleet/README.md. */
import { main } from '../src/cli.ts';

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
