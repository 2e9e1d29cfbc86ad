import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { ComputationStatus, FleetStatus, Reconciler } from '@veracruz-ts/fleet';
import { serveStatus } from './operator.ts';
import { computationResourceStatus, endedResourceStatus, poolResourceStatus } from './resource-status.ts';

const HASH = 'ab'.repeat(32);
const computation: ComputationStatus = {
  id: 'map-reduce',
  state: 'lost',
  submittedAt: '2026-12-06T10:00:00.000Z',
  readyAt: '2026-12-06T10:00:05.000Z',
  endedAt: '2026-12-06T11:00:00.000Z',
  reason: 'isolate mapper (member m001-abcd) died: out of memory',
  isolates: [
    { name: 'mapper', member: 'm001-abcd', address: 'vc-map-reduce-mapper.veracruz.svc:3017', policyHash: 'cd'.repeat(32), ended: { code: 137, reason: 'out of memory', at: '2026-12-06T11:00:00.000Z' } },
    { name: 'reducer', member: 'm002-efgh', address: 'vc-map-reduce-reducer.veracruz.svc:3017', policyHash: HASH, identityHash: 'ef'.repeat(32) },
  ],
};
const fleet: FleetStatus = {
  backend: 'kubernetes',
  pas: { url: 'http://vc-pas.veracruz.svc:3010' },
  pool: { target: 2, warm: 1, starting: 1 },
  members: [],
  computations: [computation],
  events: [],
};

/** The reconciler's reading side, over a fixed status. */
const source: Pick<Reconciler, 'status' | 'computation' | 'policyStatus'> = {
  status: () => fleet,
  computation: (id) => {
    if (id !== computation.id) throw new VeracruzError(Code.NotFound, `no computation ${id} in this fleet`);
    return computation;
  },
  policyStatus: (hash) => (hash === HASH ? { computation: 'map-reduce', isolate: 'reducer', state: 'lost' } : undefined),
};

test('the operator\'s status API: the fleet, a computation, a policy\'s isolate; not found as the fleet\'s APIs answer; nothing that changes the fleet', async () => {
  const service = await serveStatus(source, 'veracruz', '127.0.0.1:0');
  const url = `http://${service.address}`;
  try {
    const call = async (path: string, init?: RequestInit) => {
      const response = await fetch(`${url}${path}`, init);
      return { status: response.status, body: await response.json() };
    };
    assert.deepEqual(await call('/v1/status'), { status: 200, body: fleet });
    assert.deepEqual(await call('/v1/computations/map-reduce'), { status: 200, body: computation });
    assert.deepEqual(await call('/v1/computations/other'), { status: 404, body: { error: { code: 'not_found', message: 'no computation other in this fleet' } } });
    assert.deepEqual(await call(`/v1/policies/${HASH.toUpperCase()}`), { status: 200, body: { computation: 'map-reduce', isolate: 'reducer', state: 'lost' } });
    assert.deepEqual(await call(`/v1/policies/${'00'.repeat(32)}`), { status: 404, body: { error: { code: 'not_found', message: `no isolate of this fleet was given the policy ${'00'.repeat(32)}` } } });
    assert.equal((await call('/v1/scale')).status, 404);
    // The local controller's writing routes are not served here, with or without a token.
    for (const path of ['/v1/status', '/v1/computations', '/v1/scale', '/v1/cancel/map-reduce', '/v1/down']) {
      const answer = await call(path, { method: 'POST', body: '{}', headers: { authorization: 'Bearer any-token-at-all' } });
      assert.deepEqual(answer, { status: 404, body: { error: { code: 'not_found', message: `no POST ${path}` } } }, path);
    }
  } finally {
    await service.close();
  }
});

test('what the operator writes to a computation\'s status: state, reason, times, isolates with address and policy hash, Ready', () => {
  assert.deepEqual(computationResourceStatus(computation, 3), {
    state: 'lost',
    reason: 'isolate mapper (member m001-abcd) died: out of memory',
    ready: '1/2',
    observedGeneration: 3,
    submittedAt: '2026-12-06T10:00:00.000Z',
    readyAt: '2026-12-06T10:00:05.000Z',
    endedAt: '2026-12-06T11:00:00.000Z',
    isolates: [
      { name: 'mapper', member: 'm001-abcd', address: 'vc-map-reduce-mapper.veracruz.svc:3017', policyHash: 'cd'.repeat(32), ended: { code: 137, reason: 'out of memory', at: '2026-12-06T11:00:00.000Z' } },
      // identityHash is the reconciler's own: the resource's schema has no place for it.
      { name: 'reducer', member: 'm002-efgh', address: 'vc-map-reduce-reducer.veracruz.svc:3017', policyHash: HASH },
    ],
  });
  const pending = computationResourceStatus({ id: 'x', state: 'pending', submittedAt: '2026-12-06T10:00:00.000Z', isolates: [{ name: 'a' }, { name: 'b' }] }, undefined);
  assert.deepEqual(pending, { state: 'pending', reason: null, ready: '0/2', observedGeneration: null, submittedAt: '2026-12-06T10:00:00.000Z', readyAt: null, endedAt: null, isolates: [{ name: 'a' }, { name: 'b' }] });
  const assigning = computationResourceStatus({ ...computation, state: 'assigning', isolates: computation.isolates.map(({ ended: _ended, ...isolate }) => isolate) }, 1);
  assert.equal(assigning.ready, '0/2', 'nothing serves before the computation is ready');
  assert.equal(computationResourceStatus({ ...computation, state: 'ready', isolates: computation.isolates.map(({ ended: _ended, ...isolate }) => isolate) }, 1).ready, '2/2');
  assert.deepEqual(endedResourceStatus('failed', 'spec.topology: expected an object', 3, 2, new Date('2026-12-06T12:00:00Z')), {
    state: 'failed', reason: 'spec.topology: expected an object', ready: '0/3', observedGeneration: 2, endedAt: '2026-12-06T12:00:00.000Z',
  });
  assert.deepEqual(poolResourceStatus({ target: 2, warm: 1, starting: 1 }), { warm: 1, starting: 1, message: null });
  assert.deepEqual(poolResourceStatus({ target: 2, warm: 0, starting: 0 }, 'size 99 not applied'), { warm: 0, starting: 0, message: 'size 99 not applied' });
});
