import type { webcrypto } from 'node:crypto';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { derToPem, pemToDer } from '../certificates/pem.ts';

type CryptoKey = webcrypto.CryptoKey;

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A `linux` development key pair as files hold it. */
export interface DevKeyPem {
  /** PKCS#8 PEM; lives in a host-local 0600 file and never leaves that host. Never log it. */
  privateKeyPem: string;
  /** SPKI PEM; what an operator enrolls in a PAS (`vc-pas enroll`). */
  publicKeyPem: string;
}

/** An enrolled development public key, ready for verification. */
export interface EnrolledDevKey {
  /** SHA-256 of the key's SPKI DER: the `kid` linux evidence carries. */
  keyId: Uint8Array;
  /** The ECDSA P-256 verification key. */
  publicKey: CryptoKey;
  /** The operator's name for it, when known (shown in claims and audit lines). */
  name?: string;
}

/**
 * Generates a fresh development key pair for the `linux` platform. The key is made on the host
 * that launches isolates; it is never part of the code, and a PAS trusts it only once an
 * operator enrolls its public key.
 */
export async function generateDevKey(): Promise<DevKeyPem> {
  const keys = (await crypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  const privateKeyPem = derToPem(pkcs8, 'PRIVATE KEY');
  pkcs8.fill(0);
  return { privateKeyPem, publicKeyPem: derToPem(spki, 'PUBLIC KEY') };
}

/** Public halves of non-extractable development private keys, keyed by the private key object. */
const publicHalves = new WeakMap<CryptoKey, CryptoKey>();

/**
 * Imports a development private key (PKCS#8 PEM) for signing evidence. The result is not
 * extractable; its public half is remembered for {@link devPublicKeyFor}.
 */
export async function importDevPrivateKey(privateKeyPem: string): Promise<CryptoKey> {
  const pkcs8 = pemToDer(privateKeyPem, 'PRIVATE KEY', 'development private key');
  try {
    const extractable = await crypto.subtle.importKey('pkcs8', pkcs8, ECDSA_P256, true, ['sign']);
    const jwk = await crypto.subtle.exportKey('jwk', extractable);
    const publicKey = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } as webcrypto.JsonWebKey, ECDSA_P256, true, ['verify']);
    const privateKey = await crypto.subtle.importKey('jwk', jwk, ECDSA_P256, false, ['sign']);
    jwk.d = '';
    publicHalves.set(privateKey, publicKey);
    return privateKey;
  } catch {
    throw new VeracruzError(Code.InvalidRequest, 'development private key: not a PKCS#8 ECDSA P-256 key');
  } finally {
    pkcs8.fill(0);
  }
}

/**
 * The public key of a development private key: remembered for keys from
 * {@link importDevPrivateKey}, derived through JWK for extractable ones.
 */
export async function devPublicKeyFor(privateKey: CryptoKey): Promise<CryptoKey> {
  const known = publicHalves.get(privateKey);
  if (known !== undefined) return known;
  if (privateKey.type !== 'private' || !privateKey.extractable) {
    throw new VeracruzError(Code.InvalidRequest, 'development key: a private key from importDevPrivateKey or an extractable one is needed');
  }
  const { x, y } = await crypto.subtle.exportKey('jwk', privateKey);
  const publicKey = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x, y } as webcrypto.JsonWebKey, ECDSA_P256, true, ['verify']);
  publicHalves.set(privateKey, publicKey);
  return publicKey;
}

/** Imports a development public key (SPKI PEM) for verifying evidence. */
export async function importDevPublicKey(publicKeyPem: string): Promise<CryptoKey> {
  const spki = pemToDer(publicKeyPem, 'PUBLIC KEY', 'development public key');
  try {
    return await crypto.subtle.importKey('spki', spki, ECDSA_P256, true, ['verify']);
  } catch {
    throw new VeracruzError(Code.InvalidRequest, 'development public key: not an ECDSA P-256 SPKI key');
  }
}

/** The key id of a development public key: SHA-256 of its SPKI DER (what evidence names in `kid`). */
export async function devKeyId(publicKey: CryptoKey | string): Promise<Uint8Array> {
  const key = typeof publicKey === 'string' ? await importDevPublicKey(publicKey) : publicKey;
  if (key.type !== 'public') throw new VeracruzError(Code.InvalidRequest, 'development key id: a public key is needed');
  const spki = await crypto.subtle.exportKey('spki', key);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', spki));
}

/** Prepares enrolled keys (PEM text, CryptoKeys or already prepared) for {@link verifyLinuxEvidence}. */
export async function prepareEnrolledKeys(
  keys: readonly (CryptoKey | string | EnrolledDevKey)[],
): Promise<EnrolledDevKey[]> {
  return Promise.all(
    keys.map(async (key): Promise<EnrolledDevKey> => {
      if (typeof key !== 'string' && 'keyId' in key) return key;
      const publicKey = typeof key === 'string' ? await importDevPublicKey(key) : key;
      return { keyId: await devKeyId(publicKey), publicKey };
    }),
  );
}
