#!/usr/bin/env node
/** vc-cc: compile C programs against vc.h to wasm32-wasip1 with the project's clang. See packages/sdk-c/README.md. */
import { main } from '../src/compile.ts';

process.exitCode = await main(process.argv.slice(2));
