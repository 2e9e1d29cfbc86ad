import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { StorageQuota } from './storage-quota.ts';

describe('StorageQuota', () => {
  it('reserves all or nothing and gives back what it holds', () => {
    const budget = new MemoryBudget(100, 0);
    const quota = new StorageQuota(budget, 'stdout');
    quota.reserve(60);
    assert.throws(() => quota.reserve(41), /ENOSPC/);
    assert.deepEqual([quota.used, budget.usage().stdout], [60, 60]);
    quota.release(60);
    assert.deepEqual([quota.used, budget.free], [0, 100]);
  });

  it('does not hide a release of more than it holds: it returns what it holds and throws', () => {
    const budget = new MemoryBudget(100, 0);
    const quota = new StorageQuota(budget);
    quota.reserve(10);
    assert.throws(() => quota.release(11), /^Error: internal: 11 bytes of files returned to the memory budget, but only 10 were held$/);
    assert.deepEqual([quota.used, budget.free, budget.usage().files], [0, 100, 0]);
  });
});
