/**
 * The operator: the fleet's reconciler over pods, driven by the VeracruzComputation and
 * VeracruzPool resources of its namespace. A computation added is read (its programs from
 * ConfigMaps) and submitted; deleted, it is cancelled (its members stopped). The pool named
 * `default` sets the pool's size. Each computation's state, reason and isolates (address and
 * policy hash) are written to its resource's status at every change, with an Event at each change
 * of state, and the fleet's status is served read-only on the status port.
 *
 * Members cannot be adopted across operators (the reconciler that planned a computation's policies
 * is the one that knows them): an operator starting deletes the member pods and Services it finds,
 * and marks the computations an earlier operator had assigned as lost.
 */
import {
  CoreV1Api, CustomObjectsApi, KubeConfig, type KubernetesListObject, type KubernetesObject, makeInformer, PatchStrategy, setHeaderOptions,
} from '@kubernetes/client-node';
import { VeracruzError } from '@veracruz-ts/core';
import { type ComputationStatus, type FleetStatus, Reconciler, statusRoutes } from '@veracruz-ts/fleet';
import { createIdentity } from '@veracruz-ts/policy';
import { type JsonApi, startJsonApi } from '@veracruz-ts/server';
import { apiErrorMessage, kubernetesBackend } from './backend.ts';
import { CA_PATH, fetchCaCertificate } from './ca-certificate.ts';
import { computationRequest, type ConfigMapContent } from './computation.ts';
import { type FleetOptions, pasAddress } from './manifests.ts';
import { GROUP, PLURALS, PORTS, VERSION } from './names.ts';
import { computationResourceStatus, endedResourceStatus, poolResourceStatus } from './resource-status.ts';

/** Options of {@link runOperator}. */
export interface OperatorOptions extends Pick<FleetOptions, 'namespace' | 'image' | 'pool' | 'memoryMib' | 'platform' | 'runtimeClassName' | 'devices'> {
  /** The members' control token (the `vc-control-token` Secret). */
  controlToken: string;
  /** The runtime measurement every policy names (lowercase hex). */
  runtimeHash: string;
  /** Days from assignment to each policy's `enclave_cert_expiry`. @default 30 */
  certificateDays?: number;
  /** Most members alive at once. @default max(16, pool) */
  maxMembers?: number;
  /** Where the status API listens. @default '0.0.0.0:8080' */
  statusListen?: string;
  /** Where the PAS's CA certificate is read. @default 'http://vc-pas:3010/ca.pem' */
  pasCaUrl?: string;
  /** The cluster. @default `loadFromDefault()`: in a pod, its service account */
  kubeConfig?: KubeConfig;
  /** The operator's log. @default none */
  log?: (line: string) => void;
}

/** A running operator. */
export interface RunningOperator {
  /** The status API, `http://host:port`. */
  statusUrl: string;
  reconciler: Reconciler;
  /** Stops watching, stops every member and the status API. */
  close(): Promise<void>;
}

/** A VeracruzComputation or VeracruzPool as the API returns it. */
interface Resource extends KubernetesObject {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** A computation the operator submitted. */
interface Submitted {
  uid: string;
  generation: number | undefined;
  /** The last status written, as text, and the state it had (an Event is made when it changes). */
  written?: string;
  state?: string;
  /** The generations whose spec change was reported as not applied. */
  ignoredGenerations: Set<number>;
}

/** The pool the operator follows. */
export const POOL_NAME = 'default';

/** The states in which an earlier operator's reconciler held members for a computation. */
const HELD_STATES = new Set(['assigning', 'ready']);
const ENDED_STATES = new Set(['completed', 'lost', 'failed', 'cancelled']);
const EVENT_REASONS: Record<ComputationStatus['state'], { reason: string; type: 'Normal' | 'Warning' }> = {
  pending: { reason: 'Pending', type: 'Normal' },
  assigning: { reason: 'Assigning', type: 'Normal' },
  ready: { reason: 'Ready', type: 'Normal' },
  completed: { reason: 'Completed', type: 'Normal' },
  lost: { reason: 'Lost', type: 'Warning' },
  failed: { reason: 'Failed', type: 'Warning' },
  cancelled: { reason: 'Cancelled', type: 'Normal' },
};

function isolateCount(resource: Resource): number {
  const topology = resource.spec?.['topology'] as { isolates?: unknown } | undefined;
  return typeof topology?.isolates === 'object' && topology.isolates !== null ? Object.keys(topology.isolates).length : 0;
}

/**
 * The operator's status API on `listen`: the fleet's read routes (`GET /v1/status`,
 * `/v1/computations/ID`, `/v1/policies/HASH`) over `reconciler`, with the PAS of `namespace`. No
 * token and nothing that changes the fleet: it tells only the host's view, which a party may read too.
 */
export function serveStatus(reconciler: Parameters<typeof statusRoutes>[0], namespace: string, listen: string, log?: (line: string) => void): Promise<JsonApi> {
  return startJsonApi({ listen, routes: statusRoutes(reconciler, { url: `http://${pasAddress(namespace)}` }), ...(log === undefined ? {} : { log }) });
}

/** Starts the operator in its namespace; resolves once it watches its resources and serves its status. */
export async function runOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { namespace } = options;
  const log = options.log ?? (() => {});
  const kubeConfig = options.kubeConfig ?? (() => {
    const config = new KubeConfig();
    config.loadFromDefault();
    return config;
  })();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  const pasCaPem = await fetchCaCertificate(options.pasCaUrl ?? `http://vc-pas:${PORTS.pas}${CA_PATH}`, { log });
  // The identity that uploads programs: made now, kept in memory, given the write right on exactly the programs.
  const provisioner = await createIdentity('vc-operator provisioner');
  const backend = kubernetesBackend({
    kubeConfig, namespace, controlToken: options.controlToken, image: options.image, memoryMib: options.memoryMib, platform: options.platform, devices: options.devices, log,
    ...(options.runtimeClassName === undefined ? {} : { runtimeClassName: options.runtimeClassName }),
  });
  const leftovers = await backend.removeLeftovers();
  if (leftovers > 0) log(`deleted ${leftovers} member pods and Services an earlier operator left (members cannot be adopted)`);

  const submitted = new Map<string, Submitted>();
  let defaultPool: Resource | undefined;
  let poolWritten: string | undefined;
  /** Why the pool's size was not applied, when it was not. */
  let poolMessage: string | undefined;

  async function patchStatus(plural: string, name: string, status: object): Promise<boolean> {
    try {
      await custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural, name, body: { status } }, mergePatch);
      return true;
    } catch (error) {
      log(`${plural}/${name}: status not written: ${apiErrorMessage(error)}`);
      return false;
    }
  }

  async function event(name: string, uid: string, { reason, type }: { reason: string; type: 'Normal' | 'Warning' }, message: string): Promise<void> {
    const now = new Date();
    try {
      await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: 'VeracruzComputation', name, namespace, uid },
          reason, message, type, count: 1, firstTimestamp: now, lastTimestamp: now, source: { component: 'vc-operator' },
        },
      });
    } catch (error) {
      log(`computation ${name}: event not recorded: ${apiErrorMessage(error)}`);
    }
  }

  // Status writes in order, one pass at a time, each from the latest status: a burst of changes is one write.
  let writing: Promise<void> = Promise.resolve();
  let latest: FleetStatus | undefined;
  let queued = false;
  function statusChanged(status: FleetStatus): void {
    latest = status;
    if (queued) return;
    queued = true;
    writing = writing.then(async () => {
      queued = false;
      const fleet = latest!;
      for (const computation of fleet.computations) {
        const record = submitted.get(computation.id);
        if (record === undefined) continue;
        const status = computationResourceStatus(computation, record.generation);
        const text = JSON.stringify(status);
        if (text === record.written) continue;
        if (await patchStatus(PLURALS.computation, computation.id, status)) record.written = text;
        if (computation.state !== record.state) {
          record.state = computation.state;
          const message = computation.reason ?? (computation.state === 'ready' ? `every isolate serves: ${computation.isolates.map((isolate) => `${isolate.name} on ${isolate.address}`).join(', ')}` : `computation ${computation.state}`);
          await event(computation.id, record.uid, EVENT_REASONS[computation.state], message);
        }
      }
      if (defaultPool !== undefined) {
        const status = poolResourceStatus(fleet.pool, poolMessage);
        const text = JSON.stringify(status);
        if (text !== poolWritten && (await patchStatus(PLURALS.pool, POOL_NAME, status))) poolWritten = text;
      }
    }).catch((error: unknown) => log(`status not written: ${VeracruzError.from(error).rawMessage}`));
  }

  const reconciler = new Reconciler({
    backend,
    pool: options.pool,
    maxMembers: options.maxMembers ?? Math.max(16, options.pool),
    environment: { runtimeHash: options.runtimeHash, pasCaPem, pasAddress: pasAddress(namespace), provisioner, certificateDays: options.certificateDays ?? 30 },
    log,
    onChange: statusChanged,
  });

  async function readConfigMap(name: string): Promise<ConfigMapContent | undefined> {
    try {
      const configMap = await core.readNamespacedConfigMap({ name, namespace });
      return { ...(configMap.data === undefined ? {} : { data: configMap.data }), ...(configMap.binaryData === undefined ? {} : { binaryData: configMap.binaryData }) };
    } catch (error) {
      if (typeof error === 'object' && error !== null && 'code' in error && error.code === 404) return undefined;
      throw error;
    }
  }

  async function computationAdded(resource: Resource): Promise<void> {
    const name = resource.metadata?.name;
    const uid = resource.metadata?.uid;
    if (name === undefined || uid === undefined) return;
    const known = submitted.get(name);
    if (known?.uid === uid) return;
    const generation = resource.metadata?.generation;
    const previous = typeof resource.status?.['state'] === 'string' ? resource.status['state'] : undefined;
    // Refused before it was ever submitted (no submittedAt), then changed: read again.
    const retry = previous === 'failed' && resource.status?.['submittedAt'] === undefined && resource.status?.['observedGeneration'] !== generation;
    if (previous !== undefined && ENDED_STATES.has(previous) && !retry) return;
    if (previous !== undefined && HELD_STATES.has(previous)) {
      const reason = `the operator restarted at ${new Date().toISOString()}; an operator does not adopt an earlier one's members, which were stopped with what they held. Create the computation again under a new name`;
      log(`computation ${name}: ${reason}`);
      await patchStatus(PLURALS.computation, name, endedResourceStatus('lost', reason, isolateCount(resource), generation, new Date()));
      await event(name, uid, EVENT_REASONS.lost, reason);
      return;
    }
    try {
      const request = await computationRequest(name, resource.spec, options.platform, readConfigMap);
      submitted.set(name, { uid, generation, ignoredGenerations: new Set() });
      reconciler.submit(request);
    } catch (error) {
      const reason = VeracruzError.from(error).rawMessage;
      log(`computation ${name} refused: ${reason}`);
      if (submitted.get(name)?.uid === uid) submitted.delete(name);
      await patchStatus(PLURALS.computation, name, endedResourceStatus('failed', reason, isolateCount(resource), generation, new Date()));
      await event(name, uid, EVENT_REASONS.failed, reason);
    }
  }

  async function computationUpdated(resource: Resource): Promise<void> {
    const name = resource.metadata?.name;
    const record = name === undefined ? undefined : submitted.get(name);
    const generation = resource.metadata?.generation;
    if (record === undefined || record.uid !== resource.metadata?.uid) return computationAdded(resource);
    if (generation === undefined || generation === record.generation || record.ignoredGenerations.has(generation)) return;
    record.ignoredGenerations.add(generation);
    const message = `spec generation ${generation} is not applied: a computation's policies are fixed once it is submitted (generation ${record.generation}); create a new VeracruzComputation for another topology`;
    log(`computation ${name}: ${message}`);
    await event(name!, record.uid, { reason: 'SpecNotApplied', type: 'Warning' }, message);
  }

  async function computationDeleted(resource: Resource): Promise<void> {
    const name = resource.metadata?.name;
    const record = name === undefined ? undefined : submitted.get(name);
    if (name === undefined || record === undefined || record.uid !== resource.metadata?.uid) return;
    submitted.delete(name);
    log(`computation ${name} deleted: stopping its members`);
    await reconciler.cancel(name).catch((error: unknown) => log(`computation ${name}: ${VeracruzError.from(error).rawMessage}`));
  }

  /** The pool's size and memory last applied, so that the operator's own status writes change nothing. */
  let applied = { size: options.pool, memoryMib: options.memoryMib };

  async function poolChanged(resource: Resource | undefined): Promise<void> {
    const spec = resource?.spec ?? {};
    const size = typeof spec['size'] === 'number' ? spec['size'] : options.pool;
    const memoryMib = typeof spec['memoryMib'] === 'number' ? spec['memoryMib'] : options.memoryMib;
    if (resource?.metadata?.uid !== defaultPool?.metadata?.uid) poolWritten = undefined;
    defaultPool = resource;
    if (memoryMib !== applied.memoryMib) backend.setMemoryMib(memoryMib);
    if (size !== applied.size) {
      try {
        reconciler.scale(size);
        poolMessage = undefined;
      } catch (error) {
        poolMessage = `size ${size} not applied: ${VeracruzError.from(error).rawMessage}`;
        log(`pool: ${poolMessage}`);
      }
    }
    applied = { size, memoryMib };
    statusChanged(reconciler.status());
  }

  async function poolSeen(resource: Resource, deleted: boolean): Promise<void> {
    const name = resource.metadata?.name;
    if (name !== POOL_NAME) {
      const message = `not followed: the operator follows the VeracruzPool named ${POOL_NAME}`;
      if (!deleted && name !== undefined && resource.status?.['message'] !== message) await patchStatus(PLURALS.pool, name, { warm: null, starting: null, message });
      return;
    }
    await poolChanged(deleted ? undefined : resource);
  }

  /** Watches one plural of the fleet's resources, again after a pause whenever the watch ends. */
  function watch(plural: string, handlers: { add: (resource: Resource) => Promise<void>; update: (resource: Resource) => Promise<void>; delete: (resource: Resource) => Promise<void> }) {
    const informer = makeInformer<Resource>(
      kubeConfig,
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}`,
      () => custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural }) as Promise<KubernetesListObject<Resource>>,
    );
    // One resource's events in order: an update is not handled before the add it follows.
    let queue: Promise<void> = Promise.resolve();
    const handle = (work: () => Promise<void>): void => {
      queue = queue.then(work).catch((error: unknown) => log(`${plural}: ${VeracruzError.from(error).rawMessage}`));
    };
    informer.on('add', (resource) => handle(() => handlers.add(resource)));
    informer.on('update', (resource) => handle(() => handlers.update(resource)));
    informer.on('delete', (resource) => handle(() => handlers.delete(resource)));
    informer.on('error', (error: unknown) => {
      if (closing !== undefined) return;
      log(`watch of ${plural} ended (${apiErrorMessage(error)}); watching again in 5 s`);
      setTimeout(() => {
        if (closing === undefined) informer.start().catch((again: unknown) => log(`watch of ${plural}: ${apiErrorMessage(again)}`));
      }, 5000).unref();
    });
    return informer;
  }

  let closing: Promise<void> | undefined;
  reconciler.start();
  const pools = watch(PLURALS.pool, { add: (resource) => poolSeen(resource, false), update: (resource) => poolSeen(resource, false), delete: (resource) => poolSeen(resource, true) });
  const computations = watch(PLURALS.computation, { add: computationAdded, update: computationUpdated, delete: computationDeleted });
  let status: JsonApi | undefined;
  try {
    await pools.start();
    await computations.start();
    status = await serveStatus(reconciler, namespace, options.statusListen ?? `0.0.0.0:${PORTS.status}`, log);
  } catch (error) {
    closing = Promise.resolve();
    await Promise.allSettled([pools.stop(), computations.stop()]);
    await reconciler.close();
    await backend.close();
    throw new VeracruzError(VeracruzError.from(error).code, `the operator could not start: ${apiErrorMessage(error)}`, { cause: error });
  }
  const statusService = status;
  log(`operator of namespace ${namespace}: pool ${options.pool}, members on ${options.platform}, status on http://${statusService.address}`);
  return {
    statusUrl: `http://${statusService.address}`,
    reconciler,
    close: () => (closing ??= (async () => {
      await Promise.allSettled([pools.stop(), computations.stop()]);
      await statusService.close();
      await reconciler.close();
      await backend.close();
      await writing;
    })()),
  };
}
