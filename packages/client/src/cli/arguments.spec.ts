import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '@veracruz-ts/policy';
import { type ClientPlan, parseClientArguments, planHasWork, USAGE } from './arguments.ts';

const base = ['policy.json', '-i', 'me.pem', '-k', 'me.key'];

function plan(args: string[]): ClientPlan {
  const parsed = parseClientArguments([...base, ...args]);
  assert.ok(typeof parsed === 'object', `expected a plan, got ${parsed}`);
  return parsed;
}

describe('vc-client arguments', () => {
  it('parses Veracruz\'s flags, with renames, lists and stdin/stdout', () => {
    const parsed = plan(['-p', '/program/lr.wasm=build/lr.wasm', '--data', 'a.dat,/input/b=-',
      '-c', '/program/lr.wasm', '-r', '/output/lr.dat=-', '--results', '/output/x=x.out', '-o', 'stdout=out.txt']);
    assert.deepEqual(parsed.programs, [{ remote: '/program/lr.wasm', local: 'build/lr.wasm' }]);
    assert.deepEqual(parsed.data, [{ remote: '/a.dat', local: 'a.dat' }, { remote: '/input/b', local: '-' }]);
    assert.deepEqual(parsed.computes, ['/program/lr.wasm']);
    assert.deepEqual(parsed.results.map((result) => result.remote), ['/output/lr.dat', '/output/x', 'stdout']);
    assert.equal(parsed.shutdown, true, 'results imply shutdown, as in Veracruz');
    assert.equal(parsed.shutdownAfterResults, true);
    assert.equal(parsed.quiet, false);
  });

  it('uploads a file without REMOTE= to the path as given, as Veracruz does (not to its base name)', () => {
    assert.deepEqual(plan(['-p', 'build/lr.wasm']).programs, [{ remote: '/build/lr.wasm', local: 'build/lr.wasm' }]);
    assert.deepEqual(plan(['-d', '/abs/points.dat']).data, [{ remote: '/abs/points.dat', local: '/abs/points.dat' }]);
  });

  it('takes Veracruz\'s long aliases, -p - from stdin and --result NAME without =', () => {
    const parsed = plan(['--programs', '-', '--datas', 'in.dat', '--computes', 'program/x.wasm', '--outputs', 'out.dat', '--result', 'stdout']);
    assert.deepEqual(parsed.programs, [{ remote: '/-', local: '-' }], "Veracruz uploads '-p -' to /-");
    assert.deepEqual(parsed.data, [{ remote: '/in.dat', local: 'in.dat' }]);
    assert.deepEqual(parsed.computes, ['/program/x.wasm']);
    assert.deepEqual(parsed.results, [{ remote: '/out.dat', local: 'out.dat' }, { remote: 'stdout', local: 'stdout' }]);
  });

  it('reads option values in every usual spelling', () => {
    const parsed = plan(['-p/program/a=a', '-p=/program/b=b', '--program=/program/c=c', '--program', '/program/d=d', '-qn', '-r', 'x=-']);
    assert.deepEqual(parsed.programs.map((program) => program.remote), ['/program/a', '/program/b', '/program/c', '/program/d']);
    assert.equal(parsed.quiet, true);
    assert.equal(parsed.shutdown, false);
    const dashed = parseClientArguments(['-i', 'a', '-k', 'b', '-s', '--', '-policy.json']);
    assert.ok(typeof dashed === 'object' && dashed.policyPath === '-policy.json', "'--' ends the options");
  });

  it('keeps the computation running with -n, shuts down on -s alone, and tells an implicit shutdown apart', () => {
    const kept = plan(['-r', '/o=-', '-n']);
    assert.ok(!kept.shutdown && !kept.shutdownAfterResults);
    const only = plan(['-s', '-q']);
    assert.ok(only.shutdown && !only.shutdownAfterResults && only.quiet && planHasWork(only));
    const asked = plan(['-s', '-r', '/o=o']);
    assert.ok(asked.shutdown && !asked.shutdownAfterResults, 'with -s, the shutdown is asked for, not implied');
  });

  it('takes --rights alone as something to do', () => {
    const parsed = plan(['--rights']);
    assert.ok(parsed.rights && planHasWork(parsed) && !parsed.shutdown);
    assert.equal(plan([]).rights, false);
  });

  it('takes --json, --exit-code and --server', () => {
    const parsed = plan(['--json', '--exit-code', '--server', 'host:1', '-c', '/program/x']);
    assert.equal(parsed.json, true);
    assert.equal(parsed.exitCode, true);
    assert.equal(parsed.server, 'host:1');
  });

  it('takes --fleet URL, the fleet to ask when a connection fails, only when given', () => {
    assert.equal(plan(['--fleet', 'http://127.0.0.1:7001', '-s']).fleet, 'http://127.0.0.1:7001');
    assert.equal(plan(['--fleet=https://fleet.example:8443/', '-s']).fleet, 'https://fleet.example:8443/');
    assert.equal(plan(['-s']).fleet, undefined);
    for (const bad of ['127.0.0.1:7001', 'ftp://host/', 'http://', 'fleet']) {
      assert.throws(() => plan(['--fleet', bad, '-s']),
        (error: unknown) => error instanceof UsageError && error.message === `--fleet needs the fleet's API as http://host:port, got '${bad}'`, bad);
    }
    assert.throws(() => plan(['--fleet', 'http://a:1', '--fleet', 'http://b:2']), /--fleet given twice/);
    const help = USAGE.replace(/\s+/g, ' ');
    assert.match(help, /--fleet URL the API of the fleet running the computation \(http:\/\/host:port\)/);
    assert.match(help, /the fleet's unauthenticated report, as the host's word, not a verified fact/);
  });

  it('knows when there is nothing to do', () => {
    assert.ok(!planHasWork(plan([])));
    assert.ok(planHasWork(plan(['--follow', '/output/x'])));
    assert.ok(planHasWork(plan(['--feed', '/input/s=-'])));
  });

  it('takes streams to feed (from files or stdin, with a record size) and to follow, without implying a shutdown', () => {
    const parsed = plan(['--feed', '/input/readings=a.bin,/input/more=-', '--feed=in/x', '--record-bytes', '8', '--follow', 'output/aggregate', '--follow=/o/a,/o/b']);
    assert.deepEqual(parsed.feeds, [
      { remote: '/input/readings', local: 'a.bin' }, { remote: '/input/more', local: '-' }, { remote: '/in/x', local: 'in/x' },
    ]);
    assert.equal(parsed.recordBytes, 8);
    assert.deepEqual(parsed.follows, ['/output/aggregate', '/o/a', '/o/b']);
    assert.equal(parsed.shutdown, false);
    assert.equal(plan(['--feed', '/s=f']).recordBytes, 1, 'whole bytes by default');
  });

  it('answers --help and --version wherever they are, even beside mistakes', () => {
    assert.equal(parseClientArguments(['-h']), 'help');
    assert.equal(parseClientArguments(['--bogus', '--help']), 'help');
    assert.equal(parseClientArguments([...base, '-qh']), 'help');
    assert.equal(parseClientArguments(['-V']), 'version');
    assert.equal(parseClientArguments(['--version']), 'version');
  });

  it('refuses bad command lines with a usage error saying why, never a raw parser message', () => {
    const refuses = (args: string[], message: RegExp): void => {
      assert.throws(() => parseClientArguments(args), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.doesNotMatch(error.message, /ERR_PARSE_ARGS|To specify a positional argument/);
        assert.match(error.message, message);
        return true;
      });
    };
    refuses([...base, '--foo'], /^unknown option '--foo'$/);
    refuses([...base, '--resutl', 'x'], /unknown option '--resutl' \(did you mean --result\?\)/);
    refuses([...base, '-x'], /unknown option '-x'/);
    refuses(['policy.json', '-k', 'k'], /missing -i\/--identity CERT/);
    refuses(['-i', 'a', '-k', 'b'], /missing the policy file/);
    refuses([...base, 'extra.json'], /expected one policy file, got 2 arguments \('policy.json' 'extra.json'\)/);
    refuses([...base, '-p'], /^-p needs a value: \[REMOTE=\]LOCAL$/);
    refuses(['policy.json', '-i', '-k', 'key'], /-i needs a value \(CERT\), not the option '-k'; write -i-k if that is the value$/);
    refuses([...base, '--quiet=yes'], /--quiet takes no value/);
    refuses([...base, '--server', 'a:1', '--server', 'b:2'], /--server given twice/);
    refuses([...base, '-r', '=x'], /"=x": empty name/);
    refuses([...base, '-d', '/a=-', '-p', '/b=-'], /stdin \(-\) can be read for one upload only/);
    refuses([...base, '-s', '-n'], /contradict/);
    refuses([...base, '--json', '-r', '/output/x=-'], /--json prints its document on stdout/);
    refuses([...base, '--json', '--follow', '/output/x'], /--follow writes there too/);
    refuses([...base, '-d', '/a=-', '--feed', '/s=-'], /stdin \(-\) can be read for one upload only/);
    for (const bad of ['0', '-1', '1.5', 'eight', '08']) {
      refuses([...base, '--feed', '/s=f', `--record-bytes=${bad}`], new RegExp(`--record-bytes needs a positive integer, got '${bad}'`));
    }
    refuses([...base, '-d', '/a=b', '--record-bytes', '8'], /--record-bytes applies to --feed, and there is none/);
    refuses([...base, '--feed', '/s=f', '--record-bytes', '8', '--record-bytes', '4'], /--record-bytes given twice/);
  });

  it('describes every option in --help, each with its default', () => {
    for (const spelling of ['-i', '--identity', '-k', '--key', '-p', '--program', '--programs', '-d', '--data', '--datas',
      '-c', '--compute', '--computes', '-o', '-r', '--output', '--outputs', '--result', '--results', '-n', '--no-shutdown',
      '-s', '--shutdown', '--server', '--fleet', '--rights', '-q', '--quiet', '--json', '--exit-code', '--feed', '--record-bytes', '--follow', '-V', '--version', '-h', '--help']) {
      assert.match(USAGE, new RegExp(`(^|[ ,])${spelling}[ ,\\n]`, 'm'), spelling);
    }
    assert.equal(USAGE.match(/Default: /g)?.length, 17, 'every option but --help and --version states its default');
    assert.match(USAGE, /-p, --program, --programs \[REMOTE=\]LOCAL\n +upload a program/);
    assert.match(USAGE, /'-h' is help here, as in Veracruz's vc-client/);
    assert.match(USAGE, /Reading results shuts the computation down/);
    for (const line of USAGE.split('\n')) assert.ok(line.length <= 100, `too long: ${line}`);
  });
});
