import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VeracruzError } from '@veracruz-ts/core';
import { encodeFrameHeader, FrameDecoder, frameMessage, joinPieces } from './framing.ts';

describe('length framing', () => {
  it('prefixes an 8-byte big-endian length', () => {
    assert.deepEqual([...frameMessage(new Uint8Array([9, 8]))], [0, 0, 0, 0, 0, 0, 0, 2, 9, 8]);
    assert.deepEqual([...encodeFrameHeader(0x0102030405)], [0, 0, 0, 1, 2, 3, 4, 5]);
  });

  it('reassembles messages cut at every possible point', () => {
    const messages = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([4])];
    const stream = Buffer.concat(messages.map(frameMessage));
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder();
      const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      assert.deepEqual(out.map((message) => [...message]), messages.map((message) => [...message]), `cut at ${cut}`);
      assert.equal(decoder.bufferedBytes, 0);
    }
  });

  it('delivers byte by byte', () => {
    const decoder = new FrameDecoder();
    const out: number[][] = [];
    for (const byte of frameMessage(new Uint8Array([5, 6, 7]))) out.push(...decoder.push(new Uint8Array([byte])).map((m) => [...m]));
    assert.deepEqual(out, [[5, 6, 7]]);
  });

  it('refuses a message over the maximum as soon as its header arrives', () => {
    const decoder = new FrameDecoder({ maxMessageBytes: 10 });
    assert.deepEqual(decoder.push(frameMessage(new Uint8Array(10))).length, 1);
    assert.throws(() => decoder.push(encodeFrameHeader(11)), (error: unknown) =>
      error instanceof VeracruzError && error.code === 'limit_exceeded' &&
      error.message.includes('message of 11 bytes exceeds the maximum of 10 bytes'));
  });

  it('refuses a length that does not fit in 53 bits', () => {
    assert.throws(() => new FrameDecoder().push(new Uint8Array(8).fill(0xff)), /exceeds the maximum/);
  });

  it('gives each message as the pieces it arrived in, without copying, and joins them on request', () => {
    const messages = [new Uint8Array([1, 2, 3, 4, 5]), new Uint8Array(0), new Uint8Array([6])];
    const stream = Buffer.concat(messages.map(frameMessage));
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder();
      const first = stream.subarray(0, cut);
      const second = stream.subarray(cut);
      const out = [...decoder.pushPieces(first), ...decoder.pushPieces(second)];
      assert.deepEqual(out.map((pieces) => [...joinPieces(pieces)]), messages.map((message) => [...message]), `cut at ${cut}`);
      assert.ok(out.flat().every((piece) => piece.buffer === stream.buffer), 'views of the chunks fed');
      assert.deepEqual(out[1], [], 'an empty message has no pieces');
    }
  });
});
