import { Code, VeracruzError } from '@veracruz-ts/core';
import { joinPieces } from './framing.ts';
import type {
  ErrorDetail,
  RequestMessage,
  ResponseBody,
  RuntimeManagerRequest,
  RuntimeManagerResponse,
} from './messages.ts';
import { WireReader, WireType, WireWriter } from './wire.ts';

// Field numbers of transport_protocol.proto. Old numbers are Veracruz's; 20+ are ours.
const RequestField = {
  context: 1,
  write_file: 2,
  append_file: 3,
  request_pi_hash: 4,
  request_result: 5,
  request_proxy_psa_attestation_token: 6,
  request_shutdown: 8,
  psa_attestation_init: 9,
  request_policy_hash: 10,
  read_file: 11,
  request_pipeline: 12,
  read_file_range: 21,
  request_file_size: 22,
  read_stream: 23,
  close_stream: 24,
  request_rights: 25,
} as const;

const ResponseField = {
  status: 1,
  result: 4,
  pi_hash: 5,
  error: 6,
  context: 8,
  state: 10,
  policy_hash: 11,
  cert: 12,
  error_detail: 20,
  file_size: 21,
  stream_chunk: 22,
} as const;

// Proto3 as prost writes it: scalar fields at their default value are omitted, a oneof member is
// always written (possibly as an empty message).
function stringField(writer: WireWriter, field: number, value: string): void {
  if (value !== '') writer.tag(field, WireType.LengthDelimited).string(value);
}
function bytesField(writer: WireWriter, field: number, value: Uint8Array): void {
  if (value.length > 0) writer.tag(field, WireType.LengthDelimited).bytes(value);
}
function uintField(writer: WireWriter, field: number, value: number): void {
  if (value !== 0) writer.tag(field, WireType.Varint).uint64(value);
}
function messageField(writer: WireWriter, field: number, body: (inner: WireWriter) => void): void {
  writer.tag(field, WireType.LengthDelimited).fork();
  body(writer);
  writer.join();
}

/** Encodes a request exactly as Veracruz (prost) does. */
export function encodeRequest(request: RuntimeManagerRequest): Uint8Array {
  const writer = new WireWriter();
  uintField(writer, RequestField.context, request.context ?? 0);
  switch (request.kind) {
    case 'write_file':
    case 'append_file':
      messageField(writer, RequestField[request.kind], (inner) => {
        stringField(inner, 1, request.fileName);
        bytesField(inner, 2, request.data);
      });
      break;
    case 'request_pi_hash':
    case 'request_result':
    case 'read_file':
    case 'request_pipeline':
    case 'request_file_size':
    case 'close_stream':
      messageField(writer, RequestField[request.kind], (inner) => stringField(inner, 1, request.fileName));
      break;
    case 'request_proxy_psa_attestation_token':
      messageField(writer, RequestField[request.kind], (inner) => bytesField(inner, 1, request.challenge));
      break;
    case 'psa_attestation_init':
      messageField(writer, RequestField[request.kind], (inner) => {
        bytesField(inner, 1, request.challenge);
        if (request.deviceId !== 0) inner.tag(2, WireType.Varint).int32(request.deviceId);
      });
      break;
    case 'request_shutdown':
    case 'request_policy_hash':
    case 'request_rights':
      messageField(writer, RequestField[request.kind], () => {});
      break;
    case 'read_file_range':
      messageField(writer, RequestField[request.kind], (inner) => {
        stringField(inner, 1, request.fileName);
        uintField(inner, 2, request.offset);
        uintField(inner, 3, request.length);
      });
      break;
    case 'read_stream':
      messageField(writer, RequestField[request.kind], (inner) => {
        stringField(inner, 1, request.fileName);
        uintField(inner, 2, request.offset);
        uintField(inner, 3, request.length);
        if (request.waitMs !== 0) inner.tag(4, WireType.Varint).uint32(request.waitMs);
      });
      break;
    case 'none':
      break;
  }
  return writer.finish();
}

/**
 * {@link encodeRequest} as parts whose concatenation is the encoding, so that the payload of a
 * `write_file`/`append_file` is not copied: it is the last part, as given. It must not change
 * until it has been written out.
 */
export function encodeRequestParts(request: RuntimeManagerRequest): Uint8Array[] {
  return request.kind === 'write_file' || request.kind === 'append_file' ? encodeWriteParts(request) : [encodeRequest(request)];
}

/**
 * A `write_file` or `append_file` request as {@link encodeRequestParts} encodes it: what the isolate
 * needs to push its outputs, without the rest of the request encoder.
 */
export function encodeWriteParts(request: Extract<RuntimeManagerRequest, { kind: 'write_file' | 'append_file' }>): Uint8Array[] {
  const { data } = request;
  const fileName = new TextEncoder().encode(request.fileName);
  const nameBytes = fileName.length === 0 ? 0 : 1 + varintLength(fileName.length) + fileName.length;
  // Empty fields are omitted, as in encodeRequest.
  const dataBytes = data.length === 0 ? 0 : 1 + varintLength(data.length) + data.length;
  const writer = new WireWriter();
  uintField(writer, RequestField.context, request.context ?? 0);
  writer.tag(RequestField[request.kind], WireType.LengthDelimited).uint32(nameBytes + dataBytes);
  if (fileName.length > 0) writer.tag(1, WireType.LengthDelimited).bytes(fileName);
  if (data.length === 0) return [writer.finish()];
  writer.tag(2, WireType.LengthDelimited).uint32(data.length);
  return [writer.finish(), data];
}

/**
 * {@link encodeResponse} as parts whose concatenation is the encoding; a successful `result`
 * payload is the last part, not copied.
 */
export function encodeResponseParts(response: RuntimeManagerResponse): Uint8Array[] {
  const body = response.body;
  if (body?.kind !== 'result' || body.data.length === 0 || response.errorDetail !== undefined) return [encodeResponse(response)];
  const writer = responseWriter(response);
  writer.tag(ResponseField.result, WireType.LengthDelimited).uint32(1 + varintLength(body.data.length) + body.data.length);
  writer.tag(1, WireType.LengthDelimited).uint32(body.data.length);
  return [writer.finish(), body.data];
}

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** A writer holding a response's status and context, the fields before its body. */
function responseWriter(response: RuntimeManagerResponse): WireWriter {
  const writer = new WireWriter();
  if (response.status !== 0) writer.tag(ResponseField.status, WireType.Varint).int32(response.status);
  uintField(writer, ResponseField.context, response.context ?? 0);
  return writer;
}

/** Encodes a response exactly as Veracruz (prost) does, plus the error detail when present. */
export function encodeResponse(response: RuntimeManagerResponse): Uint8Array {
  const writer = responseWriter(response);
  const body = response.body;
  if (body !== undefined) {
    switch (body.kind) {
      case 'result':
      case 'pi_hash':
      case 'policy_hash':
      case 'cert':
        messageField(writer, ResponseField[body.kind], (inner) => bytesField(inner, 1, body.data));
        break;
      case 'error':
        messageField(writer, ResponseField.error, (inner) => bytesField(inner, 1, body.error));
        break;
      case 'state':
        messageField(writer, ResponseField.state, (inner) => bytesField(inner, 1, body.state));
        break;
      case 'file_size':
        messageField(writer, ResponseField.file_size, (inner) => uintField(inner, 1, body.size));
        break;
      case 'stream_chunk':
        messageField(writer, ResponseField.stream_chunk, (inner) => {
          bytesField(inner, 1, body.data);
          if (body.end) inner.tag(2, WireType.Varint).bool(true);
        });
        break;
    }
  }
  if (response.errorDetail !== undefined) {
    const detail = response.errorDetail;
    messageField(writer, ResponseField.error_detail, (inner) => {
      stringField(inner, 1, detail.code);
      stringField(inner, 2, detail.message);
    });
  }
  return writer.finish();
}

/** Reads the fields of one embedded message, calling `onField` for each and skipping unknown ones. */
function readMessage(
  bytes: Uint8Array,
  onField: (reader: WireReader, field: number, wireType: WireType) => boolean,
): void {
  const reader = new WireReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (!onField(reader, field, wireType)) reader.skip(wireType, field);
  }
}

// One embedded message holding a single string, bytes or uint64 field 1 (most of the protocol).
function readString(bytes: Uint8Array): string {
  let value = '';
  readMessage(bytes, (reader, field, wireType) => {
    if (field !== 1 || wireType !== WireType.LengthDelimited) return false;
    value = reader.string();
    return true;
  });
  return value;
}
function readBytes(bytes: Uint8Array): Uint8Array {
  let value: Uint8Array = new Uint8Array(0);
  readMessage(bytes, (reader, field, wireType) => {
    if (field !== 1 || wireType !== WireType.LengthDelimited) return false;
    value = reader.bytes();
    return true;
  });
  return value;
}

function readData(bytes: Uint8Array): { fileName: string; data: Uint8Array } {
  let fileName = '';
  let data: Uint8Array = new Uint8Array(0);
  readMessage(bytes, (reader, field, wireType) => {
    if (wireType !== WireType.LengthDelimited) return false;
    if (field === 1) fileName = reader.string();
    else if (field === 2) data = reader.bytes();
    else return false;
    return true;
  });
  return { fileName, data };
}

// The operation or body each field number carries: the inverse of RequestField and ResponseField.
const requestKinds = new Map(Object.entries(RequestField).map(([kind, field]) => [field as number, kind as keyof typeof RequestField]));

function decodeRequestMessage(field: number, bytes: Uint8Array): RequestMessage | undefined {
  const kind = requestKinds.get(field);
  switch (kind) {
    case 'write_file':
    case 'append_file':
      return { kind, ...readData(bytes) };
    case 'request_pi_hash':
    case 'request_result':
    case 'read_file':
    case 'request_pipeline':
    case 'request_file_size':
    case 'close_stream':
      return { kind, fileName: readString(bytes) };
    case 'request_proxy_psa_attestation_token':
      return { kind, challenge: readBytes(bytes) };
    case 'request_shutdown':
    case 'request_policy_hash':
    case 'request_rights':
      return { kind };
    case 'psa_attestation_init': {
      let challenge: Uint8Array = new Uint8Array(0);
      let deviceId = 0;
      readMessage(bytes, (reader, inner, wireType) => {
        if (inner === 1 && wireType === WireType.LengthDelimited) challenge = reader.bytes();
        else if (inner === 2 && wireType === WireType.Varint) deviceId = reader.int32();
        else return false;
        return true;
      });
      return { kind, challenge, deviceId };
    }
    case 'read_file_range':
    case 'read_stream': {
      let fileName = '';
      let offset = 0;
      let length = 0;
      let waitMs = 0;
      readMessage(bytes, (reader, inner, wireType) => {
        if (inner === 1 && wireType === WireType.LengthDelimited) fileName = reader.string();
        else if (inner === 2 && wireType === WireType.Varint) offset = reader.uint64('offset');
        else if (inner === 3 && wireType === WireType.Varint) length = reader.uint64('length');
        else if (inner === 4 && wireType === WireType.Varint && kind === 'read_stream') waitMs = reader.uint32();
        else return false;
        return true;
      });
      return kind === 'read_stream' ? { kind, fileName, offset, length, waitMs } : { kind, fileName, offset, length };
    }
    default:
      return undefined;
  }
}

/** Wraps the wire reader's errors (truncation, bad tags, numbers too large) as InvalidRequest. */
function malformed(what: string, reason: unknown): VeracruzError {
  if (reason instanceof VeracruzError) return reason;
  const detail = reason instanceof Error ? reason.message : String(reason);
  return new VeracruzError(Code.InvalidRequest, `malformed ${what}: ${detail}`, { cause: reason });
}

/**
 * Decodes a request. Unknown fields are skipped (proto3); an unknown or absent operation decodes
 * as `{ kind: 'none' }`. Malformed bytes throw VeracruzError(InvalidRequest).
 */
export function decodeRequest(bytes: Uint8Array): RuntimeManagerRequest {
  try {
    let context = 0;
    let message: RequestMessage = { kind: 'none' };
    readMessage(bytes, (reader, field, wireType) => {
      if (field === RequestField.context && wireType === WireType.Varint) {
        context = reader.uint32();
        return true;
      }
      if (wireType !== WireType.LengthDelimited) return false;
      const start = reader.pos;
      const inner = reader.bytes();
      const decoded = decodeRequestMessage(field, inner);
      if (decoded === undefined) {
        reader.pos = start;
        return false;
      }
      message = decoded;
      return true;
    });
    return context === 0 ? message : { ...message, context };
  } catch (reason) {
    throw malformed('request', reason);
  }
}

/** A `write_file` or `append_file` request whose payload is left in the pieces it arrived in. */
export interface PiecewiseWriteRequest {
  kind: 'write_file' | 'append_file';
  fileName: string;
  /** The payload, in order: views of the pieces the message arrived in. */
  pieces: readonly Uint8Array[];
  context?: number;
}

/** The fields a write carries before its payload fit in this much: the context, a tag, lengths, a path. */
const WRITE_HEAD_BYTES = 8 * 1024;

/**
 * Decodes a request that arrived in pieces (see FrameDecoder.pushPieces). A write or append laid out
 * as every encoder of Veracruz's protocol lays it out (context, then the operation, its file name,
 * then its payload, last) keeps its payload in the pieces, uncopied; any other request is joined and
 * decoded by {@link decodeRequest}, with the same result it would have had.
 */
export function decodeRequestPieces(pieces: readonly Uint8Array[]): RuntimeManagerRequest | PiecewiseWriteRequest {
  return (pieces.length > 1 ? piecewiseWrite(pieces) : undefined) ?? decodeRequest(joinPieces(pieces));
}

/** The write or append in `pieces` if its payload is the last thing in the message; else undefined. */
function piecewiseWrite(pieces: readonly Uint8Array[]): PiecewiseWriteRequest | undefined {
  let total = 0;
  for (const piece of pieces) total += piece.length;
  try {
    const reader = new WireReader(headOf(pieces, WRITE_HEAD_BYTES));
    let context = 0;
    let [field, wireType] = reader.tag();
    if (field === RequestField.context && wireType === WireType.Varint) {
      context = reader.uint32();
      [field, wireType] = reader.tag();
    }
    const kind = field === RequestField.write_file ? 'write_file' : field === RequestField.append_file ? 'append_file' : undefined;
    if (kind === undefined || wireType !== WireType.LengthDelimited) return undefined;
    const innerLength = reader.uint32();
    if (reader.pos + innerLength !== total) return undefined;
    let fileName = '';
    [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) {
      fileName = reader.string();
      [field, wireType] = reader.tag();
    }
    if (field !== 2 || wireType !== WireType.LengthDelimited) return undefined;
    const dataLength = reader.uint32();
    if (reader.pos + dataLength !== total) return undefined;
    const request: PiecewiseWriteRequest = { kind, fileName, pieces: slicePieces(pieces, reader.pos) };
    return context === 0 ? request : { ...request, context };
  } catch {
    // Cut short in the head (a path longer than it, say): joined and decoded the usual way.
    return undefined;
  }
}

/** Views of `pieces` from byte `start` to their end. */
function slicePieces(pieces: readonly Uint8Array[], start: number): Uint8Array[] {
  const sliced: Uint8Array[] = [];
  let offset = 0;
  for (const piece of pieces) {
    const end = offset + piece.length;
    if (end > start) sliced.push(offset >= start ? piece : piece.subarray(start - offset));
    offset = end;
  }
  return sliced;
}

/** A successful response whose `result` payload is left in the pieces it arrived in. */
export interface PiecewiseResultResponse {
  status: number;
  context?: number;
  /** The `result` payload, in order: views of the pieces the message arrived in. */
  resultPieces: readonly Uint8Array[];
}

/** The fields a response carries before its payload: status, context, tags and lengths. */
const RESULT_HEAD_BYTES = 64;

/**
 * Decodes a response that arrived in pieces (see FrameDecoder.pushPieces). A `result` laid out as
 * {@link encodeResponseParts} lays it out (status, context, then the result, last) keeps its payload
 * in the pieces, uncopied; any other response is joined and decoded by {@link decodeResponse}, with
 * the same result it would have had.
 */
export function decodeResponsePieces(pieces: readonly Uint8Array[]): RuntimeManagerResponse | PiecewiseResultResponse {
  return (pieces.length > 1 ? piecewiseResult(pieces) : undefined) ?? decodeResponse(joinPieces(pieces));
}

/** The result in `pieces` if its payload is the last thing in the message; else undefined. */
function piecewiseResult(pieces: readonly Uint8Array[]): PiecewiseResultResponse | undefined {
  let total = 0;
  for (const piece of pieces) total += piece.length;
  try {
    const reader = new WireReader(headOf(pieces, RESULT_HEAD_BYTES));
    let status = 0;
    let context = 0;
    let [field, wireType] = reader.tag();
    if (field === ResponseField.status && wireType === WireType.Varint) {
      status = reader.int32();
      [field, wireType] = reader.tag();
    }
    if (field === ResponseField.context && wireType === WireType.Varint) {
      context = reader.uint32();
      [field, wireType] = reader.tag();
    }
    if (field !== ResponseField.result || wireType !== WireType.LengthDelimited) return undefined;
    const innerLength = reader.uint32();
    if (reader.pos + innerLength !== total) return undefined;
    [field, wireType] = reader.tag();
    if (field !== 1 || wireType !== WireType.LengthDelimited) return undefined;
    const dataLength = reader.uint32();
    if (reader.pos + dataLength !== total) return undefined;
    const response: PiecewiseResultResponse = { status, resultPieces: slicePieces(pieces, reader.pos) };
    return context === 0 ? response : { ...response, context };
  } catch {
    return undefined;
  }
}

/** The first `bytes` bytes of `pieces` (fewer if they hold fewer), as one array: only the pieces they span are joined. */
function headOf(pieces: readonly Uint8Array[], bytes: number): Uint8Array {
  let count = 0;
  for (let length = 0; length < bytes && count < pieces.length; count++) length += pieces[count]!.length;
  return joinPieces(pieces.slice(0, count)).subarray(0, bytes);
}

function readErrorDetail(bytes: Uint8Array): ErrorDetail {
  const detail: ErrorDetail = { code: '', message: '' };
  readMessage(bytes, (inner, field, wireType) => {
    if (wireType !== WireType.LengthDelimited) return false;
    if (field === 1) detail.code = inner.string();
    else if (field === 2) detail.message = inner.string();
    else return false;
    return true;
  });
  return detail;
}

/**
 * The status and error detail of a response, every other field skipped: all a sender of writes
 * reads of an answer (an isolate pushing an output to its peer). Malformed bytes throw
 * VeracruzError(InvalidRequest).
 */
export function decodeResponseStatus(bytes: Uint8Array): Pick<RuntimeManagerResponse, 'status' | 'errorDetail'> {
  try {
    const response: Pick<RuntimeManagerResponse, 'status' | 'errorDetail'> = { status: 0 };
    readMessage(bytes, (reader, field, wireType) => {
      if (field === ResponseField.status && wireType === WireType.Varint) response.status = reader.int32();
      else if (field === ResponseField.error_detail && wireType === WireType.LengthDelimited) response.errorDetail = readErrorDetail(reader.bytes());
      else return false;
      return true;
    });
    return response;
  } catch (reason) {
    throw malformed('response', reason);
  }
}

/** Decodes a response. Malformed bytes throw VeracruzError(InvalidRequest). */
export function decodeResponse(bytes: Uint8Array): RuntimeManagerResponse {
  try {
    const response: RuntimeManagerResponse = { status: 0 };
    readMessage(bytes, (reader, field, wireType) => {
      if (wireType === WireType.Varint) {
        if (field === ResponseField.status) response.status = reader.int32();
        else if (field === ResponseField.context) response.context = reader.uint32();
        else return false;
        return true;
      }
      if (wireType !== WireType.LengthDelimited) return false;
      let body: ResponseBody | undefined;
      const kind = (Object.keys(ResponseField) as (keyof typeof ResponseField)[]).find((name) => ResponseField[name] === field);
      switch (kind) {
        case 'result':
        case 'pi_hash':
        case 'policy_hash':
        case 'cert':
          body = { kind, data: readBytes(reader.bytes()) };
          break;
        case 'error':
          body = { kind, error: readBytes(reader.bytes()) };
          break;
        case 'state':
          body = { kind, state: readBytes(reader.bytes()) };
          break;
        case 'file_size': {
          let size = 0;
          readMessage(reader.bytes(), (inner, innerField, innerType) => {
            if (innerField !== 1 || innerType !== WireType.Varint) return false;
            size = inner.uint64('file size');
            return true;
          });
          body = { kind, size };
          break;
        }
        case 'stream_chunk': {
          let data: Uint8Array = new Uint8Array(0);
          let end = false;
          readMessage(reader.bytes(), (inner, innerField, innerType) => {
            if (innerField === 1 && innerType === WireType.LengthDelimited) data = inner.bytes();
            else if (innerField === 2 && innerType === WireType.Varint) end = inner.bool();
            else return false;
            return true;
          });
          body = { kind, data, end };
          break;
        }
        case 'error_detail':
          response.errorDetail = readErrorDetail(reader.bytes());
          return true;
        default:
          return false;
      }
      if (body !== undefined) response.body = body;
      return true;
    });
    return response;
  } catch (reason) {
    throw malformed('response', reason);
  }
}
