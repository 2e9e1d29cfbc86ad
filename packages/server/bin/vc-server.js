#!/usr/bin/env node
// vc-server for any Node on PATH: runs bin/vc-server.ts here, or on the pinned Node 24 (see run-typescript.js).
import { runTypeScript } from '@veracruz-ts/policy/run-typescript';

await runTypeScript(new URL('./vc-server.ts', import.meta.url));
