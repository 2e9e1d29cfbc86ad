// Runs every benchmark (`packages/*/bench/*.bench.ts`, `examples/bench/*.bench.ts`) in its own process,
// so one benchmark's heap and V8 flags never colour another's figures. Each prints its own table.
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const only = process.argv.slice(2);
const files = [...globSync('packages/*/bench/*.bench.ts'), ...globSync('examples/bench/*.bench.ts')]
  .sort()
  .filter((file) => only.length === 0 || only.some((name) => file.includes(name)));
let failed = 0;
for (const file of files) {
  console.log(`\n== ${file}`);
  const run = spawnSync(process.execPath, ['--no-liftoff', '--expose-gc', file], { stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
if (failed > 0) {
  console.error(`${failed} benchmark(s) failed`);
  process.exit(1);
}
