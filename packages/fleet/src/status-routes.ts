/**
 * The fleet's read routes, the same wherever a reconciler runs (the controller on this host, the
 * operator in a cluster): `GET /v1/status`, `GET /v1/computations/ID` and `GET /v1/policies/HASH`,
 * which a party's SDK asks to explain an isolate that is gone. No token: they tell only the host's
 * view, which a party may read too.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { JsonRoute } from '@veracruz-ts/server';
import type { Reconciler } from './reconciler.ts';
import type { FleetStatus } from './status.ts';

/** The read routes over `reconciler`; `pas` completes the status with what the reconciler does not know. */
export function statusRoutes(reconciler: Pick<Reconciler, 'status' | 'computation' | 'policyStatus'>, pas?: FleetStatus['pas']): JsonRoute[] {
  return [
    { method: 'GET', path: '/v1/status', handle: () => ({ status: 200, body: pas === undefined ? reconciler.status() : { ...reconciler.status(), pas } }) },
    { method: 'GET', path: '/v1/computations/', handle: ({ rest }) => ({ status: 200, body: reconciler.computation(rest) }) },
    {
      method: 'GET', path: '/v1/policies/',
      handle: ({ rest }) => {
        const found = reconciler.policyStatus(rest.toLowerCase());
        if (found === undefined) throw new VeracruzError(Code.NotFound, `no isolate of this fleet was given the policy ${rest}`);
        return { status: 200, body: found };
      },
    },
  ];
}
