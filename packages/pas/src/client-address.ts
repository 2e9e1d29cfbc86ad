import { isIPv4, isIPv6 } from 'node:net';
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';

/**
 * The remote address of the TCP connection a request came on, as @hono/node-server exposes it
 * (`getConnInfo`: the Node socket's `remoteAddress`); undefined when the app is not served by
 * it (e.g. `app.request()` in tests) or the socket is already gone. Deliberately not a header:
 * `X-Forwarded-For` is whatever the client wants it to be.
 */
export function nodeClientAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    // No Node bindings in c.env: not served by @hono/node-server.
    return undefined;
  }
}

/** The 8 groups of an IPv6 address (zone dropped, a dotted IPv4 tail folded into two groups). */
function ipv6Groups(address: string): number[] | undefined {
  const text = address.split('%')[0] as string;
  if (!isIPv6(text)) return undefined;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  let hex = text;
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    hex = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = hex.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((group) => Number.parseInt(group, 16));
}

/**
 * The key a client's requests are counted under: an IPv4 address as is (IPv4-mapped IPv6 too,
 * as dual-stack sockets report it), and for IPv6 the /64 prefix, since one host or subscriber
 * is routinely given a whole /64 and could otherwise spread a flood over 2^64 addresses.
 * Requests whose address is unknown share one key.
 */
export function rateLimitKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  if (isIPv4(address)) return address;
  const groups = ipv6Groups(address);
  if (groups === undefined) return address;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high, low] = groups.slice(6) as [number, number];
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}
