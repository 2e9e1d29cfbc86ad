import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClientArguments, planHasWork } from './arguments.ts';
import { renderProgress } from './progress.ts';

const base = ['policy.json', '-i', 'me.pem', '-k', 'me.key'];

describe('vc-client arguments', () => {
  it('parses Veracruz\'s flags, with renames, lists and stdin/stdout', () => {
    const plan = parseClientArguments([...base, '-p', '/program/lr.wasm=build/lr.wasm', '--data', 'a.dat,/input/b=-',
      '-c', '/program/lr.wasm', '-r', '/output/lr.dat=-', '--results', '/output/x=x.out', '-o', 'stdout=out.txt']);
    assert.ok(plan !== 'help');
    assert.deepEqual(plan.programs, [{ remote: '/program/lr.wasm', local: 'build/lr.wasm' }]);
    assert.deepEqual(plan.data, [{ remote: 'a.dat', local: 'a.dat' }, { remote: '/input/b', local: '-' }]);
    assert.deepEqual(plan.computes, ['/program/lr.wasm']);
    assert.deepEqual(plan.results.map((result) => result.remote), ['/output/lr.dat', '/output/x', 'stdout']);
    assert.equal(plan.shutdown, true, 'results imply shutdown, as in Veracruz');
    assert.equal(plan.quiet, false);
  });

  it('keeps the computation running with -n, and shuts down on -s alone', () => {
    const kept = parseClientArguments([...base, '-r', '/o=-', '-n']);
    assert.ok(kept !== 'help' && kept.shutdown === false);
    const only = parseClientArguments([...base, '-s', '-q']);
    assert.ok(only !== 'help' && only.shutdown && only.quiet && planHasWork(only));
  });

  it('knows when there is nothing to do', () => {
    const plan = parseClientArguments(base);
    assert.ok(plan !== 'help' && !planHasWork(plan));
  });

  it('refuses bad command lines with a reason', () => {
    assert.throws(() => parseClientArguments(['policy.json', '-k', 'k']), /missing --identity/);
    assert.throws(() => parseClientArguments(['-i', 'a', '-k', 'b']), /missing the policy file/);
    assert.throws(() => parseClientArguments([...base, '-r', 'noequals']), /expected REMOTE=LOCAL/);
    assert.throws(() => parseClientArguments([...base, '-d', '-']), /needs a REMOTE= name/);
    assert.throws(() => parseClientArguments([...base, '-s', '-n']), /contradict/);
    assert.throws(() => parseClientArguments([...base, '--bogus']), /\[invalid_request\].*bogus/);
    assert.equal(parseClientArguments(['-h']), 'help');
  });

  it('renders a progress line', () => {
    assert.equal(renderProgress('upload /input/x', 512 * 1024 * 1024, 1024 * 1024 * 1024, 2, 10),
      'upload /input/x [#####.....]  50% 512.0 MiB of 1024.0 MiB 256.0 MiB/s');
    assert.equal(renderProgress('download y', 1024 * 1024, undefined, 1), 'download y 1.0 MiB 1.0 MiB/s');
  });
});
