import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePolicy } from '@veracruz-ts/policy';
import { policyFactsHeader } from './header.ts';

const BIN = fileURLToPath(new URL('../../bin/vc-pgen.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

const directory = await mkdtemp(join(tmpdir(), 'vc-pgen-'));
test.after(() => rm(directory, { recursive: true, force: true }));

const program = new TextEncoder().encode('\0asm\x01\0\0\0 not really a program');
const runtime = new TextEncoder().encode('isolate bundle');
const programHash = createHash('sha256').update(program).digest('hex');

function generateArgs(...extra: string[]): string[] {
  return [
    '-c', 'alice.pem', '-p', '/input/:w,/program/:wx,stdin:w',
    '-c', 'bob.pem', '-p', '/output/:r,/program/:x,stdout:r',
    '-w', '/program/sum.wasm=build/sum.wasm', '-p', '/input/:r,/output/:rw,stdout:w,stderr:w',
    '-s', '127.0.0.1:3011', '-t', '127.0.0.1:3010', '--proxy-attestation-server-cert', 'ca/pas.pem',
    '-b', 'runtime.js', '-x', 'Tue, 1 Jul 2031 10:52:37 +0200', '-e', 'Interpretation', '-d',
    ...extra,
  ];
}

/** `args` without the first `flag` (whose value is `value`, if given) and its value. */
function withoutFlag(args: string[], flag: string, value?: string): string[] {
  const index = args.findIndex((arg, position) => arg === flag && (value === undefined || args[position + 1] === value));
  assert.ok(index >= 0);
  return [...args.slice(0, index), ...args.slice(index + 2)];
}

test('identity writes a certificate and a 0600 key, and refuses to overwrite them', async () => {
  for (const name of ['alice', 'bob']) {
    const result = await run(directory, 'identity', name);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`certificate ${name}\\.pem`));
  }
  assert.equal((await run(directory, 'identity', 'pas', '--out-dir', 'ca', '--days', '30')).code, 0);
  assert.equal((await stat(join(directory, 'alice.key.pem'))).mode & 0o777, 0o600);
  assert.match(await readFile(join(directory, 'ca', 'pas.pem'), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
  const again = await run(directory, 'identity', 'alice');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^vc-pgen: \[already_exists\] .*alice\.key\.pem: exists already \(use --force to replace it\)/);
  // --force replaces both files with a new pair, each whole; the key keeps mode 0600.
  const before = await readFile(join(directory, 'alice.pem'), 'utf8');
  assert.equal((await run(directory, 'identity', 'alice', '--force')).code, 0);
  assert.notEqual(await readFile(join(directory, 'alice.pem'), 'utf8'), before);
  assert.equal((await stat(join(directory, 'alice.key.pem'))).mode & 0o777, 0o600);
  assert.deepEqual((await readdir(directory)).filter((entry) => entry.includes('.tmp-')), [], 'no temporary file left');
  const badName = await run(directory, 'identity', '../escape');
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /identity NAME "\.\.\/escape": use letters/);
});

test('generates a policy that round-trips, with its hash printed, sorted keys and two-space indent', async () => {
  await writeFile(join(directory, 'runtime.js'), runtime);
  await rm(join(directory, 'build'), { recursive: true, force: true });
  await mkdir(join(directory, 'build'));
  await writeFile(join(directory, 'build', 'sum.wasm'), program);
  const result = await run(directory, ...generateArgs('--program-limits', '/program/sum.wasm:timeout_ms=5000,fuel=1000000', '-o', 'policy.json'));
  assert.equal(result.code, 0, result.stderr);
  const bytes = await readFile(join(directory, 'policy.json'));
  const hash = createHash('sha256').update(bytes).digest('hex');
  assert.equal(result.stdout, `${hash}  policy.json\n`);
  const text = bytes.toString('utf8');
  const policy = await parsePolicy(new Uint8Array(bytes));
  assert.equal(policy.hash, hash);
  assert.deepEqual(policy.file_hashes, [{ file_path: '/program/sum.wasm', hash: programHash }]);
  assert.equal(policy.programs[0]?.program_file_name, '/program/sum.wasm');
  assert.deepEqual(policy.programs[0]?.limits, { timeout_ms: 5000, fuel: 1000000 });
  assert.equal(policy.runtime_manager_hash_linux, createHash('sha256').update(runtime).digest('hex'));
  assert.equal(policy.debug, true);
  assert.equal(policy.max_memory_mib, 256);
  assert.deepEqual(policy.enclave_cert_expiry, { year: 2031, month: 7, day: 1, hour: 8, minute: 52 });
  assert.deepEqual(policy.identities.map((identity) => identity.certificateInfo.commonName), ['alice', 'bob']);
  // serde_json pretty layout: 2-space indent, keys sorted at every level, no trailing newline.
  assert.ok(text.startsWith('{\n  "ciphersuite": "TLS1_3_CHACHA20_POLY1305_SHA256",\n  "debug": true,\n'));
  assert.ok(text.endsWith('\n}'));
  const topKeys = [...text.matchAll(/^ {2}"([a-z_]+)":/gm)].map((match) => match[1]!);
  assert.deepEqual(topKeys, [...topKeys].sort());
  assert.ok(topKeys.includes('runtime_manager_hash_nitro'));
  assert.match(text, /"runtime_manager_hash_nitro": null/);
  assert.match(text, /\n {6}"file_rights": \[\n {8}\{\n {10}"file_name": "\/input\/",\n {10}"rights": 534084\n {8}\}/);
  assert.equal(text, JSON.stringify(JSON.parse(text), (_, value) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))) : value), 2));
});

test('explain prints the summary sections for the generated policy', async () => {
  const result = await run(directory, 'explain', 'policy.json', '--at', new Date().toISOString());
  assert.equal(result.code, 0, result.stderr);
  for (const heading of ['Principals (2)', 'Programs (1)', 'Pipelines (0)', 'Trust', 'Settings', 'Data flows between parties (2)', 'Risks (']) {
    assert.ok(result.stdout.includes(`\n${heading}`), `${heading} in\n${result.stdout}`);
  }
  assert.match(result.stdout, /#0 \(alice\) writes \/input\n {4}-> \/program\/sum\.wasm reads it and writes stdout\n {4}-> #1 \(bob\) reads stdout/);
  assert.match(result.stdout, /HIGH {4}The policy trusts the linux software isolate/);
  assert.match(result.stdout, /MEDIUM {2}debug is true/);
  assert.match(result.stdout, /limits {10}memory 256 MiB, timeout 5000 ms, fuel 1000000/);
  assert.doesNotMatch(result.stdout, /\u001b\[/);
  const strict = await run(directory, 'explain', 'policy.json', '--fail-on', 'high', '--json');
  assert.equal(strict.code, 3, strict.stderr);
  const structured = JSON.parse(strict.stdout) as { hash: string; risks: { severity: string }[]; flows: unknown[] };
  assert.equal(structured.hash, createHash('sha256').update(await readFile(join(directory, 'policy.json'))).digest('hex'));
  assert.equal(structured.flows.length, 2);
  assert.equal(structured.risks[0]?.severity, 'high');
  const missing = await run(directory, 'explain', 'nowhere.json');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /explain nowhere\.json: no such file/);
});

test('broken inputs give precise errors and a non-zero exit', async () => {
  const cases: [string[], number, RegExp][] = [
    [withoutFlag(generateArgs(), '-p', '/output/:r,/program/:x,stdout:r'), 1, /expected 3 --capability values \(2 certificates \+ 1 program \+ 0 pipelines, in that order\), got 2/],
    [generateArgs('--pipeline', 'a.wasm ; if /p {', '-p', '/output/:rw'), 1, /--pipeline 1 \("a\.wasm ; if \/p \{"\): expected '\}' at 16 to close '\{' at 15, found end of script/],
    [generateArgs('-w', 'missing.wasm', '-p', '/input/:r'), 1, /--program-binary missing\.wasm: no such file/],
    [generateArgs('-x', 'someday'), 1, /--certificate-expiry "someday": not a date/],
    [generateArgs('--tdx-hash', 'xyz'), 1, /--tdx-hash: expected 64 hex digits \(SHA-256\), got "xyz"/],
    [generateArgs('-s', 'no-port'), 1, /the generated policy does not parse: veracruz_server_url: expected host:port/],
    [generateArgs('--bogus'), 2, /^vc-pgen: unknown option '--bogus' \(see vc-pgen --help\)\n$/],
    [generateArgs('--ciphersuite'), 2, /^vc-pgen: option '--ciphersuite' needs a value \(for a value that starts with '-', write --ciphersuite=VALUE\) \(see vc-pgen --help\)\n$/],
    [generateArgs('-t', '127.0.0.1:3011'), 1, /--veracruz-server-ip and --proxy-attestation-server-ip are both 127\.0\.0\.1:3011: vc-server and the PAS cannot listen on one address/],
    [withoutFlag(generateArgs(), '-x'), 2, /--certificate-expiry \(-x\) is required/],
    [['-c', 'alice.pem'], 2, /--veracruz-server-ip \(-s\) is required/],
    [['-o', 'x.json'], 2, /at least one --certificate is required/],
    [generateArgs('--stream', '/input/a,deadline_ms=soon'), 1, /--stream "\/input\/a,deadline_ms=soon": deadline_ms must be a positive integer, got "soon"/],
    [generateArgs('--stream', '/input/a', '--stream', '/input/a/b'), 1, /the generated policy does not parse: streams\[0\]\.path: \/input\/a is a directory of streams\[1\]\.path \(\/input\/a\/b\); a stream is a file/],
  ];
  const results = await Promise.all(cases.map(([args]) => run(directory, ...args, '-o', 'broken.json')));
  cases.forEach(([args, code, message], index) => {
    const result = results[index]!;
    assert.equal(result.code, code, `${args.join(' ')}\n${result.stderr}`);
    assert.match(result.stderr, message);
    assert.equal(result.stdout, '');
  });
  const nothing = await run(directory);
  assert.equal(nothing.code, 2);
  assert.equal(nothing.stderr, 'vc-pgen: nothing to do (see vc-pgen --help)\n');
  await assert.rejects(stat(join(directory, 'broken.json')), /ENOENT/, 'no policy is written on failure');
  const capability = await run(directory, ...generateArgs().map((arg) => (arg === '/input/:r,/output/:rw,stdout:w,stderr:w' ? '/input/:r,/output/:rwz' : arg)));
  assert.equal(capability.code, 1);
  assert.match(capability.stderr, /--capability 3 of 3 \(program \/program\/sum\.wasm\): "\/output\/:rwz": rights "rwz"/);
});

test('--help prints the usage, every option with its default, and says -h is --hashes', async () => {
  const result = await run(directory, '--help');
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage:\n {2}vc-pgen \[generate\]/);
  const source = await readFile(fileURLToPath(new URL('./cli.ts', import.meta.url)), 'utf8');
  const flags = [...source.matchAll(/^ {6}'?([a-z-]+)'?: \{ type: '(?:string|boolean)'/gm)].map((match) => `--${match[1]}`);
  assert.ok(flags.length >= 24, flags.join(' '));
  for (const flag of flags) assert.match(result.stdout, new RegExp(`${flag}[ ,]`), `${flag} is described`);
  for (const [flag, fallback] of [['--output-policy-file', 'output.json'], ['--max-memory-mib', '256'], ['--execution-strategy', 'JIT'], ['--ciphersuite', 'TLS1_3_CHACHA20_POLY1305_SHA256'], ['--expiring-days', '30'], ['--days', '365']]) {
    // The option's own line: `  --flag VALUE` or `  -x, --flag VALUE`.
    const start = Math.max(result.stdout.indexOf(`\n  ${flag} `), result.stdout.indexOf(`, ${flag} `));
    const end = result.stdout.indexOf('\n  -', start + 1);
    assert.match(result.stdout.slice(start, end).replace(/\s+/g, ' '), new RegExp(`Default: ${fallback}\\.`), `${flag} states its default`);
  }
  assert.match(result.stdout, /-h, --hashes \[PATH=\]FILE/);
  assert.match(result.stdout.replace(/\s+/g, ' '), /-h is --hashes, as in Veracruz's vc-pgen/);
  assert.equal((await run(directory, '-h')).code, 2, '-h is --hashes: without a value it is a usage error');
});

test('-V and --version print the name and the package version', async () => {
  const { version } = JSON.parse(await readFile(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  for (const flag of ['-V', '--version']) {
    const result = await run(directory, flag);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `vc-pgen ${version}\n`);
  }
});

test('a program is placed at the path as given, with a leading slash, as Veracruz does', async () => {
  const args = generateArgs('-o', '-').map((arg) => (arg === '/program/sum.wasm=build/sum.wasm' ? 'build/sum.wasm' : arg));
  const result = await run(directory, ...args.map((arg) => (arg === '/program/:wx' ? '/build/:wx' : arg)));
  assert.equal(result.code, 0, result.stderr);
  const policy = await parsePolicy(result.stdout);
  assert.equal(policy.programs[0]?.program_file_name, '/build/sum.wasm');
  assert.deepEqual(policy.file_hashes, [{ file_path: '/build/sum.wasm', hash: programHash }]);
});

test('warns about an enclave_cert_expiry in the past and a TLS 1.2 ciphersuite, and still writes the policy', async () => {
  const args = generateArgs('-o', 'warned.json', '--ciphersuite', 'TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256').map((arg) => (arg === 'Tue, 1 Jul 2031 10:52:37 +0200' ? '2020-01-01T00:00:00Z' : arg));
  const result = await run(directory, ...args);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /^vc-pgen: warning: --certificate-expiry 2020-01-01T00:00:00\.000Z is in the past: vc-server cannot start an isolate for this policy/m);
  assert.match(result.stderr, /^vc-pgen: warning: --ciphersuite TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 is a TLS 1\.2 suite: the isolate speaks TLS 1\.3 only, so TLS1_3_CHACHA20_POLY1305_SHA256 \(the same cipher\) is used$/m);
  const policy = await parsePolicy(new Uint8Array(await readFile(join(directory, 'warned.json'))));
  assert.equal(policy.ciphersuite, 'TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256');
  const quiet = await run(directory, ...generateArgs('-o', 'quiet.json'));
  assert.equal(quiet.stderr, '', 'no warning for a future expiry and the default ciphersuite');
});

test('--sevsnp-hash takes the 96 hex digits of the SHA-384 launch measurement, in either case', async () => {
  const measurement = 'A1b2'.repeat(24);
  const result = await run(directory, ...generateArgs('--sevsnp-hash', measurement, '-o', 'sevsnp.json'));
  assert.equal(result.code, 0, result.stderr);
  const policy = await parsePolicy(new Uint8Array(await readFile(join(directory, 'sevsnp.json'))));
  assert.equal(policy.runtime_manager_hash_sevsnp, measurement.toLowerCase());
  const short = await run(directory, ...generateArgs('--sevsnp-hash', 'ab'.repeat(40), '-o', 'short.json'));
  assert.equal(short.code, 1);
  assert.match(short.stderr, /--sevsnp-hash: expected 96 hex digits \(the SHA-384 launch measurement; 64, its first half, from older policies\), got "(ab){40}"/);
});

test('--stream declares streams, and explain lists them', async () => {
  const result = await run(directory, ...generateArgs('--stream', 'input/readings,deadline_ms=600000,on_writer_disconnect=close', '--stream', '/output/live', '-o', 'streams.json'));
  assert.equal(result.code, 0, result.stderr);
  const policy = await parsePolicy(new Uint8Array(await readFile(join(directory, 'streams.json'))));
  assert.deepEqual(policy.streams, [
    { path: '/input/readings', deadline_ms: 600000, max_buffered_bytes: 8388608, on_writer_disconnect: 'close' },
    { path: '/output/live', max_buffered_bytes: 8388608, on_writer_disconnect: 'abort' },
  ]);
  const explained = await run(directory, 'explain', 'streams.json', '--at', new Date().toISOString());
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /\nStreams \(2\)\n-+\n\/input\/readings {2}\(input stream\)\n {4}appended by {5}#0 \(alice\); it ends when all of them have closed it\n/);
  assert.match(explained.stdout, /\n\/output\/live {2}\(output stream\)\n {4}written by {6}\/program\/sum\.wasm; it ends when such a run finishes/);
  assert.doesNotMatch(explained.stdout, /ignored: unknown top-level key 'streams'/);
});

test('--dataflow and --await: the sender prints its identity hash, which a zero placeholder for the receiver gives as its policy hash', async () => {
  const zeros = '0'.repeat(64);
  const receiverHash = 'e'.repeat(64);
  const sender = (hash: string, output: string) =>
    run(directory, ...generateArgs('--dataflow', `/output/sum=127.0.0.1:7010:/input/sum-1@${hash}`, '--await', '/program/sum.wasm=/input/a,input/b,deadline_ms=60000', '-o', output));
  const placeholder = await sender(zeros, 'sender-0.json');
  assert.equal(placeholder.code, 0, placeholder.stderr);
  const identity = placeholder.stdout.split(' ')[0]!;
  assert.match(placeholder.stderr, new RegExp(`^vc-pgen: identity hash ${identity} \\(what a receiver's --isolate names this isolate by\\)$`, 'm'));
  const final = await sender(receiverHash.toUpperCase(), 'sender.json');
  assert.equal(final.code, 0, final.stderr);
  assert.match(final.stderr, new RegExp(`^vc-pgen: identity hash ${identity} `, 'm'), "the receiver's hash does not change the identity hash");
  const written = JSON.parse(await readFile(join(directory, 'sender.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(written['dataflow'], [{ address: '127.0.0.1:7010', file: '/output/sum', isolate: { policy_hash: receiverHash }, path: '/input/sum-1' }]);
  assert.deepEqual(written['await_inputs'], [{ deadline_ms: 60000, files: ['/input/a', '/input/b'], program: '/program/sum.wasm' }]);
  const quiet = await run(directory, ...generateArgs('-o', 'no-dataflow.json'));
  assert.doesNotMatch(quiet.stderr, /identity hash/, 'only a policy with dataflow has an identity hash of its own');
});

/** generateArgs() with `extra` before the first -w: where --isolate and its -p go. */
function withBeforePrograms(extra: string[], ...after: string[]): string[] {
  const args = generateArgs(...after);
  const programAt = args.indexOf('-w');
  return [...args.slice(0, programAt), ...extra, ...args.slice(programAt)];
}

test('--isolate, --dataflow and --await refusals name the flag and the value', async () => {
  const hash = 'c'.repeat(64);
  const cases: [string[], RegExp][] = [
    [generateArgs('--dataflow', '/output/sum=127.0.0.1:/input/s@x'), /--dataflow "\/output\/sum=127\.0\.0\.1:\/input\/s@x": expected FILE=HOST:PORT:PATH@HASH/],
    [generateArgs('--dataflow', `/output/sum=127.0.0.1:7010:/input/s@${hash},pas=nowhere.pem`), /--dataflow 1 \(".*"\): pas nowhere\.pem: no such file/],
    [generateArgs('--dataflow', `/output/sum=127.0.0.1:3011:/input/s@${hash}`), /--dataflow 1 \(".*"\): address 127\.0\.0\.1:3011 is this policy's own veracruz_server_url/],
    [generateArgs('--await', '/program/other.wasm=/input/a'), /--await 1 \("\/program\/other\.wasm=\/input\/a"\): no --program-binary is at \/program\/other\.wasm/],
    [withBeforePrograms(['--isolate', `${hash},pas=nowhere.pem`, '-p', '/input/s:w']), /--isolate 1 \(".*"\): pas nowhere\.pem: no such file/],
    [withBeforePrograms(['--isolate', 'xyz', '-p', '/input/s:w']), /--isolate 1 \("xyz"\): policy hash: expected 64 lowercase hex digits, got "xyz"/],
    [withBeforePrograms(['--isolate', hash]), /expected 4 --capability values \(2 certificates \+ 1 isolate \+ 1 program \+ 0 pipelines, in that order\), got 3/],
  ];
  const results = await Promise.all(cases.map(([args]) => run(directory, ...args, '-o', 'broken-network.json')));
  cases.forEach(([args, message], index) => {
    const result = results[index]!;
    assert.equal(result.code, 1, `${args.join(' ')}\n${result.stderr}`);
    assert.match(result.stderr, message);
  });
  await assert.rejects(stat(join(directory, 'broken-network.json')), /ENOENT/);
});

test('--isolate: another isolate as a principal, its id and capability after the certificates\'', async () => {
  const hash = 'c'.repeat(64);
  const isolate = ['--isolate', `${hash.toUpperCase()},pas=ca/pas.pem,linux=${'a'.repeat(64)}`, '-p', '/input/sum-1:w'];
  const result = await run(directory, ...withBeforePrograms(isolate, '-o', 'receiver.json'));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^[0-9a-f]{64} {2}receiver\.json\n$/);
  assert.equal((await parsePolicy(new Uint8Array(await readFile(join(directory, 'receiver.json'))))).isolate_principals[0]?.isolate.policy_hash, hash);
  const written = JSON.parse(await readFile(join(directory, 'receiver.json'), 'utf8')) as { identities: Record<string, unknown>[]; programs: Record<string, unknown>[] };
  assert.deepEqual(written.identities.map((identity) => identity['id']), [0, 1, 2]);
  const pem = await readFile(join(directory, 'ca', 'pas.pem'), 'utf8');
  assert.deepEqual(written.identities[2], {
    file_rights: [{ file_name: '/input/sum-1', rights: 534084 }],
    id: 2,
    isolate: { policy_hash: hash, proxy_service_cert: pem, runtime_manager_hash_linux: 'a'.repeat(64) },
  });
  assert.deepEqual(written.programs[0]?.['file_rights'], [
    { file_name: '/input/', rights: 24582 },
    { file_name: '/output/', rights: 550470 },
    { file_name: 'stdout', rights: 534084 },
    { file_name: 'stderr', rights: 534084 },
  ]);
});

test('--isolate among the certificates or after a program is a usage error: its -p value would be another principal\'s', async () => {
  const hash = 'c'.repeat(64);
  const late = await run(directory, ...generateArgs('--isolate', hash, '-p', '/input/s:w', '-o', 'late.json'));
  assert.equal(late.code, 2);
  assert.match(late.stderr, /^vc-pgen: give every --isolate after every --certificate and before every --program-binary and --pipeline: -p values are taken in that order/);
  const early = await run(directory, '--isolate', hash, '-p', '/input/s:w', ...generateArgs('-o', 'early.json'));
  assert.equal(early.code, 2);
  await assert.rejects(stat(join(directory, 'late.json')), /ENOENT/);
});

test('header writes the policy\'s facts as a C header, to stdout or atomically to -o', async () => {
  const bytes = new Uint8Array(await readFile(join(directory, 'policy.json')));
  const policy = await parsePolicy(bytes);
  const printed = await run(directory, 'header', 'policy.json');
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stdout, policyFactsHeader(policy));
  assert.equal(printed.stderr, '');
  assert.equal((await run(directory, 'header', 'policy.json', '-o', '-')).stdout, printed.stdout);
  await mkdir(join(directory, 'device'), { recursive: true });
  await writeFile(join(directory, 'device', 'vc_policy.h'), 'an older header');
  const written = await run(directory, 'header', 'policy.json', '--identity', '1', '--name', 'DEVICE_FACTS', '-o', 'device/vc_policy.h');
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stdout, `device/vc_policy.h: the facts of policy ${policy.hash} for identity 1\n`);
  assert.equal(await readFile(join(directory, 'device', 'vc_policy.h'), 'utf8'), policyFactsHeader(policy, { identity: 1, name: 'DEVICE_FACTS' }));
  assert.deepEqual((await readdir(join(directory, 'device'))).filter((entry) => entry.includes('.tmp-')), [], 'no temporary file left');
});

test('header: usage errors exit 2, refusals exit 1 naming the value, and leave -o as it was', async () => {
  await writeFile(join(directory, 'kept.h'), 'kept');
  const cases: [string[], number, RegExp][] = [
    [['header'], 2, /^vc-pgen: header takes exactly one policy file \(see vc-pgen --help\)\n$/],
    [['header', 'policy.json', 'warned.json'], 2, /header takes exactly one policy file/],
    [['header', 'policy.json', '--identity', 'bob'], 2, /^vc-pgen: --identity "bob": expected an identity id \(a non-negative integer\)/],
    [['header', 'policy.json', '--identity', '-1'], 2, /--identity/],
    [['header', 'policy.json', '--bogus'], 2, /^vc-pgen: unknown option '--bogus' \(see vc-pgen --help\)\n$/],
    [['header', 'policy.json', '--identity', '9'], 1, /^vc-pgen: \[invalid_request\] identity 9 is not a certificate identity of the policy \(its certificate identities: 0, 1\)\n$/],
    [['header', 'policy.json', '--name', '9lives'], 1, /^vc-pgen: \[invalid_request\] name "9lives": expected a C identifier/],
    [['header', 'nowhere.json'], 1, /^vc-pgen: \[invalid_policy\] header nowhere\.json: no such file\n$/],
  ];
  const results = await Promise.all(cases.map(([args]) => run(directory, ...args, '-o', 'kept.h')));
  cases.forEach(([args, code, message], index) => {
    const result = results[index]!;
    assert.equal(result.code, code, `${args.join(' ')}\n${result.stderr}`);
    assert.match(result.stderr, message);
    assert.equal(result.stdout, '');
  });
  assert.equal(await readFile(join(directory, 'kept.h'), 'utf8'), 'kept');
});
