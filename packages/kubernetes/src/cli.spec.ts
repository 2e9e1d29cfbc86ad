import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { type CliIO, main } from './cli.ts';

const BIN = fileURLToPath(new URL('../bin/vc-operator.js', import.meta.url));
const directory = await mkdtemp(join(tmpdir(), 'vc-operator-cli-'));
test.after(() => rm(directory, { recursive: true, force: true }));

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  Namespace, CustomResourceDefinition, Service, StatefulSet, ServiceAccount, Role, RoleBinding, Deployment, NetworkPolicy,
};

async function run(argv: string[], extra: Partial<CliIO> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env: {}, stopRequested: Promise.resolve(), ...extra });
  return { code, stdout, stderr };
}

test('--help names every command and option with its default; -V prints the version (through the bin)', async () => {
  const bin = (...args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [BIN, ...args], (error, stdout) => resolve({ code: error === null ? 0 : Number(error.code), stdout }));
    });
  const help = await bin('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage:\n {2}vc-operator manifests \[--namespace NS\]/);
  const flat = help.stdout.replace(/\s+/g, ' ');
  for (const [flag, fallback] of [['--namespace', 'veracruz'], ['--image', 'veracruz-ts:0.1.0'], ['--pool', '2'], ['--memory-mib', '512'], ['--pas-storage', '1Gi'], ['--days', '30']] as const) {
    assert.match(flat, new RegExp(`${flag} \\S+ .*?Default: ${fallback.replace(/[.]/g, '\\.')}\\.`), `${flag} states its default`);
  }
  for (const flag of ['--platform', '--runtime-class', '--device', '--storage-class', '--runtime-hash', '--max-members', '--listen', '--version']) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  assert.ok(help.stdout.split('\n').every((line) => line.length <= 100), 'lines fit 100 columns');
  const { version } = JSON.parse(await readFile(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string };
  assert.deepEqual(await bin('-V'), { code: 0, stdout: `vc-operator ${version}\n` });
});

test('manifests: a YAML stream that parses, every object valid, shaped by the options', async () => {
  const plain = await run(['manifests']);
  assert.equal(plain.code, 0);
  assert.equal(plain.stderr, '');
  const objects = loadAllYaml(plain.stdout);
  assert.equal(objects.length, 15);
  for (const object of objects) {
    const Model = MODELS[object.kind];
    assert.ok(Model !== undefined, object.kind);
    // The client's models hold Dates and renamed fields; the JSON the stream carries is what is checked.
    assert.doesNotThrow(() => new Model(JSON.parse(JSON.stringify(object))).validate(), `${object.kind} ${object.metadata.name}`);
  }

  const tee = await run([
    'manifests', '--namespace', 'snp', '--image', 'registry.example/vc:1', '--pool', '3', '--memory-mib', '2048', '--platform', 'sev-snp',
    '--runtime-class', 'kata-qemu-snp', '--device', 'amd.com/sev-snp=1', '--pas-storage', '2Gi', '--storage-class', 'fast', '--runtime-hash', 'c'.repeat(96),
  ]);
  assert.equal(tee.code, 0, tee.stderr);
  const teeObjects = loadAllYaml(tee.stdout);
  assert.ok(teeObjects.filter((object) => object.kind !== 'CustomResourceDefinition' && object.kind !== 'Namespace').every((object) => object.metadata.namespace === 'snp'));
  const operator = teeObjects.find((object) => object.kind === 'Deployment');
  assert.deepEqual(operator.spec.template.spec.containers[0].command, [
    'vc-operator', 'run', '--namespace', 'snp', '--image', 'registry.example/vc:1', '--pool', '3', '--memory-mib', '2048', '--platform', 'sev-snp',
    '--runtime-class', 'kata-qemu-snp', '--device', 'amd.com/sev-snp=1',
  ]);
  const pas = teeObjects.find((object) => object.kind === 'StatefulSet');
  assert.equal(pas.spec.volumeClaimTemplates[0].spec.storageClassName, 'fast');
  assert.equal(pas.spec.volumeClaimTemplates[0].spec.resources.requests.storage, '2Gi');
});

test('usage errors: one line naming the option, exit status 2, nothing on stdout', async () => {
  const cases: [string[], string][] = [
    [[], 'nothing to do (expected manifests or run)'],
    [['install'], 'unknown command "install" (expected manifests or run)'],
    [['manifests', '--bogus'], "unknown option '--bogus'"],
    [['manifests', 'extra'], "unexpected argument 'extra'"],
    [['manifests', '--days', '3'], "unknown option '--days'"],
    [['manifests', '--namespace'], "option '--namespace' needs a value"],
    [['manifests', '--pool', 'two'], '--pool: expected a whole number, got "two"'],
    [['manifests', '--pool', '5000'], '--pool: expected an integer from 0 to 1000, got 5000'],
    [['manifests', '--memory-mib', '0'], '--memory-mib: expected an integer from 1 to 4096, got 0'],
    [['manifests', '--namespace', 'Fleet'], '--namespace: "Fleet" is not a DNS-1123 label (lowercase letters, digits and \'-\', at most 63)'],
    [['manifests', '--platform', 'sgx'], '--platform: expected linux, sev-snp, tdx, got "sgx"'],
    [['manifests', '--platform', 'tdx'], '--runtime-hash: required for tdx: the measurement of the confidential VM the members boot, which the operator cannot compute'],
    [['manifests', '--device', 'amd.com/sev-snp'], '--device: expected RESOURCE=N such as amd.com/sev-snp=1, got "amd.com/sev-snp"'],
    [['manifests', '--device', 'gpu=1'], '--device gpu: expected an extended resource name, DOMAIN/NAME with a domain outside kubernetes.io (aws.ec2.nitro/nitro_enclaves, amd.com/sev-snp)'],
    [['manifests', '--pas-storage', 'big'], '--pas-storage: expected a quantity such as 1Gi, got "big"'],
    [['manifests', '--runtime-hash', 'xyz'], '--runtime-hash: expected 64 or 96 lowercase hex digits'],
    [['manifests', '--runtime-class', 'Kata'], '--runtime-class: "Kata" is not a DNS-1123 subdomain'],
    [['run', '--pas-storage', '1Gi'], "unknown option '--pas-storage'"],
    [['run', '--days', '0'], '--days: expected a positive whole number, got "0"'],
    [['run', '--max-members', '1', '--pool', '4'], '--max-members: 1 is less than the pool (4)'],
    [['run', '--listen', 'nowhere'], '--listen "nowhere" is not host:port (or [v6]:port)'],
    [['run'], "VC_CONTROL_TOKEN: set it to the members' control token, 16 characters at least (the vc-control-token Secret)"],
  ];
  for (const [argv, message] of cases) {
    const result = await run(argv);
    assert.deepEqual(result, { code: 2, stdout: '', stderr: `vc-operator: ${message} (see vc-operator --help)\n` }, argv.join(' '));
  }
});

test('run needs the runtime measurement: VC_RUNTIME_HASH, or for linux a bundle it can read; refused before any cluster is asked', async () => {
  const token = { VC_CONTROL_TOKEN: 'a-token-of-sixteen-characters' };
  const tdx = await run(['run', '--platform', 'tdx'], { env: token });
  assert.equal(tdx.code, 2);
  assert.equal(tdx.stderr, 'vc-operator: VC_RUNTIME_HASH is required for tdx: the measurement of the confidential VM the members boot (see vc-operator --help)\n');
  const badHash = await run(['run'], { env: { ...token, VC_RUNTIME_HASH: 'ABCD' } });
  assert.equal(badHash.stderr, 'vc-operator: VC_RUNTIME_HASH: expected 64 or 96 lowercase hex digits (see vc-operator --help)\n');
  const nowhere = join(directory, 'nowhere.mjs');
  const noBundle = await run(['run', '--runtime', nowhere], { env: token });
  assert.equal(noBundle.code, 2);
  assert.equal(noBundle.stderr, `vc-operator: VC_RUNTIME_HASH is not set and the runtime bundle ${nowhere} cannot be read (give --runtime, or build it with npm run build:runtime) (see vc-operator --help)\n`);
});
