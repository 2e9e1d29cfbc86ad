/**
 * The small JSON-over-HTTP API shape that a warm host's control port and a fleet's controller share:
 * routes by method and path, bodies of bounded size, a bearer token for whatever changes state, and
 * errors as `{"error": {"code", "message"}}` with the project's codes. The client half times out.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import { Code, formatHostPort, parseHostPort, VeracruzError } from '@veracruz-ts/core';

/** One route's answer: a status and a JSON body (or a text one, when `contentType` is given). */
export interface JsonAnswer {
  status: number;
  body: unknown;
  contentType?: string;
}

/** A route: `GET /v1/status`, say. `match` gets the path's segments after the route's prefix. */
export interface JsonRoute {
  method: 'GET' | 'POST';
  /** The path, or a prefix ending in `/` whose rest is passed to the handler. */
  path: string;
  /** Whether the bearer token is required (always, for POST). */
  authenticated?: boolean;
  handle(request: { body: unknown; rest: string }): Promise<JsonAnswer> | JsonAnswer;
}

/** Options of {@link startJsonApi}. */
export interface JsonApiOptions {
  /** host:port (port 0 picks a free one). */
  listen: string;
  /** The bearer token of authenticated routes; without one, they are refused (a read-only API). */
  token?: string;
  routes: readonly JsonRoute[];
  /** Largest request body. @default 8 MiB */
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

/** A running API. */
export interface JsonApi {
  /** host:port it listens on. */
  address: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;
/** How long a closing API lets requests in flight finish. */
const CLOSE_GRACE_MS = 2000;

/** A JSON API that could not be reached or did not answer in time (as opposed to one that answered an error). */
export class JsonApiUnreachable extends VeracruzError {
  /** What went wrong on the way, without the URL. */
  readonly reason: string;

  constructor(url: string, reason: string) {
    super(Code.Unavailable, `${url}: ${reason}`);
    this.name = 'JsonApiUnreachable';
    this.reason = reason;
  }
}

/** The HTTP status of an error code. */
export function httpStatusOf(code: string): number {
  switch (code) {
    case Code.InvalidRequest:
    case Code.InvalidPolicy:
      return 422;
    case Code.PermissionDenied:
      return 403;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
      return 409;
    case Code.LimitExceeded:
      return 413;
    case Code.Unavailable:
    case Code.AttestationFailed:
      return 503;
    default:
      return 500;
  }
}

/** An error's answer. */
export function errorAnswer(error: unknown): JsonAnswer {
  const failure = VeracruzError.from(error);
  return { status: httpStatusOf(failure.code), body: { error: { code: failure.code, message: failure.rawMessage } } };
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(request: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new VeracruzError(Code.LimitExceeded, `the request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new VeracruzError(Code.InvalidRequest, 'the request body is not JSON');
  }
}

function send(response: ServerResponse, answer: JsonAnswer): void {
  const text = answer.contentType === undefined ? `${JSON.stringify(answer.body)}\n` : String(answer.body);
  response.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

/** Serves `routes` on `listen`; resolves once listening. */
export async function startJsonApi(options: JsonApiOptions): Promise<JsonApi> {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const server: Server = createServer((request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      const route = options.routes.find((candidate) => candidate.method === request.method && (candidate.path.endsWith('/') ? path.startsWith(candidate.path) : path === candidate.path));
      if (route === undefined) {
        send(response, { status: 404, body: { error: { code: Code.NotFound, message: `no ${request.method} ${path}` } } });
        return;
      }
      if (route.authenticated === true || route.method === 'POST') {
        const header = request.headers.authorization ?? '';
        if (options.token === undefined || !header.startsWith('Bearer ') || !sameToken(header.slice(7), options.token)) {
          send(response, { status: 401, body: { error: { code: Code.PermissionDenied, message: 'this request needs the control token (Authorization: Bearer TOKEN)' } } });
          return;
        }
      }
      try {
        let rest: string;
        try {
          rest = decodeURIComponent(path.slice(route.path.length));
        } catch {
          throw new VeracruzError(Code.InvalidRequest, `the path ${path} is not well encoded`);
        }
        const body = await readBody(request, limit);
        send(response, await route.handle({ body, rest }));
      } catch (error) {
        const answer = errorAnswer(error);
        if (answer.status === 500) options.log?.(`${request.method} ${path} failed: ${VeracruzError.from(error).rawMessage}`);
        send(response, answer);
      }
    })();
  });
  const { host, port } = parseHostPort(options.listen, 'control address');
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new VeracruzError(Code.Unavailable, `cannot listen on ${options.listen}: ${error.message}`)));
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  return {
    address: formatHostPort(host, typeof bound === 'object' && bound !== null ? bound.port : port),
    // Requests in flight (an assignment whose failure stopped the host, say) get their answer first.
    close: () => new Promise<void>((resolve) => {
      const forced = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      server.close(() => {
        clearTimeout(forced);
        resolve();
      });
      server.closeIdleConnections();
    }),
  };
}

/** Options of {@link callJsonApi}. */
export interface JsonCallOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  token?: string;
  /** How long the connection may stay quiet (an idle timeout, not a deadline for the whole call). @default 10000 */
  timeoutMs?: number;
}

/**
 * Calls a JSON API at `url` (`http://host:port/path`). Resolves with the body of a 2xx answer;
 * rejects with the answer's own error (code and message) otherwise, or {@link JsonApiUnreachable}
 * when the server cannot be reached or goes quiet for `timeoutMs`.
 */
export function callJsonApi<T>(url: string, options: JsonCallOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise<T>((resolve, reject) => {
    const request = httpRequest(url, {
      method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
      headers: {
        ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      },
      timeout: timeoutMs,
    }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => reject(new JsonApiUnreachable(url, error.message)));
      response.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          reject(new VeracruzError(Code.Unavailable, `${url} answered ${response.statusCode} with something other than JSON`));
          return;
        }
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(body as T);
          return;
        }
        const error = (body as { error?: { code?: string; message?: string } }).error;
        const code = Object.values(Code).includes(error?.code as Code) ? (error!.code as Code) : Code.Unavailable;
        reject(new VeracruzError(code, error?.message ?? `${url} answered ${status}`));
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    request.on('error', (error: NodeJS.ErrnoException) => reject(new JsonApiUnreachable(url, error.code ?? error.message)));
    request.end(payload);
  });
}
