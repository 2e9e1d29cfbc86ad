/**
 * Signed results (docs/program-abi.md): a program's output file signed by the isolate's attested key.
 * The envelope's shape and the exact bytes signed, shared by the runtime that signs and the client
 * that verifies.
 */

/** The `type` of a signed-result envelope. */
export const SIGNED_RESULT_TYPE = 'veracruz-ts/signed-result';

/** What the isolate states about one file. */
export interface SignedResultStatement {
  /** The file's normalized path. */
  path: string;
  size: number;
  /** Lowercase hex SHA-256 of the file's bytes. */
  sha256: string;
  /** The hash of the policy the isolate enforces. */
  policy_hash: string;
  /** The program that asked for the signature. */
  program: string;
  /** When the isolate signed (ISO 8601, UTC). */
  signed_at: string;
}

/** The JSON envelope `result_sign` writes. */
export interface SignedResult extends SignedResultStatement {
  type: typeof SIGNED_RESULT_TYPE;
  version: 1;
  /** The isolate's certificate (PEM), issued by the policy's PAS. */
  certificate: string;
  /** ECDSA-SHA256 (DER), base64, over {@link signedResultStatement}. */
  signature: string;
}

/**
 * The bytes the isolate signs: a fixed prefix (no TLS 1.3 signature context starts so), then the
 * statement's fields as a JSON array, so no two statements share their bytes.
 */
export function signedResultStatement(statement: SignedResultStatement): Uint8Array {
  const { path, size, sha256, policy_hash, program, signed_at } = statement;
  return new TextEncoder().encode(`veracruz-ts signed result v1\n${JSON.stringify([path, size, sha256, policy_hash, program, signed_at])}`);
}
