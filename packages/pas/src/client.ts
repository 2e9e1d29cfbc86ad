import type { Platform } from '@veracruz-ts/attestation';
import { splitDerChain } from '@veracruz-ts/attestation/certificates';
import { Code, isCode, VeracruzError } from '@veracruz-ts/core';
import { ROUTE_NAMES } from './platforms.ts';

/** A PAS session: its id and the nonce the evidence must bind. */
export interface PasSession {
  /** The session id (the `Location` header of the Start reply). */
  sessionId: string;
  /** The 32-byte nonce. */
  nonce: Uint8Array;
}

/** Options for {@link pasCertify}. */
export interface PasCertifyOptions {
  /** Ask for a certificate that expires no later than this (e.g. the policy's `enclave_cert_expiry`). */
  notAfterCap?: Date;
  /** Extra endorsements the PAS verifies to vendor roots (SEV-SNP VCEK/VLEK, DCAP collateral). */
  endorsements?: Uint8Array[];
  /** Abort the request. */
  signal?: AbortSignal;
}

function baseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

async function failure(response: Response, what: string): Promise<VeracruzError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { code?: unknown; detail?: unknown };
    if (typeof body.detail === 'string') {
      return new VeracruzError(isCode(body.code) ? body.code : Code.AttestationFailed, `PAS ${what}: ${body.detail}`);
    }
  } catch {
    // Not problem JSON: report the status alone.
  }
  return new VeracruzError(response.status >= 500 ? Code.Unavailable : Code.AttestationFailed, `PAS ${what}: HTTP ${response.status}`);
}

async function post(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, method: 'POST' });
  } catch (error) {
    throw new VeracruzError(Code.Unavailable, `PAS ${what}: cannot reach ${url} (${(error as Error).message})`, { cause: error });
  }
}

/** Retries of a Start the PAS refused as too busy (429), and the longest it waits in all. */
const START_RETRIES = 3;
const START_RETRY_WAIT_MS = 10_000;

/** Opens a PAS session (`POST /proxy/v1/Start`), waiting briefly as told when the PAS is busy (429). */
export async function pasStart(url: string, signal?: AbortSignal): Promise<PasSession> {
  let response = await post(`${baseUrl(url)}/proxy/v1/Start`, signal === undefined ? {} : { signal }, 'Start');
  // A busy PAS answers 429 with Retry-After: wait as asked, a few times and briefly, then give up.
  let waitedMs = 0;
  for (let attempt = 0; response.status === 429 && attempt < START_RETRIES; attempt++) {
    const delayMs = Number(response.headers.get('retry-after') ?? NaN) * 1000;
    if (!(delayMs >= 0) || waitedMs + delayMs > START_RETRY_WAIT_MS) break;
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    waitedMs += delayMs;
    response = await post(`${baseUrl(url)}/proxy/v1/Start`, signal === undefined ? {} : { signal }, 'Start');
  }
  if (response.status !== 201) throw await failure(response, 'Start');
  const sessionId = response.headers.get('location');
  const nonce = new Uint8Array(await response.arrayBuffer());
  if (sessionId === null || sessionId === '') throw new VeracruzError(Code.Unavailable, 'PAS Start: reply has no Location header');
  if (nonce.length !== 32) throw new VeracruzError(Code.Unavailable, `PAS Start: nonce is ${nonce.length} bytes, expected 32`);
  return { sessionId, nonce };
}

/**
 * Asks the PAS to certify an isolate (`POST /proxy/v1/<Platform>/<session>`, multipart `token`
 * and `csr`, base64) and returns the chain it answers: [isolate certificate, CA certificate], DER.
 * A refusal becomes a VeracruzError carrying the PAS's code and precise reason.
 */
export async function pasCertify(
  url: string,
  platform: Platform,
  sessionId: string,
  evidence: Uint8Array,
  csrDer: Uint8Array,
  options: PasCertifyOptions = {},
): Promise<Uint8Array[]> {
  const form = new FormData();
  form.set('token', Buffer.from(evidence).toString('base64'));
  form.set('csr', Buffer.from(csrDer).toString('base64'));
  if (options.notAfterCap !== undefined) form.set('not_after', options.notAfterCap.toISOString());
  for (const endorsement of options.endorsements ?? []) form.append('endorsement', Buffer.from(endorsement).toString('base64'));
  const target = `${baseUrl(url)}/proxy/v1/${ROUTE_NAMES[platform]}/${encodeURIComponent(sessionId)}`;
  const response = await post(target, { body: form, ...(options.signal === undefined ? {} : { signal: options.signal }) }, 'certify');
  if (response.status !== 200) throw await failure(response, 'certify');
  return splitDerChain(new Uint8Array(await response.arrayBuffer()));
}
