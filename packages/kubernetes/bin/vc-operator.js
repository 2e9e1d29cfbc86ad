#!/usr/bin/env node
// vc-operator for any Node on PATH: runs bin/vc-operator.ts here, or on the pinned Node 24 (see run-typescript.js).
import { runTypeScript } from '@veracruz-ts/policy/run-typescript';

await runTypeScript(new URL('./vc-operator.ts', import.meta.url));
