import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkImports } from './check-imports.ts';
import { INSTRUMENT_EXPORTS } from './instrument.ts';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { BUDGET_IMPORT, MEMORY_IMPORT, prepareModule } from './prepare-module.ts';
import { concatBytes, encodeName, encodeSection, encodeU32 } from './wasm-binary.ts';

const I32 = 0x7f;
const I64 = 0x7e;

interface ModuleParts {
  types: number[][];
  imports?: number[][];
  functions: number[];
  memory?: number[];
  globals?: number[][];
  exports: number[][];
  bodies: number[][];
}

function vector(items: readonly number[][]): number[] {
  return [...encodeU32(items.length), ...items.flat()];
}

/** Assembles a module from raw section contents. */
function assemble(parts: ModuleParts): Uint8Array {
  const sections = [encodeSection(1, vector(parts.types))];
  if (parts.imports !== undefined) sections.push(encodeSection(2, vector(parts.imports)));
  sections.push(encodeSection(3, [...encodeU32(parts.functions.length), ...parts.functions]));
  if (parts.memory !== undefined) sections.push(encodeSection(5, [1, ...parts.memory]));
  if (parts.globals !== undefined) sections.push(encodeSection(6, vector(parts.globals)));
  sections.push(encodeSection(7, vector(parts.exports)));
  sections.push(encodeSection(10, vector(parts.bodies.map((body) => [...encodeU32(body.length), ...body]))));
  return concatBytes([Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0), ...sections]);
}

const functionType = (params: number[], results: number[]) => [0x60, ...encodeU32(params.length), ...params, ...encodeU32(results.length), ...results];
const importFunction = (module: string, name: string, type: number) => [...encodeName(module), ...encodeName(name), 0, type];
const exportEntry = (name: string, kind: number, index: number) => [...encodeName(name), kind, index];

/**
 * A test module: `_start`; `count(n)` loops n times (with a br_table and a call inside) and returns n;
 * `grow(pages)` returns memory.grow's result; `branchy(n)` loops n times over an if/else with a long and a
 * short arm; `switchy(n)` loops n times over a
 * two-way br_table switch; a defined global precedes the instrumentation's.
 */
function testModule(): Uint8Array {
  return assemble({
    types: [functionType([], []), functionType([I32], [I32]), functionType([I32, I32, I32, I32], [I32])],
    imports: [importFunction('wasi_snapshot_preview1', 'fd_write', 2)],
    functions: [0, 1, 1, 1, 1, 1],
    memory: [0x01, 1, 4],
    globals: [[I32, 1, 0x41, 0, 0x0b]],
    exports: [exportEntry('_start', 0, 1), exportEntry('memory', 2, 0), exportEntry('count', 0, 2), exportEntry('grow', 0, 3), exportEntry('branchy', 0, 5), exportEntry('switchy', 0, 6)],
    bodies: [
      [0, 0x0b],
      [
        1, 1, I32, // one i32 local (the counter)
        0x02, 0x40, 0x03, 0x40, // block loop
        0x20, 1, 0x20, 0, 0x4e, 0x0d, 1, // if counter >= n: br 1 (out)
        0x20, 1, 0x41, 1, 0x6a, 0x21, 1, // counter++
        0x20, 1, 0x10, 4, 0x1a, // call identity, drop
        0x20, 1, 0x41, 1, 0x71, 0x0e, 1, 0, 0, // br_table [0] 0 (both continue the loop)
        0x0b, 0x0b,
        0x20, 1, 0x0b,
      ],
      [0, 0x20, 0, 0x40, 0, 0x0b],
      [0, 0x20, 0, 0x0b],
      [
        1, 2, I32, // local 1: counter, local 2: accumulator
        0x02, 0x40, 0x03, 0x40, // block loop
        0x20, 1, 0x20, 0, 0x4e, 0x0d, 1, // if counter >= n: br 1 (out)
        0x20, 1, 0x41, 1, 0x71, 0x04, 0x40, // if counter is odd
        ...Array.from({ length: 10 }, () => [0x20, 2, 0x41, 3, 0x6a, 0x21, 2]).flat(), // then: 40 instructions
        0x05, 0x20, 2, 0x41, 1, 0x6a, 0x21, 2, // else: a short arm
        0x0b,
        0x20, 1, 0x41, 1, 0x6a, 0x21, 1, // counter++
        0x0c, 0, // continue
        0x0b, 0x0b,
        0x20, 2, 0x0b,
      ],
      [
        1, 2, I32, // local 1: counter, local 2: accumulator
        0x02, 0x40, 0x03, 0x40, // block loop
        0x20, 1, 0x20, 0, 0x4e, 0x0d, 1, // if counter >= n: br 1 (out)
        0x02, 0x40, 0x02, 0x40, 0x02, 0x40, // block (done) block (case 1) block (case 0)
        0x20, 1, 0x41, 1, 0x71, 0x0e, 1, 0, 1, // br_table [case 0] case 1 on the counter's parity
        0x0b,
        ...Array.from({ length: 10 }, () => [0x20, 2, 0x41, 3, 0x6a, 0x21, 2]).flat(), 0x0c, 1, // case 0: 40 instructions, br done
        0x0b,
        ...Array.from({ length: 10 }, () => [0x20, 2, 0x41, 5, 0x6a, 0x21, 2]).flat(), // case 1: 40 instructions
        0x0b,
        0x20, 1, 0x41, 1, 0x6a, 0x21, 1, // counter++
        0x0c, 0, // continue
        0x0b, 0x0b,
        0x20, 2, 0x0b,
      ],
    ],
  });
}

function instantiate(bytes: Uint8Array, maximumPages: number, budget = new MemoryBudget(2 ** 40)): WebAssembly.Instance {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: maximumPages, shared: true });
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: memory, [BUDGET_IMPORT.name]: budget.control },
    wasi_snapshot_preview1: { fd_write: () => 0 },
  });
}

describe('checkImports', () => {
  it('accepts WASI and veracruz_si imports with their signatures', () => {
    const module = assemble({
      types: [functionType([], []), functionType([I32, I32, I32, I32], [I32]), functionType([I32], [I32]), functionType([I32], [])],
      imports: [importFunction('wasi_snapshot_preview1', 'fd_write', 1), importFunction('veracruz_si', 'fd_create', 2), importFunction('wasi_snapshot_preview1', 'proc_exit', 3)],
      functions: [0], memory: [0, 1], exports: [exportEntry('_start', 0, 3), exportEntry('memory', 2, 0)], bodies: [[0, 0x0b]],
    });
    assert.deepEqual(checkImports(module), { unsupported: [] });
  });

  it('names unknown imports, wrong signatures, non-function imports and missing exports', () => {
    const module = assemble({
      types: [functionType([], []), functionType([I32], [I32]), functionType([I64], [I32])],
      imports: [
        importFunction('wasi_snapshot_preview1', 'fd_write', 1),
        importFunction('env', 'host_magic', 1),
        importFunction('wasi_snapshot_preview1', 'fd_close', 2),
        [...encodeName('env'), ...encodeName('memory'), 2, 0, 1],
      ],
      functions: [0], exports: [], bodies: [[0, 0x0b]],
    });
    assert.deepEqual(checkImports(module).unsupported, [
      'wasi_snapshot_preview1.fd_write (wrong signature)', 'env.host_magic', 'wasi_snapshot_preview1.fd_close (wrong signature)',
      'env.memory', 'export _start (missing)', 'export memory (missing)',
    ]);
    assert.deepEqual(checkImports(Uint8Array.of(1, 2, 3)).unsupported, ['module: not a WebAssembly module (bad magic number)']);
  });
});

describe('prepareModule', () => {
  it('imports the memory as shared, capped at the limit, and records refused memory.grow', () => {
    const prepared = prepareModule(testModule(), { maxPages: 2, fuel: false });
    assert.equal(prepared.initialPages, 1);
    assert.equal(prepared.maximumPages, 2);
    assert.ok(WebAssembly.validate(prepared.bytes));
    const instance = instantiate(prepared.bytes, 2);
    const grow = instance.exports.grow as (pages: number) => number;
    const refused = instance.exports[INSTRUMENT_EXPORTS.growRefused] as WebAssembly.Global;
    assert.equal(grow(1), 1);
    assert.equal(refused.value, 0);
    assert.equal(grow(1), -1);
    assert.equal(refused.value, 1);
    assert.equal((instance.exports.count as (n: number) => number)(5), 5);
  });

  it('reserves grown pages in the memory budget first, and fails the grow when they do not fit', () => {
    const prepared = prepareModule(testModule(), { maxPages: 4, fuel: false });
    const budget = new MemoryBudget(2 * 65536 + 100, 0);
    const instance = instantiate(prepared.bytes, 4, budget);
    const grow = instance.exports.grow as (pages: number) => number;
    const budgetRefused = instance.exports[INSTRUMENT_EXPORTS.budgetRefused] as WebAssembly.Global;
    const capRefused = instance.exports[INSTRUMENT_EXPORTS.growRefused] as WebAssembly.Global;
    assert.equal(grow(2), 1, 'two pages fit');
    assert.equal(budget.free, 100);
    assert.equal(budgetRefused.value, 0);
    assert.equal(grow(1), -1, 'a third does not');
    assert.equal(budgetRefused.value, 1);
    assert.equal(capRefused.value, 0, 'the program cap was not the reason');
    assert.equal(budget.free, 100, 'a refused grow gives its reservation back');
    budget.release(2 * 65536, 'program memory');
    assert.equal(grow(2), -1, 'past the cap of 4 pages');
    assert.equal(capRefused.value, 1);
    assert.equal(budget.free, 2 * 65536 + 100, 'a grow refused by the cap gives its reservation back');
  });

  it('leaves the serving reserve to sessions and responses', () => {
    const prepared = prepareModule(testModule(), { maxPages: 4, fuel: false });
    const budget = new MemoryBudget(3 * 65536, 65536);
    const instance = instantiate(prepared.bytes, 4, budget);
    const grow = instance.exports.grow as (pages: number) => number;
    assert.equal(grow(3), -1, 'three pages would eat into the reserve');
    assert.equal(grow(2), 1);
    assert.equal(budget.free, 65536);
    assert.equal(budget.tryReserve(65536, 'responses'), true, 'serving may use the reserve');
  });

  it('refuses a module that is invalid as given or imports its memory', () => {
    const invalid = assemble({ types: [functionType([], [])], imports: [], functions: [0], exports: [], bodies: [[0, 0x6a, 0x0b]], memory: [0x00, 1] });
    assert.throws(() => prepareModule(invalid, { maxPages: 4, fuel: false }), /not a valid WebAssembly module/);
  });

  it('keeps the declared maximum when it is below the cap', () => {
    assert.equal(prepareModule(testModule(), { maxPages: 100, fuel: false }).maximumPages, 4);
  });

  it('meters fuel deterministically and traps with the counter below zero when it runs out', () => {
    const prepared = prepareModule(testModule(), { maxPages: 4, fuel: true });
    assert.ok(WebAssembly.validate(prepared.bytes));
    const used: bigint[] = [];
    for (let round = 0; round < 2; round++) {
      const instance = instantiate(prepared.bytes, 4);
      const fuel = instance.exports[INSTRUMENT_EXPORTS.fuel] as WebAssembly.Global;
      fuel.value = 1_000_000n;
      assert.equal((instance.exports.count as (n: number) => number)(100), 100);
      used.push(1_000_000n - (fuel.value as bigint));
    }
    assert.equal(used[0], used[1]);
    assert.ok((used[0] ?? 0n) > 100n * 10n, `used ${used[0]}`);
    const instance = instantiate(prepared.bytes, 4);
    const fuel = instance.exports[INSTRUMENT_EXPORTS.fuel] as WebAssembly.Global;
    fuel.value = 500n;
    assert.throws(() => (instance.exports.count as (n: number) => number)(1000), /unreachable/);
    assert.ok((fuel.value as bigint) < 0n);
  });

  /** Fuel `count(n)` uses with a metered module, or undefined when `budget` runs out. */
  function fuelUsed(bytes: Uint8Array, name: string, n: number, budget: bigint): bigint | undefined {
    const instance = instantiate(bytes, 4);
    const fuel = instance.exports[INSTRUMENT_EXPORTS.fuel] as WebAssembly.Global;
    fuel.value = budget;
    try {
      (instance.exports[name] as (n: number) => number)(n);
    } catch (error) {
      assert.match(String(error), /unreachable/);
      assert.ok((fuel.value as bigint) < 0n);
      return undefined;
    }
    return budget - (fuel.value as bigint);
  }

  it('charges the same fuel per iteration (linear in the input) and runs out exactly one unit short', () => {
    const { bytes } = prepareModule(testModule(), { maxPages: 4, fuel: true });
    for (const name of ['count', 'branchy', 'switchy']) {
      const used = [0, 10, 20, 40].map((n) => fuelUsed(bytes, name, n, 1_000_000n) ?? -1n);
      const [base = 0n, ten = 0n, twenty = 0n, forty = 0n] = used;
      assert.ok(base > 0n && ten > base, `${name}: ${used.join(' ')}`);
      assert.equal(twenty - ten, ten - base, name);
      assert.equal(forty - twenty, 2n * (twenty - ten), name);
      assert.equal(fuelUsed(bytes, name, 40, forty), forty, name);
      assert.equal(fuelUsed(bytes, name, 40, forty - 1n), undefined, name);
      assert.equal(fuelUsed(bytes, name, 40, forty - 1n), undefined, name);
    }
  });

  it('charges a long if arm only when it is taken, and at least one unit per instruction on it', () => {
    const { bytes } = prepareModule(testModule(), { maxPages: 4, fuel: true });
    const used = (n: number) => fuelUsed(bytes, 'branchy', n, 1_000_000n) ?? 0n;
    const even = used(11) - used(10);
    const odd = used(12) - used(11);
    assert.ok(even > 10n && odd - even >= 36n, `even ${even}, odd ${odd}`);
  });

  it('charges a switch case only when it runs, not every case on every iteration', () => {
    const { bytes } = prepareModule(testModule(), { maxPages: 4, fuel: true });
    const perIteration = (fuelUsed(bytes, 'switchy', 21, 1_000_000n) ?? 0n) - (fuelUsed(bytes, 'switchy', 20, 1_000_000n) ?? 0n);
    assert.ok(perIteration >= 40n && perIteration < 80n, `per iteration ${perIteration}`);
  });
});
