import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { REPOSITORY_ROOT } from '@veracruz-ts/runtime/bundle';
import { createTestDeployment } from './testing.ts';
import type { TestDeployment } from './testing.ts';

const VC_SERVER = fileURLToPath(new URL('../bin/vc-server.ts', import.meta.url));
const ISO_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S/;

/**
 * Runs a command line vc-server printed, as a shell would after it was pasted in the repository:
 * `npx` finds the project's bins (and its Node) in node_modules/.bin, so that is put first on PATH.
 */
function paste(command: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const withoutNpx = command.replace(/^npx /, '');
  return new Promise((resolve) => {
    execFile('sh', ['-c', withoutNpx], {
      cwd: REPOSITORY_ROOT,
      env: { ...process.env, ...env, PATH: `${join(REPOSITORY_ROOT, 'node_modules', '.bin')}${delimiter}${process.env['PATH'] ?? ''}` },
    }, (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

/** Runs vc-server; resolves lines as they come and the exit code at the end. */
function vcServer(args: string[]) {
  const child = spawn(process.execPath, [VC_SERVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const collect = (into: string[]) => (line: string): void => {
    into.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  createInterface({ input: child.stdout }).on('line', collect(stdout));
  createInterface({ input: child.stderr }).on('line', collect(stderr));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child, stdout, stderr, exited,
    line: (pattern: RegExp) => new Promise<string>((resolve, reject) => {
      const seen = [...stdout, ...stderr].find((line) => pattern.test(line));
      if (seen !== undefined) resolve(seen);
      else waiters.push({ pattern, resolve });
      void exited.then((code) => reject(new Error(`vc-server exited (${code}) before printing ${pattern}: ${stderr.join('\n')}`)));
    }),
  };
}

/** Connects to vc-server, sends "hello" and leaves; returns the client port and the close log line, after checking the open one. */
async function helloAndLeave(server: { line(pattern: RegExp): Promise<string>; stderr: string[] }, ready: string): Promise<{ port: number | undefined; closed: string }> {
  const client = connect(Number(ready.split(':').pop()), '127.0.0.1');
  client.on('error', () => {});
  await once(client, 'connect');
  const port = client.localPort;
  client.end('hello');
  const closed = await server.line(/ session \d+ closed: /);
  const opened = server.stderr.find((line) => / session \d+ opened: /.test(line));
  assert.match(opened ?? '', new RegExp(`Z session (\\d+) opened: client 127\\.0\\.0\\.1:${port}$`));
  return { port, closed };
}

describe('vc-server CLI', () => {
  let deployment: TestDeployment;
  before(async () => {
    deployment = await createTestDeployment();
  });
  after(async () => {
    await deployment?.remove();
  });

  it('prints where it listens once ready, logs each client connection with ISO timestamps, and exits 0 on SIGTERM', async () => {
    // Relayed: the host itself sees which side ended the connection first (see below for handed-over ones).
    const server = vcServer([deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--listen', '127.0.0.1:0', '--relay']);
    const ready = await server.line(/^Veracruz server running on /);
    assert.match(ready, /^Veracruz server running on 127\.0\.0\.1:\d+$/);
    assert.ok(server.stderr.some((line) => line.includes(deployment.bundle.measurement)));
    assert.ok(server.stderr.some((line) => line.includes(deployment.devKey.publicKeyPath)), 'names the public key to enroll');
    // A client that sends a few bytes and leaves: no TLS, so nothing it sent can be logged anyway.
    const { port, closed } = await helloAndLeave(server, ready);
    assert.match(closed, new RegExp(`Z session \\d+ closed: client 127\\.0\\.0\\.1:${port}, 5 bytes from the client, \\d+ bytes to it, \\d+ ms, the client closed the connection$`));
    assert.doesNotMatch(server.stderr.join('\n'), /hello/);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    for (const line of server.stderr) assert.match(line, ISO_LINE, line);
    assert.deepEqual(server.stdout, [ready], 'stdout holds the readiness line only');
  });

  it('hands connections to the isolate by default and logs each as a relayed one, with the isolate\'s bytes and reason', async () => {
    const server = vcServer([deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--listen', '127.0.0.1:0']);
    const ready = await server.line(/^Veracruz server running on /);
    assert.ok(server.stderr.some((line) => /Z clients' connections are handed to the isolate process/.test(line)), server.stderr.join('\n'));
    const { port, closed } = await helloAndLeave(server, ready);
    // Not TLS: the isolate's TLS refuses the bytes and ends the session, before it reads the client's end.
    assert.match(closed, new RegExp(`Z session \\d+ closed: client 127\\.0\\.0\\.1:${port}, 5 bytes from the client, \\d+ bytes to it, \\d+ ms, the session ended$`));
    assert.doesNotMatch(server.stderr.join('\n'), /hello/);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    for (const line of server.stderr) assert.match(line, ISO_LINE, line);
  });

  it('exits 1 and says so when the isolate dies', async () => {
    const server = vcServer([deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--listen', '127.0.0.1:0']);
    await server.line(/^Veracruz server running on /);
    const pid = Number(/isolate pid (\d+)/.exec(await server.line(/isolate pid \d+/))![1]);
    process.kill(pid, 'SIGKILL');
    assert.equal(await server.exited, 1);
    assert.ok(server.stderr.some((line) => /the isolate exited unexpectedly \(signal SIGKILL\); stopping/.test(line)), server.stderr.join('\n'));
  });

  it('exits 1 with the complete enroll command when the PAS does not know the dev key, and that command works when pasted', async () => {
    const args = [deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', `${deployment.dir}/other-host/dev-key.pem`, '--listen', '127.0.0.1:0'];
    const server = vcServer(args);
    assert.equal(await server.exited, 1);
    const text = server.stderr.join('\n');
    assert.match(text, /created dev key .*other-host\/dev-key\.pem/);
    const refusal = server.stderr.find((line) => /refused to certify the isolate: /.test(line)) ?? '';
    const command = /run: (npx vc-pas enroll --dir "\$PAS_DIR" --name \S+ \S*other-host\/dev-key\.pub\.pem)\)/.exec(refusal)?.[1];
    assert.ok(command !== undefined, refusal);
    assert.equal(server.stdout.length, 0);
    const enrolled = await paste(command, { PAS_DIR: join(deployment.dir, 'pas') });
    assert.equal(enrolled.code, 0, enrolled.stderr);
    assert.match(enrolled.stdout, /^enrolled development key /);
    const again = vcServer(args);
    await again.line(/^Veracruz server running on /);
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
  });

  it('dev-key creates the key before the first boot and prints its public key and the enroll command', async () => {
    const path = join(deployment.dir, 'third-host', 'dev-key.pem');
    const first = vcServer(['dev-key', '--dev-key', path]);
    assert.equal(await first.exited, 0, first.stderr.join('\n'));
    assert.match(first.stdout[0] ?? '', /^dev key .*third-host\/dev-key\.pem \(created now; keep it private/);
    assert.equal(first.stdout[1], `public key ${join(deployment.dir, 'third-host', 'dev-key.pub.pem')}`);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const command = first.stdout.find((line) => line.startsWith('  npx vc-pas enroll '))?.trim();
    assert.match(command ?? '', /^npx vc-pas enroll --dir "\$PAS_DIR" --name [\w.@-]+-[0-9a-f]{8} \S+third-host\/dev-key\.pub\.pem$/);
    const second = vcServer(['dev-key', '--dev-key', path]);
    assert.equal(await second.exited, 0);
    assert.match(second.stdout[0] ?? '', /\(exists;/);
    const unset = await paste(command!, { PAS_DIR: '' });
    assert.equal(unset.code, 2, 'without PAS_DIR, vc-pas says what is missing');
    assert.match(unset.stderr, /--dir is required/);
    const enrolled = await paste(command!, { PAS_DIR: join(deployment.dir, 'pas') });
    assert.equal(enrolled.code, 0, enrolled.stderr);
    assert.equal((await vcServer(['dev-key', '--listen', '127.0.0.1:0']).exited), 2);
  });

  it('names enclave_cert_expiry when it has passed, and refuses to listen where the PAS is', async () => {
    const policy = JSON.parse(deployment.policyText) as Record<string, unknown>;
    const expiredPath = join(deployment.dir, 'expired-policy.json');
    await writeFile(expiredPath, JSON.stringify({ ...policy, enclave_cert_expiry: { year: 2020, month: 1, day: 1, hour: 0, minute: 0 } }));
    const expired = vcServer([expiredPath, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--listen', '127.0.0.1:0']);
    assert.equal(await expired.exited, 1);
    assert.match(expired.stderr.join('\n'), /Z vc-server: \[invalid_policy\] the policy's enclave_cert_expiry \(2020-01-01T00:00:00\.000Z\) has passed: .*vc-pgen -x/);
    assert.doesNotMatch(expired.stderr.join('\n'), /certificate expiry cap/);
    const pasAddress = new URL(deployment.pas.url).host;
    const clash = vcServer([deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--listen', pasAddress]);
    assert.equal(await clash.exited, 1);
    assert.match(clash.stderr.join('\n'), new RegExp(`vc-server would listen on ${pasAddress.replaceAll('.', '\\.')} \\(--listen\\), where the PAS is \\(the policy's proxy_attestation_server_url\\)`));
  });

  it('makes the isolate a sealed-storage directory of its own in --spill-dir, removes it at exit, and names a --spill-dir it cannot use', async () => {
    const parent = join(deployment.dir, 'spill');
    await mkdir(parent);
    const server = vcServer([deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--listen', '127.0.0.1:0', '--spill-dir', parent, '--spill-max-mib', '64']);
    await server.line(/Veracruz server running on/);
    const made = await readdir(parent);
    assert.equal(made.length, 1);
    assert.match(made[0]!, /^vc-sealed-/);
    assert.equal((await stat(join(parent, made[0]!))).mode & 0o777, 0o700);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.deepEqual(await readdir(parent), []);
    const missing = vcServer([deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--listen', '127.0.0.1:0', '--spill-dir', join(deployment.dir, 'no-such-dir')]);
    assert.equal(await missing.exited, 1);
    assert.match(missing.stderr.join('\n'), /vc-server: \[not_found\] sealed storage: cannot make a directory in \S+no-such-dir \(ENOENT\)/);
  });

  it('says how to build a missing runtime with the Node npm installs', async () => {
    const server = vcServer([deployment.policyPath, '--runtime', join(deployment.dir, 'missing.mjs'), '--dev-key', deployment.devKey.privateKeyPath, '--listen', '127.0.0.1:0']);
    assert.equal(await server.exited, 1);
    const command = /the default bundle is built with: (npm run --prefix \S+ build:runtime)\)/.exec(server.stderr.join('\n'))?.[1];
    assert.ok(command !== undefined, server.stderr.join('\n'));
    assert.equal(command, `npm run --prefix ${REPOSITORY_ROOT} build:runtime`);
    // The script it names exists and builds the bundle.
    const scripts = (JSON.parse(await readFile(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.match(scripts['build:runtime'] ?? '', /scripts\/build-runtime\.ts/);
  });

  it('refuses bad usage with exit 2 in one line, and has -V and --help', async () => {
    const cases: [string[], string][] = [
      [[], 'missing the policy file'],
      [[deployment.policyPath, '--platform', 'nitro'], "--platform: expected linux, sev-snp or tdx, got 'nitro'"],
      [[deployment.policyPath, '--bogus'], "unknown option '--bogus'"],
      [[deployment.policyPath, '--listen'], "option '--listen' needs a value"],
      [[deployment.policyPath, '--max-sessions', '0'], "--max-sessions: expected a positive integer, got '0'"],
      [[deployment.policyPath, '--spill-max-mib', 'lots'], "--spill-max-mib: expected a whole number of MiB, got 'lots'"],
      [[deployment.policyPath, '--spill-max-mib', '0', '--spill-dir', deployment.dir], '--spill-dir: sealed storage is off (--spill-max-mib 0)'],
    ];
    for (const [args, message] of cases) {
      const server = vcServer(args);
      assert.equal(await server.exited, 2, args.join(' '));
      assert.deepEqual(server.stderr, [`vc-server: ${message} (see vc-server --help)`]);
    }
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const printed = vcServer(['-V']);
    assert.equal(await printed.exited, 0);
    assert.deepEqual(printed.stdout, [`vc-server ${version}`]);
    const help = vcServer(['-h']);
    assert.equal(await help.exited, 0);
    const flat = help.stdout.join('\n').replace(/\s+/g, ' ');
    // In the order --help lists them: each one's text runs up to the next.
    const flags = ['--platform', '--runtime', '--dev-key', '--pas', '--listen', '--network', '--max-sessions', '--isolate-flag', '-V, --version'];
    const starts = flags.map((flag) => flat.indexOf(` ${flag} `, flat.indexOf('Options:')));
    flags.slice(0, -1).forEach((flag, index) => {
      assert.ok(starts[index]! > 0 && starts[index]! < starts[index + 1]!, `${flag} is described, in order`);
      assert.match(flat.slice(starts[index], starts[index + 1]), /Default: /, `${flag} states its default`);
    });
  });

  it('does not fake confidential VMs: sev-snp says what it needs and exits 1', async () => {
    const server = vcServer([deployment.policyPath, '--platform', 'sev-snp', '--listen', '127.0.0.1:0']);
    assert.equal(await server.exited, 1);
    assert.match(server.stderr.join('\n'), /sev-snp: launching a confidential VM needs a SEV-SNP host/);
  });
});
