/**
 * PSA endorsements: how an Initial Attestation Key (IAK) is bound to the instance it speaks for.
 *
 * Two bindings are in use:
 * - a bare IAK public key, whose instance id is derived from it (`0x01 || SHA-256(uncompressed
 *   point)`), as TF-M derives it;
 * - a CoMID whose `attester-verification-keys` triples name the instance (`ueid`) and its key, as
 *   Veraison's endorsement provisioning carries them. The instance id is then whatever the
 *   manufacturer chose, and the CoMID is the only thing tying it to the key.
 *
 * The CoMID is read in the JSON form of the veraison/corim `comid` package (the templates `cocli`
 * compiles): `triples["attester-verification-keys"][i]` is `{ environment: { class?: { id?: { type:
 * "psa.impl-id", value: base64 } }, instance: { type: "ueid", value: base64 } }, "verification-keys":
 * [{ type: "pkix-base64-key", value: PEM }] }`.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { findDuplicateKey } from '@veracruz-ts/policy';
import { attestationFailure, toHex } from '../platform.ts';

const PLATFORM = 'psa';

/** A PSA instance id (UEID): type 0x01 (RAND) followed by 32 bytes. */
const INSTANCE_ID_LENGTH = 33;
/** A PSA implementation id. */
const IMPLEMENTATION_ID_LENGTH = 32;

/** An Initial Attestation Key endorsed for one PSA instance. */
export interface PsaEndorsedKey {
  /** The instance id (UEID, 33 bytes) whose tokens the key signs. */
  instanceId: Uint8Array;
  /** The implementation id the endorsement names, when it names one (a CoMID's `psa.impl-id` class). */
  implementationId?: Uint8Array;
  /** The IAK public key (ECDSA P-256). */
  key: KeyObject;
  /** Which endorsement, and which triple and key in it, for messages: `endorsements[1] CoMID attester-verification-keys[0].verification-keys[0]`. */
  source: string;
}

/** The instance id TF-M derives from an IAK: `0x01 || SHA-256(0x04 || x || y)`. */
export function psaInstanceIdOfKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
  return new Uint8Array(Buffer.concat([Buffer.from([1]), createHash('sha256').update(point).digest()]));
}

/** Refuses with `psa: <subject> <reason>`, the subject naming the endorsement and the place in it. */
function fail(subject: string, reason: string, cause?: unknown): never {
  throw attestationFailure(PLATFORM, `${subject} ${reason}`, cause);
}

function p256Key(source: string, read: () => KeyObject, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = read();
  } catch (error) {
    fail(source, `is not ${what}`, error);
  }
  if (key.type !== 'public') fail(source, `is not ${what}`);
  if (key.asymmetricKeyType !== 'ec' || key.export({ format: 'jwk' }).crv !== 'P-256') fail(source, 'is not an ECDSA P-256 public key');
  return key;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Standard base64 with padding, as Go's encoding/json writes byte strings; anything else is refused. */
function strictBase64(subject: string, value: unknown): Uint8Array {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    fail(subject, `is not standard base64 text (got ${String(JSON.stringify(value)).slice(0, 80)})`);
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) fail(subject, 'is not canonical base64 (non-zero padding bits)');
  return new Uint8Array(bytes);
}

function bareKey(bytes: Uint8Array, source: string): PsaEndorsedKey {
  const text = Buffer.from(bytes).toString('latin1').trimStart();
  const key = p256Key(
    source,
    () => (text.startsWith('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.from(bytes), format: 'der', type: 'spki' })),
    'a public key (PEM or DER SubjectPublicKeyInfo) nor a CoMID (JSON)',
  );
  return { key, instanceId: psaInstanceIdOfKey(key), source };
}

function comidKeys(text: string, source: string): PsaEndorsedKey[] {
  let comid: unknown;
  try {
    comid = JSON.parse(text);
  } catch (error) {
    fail(source, `looks like a CoMID but is not JSON (${(error as Error).message})`);
  }
  // Readers disagree on which of two equal keys counts; an endorsement is a trust decision, so it must read one way.
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) fail(source, `is a CoMID with a repeated key at ${duplicate.path}`);
  if (!isRecord(comid)) fail(source, 'looks like a CoMID but is not a JSON object');
  if ('corim-id' in comid && !('triples' in comid)) {
    fail(source, 'is a CoRIM template, which holds no triples; give the CoMID JSON (with triples["attester-verification-keys"])');
  }
  const triples = comid['triples'];
  const records = isRecord(triples) ? triples['attester-verification-keys'] : undefined;
  if (!Array.isArray(records) || records.length === 0) fail(source, 'is a CoMID without triples["attester-verification-keys"] (the instance/key bindings)');

  return records.flatMap((record: unknown, index) => {
    const at = `${source} CoMID attester-verification-keys[${index}]`;
    if (!isRecord(record)) fail(at, 'is not an object');
    const environment = record['environment'];
    if (!isRecord(environment)) fail(at, 'has no environment');
    const instance = environment['instance'];
    if (!isRecord(instance)) fail(at, 'has no environment.instance: a key must be bound to one instance');
    if (instance['type'] !== 'ueid') fail(at, `names an instance of type ${JSON.stringify(instance['type'])}, which cannot be a PSA instance (ueid required)`);
    const instanceId = strictBase64(`${at}.environment.instance.value`, instance['value']);
    if (instanceId.length !== INSTANCE_ID_LENGTH || instanceId[0] !== 0x01) {
      fail(at, `names ueid ${toHex(instanceId)}, which is not a PSA instance id (0x01 followed by 32 bytes)`);
    }

    let implementationId: Uint8Array | undefined;
    const classMap = environment['class'];
    if (classMap !== undefined) {
      if (!isRecord(classMap)) fail(at, 'has an environment.class that is not an object');
      const classId = classMap['id'];
      if (classId !== undefined) {
        if (!isRecord(classId) || classId['type'] !== 'psa.impl-id') {
          fail(at, `has a class id of type ${JSON.stringify(isRecord(classId) ? classId['type'] : classId)}, not psa.impl-id`);
        }
        implementationId = strictBase64(`${at}.environment.class.id.value`, classId['value']);
        if (implementationId.length !== IMPLEMENTATION_ID_LENGTH) fail(at, `has a class id of ${implementationId.length} bytes; a PSA implementation id is 32`);
      }
    }

    const keys = record['verification-keys'];
    if (!Array.isArray(keys) || keys.length === 0) fail(at, 'has no verification-keys');
    return keys.map((entry: unknown, keyIndex): PsaEndorsedKey => {
      const keyAt = `${at}.verification-keys[${keyIndex}]`;
      if (!isRecord(entry)) fail(keyAt, 'is not an object');
      if (entry['type'] !== 'pkix-base64-key') {
        fail(keyAt, `has type ${JSON.stringify(entry['type'])}, which is not supported (a PSA IAK is endorsed as pkix-base64-key)`);
      }
      const pem = entry['value'];
      if (typeof pem !== 'string' || (pem.match(/-----BEGIN /g) ?? []).length !== 1 || !/^\s*-----BEGIN PUBLIC KEY-----[\s\S]*-----END PUBLIC KEY-----\s*$/.test(pem)) {
        fail(keyAt, 'is not one PEM "PUBLIC KEY" block');
      }
      const key = p256Key(keyAt, () => createPublicKey(pem), 'a PEM SubjectPublicKeyInfo');
      return { key, instanceId, ...(implementationId === undefined ? {} : { implementationId }), source: keyAt };
    });
  });
}

/**
 * Reads one PSA endorsement into the keys it endorses: a bare IAK public key (PEM or DER
 * SubjectPublicKeyInfo, P-256; its instance id derived as TF-M does), or a CoMID JSON whose
 * `attester-verification-keys` triples bind instance ids to keys (Veraison's form). `index` is the
 * endorsement's position, for messages. Throws `AttestationFailed` (`psa: endorsements[i]...`)
 * naming what is wrong; nothing it reads is secret.
 */
export function readPsaEndorsement(bytes: Uint8Array, index: number): PsaEndorsedKey[] {
  const source = `endorsements[${index}]`;
  const text = Buffer.from(bytes).toString('utf8');
  if (text.trimStart().startsWith('{')) return comidKeys(text, source);
  return [bareKey(bytes, source)];
}
