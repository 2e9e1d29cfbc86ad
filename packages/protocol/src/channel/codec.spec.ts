import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, FrameDecoder, decodeBody, decodeFrame, decodeHostMessage, decodeIsolateMessage, encodeMessage, encodeTlsDataHeader } from './codec.ts';
import { EvidenceSource, MessageType } from './messages.ts';
import type { ChannelMessage } from './messages.ts';

const samples: ChannelMessage[] = [
  { type: 'new-session', sessionId: 1 },
  { type: 'new-session', sessionId: 0xffffffff },
  { type: 'tls-data', sessionId: 7, data: Uint8Array.of(0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5) },
  { type: 'tls-data', sessionId: 8, data: new Uint8Array(0) },
  { type: 'close', sessionId: 7, reason: 'client closed' },
  { type: 'ack', sessionId: 7, bytes: 65536 },
  { type: 'attestation-request', nonce: new Uint8Array(32).fill(9) },
  { type: 'attestation-request', nonce: new Uint8Array(32).fill(9), policyBinding: new Uint8Array(64).fill(7) },
  { type: 'attestation-response', csr: Uint8Array.of(0x30, 0x82, 1, 2), source: EvidenceSource.Launcher, evidence: new Uint8Array(0) },
  { type: 'attestation-response', csr: Uint8Array.of(0x30, 1, 0), source: EvidenceSource.Isolate, evidence: new Uint8Array(1184).fill(1) },
  { type: 'initialize', policy: new TextEncoder().encode('{"ü":1}'), certificateChain: [Uint8Array.of(1, 2), Uint8Array.of(3)] },
  { type: 'initialize', policy: new Uint8Array(0), certificateChain: [] },
  { type: 'status', code: 'ok', message: '' },
  { type: 'status', code: Code.AttestationFailed, message: 'leaf key is not ours' },
  { type: 'shutdown', reason: 'principal asked' },
  { type: 'isolate-error', code: Code.Internal, message: 'boom — ünïcode' },
];

function expectError(fn: () => unknown, code: Code, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof VeracruzError, `not a VeracruzError: ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

function frameOf(type: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame[4] = type;
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

describe('channel codec', () => {
  it('decodes at each end only what that end receives: a host message is refused by the host, an isolate message by the isolate', () => {
    const status = encodeMessage({ type: 'status', code: 'ok', message: '' }).subarray(FRAME_HEADER_BYTES);
    const initialize = encodeMessage({ type: 'initialize', policy: Uint8Array.of(1), certificateChain: [] }).subarray(FRAME_HEADER_BYTES);
    const close = encodeMessage({ type: 'close', sessionId: 7, reason: 'done' }).subarray(FRAME_HEADER_BYTES);
    assert.deepEqual(decodeIsolateMessage(MessageType.Status, status), { type: 'status', code: 'ok', message: '' });
    expectError(() => decodeHostMessage(MessageType.Status, status), Code.InvalidRequest, /unknown message type/);
    assert.deepEqual(decodeHostMessage(MessageType.Initialize, initialize), { type: 'initialize', policy: Uint8Array.of(1), certificateChain: [] });
    expectError(() => decodeIsolateMessage(MessageType.Initialize, initialize), Code.InvalidRequest, /unknown message type/);
    for (const decode of [decodeHostMessage, decodeIsolateMessage]) assert.deepEqual(decode(MessageType.Close, close), { type: 'close', sessionId: 7, reason: 'done' });
  });

  it('round-trips every message kind', () => {
    for (const message of samples) assert.deepEqual(decodeFrame(encodeMessage(message)), message);
  });

  it('puts a big-endian body length and the type tag in the header', () => {
    const frame = encodeMessage({ type: 'ack', sessionId: 1, bytes: 2 });
    assert.deepEqual([...frame], [0, 0, 0, 8, MessageType.Ack, 0, 0, 0, 1, 0, 0, 0, 2]);
  });

  it('writes tls-data as a header then the payload, the same bytes as the whole frame', () => {
    const data = Uint8Array.from({ length: 300 }, (_, index) => index & 0xff);
    const split = Buffer.concat([encodeTlsDataHeader(77, data.length), data]);
    assert.deepEqual(new Uint8Array(split), encodeMessage({ type: 'tls-data', sessionId: 77, data }));
  });

  it('decodes a stream split at every possible byte boundary', () => {
    const stream = Buffer.concat(samples.map(encodeMessage));
    for (let cut = 0; cut <= stream.length; cut += 3) {
      const decoder = new FrameDecoder({ decode: decodeBody });
      const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      assert.deepEqual(out, samples);
      assert.equal(decoder.bufferedBytes, 0);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const stream = Buffer.concat(samples.map(encodeMessage));
    const decoder = new FrameDecoder({ decode: decodeBody });
    const out: ChannelMessage[] = [];
    for (let index = 0; index < stream.length; index++) out.push(...decoder.push(stream.subarray(index, index + 1)));
    assert.deepEqual(out, samples);
  });

  it('refuses an oversized frame from its header, before buffering the body', () => {
    const decoder = new FrameDecoder({ decode: decodeBody, maxFrameBytes: 1024 });
    const header = frameOf(MessageType.TlsData, new Uint8Array(0));
    new DataView(header.buffer).setUint32(0, 1025);
    expectError(() => decoder.push(header), Code.LimitExceeded, /1025 bytes exceeds the limit of 1024/);
    assert.equal(DEFAULT_MAX_FRAME_BYTES, 8 * 1024 * 1024);
  });

  it('stays failed after an error: the stream is out of sync', () => {
    const decoder = new FrameDecoder({ decode: decodeBody, maxFrameBytes: 16 });
    assert.throws(() => decoder.push(frameOf(MessageType.TlsData, new Uint8Array(17))));
    expectError(() => decoder.push(encodeMessage({ type: 'new-session', sessionId: 1 })), Code.LimitExceeded, /exceeds/);
  });

  it('refuses an unknown message type', () => {
    expectError(() => new FrameDecoder({ decode: decodeBody }).push(frameOf(0, new Uint8Array(0))), Code.InvalidRequest, /unknown message type 0/);
    expectError(() => new FrameDecoder({ decode: decodeBody }).push(frameOf(200, Uint8Array.of(1))), Code.InvalidRequest, /unknown message type 200/);
  });

  it('refuses truncated bodies, trailing bytes and lengths past the body', () => {
    expectError(() => decodeFrame(frameOf(MessageType.NewSession, Uint8Array.of(0, 0, 1))), Code.InvalidRequest, /truncated/);
    expectError(() => decodeFrame(frameOf(MessageType.NewSession, Uint8Array.of(0, 0, 0, 1, 9))), Code.InvalidRequest, /1 trailing bytes/);
    expectError(() => decodeFrame(frameOf(MessageType.AttestationRequest, Uint8Array.of(0, 0, 0, 9, 1))), Code.InvalidRequest, /truncated/);
    expectError(() => decodeFrame(frameOf(MessageType.Initialize, Uint8Array.of(0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff))), Code.InvalidRequest, /truncated/);
  });

  it('refuses unknown status codes, unknown evidence sources and invalid UTF-8', () => {
    const status = encodeMessage({ type: 'status', code: 'ok', message: '' });
    status.set(new TextEncoder().encode('no'), FRAME_HEADER_BYTES + 4);
    expectError(() => decodeFrame(status), Code.InvalidRequest, /unknown status code 'no'/);
    const response = encodeMessage({ type: 'attestation-response', csr: new Uint8Array(0), source: EvidenceSource.Isolate, evidence: new Uint8Array(0) });
    response[FRAME_HEADER_BYTES + 4] = 7;
    expectError(() => decodeFrame(response), Code.InvalidRequest, /unknown evidence source 7/);
    expectError(() => decodeFrame(frameOf(MessageType.Shutdown, Uint8Array.of(0, 0, 0, 1, 0xff))), Code.InvalidRequest, /not valid UTF-8/);
  });

  it('refuses to encode a session id that is not a u32', () => {
    expectError(() => encodeMessage({ type: 'new-session', sessionId: -1 }), Code.Internal, /not an unsigned 32-bit integer/);
    expectError(() => encodeMessage({ type: 'ack', sessionId: 1, bytes: 2 ** 32 }), Code.Internal, /not an unsigned 32-bit integer/);
  });

  it('decodeFrame refuses two frames or a partial frame', () => {
    const one = encodeMessage({ type: 'new-session', sessionId: 1 });
    expectError(() => decodeFrame(Buffer.concat([one, one])), Code.InvalidRequest, /exactly one complete frame, got 2/);
    expectError(() => decodeFrame(one.subarray(0, 6)), Code.InvalidRequest, /got 0 and 6 spare bytes/);
  });
});

describe('FrameDecoder with streamTlsData', () => {
  it('returns tls-data payloads as they arrive, the same bytes and the other messages unchanged', () => {
    const stream = Buffer.concat(samples.map(encodeMessage));
    for (let cut = 0; cut <= stream.length; cut += 3) {
      const decoder = new FrameDecoder({ decode: decodeBody, streamTlsData: true });
      const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      // Merging consecutive pieces of one session gives back the messages sent.
      const merged: ChannelMessage[] = [];
      for (const message of out) {
        const last = merged.at(-1);
        if (message.type === 'tls-data' && last?.type === 'tls-data' && last.sessionId === message.sessionId && message.data.length > 0 && last.data.length > 0) {
          merged[merged.length - 1] = { ...last, data: new Uint8Array(Buffer.concat([last.data, message.data])) };
        } else {
          merged.push(message.type === 'tls-data' ? { ...message, data: new Uint8Array(message.data) } : message);
        }
      }
      assert.deepEqual(merged, samples);
      assert.equal(decoder.bufferedBytes, 0);
    }
  });

  it('does not copy a payload that straddles two reads', () => {
    const payload = Uint8Array.from({ length: 1000 }, (_, index) => index & 0xff);
    const frame = encodeMessage({ type: 'tls-data', sessionId: 5, data: payload });
    const first = frame.slice(0, 400);
    const decoder = new FrameDecoder({ decode: decodeBody, streamTlsData: true });
    const out = [...decoder.push(first), ...decoder.push(frame.slice(400))];
    assert.deepEqual(out.map((message) => message.type === 'tls-data' && message.data.length), [391, 609]);
    const piece = out[0]!;
    assert.ok(piece.type === 'tls-data' && piece.data.buffer === first.buffer, 'the first piece is a view of the first read');
  });

  it('still refuses an oversized tls-data frame from its header', () => {
    const decoder = new FrameDecoder({ decode: decodeBody, maxFrameBytes: 16, streamTlsData: true });
    expectError(() => decoder.push(frameOf(MessageType.TlsData, new Uint8Array(17))), Code.LimitExceeded, /exceeds the limit of 16/);
  });
});
