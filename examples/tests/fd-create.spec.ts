import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { assertExit, ExampleRunner } from './harness.ts';

describe('fd-create', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('round-trips 10000 bytes through an anonymous veracruz_si.fd_create file', async () => {
    const run = await runner.run('fd-create');
    assertExit(run, 0);
    assert.equal(run.text('/output/pass'), 'pass\n');
  });
});
