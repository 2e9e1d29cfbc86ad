import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_RIGHTS } from '@veracruz-ts/policy';
import { compileC } from '../engine/compile-c.ts';
import { ExecutionEngine } from '../engine/engine.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import { BudgetHold } from './budget-hold.ts';
import { BudgetExceeded, isolateBudget, MemoryBudget, servingReserve } from './memory-budget.ts';

const MIB = 1024 * 1024;

describe('MemoryBudget', () => {
  it('reserves all or nothing, names what it refused, and counts per resource', () => {
    const budget = new MemoryBudget(1000, 0);
    budget.reserve(600, 'files');
    assert.equal(budget.tryReserve(401, 'stdout'), false);
    assert.equal(budget.free, 400, 'a refusal reserves nothing');
    assert.throws(() => budget.reserve(401, 'stdout'), (error: unknown) => {
      assert.ok(error instanceof BudgetExceeded);
      assert.equal(error.resource, 'stdout');
      assert.equal(error.bytes, 401);
      assert.equal(error.sentence, 'the isolate\'s memory budget (1000 bytes) cannot hold 401 more bytes of stdout');
      return true;
    });
    budget.reserve(400, 'sessions');
    assert.equal(budget.free, 0);
    assert.deepEqual([budget.usage().files, budget.usage().sessions, budget.usage().stdout], [600, 400, 0]);
    budget.release(600, 'files');
    assert.equal(budget.used, 400);
  });

  it('shares its free count with other threads through its control memory', () => {
    const budget = new MemoryBudget(4 * MIB, 0);
    // What a program's rewritten memory.grow does: an atomic subtraction at offset 0.
    Atomics.sub(new BigInt64Array(budget.control.buffer, 0, 1), 0, BigInt(3 * MIB));
    assert.equal(budget.free, MIB);
    assert.equal(budget.tryReserve(MIB + 1, 'files'), false);
    assert.equal(budget.tryReserve(MIB, 'files'), true);
  });

  it('keeps a serving reserve that data may not use, sized by the budget', () => {
    assert.equal(servingReserve(64 * MIB), 16 * MIB);
    assert.equal(servingReserve(256 * MIB), 32 * MIB);
    assert.equal(servingReserve(4096 * MIB), 64 * MIB);
    assert.equal(servingReserve(8 * MIB), 4 * MIB);
    const budget = new MemoryBudget(64 * MIB);
    assert.equal(budget.tryReserve(48 * MIB + 1, 'files'), false);
    assert.equal(budget.tryReserve(48 * MIB, 'files'), true);
    assert.equal(budget.available('stdout'), 0);
    assert.equal(budget.available('responses'), 16 * MIB);
    assert.throws(() => budget.reserve(1, 'program memory'), BudgetExceeded);
    budget.reserve(16 * MIB, 'sessions');
    assert.equal(budget.free, 0);
  });

  it('a hold follows what its holder keeps, and keeps what it had when growth is refused', () => {
    const budget = new MemoryBudget(100, 0);
    const hold = new BudgetHold(budget, 'requests');
    hold.set(70);
    assert.throws(() => hold.set(101), BudgetExceeded);
    assert.equal(hold.bytes, 70);
    hold.set(20);
    assert.equal(budget.free, 80);
    hold.set(0);
    assert.equal(budget.free, 100);
  });
});

describe('the memory budget under running programs', () => {
  let engine: ExecutionEngine;
  let stdoutFlood: Uint8Array;
  let memoryFlood: Uint8Array;
  const rights = [
    { file_name: '/output', rights: ALL_RIGHTS },
    { file_name: 'stdout', rights: ALL_RIGHTS },
  ];

  before(async () => {
    engine = new ExecutionEngine();
    stdoutFlood = await compileC(`#include <stdio.h>
#include <string.h>
static char block[1 << 20];
int main(void) { memset(block, 'x', sizeof block); for (;;) fwrite(block, 1, sizeof block, stdout); }`);
    memoryFlood = await compileC(`#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static char *volatile kept;
int main(void) {
  for (long mib = 0;; mib++) {
    char *block = malloc(1 << 20);
    if (block == NULL) { printf("malloc failed after %ld MiB\\n", mib); return 3; }
    memset(block, 1, 1 << 20);
    kept = block; // escapes, so the compiler cannot drop the allocation
  }
}`);
  });
  after(() => engine.close());

  it('stops a program that floods stdout, names stdout, and keeps other principals\' files', async () => {
    const vfs = new VirtualFileSystem({ budget: new MemoryBudget(32 * MIB, 0) });
    const other = vfs.view([{ file_name: '/input', rights: ALL_RIGHTS }]);
    other.writeFile('/input/theirs.dat', new Uint8Array(3 * MIB).fill(9));
    const outcome = await engine.execute({ vfs, program: stdoutFlood, rights, limits: { timeoutMs: 60_000 } });
    assert.equal(outcome.kind, 'limit');
    assert.match(outcome.kind === 'limit' ? `${outcome.limit}: ${outcome.message}` : '',
      /^budget: the isolate's memory budget \(32 MiB\) refused 1048576 more bytes of stdout; the program kept writing after the refusal$/);
    assert.deepEqual(other.readFile('/input/theirs.dat'), new Uint8Array(3 * MIB).fill(9));
    const stdout = vfs.stream('stdout').data.size;
    assert.ok(stdout > 20 * MIB && stdout <= 29 * MIB, `stdout holds what fitted (${stdout} bytes)`);
    assert.ok(vfs.budget.used <= 32 * MIB);
    // The next run starts with an empty stdout, and the program's memory was given back.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(vfs.budget.usage()['program memory'], 0);
    const again = await engine.execute({ vfs, program: memoryFlood, rights, limits: { timeoutMs: 60_000 } });
    assert.equal(again.kind, 'limit');
    assert.equal(vfs.budget.used, vfs.budget.usage().files + vfs.budget.usage().stdout);
  });

  it('refuses a program\'s memory growth past the budget (malloc fails) and reports program memory', async () => {
    const vfs = new VirtualFileSystem({ budget: new MemoryBudget(24 * MIB, 0) });
    vfs.view([{ file_name: '/input', rights: ALL_RIGHTS }]).writeFile('/input/theirs.dat', new Uint8Array(8 * MIB));
    const outcome = await engine.execute({ vfs, program: memoryFlood, rights, limits: { timeoutMs: 60_000 } });
    assert.equal(outcome.kind, 'limit');
    assert.match(outcome.kind === 'limit' ? `${outcome.limit}: ${outcome.message}` : '',
      /^budget: the isolate's memory budget \(24 MiB\) refused more program memory; the program then exited with code 3$/);
    const printed = new TextDecoder().decode(vfs.stream('stdout').data.toBytes());
    const reached = Number(/after (\d+) MiB/.exec(printed)?.[1]);
    assert.ok(reached >= 10 && reached < 16, `the program got what the budget had left (${reached} MiB)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(vfs.budget.usage()['program memory'], 0);
    assert.equal(vfs.budget.used, vfs.budget.usage().files + vfs.budget.usage().stdout, 'all program memory returned');
  });

  it('does not start a program whose initial memory does not fit', async () => {
    const vfs = new VirtualFileSystem({ budget: new MemoryBudget(64 * 1024, 0) });
    const outcome = await engine.execute({ vfs, program: memoryFlood, rights });
    assert.equal(outcome.kind, 'limit');
    assert.match(outcome.kind === 'limit' ? outcome.message : '', /cannot hold the program's initial memory/);
  });
});

describe('isolateBudget', () => {
  it('makes the policy\'s budget, and refuses one too small to serve, naming the field', () => {
    assert.equal(isolateBudget({ max_memory_mib: 64 }).limit, 64 * MIB);
    assert.throws(() => isolateBudget({ max_memory_mib: 8 }), /\[invalid_policy\] max_memory_mib 8: the isolate's memory budget must be at least 16 MiB/);
  });
});
