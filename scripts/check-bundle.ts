// Part of `npm test`: builds the isolate bundle if an input changed, prints its size, third-party
// share and own source lines, and fails when any exceeds packages/runtime/bundle-budget.json.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRuntimeBundle, bundleOverBudget, describeFigures, parseBundleBudget, REPOSITORY_ROOT } from '@veracruz-ts/runtime/bundle';

const budgetFile = join(REPOSITORY_ROOT, 'packages/runtime/bundle-budget.json');
try {
  const budget = parseBundleBudget(await readFile(budgetFile, 'utf8'));
  const bundle = await buildRuntimeBundle();
  console.log(`runtime bundle: ${describeFigures(bundle.figures)}`);
  const over = bundleOverBudget(bundle.figures, budget);
  if (over.length > 0) {
    console.error(`runtime bundle over budget (packages/runtime/bundle-budget.json):\n${over.map((line) => `  - ${line}`).join('\n')}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`check-bundle: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
