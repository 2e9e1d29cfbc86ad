import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { KEEP_IDLE_MS, MAX_KEPT_BUFFER_BYTES, ResponseBuffers } from './response-buffers.ts';

const MIB = 1024 * 1024;

describe('ResponseBuffers', () => {
  it('reuses a buffer of the same length, charged to the budget only while idle', () => {
    const budget = new MemoryBudget(64 * MIB, 0);
    const buffers = new ResponseBuffers(budget);
    const first = buffers.take(MIB);
    buffers.give(first.buffer as ArrayBuffer);
    assert.equal(budget.usage().responses, MIB);
    const second = buffers.take(MIB);
    assert.equal(second.buffer, first.buffer, 'the same memory, not fresh pages');
    assert.equal(budget.usage().responses, 0, 'in use, the response reservation covers it');
    buffers.clear();
  });

  it('keeps at most two buffers, none larger than the cap, and none the budget cannot hold', () => {
    const budget = new MemoryBudget(64 * MIB, 0);
    const buffers = new ResponseBuffers(budget);
    for (let index = 0; index < 3; index++) buffers.give(new ArrayBuffer(MIB));
    assert.equal(budget.usage().responses, 2 * MIB);
    buffers.give(new ArrayBuffer(MAX_KEPT_BUFFER_BYTES + 1));
    assert.equal(budget.usage().responses, 2 * MIB, 'a large one-off reply is not held');
    buffers.clear();
    const tight = new MemoryBudget(64 * MIB, 0);
    tight.reserve(64 * MIB - 1000, 'files');
    const held = new ResponseBuffers(tight);
    held.give(new ArrayBuffer(MIB));
    assert.equal(tight.usage().responses, 0);
  });

  it('gives idle buffers back to the budget after a pause, and at clear', async () => {
    const budget = new MemoryBudget(64 * MIB, 0);
    const buffers = new ResponseBuffers(budget);
    buffers.give(new ArrayBuffer(MIB));
    assert.equal(budget.usage().responses, MIB);
    await sleep(KEEP_IDLE_MS + 100);
    assert.equal(budget.usage().responses, 0);
    buffers.give(new ArrayBuffer(MIB));
    buffers.clear();
    assert.equal(budget.usage().responses, 0);
  });
});
