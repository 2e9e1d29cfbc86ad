import { Code, toPem, VeracruzError } from '@veracruz-ts/core';

/** Wraps DER bytes in PEM armour with the given label (e.g. `CERTIFICATE`, `PRIVATE KEY`). */
export const derToPem: (der: Uint8Array, label: string) => string = toPem;

/**
 * Reads every PEM block with the given label from `text`, in order.
 * Throws `InvalidRequest` naming `what` when there is none.
 */
export function pemToDerAll(text: string, label: string, what: string): Uint8Array[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`, 'g');
  const blocks: Uint8Array[] = [];
  for (const match of text.matchAll(pattern)) {
    blocks.push(new Uint8Array(Buffer.from((match[1] ?? '').replace(/\s+/g, ''), 'base64')));
  }
  if (blocks.length === 0) throw new VeracruzError(Code.InvalidRequest, `${what}: no PEM "${label}" block`);
  return blocks;
}

/** Reads exactly one PEM block with the given label; `what` names the input in errors. */
export function pemToDer(text: string, label: string, what: string): Uint8Array {
  const blocks = pemToDerAll(text, label, what);
  if (blocks.length !== 1) {
    throw new VeracruzError(Code.InvalidRequest, `${what}: expected one PEM "${label}" block, found ${blocks.length}`);
  }
  return blocks[0] as Uint8Array;
}

/** Accepts a certificate as DER bytes or PEM text and returns DER. */
export function certificateDer(certificate: Uint8Array | string, what = 'certificate'): Uint8Array {
  return typeof certificate === 'string' ? pemToDer(certificate, 'CERTIFICATE', what) : certificate;
}
