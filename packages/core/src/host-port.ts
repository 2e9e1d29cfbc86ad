import { Code, VeracruzError } from './errors.ts';

/** A listening or connecting address. */
export interface HostPort {
  /** Host name or IP address, without IPv6 brackets. */
  host: string;
  port: number;
}

/**
 * Reads `host:port` or `[v6]:port` (port 0-65535). `what` names the input in the refusal, e.g.
 * "server address".
 */
export function parseHostPort(value: string, what = 'address'): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = match === null ? -1 : Number(match[3]);
  if (match === null || port > 65535) {
    throw new VeracruzError(Code.InvalidRequest, `${what} ${JSON.stringify(value)} is not host:port (or [v6]:port)`);
  }
  return { host: match[1] ?? match[2] ?? '', port };
}
