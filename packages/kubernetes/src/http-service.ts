/**
 * The small read-only HTTP services of the operator's pods (the fleet's status, the PAS's CA
 * certificate): GET routes only, JSON errors as the rest of the fleet writes them
 * (`{"error":{"code","message"}}`), and a close that waits for requests in flight.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code, formatHostPort, parseHostPort, VeracruzError } from '@veracruz-ts/core';

/** What a route answers. */
export interface HttpAnswer {
  status: number;
  /** JSON, or text when `contentType` is given. */
  body: unknown;
  contentType?: string;
}

/** A running service. */
export interface HttpService {
  /** `host:port` it listens on. */
  address: string;
  close(): Promise<void>;
}

const STATUS_OF: Partial<Record<Code, number>> = { [Code.NotFound]: 404, [Code.InvalidRequest]: 400, [Code.Unavailable]: 503 };

function send(response: ServerResponse, answer: HttpAnswer): void {
  const text = answer.contentType === undefined ? `${JSON.stringify(answer.body)}\n` : String(answer.body);
  response.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

/** An error as the answer the fleet's APIs give: its code and message, never a stack. */
export function errorAnswer(error: unknown): HttpAnswer {
  const failure = VeracruzError.from(error);
  return { status: STATUS_OF[failure.code] ?? 500, body: { error: { code: failure.code, message: failure.rawMessage } } };
}

/**
 * Serves `route` (a GET path, without its query, to its answer) on `listen` (`host:port`, port 0
 * picks a free one); anything but GET is 405. A route that throws answers with its error.
 */
export async function startHttpService(listen: string, route: (path: string) => HttpAnswer | Promise<HttpAnswer>): Promise<HttpService> {
  const { host, port } = parseHostPort(listen, 'listen address');
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET');
      send(response, { status: 405, body: { error: { code: Code.InvalidRequest, message: `${request.method} is not served here: this API is read-only` } } });
      return;
    }
    const path = new URL(request.url ?? '/', 'http://service').pathname;
    Promise.resolve()
      .then(() => route(path))
      .catch(errorAnswer)
      .then((answer) => send(response, answer), () => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    address: formatHostPort(address.address, address.port),
    close: () => (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    })),
  };
}
