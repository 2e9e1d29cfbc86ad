#!/usr/bin/env node
/** vc-operator: a fleet on Kubernetes, its manifests and its operator. See packages/kubernetes/README.md. */
import { main } from '../src/cli.ts';

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
