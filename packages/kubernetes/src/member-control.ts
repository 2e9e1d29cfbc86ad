/**
 * The operator's side of a member host's control API (`vc-server warm --control`): its health, its
 * one policy, its stop. Every request carries the fleet's bearer token; an error the host reports
 * keeps its code (`invalid_policy`, `already_exists`, ...) and message, and a host that does not
 * answer in time is `unavailable`.
 */
import { Code, isCode, VeracruzError } from '@veracruz-ts/core';

/** What `GET /v1/health` answers. */
export interface MemberHostHealth {
  state: 'warm' | 'serving' | 'stopping';
  sessions: number;
  /** The runtime measurement its isolate was certified with (lowercase hex). */
  measurement: string;
  /** When the PAS certified it (ISO 8601). */
  attestedAt: string;
  policyHash?: string;
}

/** One member host's control API. */
export interface MemberControl {
  /** Its health; rejects when it does not answer within `timeoutMs` or answers something else. */
  health(timeoutMs: number): Promise<MemberHostHealth>;
  /** Installs the policy; resolves with where it serves and the policy's hash. */
  assign(policyText: string, timeoutMs: number): Promise<{ url: string; policyHash: string }>;
  /** Asks it to stop its isolate in order (it then exits). */
  stop(timeoutMs: number): Promise<void>;
}

function object(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** The control API of member `name` at `address` (`host:port`), with the fleet's `token`. */
export function memberControl(name: string, address: string, token: string): MemberControl {
  async function call(method: 'GET' | 'POST', path: string, timeoutMs: number, body?: unknown): Promise<Record<string, unknown>> {
    const url = `http://${address}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${timeoutMs / 1000} s`
        : error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new VeracruzError(Code.Unavailable, `member ${name}'s host (${url}): ${reason}`);
    }
    const text = await response.text();
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new VeracruzError(Code.Unavailable, `member ${name}'s host answered ${path} with ${response.status} and something other than JSON`);
    }
    if (response.ok) return object(answer);
    const failure = object(object(answer)['error']);
    const code = isCode(failure['code']) ? failure['code'] : Code.Unavailable;
    throw new VeracruzError(code, `member ${name}'s host refused ${path} (${response.status}): ${typeof failure['message'] === 'string' ? failure['message'] : 'no reason given'}`);
  }

  return {
    health: async (timeoutMs) => {
      const answer = await call('GET', '/v1/health', timeoutMs);
      const { state, sessions, measurement, attestedAt, policyHash } = answer;
      if ((state !== 'warm' && state !== 'serving' && state !== 'stopping') || typeof measurement !== 'string' || typeof attestedAt !== 'string') {
        throw new VeracruzError(Code.Unavailable, `member ${name}'s host answered /v1/health with ${JSON.stringify(answer).slice(0, 200)}`);
      }
      return { state, sessions: typeof sessions === 'number' ? sessions : 0, measurement, attestedAt, ...(typeof policyHash === 'string' ? { policyHash } : {}) };
    },
    assign: async (policyText, timeoutMs) => {
      const answer = await call('POST', '/v1/assign', timeoutMs, { policy: policyText });
      if (typeof answer['url'] !== 'string' || typeof answer['policyHash'] !== 'string') {
        throw new VeracruzError(Code.Unavailable, `member ${name}'s host answered /v1/assign with ${JSON.stringify(answer).slice(0, 200)}`);
      }
      return { url: answer['url'], policyHash: answer['policyHash'] };
    },
    stop: async (timeoutMs) => {
      await call('POST', '/v1/stop', timeoutMs);
    },
  };
}
