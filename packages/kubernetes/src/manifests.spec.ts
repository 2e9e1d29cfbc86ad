import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';
import { Code } from '@veracruz-ts/core';
import { refusedAs } from '@veracruz-ts/core/testing';
import AjvModule from 'ajv';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { readComputationSpec } from './computation.ts';
import {
  type FleetManifestOptions, kubernetesManifests, manifestsYaml, memberPod, memberService, memberServiceAddress, networkPolicies, resolveOptions,
} from './manifests.ts';
import { COMPONENT_LABEL, MEMBER_LABEL, memberServiceName, PART_OF, PART_OF_LABEL } from './names.ts';

type Json = any;

/** The typed class of each kind the manifests hold; `validate()` checks an object against the official schema. */
const MODELS: Record<string, new (data: Json) => { validate(): void }> = {
  Namespace, CustomResourceDefinition, Service, StatefulSet, ServiceAccount, Role, RoleBinding, Deployment, NetworkPolicy, Pod,
};

function validate(object: Json): void {
  const Model = MODELS[object.kind];
  assert.ok(Model !== undefined, `no model for ${object.kind}`);
  new Model(object).validate();
}

const TEE: FleetManifestOptions = {
  namespace: 'confidential',
  image: 'registry.example/veracruz-ts:0.1.0',
  pool: 5,
  memoryMib: 1024,
  platform: 'sev-snp',
  runtimeClassName: 'kata-qemu-snp',
  devices: { 'amd.com/sev-snp': 1 },
  pasStorage: '5Gi',
  storageClassName: 'fast-ssd',
  runtimeHash: 'ab'.repeat(48),
};

function byKindAndName(objects: readonly Json[], kind: string, name: string): Json {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  assert.ok(found !== undefined, `no ${kind} ${name}`);
  return found;
}

test('every object validates against the official schemas (kubernetes-models), with the defaults and a TEE configuration', () => {
  for (const options of [{}, TEE]) {
    const objects: Json[] = [
      ...kubernetesManifests(options),
      memberPod(resolveOptions(options), 'member-1'),
      memberService('regression', 'mapper-1', 'member-1', resolveOptions(options).namespace),
    ];
    for (const object of objects) assert.doesNotThrow(() => validate(object), `${object.kind} ${object.metadata.name}`);
    assert.deepEqual(
      kubernetesManifests(options).map((object: Json) => `${object.kind}/${object.metadata.name}`),
      [
        `Namespace/${resolveOptions(options).namespace}`,
        'CustomResourceDefinition/veracruzcomputations.fleet.veracruz-ts.dev',
        'CustomResourceDefinition/veracruzpools.fleet.veracruz-ts.dev',
        'Service/vc-pas-headless', 'Service/vc-pas', 'StatefulSet/vc-pas',
        'ServiceAccount/vc-operator', 'Role/vc-operator', 'RoleBinding/vc-operator', 'Deployment/vc-operator', 'Service/vc-fleet-status',
        'NetworkPolicy/vc-member-deny-all', 'NetworkPolicy/vc-member', 'NetworkPolicy/vc-pas', 'NetworkPolicy/vc-operator',
      ],
    );
  }
});

test('the same validation refuses broken objects: a Deployment without selector, replicas as a string, a container without name', () => {
  const deployment = structuredClone(byKindAndName(kubernetesManifests(), 'Deployment', 'vc-operator'));
  delete deployment.spec.selector;
  assert.throws(() => validate(deployment), /spec must have required property selector/);
  const replicas = structuredClone(byKindAndName(kubernetesManifests(), 'Deployment', 'vc-operator'));
  replicas.spec.replicas = '1';
  assert.throws(() => validate(replicas), /spec\/replicas must be integer/);
  const pod: Json = memberPod(resolveOptions(), 'member-1');
  delete pod.spec.containers[0].name;
  assert.throws(() => validate(pod), /containers\/0 must have required property name/);
  const crd = structuredClone(byKindAndName(kubernetesManifests(), 'CustomResourceDefinition', 'veracruzpools.fleet.veracruz-ts.dev'));
  crd.spec.versions[0].served = 'yes';
  assert.throws(() => validate(crd), /served must be boolean/);
});

/** Renames the fields the client's generated models keep under another name (`from` is `_from` there, `enum` `_enum`). */
function jsonNames(value: Json): Json {
  if (Array.isArray(value)) return value.map(jsonNames);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined).map(([key, item]) => [key.replace(/^_/, ''), jsonNames(item)]));
}

test('the YAML stream parses back whole, and every field written is one the API types know (nothing dropped by the client\'s models)', () => {
  for (const options of [{}, TEE]) {
    const objects: Json[] = [...kubernetesManifests(options), memberPod(resolveOptions(options), 'member-1')];
    const yaml = manifestsYaml(objects);
    assert.equal(yaml.split('\n---\n').length, objects.length, 'one document per object');
    // loadAllYaml reads each document into @kubernetes/client-node's model of its kind, which keeps
    // only the fields that kind has: a misspelt field would be missing when it is read back.
    const back = loadAllYaml(yaml);
    assert.equal(back.length, objects.length);
    back.forEach((read, index) => {
      assert.deepEqual(jsonNames(JSON.parse(JSON.stringify(read))), objects[index], `${objects[index].kind} ${objects[index].metadata.name}`);
    });
  }
});

test('namespaced objects are all in the fleet\'s namespace, and nothing is cluster-wide but the namespace and the two definitions', () => {
  const objects: Json[] = kubernetesManifests(TEE);
  const clusterScoped = objects.filter((object) => object.metadata.namespace === undefined).map((object) => object.kind);
  assert.deepEqual(clusterScoped, ['Namespace', 'CustomResourceDefinition', 'CustomResourceDefinition']);
  assert.ok(objects.every((object) => object.metadata.namespace === undefined || object.metadata.namespace === 'confidential'));
  assert.ok(objects.every((object) => object.metadata.labels[PART_OF_LABEL] === PART_OF), 'every object is labelled as part of the fleet');
  assert.ok(!objects.some((object) => /^Cluster/.test(object.kind)), 'no ClusterRole or ClusterRoleBinding');
  assert.ok(!objects.some((object) => object.kind === 'Secret'), 'no Secret is generated: the README says how to make them');
});

test('the operator\'s Role: only what it does, in its namespace; no wildcard, no Secret', () => {
  const role = byKindAndName(kubernetesManifests(), 'Role', 'vc-operator');
  const granted = role.rules.flatMap((rule: Json) => rule.resources.flatMap((resource: string) => rule.verbs.map((verb: string) => `${rule.apiGroups.join(',') || 'core'} ${resource} ${verb}`)));
  assert.deepEqual(granted.sort(), [
    'core configmaps get', 'core configmaps list',
    'core events create',
    'core pods create', 'core pods delete', 'core pods get', 'core pods list', 'core pods watch',
    'core services create', 'core services delete', 'core services get', 'core services list',
    'fleet.veracruz-ts.dev veracruzcomputations get', 'fleet.veracruz-ts.dev veracruzcomputations list', 'fleet.veracruz-ts.dev veracruzcomputations watch',
    'fleet.veracruz-ts.dev veracruzcomputations/status patch', 'fleet.veracruz-ts.dev veracruzcomputations/status update',
    'fleet.veracruz-ts.dev veracruzpools get', 'fleet.veracruz-ts.dev veracruzpools list', 'fleet.veracruz-ts.dev veracruzpools watch',
    'fleet.veracruz-ts.dev veracruzpools/status patch', 'fleet.veracruz-ts.dev veracruzpools/status update',
  ].sort());
  for (const rule of role.rules) {
    for (const field of ['apiGroups', 'resources', 'verbs']) assert.ok(!rule[field].includes('*'), `no '*' in ${field}`);
    assert.ok(!rule.resources.includes('secrets'), 'no access to Secrets at all');
    assert.equal(rule.resourceNames, undefined);
  }
  const binding = byKindAndName(kubernetesManifests(), 'RoleBinding', 'vc-operator');
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vc-operator' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'vc-operator', namespace: 'veracruz' }]);
  const deployment = byKindAndName(kubernetesManifests(), 'Deployment', 'vc-operator');
  assert.equal(deployment.spec.template.spec.serviceAccountName, 'vc-operator');
});

// A small evaluator of the NetworkPolicy rules the manifests use (podSelector, namespaceSelector,
// matchLabels, numbered ports): it throws on anything else, so it cannot silently misread a rule.
interface Endpoint {
  namespace?: string;
  labels?: Record<string, string>;
}

const NAMESPACE = 'veracruz';
const member: Endpoint = { namespace: NAMESPACE, labels: { [PART_OF_LABEL]: PART_OF, [COMPONENT_LABEL]: 'member', [MEMBER_LABEL]: 'm-1' } };
const pas: Endpoint = { namespace: NAMESPACE, labels: { [PART_OF_LABEL]: PART_OF, [COMPONENT_LABEL]: 'pas' } };
const operator: Endpoint = { namespace: NAMESPACE, labels: { [PART_OF_LABEL]: PART_OF, [COMPONENT_LABEL]: 'operator' } };
const stranger: Endpoint = { namespace: NAMESPACE, labels: { app: 'something-else' } };
const elsewhere: Endpoint = { namespace: 'other', labels: { [PART_OF_LABEL]: PART_OF, [COMPONENT_LABEL]: 'operator' } };
const dns: Endpoint = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
/** Outside any pod: a party's machine, the internet, the API server. */
const outside: Endpoint = {};

function matches(selector: Json, labels: Record<string, string> | undefined): boolean {
  for (const key of Object.keys(selector)) if (key !== 'matchLabels') throw new Error(`the evaluator does not know ${key}`);
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels?.[key] === value);
}

function peerMatches(peer: Json, policyNamespace: string, endpoint: Endpoint): boolean {
  if (peer.ipBlock !== undefined) throw new Error('the evaluator does not know ipBlock');
  if (endpoint.namespace === undefined) return false;
  const namespaceOk = peer.namespaceSelector === undefined ? endpoint.namespace === policyNamespace : matches(peer.namespaceSelector, { 'kubernetes.io/metadata.name': endpoint.namespace });
  const podOk = peer.podSelector === undefined || matches(peer.podSelector, endpoint.labels);
  return namespaceOk && podOk;
}

function portMatches(ports: Json[] | undefined, port: number, protocol: string): boolean {
  if (ports === undefined) return true;
  return ports.some((entry) => {
    if (typeof entry.port !== 'number' || entry.endPort !== undefined) throw new Error('the evaluator knows numbered ports only');
    return entry.port === port && (entry.protocol ?? 'TCP') === protocol;
  });
}

function allowedBy(policies: Json[], direction: 'Ingress' | 'Egress', subject: Endpoint, peer: Endpoint, port: number, protocol: string): boolean {
  if (subject.namespace === undefined) return true;
  const selecting = policies.filter((policy) => policy.metadata.namespace === subject.namespace && policy.spec.policyTypes.includes(direction) && matches(policy.spec.podSelector, subject.labels));
  if (selecting.length === 0) return true;
  const key = direction === 'Ingress' ? 'ingress' : 'egress';
  const peersKey = direction === 'Ingress' ? 'from' : 'to';
  return selecting.some((policy) =>
    (policy.spec[key] ?? []).some((rule: Json) =>
      (rule[peersKey] === undefined || rule[peersKey].some((item: Json) => peerMatches(item, policy.metadata.namespace, peer))) && portMatches(rule.ports, port, protocol)),
  );
}

function allowed(policies: Json[], from: Endpoint, to: Endpoint, port: number, protocol = 'TCP'): boolean {
  return allowedBy(policies, 'Egress', from, to, port, protocol) && allowedBy(policies, 'Ingress', to, from, port, protocol);
}

test('NetworkPolicies: members take parties on 3017 and the operator alone on 3018, and reach only the PAS, peers and DNS', () => {
  const policies: Json[] = networkPolicies({ namespace: NAMESPACE });
  const deny = policies.find((policy) => policy.metadata.name === 'vc-member-deny-all');
  assert.deepEqual(deny.spec, { podSelector: { matchLabels: { [PART_OF_LABEL]: PART_OF, [COMPONENT_LABEL]: 'member' } }, policyTypes: ['Ingress', 'Egress'] });
  const cases: [string, Endpoint, Endpoint, number, boolean, string?][] = [
    ['a party outside to a member\'s client port', outside, member, 3017, true],
    ['a peer member to a member\'s client port', member, member, 3017, true],
    ['the operator to a member\'s control port', operator, member, 3018, true],
    ['the operator to a member\'s client port (uploading programs)', operator, member, 3017, true],
    ['a party to a member\'s control port', outside, member, 3018, false],
    ['a peer member to a member\'s control port', member, member, 3018, false],
    ['the PAS to a member\'s control port', pas, member, 3018, false],
    ['another pod of the namespace to a member\'s control port', stranger, member, 3018, false],
    ['an operator-labelled pod of another namespace to a member\'s control port', elsewhere, member, 3018, false],
    ['a member to another port of a member', outside, member, 22, false],
    ['a member to the PAS', member, pas, 3010, true],
    ['a member to DNS over UDP', member, dns, 53, true, 'UDP'],
    ['a member to DNS over TCP', member, dns, 53, true],
    ['a member to the internet', member, outside, 443, false],
    ['a member to the API server', member, outside, 6443, false],
    ['a member to the operator\'s status API', member, operator, 8080, false],
    ['a member to another pod of the namespace', member, stranger, 3017, false],
    ['the operator to the PAS', operator, pas, 3010, true],
    ['the operator to another port of the PAS', operator, pas, 3011, false],
    ['another pod of the namespace to the PAS', stranger, pas, 3010, false],
    ['a party outside to the PAS', outside, pas, 3010, false],
    ['the PAS to the internet', pas, outside, 443, false],
    ['the PAS to a member', pas, member, 3017, false],
    ['the PAS to DNS', pas, dns, 53, false, 'UDP'],
    ['the operator to the API server (Service port)', operator, outside, 443, true],
    ['the operator to the API server (its port)', operator, outside, 6443, true],
    ['the operator to DNS', operator, dns, 53, true, 'UDP'],
    ['the operator to another port outside', operator, outside, 80, false],
    ['anyone to the operator\'s status API', outside, operator, 8080, true],
    ['anyone to another port of the operator', outside, operator, 22, false],
  ];
  for (const [what, from, to, port, expected, protocol] of cases) {
    assert.equal(allowed(policies, from, to, port, protocol), expected, `${what}: ${expected ? 'allowed' : 'refused'}`);
  }
});

test('a member pod: vc-server warm with the contract\'s flags, token from its Secret, tcp readiness on 3018, locked down, never restarted', () => {
  const pod: Json = memberPod(resolveOptions(), 'member-7');
  assert.equal(pod.metadata.name, 'vc-member-member-7');
  assert.equal(pod.metadata.namespace, 'veracruz');
  assert.equal(pod.metadata.labels[PART_OF_LABEL], 'veracruz-fleet');
  assert.equal(pod.metadata.labels[MEMBER_LABEL], 'member-7');
  assert.equal(pod.spec.restartPolicy, 'Never');
  assert.equal(pod.spec.automountServiceAccountToken, false);
  assert.equal(pod.spec.runtimeClassName, undefined);
  assert.deepEqual(pod.spec.securityContext.seccompProfile, { type: 'RuntimeDefault' });
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  const [host] = pod.spec.containers;
  assert.deepEqual(host.command, [
    'vc-server', 'warm', '--platform', 'linux', '--pas', 'http://vc-pas:3010', '--listen', '0.0.0.0:3017', '--control', '0.0.0.0:3018',
    '--memory-mib', '512', '--termination-log', '/dev/termination-log', '--dev-key', '/run/vc-dev-key/dev-key.pem',
  ]);
  assert.deepEqual(host.env, [{ name: 'VC_CONTROL_TOKEN', valueFrom: { secretKeyRef: { name: 'vc-control-token', key: 'token' } } }]);
  assert.deepEqual(host.readinessProbe.tcpSocket, { port: 3018 });
  assert.deepEqual(host.securityContext, {
    runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.equal(host.terminationMessagePath, '/dev/termination-log');
  assert.equal(host.resources.limits.memory, '1152Mi', 'the budget and the overhead of the isolate and its host');
  // The dev key: copied from its Secret by an init container, mounted read-only in the host.
  assert.deepEqual(host.volumeMounts.find((mount: Json) => mount.name === 'dev-key'), { name: 'dev-key', mountPath: '/run/vc-dev-key', readOnly: true });
  assert.deepEqual(pod.spec.initContainers[0].command, ['install', '-m', '0600', '/etc/vc-dev-key/dev-key.pem', '/run/vc-dev-key/dev-key.pem']);
  const secretVolume = pod.spec.volumes.find((volume: Json) => volume.secret !== undefined);
  assert.deepEqual(secretVolume.secret.items, [{ key: 'dev-key.pem', path: 'dev-key.pem' }]);
  for (const container of [...pod.spec.initContainers, host]) assert.equal(container.securityContext.readOnlyRootFilesystem, true);

  const tee: Json = memberPod(resolveOptions(TEE), 'member-7');
  assert.equal(tee.spec.runtimeClassName, 'kata-qemu-snp');
  assert.equal(tee.spec.initContainers, undefined, 'no development key off linux');
  assert.ok(!tee.spec.volumes.some((volume: Json) => volume.secret !== undefined));
  const teeHost = tee.spec.containers[0];
  assert.deepEqual(teeHost.command.slice(0, 4), ['vc-server', 'warm', '--platform', 'sev-snp']);
  assert.ok(!teeHost.command.includes('--dev-key'));
  assert.equal(teeHost.resources.requests['amd.com/sev-snp'], '1');
  assert.equal(teeHost.resources.limits['amd.com/sev-snp'], '1');
  const nitro: Json = memberPod(resolveOptions({ devices: { 'aws.ec2.nitro/nitro_enclaves': 1 } }), 'm');
  assert.equal(nitro.spec.containers[0].resources.limits['aws.ec2.nitro/nitro_enclaves'], '1');
});

test('the member pod\'s command line is one vc-server warm takes: it runs, and writes why it ended to the termination log', async () => {
  const host: Json = memberPod(resolveOptions(), 'member-1').spec!.containers[0];
  const directory = await mkdtemp(join(tmpdir(), 'vc-member-command-'));
  try {
    // The pod's own arguments, with what only exists in the pod replaced: no PAS answers here.
    const replaced: Record<string, string> = {
      'http://vc-pas:3010': 'http://127.0.0.1:1',
      '/dev/termination-log': join(directory, 'termination-log'),
      '/run/vc-dev-key/dev-key.pem': join(directory, 'dev-key.pem'),
    };
    const [command, ...args] = host.command.map((arg: string) => replaced[arg] ?? arg);
    assert.equal(command, 'vc-server');
    const vcServer = fileURLToPath(new URL('../../../node_modules/.bin/vc-server', import.meta.url));
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(vcServer, args, { env: { ...process.env, VC_CONTROL_TOKEN: 'a-control-token-for-this-test' }, timeout: 60_000 }, (error, out, err) => {
        resolve({ code: error === null ? 0 : Number(error.code), stdout: out, stderr: err });
      });
    });
    assert.equal(code, 1, `not a usage error (2), but an isolate that could not start: ${stderr}`);
    const exit = JSON.parse(stdout.trim().split('\n').at(-1)!) as { event: string; code: number; reason: string };
    assert.equal(exit.event, 'exit');
    assert.equal(await readFile(replaced['/dev/termination-log']!, 'utf8'), exit.reason, 'the reason the operator reads from the pod');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('a member Service: vc-<computation>-<isolate> selecting the member on 3017; long or odd names cut and hashed, still apart', () => {
  const service: Json = memberService('regression', 'mapper-1', 'member-7', 'veracruz');
  assert.equal(service.metadata.name, 'vc-regression-mapper-1');
  assert.deepEqual(service.spec.selector, { [MEMBER_LABEL]: 'member-7' });
  assert.deepEqual(service.spec.ports, [{ name: 'client', port: 3017, targetPort: 3017, protocol: 'TCP' }]);
  assert.equal(memberServiceAddress('regression', 'mapper-1', 'veracruz'), 'vc-regression-mapper-1.veracruz.svc:3017');
  // The Service selects exactly the labels its member's pod carries.
  const pod: Json = memberPod(resolveOptions(), 'member-7');
  assert.ok(Object.entries(service.spec.selector).every(([key, value]) => pod.metadata.labels[key] === value));

  const dns1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
  const long = memberServiceName('a'.repeat(40), 'reducer-of-every-hospital-in-the-region');
  assert.ok(long.length <= 63 && dns1035.test(long), long);
  assert.match(long, /^vc-a{40}-reducer-of[-a-z]*-[0-9a-f]{8}$/);
  const odd = memberServiceName('regression', 'Mapper_1.eu');
  assert.ok(dns1035.test(odd), odd);
  assert.notEqual(odd, memberServiceName('regression', 'mapper-1-eu'), 'cleaning does not make two isolates one');
  assert.notEqual(memberServiceName('x'.repeat(40), `${'y'.repeat(30)}-1`), memberServiceName('x'.repeat(40), `${'y'.repeat(30)}-2`), 'cutting does not either');
  // A member name that is no label value: the pod's name stands in, on both sides.
  const strange = 'Member.7_';
  const strangePod: Json = memberPod(resolveOptions(), strange);
  assert.equal(strangePod.metadata.annotations['fleet.veracruz-ts.dev/member-name'], strange);
  assert.equal((memberService('c', 'i', strange) as Json).spec.selector[MEMBER_LABEL], strangePod.metadata.labels[MEMBER_LABEL]);
  assert.doesNotThrow(() => validate(strangePod));
});

test('the PAS: one replica, init then serve on 3010 (its CA certificate too) with its volume, the dev key\'s public half enrolled (linux only)', () => {
  const statefulSet = byKindAndName(kubernetesManifests(), 'StatefulSet', 'vc-pas');
  assert.equal(statefulSet.spec.replicas, 1);
  const spec = statefulSet.spec.template.spec;
  assert.equal(spec.containers.length, 1);
  const [pasContainer] = spec.containers;
  assert.deepEqual(pasContainer.command, ['vc-pas', 'serve', '--dir', '/var/lib/vc-pas', '--listen', '0.0.0.0:3010']);
  const script: string = spec.initContainers[0].command[2];
  assert.match(script, /^set -e\ntest -f \/var\/lib\/vc-pas\/pas\.json \|\| vc-pas init --dir \/var\/lib\/vc-pas\n/);
  assert.match(script, /vc-pas enroll --dir \/var\/lib\/vc-pas --name fleet-dev-key \/etc\/vc-dev-key\/dev-key\.pub\.pem$/);
  const keyVolume = spec.volumes.find((volume: Json) => volume.secret !== undefined);
  assert.deepEqual(keyVolume.secret.items, [{ key: 'dev-key.pub.pem', path: 'dev-key.pub.pem' }], 'the PAS never sees the private key');
  assert.deepEqual(statefulSet.spec.volumeClaimTemplates[0].spec.resources.requests, { storage: '1Gi' });
  const service = byKindAndName(kubernetesManifests(), 'Service', 'vc-pas');
  assert.deepEqual(service.spec.ports.map((port: Json) => port.port), [3010]);
  assert.equal(byKindAndName(kubernetesManifests(), 'Service', 'vc-pas-headless').spec.clusterIP, 'None');

  const tee = byKindAndName(kubernetesManifests(TEE), 'StatefulSet', 'vc-pas');
  assert.doesNotMatch(tee.spec.template.spec.initContainers[0].command[2], /enroll/);
  assert.equal(tee.spec.volumeClaimTemplates[0].spec.storageClassName, 'fast-ssd');
  const operatorDeployment = byKindAndName(kubernetesManifests(TEE), 'Deployment', 'vc-operator');
  const container = operatorDeployment.spec.template.spec.containers[0];
  assert.deepEqual(container.command, [
    'vc-operator', 'run', '--namespace', 'confidential', '--image', 'registry.example/veracruz-ts:0.1.0', '--pool', '5', '--memory-mib', '1024',
    '--platform', 'sev-snp', '--runtime-class', 'kata-qemu-snp', '--device', 'amd.com/sev-snp=1',
  ]);
  assert.deepEqual(container.env[1], { name: 'VC_RUNTIME_HASH', value: 'ab'.repeat(48) });
  assert.equal(operatorDeployment.spec.strategy.type, 'Recreate');
});

test('options are checked, and a bad one is refused naming it', () => {
  const cases: [FleetManifestOptions, RegExp][] = [
    [{ namespace: 'Veracruz' }, /^namespace: "Veracruz" is not a DNS-1123 label/],
    [{ image: 'two words' }, /^image: /],
    [{ pool: -1 }, /^pool: expected an integer from 0 to 1000, got -1/],
    [{ memoryMib: 5000 }, /^memoryMib: expected an integer from 1 to 4096/],
    [{ platform: 'sgx' as never }, /^platform: expected linux, sev-snp, tdx/],
    [{ runtimeClassName: 'Kata!' }, /^runtimeClassName: /],
    [{ devices: { nitro: 1 } }, /^devices\.nitro: expected an extended resource name/],
    [{ devices: { 'example.kubernetes.io/thing': 1 } }, /^devices\.example\.kubernetes\.io\/thing: /],
    [{ devices: { 'amd.com/sev-snp': 0 } }, /^devices\.amd\.com\/sev-snp: expected an integer from 1/],
    [{ pasStorage: 'lots' }, /^pasStorage: expected a quantity/],
    [{ storageClassName: 'Fast' }, /^storageClassName: /],
    [{ runtimeHash: 'ABC' }, /^runtimeHash: expected 64 or 96 lowercase hex digits/],
    [{ platform: 'tdx' }, /^runtimeHash: required for tdx/],
  ];
  for (const [options, message] of cases) assert.throws(() => kubernetesManifests(options), refusedAs(Code.InvalidRequest, message), JSON.stringify(options));
  // The operator takes the measurement from its environment instead.
  assert.equal(resolveOptions({ platform: 'tdx' }).runtimeHash, undefined);
});

/** Kubernetes' structural-schema extensions, which carry no validation of their own. */
const KUBERNETES_KEYWORDS = [
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations',
];

/**
 * The CRD's schema as the API server applies it: an object with `properties` and no
 * `additionalProperties` loses unknown fields (pruning), which this check reports instead.
 */
function asApiServerChecks(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(asApiServerChecks);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Json = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === 'enum' ? value : asApiServerChecks(value)]));
  if (copy.type === 'object' && copy.properties !== undefined && copy.additionalProperties === undefined && copy['x-kubernetes-preserve-unknown-fields'] !== true) {
    copy.additionalProperties = false;
  }
  return copy;
}

function schemaValidator(crd: Json): (object: unknown) => string[] {
  const ajv = new AjvModule.default({ allErrors: true, strict: true, formats: { int64: true, 'date-time': (text: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text) } });
  ajv.addVocabulary(KUBERNETES_KEYWORDS);
  const check = ajv.compile(asApiServerChecks(crd.spec.versions[0].schema.openAPIV3Schema));
  return (object) => (check(object) ? [] : (check.errors ?? []).map((error) => `${error.instancePath === '' ? '(root)' : error.instancePath} ${error.message}`));
}

test('the sample resources validate against their definitions\' own schemas, and broken ones are refused by the same check', async () => {
  const computationCheck = schemaValidator(byKindAndName(kubernetesManifests(), 'CustomResourceDefinition', 'veracruzcomputations.fleet.veracruz-ts.dev'));
  const poolCheck = schemaValidator(byKindAndName(kubernetesManifests(), 'CustomResourceDefinition', 'veracruzpools.fleet.veracruz-ts.dev'));
  const [computation] = loadAllYaml(await readFile(new URL('../samples/computation.yaml', import.meta.url), 'utf8'));
  const [pool] = loadAllYaml(await readFile(new URL('../samples/pool.yaml', import.meta.url), 'utf8'));
  assert.deepEqual(computationCheck(computation), []);
  assert.deepEqual(poolCheck(pool), []);
  // What the operator reads of it is a topology vc-fleet accepts.
  const read = readComputationSpec(computation.metadata.name, computation.spec, 'linux');
  assert.deepEqual([...read.programs.values()], [{ configMap: 'vc-programs', key: 'linear-regression.wasm' }]);
  assert.deepEqual(Object.keys(read.partyCertificates), ['analyst']);

  const broken = (change: (object: Json) => void): string[] => {
    const copy = structuredClone(computation);
    change(copy);
    return computationCheck(copy);
  };
  assert.deepEqual(broken((copy) => delete copy.spec.topology.isolates.regression.programs['/program/linear-regression.wasm'].configMap), [
    "/spec/topology/isolates/regression/programs/~1program~1linear-regression.wasm must have required property 'configMap'",
  ]);
  assert.deepEqual(broken((copy) => (copy.spec.topology.isolates.regression.max_memory_mib = 9999)), ['/spec/topology/isolates/regression/max_memory_mib must be <= 4096']);
  assert.deepEqual(broken((copy) => (copy.spec.topology.isolates.regression.prots = 7010)), ['/spec/topology/isolates/regression must NOT have additional properties']);
  assert.deepEqual(broken((copy) => (copy.spec.topology.isolates = {})), ['/spec/topology/isolates must NOT have fewer than 1 properties']);
  assert.deepEqual(broken((copy) => (copy.spec.topology.parties.analyst = { certificate: 7 })), ['/spec/topology/parties/analyst/certificate must be string']);
  assert.deepEqual(broken((copy) => (copy.status = { state: 'running' })), ['/status/state must be equal to one of the allowed values']);
  assert.deepEqual(broken((copy) => delete copy.spec), ["(root) must have required property 'spec'"]);
  assert.deepEqual(poolCheck({ ...pool, spec: { size: '2' } }), ['/spec/size must be integer']);
});
