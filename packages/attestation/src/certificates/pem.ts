import { Code, readPemBlock, readPemBlocks, toPem, VeracruzError } from '@veracruz-ts/core';

/** Wraps DER bytes in PEM armour with the given label (e.g. `CERTIFICATE`, `PRIVATE KEY`). */
export const derToPem: (der: Uint8Array, label: string) => string = toPem;

/**
 * Reads every PEM block with the given label from `text`, in order (core's PEM decoder).
 * Throws `InvalidRequest` naming `what` when there is none or a block is not base64.
 */
export function pemToDerAll(text: string, label: string, what: string): Uint8Array[] {
  const blocks = readPemBlocks(text, { label, what });
  if (blocks.length === 0) throw new VeracruzError(Code.InvalidRequest, `${what}: no PEM "${label}" block`);
  return blocks.map((block) => block.der);
}

/** Reads exactly one PEM block with the given label; `what` names the input in errors. */
export function pemToDer(text: string, label: string, what: string): Uint8Array {
  return readPemBlock(text, label, what);
}

/** Accepts a certificate as DER bytes or PEM text and returns DER. */
export function certificateDer(certificate: Uint8Array | string, what = 'certificate'): Uint8Array {
  return typeof certificate === 'string' ? pemToDer(certificate, 'CERTIFICATE', what) : certificate;
}
