import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RIGHTS_READ } from '@veracruz-ts/policy';
import { assertExit, ExampleRunner } from './harness.ts';

describe('random-source', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('writes 32 random bytes, different on every run', async () => {
    const first = await runner.run('random-source');
    const second = await runner.run('random-source');
    assertExit(first, 0);
    assertExit(second, 0);
    assert.equal(first.read('/output/random.dat').length, 32);
    assert.notDeepEqual(first.read('/output/random.dat'), second.read('/output/random.dat'));
  });

  it('exits 4 when it may not write /output/', async () => {
    const run = await runner.run('random-source', { rights: [{ file_name: '/output/', rights: RIGHTS_READ }] });
    assertExit(run, 4);
    assert.equal(run.exists('/output/random.dat'), false);
  });
});
