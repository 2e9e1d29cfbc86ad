#!/usr/bin/env node
// vc-fee for any Node on PATH: runs bin/vc-fee.ts here, or on the pinned Node 24 (see run-typescript.js).
import { runTypeScript } from '@veracruz-ts/policy/run-typescript';

await runTypeScript(new URL('./vc-fee.ts', import.meta.url));
