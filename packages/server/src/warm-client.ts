/**
 * A fleet's side of a warm host's control API (`vc-server warm --control`, warm-control.ts): its
 * health, its one policy, its stop. Every request carries the fleet's bearer token; an error the host reports
 * keeps its code (`invalid_policy`, `already_exists`, ...) and message, and a host that does not
 * answer in time is `unavailable`. Each error names the member and the route.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';
import { callJsonApi, JsonApiUnreachable } from './json-api.ts';
import type { AssignAnswer, WarmHealth } from './warm-control.ts';

/** One member host's control API. */
export interface WarmControlClient {
  /** Its health; rejects when it does not answer within `timeoutMs` or answers something else. */
  health(timeoutMs: number): Promise<WarmHealth>;
  /** Installs the policy; resolves with where it serves and the policy's hash. */
  assign(policyText: string, timeoutMs: number): Promise<AssignAnswer>;
  /** Asks it to stop its isolate in order (it then exits). */
  stop(timeoutMs: number): Promise<void>;
}

/** The control API of member `name` at `address` (`host:port`), with the fleet's `token`. */
export function warmControlClient(name: string, address: string, token: string): WarmControlClient {
  async function call<T>(method: 'GET' | 'POST', path: string, timeoutMs: number, body?: unknown): Promise<T> {
    const url = `http://${address}${path}`;
    try {
      return await callJsonApi<T>(url, { method, token, timeoutMs, ...(body === undefined ? {} : { body }) });
    } catch (error) {
      const failure = VeracruzError.from(error);
      const reason = error instanceof JsonApiUnreachable ? error.reason : failure.rawMessage;
      throw new VeracruzError(failure.code, `member ${name}'s host (${url}): ${reason}`, { cause: error });
    }
  }

  /** Refuses an answer that is not what the route promises. */
  function unexpected(path: string, answer: unknown): never {
    throw new VeracruzError(Code.Unavailable, `member ${name}'s host answered ${path} with ${JSON.stringify(answer).slice(0, 200)}`);
  }

  return {
    health: async (timeoutMs) => {
      const answer = await call<WarmHealth>('GET', '/v1/health', timeoutMs);
      const { state, measurement, attestedAt } = (answer ?? {}) as Partial<WarmHealth>;
      if ((state !== 'warm' && state !== 'serving' && state !== 'stopping') || typeof measurement !== 'string' || typeof attestedAt !== 'string') unexpected('/v1/health', answer);
      return answer;
    },
    assign: async (policyText, timeoutMs) => {
      const answer = await call<AssignAnswer>('POST', '/v1/assign', timeoutMs, { policy: policyText });
      if (typeof answer?.url !== 'string' || typeof answer.policyHash !== 'string') unexpected('/v1/assign', answer);
      return answer;
    },
    stop: async (timeoutMs) => {
      await call('POST', '/v1/stop', timeoutMs);
    },
  };
}
