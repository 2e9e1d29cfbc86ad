import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ALL_RIGHTS } from '@veracruz-ts/policy';
import { ExecutionEngine } from '../engine/engine.ts';
import { PROBE_RIGHTS, probeFileSystem, runProbe } from './probe-harness.ts';

// A Rust std program built from ./fixtures/rust-probe.rs (build command in its header): no npm
// package ships prebuilt Rust-std WASI test programs, so the binary is kept beside its source.
const program = new Uint8Array(readFileSync(new URL('./fixtures/rust-probe.wasm', import.meta.url)));
let engine: ExecutionEngine;
before(() => {
  engine = new ExecutionEngine();
});
after(() => engine.close());

describe('WASI for Rust std programs', () => {
  it('does file I/O with std::fs, and refuses writes to a read-only pre-open', async () => {
    const { vfs, root } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['files']);
    assert.deepEqual(run.outcome, { kind: 'exited', exitCode: 0 }, run.stderr);
    // ENOTCAPABLE, the answer to a missing right, is io::ErrorKind::Uncategorized to Rust's std (1.63).
    assert.equal(run.stdout, 'read hello rust tail rust len 10 file true\ninput secret-data\nwrite-input Uncategorized\nmissing NotFound\n');
    assert.equal(new TextDecoder().decode(root.readFile('/input/data.txt')), 'secret-data');
  });

  it('sets file times and reads them back, subtracting durations from them without overflow', async () => {
    const { vfs } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['times']);
    assert.deepEqual(run.outcome, { kind: 'exited', exitCode: 0 }, run.stderr);
    assert.equal(run.stdout, 'fd-set 0 modified true accessed-kept true back 3600\npath-set 0 accessed true modified true\n');
  });

  it('follows symbolic links and keeps hard-linked files with std::fs; a link out of the pre-open is PermissionDenied (EPERM)', async () => {
    const { vfs } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['links']);
    assert.deepEqual(run.outcome, { kind: 'exited', exitCode: 0 }, run.stderr);
    assert.equal(run.stdout, [
      'symlink 0',
      'read-link target.txt',
      'through linked',
      'is-symlink true follows-to-file true',
      'hard-kept linked',
      'dangling NotFound',
      'list hard:file sym:link',
      'escape-link 0',
      'escape PermissionDenied Some(63)',
      'loop Some(32)',
      '',
    ].join('\n'));
  });

  it('creates, lists, renames and removes directory trees', async () => {
    const { vfs } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['dirs']);
    assert.equal(run.stdout, 'list a b c e\nremove-nonempty true\ngone true\n', run.stderr);
  });

  it('sees arguments, environment, clocks, sleep and random-seeded hashing', async () => {
    const { vfs } = probeFileSystem();
    assert.equal((await runProbe(engine, program, vfs, ['args', 'x', 'y'], { env: { GREETING: 'hi' } })).stdout, 'args x,y\nenv hi\n');
    assert.equal((await runProbe(engine, program, vfs, ['time'], { enableClock: true })).stdout, 'time true slept true\n');
    assert.equal((await runProbe(engine, program, vfs, ['hash'])).stdout, 'hash 1\n');
  });

  it('reads stdin, exits with a code, and reports a panic as a trap with its message on stderr', async () => {
    const { vfs, root } = probeFileSystem();
    root.writeFile('stdin', new TextEncoder().encode('quiet'));
    const rights = [...PROBE_RIGHTS, { file_name: 'stdin', rights: ALL_RIGHTS }];
    assert.equal((await runProbe(engine, program, vfs, ['stdin'], { rights })).stdout, 'QUIET');
    assert.deepEqual((await runProbe(engine, program, vfs, ['exit', '7'])).outcome, { kind: 'exited', exitCode: 7 });
    const panic = await runProbe(engine, program, vfs, ['panic']);
    assert.deepEqual(panic.outcome, { kind: 'trapped', message: 'unreachable' });
    assert.match(panic.stderr, /panicked at 'deliberate'/);
  });
});
