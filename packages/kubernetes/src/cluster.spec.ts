// Against a real cluster only (kind or minikube with the image loaded: see the README); skipped
// without a kubeconfig. Nothing here stands in for a cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type KubernetesObject, KubernetesObjectApi, PatchStrategy,
} from '@kubernetes/client-node';
import { createIdentity } from '@veracruz-ts/policy';
import { kubernetesManifests, memberServiceAddress } from './manifests.ts';
import { GROUP, memberPodName, PLURALS, VERSION } from './names.ts';

const KUBECONFIG = (process.env['KUBECONFIG'] ?? join(homedir(), '.kube', 'config')).split(delimiter).filter((path) => path !== '');
const HAS_KUBECONFIG = KUBECONFIG.some((path) => existsSync(path));
/** The image, loaded into the cluster beforehand (`kind load docker-image`, `minikube image load`). */
const IMAGE = process.env['VC_TEST_IMAGE'] ?? 'veracruz-ts:0.1.0';
const REPOSITORY = new URL('../../../', import.meta.url);

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

test('on a cluster: PAS and operator come up, a pool of 2 warms, a computation is ready; its member\'s pod deleted loses it with a reason; a warm pod deleted is replaced', { timeout: 30 * 60_000 }, async (t) => {
  if (!HAS_KUBECONFIG) {
    t.skip('no kubeconfig: this test needs a cluster with the image loaded (set KUBECONFIG to run against kind or minikube)');
    return;
  }
  const config = new KubeConfig();
  config.loadFromDefault();
  const objects = KubernetesObjectApi.makeApiClient(config);
  const core = config.makeApiClient(CoreV1Api);
  const apps = config.makeApiClient(AppsV1Api);
  const custom = config.makeApiClient(CustomObjectsApi);
  const namespace = `vc-test-${randomBytes(3).toString('hex')}`;
  const apply = (object: object) => objects.patch(object as KubernetesObject, undefined, undefined, 'vc-cluster-test', true, PatchStrategy.ServerSideApply);

  const crdNames = [`${PLURALS.computation}.${GROUP}`, `${PLURALS.pool}.${GROUP}`];
  const crdsBefore = await Promise.all(crdNames.map((name) => objects.read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } }).then(() => true, () => false)));
  const work = await mkdtemp(join(tmpdir(), 'vc-cluster-'));
  t.after(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => {});
    // Definitions other fleets may use stay; those this test made go.
    await Promise.all(crdNames.filter((_, index) => !crdsBefore[index]).map((name) => objects.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } }).catch(() => {})));
    await rm(work, { recursive: true, force: true });
  });

  // The manifests, then the Secrets they refer to: a control token and a development key made as the README says.
  for (const object of kubernetesManifests({ namespace, image: IMAGE, pool: 2 })) await apply(object);
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'vc-control-token' }, stringData: { token: randomBytes(32).toString('hex') } } });
  const devKey = join(work, 'dev-key.pem');
  await promisify(execFile)(fileURLToPath(new URL('node_modules/.bin/vc-server', REPOSITORY)), ['dev-key', '--dev-key', devKey]);
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'vc-dev-key' }, stringData: { 'dev-key.pem': await readFile(devKey, 'utf8'), 'dev-key.pub.pem': await readFile(join(work, 'dev-key.pub.pem'), 'utf8') } },
  });
  for (const name of crdNames) {
    await until(`${name} established`, 60_000, async () => {
      const crd = await objects.read<KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } }>({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } });
      return crd.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True') ? true : undefined;
    });
  }
  await until('the PAS ready', 10 * 60_000, async () => ((await apps.readNamespacedStatefulSet({ name: 'vc-pas', namespace })).status?.readyReplicas === 1 ? true : undefined));
  await until('the operator ready', 10 * 60_000, async () => ((await apps.readNamespacedDeployment({ name: 'vc-operator', namespace })).status?.readyReplicas === 1 ? true : undefined));

  await apply({ apiVersion: `${GROUP}/${VERSION}`, kind: 'VeracruzPool', metadata: { name: 'default', namespace }, spec: { size: 2, memoryMib: 512 } });
  const pool = async () => (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.pool, name: 'default' })) as { status?: { warm?: number } };
  await until('two warm members', 10 * 60_000, async () => ((await pool()).status?.warm === 2 ? true : undefined));

  const program = await readFile(new URL('examples/build/wasm/linear-regression.wasm', REPOSITORY));
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'vc-programs' }, binaryData: { 'linear-regression.wasm': program.toString('base64') } } });
  const analyst = await createIdentity('analyst');
  await apply({
    apiVersion: `${GROUP}/${VERSION}`, kind: 'VeracruzComputation', metadata: { name: 'regression', namespace },
    spec: {
      topology: {
        platform: 'linux',
        parties: { analyst: { certificate: analyst.certificatePem } },
        isolates: {
          regression: {
            programs: { '/program/linear-regression.wasm': { configMap: 'vc-programs', key: 'linear-regression.wasm' } },
            program_rights: { '/program/linear-regression.wasm': '/input/:r,/output/:w' },
            rights: { analyst: '/input/linear-regression.dat:w,/program/linear-regression.wasm:x,/output/linear-regression.dat:r' },
            max_memory_mib: 256,
          },
        },
      },
    },
  });
  type Computation = { status?: { state?: string; reason?: string; ready?: string; isolates?: { name: string; member?: string; address?: string; policyHash?: string }[] } };
  const computation = async () => (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.computation, name: 'regression' })) as Computation;
  const ready = await until('the computation ready', 10 * 60_000, async () => {
    const status = (await computation()).status;
    assert.notEqual(status?.state, 'failed', status?.reason);
    return status?.state === 'ready' ? status : undefined;
  });
  assert.equal(ready.ready, '1/1');
  const [isolate] = ready.isolates ?? [];
  assert.equal(isolate?.address, memberServiceAddress('regression', 'regression', namespace));
  assert.match(isolate?.policyHash ?? '', /^[0-9a-f]{64}$/);
  await until('the pool refilled after the assignment', 10 * 60_000, async () => ((await pool()).status?.warm === 2 ? true : undefined));

  // A member pod deleted from outside: its isolate's data is gone, and the computation says so.
  await core.deleteNamespacedPod({ name: memberPodName(isolate!.member!), namespace });
  const lost = await until('the computation lost', 5 * 60_000, async () => {
    const status = (await computation()).status;
    return status?.state === 'lost' ? status : undefined;
  });
  assert.match(lost.reason ?? '', /^isolate regression \(member \S+, vc-regression-regression\.\S+:3017\) died at \S+: its pod \S+ was deleted, not by the operator/);

  // A warm member's pod deleted: the pool starts another in its place.
  const memberPods = async () => (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/component=member' })).items.filter((item) => item.metadata?.deletionTimestamp === undefined);
  const warm = await until('the dead member\'s pod gone', 5 * 60_000, async () => {
    const pods = await memberPods();
    return pods.length === 2 && pods.every((item) => item.metadata?.name !== memberPodName(isolate!.member!)) ? pods : undefined;
  });
  const victim = warm[0]!.metadata!.name!;
  await core.deleteNamespacedPod({ name: victim, namespace });
  await until('the pool refilled', 10 * 60_000, async () => {
    const pods = await memberPods();
    const names = pods.map((item) => item.metadata?.name);
    return (await pool()).status?.warm === 2 && pods.length === 2 && !names.includes(victim) ? true : undefined;
  });
});
