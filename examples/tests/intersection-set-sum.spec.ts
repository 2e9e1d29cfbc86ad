import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { decodeF64 } from '../generators/files.ts';
import { generateIntersectionSetSum } from '../generators/intersection-set-sum.ts';
import { intersectionSetSum } from '../reference/intersection-set-sum.ts';
import { assertExit, ExampleRunner } from './harness.ts';

const VIEWERS = '/input/intersection-advertisement-viewer.dat';
const CUSTOMERS = '/input/intersection-customer.dat';
const OUTPUT = '/output/intersection-set-sum.dat';

function viewers(ids: number[]): Uint8Array {
  const out = new Uint8Array(ids.length * 8);
  ids.forEach((id, i) => {
    new DataView(out.buffer).setBigUint64(i * 8, BigInt(id), true);
  });
  return out;
}

function customers(records: [number, number][]): Uint8Array {
  const out = new Uint8Array(records.length * 16);
  const view = new DataView(out.buffer);
  records.forEach(([id, spend], i) => {
    view.setBigUint64(i * 16, BigInt(id), true);
    view.setFloat64(i * 16 + 8, spend, true);
  });
  return out;
}

describe('intersection-set-sum', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('sums the spend of customers who saw the advertisement (generated data)', async () => {
    const files = generateIntersectionSetSum({ seed: 3, size: 5000 });
    const run = await runner.run('intersection-set-sum', { files });
    assertExit(run, 0);
    assert.equal(decodeF64(run.read(OUTPUT))[0], intersectionSetSum(files[VIEWERS]!, files[CUSTOMERS]!));
  });

  it('counts every purchase of a viewer and none of the others', async () => {
    const run = await runner.run('intersection-set-sum', {
      files: { [VIEWERS]: viewers([3, 1, 2, 3]), [CUSTOMERS]: customers([[2, 10.5], [4, 100], [3, 0.25], [2, 1]]) },
    });
    assertExit(run, 0);
    assert.equal(decodeF64(run.read(OUTPUT))[0], 11.75);
  });

  it('gives 0 when no customer saw it', async () => {
    const run = await runner.run('intersection-set-sum', { files: { [VIEWERS]: viewers([]), [CUSTOMERS]: customers([[1, 5]]) } });
    assertExit(run, 0);
    assert.equal(decodeF64(run.read(OUTPUT))[0], 0);
  });

  it('exits 2 when the customer file is missing', async () => {
    assertExit(await runner.run('intersection-set-sum', { files: { [VIEWERS]: viewers([1]) } }), 2);
  });

  it('exits 3 on a partial id or record', async () => {
    assertExit(await runner.run('intersection-set-sum', { files: { [VIEWERS]: viewers([1]).subarray(0, 7), [CUSTOMERS]: customers([]) } }), 3);
    assertExit(await runner.run('intersection-set-sum', { files: { [VIEWERS]: viewers([1]), [CUSTOMERS]: customers([[1, 2]]).subarray(0, 12) } }), 3);
  });
});
