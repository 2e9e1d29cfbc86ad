#!/usr/bin/env node
// vc-pgen for any Node on PATH: runs bin/vc-pgen.ts here, or on the pinned Node 24 (see run-typescript.js).
import { runTypeScript } from '@veracruz-ts/policy/run-typescript';

await runTypeScript(new URL('./vc-pgen.ts', import.meta.url));
