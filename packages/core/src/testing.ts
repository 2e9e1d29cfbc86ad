/**
 * `@veracruz-ts/core/testing`: support for tests only. OpenSSL as an independent reader of what
 * the project's DER and X.509 code writes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Code, VeracruzError } from './errors.ts';
import type { WebCryptoKey } from './x509-request.ts';

/**
 * Runs `openssl ARGS -in FILE` on a PEM text when openssl is installed (undefined when it is not)
 * and returns what it printed on stdout and stderr: `req -verify` reports a bad signature there,
 * not in its exit code. A non-zero exit fails the calling test.
 */
export function openssl(args: readonly string[], pem: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'veracruz-openssl-'));
  try {
    const file = join(dir, 'input.pem');
    writeFileSync(file, pem);
    const result = spawnSync('openssl', [...args, '-in', file], { encoding: 'utf8' });
    if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    if (result.error !== undefined) throw result.error;
    assert.equal(result.status, 0, result.stderr);
    return `${result.stdout}${result.stderr}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A WebCrypto key pair. */
export type KeyPair = { publicKey: WebCryptoKey; privateKey: WebCryptoKey };

/** A fresh extractable ECDSA key pair on `namedCurve`. */
export async function ecKeys(namedCurve = 'P-256'): Promise<KeyPair> {
  return (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify'])) as KeyPair;
}

/**
 * An `assert.throws` check that says what differs: a VeracruzError with `code` whose message
 * (without the code) is `expected`, or matches it.
 */
export function refusedAs(code: Code, expected: string | RegExp): (error: unknown) => true {
  return (error: unknown) => {
    assert.ok(error instanceof VeracruzError, String(error));
    assert.equal(error.code, code);
    if (typeof expected === 'string') assert.equal(error.rawMessage, expected);
    else assert.match(error.rawMessage, expected);
    return true;
  };
}

/** An `assert.throws` check: a VeracruzError with `code` whose message (without the code) matches `pattern`. */
export function refusedWith(code: Code, pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => error instanceof VeracruzError && error.code === code && pattern.test(error.rawMessage);
}
