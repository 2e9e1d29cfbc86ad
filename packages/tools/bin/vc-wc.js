#!/usr/bin/env node
// vc-wc for any Node on PATH: runs bin/vc-wc.ts here, or on the pinned Node 24 (see run-typescript.js).
import { runTypeScript } from '@veracruz-ts/policy/run-typescript';

await runTypeScript(new URL('./vc-wc.ts', import.meta.url));
