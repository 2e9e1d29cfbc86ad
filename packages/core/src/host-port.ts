import { Code, VeracruzError } from './errors.ts';

/** A listening or connecting address. */
export interface HostPort {
  /** Host name or IP address, without IPv6 brackets. */
  host: string;
  /** Port number, 0 to 65535 (0 asks the system for a free port when listening). */
  port: number;
}

// A DNS name or IPv4 address (letters, digits, '_', '.', '-', not starting or ending with '.' or
// '-'), or an IPv6 address in brackets. The one grammar of addresses: policies, vc-server, vc-pas and
// clients all read addresses with it.
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)):([0-9]{1,5})$/;

/**
 * Reads `host:port` or `[v6]:port` (port 0-65535). `what` names the input in the refusal, e.g.
 * "server address".
 */
export function parseHostPort(value: string, what = 'address'): HostPort {
  const match = HOST_PORT.exec(value);
  const port = match === null ? -1 : Number(match[3]);
  if (match === null || port > 65535) {
    throw new VeracruzError(Code.InvalidRequest, `${what} ${JSON.stringify(value)} is not host:port (or [v6]:port)`);
  }
  return { host: match[1] ?? match[2] ?? '', port };
}

/** Writes `host:port`, with an IPv6 host in brackets (`[::1]:3011`): what {@link parseHostPort} reads. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
