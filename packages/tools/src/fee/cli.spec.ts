import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RIGHTS_READ, RIGHTS_WRITE, createIdentity } from '@veracruz-ts/policy';
import { compileC, WASI_PROBE_SOURCE } from '@veracruz-ts/runtime/testing';
import { runTool } from '../run-tool.ts';

const FEE = new URL('../../bin/vc-fee.ts', import.meta.url).pathname;
const WC = new URL('../../bin/vc-wc.ts', import.meta.url).pathname;

const run = runTool;

let work: string;
let probePath: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'vc-fee-'));
  probePath = join(work, 'probe.wasm');
  writeFileSync(probePath, await compileC(WASI_PROBE_SOURCE));
});
after(() => rmSync(work, { recursive: true, force: true }));

function freshDirs(): { input: string; output: string } {
  const base = mkdtempSync(join(work, 'case-'));
  const input = join(base, 'input');
  const output = join(base, 'output');
  mkdirSync(input);
  mkdirSync(output);
  writeFileSync(join(input, 'data.txt'), 'secret-data');
  return { input, output };
}

describe('vc-fee run', { concurrency: 3 }, () => {
  it('maps --dir HOST::GUEST, passes args and env, streams stdout and exits with the program\'s code', async () => {
    const { input, output } = freshDirs();
    const result = await run(FEE, ['run', '--dir', `${input}::/input`, '--dir', `${output}::/output`, '--env', 'GREETING=hey', probePath, 'args', 'a b']);
    assert.equal(result.stdout, 'arg a b\nenv hey\n');
    assert.equal(result.status, 0, result.stderr);
    assert.equal((await run(FEE, ['run', probePath, 'exit', '42'])).status, 42);
  });

  it('writes changed and new files back and removes deleted ones', async () => {
    const { input, output } = freshDirs();
    writeFileSync(join(output, 'd'), 'in the way');
    rmSync(join(output, 'd'));
    writeFileSync(join(output, 'a.txt'), 'old');
    const files = await run(FEE, ['run', `--dir=${input}::/input`, `--dir=${output}::/output`, probePath, 'files']);
    assert.equal(files.status, 0, files.stderr);
    assert.equal(readFileSync(join(output, 'a.txt'), 'utf8'), 'hel\0\0XY');
    writeFileSync(join(output, 'gone.txt'), 'x');
    const dirs = await run(FEE, ['run', '--dir', `${output}::/output`, probePath, 'dirs']);
    assert.equal(dirs.status, 0, dirs.stderr);
    assert.ok(existsSync(join(output, 'gone.txt')), 'untouched files stay');
    assert.ok(!existsSync(join(output, 'd')), 'a directory created and removed by the run does not appear');
  });

  it('defaults GUEST to HOST made absolute inside the VFS', async () => {
    const { input } = freshDirs();
    const cwd = join(input, '..');
    const result = await run(FEE, ['run', '--dir', 'input', '--dir', 'output', probePath, 'readonly'], { cwd });
    assert.match(result.stdout, /^input secret-data\n/);
  });

  it('reports limits (125), traps (134) and rejected programs (126) on one stderr line', async () => {
    const fuel = await run(FEE, ['run', '--fuel', '100000', probePath, 'loop']);
    assert.equal(fuel.status, 125);
    assert.equal(fuel.stderr, 'vc-fee: fuel exhausted after 100000 units\n');
    const time = await run(FEE, ['run', '--timeout-ms', '200', probePath, 'loop']);
    assert.equal(time.status, 125);
    assert.equal(time.stderr, 'vc-fee: time limit of 200 ms reached\n');
    const trap = await run(FEE, ['run', probePath, 'trap']);
    assert.equal(trap.status, 134);
    assert.equal(trap.stderr, 'vc-fee: program trapped: unreachable\n');
    const notWasm = join(work, 'not.wasm');
    writeFileSync(notWasm, 'text');
    const rejected = await run(FEE, ['run', notWasm]);
    assert.equal(rejected.status, 126);
    assert.match(rejected.stderr, /^vc-fee: program rejected: program not runnable: module: not a WebAssembly module/);
  });

  it('reads stdin from the pipe and gates clocks with --disable-clock', async () => {
    assert.equal((await run(FEE, ['run', probePath, 'stdin'], { stdin: 'piped text' })).stdout, 'PIPED TEXT');
    assert.equal((await run(FEE, ['run', probePath, 'clock'])).stdout, 'clock 0 0 1\n');
    assert.equal((await run(FEE, ['run', '--disable-clock', probePath, 'clock'])).stdout, 'clock -1 2 0\n');
  });

  it('logs system calls with --strace', async () => {
    const { output } = freshDirs();
    const result = await run(FEE, ['run', '--strace', '--dir', `${output}::/output`, probePath, 'files']);
    assert.match(result.stderr, /^path_open\(3, \d+, "a\.txt", 9, .*\) = SUCCESS$/m);
  });

  it('refuses bad usage with status 2 and one line pointing at --help', async () => {
    const cases: [string[], string][] = [
      [[], 'nothing to do'],
      [['run', '--bogus', probePath], "unknown option '--bogus'"],
      [['frobnicate'], "unknown command 'frobnicate' (run, pipeline, or Veracruz's -r SCRIPT form)"],
      [['run', '--fuel'], "option '--fuel' needs a value (N)"],
      [['run', '--strace=yes', probePath], "option '--strace' takes no value"],
      [['run', '-x', 'aot', probePath], "-x: expected interp or jit, got 'aot'"],
      [['run', '-r', '/p.wasm', probePath], "-r/--pipeline runs a pipeline: use 'vc-fee pipeline' or Veracruz's form 'vc-fee -r SCRIPT'"],
      [['-r', '/p.wasm', 'stray'], "unexpected argument 'stray' (in Veracruz's form, give the script with -r)"],
      [['run', '--policy', 'p.json', probePath], '--policy and --as go together'],
    ];
    const results = await Promise.all(cases.map(([args]) => run(FEE, args)));
    cases.forEach(([args, message], index) => {
      assert.equal(results[index]!.status, 2, args.join(' '));
      assert.equal(results[index]!.stderr, `vc-fee: ${message} (see vc-fee --help)\n`, args.join(' '));
    });
    assert.equal((await run(FEE, ['run', join(work, 'missing.wasm')])).status, 2);
  });

  it('prints its version with -V/--version and every option with its default with -h/--help', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const args of [['-V'], ['--version'], ['run', '--version', probePath]]) {
      const result = await run(FEE, args);
      assert.equal(result.status, 0);
      assert.equal(result.stdout, `vc-fee ${version}\n`);
    }
    for (const args of [['-h'], ['--help'], ['help'], ['run', '-h']]) {
      const result = await run(FEE, args);
      assert.equal(result.status, 0, args.join(' '));
      assert.match(result.stdout, /^Usage:\n {2}vc-fee run \[OPTIONS\] PROGRAM\.wasm/);
    }
    const help = (await run(FEE, ['--help'])).stdout;
    const flat = help.replace(/\s+/g, ' ');
    for (const flag of ['--dir', '-i, --input-source', '-o, --output-source', '-r, --pipeline', '-x, --execution-strategy', '-d, --dump-stdout', '-e, --dump-stderr', '-c, --enable-clock', '--disable-clock', '--env', '--fuel', '--max-memory-mib', '--timeout-ms', '--strace', '--policy', '--as']) {
      const start = flat.indexOf(` ${flag} `, flat.indexOf('Options:'));
      assert.ok(start > 0, `${flag} is described`);
      const end = flat.indexOf(' -', flat.indexOf('Default:', start));
      assert.match(flat.slice(start, end), /Default: /, `${flag} states its default`);
    }
  });

  it('applies a policy principal\'s rights with --policy --as', async () => {
    const { input, output } = freshDirs();
    const validity = { notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000) };
    const [owner, pas] = await Promise.all([createIdentity('owner', validity), createIdentity('pas', validity)]);
    const policy = {
      ciphersuite: 'TLS1_3_CHACHA20_POLY1305_SHA256',
      debug: false,
      enable_clock: false,
      execution_strategy: 'JIT',
      max_memory_mib: 64,
      identities: [{ certificate: owner.certificatePem, id: 0, file_rights: [{ file_name: '/input/', rights: RIGHTS_WRITE }] }],
      programs: [{
        program_file_name: '/program/probe.wasm', id: 0,
        file_rights: [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE }, { file_name: 'stdout', rights: RIGHTS_WRITE }],
        limits: { fuel: 5_000_000 },
      }],
      file_hashes: [{ file_path: '/program/probe.wasm', hash: createHash('sha256').update(readFileSync(probePath)).digest('hex') }],
      pipelines: [],
      enclave_cert_expiry: { day: 1, hour: 0, minute: 0, month: 1, year: 2030 },
      proxy_attestation_server_url: '127.0.0.1:3010',
      proxy_service_cert: pas.certificatePem,
      runtime_manager_hash_linux: '00'.repeat(32),
      veracruz_server_url: '127.0.0.1:3011',
    };
    const policyPath = join(work, 'policy.json');
    writeFileSync(policyPath, JSON.stringify(policy, null, 2));
    const dirs = ['--dir', `${input}::/input`, '--dir', `${output}::/output`];
    const readonly = await run(FEE, ['run', '--policy', policyPath, '--as', 'program:/program/probe.wasm', ...dirs, probePath, 'readonly']);
    assert.equal(readonly.status, 0, readonly.stderr);
    assert.equal(readonly.stdout.split('\n')[2], 'write-input 1 76', 'writing without the right is ENOTCAPABLE, as in wasmtime');
    // The policy's clock setting and fuel limit apply.
    assert.equal((await run(FEE, ['run', '--policy', policyPath, '--as', 'program:/program/probe.wasm', ...dirs, probePath, 'clock'])).stdout, 'clock -1 2 0\n');
    assert.equal((await run(FEE, ['run', '--policy', policyPath, '--as', 'program:/program/probe.wasm', ...dirs, probePath, 'loop'])).status, 125);
    const unknown = await run(FEE, ['run', '--policy', policyPath, '--as', 'program:/program/other.wasm', probePath]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /the policy has no program \/program\/other\.wasm/);
  });
});

describe('vc-fee pipeline', () => {
  it('runs a pipeline script over --dir trees', async () => {
    const base = mkdtempSync(join(work, 'pipe-'));
    mkdirSync(join(base, 'program'));
    writeFileSync(join(base, 'program', 'p.wasm'), readFileSync(probePath));
    const result = await run(FEE, ['pipeline', '--dir', `${join(base, 'program')}::/program`, '/program/p.wasm ; /program/p.wasm']);
    // The probe without a scenario prints a notice and exits 2: the sequence stops after the first.
    assert.equal(result.status, 2);
    assert.equal(result.stdout, 'unknown scenario \n');
    const bad = await run(FEE, ['pipeline', 'if { }']);
    assert.equal(bad.status, 2);
  });
});

describe("vc-fee in Veracruz's freestanding-execution-engine form", () => {
  const WRITER = `#include <stdio.h>
#include <time.h>
int main(void) {
  char data[64] = {0};
  FILE *in = fopen("/input/data.txt", "r");
  if (in != NULL) { fread(data, 1, sizeof data - 1, in); fclose(in); }
  FILE *out = fopen("/output/result.txt", "w");
  if (out == NULL) { perror("/output/result.txt"); return 3; }
  fprintf(out, "got %s", data);
  fclose(out);
  struct timespec now;
  printf("clock %d\\n", clock_gettime(CLOCK_REALTIME, &now));
  fprintf(stderr, "to stderr\\n");
  return 0;
}`;
  let base: string;
  before(async () => {
    base = mkdtempSync(join(work, 'veracruz-form-'));
    mkdirSync(join(base, 'program'));
    mkdirSync(join(base, 'input'));
    writeFileSync(join(base, 'program', 'writer.wasm'), await compileC(WRITER));
    writeFileSync(join(base, 'input', 'data.txt'), 'secret-data');
  });

  it('loads -i directories at /DIR, writes -o back, dumps stdout and stderr with -d and -e, and keeps the clock off', async () => {
    const result = await run(FEE, ['-i', 'program', 'input', '-o', 'output', '-r', '/program/writer.wasm', '-x', 'jit', '-d', '-e'], { cwd: base });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '---- stdout dump ----\nclock -1\n---- stdout dump end ----\n');
    assert.equal(result.stderr, '---- stderr dump ----\nto stderr\n---- stderr dump end ----\n');
    assert.equal(readFileSync(join(base, 'output', 'result.txt'), 'utf8'), 'got secret-data');
  });

  it('shows nothing of the program without -d and -e, and -c enables the clock', async () => {
    const quiet = await run(FEE, ['--input-source', 'program', 'input', '--output-source', 'output', '--pipeline', '/program/writer.wasm'], { cwd: base });
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.equal(quiet.stdout, '');
    assert.equal(quiet.stderr, '');
    const clock = await run(FEE, ['-i', 'program', 'input', '-o', 'output', '-r', '/program/writer.wasm', '-dc'], { cwd: base });
    assert.equal(clock.stdout, '---- stdout dump ----\nclock 0\n---- stdout dump end ----\n');
  });

  it('takes the same flags one value each in vc-fee pipeline and run, streaming output unless -d/-e', async () => {
    const piped = await run(FEE, ['pipeline', '-i', 'program', '-i', 'input', '-o', 'output', '-r', '/program/writer.wasm'], { cwd: base });
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal(piped.stdout, 'clock 0\n', 'the clock is on by default outside Veracruz\'s form');
    assert.equal(piped.stderr, 'to stderr\n');
    const ran = await run(FEE, ['run', '-i', 'input', '-o', 'output', '-e', '--disable-clock', join(base, 'program', 'writer.wasm')], { cwd: base });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout, 'clock -1\n');
    assert.equal(ran.stderr, '---- stderr dump ----\nto stderr\n---- stderr dump end ----\n');
  });
});

describe('vc-wc', () => {
  it('accepts a WASI program and lists unsupported imports of another', async () => {
    const ok = await run(WC, [probePath]);
    assert.equal(ok.status, 0);
    assert.equal(ok.stdout, 'ok\n');
    const bad = join(work, 'bad.wasm');
    writeFileSync(bad, await compileC('extern int host_magic(int); int main(void) { return host_magic(1); }', ['-O2', '-Wl,--allow-undefined']));
    const listed = await run(WC, [bad]);
    assert.equal(listed.status, 1);
    assert.equal(listed.stdout, 'unsupported: env.host_magic\n');
    assert.equal((await run(WC, [join(work, 'none.wasm')])).status, 2);
  });

  it("takes Veracruz's -c/--configuration allow-list of import names", async () => {
    const allowAll = join(work, 'allow-all.json');
    const names = ['args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'clock_res_get', 'clock_time_get', 'fd_advise', 'fd_allocate', 'fd_close', 'fd_datasync', 'fd_fdstat_get', 'fd_fdstat_set_flags', 'fd_fdstat_set_rights', 'fd_filestat_get', 'fd_filestat_set_size', 'fd_filestat_set_times', 'fd_pread', 'fd_prestat_get', 'fd_prestat_dir_name', 'fd_pwrite', 'fd_read', 'fd_readdir', 'fd_renumber', 'fd_seek', 'fd_sync', 'fd_tell', 'fd_write', 'path_create_directory', 'path_filestat_get', 'path_filestat_set_times', 'path_link', 'path_open', 'path_readlink', 'path_remove_directory', 'path_rename', 'path_symlink', 'path_unlink_file', 'poll_oneoff', 'proc_exit', 'proc_raise', 'sched_yield', 'random_get', 'sock_recv', 'sock_send', 'sock_shutdown'];
    // The probe also uses veracruz_si.fd_create, which Veracruz's own list leaves out.
    writeFileSync(allowAll, JSON.stringify({ allowed_imports: [...names, 'fd_create'] }));
    const ok = await run(WC, ['-c', allowAll, probePath]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout, 'ok\n');
    const narrow = join(work, 'no-clock.json');
    writeFileSync(narrow, JSON.stringify({ allowed_imports: [...names.filter((name) => name !== 'clock_time_get'), 'fd_create'] }));
    const forbidden = await run(WC, ['--configuration', narrow, probePath]);
    assert.equal(forbidden.status, 1);
    assert.equal(forbidden.stdout, `forbidden: wasi_snapshot_preview1.clock_time_get (not in ${narrow}'s allowed_imports)\n`);
    const broken = join(work, 'broken.json');
    writeFileSync(broken, '{"allowed": []}');
    const bad = await run(WC, ['-c', broken, probePath]);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, `vc-wc: --configuration ${broken}: expected {"allowed_imports": ["fd_write", ...]} (see vc-wc --help)\n`);
  });

  it('has -V, -h and one-line usage errors', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal((await run(WC, ['-V'])).stdout, `vc-wc ${version}\n`);
    const help = await run(WC, ['-h']);
    assert.equal(help.status, 0);
    assert.match(help.stdout.replace(/\s+/g, ' '), /-c, --configuration FILE .* Default: no list/);
    const unknown = await run(WC, ['--bogus', probePath]);
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr, "vc-wc: unknown option '--bogus' (see vc-wc --help)\n");
    assert.equal((await run(WC, [])).stderr, 'vc-wc: missing PROGRAM.wasm (see vc-wc --help)\n');
  });
});
