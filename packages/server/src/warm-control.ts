/**
 * A warm server's control port: how a fleet (the local controller, or the Kubernetes operator) asks
 * a host for its health and gives it its one policy. Bearer token on every route: whoever holds it
 * can only do what the host can (assign a policy no party will accept, or stop the isolate), so it
 * guards against a stray process, not against the host, which is untrusted anyway.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';
import { type JsonApi, type JsonRoute, startJsonApi } from './json-api.ts';
import type { WarmServer } from './warm.ts';

/** `GET /v1/health`'s answer. */
export interface WarmHealth {
  state: 'warm' | 'serving' | 'stopping';
  sessions: number;
  measurement: string;
  attestedAt: string;
  memoryMib: number;
  policyHash?: string;
}

/** `POST /v1/assign`'s answer. */
export interface AssignAnswer {
  url: string;
  policyHash: string;
}

/** Serves the control routes of `warm` on `listen` with `token`. `onServing` hears of a successful assignment. */
export function serveWarmControl(warm: WarmServer, options: { listen: string; token: string; log?: (line: string) => void; onServing?: (answer: AssignAnswer) => void }): Promise<JsonApi> {
  const routes: JsonRoute[] = [
    {
      method: 'GET', path: '/v1/health', authenticated: true,
      handle: () => {
        const state = warm.state();
        const policyHash = warm.policyHash();
        const body: WarmHealth = {
          // An assignment under way is reported as warm: nothing serves yet.
          state: state === 'assigning' ? 'warm' : state,
          sessions: warm.sessions(),
          measurement: warm.measurement,
          attestedAt: warm.attestedAt.toISOString(),
          memoryMib: warm.memoryMib,
          ...(policyHash === undefined ? {} : { policyHash }),
        };
        return { status: 200, body };
      },
    },
    {
      method: 'POST', path: '/v1/assign',
      handle: async ({ body }) => {
        const policy = (body as { policy?: unknown } | undefined)?.policy;
        if (typeof policy !== 'string') throw new VeracruzError(Code.InvalidRequest, 'assign: the body must be {"policy": "<the policy\'s text>"}');
        const running = await warm.assign(policy);
        const answer: AssignAnswer = { url: running.url, policyHash: warm.policyHash()! };
        options.onServing?.(answer);
        return { status: 200, body: answer };
      },
    },
    {
      method: 'POST', path: '/v1/stop',
      handle: () => {
        void warm.close();
        return { status: 202, body: { state: 'stopping' } };
      },
    },
  ];
  return startJsonApi({ listen: options.listen, token: options.token, routes, ...(options.log === undefined ? {} : { log: options.log }) });
}
