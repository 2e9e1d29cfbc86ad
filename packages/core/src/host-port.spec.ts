import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError } from './errors.ts';
import { formatHostPort, parseHostPort } from './host-port.ts';

describe('parseHostPort', () => {
  it('reads host:port and [v6]:port', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:3011'), { host: '127.0.0.1', port: 3011 });
    assert.deepEqual(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseHostPort('localhost:65535'), { host: 'localhost', port: 65535 });
    assert.deepEqual(parseHostPort('vc-server.example_1.org:3011'), { host: 'vc-server.example_1.org', port: 3011 });
  });

  it('refuses anything else with InvalidRequest, naming the input', () => {
    for (const bad of ['localhost', ':80', 'host:', 'host:70000', 'http://host:80', '::1:80', 'host:80x', 'a b:1', ' host:80', 'host:80\n', '[ ]:80', '[]:80', '-host:80', 'host.:80', '[::1:80']) {
      assert.throws(
        () => parseHostPort(bad, 'listen address'),
        (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidRequest && error.rawMessage.startsWith(`listen address ${JSON.stringify(bad)} is not host:port`),
        bad,
      );
    }
  });
});

describe('formatHostPort', () => {
  it('writes what parseHostPort reads, an IPv6 host in brackets', () => {
    assert.equal(formatHostPort('127.0.0.1', 3011), '127.0.0.1:3011');
    assert.equal(formatHostPort('::1', 0), '[::1]:0');
    for (const [host, port] of [['example.org', 80], ['::1', 3011], ['fe80::1:2', 65535]] as const) {
      assert.deepEqual(parseHostPort(formatHostPort(host, port)), { host, port });
    }
  });
});
