import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_SESSION_SOCKET_REASON, parsePeerConnectMessage, parsePeerSocketMessage } from './session-sockets.ts';

/** Values that are no message at all. */
const NOT_OBJECTS: unknown[] = [undefined, null, 0, 7, '', 'peer-connect', 'peer-socket', true, Symbol('peer'), [], () => {}];

/** Connection ids a message may not carry: not a u32. */
const BAD_IDS: unknown[] = [-1, 1.5, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY, '1', 1n, null, undefined, {}, [1]];

describe('parsePeerConnectMessage', () => {
  it('takes a request for a connection, keeping only its fields', () => {
    assert.deepEqual(parsePeerConnectMessage({ type: 'peer-connect', connectionId: 1, address: '127.0.0.1:7010' }), { type: 'peer-connect', connectionId: 1, address: '127.0.0.1:7010' });
    assert.deepEqual(
      parsePeerConnectMessage({ type: 'peer-connect', connectionId: 0xffffffff, address: 'peer.example:443', socket: 'no', error: 'x' }),
      { type: 'peer-connect', connectionId: 0xffffffff, address: 'peer.example:443' },
    );
    assert.deepEqual(parsePeerConnectMessage({ type: 'peer-connect', connectionId: 0, address: '' }), { type: 'peer-connect', connectionId: 0, address: '' }, 'the address is the host\'s to check against the policy');
  });

  it('does not parse what is not an object', () => {
    for (const value of NOT_OBJECTS) assert.equal(parsePeerConnectMessage(value), undefined, String(value));
  });

  it('does not parse another message type, or none', () => {
    for (const type of ['peer-socket', 'session-socket', 'PEER-CONNECT', undefined, 1]) {
      assert.equal(parsePeerConnectMessage({ type, connectionId: 1, address: '127.0.0.1:7010' }), undefined, String(type));
    }
  });

  it('does not parse a connection id that is not a u32, or none', () => {
    for (const connectionId of BAD_IDS) {
      assert.equal(parsePeerConnectMessage({ type: 'peer-connect', connectionId, address: '127.0.0.1:7010' }), undefined, String(connectionId));
    }
    assert.equal(parsePeerConnectMessage({ type: 'peer-connect', address: '127.0.0.1:7010' }), undefined);
  });

  it('does not parse an address that is not a string, or none', () => {
    for (const address of [7010, null, undefined, ['127.0.0.1', 7010], { host: '127.0.0.1', port: 7010 }]) {
      assert.equal(parsePeerConnectMessage({ type: 'peer-connect', connectionId: 1, address }), undefined, String(address));
    }
    assert.equal(parsePeerConnectMessage({ type: 'peer-connect', connectionId: 1 }), undefined);
  });
});

describe('parsePeerSocketMessage', () => {
  it('takes an answer with a socket, keeping only its fields', () => {
    assert.deepEqual(parsePeerSocketMessage({ type: 'peer-socket', connectionId: 4 }), { type: 'peer-socket', connectionId: 4 });
    assert.deepEqual(parsePeerSocketMessage({ type: 'peer-socket', connectionId: 0xffffffff, address: '127.0.0.1:7010' }), { type: 'peer-socket', connectionId: 0xffffffff });
  });

  it('takes an answer with the reason there is no socket', () => {
    assert.deepEqual(parsePeerSocketMessage({ type: 'peer-socket', connectionId: 4, error: 'failed: ECONNREFUSED' }), { type: 'peer-socket', connectionId: 4, error: 'failed: ECONNREFUSED' });
    assert.deepEqual(parsePeerSocketMessage({ type: 'peer-socket', connectionId: 4, error: '' }), { type: 'peer-socket', connectionId: 4, error: '' });
  });

  it('cuts a long reason to the longest a report may carry', () => {
    const parsed = parsePeerSocketMessage({ type: 'peer-socket', connectionId: 4, error: 'x'.repeat(10_000) });
    assert.equal(parsed?.error, 'x'.repeat(MAX_SESSION_SOCKET_REASON));
  });

  it('does not parse what is not an object', () => {
    for (const value of NOT_OBJECTS) assert.equal(parsePeerSocketMessage(value), undefined, String(value));
  });

  it('does not parse another message type, or none', () => {
    for (const type of ['peer-connect', 'session-socket-closed', undefined, 0]) {
      assert.equal(parsePeerSocketMessage({ type, connectionId: 1 }), undefined, String(type));
    }
  });

  it('does not parse a connection id that is not a u32, or none', () => {
    for (const connectionId of BAD_IDS) assert.equal(parsePeerSocketMessage({ type: 'peer-socket', connectionId, error: 'refused' }), undefined, String(connectionId));
    assert.equal(parsePeerSocketMessage({ type: 'peer-socket', error: 'refused' }), undefined);
  });
});
