import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { VeracruzClient } from '@veracruz-ts/client';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { createCertificateAuthority } from '@veracruz-ts/attestation/certificates';
import { callJsonApi } from './json-api.ts';
import { createTestDeployment, policyFor, type TestDeployment } from './testing.ts';
import { startWarmServer } from './warm.ts';
import type { AssignAnswer, WarmHealth } from './warm-control.ts';
import { serveWarmControl } from './warm-control.ts';
import { freePort } from './free-port.ts';

const TOKEN = 'test-control-token-0123456789';
const VC_SERVER = fileURLToPath(new URL('../bin/vc-server.ts', import.meta.url));

describe('a warm server (certified without a policy, then given one)', () => {
  let deployment: TestDeployment;
  before(async () => {
    deployment = await createTestDeployment();
  });
  after(() => deployment.remove());

  const policyAt = (address: string, options: { maxMemoryMib?: number; pasCertificatePem?: string } = {}): string =>
    policyFor({
      principal: deployment.principal,
      pasCertificatePem: options.pasCertificatePem ?? deployment.pas.caCertificatePem,
      pasAddress: new URL(deployment.pas.url).host,
      runtimeHash: deployment.bundle.measurement,
      serverAddress: address,
      ...(options.maxMemoryMib === undefined ? {} : { maxMemoryMib: options.maxMemoryMib }),
    });
  /** `vc-server warm` as a child: its event lines one by one, and its exit status. */
  const warmHost = (address: string, extra: string[] = []) => {
    const child = spawn(process.execPath, [VC_SERVER, 'warm', '--pas', deployment.pas.url, '--listen', address, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--memory-mib', '256', ...extra], {
      env: { ...process.env, VC_CONTROL_TOKEN: TOKEN }, stdio: ['pipe', 'pipe', 'ignore'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async (): Promise<Record<string, unknown>> => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
    return { child, next, exited };
  };
  const warmOptions = (listen: string) => ({ pasUrl: deployment.pas.url, listen, runtimePath: deployment.bundle.path, devKeyPath: deployment.devKey.privateKeyPath, memoryMib: 256, log: () => {} });

  it('serves the one policy it is given, to parties that check the binding, and refuses a second', async () => {
    const address = `127.0.0.1:${await freePort('127.0.0.1')}`;
    const warm = await startWarmServer(warmOptions(address));
    try {
      assert.equal(warm.state(), 'warm');
      assert.match(warm.measurement, /^[0-9a-f]{64}$/);
      assert.equal(warm.measurement, deployment.bundle.measurement);
      const policyText = policyAt(address);
      const running = await warm.assign(policyText);
      assert.equal(running.url, address);
      assert.equal(warm.state(), 'serving');
      const client = await VeracruzClient.connect({ policy: policyText, certificatePem: deployment.principal.certificatePem, privateKeyPem: deployment.principal.privateKeyPem, address });
      await client.writeFile('/input/a', new TextEncoder().encode('warm'));
      assert.equal(new TextDecoder().decode(await client.readFile('/input/a')), 'warm');
      await client.close();
      await assert.rejects(warm.assign(policyAt(address, { maxMemoryMib: 128 })), (error: unknown) => error instanceof VeracruzError && error.code === Code.AlreadyExists && /serving; a warm isolate takes one policy/.test(error.message));
    } finally {
      await warm.close();
    }
    assert.equal((await warm.exited).code, 0);
  });

  it('refuses a policy larger than its memory, and stays warm for a fitting one', async () => {
    const address = `127.0.0.1:${await freePort('127.0.0.1')}`;
    const warm = await startWarmServer(warmOptions(address));
    try {
      await assert.rejects(warm.assign(policyAt(address, { maxMemoryMib: 1024 })), /max_memory_mib \(1024\) is more than this isolate's memory budget \(256 MiB\)/);
      await assert.rejects(warm.assign('{"not": "a policy"'), (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidPolicy);
      assert.equal(warm.state(), 'warm');
      await warm.assign(policyAt(address));
      assert.equal(warm.state(), 'serving');
    } finally {
      await warm.close();
    }
  });

  it('stops, naming why, when the isolate refuses the assigned policy (another PAS CA)', async () => {
    const address = `127.0.0.1:${await freePort('127.0.0.1')}`;
    const warm = await startWarmServer(warmOptions(address));
    const foreign = await createCertificateAuthority();
    await assert.rejects(warm.assign(policyAt(address, { pasCertificatePem: foreign.certificatePem })), /the isolate refused to initialize/);
    const exit = await warm.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.reason, /the assignment failed: the isolate refused to initialize/);
  });

  it('answers on its control port only with the token', async () => {
    const address = `127.0.0.1:${await freePort('127.0.0.1')}`;
    const warm = await startWarmServer(warmOptions(address));
    const control = await serveWarmControl(warm, { listen: '127.0.0.1:0', token: TOKEN });
    try {
      const base = `http://${control.address}`;
      await assert.rejects(callJsonApi(`${base}/v1/health`), (error: unknown) => error instanceof VeracruzError && error.code === Code.PermissionDenied);
      await assert.rejects(callJsonApi(`${base}/v1/assign`, { body: { policy: policyAt(address) }, token: 'wrong-token-0123456789' }), /needs the control token/);
      const health = await callJsonApi<WarmHealth>(`${base}/v1/health`, { token: TOKEN });
      assert.equal(health.state, 'warm');
      assert.equal(health.measurement, deployment.bundle.measurement);
      await assert.rejects(callJsonApi(`${base}/v1/assign`, { body: { policy: 42 }, token: TOKEN }), (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidRequest);
      const answer = await callJsonApi<AssignAnswer>(`${base}/v1/assign`, { body: { policy: policyAt(address) }, token: TOKEN });
      assert.equal(answer.url, address);
      assert.equal((await callJsonApi<WarmHealth>(`${base}/v1/health`, { token: TOKEN })).policyHash, answer.policyHash);
      await assert.rejects(callJsonApi(`${base}/v1/assign`, { body: { policy: policyAt(address) }, token: TOKEN }), (error: unknown) => error instanceof VeracruzError && error.code === Code.AlreadyExists);
    } finally {
      await control.close();
      await warm.close();
    }
  });

  it('vc-server warm reports warm, serving and exit as JSON lines, and the reason of a killed isolate in its termination log', async () => {
    const address = `127.0.0.1:${await freePort('127.0.0.1')}`;
    const terminationLog = join(deployment.dir, 'termination-log');
    const { child, next, exited } = warmHost(address, ['--termination-log', terminationLog]);
    const warmLine = await next();
    assert.equal(warmLine.event, 'warm');
    assert.equal(warmLine.listen, address);
    await assert.rejects(listenOn(address), /EADDRINUSE/, 'the clients\' port is held from the start');
    // A policy the isolate refuses stops the host, and the refusal still reaches the caller.
    const foreign = await createCertificateAuthority();
    await assert.rejects(callJsonApi(`http://${warmLine.control as string}/v1/assign`, { body: { policy: policyAt(address, { pasCertificatePem: foreign.certificatePem }) }, token: TOKEN }), /the isolate refused to initialize/);
    const refused = await next();
    assert.equal(refused.event, 'exit');
    assert.match(refused.reason as string, /^the assignment failed: the isolate refused to initialize/);
    assert.equal(await exited, 1);
    child.kill();

    const second = warmHost(address, ['--termination-log', terminationLog]);
    const secondWarm = await second.next();
    await callJsonApi(`http://${secondWarm.control as string}/v1/assign`, { body: { policy: policyAt(address) }, token: TOKEN });
    assert.equal((await second.next()).event, 'serving');
    process.kill(secondWarm.isolatePid as number, 'SIGKILL');
    const exitLine = await second.next();
    assert.equal(exitLine.event, 'exit');
    assert.equal(exitLine.code, 1);
    assert.equal(exitLine.byPrincipal, false);
    assert.match(exitLine.reason as string, /the isolate exited unexpectedly \(signal SIGKILL\)/);
    assert.equal(await second.exited, 1);
    assert.equal(await readFile(terminationLog, 'utf8'), exitLine.reason);
  });

  it('vc-server warm --exit-with-stdin stops, isolate and all, when its launcher goes (stdin closed)', async () => {
    const address = `127.0.0.1:${await freePort('127.0.0.1')}`;
    const host = warmHost(address, ['--exit-with-stdin']);
    const warmLine = await host.next();
    assert.equal(warmLine.event, 'warm');
    host.child.stdin!.end();
    const exitLine = await host.next();
    assert.equal(exitLine.event, 'exit');
    assert.match(exitLine.reason as string, /stopped by the operator/);
    assert.equal(await host.exited, 0);
    assert.throws(() => process.kill(warmLine.isolatePid as number, 0), 'the isolate is gone too');
  });

  it('vc-server warm refuses to start without a token, a PAS or a port of its own', async () => {
    const run = (args: string[], env: Record<string, string>) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [VC_SERVER, 'warm', ...args], { env: { ...process.env, VC_CONTROL_TOKEN: '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    assert.match((await run(['--pas', deployment.pas.url, '--listen', '127.0.0.1:1'], {})).stderr, /set VC_CONTROL_TOKEN/);
    assert.match((await run(['--listen', '127.0.0.1:1'], { VC_CONTROL_TOKEN: TOKEN })).stderr, /--pas is required/);
    const noPort = await run(['--pas', deployment.pas.url, '--listen', '127.0.0.1:0'], { VC_CONTROL_TOKEN: TOKEN });
    assert.equal(noPort.code, 2);
    assert.match(noPort.stderr, /--listen needs a port of its own/);
  });
});

/** Listens on `address` and closes again; rejects as listen does (EADDRINUSE when the port is taken). */
function listenOn(address: string): Promise<void> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
