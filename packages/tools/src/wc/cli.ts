import { readFileSync } from 'node:fs';
import { checkImports } from '@veracruz-ts/runtime';

/** Where the CLI talks to. */
export interface WcIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const USAGE = `usage: vc-wc PROGRAM.wasm
Checks that the runtime can run PROGRAM.wasm: every import must be a wasi_snapshot_preview1 function
(or veracruz_si.fd_create) with the right signature, and it must export _start and memory.
Prints "ok" and exits 0, or lists each problem and exits 1 (2 on a usage error).
`;

/** Runs vc-wc with `argv` (without node and script); returns the exit status. */
export function main(argv: readonly string[], io: WcIo): number {
  if (argv.length !== 1 || argv[0] === '--help' || argv[0] === '-h') {
    (argv[0] === '--help' || argv[0] === '-h' ? io.stdout : io.stderr)(USAGE);
    return argv.length === 1 ? 0 : 2;
  }
  const path = argv[0] as string;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    io.stderr(`vc-wc: cannot read ${path}\n`);
    return 2;
  }
  const { unsupported } = checkImports(bytes);
  if (unsupported.length === 0) {
    io.stdout('ok\n');
    return 0;
  }
  for (const problem of unsupported) io.stdout(`unsupported: ${problem}\n`);
  return 1;
}
