import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VeracruzError } from '@veracruz-ts/core';
import {
  decodeRequest,
  decodeRequestPieces,
  decodeResponse,
  decodeResponsePieces,
  decodeResponseStatus,
  encodeRequest,
  encodeRequestParts,
  encodeResponse,
  encodeResponseParts,
  encodeWriteParts,
} from './codec.ts';
import { ResponseStatus, responseStatusName, type RuntimeManagerRequest, type RuntimeManagerResponse } from './messages.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replaceAll(' ', ''), 'hex'));
const ascii = (text: string): string => Buffer.from(text).toString('hex');

// Byte vectors worked out by hand from the .proto the way prost writes them: tag = field << 3 | wire
// type, defaults omitted, a oneof member always present.
const requestVectors: [string, RuntimeManagerRequest, string][] = [
  ['write_file', { kind: 'write_file', fileName: '/input/a', data: new Uint8Array([1, 2, 3]) },
    `12 0f 0a 08 ${ascii('/input/a')} 12 03 01 02 03`],
  ['append_file', { kind: 'append_file', fileName: 'stdin', data: new Uint8Array([0xff]) },
    `1a 0a 0a 05 ${ascii('stdin')} 12 01 ff`],
  ['request_result', { kind: 'request_result', fileName: '/program/x.wasm' },
    `2a 11 0a 0f ${ascii('/program/x.wasm')}`],
  ['request_shutdown', { kind: 'request_shutdown' }, '42 00'],
  ['request_policy_hash', { kind: 'request_policy_hash' }, '52 00'],
  ['read_file', { kind: 'read_file', fileName: 'stdout' }, `5a 08 0a 06 ${ascii('stdout')}`],
  ['request_pipeline', { kind: 'request_pipeline', fileName: '0' }, '62 03 0a 01 30'],
  ['read_file_range', { kind: 'read_file_range', fileName: '/o', offset: 300, length: 1 },
    `aa 01 09 0a 02 ${ascii('/o')} 10 ac 02 18 01`],
  ['request_file_size', { kind: 'request_file_size', fileName: '/o' }, `b2 01 04 0a 02 ${ascii('/o')}`],
  ['read_stream', { kind: 'read_stream', fileName: '/s', offset: 300, length: 1, waitMs: 1000 },
    `ba 01 0c 0a 02 ${ascii('/s')} 10 ac 02 18 01 20 e8 07`],
  ['read_stream from the start without waiting', { kind: 'read_stream', fileName: '/s', offset: 0, length: 0, waitMs: 0 },
    `ba 01 04 0a 02 ${ascii('/s')}`],
  ['close_stream', { kind: 'close_stream', fileName: '/s' }, `c2 01 04 0a 02 ${ascii('/s')}`],
  ['request_rights', { kind: 'request_rights' }, 'ca 01 00'],
  ['write_file of an empty file', { kind: 'write_file', fileName: '/e', data: new Uint8Array(0) },
    `12 04 0a 02 ${ascii('/e')}`],
];

const responseVectors: [string, RuntimeManagerResponse, string][] = [
  ['success without payload', { status: ResponseStatus.SUCCESS }, '08 01'],
  ['exit code 0 as u32 LE', { status: ResponseStatus.SUCCESS, body: { kind: 'result', data: new Uint8Array(4) } },
    '08 01 22 06 0a 04 00 00 00 00'],
  ['policy hash as ASCII hex', { status: ResponseStatus.SUCCESS, body: { kind: 'policy_hash', data: new TextEncoder().encode('ab') } },
    '08 01 5a 04 0a 02 61 62'],
  ['Veracruz failure', { status: ResponseStatus.FAILED_INVALID_REQUEST }, '08 07'],
  ['failure with detail', {
    status: ResponseStatus.FAILED_INVALID_ROLE,
    errorDetail: { code: 'permission_denied', message: 'x' },
  }, `08 02 a2 01 16 0a 11 ${ascii('permission_denied')} 12 01 78`],
  ['file size', { status: ResponseStatus.SUCCESS, body: { kind: 'file_size', size: 1 << 30 } },
    '08 01 aa 01 06 08 80 80 80 80 04'],
  ['stream chunk reaching the end', { status: ResponseStatus.SUCCESS, body: { kind: 'stream_chunk', data: new Uint8Array([1, 2]), end: true } },
    '08 01 b2 01 06 0a 02 01 02 10 01'],
  ['empty stream chunk, the stream open', { status: ResponseStatus.SUCCESS, body: { kind: 'stream_chunk', data: new Uint8Array(0), end: false } },
    '08 01 b2 01 00'],
  ['empty stream chunk at the end', { status: ResponseStatus.SUCCESS, body: { kind: 'stream_chunk', data: new Uint8Array(0), end: true } },
    '08 01 b2 01 02 10 01'],
];

describe('transport protocol codec', () => {
  for (const [name, request, bytes] of requestVectors) {
    it(`encodes ${name} as prost does`, () => assert.equal(hex(encodeRequest(request)), bytes.replaceAll(' ', '')));
    it(`decodes ${name} from prost's bytes`, () => assert.deepEqual(decodeRequest(fromHex(bytes)), request));
  }
  for (const [name, response, bytes] of responseVectors) {
    it(`encodes a response: ${name}`, () => assert.equal(hex(encodeResponse(response)), bytes.replaceAll(' ', '')));
    it(`decodes a response: ${name}`, () => assert.deepEqual(decodeResponse(fromHex(bytes)), response));
  }

  it('decodes the legacy PSA requests so they can be refused', () => {
    assert.deepEqual(decodeRequest(fromHex('4a 05 0a 01 07 10 2a')), {
      kind: 'psa_attestation_init', challenge: new Uint8Array([7]), deviceId: 42,
    });
    assert.deepEqual(decodeRequest(fromHex('22 03 0a 01 61')), { kind: 'request_pi_hash', fileName: 'a' });
  });

  it('decodes an empty request as no operation, and keeps a context', () => {
    assert.deepEqual(decodeRequest(new Uint8Array(0)), { kind: 'none' });
    assert.deepEqual(decodeRequest(fromHex('08 05 52 00')), { kind: 'request_policy_hash', context: 5 });
  });

  it('skips unknown fields, at the top level and inside messages', () => {
    // field 99 (varint 1) before, and field 7 (bytes) inside the Data message.
    const bytes = fromHex(`98 06 01 12 09 0a 02 ${ascii('/a')} 3a 03 01 02 03`);
    assert.deepEqual(decodeRequest(bytes), { kind: 'write_file', fileName: '/a', data: new Uint8Array(0) });
    assert.deepEqual(decodeResponse(fromHex('08 01 f8 06 05')), { status: 1 });
  });

  it('reads only the status and the error detail of a response for a sender of writes', () => {
    const refused: RuntimeManagerResponse = { status: ResponseStatus.FAILED_INVALID_ROLE, errorDetail: { code: 'permission_denied', message: 'no' } };
    assert.deepEqual(decodeResponseStatus(encodeResponse(refused)), refused);
    const withBody = encodeResponse({ status: ResponseStatus.SUCCESS, context: 3, body: { kind: 'file_size', size: 9 } });
    assert.deepEqual(decodeResponseStatus(withBody), { status: ResponseStatus.SUCCESS });
    assert.throws(() => decodeResponseStatus(fromHex('08 01 a2 01 05 0a')), /malformed response/);
  });

  it('refuses truncated bytes with invalid_request', () => {
    assert.throws(() => decodeRequest(fromHex('12 0f 0a 08 2f')), (error: unknown) =>
      error instanceof VeracruzError && error.code === 'invalid_request' && /malformed request/.test(error.message));
    assert.throws(() => decodeResponse(fromHex('22 06 0a')), /malformed response/);
  });

  it('refuses a range offset beyond 2^53', () => {
    assert.throws(() => decodeRequest(fromHex('aa 01 0b 10 ff ff ff ff ff ff ff ff ff 01')), /offset .* too large/);
  });

  it('refuses malformed stream messages with invalid_request', () => {
    const invalidRequest = (error: unknown): boolean => error instanceof VeracruzError && error.code === 'invalid_request';
    // read_stream whose wait_ms varint is cut short inside its message.
    assert.throws(() => decodeRequest(fromHex('ba 01 02 20 e8')), (error: unknown) => invalidRequest(error) && /malformed request/.test(String(error)));
    // read_stream whose length is beyond 2^53.
    assert.throws(() => decodeRequest(fromHex('ba 01 0b 18 ff ff ff ff ff ff ff ff ff 01')), /length .* too large/);
    // close_stream whose name runs past its message.
    assert.throws(() => decodeRequest(fromHex('c2 01 03 0a 05 2f')), invalidRequest);
    // stream_chunk whose data runs past its message, and one whose `end` varint is cut short.
    assert.throws(() => decodeResponse(fromHex('08 01 b2 01 03 0a 05 01')), (error: unknown) => invalidRequest(error) && /malformed response/.test(String(error)));
    assert.throws(() => decodeResponse(fromHex('08 01 b2 01 02 10 80')), invalidRequest);
  });

  it('skips stream fields of the wrong wire type, as proto3 does unknown fields', () => {
    // data as a varint, end as bytes: both skipped.
    assert.deepEqual(decodeResponse(fromHex('08 01 b2 01 05 08 07 12 01 01')), {
      status: 1, body: { kind: 'stream_chunk', data: new Uint8Array(0), end: false },
    });
    // A range read knows no field 4 (a stream read's wait_ms): skipped.
    assert.deepEqual(decodeRequest(fromHex(`aa 01 06 0a 02 ${ascii('/o')} 20 05`)), { kind: 'read_file_range', fileName: '/o', offset: 0, length: 0 });
    // wait_ms as bytes, and an unknown field 9.
    assert.deepEqual(decodeRequest(fromHex(`ba 01 09 0a 02 ${ascii('/s')} 22 01 05 48 01`)), {
      kind: 'read_stream', fileName: '/s', offset: 0, length: 0, waitMs: 0,
    });
  });

  it('round-trips large payloads without losing bytes', () => {
    const data = new Uint8Array(1 << 20).map((_, index) => index * 7);
    const decoded = decodeRequest(encodeRequest({ kind: 'append_file', fileName: '/input/big', data }));
    assert.equal(decoded.kind, 'append_file');
    assert.deepEqual(decoded.kind === 'append_file' && decoded.data, data);
  });

  it('encodes in parts that concatenate to the same bytes, the payload uncopied', () => {
    for (const size of [1, 127, 128, 300, 16384, 1 << 20]) {
      const data = new Uint8Array(size).fill(9);
      for (const request of [
        { kind: 'write_file', fileName: '/input/x', data, context: 3 },
        { kind: 'append_file', fileName: '', data },
      ] as const) {
        const parts = encodeRequestParts(request);
        assert.equal(parts.at(-1), data);
        assert.deepEqual(Buffer.concat(parts), Buffer.from(encodeRequest(request)));
      }
      const response = { status: ResponseStatus.SUCCESS, body: { kind: 'result', data } } as const;
      const parts = encodeResponseParts(response);
      assert.equal(parts.at(-1), data);
      assert.deepEqual(Buffer.concat(parts), Buffer.from(encodeResponse(response)));
    }
    assert.equal(encodeRequestParts({ kind: 'request_shutdown' }).length, 1);
  });

  it('encodes a write or an append on its own as encodeRequest does, empty fields omitted', () => {
    for (const kind of ['write_file', 'append_file'] as const) {
      for (const fileName of ['', '/output/ü']) {
        for (const data of [new Uint8Array(0), new Uint8Array(200).fill(1)]) {
          for (const context of [0, 300]) {
            const request = { kind, fileName, data, ...(context === 0 ? {} : { context }) };
            const parts = encodeWriteParts(request);
            assert.equal(parts.length, data.length === 0 ? 1 : 2);
            assert.deepEqual(Buffer.concat(parts), Buffer.from(encodeRequest(request)), `${kind} ${JSON.stringify(fileName)} ${data.length} ${context}`);
          }
        }
      }
    }
    assert.equal(encodeResponseParts({ status: 7, errorDetail: { code: 'internal', message: 'm' } }).length, 1);
  });

  it('names statuses', () => {
    assert.equal(responseStatusName(7), 'FAILED_INVALID_REQUEST');
    assert.equal(responseStatusName(99), 'STATUS_99');
  });
});

describe('requests that arrived in pieces', () => {
  /** `bytes` cut into pieces of `size` (as TLS records cut a stream). */
  const cut = (bytes: Uint8Array, size: number): Uint8Array[] => {
    const pieces: Uint8Array[] = [];
    for (let offset = 0; offset < bytes.length; offset += size) pieces.push(bytes.subarray(offset, offset + size));
    return pieces;
  };
  const joined = (pieces: readonly Uint8Array[]): string => hex(Buffer.concat(pieces));

  it('leaves a write\'s payload in its pieces, uncopied, with the name and context decoded', () => {
    const data = Uint8Array.from({ length: 50_000 }, (_, index) => index % 251);
    for (const kind of ['write_file', 'append_file'] as const) {
      for (const context of [0, 7]) {
        const encoded = Buffer.concat(encodeRequestParts({ kind, fileName: '/input/ü-a', data, ...(context === 0 ? {} : { context }) }));
        for (const size of [3, 16_384, 40_000]) {
          const pieces = cut(encoded, size);
          const decoded = decodeRequestPieces(pieces);
          assert.ok('pieces' in decoded, `${kind}, context ${context}, pieces of ${size}`);
          assert.equal(decoded.kind, kind);
          assert.equal(decoded.fileName, '/input/ü-a');
          assert.equal(decoded.context, context === 0 ? undefined : context);
          assert.equal(joined(decoded.pieces), hex(data));
          // Views of the pieces given, not copies.
          assert.ok(decoded.pieces.every((piece) => pieces.some((given) => given.buffer === piece.buffer)));
        }
      }
    }
  });

  it('decodes anything else as decodeRequest does the joined bytes, and every request to what decodeRequest finds', () => {
    const unusual = [
      // Payload before the name, and an unknown field after the operation: valid, but not the usual layout.
      fromHex(`1a 0a 12 01 ff 0a 05 ${ascii('stdin')} 20 01`),
      fromHex(`12 0f 0a 08 ${ascii('/input/a')} 12 03 01 02 03 ba 01 00`),
    ];
    for (const bytes of unusual) {
      for (const size of [1, 2, 5]) assert.deepEqual(decodeRequestPieces(cut(bytes, size)), decodeRequest(bytes), hex(bytes));
    }
    for (const bytes of [...unusual, ...requestVectors.map(([, request]) => encodeRequest(request))]) {
      for (const size of [1, 2, 5, 1000]) {
        const decoded = decodeRequestPieces(cut(bytes, size));
        const { pieces, ...rest } = 'pieces' in decoded ? decoded : { ...decoded, pieces: undefined };
        const same = pieces === undefined ? rest : { ...rest, data: Uint8Array.from(Buffer.concat(pieces)) };
        assert.deepEqual(same, decodeRequest(bytes), hex(bytes));
      }
    }
    // Malformed bytes fail as they do whole.
    assert.throws(() => decodeRequestPieces(cut(fromHex('12 ff ff ff ff 0f 00'), 2)), (error: unknown) => error instanceof VeracruzError && error.code === 'invalid_request');
  });

  it('leaves a result\'s payload in its pieces; decodes any other response as decodeResponse does', () => {
    const data = Uint8Array.from({ length: 70_000 }, (_, index) => (index * 7) % 256);
    for (const response of [
      { status: ResponseStatus.SUCCESS, body: { kind: 'result' as const, data } },
      { status: ResponseStatus.SUCCESS, context: 9, body: { kind: 'result' as const, data } },
    ]) {
      const encoded = Buffer.concat(encodeResponseParts(response));
      for (const size of [2, 16_384]) {
        const decoded = decodeResponsePieces(cut(encoded, size));
        assert.ok('resultPieces' in decoded);
        assert.equal(decoded.status, ResponseStatus.SUCCESS);
        assert.equal(decoded.context, response.context);
        assert.equal(joined(decoded.resultPieces), hex(data));
      }
    }
    const others: RuntimeManagerResponse[] = [
      { status: ResponseStatus.FAILED_INVALID_ROLE, errorDetail: { code: 'permission_denied', message: 'no' } },
      { status: ResponseStatus.SUCCESS, body: { kind: 'file_size', size: 5 } },
      { status: ResponseStatus.SUCCESS, body: { kind: 'policy_hash', data: new Uint8Array(64).fill(0x61) } },
    ];
    for (const response of others) {
      const encoded = encodeResponse(response);
      assert.deepEqual(decodeResponsePieces(cut(encoded, 3)), decodeResponse(encoded));
    }
  });
});
