import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { nodeClientAddress, rateLimitKey } from './client-address.ts';

describe('rateLimitKey', () => {
  it('keeps IPv4 addresses, including IPv4-mapped IPv6 from dual-stack sockets', () => {
    assert.equal(rateLimitKey('203.0.113.7'), '203.0.113.7');
    assert.equal(rateLimitKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(rateLimitKey('::ffff:cb00:7107'), '203.0.113.7');
  });

  it('counts IPv6 clients by their /64, however the address is written', () => {
    assert.equal(rateLimitKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(rateLimitKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(rateLimitKey('2001:0db8:0001:0002::'), '2001:db8:1:2::/64');
    assert.equal(rateLimitKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(rateLimitKey('::1'), '0:0:0:0::/64');
    assert.equal(rateLimitKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.notEqual(rateLimitKey('2001:db8:1:2::1'), rateLimitKey('2001:db8:1:3::1'));
  });

  it('puts requests of unknown address in one shared bucket', () => {
    assert.equal(rateLimitKey(undefined), 'unknown');
    assert.equal(rateLimitKey(''), 'unknown');
  });
});

describe('nodeClientAddress', () => {
  it('is undefined when the app is not served by @hono/node-server', async () => {
    const app = new Hono();
    app.get('/', (c) => c.text(String(nodeClientAddress(c))));
    assert.equal(await (await app.request('/')).text(), 'undefined');
  });
});
