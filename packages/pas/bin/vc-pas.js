#!/usr/bin/env node
// vc-pas for any Node on PATH: runs bin/vc-pas.ts here, or on the pinned Node 24 (see run-typescript.js).
import { runTypeScript } from '@veracruz-ts/policy/run-typescript';

await runTypeScript(new URL('./vc-pas.ts', import.meta.url));
