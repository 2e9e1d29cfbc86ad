import { Code, VeracruzError } from '@veracruz-ts/core';

/**
 * Splits concatenated DER certificates (Veracruz's PAS reply: DER(isolate certificate) ‖
 * DER(CA certificate)) into one DER value per certificate, in order.
 * Each must be a definite-length SEQUENCE; throws `InvalidRequest` with the offset on
 * anything else, including trailing bytes and an empty input.
 */
export function splitDerChain(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length === 0) throw new VeracruzError(Code.InvalidRequest, 'certificate chain is empty');
  const certificates: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = derElementLength(bytes, offset);
    certificates.push(bytes.slice(offset, offset + length));
    offset += length;
  }
  return certificates;
}

/** Concatenates DER certificates into Veracruz's chain format (the inverse of {@link splitDerChain}). */
export function joinDerChain(certificates: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const total = certificates.reduce((sum, certificate) => sum + certificate.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const certificate of certificates) {
    joined.set(certificate, offset);
    offset += certificate.length;
  }
  return joined;
}

/** The full length (header + content) of the DER SEQUENCE starting at `offset`. */
function derElementLength(bytes: Uint8Array, offset: number): number {
  const fail = (reason: string): never => {
    throw new VeracruzError(Code.InvalidRequest, `certificate chain: ${reason} at byte ${offset}`);
  };
  if (bytes[offset] !== 0x30) fail('expected a DER SEQUENCE');
  const first = bytes[offset + 1];
  if (first === undefined) return fail('truncated length');
  let contentLength: number;
  let headerLength: number;
  if (first < 0x80) {
    contentLength = first;
    headerLength = 2;
  } else {
    const lengthBytes = first & 0x7f;
    // 0x80 is BER's indefinite length, never valid in DER; more than 4 length bytes is absurd for a certificate.
    if (lengthBytes === 0 || lengthBytes > 4) fail('unsupported length encoding');
    if (offset + 2 + lengthBytes > bytes.length) fail('truncated length');
    contentLength = 0;
    for (let index = 0; index < lengthBytes; index += 1) {
      contentLength = contentLength * 256 + (bytes[offset + 2 + index] as number);
    }
    headerLength = 2 + lengthBytes;
  }
  const total = headerLength + contentLength;
  if (offset + total > bytes.length) fail(`truncated certificate (needs ${total} bytes, ${bytes.length - offset} left)`);
  return total;
}
