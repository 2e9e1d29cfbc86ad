/**
 * The operator's read-only status API, the same routes the local controller serves for reading:
 * `GET /v1/status` (the whole fleet), `GET /v1/computations/ID` and `GET /v1/policies/HASH` (which
 * computation and isolate serve, or served, a policy: what a party's SDK asks to explain a
 * connection that failed). No token: it tells only the host's view, which a party may read too.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { ComputationStatus, FleetStatus, PolicyStatus } from '@veracruz-ts/fleet';
import { type HttpAnswer, type HttpService, startHttpService } from './http-service.ts';

/** What the status API reads: the reconciler's view of the fleet. */
export interface StatusSource {
  status(): FleetStatus;
  computation(id: string): ComputationStatus;
  policyStatus(policyHash: string): PolicyStatus | undefined;
}

/** The answer to a GET of `path`. */
export function statusRoute(source: StatusSource, path: string): HttpAnswer {
  if (path === '/v1/status') return { status: 200, body: source.status() };
  const computation = /^\/v1\/computations\/([^/]+)$/.exec(path);
  if (computation !== null) return { status: 200, body: source.computation(decodeURIComponent(computation[1]!)) };
  const policy = /^\/v1\/policies\/([^/]+)$/.exec(path);
  if (policy !== null) {
    const hash = decodeURIComponent(policy[1]!).toLowerCase();
    const found = source.policyStatus(hash);
    if (found === undefined) throw new VeracruzError(Code.NotFound, `no isolate of this fleet was given the policy ${hash}`);
    return { status: 200, body: found };
  }
  throw new VeracruzError(Code.NotFound, `no route GET ${path} (GET /v1/status, /v1/computations/ID, /v1/policies/HASH)`);
}

/** Serves the status API of `source` on `listen` (`host:port`). */
export function serveStatus(source: StatusSource, listen: string): Promise<HttpService> {
  return startHttpService(listen, (path) => statusRoute(source, path));
}
