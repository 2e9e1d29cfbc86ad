#!/usr/bin/env node
// vc-client for any Node on PATH: runs bin/vc-client.ts here, or on the pinned Node 24 (see run-typescript.js).
import { runTypeScript } from '@veracruz-ts/policy/run-typescript';

await runTypeScript(new URL('./vc-client.ts', import.meta.url));
