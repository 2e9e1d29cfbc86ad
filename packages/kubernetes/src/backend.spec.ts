import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { apiErrorMessage, memberExitFromPod, pendingReason } from './backend.ts';

// How a member's end is read from its pod's status: the pod objects below are shaped as the API
// server reports a terminated container, an eviction or a pod stuck before it runs.

function terminatedPod(terminated: Record<string, unknown>, deleting = false): V1Pod {
  return {
    metadata: { name: 'vc-member-m001-abcd', ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: { containers: [{ name: 'host', resources: { limits: { memory: '1152Mi' } } }] },
    status: { phase: 'Failed', containerStatuses: [{ name: 'host', image: 'i', imageID: 'i', ready: false, restartCount: 0, state: { terminated: terminated as never } }] },
  } as V1Pod;
}

const ORDERLY = { deleted: false, stopRequested: false };

test('a member\'s end from its pod: the host\'s termination message with its exit code, signal or OOMKilled', () => {
  assert.deepEqual(memberExitFromPod(terminatedPod({ exitCode: 0, reason: 'Completed', message: 'a principal shut the computation down' }), ORDERLY), {
    code: 0, reason: 'a principal shut the computation down (exit code 0)',
  });
  assert.deepEqual(memberExitFromPod(terminatedPod({ exitCode: 1, reason: 'Error', message: 'the isolate died: out of memory in the runtime\n' }), ORDERLY), {
    code: 1, reason: 'the isolate died: out of memory in the runtime (exit code 1)',
  });
  assert.deepEqual(memberExitFromPod(terminatedPod({ exitCode: 137, reason: 'OOMKilled' }), ORDERLY), {
    code: 137, reason: 'its host ended without a word (exit code 137, OOMKilled: the pod went over its memory limit of 1152Mi)',
  });
  assert.deepEqual(memberExitFromPod(terminatedPod({ exitCode: 143, signal: 15, message: 'stopped' }), ORDERLY), { code: 143, reason: 'stopped (exit code 143, signal 15)' });
});

test('a pod deleted by someone else never ends in order, even when its host stopped cleanly; one the operator stopped does', () => {
  const cleanExit = { exitCode: 0, reason: 'Completed', message: 'stopped by SIGTERM' };
  assert.deepEqual(memberExitFromPod(terminatedPod(cleanExit, true), ORDERLY), {
    code: 1, reason: 'its pod vc-member-m001-abcd was deleted, not by the operator; stopped by SIGTERM (exit code 0)',
  });
  assert.deepEqual(memberExitFromPod(terminatedPod(cleanExit, true), { deleted: true, stopRequested: true }), { code: 0, reason: 'stopped by SIGTERM (exit code 0)' });
  assert.deepEqual(memberExitFromPod({ metadata: { name: 'vc-member-x' } } as V1Pod, { deleted: true, stopRequested: false }), {
    code: 1, reason: 'its pod vc-member-x was deleted, not by the operator, before its host ended',
  });
  assert.deepEqual(memberExitFromPod(undefined, { deleted: true, stopRequested: true, podName: 'vc-member-z' }), { code: 0, reason: 'stopped: its pod vc-member-z was deleted by the operator' });
  const evicted = { metadata: { name: 'vc-member-y' }, status: { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' } } as V1Pod;
  assert.deepEqual(memberExitFromPod(evicted, ORDERLY), { code: 1, reason: 'its pod vc-member-y failed: Evicted: The node was low on resource: memory.' });
});

test('why a pod is not warm yet: a waiting container\'s reason, an unscheduled pod, or its phase', () => {
  assert.equal(pendingReason(undefined), 'its pod does not exist');
  const pulling = {
    status: {
      phase: 'Pending',
      initContainerStatuses: [{ name: 'dev-key', state: { waiting: { reason: 'ErrImagePull', message: 'pull access denied for veracruz-ts' } } }],
    },
  } as V1Pod;
  assert.equal(pendingReason(pulling), 'its pod is Pending: ErrImagePull: pull access denied for veracruz-ts');
  const secret = { status: { phase: 'Pending', containerStatuses: [{ name: 'host', state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "vc-control-token" not found' } } }] } } as V1Pod;
  assert.equal(pendingReason(secret), 'its pod is Pending: CreateContainerConfigError: secret "vc-control-token" not found');
  const unscheduled = { status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient amd.com/sev-snp.' }] } } as V1Pod;
  assert.equal(pendingReason(unscheduled), 'its pod is not scheduled: Unschedulable: 0/1 nodes are available: 1 Insufficient amd.com/sev-snp.');
  assert.equal(pendingReason({ status: { phase: 'Running', podIP: '10.244.0.7' } } as V1Pod), 'its pod is Running at 10.244.0.7');
});

test('an API error in one sentence: the API server\'s message and the HTTP status', () => {
  const error = Object.assign(new Error('HTTP-Code: 403'), { code: 403, body: JSON.stringify({ kind: 'Status', message: 'pods is forbidden: User "system:serviceaccount:veracruz:vc-operator" cannot create resource "pods"' }) });
  assert.equal(apiErrorMessage(error), 'pods is forbidden: User "system:serviceaccount:veracruz:vc-operator" cannot create resource "pods" (HTTP 403)');
  assert.equal(apiErrorMessage(Object.assign(new Error('boom'), { code: 500, body: 'not json' })), 'boom (HTTP 500)');
  assert.equal(apiErrorMessage(new Error('connect ECONNREFUSED')), 'connect ECONNREFUSED');
});
