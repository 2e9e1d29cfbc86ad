import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RIGHTS_READ, RIGHTS_WRITE, type FileRights } from '@veracruz-ts/policy';
import type { GeneratedFiles } from '../generators/files.ts';
import { generateIntersectionSetSum } from '../generators/intersection-set-sum.ts';
import { generateLinearRegression } from '../generators/linear-regression.ts';
import { generateLogisticRegression } from '../generators/logistic-regression.ts';
import { generateMacd } from '../generators/macd.ts';
import { generateNumberStreamAccumulation } from '../generators/number-stream-accumulation.ts';
import { generatePrivateSetIntersection } from '../generators/private-set-intersection.ts';
import { generateReadFile } from '../generators/read-file.ts';
import { generateSha256 } from '../generators/sha256.ts';
import { generateShamirSecretSharing } from '../generators/shamir-secret-sharing.ts';
import { generateSortIntegers } from '../generators/sort-integers.ts';
import { generateSortNumbers } from '../generators/sort-numbers.ts';
import { generateStringEditDistance } from '../generators/string-edit-distance.ts';
import { assertExit, createFileSystem, ExampleRunner } from './harness.ts';

const r = RIGHTS_READ;
const w = RIGHTS_WRITE;
const rights = (entries: Record<string, number>): FileRights[] => Object.entries(entries).map(([file_name, bits]) => ({ file_name, rights: bits }));

/** The "Program rights" column of the README, exactly: each program must succeed with no more than these. */
const DOCUMENTED: { program: string; rights: FileRights[]; files: GeneratedFiles; services?: boolean; output: string }[] = [
  { program: 'linear-regression', rights: rights({ '/input/': r, '/output/': w }), files: generateLinearRegression({ seed: 1, size: 10 }), output: '/output/linear-regression.dat' },
  { program: 'intersection-set-sum', rights: rights({ '/input/': r, '/output/': w }), files: generateIntersectionSetSum({ seed: 1, size: 10 }), output: '/output/intersection-set-sum.dat' },
  { program: 'private-set-intersection', rights: rights({ '/input/': r, '/output/': w }), files: generatePrivateSetIntersection({ seed: 1, size: 10 }), output: '/output/private-set.dat' },
  { program: 'string-edit-distance', rights: rights({ '/input/': r, '/output/': w }), files: generateStringEditDistance({ seed: 1, size: 10 }), output: '/output/string-edit-distance.dat' },
  { program: 'shamir-secret-sharing', rights: rights({ '/input/': r, '/output/': w }), files: generateShamirSecretSharing({ seed: 1, size: 10 }), output: '/output/shamir.dat' },
  { program: 'number-stream-accumulation', rights: rights({ '/input/': r, '/output/': r | w }), files: generateNumberStreamAccumulation({ seed: 1, size: 2 }), output: '/output/accumulation.dat' },
  { program: 'macd', rights: rights({ '/input/': r, '/output/': w }), files: generateMacd({ seed: 1, size: 10 }), output: '/output/macd/series-0.dat' },
  { program: 'logistic-regression', rights: rights({ '/input/': r, '/output/': w }), files: generateLogisticRegression({ seed: 1, size: 10 }), output: '/output/logistic-regression.dat' },
  { program: 'random-source', rights: rights({ '/output/': w }), files: {}, output: '/output/random.dat' },
  { program: 'random-u32-list', rights: rights({ '/output/': w }), files: {}, output: '/output/unsorted_numbers.txt' },
  { program: 'sort-numbers', rights: rights({ '/output/': r | w }), files: generateSortNumbers({ seed: 1 }), output: '/output/sorted_numbers.txt' },
  { program: 'read-file', rights: rights({ '/input/': r, '/output/': r | w, stdout: w }), files: generateReadFile({ seed: 1 }), output: '/output/hello-world-1.dat' },
  { program: 'fd-create', rights: rights({ '/output/': w }), files: {}, output: '/output/pass' },
  { program: 'aes-ctr', rights: rights({ '/output/': r | w, '/services/': w }), files: {}, services: true, output: '/output/aesctr_pass.txt' },
  { program: 'sha256', rights: rights({ '/input/': r, stdout: w }), files: generateSha256({ seed: 1, size: 100 }), output: 'stdout' },
  { program: 'sort-integers', rights: rights({ '/input/': r, '/output/': w }), files: generateSortIntegers({ seed: 1, size: 10 }), output: '/output/sorted.bin' },
];

describe('the rights documented in the README', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  for (const entry of DOCUMENTED) {
    it(`are enough for ${entry.program}`, async () => {
      const vfs = createFileSystem(entry.files, entry.services ? { services: true } : {});
      const run = await runner.run(entry.program, { vfs, rights: entry.rights });
      assertExit(run, 0);
      assert.ok(run.read(entry.output).length > 0, `${entry.output} is empty`);
    });
  }
});
