/**
 * The closed set of failure kinds a principal, operator or program author can see.
 * A caller switches on the code; a human reads the message. Carried on the wire as the code's
 * name plus a message that never contains secret material (file contents, key bytes).
 */
export const Code = {
  /** The policy (or a flag that builds one) is malformed or inconsistent. */
  InvalidPolicy: 'invalid_policy',
  /** A request is malformed or names something the policy does not define. */
  InvalidRequest: 'invalid_request',
  /** The principal lacks a right the operation needs. */
  PermissionDenied: 'permission_denied',
  /** A file, program, session or entry does not exist. */
  NotFound: 'not_found',
  /** Something to be created exists already. */
  AlreadyExists: 'already_exists',
  /** A memory, time, fuel, size or count limit was reached. */
  LimitExceeded: 'limit_exceeded',
  /** A program trapped or failed its import check. */
  ProgramFailed: 'program_failed',
  /** Evidence, a certificate chain or a measurement was refused. */
  AttestationFailed: 'attestation_failed',
  /** A peer or the isolate is not ready or has gone away. */
  Unavailable: 'unavailable',
  /**
   * Data the isolate kept outside itself (sealed storage on the host) came back forged, replayed,
   * swapped or truncated; the message names the file, never its contents.
   */
  IntegrityViolation: 'integrity_violation',
  /** A bug or an unexpected condition; the message says where, never what data. */
  Internal: 'internal',
} as const;

/** One of {@link Code}'s values. */
export type Code = (typeof Code)[keyof typeof Code];


/** Whether `value` names a known {@link Code}. */
export function isCode(value: unknown): value is Code {
  return (Object.values(Code) as unknown[]).includes(value);
}

/**
 * The one error type of the project. Its message always starts with `[code]`, so the code is
 * visible in logs and terminals; `rawMessage` is the sentence alone.
 */
export class VeracruzError extends Error {
  /** What kind of failure this is. */
  readonly code: Code;
  /** The human sentence without the code prefix. */
  readonly rawMessage: string;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(`[${code}] ${message}`, options);
    this.name = 'VeracruzError';
    this.code = code;
    this.rawMessage = message;
  }

  /** Wraps anything thrown: a VeracruzError is returned as it is, anything else becomes `fallback`. */
  static from(reason: unknown, fallback: Code = Code.Internal): VeracruzError {
    if (reason instanceof VeracruzError) return reason;
    const message = reason instanceof Error ? reason.message : String(reason);
    return new VeracruzError(fallback, message, { cause: reason });
  }
}
