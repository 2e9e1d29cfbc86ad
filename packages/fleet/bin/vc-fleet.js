#!/usr/bin/env node
// vc-fleet for any Node on PATH: runs bin/vc-fleet.ts here, or on the pinned Node 24 (see run-typescript.js).
import { runTypeScript } from '@veracruz-ts/policy/run-typescript';

await runTypeScript(new URL('./vc-fleet.ts', import.meta.url));
