import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { EvidenceClaims, Platform } from '@veracruz-ts/attestation';
import {
  type CertificateAuthority,
  DEFAULT_ISOLATE_CERTIFICATE_VALIDITY_MS,
  issueIsolateCertificateDetailed,
  joinDerChain,
  derToPem,
  measurementForCertificate,
  verifyCsr,
} from '@veracruz-ts/attestation/certificates';
import { type EnrolledDevKey, prepareEnrolledKeys } from '@veracruz-ts/attestation/evidence';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { PlatformTrust } from './directory.ts';
import { nodeClientAddress, rateLimitKey } from './client-address.ts';
import { checkMeasurement, toHex } from './measurement-policy.ts';
import { platformOfRouteName, ROUTE_NAMES } from './platforms.ts';
import { problem, problemKindOf, type ProblemKind } from './problem.ts';
import { TokenBucketLimiter } from './rate-limit.ts';
import { DEFAULT_START_LIMITS, START_LIMIT_NAMES, startLimitProblem, type StartLimits } from './start-limits.ts';
import type { PasStore, SessionRefusal } from './store.ts';
import { verifyEvidence } from './verify.ts';

/**
 * Options of the PAS HTTP service. The Start limits (`maxOpenSessions`, `startRatePerSecond`,
 * `startBurst`, `startRateMaxClients`) default to {@link DEFAULT_START_LIMITS}.
 */
export interface PasServiceOptions extends Partial<StartLimits> {
  /** The database. */
  store: PasStore;
  /** The CA that signs isolate certificates. */
  ca: CertificateAuthority;
  /** The time source; tests pass their own to expire sessions without sleeping. @default () => new Date() */
  clock?: () => Date;
  /** How long a session nonce stays usable, in ms. @default 300000 (5 min) */
  sessionTtlMs?: number;
  /** Lifetime of an issued certificate, in ms. @default 24 h */
  certificateValidityMs?: number;
  /** How far notBefore is backdated for clients whose clocks lag, in ms. @default 60000 */
  clockSkewMs?: number;
  /** Largest request body accepted, in bytes (413 beyond). @default 1 MiB */
  maxBodyBytes?: number;
  /** Accept debug evidence. @default false */
  allowDebug?: boolean;
  /** Per-platform trust inputs; a platform absent here is enabled with the vendor's pinned roots. */
  trust?: Partial<Record<Platform, PlatformTrust>>;
  /** Receives one line per issuance or refusal (never key material). @default no logging */
  log?: (line: string) => void;
  /**
   * The client address a request's Start rate is counted under (IPv6 by /64). Requests whose
   * address is undefined share one bucket. @default the socket's remote address under @hono/node-server
   */
  clientAddress?: (c: Context) => string | undefined;
}

/** What session ids look like (random UUIDs); anything else is refused before it reaches a log line. */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The size of a session nonce. */
export const NONCE_LENGTH = 32;

/** Platforms whose endorsements are verified to vendor roots, so an isolate may send them along. */
const SELF_ENDORSING: ReadonlySet<Platform> = new Set(['sev-snp', 'tdx', 'sgx']);

const SESSION_PROBLEMS: Record<SessionRefusal, [ProblemKind, string]> = {
  unknown: ['unknown-session', 'no such session'],
  used: ['session-used', 'the session nonce was already used; start a new session'],
  expired: ['session-expired', 'the session expired; start a new session'],
};

function answer(c: Context, kind: ProblemKind, detail: string, extraHeaders: Record<string, string> = {}): Response {
  const body = problem(kind, detail);
  const headers: Record<string, string> = { ...extraHeaders, 'content-type': 'application/problem+json' };
  // The rest of an oversized body is never read: the connection cannot carry another request.
  if (kind === 'payload-too-large') headers['connection'] = 'close';
  return c.body(JSON.stringify(body), body.status as 400, headers);
}

/** A wait as `Retry-After` says it: whole seconds, rounded up, at least 1 (0 would invite a busy loop). */
function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** The Start limits in effect: the defaults, overridden by the options, each checked. */
function startLimitsOf(options: Partial<StartLimits>): StartLimits {
  const limits: StartLimits = { ...DEFAULT_START_LIMITS };
  for (const name of START_LIMIT_NAMES) {
    const value = options[name];
    if (value === undefined) continue;
    const reason = startLimitProblem(name, value);
    if (reason !== undefined) throw new VeracruzError(Code.InvalidRequest, `PAS service: ${reason}`);
    limits[name] = value;
  }
  return limits;
}

/** Strict standard base64 (line breaks allowed), as Veracruz's PAS clients send. */
function decodeBase64Field(name: string, value: string): Uint8Array {
  const compact = value.replace(/[\r\n\t ]+/g, '');
  if (compact.length === 0) throw new VeracruzError(Code.InvalidRequest, `form field ${name} is empty`);
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new VeracruzError(Code.InvalidRequest, `form field ${name} is not base64`);
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

async function textField(form: FormData, name: string): Promise<string | undefined> {
  const value = form.get(name);
  if (value === null) return undefined;
  return typeof value === 'string' ? value : await value.text();
}

/**
 * Builds the PAS HTTP application (Veracruz's routes): `POST /proxy/v1/Start` opens a session
 * and answers its nonce; `POST /proxy/v1/<Platform>/<session>` takes the isolate's evidence and
 * CSR, verifies them, and answers DER(isolate certificate) ‖ DER(CA certificate).
 * `GET /health` answers 200 for probes, `GET /ca.pem` the CA certificate (PEM). Every failure is RFC 7807 problem JSON. Start is
 * bounded: at most `maxOpenSessions` open at once, and a token bucket per client address; either
 * refusal is 429 with `Retry-After`.
 */
export function createPasApp(options: PasServiceOptions): Hono {
  const clock = options.clock ?? (() => new Date());
  const sessionTtlMs = options.sessionTtlMs ?? 5 * 60 * 1000;
  const validityMs = options.certificateValidityMs ?? DEFAULT_ISOLATE_CERTIFICATE_VALIDITY_MS;
  const clockSkewMs = options.clockSkewMs ?? 60 * 1000;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const log = options.log ?? (() => {});
  const clientAddress = options.clientAddress ?? nodeClientAddress;
  const limits = startLimitsOf(options);
  const startRate = new TokenBucketLimiter({
    ratePerSecond: limits.startRatePerSecond,
    burst: limits.startBurst,
    maxClients: limits.startRateMaxClients,
  });
  /** Whether the last Start found the session cap reached: the log says so once per episode, not per request. */
  let sessionsFull = false;
  const { store, ca } = options;
  let enrolledCache: { fingerprint: string; keys: EnrolledDevKey[] } | undefined;

  /** Enrolled keys from the database (the CLI may enroll while serving), imported once per change. */
  async function enrolledKeys(): Promise<EnrolledDevKey[]> {
    const records = store.listDevKeys();
    const fingerprint = records.map((record) => `${record.name}:${record.keyId}`).join(',');
    if (enrolledCache?.fingerprint !== fingerprint) {
      const prepared = await prepareEnrolledKeys(records.map((record) => record.publicKeyPem));
      enrolledCache = { fingerprint, keys: prepared.map((key, index) => ({ ...key, name: (records[index] as { name: string }).name })) };
    }
    return enrolledCache.keys;
  }

  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof VeracruzError) return answer(c, problemKindOf(error), error.rawMessage);
    log(`internal error: ${error instanceof Error ? error.name : 'unknown'}`);
    return answer(c, 'internal', 'internal error');
  });
  app.notFound((c) => answer(c, 'not-found', `no route ${c.req.method} ${new URL(c.req.url).pathname}`));

  app.get('/health', (c) => c.text('ok'));
  // The CA certificate is public (every policy carries it): served for whoever writes policies for
  // this PAS, a fleet's controller or operator say, so they need not be given the file.
  const caPem = derToPem(ca.certificateDer, 'CERTIFICATE');
  app.get('/ca.pem', (c) => c.body(caPem, 200, { 'content-type': 'application/x-pem-file', 'cache-control': 'no-store' }));

  app.use(
    '/proxy/v1/*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) => answer(c, 'payload-too-large', `request body exceeds ${maxBodyBytes} bytes`),
    }),
  );

  app.post('/proxy/v1/Start', (c) => {
    const now = clock();
    // The rate limit comes first: it costs no database work, so a flood is refused cheaply.
    const client = rateLimitKey(clientAddress(c));
    const rate = startRate.take(client, now.getTime());
    if (!rate.ok) {
      const seconds = retryAfterSeconds(rate.retryAfterMs);
      if (rate.firstRefusal) log(`refused Start from ${client}: over ${limits.startRatePerSecond} per second (burst ${limits.startBurst})`);
      return answer(
        c,
        'rate-limited',
        `too many Start requests from this address (at most ${limits.startRatePerSecond} per second, bursts of ${limits.startBurst}); retry in ${seconds} s`,
        { 'retry-after': String(seconds) },
      );
    }
    const id = crypto.randomUUID();
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
    const created = store.createSession(id, nonce, now, sessionTtlMs, limits.maxOpenSessions);
    if (!created.ok) {
      const seconds = retryAfterSeconds(created.oldestExpiresAt.getTime() - now.getTime());
      if (!sessionsFull) log(`refusing Start: ${created.openSessions} sessions open (maxOpenSessions ${limits.maxOpenSessions})`);
      sessionsFull = true;
      return answer(
        c,
        'too-many-sessions',
        `too many open sessions (${created.openSessions}, at most ${limits.maxOpenSessions}); retry in ${seconds} s, when the oldest expires`,
        { 'retry-after': String(seconds) },
      );
    }
    if (sessionsFull) log('accepting Start again: open sessions are below the cap');
    sessionsFull = false;
    return c.body(nonce, 201, { location: id, 'content-type': 'application/octet-stream' });
  });

  app.post('/proxy/v1/:platform/:id', async (c) => {
    const routeName = c.req.param('platform');
    const sessionId = c.req.param('id');
    const platform = platformOfRouteName(routeName);
    if (platform === undefined) {
      return answer(c, 'unknown-platform', `unknown platform ${JSON.stringify(routeName)} (expected ${Object.values(ROUTE_NAMES).join(', ')})`);
    }
    if (!SESSION_ID.test(sessionId)) return answer(c, 'unknown-session', 'no such session (session ids are UUIDs)');
    const trust = options.trust?.[platform];
    if (trust !== undefined && !trust.enabled) return answer(c, 'platform-disabled', `${platform} evidence is not accepted by this PAS`);
    const contentType = c.req.header('content-type') ?? '';
    if (!/^multipart\/form-data\s*;/i.test(contentType)) {
      return answer(c, 'unsupported-media-type', `expected multipart/form-data with fields token and csr, got ${JSON.stringify(contentType.split(';')[0] ?? '')}`);
    }
    let form: FormData;
    try {
      form = await c.req.formData();
    } catch {
      return answer(c, 'bad-request', 'the body is not valid multipart/form-data');
    }
    const tokenText = await textField(form, 'token');
    const csrText = await textField(form, 'csr');
    if (tokenText === undefined) return answer(c, 'bad-request', 'missing form field token (base64 evidence)');
    if (csrText === undefined) return answer(c, 'bad-request', 'missing form field csr (base64 CSR DER)');
    const evidence = decodeBase64Field('token', tokenText);
    const csrDer = decodeBase64Field('csr', csrText);
    const capText = await textField(form, 'not_after');
    let notAfterCap: Date | undefined;
    if (capText !== undefined) {
      notAfterCap = new Date(capText);
      if (Number.isNaN(notAfterCap.getTime())) return answer(c, 'bad-request', 'form field not_after is not an RFC 3339 time');
    }
    const sentEndorsements = form.getAll('endorsement');
    if (sentEndorsements.length > 0 && !SELF_ENDORSING.has(platform)) {
      return answer(c, 'bad-request', `${platform} endorsements come from the PAS configuration only, not from the request`);
    }
    const requestEndorsements = await Promise.all(
      sentEndorsements.map(async (value) => decodeBase64Field('endorsement', typeof value === 'string' ? value : await value.text())),
    );

    // The CSR is checked before the session is used: a request that is wrong on its face does not burn a nonce.
    const csr = await verifyCsr(csrDer).catch((error: unknown) => {
      log(`refused session=${sessionId} platform=${platform}: ${error instanceof VeracruzError ? error.rawMessage : 'CSR check failed'}`);
      throw error;
    });
    const now = clock();
    const session = store.consumeSession(sessionId, now);
    if (!session.ok) {
      const [kind, detail] = SESSION_PROBLEMS[session.reason];
      log(`refused session=${sessionId} platform=${platform}: ${detail}`);
      return answer(c, kind, `session ${sessionId}: ${detail}`);
    }
    try {
      const claims: EvidenceClaims = await verifyEvidence(platform, evidence, {
        at: now,
        expectedNonce: session.nonce,
        expectedCsrHash: csr.hash,
        allowDebug: options.allowDebug ?? false,
        endorsements: [...(trust?.endorsements ?? []), ...requestEndorsements],
        ...(trust?.trustAnchors === undefined ? {} : { trustAnchors: trust.trustAnchors }),
        ...(platform === 'linux' ? { enrolledKeys: await enrolledKeys() } : {}),
      });
      checkMeasurement(platform, claims.measurement, store.listReferenceValues(platform));
      const issued = await issueIsolateCertificateDetailed({
        csrDer,
        verifiedCsr: csr,
        measurement: measurementForCertificate(claims.measurement, platform),
        platform,
        ca,
        // Backdated for clients whose clocks lag, but never before the CA itself is valid.
        notBefore: new Date(Math.max(now.getTime() - clockSkewMs, ca.certificate.notBefore.getTime())),
        validityMs,
        ...(notAfterCap === undefined ? {} : { notAfterCap }),
      });
      store.recordIssued({
        serial: issued.serialNumber,
        issuedAt: now,
        platform,
        measurement: toHex(claims.measurement),
        csrHash: toHex(csr.hash),
        subject: issued.subject,
        sessionId,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
        insecure: claims.insecure,
        debug: claims.debug,
        certificate: issued.der,
      });
      log(`issued serial=${issued.serialNumber} platform=${platform} measurement=${toHex(claims.measurement)} session=${sessionId}${claims.insecure ? ' insecure' : ''}`);
      return c.body(joinDerChain([issued.der, ca.certificateDer]), 200, { 'content-type': 'application/pkix-cert' });
    } catch (error) {
      const refusal = VeracruzError.from(error);
      log(`refused session=${sessionId} platform=${platform}: ${refusal.code === Code.Internal ? 'internal error' : refusal.rawMessage}`);
      throw refusal.code === Code.Internal ? error : refusal;
    }
  });

  return app;
}
