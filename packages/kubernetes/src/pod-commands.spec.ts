// The commands the manifests give the PAS pod and a member pod, run as written on this machine:
// what exists only in a pod (its paths, its Service names) is replaced, nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Code } from '@veracruz-ts/core';
import { refusedAs } from '@veracruz-ts/core/testing';
import { planFleet } from '@veracruz-ts/fleet';
import { createIdentity } from '@veracruz-ts/policy';
import { warmControlClient } from '@veracruz-ts/server';
import { CA_PATH, fetchCaCertificate } from './ca-certificate.ts';
import { computationRequest } from './computation.ts';
import { kubernetesManifests, memberPod, resolveOptions } from './manifests.ts';

type Json = any;

const BIN = fileURLToPath(new URL('../../../node_modules/.bin', import.meta.url));
const RUNTIME_BUNDLE = fileURLToPath(new URL('../../../build/runtime/veracruz-runtime.mjs', import.meta.url));
const ENV = { ...process.env, PATH: `${BIN}${delimiter}${process.env['PATH'] ?? ''}` };
const directory = await mkdtemp(join(tmpdir(), 'vc-pod-commands-'));
const children: ChildProcess[] = [];
test.after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await rm(directory, { recursive: true, force: true });
});

/** Starts a long-running command and resolves with the first stdout line that matches. */
function started(command: string, args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = pattern.exec(line);
      if (match !== null) resolve({ child, match });
    });
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

test('the PAS pod\'s init script (twice, as at a restart) and vc-pas serve, its CA certificate read as the operator reads it; a member pod\'s command warms with the enrolled key, and the operator\'s control client assigns it a planned policy and stops it', { timeout: 180_000 }, async (t) => {
  const statefulSet: Json = kubernetesManifests().find((object: Json) => object.kind === 'StatefulSet');
  const spec = statefulSet.spec.template.spec;
  const pasDir = join(directory, 'pas');
  const keyDir = join(directory, 'dev-key');
  // The vc-dev-key Secret's two files, made as the README says.
  await promisify(execFile)(join(BIN, 'vc-server'), ['dev-key', '--dev-key', join(keyDir, 'dev-key.pem')], { env: ENV });
  const inPod = (text: string): string => text.replaceAll('/var/lib/vc-pas', pasDir).replaceAll('/etc/vc-dev-key', keyDir);

  const script = inPod(spec.initContainers[0].command[2]);
  for (const round of ['first start', 'restart']) {
    const { stdout } = await promisify(execFile)('sh', ['-c', script], { env: ENV }).catch((error: { stderr?: string }) => assert.fail(`${round}: ${error.stderr}`));
    assert.match(stdout, /enrolled development key fleet-dev-key/, round);
  }
  const keys = JSON.parse((await promisify(execFile)(join(BIN, 'vc-pas'), ['keys', '--dir', pasDir, '--json'], { env: ENV })).stdout) as { name: string }[];
  assert.deepEqual(keys.map((key) => key.name), ['fleet-dev-key']);

  const [pasContainer] = spec.containers;
  const pasArgs = (pasContainer.command as string[]).slice(1).map((arg) => (arg === '0.0.0.0:3010' ? '127.0.0.1:0' : inPod(arg)));
  const pas = await started(join(BIN, 'vc-pas'), pasArgs, ENV, /^vc-pas listening on (http:\/\/\S+)$/);
  assert.equal(await fetchCaCertificate(`${pas.match[1]}${CA_PATH}`, { timeoutMs: 10_000 }), await readFile(join(pasDir, 'ca.pem'), 'utf8'));

  if (!(await readFile(RUNTIME_BUNDLE).then(() => true, () => false))) {
    t.diagnostic(`no runtime bundle at ${RUNTIME_BUNDLE} (npm run build:runtime): the member part is not run`);
    return;
  }
  // A member pod's command against that PAS: its evidence, signed with the key the init script enrolled, is accepted.
  const host: Json = memberPod(resolveOptions(), 'member-1').spec!.containers[0];
  const token = 'a-control-token-for-this-test';
  const termination = join(directory, 'termination-log');
  const listen = `127.0.0.1:${await freePort()}`;
  const replaced: Record<string, string> = {
    'http://vc-pas:3010': pas.match[1]!, '0.0.0.0:3017': listen, '0.0.0.0:3018': '127.0.0.1:0',
    '/dev/termination-log': termination, '/run/vc-dev-key/dev-key.pem': join(keyDir, 'dev-key.pem'),
  };
  const memberArgs = (host.command as string[]).slice(1).map((arg) => replaced[arg] ?? arg);
  const member = await started(join(BIN, 'vc-server'), memberArgs, { ...ENV, VC_CONTROL_TOKEN: token }, /^(\{"event":"warm".*)$/);
  const warm = JSON.parse(member.match[1]!) as { control: string; measurement: string; attestedAt: string };

  // The operator's client of the control API, against the real host.
  const control = warmControlClient('member-1', warm.control, token);
  assert.deepEqual(await control.health(2000), { state: 'warm', sessions: 0, measurement: warm.measurement, attestedAt: warm.attestedAt, memoryMib: resolveOptions().memoryMib });
  await assert.rejects(warmControlClient('member-1', warm.control, 'not-the-token-at-all').health(2000), refusedAs(Code.PermissionDenied, /^member member-1's host \(http:\/\/127\.0\.0\.1:\d+\/v1\/health\): this request needs the control token/));
  // A policy as the reconciler plans it for this member, from a computation as the operator reads it.
  const analyst = await createIdentity('analyst');
  const request = await computationRequest('solo', {
    topology: { parties: { analyst: { certificate: analyst.certificatePem } }, isolates: { solo: { rights: { analyst: '/input/:w,/output/:r' }, max_memory_mib: 64 } } },
  }, 'linux', async () => undefined);
  const at = new Date();
  const plan = await planFleet({
    topology: request.topology, runtimeHash: warm.measurement, pasCaPem: await readFile(join(pasDir, 'ca.pem'), 'utf8'), pasAddress: pas.match[1]!.replace('http://', ''),
    // As in the cluster: the policy names the isolate's Service, on the port the host listens on.
    partyCertificates: request.partyCertificates, addresses: { solo: `vc-solo-solo.veracruz.svc:${listen.split(':')[1]}` }, programHashes: {}, certificateExpiry: new Date(at.getTime() + 86_400_000), at,
  });
  const [planned] = plan.isolates;
  assert.deepEqual(await control.assign(planned!.policyText, 60_000), { url: listen, policyHash: planned!.policyHash });
  const serving = await control.health(2000);
  assert.deepEqual([serving.state, serving.policyHash], ['serving', planned!.policyHash]);
  await assert.rejects(control.assign(planned!.policyText, 60_000), refusedAs(Code.AlreadyExists, /^member member-1's host \(http:\/\/127\.0\.0\.1:\d+\/v1\/assign\): assign refused: the server is serving; a warm isolate takes one policy in its life/));

  const exited = new Promise<number | null>((resolve) => member.child.once('exit', resolve));
  await control.stop(2000);
  assert.equal(await exited, 0);
  assert.notEqual(await readFile(termination, 'utf8'), '', 'the host wrote why it ended');
  await assert.rejects(control.health(2000), refusedAs(Code.Unavailable, /^member member-1's host \(http:\/\/127\.0\.0\.1:\d+\/v1\/health\): /));
});
