#!/usr/bin/env node
// vc-cc for any Node on PATH: runs bin/vc-cc.ts here, or on the pinned Node 24 (see run-typescript.js).
import { runTypeScript } from '@veracruz-ts/policy/run-typescript';

await runTypeScript(new URL('./vc-cc.ts', import.meta.url));
