import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { Platform } from '@veracruz-ts/attestation';

/** The schema version this code writes and reads (SQLite `user_version`). */
export const SCHEMA_VERSION = 1;

const SCHEMA_V1 = `
CREATE TABLE sessions (
  id          TEXT PRIMARY KEY,
  nonce       BLOB NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER
) STRICT;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE TABLE issued_certificates (
  serial       TEXT PRIMARY KEY,
  issued_at    INTEGER NOT NULL,
  platform     TEXT NOT NULL,
  measurement  TEXT NOT NULL,
  csr_hash     TEXT NOT NULL,
  subject      TEXT NOT NULL,
  session_id   TEXT NOT NULL,
  not_before   INTEGER NOT NULL,
  not_after    INTEGER NOT NULL,
  insecure     INTEGER NOT NULL,
  debug        INTEGER NOT NULL,
  certificate  BLOB NOT NULL
) STRICT;
CREATE INDEX issued_certificates_issued_at ON issued_certificates (issued_at);
CREATE TABLE dev_keys (
  name            TEXT PRIMARY KEY,
  key_id          TEXT NOT NULL UNIQUE,
  public_key_pem  TEXT NOT NULL,
  enrolled_at     INTEGER NOT NULL
) STRICT;
CREATE TABLE reference_values (
  platform     TEXT NOT NULL,
  measurement  TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('accept', 'deny')),
  added_at     INTEGER NOT NULL,
  PRIMARY KEY (platform, measurement, kind)
) STRICT;
`;

/** Sessions whose expiry is further back than this are deleted (kept a while so late callers hear "expired"). */
const SESSION_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Retained sessions deleted per Start at most: bounded work per request, yet many times the one row a Start adds. */
const SESSION_PURGE_BATCH = 64;

/** The outcome of {@link PasStore.createSession}. */
export type SessionCreation =
  | { ok: true }
  | {
      ok: false;
      /** The number of open sessions, which reached the cap. */
      openSessions: number;
      /** When the oldest open session expires, freeing a place (unless one is used sooner). */
      oldestExpiresAt: Date;
    };

/** Why a session could not be used. */
export type SessionRefusal = 'unknown' | 'expired' | 'used';

/** The outcome of {@link PasStore.consumeSession}. */
export type SessionConsumption = { ok: true; nonce: Uint8Array } | { ok: false; reason: SessionRefusal };

/** One row of the audit trail. */
export interface IssuedCertificateRecord {
  /** Serial number, lowercase hex. */
  serial: string;
  /** When the PAS issued it. */
  issuedAt: Date;
  /** The platform whose evidence was verified. */
  platform: Platform;
  /** The measurement the evidence vouched for (full length, lowercase hex). */
  measurement: string;
  /** SHA-256 of the CSR, lowercase hex. */
  csrHash: string;
  /** The certificate subject. */
  subject: string;
  /** The PAS session that was used. */
  sessionId: string;
  /** Validity start. */
  notBefore: Date;
  /** Validity end. */
  notAfter: Date;
  /** Whether the platform gives no hardware protection (`linux`). */
  insecure: boolean;
  /** Whether the evidence came from a debug isolate. */
  debug: boolean;
  /** The certificate, DER. */
  certificate: Uint8Array;
}

/** An enrolled `linux` development key. */
export interface DevKeyRecord {
  /** The operator's name for it (unique). */
  name: string;
  /** SHA-256 of its SPKI, lowercase hex (what evidence names). */
  keyId: string;
  /** The public key, SPKI PEM. */
  publicKeyPem: string;
  /** When it was enrolled. */
  enrolledAt: Date;
}

/** Whether a reference value accepts or denies a measurement. */
export type ReferenceKind = 'accept' | 'deny';

/** A measurement an operator accepts (reference value) or denies, per platform. */
export interface ReferenceValueRecord {
  /** The platform it applies to. */
  platform: Platform;
  /** Lowercase hex: the full measurement or its first 32 bytes. */
  measurement: string;
  /** Accept-list entry or deny-list entry. */
  kind: ReferenceKind;
  /** When it was added. */
  addedAt: Date;
}

type Row = Record<string, unknown>;

function date(value: unknown): Date {
  return new Date(Number(value));
}

/**
 * The PAS's state in one SQLite file (`node:sqlite`, WAL mode, versioned schema): sessions and
 * their nonces (each used once), the audit trail of issued certificates, enrolled development
 * keys, and reference/deny values. Several processes (the service and the operator CLI) may
 * open the same file; every check-and-update is one SQL statement, so it is atomic.
 */
export class PasStore {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  /** Opens (and creates or migrates) the database at `path`. */
  constructor(path: string) {
    try {
      this.#db = new DatabaseSync(path);
    } catch (error) {
      throw new VeracruzError(Code.Unavailable, `cannot open the PAS database ${path}: ${(error as Error).message}`, { cause: error });
    }
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
    this.#migrate(path);
  }

  #migrate(path: string): void {
    const version = Number((this.#db.prepare('PRAGMA user_version').get() as Row)['user_version']);
    if (version > SCHEMA_VERSION) {
      this.#db.close();
      throw new VeracruzError(
        Code.Unavailable,
        `the PAS database ${path} has schema version ${version}; this vc-pas supports up to ${SCHEMA_VERSION}`,
      );
    }
    if (version === 0) {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        // Re-read inside the write lock: another process may have created the schema meanwhile.
        const again = Number((this.#db.prepare('PRAGMA user_version').get() as Row)['user_version']);
        if (again === 0) this.#db.exec(`${SCHEMA_V1}\nPRAGMA user_version = ${SCHEMA_VERSION};`);
        this.#db.exec('COMMIT');
      } catch (error) {
        this.#db.exec('ROLLBACK');
        throw error;
      }
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Closes the database. */
  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }

  /** The schema version of the open database. */
  schemaVersion(): number {
    return Number((this.#statement('PRAGMA user_version').get() as Row)['user_version']);
  }

  // ---- sessions

  /**
   * Records a new session unless `maxOpen` sessions are already open (issued, not used, not
   * expired at `now`); the check and the insert are one statement, so processes sharing the file
   * cannot overshoot the cap together. Expired sessions never count; they are kept a day (so a
   * late caller hears "expired", not "unknown") and then deleted, a bounded batch per call.
   */
  createSession(id: string, nonce: Uint8Array, now: Date, ttlMs: number, maxOpen = Number.MAX_SAFE_INTEGER): SessionCreation {
    const nowMs = now.getTime();
    this.#statement(
      'DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)',
    ).run(nowMs - SESSION_RETENTION_MS, SESSION_PURGE_BATCH);
    const inserted = this.#statement(
      `INSERT INTO sessions (id, nonce, created_at, expires_at)
         SELECT ?, ?, ?, ? WHERE (SELECT count(*) FROM sessions WHERE used_at IS NULL AND expires_at > ?) < ?`,
    ).run(id, nonce, nowMs, nowMs + ttlMs, nowMs, maxOpen);
    if (Number(inserted.changes) === 1) return { ok: true };
    const row = this.#statement(
      'SELECT count(*) AS n, min(expires_at) AS oldest FROM sessions WHERE used_at IS NULL AND expires_at > ?',
    ).get(nowMs) as Row;
    // A session used or expired between the two statements leaves oldest null: a place is free already.
    return { ok: false, openSessions: Number(row['n']), oldestExpiresAt: date(row['oldest'] ?? nowMs) };
  }

  /** The number of sessions kept in the database, open or not (for tests of what a flood leaves behind). */
  sessionRowCount(): number {
    return Number((this.#statement('SELECT count(*) AS n FROM sessions').get() as Row)['n']);
  }

  /**
   * Marks a session used and returns its nonce, in one atomic statement: of any number of
   * concurrent callers (in any process), exactly one gets the nonce. Otherwise says why not.
   */
  consumeSession(id: string, now: Date): SessionConsumption {
    const nowMs = now.getTime();
    const row = this.#statement(
      'UPDATE sessions SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ? RETURNING nonce',
    ).get(nowMs, id, nowMs) as Row | undefined;
    if (row !== undefined) return { ok: true, nonce: row['nonce'] as Uint8Array };
    const existing = this.#statement('SELECT used_at, expires_at FROM sessions WHERE id = ?').get(id) as Row | undefined;
    if (existing === undefined) return { ok: false, reason: 'unknown' };
    if (existing['used_at'] !== null) return { ok: false, reason: 'used' };
    return { ok: false, reason: 'expired' };
  }

  /** The number of sessions still usable at `now` (for status and tests). */
  openSessionCount(now: Date): number {
    const row = this.#statement('SELECT count(*) AS n FROM sessions WHERE used_at IS NULL AND expires_at > ?').get(now.getTime()) as Row;
    return Number(row['n']);
  }

  // ---- audit trail

  /** Appends an issued certificate to the audit trail. */
  recordIssued(record: IssuedCertificateRecord): void {
    this.#statement(
      `INSERT INTO issued_certificates (serial, issued_at, platform, measurement, csr_hash, subject, session_id,
         not_before, not_after, insecure, debug, certificate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      record.serial,
      record.issuedAt.getTime(),
      record.platform,
      record.measurement,
      record.csrHash,
      record.subject,
      record.sessionId,
      record.notBefore.getTime(),
      record.notAfter.getTime(),
      record.insecure ? 1 : 0,
      record.debug ? 1 : 0,
      record.certificate,
    );
  }

  /** The audit trail, oldest first. */
  listIssued(): IssuedCertificateRecord[] {
    const rows = this.#statement('SELECT * FROM issued_certificates ORDER BY issued_at, serial').all() as Row[];
    return rows.map((row) => ({
      serial: String(row['serial']),
      issuedAt: date(row['issued_at']),
      platform: row['platform'] as Platform,
      measurement: String(row['measurement']),
      csrHash: String(row['csr_hash']),
      subject: String(row['subject']),
      sessionId: String(row['session_id']),
      notBefore: date(row['not_before']),
      notAfter: date(row['not_after']),
      insecure: row['insecure'] === 1,
      debug: row['debug'] === 1,
      certificate: row['certificate'] as Uint8Array,
    }));
  }

  // ---- development keys

  /** Enrolls a development public key under a unique name; refuses a taken name or an enrolled key. */
  enrollDevKey(name: string, keyId: string, publicKeyPem: string, now: Date): void {
    const byName = this.#statement('SELECT key_id FROM dev_keys WHERE name = ?').get(name) as Row | undefined;
    if (byName !== undefined) throw new VeracruzError(Code.AlreadyExists, `a development key named ${JSON.stringify(name)} is already enrolled`);
    const byKey = this.#statement('SELECT name FROM dev_keys WHERE key_id = ?').get(keyId) as Row | undefined;
    if (byKey !== undefined) {
      throw new VeracruzError(Code.AlreadyExists, `development key ${keyId} is already enrolled as ${JSON.stringify(String(byKey['name']))}`);
    }
    this.#statement('INSERT INTO dev_keys (name, key_id, public_key_pem, enrolled_at) VALUES (?, ?, ?, ?)').run(name, keyId, publicKeyPem, now.getTime());
  }

  /** Removes an enrolled development key; returns whether there was one. */
  removeDevKey(name: string): boolean {
    return Number(this.#statement('DELETE FROM dev_keys WHERE name = ?').run(name).changes) > 0;
  }

  /** Every enrolled development key, by name. */
  listDevKeys(): DevKeyRecord[] {
    const rows = this.#statement('SELECT * FROM dev_keys ORDER BY name').all() as Row[];
    return rows.map((row) => ({
      name: String(row['name']),
      keyId: String(row['key_id']),
      publicKeyPem: String(row['public_key_pem']),
      enrolledAt: date(row['enrolled_at']),
    }));
  }

  // ---- reference values and deny-list

  /** Adds an accepted (reference) or denied measurement for a platform; adding twice is a no-op. */
  addReferenceValue(platform: Platform, measurementHex: string, kind: ReferenceKind, now: Date): void {
    this.#statement('INSERT OR IGNORE INTO reference_values (platform, measurement, kind, added_at) VALUES (?, ?, ?, ?)').run(
      platform,
      measurementHex,
      kind,
      now.getTime(),
    );
  }

  /** Removes a reference or deny value; returns whether there was one. */
  removeReferenceValue(platform: Platform, measurementHex: string, kind: ReferenceKind): boolean {
    const result = this.#statement('DELETE FROM reference_values WHERE platform = ? AND measurement = ? AND kind = ?').run(platform, measurementHex, kind);
    return Number(result.changes) > 0;
  }

  /** Reference and deny values, optionally for one platform. */
  listReferenceValues(platform?: Platform): ReferenceValueRecord[] {
    const rows = (
      platform === undefined
        ? this.#statement('SELECT * FROM reference_values ORDER BY platform, kind, measurement').all()
        : this.#statement('SELECT * FROM reference_values WHERE platform = ? ORDER BY kind, measurement').all(platform)
    ) as Row[];
    return rows.map((row) => ({
      platform: row['platform'] as Platform,
      measurement: String(row['measurement']),
      kind: row['kind'] as ReferenceKind,
      addedAt: date(row['added_at']),
    }));
  }
}
