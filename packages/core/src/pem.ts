import { Code, VeracruzError } from './errors.ts';

/** One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`, ...) and the DER bytes it armours. */
export interface PemBlock {
  /** The label of the BEGIN and END lines, e.g. `CERTIFICATE`. */
  label: string;
  /** The bytes the base64 body encodes. */
  der: Uint8Array;
}

/** Options of {@link readPemBlocks}. */
export interface ReadPemOptions {
  /** Keep only blocks with this label; others are skipped (or refused with `strict`). */
  label?: string;
  /** Refuse any text outside the blocks but whitespace, and blocks with another label. @default false */
  strict?: boolean;
  /** Names the input in refusal messages. @default "PEM" */
  what?: string;
  /** The code of refusals. @default Code.InvalidRequest */
  code?: Code;
}

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;
const END = /-----END ([A-Z0-9 ]+)-----/y;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Wraps DER bytes in PEM armour with 64-column lines. */
export function toPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  let binary = '';
  for (let index = 0; index < bytes.length; index += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000));
  }
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * The one PEM decoder: every block of `text`, in order. A block whose body is not base64, is
 * empty, or whose END label differs from its BEGIN label is refused, never skipped; whitespace inside
 * a body is ignored (Veracruz's vc-pgen writes bodies on one line).
 */
export function readPemBlocks(text: string, options: ReadPemOptions = {}): PemBlock[] {
  const what = options.what ?? 'PEM';
  const refuse = (reason: string): never => {
    throw new VeracruzError(options.code ?? Code.InvalidRequest, `${what}: ${reason}`);
  };
  const blocks: PemBlock[] = [];
  let outside = '';
  let position = 0;
  BEGIN.lastIndex = 0;
  for (let begin = BEGIN.exec(text); begin !== null; begin = BEGIN.exec(text)) {
    const label = begin[1] ?? '';
    outside += text.slice(position, begin.index);
    const bodyStart = begin.index + begin[0].length;
    const bodyEnd = text.indexOf('-----', bodyStart);
    END.lastIndex = bodyEnd;
    const end = bodyEnd < 0 ? null : END.exec(text);
    // An unterminated block, or a dash inside a body, is refused rather than skipped over.
    if (end === null) refuse(`BEGIN ${label} has no END line after its body`);
    const endLabel = (end as RegExpExecArray)[1];
    if (label !== endLabel) refuse(`BEGIN ${label} ends with END ${endLabel}`);
    position = END.lastIndex;
    BEGIN.lastIndex = position;
    if (options.label !== undefined && label !== options.label) {
      if (options.strict === true) refuse(`expected "${options.label}" blocks, found BEGIN ${label}`);
      continue;
    }
    const body = text.slice(bodyStart, bodyEnd).replace(/\s+/g, '');
    if (body === '' || body.length % 4 !== 0 || !BASE64.test(body)) refuse(`block ${blocks.length} (${label}) is not base64`);
    blocks.push({ label, der: fromBase64(body) });
  }
  outside += text.slice(position);
  if (options.strict === true && outside.trim() !== '') refuse('text outside the BEGIN/END lines');
  return blocks;
}

/**
 * Exactly one PEM block labelled `label`; throws naming `what` when there is none or several.
 */
export function readPemBlock(text: string, label: string, what = 'PEM'): Uint8Array {
  const blocks = readPemBlocks(text, { label, what });
  if (blocks.length !== 1) {
    throw new VeracruzError(Code.InvalidRequest, blocks.length === 0 ? `${what}: no PEM "${label}" block` : `${what}: expected one PEM "${label}" block, found ${blocks.length}`);
  }
  return (blocks[0] as PemBlock).der;
}

function fromBase64(body: string): Uint8Array {
  const binary = atob(body);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}
