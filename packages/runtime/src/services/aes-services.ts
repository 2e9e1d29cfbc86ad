import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { NativeService, ServiceFiles } from './native-service.ts';
import { PostcardReader } from './postcard-reader.ts';
import { encodeVarint } from './postcard-writer.ts';

/** A parsed "Counter mode AES Service" request. */
export interface AesCtrRequest {
  key: Uint8Array;
  iv: Uint8Array;
  inputPath: string;
  outputPath: string;
  isEncryption: boolean;
}

/** A parsed "AEAD Service" request. */
export interface AeadRequest extends AesCtrRequest {
  aad: Uint8Array;
}

/** Parses a postcard `{key:[u8;16], iv:[u8;16], input_path, output_path, is_encryption}`. */
export function parseAesCtrRequest(bytes: Uint8Array): AesCtrRequest | undefined {
  const reader = new PostcardReader(bytes);
  const key = reader.fixedBytes(16);
  const iv = reader.fixedBytes(16);
  const inputPath = reader.string();
  const outputPath = reader.string();
  const isEncryption = reader.bool();
  if (key === undefined || iv === undefined || inputPath === undefined || outputPath === undefined || isEncryption === undefined) return undefined;
  return { key, iv, inputPath, outputPath, isEncryption };
}

/** Parses a postcard `{key:[u8;16], iv:[u8;16], aad: Vec<u8>, input_path, output_path, is_encryption}`. */
export function parseAeadRequest(bytes: Uint8Array): AeadRequest | undefined {
  const reader = new PostcardReader(bytes);
  const key = reader.fixedBytes(16);
  const iv = reader.fixedBytes(16);
  const aad = reader.byteVector();
  const inputPath = reader.string();
  const outputPath = reader.string();
  const isEncryption = reader.bool();
  if (key === undefined || iv === undefined || aad === undefined || inputPath === undefined || outputPath === undefined || isEncryption === undefined) {
    return undefined;
  }
  return { key, iv, aad, inputPath, outputPath, isEncryption };
}

/** GCM authentication tag length (bytes), appended on encryption. */
const TAG_LENGTH = 16;

/** "Counter mode AES Service": AES-128-CTR of `input_path`, appended to `output_path`. */
export const aesCounterModeService: NativeService = {
  name: 'Counter mode AES Service',
  parse: parseAesCtrRequest,
  serve(request: unknown, writer: ServiceFiles): void {
    const { key, iv, inputPath, outputPath } = request as AesCtrRequest;
    const input = writer.readFile(inputPath);
    // CTR is its own inverse: encryption and decryption are the same keystream XOR.
    const cipher = createCipheriv('aes-128-ctr', key, iv);
    const output = Buffer.concat([cipher.update(input), cipher.final()]);
    writer.appendFile(outputPath, output);
  },
};

/** "AEAD Service": AES-128-GCM (16-byte IV) of `input_path`; tag appended/verified; appended to `output_path`. */
export const aeadService: NativeService = {
  name: 'AEAD Service',
  parse: parseAeadRequest,
  serve(request: unknown, writer: ServiceFiles): void {
    const { key, iv, aad, inputPath, outputPath, isEncryption } = request as AeadRequest;
    const input = writer.readFile(inputPath);
    let output: Uint8Array;
    if (isEncryption) {
      const cipher = createCipheriv('aes-128-gcm', key, iv, { authTagLength: TAG_LENGTH });
      cipher.setAAD(aad);
      output = Buffer.concat([cipher.update(input), cipher.final(), cipher.getAuthTag()]);
    } else {
      if (input.length < TAG_LENGTH) throw new Error('ciphertext shorter than its tag');
      const decipher = createDecipheriv('aes-128-gcm', key, iv, { authTagLength: TAG_LENGTH });
      decipher.setAAD(aad);
      decipher.setAuthTag(input.subarray(input.length - TAG_LENGTH));
      const plain = decipher.update(input.subarray(0, input.length - TAG_LENGTH));
      try {
        output = Buffer.concat([plain, decipher.final()]);
      } catch {
        throw new Error('authentication failed');
      }
    }
    writer.appendFile(outputPath, output);
  },
};

function encodeString(text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  return [...encodeVarint(bytes.length), ...bytes];
}

/** Postcard encoding of a "Counter mode AES Service" request (what a program writes to the special file). */
export function encodeAesCtrRequest(request: AesCtrRequest): Uint8Array {
  return Uint8Array.from([...request.key, ...request.iv, ...encodeString(request.inputPath), ...encodeString(request.outputPath), request.isEncryption ? 1 : 0]);
}

/** Postcard encoding of an "AEAD Service" request. */
export function encodeAeadRequest(request: AeadRequest): Uint8Array {
  return Uint8Array.from([
    ...request.key, ...request.iv, ...encodeVarint(request.aad.length), ...request.aad,
    ...encodeString(request.inputPath), ...encodeString(request.outputPath), request.isEncryption ? 1 : 0,
  ]);
}
