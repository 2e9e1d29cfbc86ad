import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { type FileRights, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import type { GeneratedFiles } from '../generators/files.ts';
import { SeededRandom } from '../generators/random.ts';
import { assertExit, type ExampleRun, ExampleRunner } from './harness.ts';

const ELECTION = '/input/election.dat';
const OUTPUTS = ['/output/tally.json', '/output/bulletin.dat', '/output/election-key.pub', '/output/bulletin.sig'];
/** The rights examples/README.md documents for the program, and stderr for its messages. */
const RIGHTS: FileRights[] = [
  { file_name: '/input/', rights: RIGHTS_READ },
  { file_name: '/output/', rights: RIGHTS_WRITE },
  { file_name: 'stderr', rights: RIGHTS_WRITE },
];

interface Ballot {
  voter: string;
  choice: number;
  nonce: Uint8Array;
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

/** `count` voters' ballots for an election of `options` options, from `seed`. */
function ballots(seed: number, count: number, options: number): Ballot[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, (_, i) => ({ voter: String(100 + i), choice: random.nextInt(options), nonce: random.bytes(32) }));
}

function electionFiles(options: number, cast: readonly Ballot[], extra: GeneratedFiles = {}): GeneratedFiles {
  const files: GeneratedFiles = { [ELECTION]: u32(options), ...extra };
  for (const ballot of cast) files[`/input/ballots/${ballot.voter}`] = Buffer.concat([u32(ballot.choice), ballot.nonce]);
  return files;
}

/** The commitment a voter looks for on the bulletin: SHA-256(nonce || choice u32 LE). */
function commitment(ballot: Ballot): Buffer {
  return createHash('sha256').update(ballot.nonce).update(u32(ballot.choice)).digest();
}

/** Node's Ed25519 public key from the raw 32 bytes the program published. */
function ed25519PublicKey(raw: Uint8Array) {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/** A run of the program over `files`, its system calls traced. */
function vote(runner: ExampleRunner, files: GeneratedFiles): Promise<ExampleRun> {
  return runner.run('private-voting', { files, rights: RIGHTS, trace: true });
}

describe('private-voting', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('publishes the tally and the sorted commitments, signed by a key that never leaves the isolate', async () => {
    const options = 4;
    const valid = ballots(11, 25, options);
    // Spoilt ballots: a choice out of range, and one a byte short.
    const spoilt: GeneratedFiles = {
      '/input/ballots/900': Buffer.concat([u32(options), new Uint8Array(32)]),
      '/input/ballots/901': Buffer.concat([u32(1), new Uint8Array(31)]),
    };
    const run = await vote(runner, electionFiles(options, valid, spoilt));
    assertExit(run, 0);

    const counts = Array.from({ length: options }, (_, option) => valid.filter((ballot) => ballot.choice === option).length);
    const tally = run.read('/output/tally.json');
    assert.equal(new TextDecoder().decode(tally), `${JSON.stringify({ options, counts, invalid: 2, ballots: 27 })}\n`);
    const bulletin = run.read('/output/bulletin.dat');
    assert.deepEqual(Buffer.from(bulletin), Buffer.concat(valid.map(commitment).sort(Buffer.compare)));

    // Anyone checks the signature over both files with the published key.
    const publicKey = ed25519PublicKey(run.read('/output/election-key.pub'));
    const signature = run.read('/output/bulletin.sig');
    assert.equal(signature.length, 64);
    const signed = (t: Uint8Array, b: Uint8Array) => createHash('sha256').update(t).update(b).digest();
    assert.equal(verify(null, signed(tally, bulletin), publicKey, signature), true);
    const altered = Buffer.from(tally);
    altered[altered.indexOf('"invalid":2') + 10] = '3'.charCodeAt(0);
    assert.equal(verify(null, signed(altered, bulletin), publicKey, signature), false);

    // The program asked for the private key and was refused; it exits 1 when it is not.
    assert.match(run.calls, /^key_export\(.*\) = EPERM$/m);
    assert.doesNotMatch(run.calls, /^key_export\(.*\) = SUCCESS$/m);
  });

  it('makes a new key for every run', async () => {
    const files = electionFiles(2, ballots(12, 3, 2));
    const first = await vote(runner, files);
    const second = await vote(runner, files);
    assertExit(first, 0);
    assertExit(second, 0);
    assert.deepEqual(first.read('/output/tally.json'), second.read('/output/tally.json'));
    assert.notDeepEqual(first.read('/output/election-key.pub'), second.read('/output/election-key.pub'));
  });

  it('tallies an election whose only ballot is empty: invalid, and an empty bulletin', async () => {
    const run = await vote(runner, { [ELECTION]: u32(3), '/input/ballots/7': new Uint8Array(0) });
    assertExit(run, 0);
    assert.equal(new TextDecoder().decode(run.read('/output/tally.json')), '{"options":3,"counts":[0,0,0],"invalid":1,"ballots":1}\n');
    assert.equal(run.read('/output/bulletin.dat').length, 0);
  });

  it('exits 2 without election.dat or the ballots, writing nothing', async () => {
    const files = electionFiles(2, ballots(13, 3, 2));
    delete files[ELECTION];
    const missing = await vote(runner, files);
    assertExit(missing, 2);
    assert.match(missing.stderr, /election\.dat/);
    assert.deepEqual(OUTPUTS.filter((path) => missing.exists(path)), []);
    const noBallots = await vote(runner, { [ELECTION]: u32(2) });
    assertExit(noBallots, 2);
    assert.deepEqual(OUTPUTS.filter((path) => noBallots.exists(path)), []);
  });

  it('exits 3 on a malformed election.dat', async () => {
    assertExit(await vote(runner, electionFiles(0, [])), 3);
    assertExit(await vote(runner, { [ELECTION]: new Uint8Array(5) }), 3);
  });
});
