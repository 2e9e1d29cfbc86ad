import { Code, type VeracruzError } from '@veracruz-ts/core';

/** An RFC 7807 problem document, plus the project's error code. */
export interface Problem {
  /** A URI naming the kind of problem. */
  type: string;
  /** A short, fixed summary of the kind. */
  title: string;
  /** The HTTP status. */
  status: number;
  /** The precise reason for this occurrence (never secret material). */
  detail: string;
  /** The project's error code, so clients can rebuild a VeracruzError. */
  code: Code;
}

/** The kinds of problem the PAS reports, with their status, title and error code. */
export const PROBLEMS = {
  'bad-request': { status: 400, title: 'Malformed request', code: Code.InvalidRequest },
  'unsupported-media-type': { status: 415, title: 'Expected multipart/form-data', code: Code.InvalidRequest },
  'payload-too-large': { status: 413, title: 'Request body too large', code: Code.LimitExceeded },
  'not-found': { status: 404, title: 'No such route', code: Code.NotFound },
  'unknown-platform': { status: 404, title: 'Unknown platform', code: Code.NotFound },
  'platform-disabled': { status: 403, title: 'Platform not accepted by this PAS', code: Code.PermissionDenied },
  'unknown-session': { status: 404, title: 'Unknown session', code: Code.NotFound },
  'session-used': { status: 409, title: 'Session already used', code: Code.AttestationFailed },
  'session-expired': { status: 410, title: 'Session expired', code: Code.AttestationFailed },
  'evidence-refused': { status: 403, title: 'Evidence refused', code: Code.AttestationFailed },
  'rate-limited': { status: 429, title: 'Too many requests from this client', code: Code.LimitExceeded },
  'too-many-sessions': { status: 429, title: 'Too many open sessions', code: Code.LimitExceeded },
  unavailable: { status: 503, title: 'Service unavailable', code: Code.Unavailable },
  internal: { status: 500, title: 'Internal error', code: Code.Internal },
} as const;

/** One of the problem kinds above. */
export type ProblemKind = keyof typeof PROBLEMS;

/** The `type` URI of a problem kind. */
export function problemType(kind: ProblemKind): string {
  return `urn:veracruz:pas:${kind}`;
}

/** Builds the problem document of a kind with a precise detail. */
export function problem(kind: ProblemKind, detail: string): Problem {
  const spec = PROBLEMS[kind];
  return { type: problemType(kind), title: spec.title, status: spec.status, detail, code: spec.code };
}

/** The problem kind a VeracruzError thrown while handling a request maps to. */
export function problemKindOf(error: VeracruzError): ProblemKind {
  switch (error.code) {
    case Code.InvalidRequest:
      return 'bad-request';
    case Code.AttestationFailed:
      return 'evidence-refused';
    case Code.LimitExceeded:
      return 'payload-too-large';
    case Code.NotFound:
      return 'not-found';
    case Code.PermissionDenied:
      return 'platform-disabled';
    case Code.Unavailable:
      return 'unavailable';
    default:
      return 'internal';
  }
}
