/**
 * Everything that installs a fleet in a namespace, as Kubernetes objects: the custom resources a
 * user writes (VeracruzComputation, VeracruzPool), the PAS, the operator with the least privilege
 * it needs, and the NetworkPolicies that fence the members in. Member pods and their Services are
 * not installed: the operator makes them, from {@link memberPod} and {@link memberService}.
 * Pure: the same options give the same objects, which the spec validates against the official schemas.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';
import { WASM32_MAX_MEMORY_MIB } from '@veracruz-ts/policy';
import type { ICustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import type { IJSONSchemaProps } from 'kubernetes-models/apiextensions.k8s.io/v1/JSONSchemaProps';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import {
  ANNOTATIONS, COMPONENT_LABEL, COMPUTATION_LABEL, GROUP, MEMBER_LABEL, memberLabelValue, memberPodName, memberServiceName, PART_OF, PART_OF_LABEL, PLURALS, PORTS, SECRETS, VERSION,
} from './names.ts';

/** Where a fleet's members run: a development process (`linux`) or a confidential VM. */
export type KubernetesPlatform = 'linux' | 'sev-snp' | 'tdx';

/** The platforms, in the order help texts list them. */
export const PLATFORMS: readonly KubernetesPlatform[] = ['linux', 'sev-snp', 'tdx'];

/** How to install a fleet; every field has a default. */
export interface FleetManifestOptions {
  /** The namespace everything goes in. @default 'veracruz' */
  namespace?: string;
  /** The image with vc-server, vc-pas and vc-operator (container/Dockerfile). @default 'veracruz-ts:0.1.0' */
  image?: string;
  /** Warm members to keep until a VeracruzPool named `default` says otherwise. @default 2 */
  pool?: number;
  /** Each member's isolate memory budget in MiB: the most a policy's max_memory_mib may ask. @default 512 */
  memoryMib?: number;
  /** What the members' isolates run on. @default 'linux' */
  platform?: KubernetesPlatform;
  /** The RuntimeClass of member pods, e.g. `kata-qemu-snp` or `kata-qemu-tdx` (Kata / Confidential Containers). @default none */
  runtimeClassName?: string;
  /**
   * Extended resources each member pod requests, by name: a TEE device plugin's, e.g.
   * `{ 'aws.ec2.nitro/nitro_enclaves': 1 }` or `{ 'amd.com/sev-snp': 1 }`. @default none
   */
  devices?: Readonly<Record<string, number>>;
  /** The size of the PAS's volume (its SQLite store and CA). @default '1Gi' */
  pasStorage?: string;
  /** The StorageClass of the PAS's volume. @default the cluster's default */
  storageClassName?: string;
  /**
   * The runtime measurement every policy names (hex). @default for linux, the operator takes the
   * SHA-256 of the runtime bundle in its image, the one the members run; sev-snp and tdx need it
   */
  runtimeHash?: string;
}

/** {@link FleetManifestOptions} with the defaults filled in and every value checked. */
export interface FleetOptions {
  namespace: string;
  image: string;
  pool: number;
  memoryMib: number;
  platform: KubernetesPlatform;
  runtimeClassName?: string;
  devices: Readonly<Record<string, number>>;
  pasStorage: string;
  storageClassName?: string;
  runtimeHash?: string;
}

/** What {@link memberPod} needs of the fleet's options. */
export type MemberPodOptions = Pick<FleetOptions, 'namespace' | 'image' | 'memoryMib' | 'platform' | 'runtimeClassName' | 'devices'>;

/** The defaults of {@link FleetManifestOptions}. */
export const DEFAULTS = { namespace: 'veracruz', image: 'veracruz-ts:0.1.0', pool: 2, memoryMib: 512, platform: 'linux', pasStorage: '1Gi' } as const;

/** The most warm members a pool may ask for: each is a pod with its own isolate. */
export const MAX_POOL = 1000;

/**
 * What a member pod's memory limit adds to its isolate's budget: the isolate's own overhead over
 * its budget (vc-server's ISOLATE_MEMORY_OVERHEAD_BYTES, 384 MiB) and the host process (256 MiB).
 */
export const MEMBER_MEMORY_OVERHEAD_MIB = 640;

/** The user every container runs as (the image's, see container/Dockerfile). */
export const RUN_AS_USER = 10001;

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** An extended resource: a domain outside kubernetes.io, then a name. */
const EXTENDED_RESOURCE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

function invalid(field: string, reason: string): never {
  throw new VeracruzError(Code.InvalidRequest, `${field}: ${reason}`);
}

function integer(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) invalid(field, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return value;
}

/** Fills in the defaults and checks every option; throws VeracruzError(InvalidRequest) naming the option. */
export function resolveOptions(options: FleetManifestOptions = {}): FleetOptions {
  const namespace = options.namespace ?? DEFAULTS.namespace;
  if (namespace.length > 63 || !DNS_1123_LABEL.test(namespace)) invalid('namespace', `${JSON.stringify(namespace)} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)`);
  const image = options.image ?? DEFAULTS.image;
  if (image === '' || /\s/.test(image)) invalid('image', `expected an image reference, got ${JSON.stringify(image)}`);
  const pool = integer('pool', options.pool ?? DEFAULTS.pool, 0, MAX_POOL);
  const memoryMib = integer('memoryMib', options.memoryMib ?? DEFAULTS.memoryMib, 1, WASM32_MAX_MEMORY_MIB);
  const platform = options.platform ?? DEFAULTS.platform;
  if (!PLATFORMS.includes(platform)) invalid('platform', `expected ${PLATFORMS.join(', ')}, got ${JSON.stringify(platform)}`);
  const { runtimeClassName, storageClassName, runtimeHash } = options;
  if (runtimeClassName !== undefined && (runtimeClassName.length > 253 || !DNS_1123_SUBDOMAIN.test(runtimeClassName))) {
    invalid('runtimeClassName', `${JSON.stringify(runtimeClassName)} is not a DNS-1123 subdomain`);
  }
  if (storageClassName !== undefined && (storageClassName.length > 253 || !DNS_1123_SUBDOMAIN.test(storageClassName))) {
    invalid('storageClassName', `${JSON.stringify(storageClassName)} is not a DNS-1123 subdomain`);
  }
  const devices: Record<string, number> = {};
  for (const [name, count] of Object.entries(options.devices ?? {})) {
    if (!EXTENDED_RESOURCE.test(name) || name.split('/')[0]!.endsWith('kubernetes.io')) {
      invalid(`devices.${name}`, 'expected an extended resource name, DOMAIN/NAME with a domain outside kubernetes.io (aws.ec2.nitro/nitro_enclaves, amd.com/sev-snp)');
    }
    devices[name] = integer(`devices.${name}`, count, 1, 1000);
  }
  const pasStorage = options.pasStorage ?? DEFAULTS.pasStorage;
  if (!QUANTITY.test(pasStorage)) invalid('pasStorage', `expected a quantity such as 1Gi, got ${JSON.stringify(pasStorage)}`);
  if (runtimeHash !== undefined && !/^([0-9a-f]{64}|[0-9a-f]{96})$/.test(runtimeHash)) invalid('runtimeHash', 'expected 64 or 96 lowercase hex digits');
  return {
    namespace, image, pool, memoryMib, platform, devices, pasStorage,
    ...(runtimeClassName === undefined ? {} : { runtimeClassName }),
    ...(storageClassName === undefined ? {} : { storageClassName }),
    ...(runtimeHash === undefined ? {} : { runtimeHash }),
  };
}

const PAS_DIR = '/var/lib/vc-pas';
const DEV_KEY_MOUNT = '/etc/vc-dev-key';
const DEV_KEY_COPY = '/run/vc-dev-key';
/** The name the PAS enrolls the fleet's development key under. */
export const DEV_KEY_NAME = 'fleet-dev-key';

function labels(component: 'member' | 'pas' | 'operator'): Record<string, string> {
  return { [PART_OF_LABEL]: PART_OF, [COMPONENT_LABEL]: component };
}

function metadata(options: Pick<FleetOptions, 'namespace'>, name: string, component?: 'member' | 'pas' | 'operator') {
  return { name, namespace: options.namespace, labels: component === undefined ? { [PART_OF_LABEL]: PART_OF } : labels(component) };
}

/** Every container: not root, no privilege to gain, no capability, read-only image. */
const CONTAINER_SECURITY: ISecurityContext = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

function podSecurity(fsGroup: boolean): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS_USER,
    runAsGroup: RUN_AS_USER,
    ...(fsGroup ? { fsGroup: RUN_AS_USER, fsGroupChangePolicy: 'OnRootMismatch' } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

const TMP_VOLUME = { name: 'tmp', emptyDir: {} };
const TMP_MOUNT = { name: 'tmp', mountPath: '/tmp' };

/**
 * A warm member's pod: `vc-server warm` with the control API's token from its Secret, ready once
 * the control port listens (which it does once the isolate is certified), never restarted in place.
 */
export function memberPod(options: MemberPodOptions, name: string): IPod {
  const linux = options.platform === 'linux';
  const podName = memberPodName(name);
  const memory = `${options.memoryMib + MEMBER_MEMORY_OVERHEAD_MIB}Mi`;
  const devices = Object.fromEntries(Object.entries(options.devices).map(([resource, count]) => [resource, String(count)]));
  const host: IContainer = {
    name: 'host',
    image: options.image,
    imagePullPolicy: 'IfNotPresent',
    command: [
      'vc-server', 'warm',
      '--platform', options.platform,
      '--pas', `http://vc-pas:${PORTS.pas}`,
      '--listen', `0.0.0.0:${PORTS.client}`,
      '--control', `0.0.0.0:${PORTS.control}`,
      '--memory-mib', String(options.memoryMib),
      '--termination-log', '/dev/termination-log',
      ...(linux ? ['--dev-key', `${DEV_KEY_COPY}/${SECRETS.devKey.privateKey}`] : []),
    ],
    env: [{ name: 'VC_CONTROL_TOKEN', valueFrom: { secretKeyRef: { name: SECRETS.controlToken.name, key: SECRETS.controlToken.key } } }],
    ports: [
      { name: 'client', containerPort: PORTS.client, protocol: 'TCP' },
      { name: 'control', containerPort: PORTS.control, protocol: 'TCP' },
    ],
    // The control API wants a bearer token, which neither an httpGet nor an exec probe should carry;
    // the port opens only once the isolate is certified, so listening is the readiness that matters.
    readinessProbe: { tcpSocket: { port: PORTS.control }, periodSeconds: 2, failureThreshold: 3 },
    resources: {
      requests: { cpu: '250m', memory, ...devices },
      limits: { memory, ...devices },
    },
    securityContext: CONTAINER_SECURITY,
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    volumeMounts: [TMP_MOUNT, ...(linux ? [{ name: 'dev-key', mountPath: DEV_KEY_COPY, readOnly: true }] : [])],
  };
  // With fsGroup set the kubelet makes Secret files group-readable, which vc-server refuses for a
  // key (as ssh does); a copy with mode 0600 in memory is what the host reads.
  const copyKey: IContainer = {
    name: 'dev-key',
    image: options.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['install', '-m', '0600', `${DEV_KEY_MOUNT}/${SECRETS.devKey.privateKey}`, `${DEV_KEY_COPY}/${SECRETS.devKey.privateKey}`],
    securityContext: CONTAINER_SECURITY,
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    volumeMounts: [
      { name: 'dev-key-secret', mountPath: DEV_KEY_MOUNT, readOnly: true },
      { name: 'dev-key', mountPath: DEV_KEY_COPY },
    ],
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName,
      namespace: options.namespace,
      labels: { ...labels('member'), [MEMBER_LABEL]: memberLabelValue(name) },
      annotations: { [ANNOTATIONS.member]: name },
    },
    spec: {
      // A dead isolate's data is gone with it: the operator replaces the member, never restarts it.
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      ...(options.runtimeClassName === undefined ? {} : { runtimeClassName: options.runtimeClassName }),
      securityContext: podSecurity(linux),
      ...(linux ? { initContainers: [copyKey] } : {}),
      containers: [host],
      terminationGracePeriodSeconds: 10,
      volumes: [
        TMP_VOLUME,
        ...(linux
          ? [
              { name: 'dev-key-secret', secret: { secretName: SECRETS.devKey.name, defaultMode: 0o400, items: [{ key: SECRETS.devKey.privateKey, path: SECRETS.devKey.privateKey }] } },
              { name: 'dev-key', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
            ]
          : []),
      ],
    },
  };
}

/**
 * The Service of one isolate of a computation, made at assignment: it selects the member that
 * serves the isolate, on the client port. Its DNS name is what the isolate's policy names
 * ({@link memberServiceAddress}).
 */
export function memberService(computation: string, isolate: string, member: string, namespace: string = DEFAULTS.namespace): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: memberServiceName(computation, isolate),
      namespace,
      labels: { [PART_OF_LABEL]: PART_OF, [COMPONENT_LABEL]: 'member', [COMPUTATION_LABEL]: computation },
      annotations: { [ANNOTATIONS.computation]: computation, [ANNOTATIONS.isolate]: isolate, [ANNOTATIONS.member]: member },
    },
    spec: {
      type: 'ClusterIP',
      selector: { [MEMBER_LABEL]: memberLabelValue(member) },
      ports: [{ name: 'client', port: PORTS.client, targetPort: PORTS.client, protocol: 'TCP' }],
    },
  };
}

/** Where the parties and peers reach an isolate: its Service's DNS name and the client port. */
export function memberServiceAddress(computation: string, isolate: string, namespace: string): string {
  return `${memberServiceName(computation, isolate)}.${namespace}.svc:${PORTS.client}`;
}

/** The PAS's address as the policies name it. */
export function pasAddress(namespace: string): string {
  return `vc-pas.${namespace}.svc:${PORTS.pas}`;
}

const STRING: IJSONSchemaProps = { type: 'string' };
const ISOLATE_PATH: IJSONSchemaProps = { type: 'string', pattern: '^/', description: 'an absolute file path inside the isolate' };
const CAPABILITY: IJSONSchemaProps = { type: 'string', minLength: 1, description: "as vc-pgen's -p takes it: path:rights,... (rights r, w, x)" };
const ISO_TIME: IJSONSchemaProps = { type: 'string', format: 'date-time' };
const COMPUTATION_STATES = ['pending', 'assigning', 'ready', 'completed', 'lost', 'failed', 'cancelled'];

/** The isolate of a topology (packages/fleet/README.md), its programs read from ConfigMaps. */
const TOPOLOGY_ISOLATE: IJSONSchemaProps = {
  type: 'object',
  properties: {
    programs: {
      type: 'object',
      description: 'program path inside the isolate -> the ConfigMap key holding its binary (binaryData, or data for text)',
      additionalProperties: {
        type: 'object',
        required: ['configMap', 'key'],
        properties: {
          configMap: { type: 'string', minLength: 1, maxLength: 253, description: 'a ConfigMap in the computation\'s namespace' },
          key: { type: 'string', minLength: 1, maxLength: 253 },
        },
      },
    },
    program_rights: { type: 'object', description: 'program path -> its capability while it runs', additionalProperties: CAPABILITY },
    rights: { type: 'object', description: 'party -> its capability in this isolate', additionalProperties: CAPABILITY },
    sends: {
      type: 'array',
      description: 'after every successful run, file is pushed to path in the isolate to',
      items: { type: 'object', required: ['file', 'to', 'path'], properties: { file: ISOLATE_PATH, to: { type: 'string', minLength: 1 }, path: ISOLATE_PATH } },
    },
    await: {
      type: 'object',
      required: ['program'],
      properties: { program: ISOLATE_PATH, deadline_ms: { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1 } },
    },
    max_memory_mib: { type: 'integer', minimum: 1, maximum: WASM32_MAX_MEMORY_MIB },
  },
};

/** A custom resource's schema: its spec and status (apiVersion, kind and metadata as every resource has them). */
function resourceSchema(spec: IJSONSchemaProps, status: IJSONSchemaProps): IJSONSchemaProps {
  return { type: 'object', required: ['spec'], properties: { apiVersion: STRING, kind: STRING, metadata: { type: 'object' }, spec, status } };
}

/**
 * A computation's schema. Fully structural: the topology's maps (isolates, parties, programs,
 * rights) are `additionalProperties` of one schema each, so nothing needs
 * x-kubernetes-preserve-unknown-fields, and a field the topology does not have is pruned by the
 * API server (kubectl warns) rather than passed on.
 */
const COMPUTATION_SCHEMA: IJSONSchemaProps = resourceSchema(
  {
    type: 'object',
    required: ['topology'],
    properties: {
      topology: {
        type: 'object',
        description: 'a vc-fleet topology (packages/fleet/README.md) with programs from ConfigMaps and every party\'s certificate inline; listen and port are the cluster\'s',
        required: ['isolates'],
        properties: {
          platform: { type: 'string', enum: [...PLATFORMS], description: 'must be the fleet\'s platform; default linux' },
          parties: {
            type: 'object',
            description: 'party name -> its certificate (PEM): the fleet makes no identities',
            additionalProperties: { type: 'object', required: ['certificate'], properties: { certificate: { type: 'string', minLength: 1 } } },
          },
          isolates: { type: 'object', minProperties: 1, additionalProperties: TOPOLOGY_ISOLATE },
        },
      },
    },
  },
  {
    type: 'object',
    properties: {
      state: { type: 'string', enum: COMPUTATION_STATES },
      reason: STRING,
      ready: { type: 'string', description: 'isolates serving / isolates' },
      observedGeneration: { type: 'integer', format: 'int64' },
      submittedAt: ISO_TIME,
      readyAt: ISO_TIME,
      endedAt: ISO_TIME,
      isolates: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name'],
          properties: {
            name: STRING,
            member: STRING,
            address: { type: 'string', description: 'host:port, as the policy names it' },
            policyHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            ended: { type: 'object', properties: { code: { type: 'integer' }, reason: STRING, at: ISO_TIME } },
          },
        },
      },
    },
  },
);

const POOL_SCHEMA: IJSONSchemaProps = resourceSchema(
  {
    type: 'object',
    required: ['size'],
    properties: {
      size: { type: 'integer', minimum: 0, maximum: MAX_POOL, description: 'warm members to keep' },
      memoryMib: { type: 'integer', minimum: 1, maximum: WASM32_MAX_MEMORY_MIB, description: 'the isolate memory budget of members started from now on' },
    },
  },
  {
    type: 'object',
    properties: {
      warm: { type: 'integer', minimum: 0 },
      starting: { type: 'integer', minimum: 0 },
      message: { type: 'string', description: 'why the operator does not follow this pool, when it does not' },
    },
  },
);

/** The name of a custom resource definition: its plural and group. */
export function crdName(plural: string): string {
  return `${plural}.${GROUP}`;
}

function customResourceDefinition(
  kind: string, plural: string, singular: string, shortNames: string[], schema: IJSONSchemaProps,
  columns: NonNullable<NonNullable<ICustomResourceDefinition['spec']>['versions'][number]['additionalPrinterColumns']>,
): ICustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(plural), labels: { [PART_OF_LABEL]: PART_OF } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural, singular, shortNames, categories: [PART_OF] },
      versions: [{ name: VERSION, served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: schema }, additionalPrinterColumns: columns }],
    },
  };
}

/** The VeracruzComputation definition: a topology to run, its status written by the operator. */
export function computationDefinition(): ICustomResourceDefinition {
  return customResourceDefinition('VeracruzComputation', PLURALS.computation, 'veracruzcomputation', ['vcc'], COMPUTATION_SCHEMA, [
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Ready', type: 'string', jsonPath: '.status.ready', description: 'isolates serving / isolates' },
    { name: 'Reason', type: 'string', jsonPath: '.status.reason', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ]);
}

/** The VeracruzPool definition: how many warm members to keep. */
export function poolDefinition(): ICustomResourceDefinition {
  return customResourceDefinition('VeracruzPool', PLURALS.pool, 'veracruzpool', ['vcp'], POOL_SCHEMA, [
    { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
    { name: 'Warm', type: 'integer', jsonPath: '.status.warm' },
    { name: 'Starting', type: 'integer', jsonPath: '.status.starting' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ]);
}

function pasInitScript(options: FleetOptions): string {
  const lines = ['set -e', `test -f ${PAS_DIR}/pas.json || vc-pas init --dir ${PAS_DIR}`];
  if (options.platform === 'linux') {
    // Enrolled anew at every start, so that a rotated key in the Secret replaces the old one.
    lines.push(
      `vc-pas unenroll --dir ${PAS_DIR} --name ${DEV_KEY_NAME} >/dev/null 2>&1 || true`,
      `vc-pas enroll --dir ${PAS_DIR} --name ${DEV_KEY_NAME} ${DEV_KEY_MOUNT}/${SECRETS.devKey.publicKey}`,
    );
  }
  return lines.join('\n');
}

function pasStatefulSet(options: FleetOptions): IStatefulSet {
  const linux = options.platform === 'linux';
  const data = { name: 'data', mountPath: PAS_DIR };
  const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(options, 'vc-pas', 'pas'),
    spec: {
      replicas: 1,
      serviceName: 'vc-pas-headless',
      selector: { matchLabels: labels('pas') },
      template: {
        metadata: { labels: labels('pas') },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // OnRootMismatch: the kubelet must not add group bits to the CA key on each mount (vc-pas refuses such a key).
          securityContext: podSecurity(true),
          initContainers: [{
            name: 'init',
            image: options.image,
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', pasInitScript(options)],
            securityContext: CONTAINER_SECURITY,
            resources,
            volumeMounts: [data, TMP_MOUNT, ...(linux ? [{ name: 'dev-key-public', mountPath: DEV_KEY_MOUNT, readOnly: true }] : [])],
          }],
          containers: [
            {
              name: 'pas',
              image: options.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['vc-pas', 'serve', '--dir', PAS_DIR, '--listen', `0.0.0.0:${PORTS.pas}`],
              ports: [{ name: 'pas', containerPort: PORTS.pas, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/health', port: PORTS.pas }, periodSeconds: 5 },
              securityContext: CONTAINER_SECURITY,
              resources,
              volumeMounts: [data, TMP_MOUNT],
            },
          ],
          volumes: [
            TMP_VOLUME,
            ...(linux
              ? [{ name: 'dev-key-public', secret: { secretName: SECRETS.devKey.name, items: [{ key: SECRETS.devKey.publicKey, path: SECRETS.devKey.publicKey }] } }]
              : []),
          ],
        },
      },
      volumeClaimTemplates: [{
        metadata: { name: 'data' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: options.pasStorage } },
          ...(options.storageClassName === undefined ? {} : { storageClassName: options.storageClassName }),
        },
      }],
    },
  };
}

function pasServices(options: FleetOptions): IService[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(options, 'vc-pas-headless', 'pas'),
      spec: { clusterIP: 'None', selector: labels('pas'), ports: [{ name: 'pas', port: PORTS.pas, targetPort: PORTS.pas, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(options, 'vc-pas', 'pas'),
      spec: { type: 'ClusterIP', selector: labels('pas'), ports: [{ name: 'pas', port: PORTS.pas, targetPort: PORTS.pas, protocol: 'TCP' }] },
    },
  ];
}

/** The flags of `vc-operator run` that give the operator the fleet's member options. */
export function operatorArguments(options: FleetOptions): string[] {
  return [
    'vc-operator', 'run',
    '--namespace', options.namespace,
    '--image', options.image,
    '--pool', String(options.pool),
    '--memory-mib', String(options.memoryMib),
    '--platform', options.platform,
    ...(options.runtimeClassName === undefined ? [] : ['--runtime-class', options.runtimeClassName]),
    ...Object.entries(options.devices).flatMap(([name, count]) => ['--device', `${name}=${count}`]),
  ];
}

/** What the operator may do, and nothing more: it makes pods and Services, reads ConfigMaps and its resources. */
export function operatorRole(options: Pick<FleetOptions, 'namespace'>): IRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: metadata(options, 'vc-operator', 'operator'),
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete', 'get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['services'], verbs: ['create', 'delete', 'get', 'list'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      { apiGroups: [GROUP], resources: [PLURALS.computation, PLURALS.pool], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [GROUP], resources: [`${PLURALS.computation}/status`, `${PLURALS.pool}/status`], verbs: ['patch', 'update'] },
    ],
  };
}

function operatorObjects(options: FleetOptions): [IServiceAccount, IRole, IRoleBinding, IDeployment, IService] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(options, 'vc-operator', 'operator') },
    operatorRole(options),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: metadata(options, 'vc-operator', 'operator'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vc-operator' },
      subjects: [{ kind: 'ServiceAccount', name: 'vc-operator', namespace: options.namespace }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata(options, 'vc-operator', 'operator'),
      spec: {
        replicas: 1,
        // Two operators would each run a pool and fight over the members: the old one goes first.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels('operator') },
        template: {
          metadata: { labels: labels('operator') },
          spec: {
            serviceAccountName: 'vc-operator',
            enableServiceLinks: false,
            // At SIGTERM it stops every member in order (each host ends its isolate) before it exits.
            terminationGracePeriodSeconds: 60,
            securityContext: podSecurity(false),
            containers: [{
              name: 'operator',
              image: options.image,
              imagePullPolicy: 'IfNotPresent',
              command: operatorArguments(options),
              env: [
                { name: 'VC_CONTROL_TOKEN', valueFrom: { secretKeyRef: { name: SECRETS.controlToken.name, key: SECRETS.controlToken.key } } },
                ...(options.runtimeHash === undefined ? [] : [{ name: 'VC_RUNTIME_HASH', value: options.runtimeHash }]),
              ],
              ports: [{ name: 'status', containerPort: PORTS.status, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/v1/status', port: PORTS.status }, periodSeconds: 5 },
              securityContext: CONTAINER_SECURITY,
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              volumeMounts: [TMP_MOUNT],
            }],
            volumes: [TMP_VOLUME],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(options, 'vc-fleet-status', 'operator'),
      spec: { type: 'ClusterIP', selector: labels('operator'), ports: [{ name: 'status', port: 80, targetPort: PORTS.status, protocol: 'TCP' }] },
    },
  ];
}

function pods(component: 'member' | 'pas' | 'operator'): INetworkPolicyPeer {
  return { podSelector: { matchLabels: labels(component) } };
}

function tcp(...ports: number[]): { protocol: 'TCP'; port: number }[] {
  return ports.map((port) => ({ protocol: 'TCP', port }));
}

/** The cluster DNS (kube-dns or CoreDNS, labelled k8s-app=kube-dns in kube-system). */
const DNS_RULE: INetworkPolicyEgressRule = {
  to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
  ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
};

/**
 * The fleet's NetworkPolicies. Members: nothing but what is listed below (a deny-all of their own,
 * then the allowances); they take clients on the client port from anywhere (parties) and control
 * requests from the operator alone, and reach only the PAS, each other's client port (dataflow) and
 * DNS. The PAS takes requests from members and the operator and reaches nothing. The operator
 * reaches the API server, the PAS, the members and DNS.
 */
export function networkPolicies(options: Pick<FleetOptions, 'namespace'>): INetworkPolicy[] {
  const policy = (name: string, component: 'member' | 'pas' | 'operator', rules: Pick<NonNullable<INetworkPolicy['spec']>, 'ingress' | 'egress'>): INetworkPolicy => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(options, name, component),
    spec: { podSelector: { matchLabels: labels(component) }, policyTypes: ['Ingress', 'Egress'], ...rules },
  });
  return [
    policy('vc-member-deny-all', 'member', {}),
    policy('vc-member', 'member', {
      ingress: [{ ports: tcp(PORTS.client) }, { from: [pods('operator')], ports: tcp(PORTS.control) }],
      egress: [{ to: [pods('pas')], ports: tcp(PORTS.pas) }, { to: [pods('member')], ports: tcp(PORTS.client) }, DNS_RULE],
    }),
    policy('vc-pas', 'pas', {
      ingress: [{ from: [pods('member'), pods('operator')], ports: tcp(PORTS.pas) }],
    }),
    policy('vc-operator', 'operator', {
      ingress: [{ ports: tcp(PORTS.status) }],
      egress: [
        // The API server: its Service's port (443) and, after kube-proxy's translation, its own (6443).
        { ports: tcp(443, 6443) },
        { to: [pods('pas')], ports: tcp(PORTS.pas) },
        { to: [pods('member')], ports: tcp(PORTS.client, PORTS.control) },
        DNS_RULE,
      ],
    }),
  ];
}

/**
 * Every object that installs a fleet, in an order `kubectl apply` can take: the namespace and
 * definitions first. Secrets are referred to, never made: `vc-control-token` and `vc-dev-key`
 * (packages/kubernetes/README.md). Throws VeracruzError(InvalidRequest) naming a bad option.
 */
export function kubernetesManifests(options: FleetManifestOptions = {}): object[] {
  const resolved = resolveOptions(options);
  if (resolved.runtimeHash === undefined && resolved.platform !== 'linux') {
    invalid('runtimeHash', `required for ${resolved.platform}: the measurement of the confidential VM the members boot, which the operator cannot compute`);
  }
  const namespace: INamespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: resolved.namespace, labels: { [PART_OF_LABEL]: PART_OF } } };
  return [
    namespace,
    computationDefinition(),
    poolDefinition(),
    ...pasServices(resolved),
    pasStatefulSet(resolved),
    ...operatorObjects(resolved),
    ...networkPolicies(resolved),
  ];
}

/**
 * Objects as one multi-document YAML stream: each a JSON document (JSON is YAML) after `---`, so
 * that no YAML library is needed to write them and `kubectl apply -f -` reads them as they are.
 */
export function manifestsYaml(objects: readonly object[]): string {
  return objects.map((object) => `---\n${JSON.stringify(object, null, 2)}\n`).join('');
}
