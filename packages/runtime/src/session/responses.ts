import { Code, VeracruzError } from '@veracruz-ts/core';
import { ResponseStatus, type RuntimeManagerResponse } from '@veracruz-ts/protocol';

/**
 * The Veracruz status a failure is reported with. Veracruz sent FAILED_INVALID_REQUEST for every
 * failure; we use the closest of its defined values so old clients still see "not SUCCESS", and
 * carry the precise reason in the error detail (field 20).
 */
export function statusForCode(code: Code): ResponseStatus {
  switch (code) {
    case Code.PermissionDenied:
      return ResponseStatus.FAILED_INVALID_ROLE;
    case Code.Unavailable:
      return ResponseStatus.FAILED_NOT_READY;
    case Code.ProgramFailed:
    case Code.LimitExceeded:
      return ResponseStatus.FAILED_VM_ERROR;
    case Code.Internal:
    case Code.IntegrityViolation:
      return ResponseStatus.FAILED_GENERIC;
    default:
      return ResponseStatus.FAILED_INVALID_REQUEST;
  }
}

/** A failed response carrying `error`'s code and message (which never hold file contents). */
export function errorResponse(error: VeracruzError): RuntimeManagerResponse {
  return { status: statusForCode(error.code), errorDetail: { code: error.code, message: error.rawMessage } };
}

/**
 * Turns anything a dispatch threw into a VeracruzError. Errors that are not VeracruzErrors come
 * from bugs; their text might quote data, so only the operation is reported.
 */
export function asVeracruzError(reason: unknown, operation: string): VeracruzError {
  if (reason instanceof VeracruzError) return reason;
  return new VeracruzError(Code.Internal, `${operation} failed unexpectedly`, { cause: reason });
}

/** A successful response, with `data` as its `result` when given. */
export function successResponse(data?: Uint8Array): RuntimeManagerResponse {
  return data === undefined
    ? { status: ResponseStatus.SUCCESS }
    : { status: ResponseStatus.SUCCESS, body: { kind: 'result', data } };
}

/** A program's exit code as Veracruz returns it: u32 little-endian. */
export function exitCodeBytes(exitCode: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, exitCode >>> 0, true);
  return bytes;
}

/** Budget bytes reserved for responses while they were made, until the session that writes them takes them over. */
const reservations = new WeakMap<RuntimeManagerResponse, number>();

/** Marks `response` as holding `bytes` reserved in the memory budget (as 'responses'). */
export function withReservation(response: RuntimeManagerResponse, bytes: number): RuntimeManagerResponse {
  reservations.set(response, bytes);
  return response;
}

/** Takes over the reservation a response holds (0 if none): the caller now releases it. */
export function takeReservation(response: RuntimeManagerResponse): number {
  const bytes = reservations.get(response) ?? 0;
  reservations.delete(response);
  return bytes;
}

/**
 * Bytes a response's `result` payload may have free in front of it, in its own buffer: room for the
 * frame and message headers, so that the response goes to TLS as one buffer (TLS copies several
 * buffers written together into one). Within the response overhead the budget reserves.
 */
export const RESPONSE_HEADROOM_BYTES = 32;

/** Responses whose payload has {@link RESPONSE_HEADROOM_BYTES} free before it in its buffer. */
const withRoom = new WeakSet<RuntimeManagerResponse>();

/** Marks `response` as having its payload placed {@link RESPONSE_HEADROOM_BYTES} into a buffer of its own. */
export function withHeadroom(response: RuntimeManagerResponse): RuntimeManagerResponse {
  withRoom.add(response);
  return response;
}

/** The bytes free before `response`'s payload that its writer may use (0 if none), once. */
export function takeHeadroom(response: RuntimeManagerResponse): number {
  return withRoom.delete(response) ? RESPONSE_HEADROOM_BYTES : 0;
}
