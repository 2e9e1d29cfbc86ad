import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { generateShamirSecretSharing, shamirSecret, splitSecret } from '../generators/shamir-secret-sharing.ts';
import { SeededRandom } from '../generators/random.ts';
import { combineShares } from '../reference/gf256.ts';
import { assertExit, ExampleRunner } from './harness.ts';

const OUTPUT = '/output/shamir.dat';
const shareFiles = (shares: Uint8Array[]) => Object.fromEntries(shares.map((share, i) => [`/input/shamir-${i}.dat`, share]));

describe('shamir-secret-sharing', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('recovers the secret the shares were made from', async () => {
    const options = { seed: 5, size: 4096 };
    const run = await runner.run('shamir-secret-sharing', { files: generateShamirSecretSharing(options) });
    assertExit(run, 0);
    assert.deepEqual(run.read(OUTPUT), shamirSecret(options));
  });

  it('recovers it from any threshold-sized subset of the shares', async () => {
    const secret = new TextEncoder().encode('the launch code is 0000');
    const shares = splitSecret(secret, 5, 3, new SeededRandom(9));
    const subset = [shares[4]!, shares[1]!, shares[2]!];
    assert.deepEqual(combineShares(subset), secret, 'reference');
    const run = await runner.run('shamir-secret-sharing', { files: shareFiles(subset) });
    assertExit(run, 0);
    assert.deepEqual(run.read(OUTPUT), secret);
  });

  it('stops at the first missing share number', async () => {
    const secret = new Uint8Array([1, 2, 3, 4]);
    const shares = splitSecret(secret, 2, 2, new SeededRandom(2));
    const run = await runner.run('shamir-secret-sharing', {
      files: { ...shareFiles(shares), '/input/shamir-3.dat': new Uint8Array([0]) /* malformed, but after a gap */ },
    });
    assertExit(run, 0);
    assert.deepEqual(run.read(OUTPUT), secret);
  });

  it('exits 2 with no shares', async () => {
    assertExit(await runner.run('shamir-secret-sharing'), 2);
  });

  it('exits 3 on shares of different lengths, a repeated x or x = 0', async () => {
    const shares = splitSecret(new Uint8Array([7, 7, 7]), 2, 2, new SeededRandom(3));
    assertExit(await runner.run('shamir-secret-sharing', { files: shareFiles([shares[0]!, shares[1]!.subarray(0, 3)]) }), 3);
    assertExit(await runner.run('shamir-secret-sharing', { files: shareFiles([shares[0]!, shares[0]!]) }), 3);
    assertExit(await runner.run('shamir-secret-sharing', { files: shareFiles([new Uint8Array([0, 1, 2, 3])]) }), 3);
  });
});
