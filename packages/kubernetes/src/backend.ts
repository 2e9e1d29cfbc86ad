/**
 * The pool's backend in a cluster: each member is a pod running `vc-server warm` (see
 * {@link memberPod}), each assigned isolate a Service in front of its member's pod, whose DNS name
 * its policy names. The operator talks to a member's host on the pod's own address (the control
 * port, with the fleet's token), and learns how a member ended from its pod: the container's
 * termination message is the reason the host wrote, with its exit code, signal or OOMKilled.
 */
import { CoreV1Api, type KubeConfig, makeInformer, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { Code, formatHostPort, VeracruzError } from '@veracruz-ts/core';
import type { Assignment, MemberBackend, MemberExit, MemberHandle, MemberHealth, MemberInfo } from '@veracruz-ts/fleet';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IService } from 'kubernetes-models/v1/Service';
import { MEMBER_MEMORY_OVERHEAD_MIB, type MemberPodOptions, memberPod, memberService, memberServiceAddress } from './manifests.ts';
import { ANNOTATIONS, COMPONENT_LABEL, memberPodName, PART_OF, PART_OF_LABEL, PORTS } from './names.ts';
import { type WarmControlClient, warmControlClient } from '@veracruz-ts/server';

/** Options of {@link kubernetesBackend}. */
export interface KubernetesBackendOptions extends MemberPodOptions {
  /** Where the API server is, and who the operator is to it. */
  kubeConfig: KubeConfig;
  /** The bearer token of the members' control API (the `vc-control-token` Secret). */
  controlToken: string;
  /** Members started at once. @default 4 */
  startConcurrency?: number;
  /** How long a member may take from its pod's creation to warm (image pull, boot, certification). @default 300000 */
  startTimeoutMs?: number;
  /** The operator's log. @default none */
  log?: (line: string) => void;
}

/** The Kubernetes backend: a {@link MemberBackend} and what the operator does with it besides. */
export interface KubernetesBackend extends MemberBackend {
  /** Sets the isolate memory budget of members started from now on (a VeracruzPool's `memoryMib`). */
  setMemoryMib(memoryMib: number): void;
  /** Deletes the member pods and Services an earlier operator left (none of them can be adopted); returns how many. */
  removeLeftovers(): Promise<number>;
  /** Stops following the member pods. */
  close(): Promise<void>;
}

/** A member as this backend tracks it. */
interface PodMember extends MemberHandle {
  readonly podName: string;
  /** The pod's IP, once it has one. */
  podIp?: string;
  /** Its Service, once assigned. */
  serviceName?: string;
  /** Whether the operator asked it to stop (its end is then in order, unless its host said otherwise). */
  stopRequested: boolean;
  /** Whether its pod was being deleted, by someone else, before the operator asked anything. */
  removedByOthers?: boolean;
  /** Whether {@link PodMember.exited} has settled. */
  ended?: MemberExit;
  settle(exit: MemberExit): void;
}

/** The label selector of every member pod (and member Service). */
const MEMBER_SELECTOR = `${PART_OF_LABEL}=${PART_OF},${COMPONENT_LABEL}=member`;
const HEALTH_TIMEOUT_MS = 2000;
const ASSIGN_TIMEOUT_MS = 120_000;
/** How long a deleted pod may take to go; past it, the member is taken as gone. */
const STOP_TIMEOUT_MS = 60_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The HTTP status of an API error from the client, if it is one. */
function apiStatus(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number' ? error.code : undefined;
}

/** An API error in one sentence: the API server's own message when it sent one. */
export function apiErrorMessage(error: unknown): string {
  const status = apiStatus(error);
  const body = typeof error === 'object' && error !== null && 'body' in error ? error.body : undefined;
  let message: string | undefined;
  try {
    const parsed = typeof body === 'string' ? (JSON.parse(body) as { message?: unknown }) : (body as { message?: unknown } | undefined);
    if (typeof parsed?.message === 'string') message = parsed.message;
  } catch {
    // Not JSON: the error's own text below.
  }
  message ??= error instanceof Error ? error.message : String(error);
  return status === undefined ? message : `${message} (HTTP ${status})`;
}

/**
 * How a member ended, from its pod: the host's termination message (why its isolate ended) with
 * the exit code, signal and OOMKilled, or how the pod itself went. A pod deleted by anyone but the
 * operator never ends in order, whatever its host said on the way out: its isolate's data is gone.
 */
export function memberExitFromPod(pod: V1Pod | undefined, how: { deleted: boolean; stopRequested: boolean; podName?: string }): MemberExit {
  const name = pod?.metadata?.name ?? how.podName ?? 'unknown';
  const status = pod?.status?.containerStatuses?.find((container) => container.name === 'host');
  const terminated = status?.state?.terminated ?? status?.lastState?.terminated;
  const removedByOthers = !how.stopRequested && (how.deleted || pod?.metadata?.deletionTimestamp !== undefined);
  const removal = removedByOthers ? `its pod ${name} was deleted, not by the operator` : undefined;
  if (terminated !== undefined) {
    const oom = terminated.reason === 'OOMKilled';
    const memory = pod?.spec?.containers.find((container) => container.name === 'host')?.resources?.limits?.['memory'];
    const details = [
      `exit code ${terminated.exitCode}`,
      ...(terminated.signal === undefined || terminated.signal === 0 ? [] : [`signal ${terminated.signal}`]),
      ...(oom ? [`OOMKilled: the pod went over its memory limit${memory === undefined ? '' : ` of ${memory}`}`] : []),
    ].join(', ');
    const said = terminated.message?.trim();
    const reason = `${said === undefined || said === '' ? 'its host ended without a word' : said} (${details})`;
    const code = terminated.exitCode === 0 && !oom && removal === undefined ? 0 : terminated.exitCode === 0 ? 1 : terminated.exitCode;
    return { code, reason: removal === undefined ? reason : `${removal}; ${reason}` };
  }
  if (pod?.status?.phase === 'Failed') {
    return { code: 1, reason: `its pod ${name} failed: ${[pod.status.reason, pod.status.message].filter((part) => part !== undefined).join(': ') || 'no reason given'}` };
  }
  if (how.deleted) return how.stopRequested ? { code: 0, reason: `stopped: its pod ${name} was deleted by the operator` } : { code: 1, reason: `${removal}, before its host ended` };
  return { code: 1, reason: `its pod ${name} ended (${pod?.status?.phase ?? 'phase unknown'})` };
}

/** Why a pod is not running yet, for an error that explains a start that took too long. */
export function pendingReason(pod: V1Pod | undefined): string {
  if (pod === undefined) return 'its pod does not exist';
  const waiting = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    .map((container) => container.state?.waiting)
    .find((state) => state?.reason !== undefined && state.reason !== 'PodInitializing' && state.reason !== 'ContainerCreating');
  if (waiting !== undefined) return `its pod is ${pod.status?.phase ?? 'Pending'}: ${waiting.reason}${waiting.message === undefined ? '' : `: ${waiting.message}`}`;
  const unscheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled' && condition.status === 'False');
  if (unscheduled !== undefined) return `its pod is not scheduled: ${unscheduled.reason ?? ''}${unscheduled.message === undefined ? '' : `: ${unscheduled.message}`}`;
  return `its pod is ${pod.status?.phase ?? 'Pending'}${pod.status?.podIP === undefined ? '' : ` at ${pod.status.podIP}`}`;
}

/**
 * One of our objects as the client's type of it: both describe the same JSON, but kubernetes-models
 * types timestamps as their text and the client as Dates, and our objects carry no timestamp.
 */
function asClientObject<T>(object: IPod | IService): T {
  return object as unknown as T;
}

function stoppedByOperator(member: PodMember): boolean {
  return member.stopRequested && member.removedByOthers !== true;
}

/** A terminal pod: its host container ended, or the pod failed as a whole (evicted, say). */
function podEnded(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  const host = pod.status?.containerStatuses?.find((container) => container.name === 'host');
  return phase === 'Succeeded' || phase === 'Failed' || host?.state?.terminated !== undefined;
}

/** Members as pods: see the file comment. */
export function kubernetesBackend(options: KubernetesBackendOptions): KubernetesBackend {
  const { namespace, controlToken, kubeConfig } = options;
  const log = options.log ?? (() => {});
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const startTimeoutMs = options.startTimeoutMs ?? 300_000;
  let podOptions: MemberPodOptions = {
    namespace, image: options.image, memoryMib: options.memoryMib, platform: options.platform, devices: options.devices,
    ...(options.runtimeClassName === undefined ? {} : { runtimeClassName: options.runtimeClassName }),
  };
  /** Every member started and not yet gone, by pod name. */
  const members = new Map<string, PodMember>();
  const pod = (member: MemberHandle): PodMember => member as PodMember;

  /** A member host's control API, on its pod's address. */
  function control(member: PodMember): WarmControlClient {
    if (member.podIp === undefined) throw new VeracruzError(Code.Unavailable, `member ${member.info.name} has no pod address yet`);
    return warmControlClient(member.info.name, formatHostPort(member.podIp, PORTS.control), controlToken);
  }

  async function deletePod(name: string, graceSeconds: number): Promise<void> {
    try {
      await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: graceSeconds });
    } catch (error) {
      if (apiStatus(error) !== 404) log(`pod ${name} could not be deleted: ${apiErrorMessage(error)}`);
    }
  }

  async function deleteService(name: string): Promise<void> {
    try {
      await core.deleteNamespacedService({ name, namespace });
    } catch (error) {
      if (apiStatus(error) !== 404) log(`Service ${name} could not be deleted: ${apiErrorMessage(error)}`);
    }
  }

  /** The end of a member, whichever way it was seen; its pod and Service are removed. */
  function ended(member: PodMember, exit: MemberExit): void {
    if (member.ended !== undefined) return;
    member.settle(exit);
    members.delete(member.podName);
    // What is left of it is of no use: the reason is in the computation's status.
    void deletePod(member.podName, 0);
    if (member.serviceName !== undefined) void deleteService(member.serviceName);
  }

  function observe(seen: V1Pod, deleted: boolean): void {
    const name = seen.metadata?.name;
    const member = name === undefined ? undefined : members.get(name);
    if (member === undefined) return;
    if (seen.status?.podIP !== undefined) member.podIp = seen.status.podIP;
    // Seen before the operator asks anything: its stop afterwards (the host no longer answers) is no orderly one.
    if (seen.metadata?.deletionTimestamp !== undefined && !member.stopRequested) member.removedByOthers = true;
    if (deleted || podEnded(seen)) ended(member, memberExitFromPod(seen, { deleted, stopRequested: stoppedByOperator(member) }));
  }

  // One watch over every member pod tells each member's end as it happens; the API's watches end
  // now and then, and the informer is started again after a pause.
  const informer = makeInformer(kubeConfig, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace, labelSelector: MEMBER_SELECTOR }), MEMBER_SELECTOR);
  informer.on('add', (seen) => observe(seen, false));
  informer.on('update', (seen) => observe(seen, false));
  informer.on('delete', (seen) => observe(seen, true));
  let watching: Promise<void> | undefined;
  let closed = false;
  informer.on('error', (error: unknown) => {
    if (closed) return;
    log(`watch of member pods ended (${apiErrorMessage(error)}); watching again in 5 s`);
    setTimeout(() => {
      if (!closed) informer.start().catch((again: unknown) => log(`watch of member pods: ${apiErrorMessage(again)}`));
    }, 5000).unref();
  });
  // A watch that could not start is tried again at the next member's start.
  const watch = (): Promise<void> => (watching ??= informer.start().catch((error: unknown) => {
    watching = undefined;
    throw new VeracruzError(Code.Unavailable, `member pods cannot be watched: ${apiErrorMessage(error)}`);
  }));

  async function readPod(name: string): Promise<V1Pod | undefined> {
    try {
      return await core.readNamespacedPod({ name, namespace });
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }

  return {
    kind: 'kubernetes',
    startConcurrency: options.startConcurrency ?? 4,

    start: async (name) => {
      await watch();
      const podName = memberPodName(name);
      const startedAt = new Date();
      let settle: (exit: MemberExit) => void = () => {};
      const exited = new Promise<MemberExit>((resolve) => (settle = resolve));
      const member: PodMember = {
        podName, stopRequested: false,
        info: { name, startedAt, attestedAt: startedAt, measurement: '' },
        exited,
        settle: (exit) => {
          member.ended = exit;
          settle(exit);
        },
      };
      members.set(podName, member);
      try {
        await core.createNamespacedPod({ namespace, body: asClientObject<V1Pod>(memberPod(podOptions, name)) });
      } catch (error) {
        members.delete(podName);
        throw new VeracruzError(Code.Unavailable, `member ${name}: its pod could not be created: ${apiErrorMessage(error)}`);
      }
      // Followed by reading the pod, not only the watch: a start must not hang on a watch that lags.
      let last: V1Pod | undefined;
      while (Date.now() - startedAt.getTime() < startTimeoutMs) {
        if (member.ended !== undefined) throw new VeracruzError(Code.Unavailable, `member ${name} ended before it was warm: ${member.ended.reason}`);
        let read: V1Pod | undefined | 'error';
        try {
          read = await readPod(podName);
        } catch (error) {
          // A passing failure of the API server is no news about the pod: asked again below.
          log(`member ${name}: reading its pod: ${apiErrorMessage(error)}`);
          read = 'error';
        }
        if (read === undefined) {
          ended(member, memberExitFromPod(undefined, { deleted: true, stopRequested: stoppedByOperator(member), podName }));
          continue;
        }
        if (read === 'error') {
          await delay(1000);
          continue;
        }
        last = read;
        observe(last, false);
        if (last.status?.phase === 'Running' && member.podIp !== undefined && member.ended === undefined) {
          // The control port answers once the isolate is certified; until then, refused or silent.
          const health = await control(member).health(HEALTH_TIMEOUT_MS).catch(() => undefined);
          if (health?.state === 'warm') {
            const info: MemberInfo = { name, startedAt, attestedAt: new Date(health.attestedAt), measurement: health.measurement };
            (member as { info: MemberInfo }).info = info;
            return member;
          }
        }
        await delay(1000);
      }
      member.stopRequested = true;
      ended(member, { code: 1, reason: `not warm within ${startTimeoutMs / 1000} s` });
      throw new VeracruzError(Code.Unavailable, `member ${name} was not warm within ${startTimeoutMs / 1000} s: ${pendingReason(last)}`);
    },

    address: (_member, assignment: Assignment) => memberServiceAddress(assignment.computation, assignment.isolate, namespace),

    assign: async (handle, policyText, assignment) => {
      const member = pod(handle);
      const service = asClientObject<V1Service>(memberService(assignment.computation, assignment.isolate, member.info.name, namespace));
      const serviceName = service.metadata!.name!;
      // Named before it exists, so that a stop while it is being created removes it too.
      member.serviceName = serviceName;
      try {
        await core.createNamespacedService({ namespace, body: service });
      } catch (error) {
        if (apiStatus(error) !== 409) throw new VeracruzError(Code.Unavailable, `Service ${serviceName} could not be created: ${apiErrorMessage(error)}`);
        // Taken: by an earlier try of this very isolate (replaced), or by another one whose cleaned name is the same.
        const existing = await core.readNamespacedService({ name: serviceName, namespace });
        const owner = existing.metadata?.annotations ?? {};
        if (owner[ANNOTATIONS.computation] !== assignment.computation || owner[ANNOTATIONS.isolate] !== assignment.isolate) {
          delete member.serviceName;
          throw new VeracruzError(Code.AlreadyExists, `Service ${serviceName} belongs to computation ${owner[ANNOTATIONS.computation]}, isolate ${owner[ANNOTATIONS.isolate]}: rename the computation or the isolate`);
        }
        await core.deleteNamespacedService({ name: serviceName, namespace });
        await core.createNamespacedService({ namespace, body: service });
      }
      if (member.stopRequested) {
        await deleteService(serviceName);
        throw new VeracruzError(Code.Unavailable, `member ${member.info.name} was stopped while it was being assigned`);
      }
      await control(member).assign(policyText, ASSIGN_TIMEOUT_MS);
    },

    health: (handle): Promise<MemberHealth> => control(pod(handle)).health(HEALTH_TIMEOUT_MS),

    stop: async (handle, how = 'orderly') => {
      const member = pod(handle);
      if (member.ended !== undefined) return;
      member.stopRequested = true;
      // Its host stops its isolate in order and writes why; the pod goes either way.
      if (how === 'orderly') await Promise.resolve().then(() => control(member).stop(HEALTH_TIMEOUT_MS)).catch(() => {});
      if (member.serviceName !== undefined) await deleteService(member.serviceName);
      await deletePod(member.podName, how === 'kill' ? 0 : 10);
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (member.ended === undefined && Date.now() < deadline) {
        const seen = await readPod(member.podName).catch(() => undefined);
        if (seen === undefined) ended(member, memberExitFromPod(undefined, { deleted: true, stopRequested: stoppedByOperator(member), podName: member.podName }));
        else observe(seen, false);
        if (member.ended === undefined) await delay(1000);
      }
      if (member.ended === undefined) ended(member, { code: 0, reason: `stopped; its pod ${member.podName} did not go within ${STOP_TIMEOUT_MS / 1000} s` });
    },

    setMemoryMib: (memoryMib) => {
      podOptions = { ...podOptions, memoryMib };
      log(`members started from now on get ${memoryMib} MiB (${memoryMib + MEMBER_MEMORY_OVERHEAD_MIB} MiB pods)`);
    },

    removeLeftovers: async () => {
      const [pods, services] = await Promise.all([
        core.listNamespacedPod({ namespace, labelSelector: MEMBER_SELECTOR }),
        core.listNamespacedService({ namespace, labelSelector: MEMBER_SELECTOR }),
      ]);
      const podNames = pods.items.map((item) => item.metadata?.name).filter((name): name is string => name !== undefined && !members.has(name));
      const serviceNames = services.items.map((item) => item.metadata?.name).filter((name): name is string => name !== undefined);
      await Promise.all([...podNames.map((name) => deletePod(name, 0)), ...serviceNames.map((name) => deleteService(name))]);
      return podNames.length + serviceNames.length;
    },

    close: async () => {
      if (closed) return;
      closed = true;
      if (watching !== undefined) await informer.stop();
    },
  };
}
