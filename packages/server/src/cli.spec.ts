import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createTestDeployment } from './testing.ts';
import type { TestDeployment } from './testing.ts';

const VC_SERVER = fileURLToPath(new URL('../bin/vc-server.ts', import.meta.url));

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

describe('vc-server CLI', () => {
  let deployment: TestDeployment;
  before(async () => {
    deployment = await createTestDeployment();
  });
  after(async () => {
    await deployment?.remove();
  });

  it('prints where it listens once ready, and exits 0 on SIGTERM', async () => {
    const server = vcServer([deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--listen', '127.0.0.1:0']);
    const ready = await server.line(/^Veracruz server running on /);
    assert.match(ready, /^Veracruz server running on 127\.0\.0\.1:\d+$/);
    assert.ok(server.stderr.some((line) => line.includes(deployment.bundle.measurement)));
    assert.ok(server.stderr.some((line) => line.includes(deployment.devKey.publicKeyPath)), 'names the public key to enroll');
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });

  it('exits 1 and says so when the isolate dies', async () => {
    const server = vcServer([deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--listen', '127.0.0.1:0']);
    await server.line(/^Veracruz server running on /);
    const pid = Number(/isolate pid (\d+)/.exec(await server.line(/isolate pid \d+/))![1]);
    process.kill(pid, 'SIGKILL');
    assert.equal(await server.exited, 1);
    assert.ok(server.stderr.some((line) => /the isolate exited unexpectedly \(signal SIGKILL\); stopping/.test(line)), server.stderr.join('\n'));
  });

  it('exits 1 with the enroll command when the PAS does not know the dev key', async () => {
    const server = vcServer([deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', `${deployment.dir}/other-host/dev-key.pem`, '--listen', '127.0.0.1:0']);
    assert.equal(await server.exited, 1);
    const text = server.stderr.join('\n');
    assert.match(text, /created dev key .*other-host\/dev-key\.pem/);
    assert.match(text, /refused to certify the isolate: .*vc-pas enroll .*other-host\/dev-key\.pub\.pem/);
    assert.equal(server.stdout.length, 0);
  });

  it('refuses bad usage with exit 2', async () => {
    assert.equal(await vcServer([]).exited, 2);
    assert.equal(await vcServer([deployment.policyPath, '--platform', 'nitro']).exited, 2);
  });

  it('does not fake confidential VMs: sev-snp says what it needs and exits 1', async () => {
    const server = vcServer([deployment.policyPath, '--platform', 'sev-snp', '--listen', '127.0.0.1:0']);
    assert.equal(await server.exited, 1);
    assert.match(server.stderr.join('\n'), /sev-snp: launching a confidential VM needs a SEV-SNP host/);
  });
});
