import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { defaultPasConfig, parseListen, parsePasConfig } from './config.ts';
import { checkMeasurement, parseMeasurementHex } from './measurement-policy.ts';
import { parsePlatform, platformOfRouteName } from './platforms.ts';
import type { ReferenceValueRecord } from './store.ts';

const at = new Date(0);
const entry = (platform: ReferenceValueRecord['platform'], measurement: string, kind: 'accept' | 'deny'): ReferenceValueRecord => ({
  platform,
  measurement,
  kind,
  addedAt: at,
});

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === Code.AttestationFailed && pattern.test(error.rawMessage);
}

describe('checkMeasurement', () => {
  const m32 = new Uint8Array(32).fill(0x11);
  const m48 = new Uint8Array(48).fill(0x22);

  it('accepts anything when the platform has no values', () => {
    checkMeasurement('linux', m32, [entry('nitro', '33'.repeat(32), 'accept')]);
  });

  it('refuses a denied measurement, even when it is also accepted', () => {
    assert.throws(
      () => checkMeasurement('linux', m32, [entry('linux', '11'.repeat(32), 'accept'), entry('linux', '11'.repeat(32), 'deny')]),
      refusal(/linux: measurement 1111.* is on the deny-list/),
    );
  });

  it('refuses a measurement missing from the reference values', () => {
    assert.throws(() => checkMeasurement('linux', m32, [entry('linux', '33'.repeat(32), 'accept')]), refusal(/not among the 1 reference value/));
    checkMeasurement('linux', m32, [entry('linux', '33'.repeat(32), 'accept'), entry('linux', '11'.repeat(32), 'accept')]);
  });

  it('matches 48-byte measurements in full or by their first 32 bytes', () => {
    checkMeasurement('nitro', m48, [entry('nitro', '22'.repeat(48), 'accept')]);
    checkMeasurement('nitro', m48, [entry('nitro', '22'.repeat(32), 'accept')]);
    assert.throws(() => checkMeasurement('nitro', m48, [entry('nitro', '22'.repeat(32), 'deny')]), refusal(/deny-list/));
  });
});

describe('parseMeasurementHex', () => {
  it('normalises case and 0x, and refuses other lengths', () => {
    assert.equal(parseMeasurementHex(`0x${'AB'.repeat(32)}`), 'ab'.repeat(32));
    assert.equal(parseMeasurementHex('ab'.repeat(48)), 'ab'.repeat(48));
    assert.throws(() => parseMeasurementHex('ab'.repeat(33)), /64 or 96 hex digits/);
    assert.throws(() => parseMeasurementHex('zz'.repeat(32)), /64 or 96 hex digits/);
  });
});

describe('platform names', () => {
  it("maps Veracruz's route names and the project's names", () => {
    assert.equal(platformOfRouteName('SEV'), 'sev-snp');
    assert.equal(platformOfRouteName('Linux'), 'linux');
    assert.equal(platformOfRouteName('linux'), undefined);
    assert.equal(parsePlatform('sev-snp'), 'sev-snp');
    assert.equal(parsePlatform('PSA'), 'psa');
    assert.throws(() => parsePlatform('sev'), /unknown platform "sev"/);
  });
});

describe('PAS configuration', () => {
  it('fills defaults and round-trips what init writes', () => {
    assert.deepEqual(parsePasConfig('{}'), defaultPasConfig());
    assert.deepEqual(parsePasConfig(JSON.stringify(defaultPasConfig())), defaultPasConfig());
    const custom = parsePasConfig(JSON.stringify({ sessionTtlSeconds: 10, platforms: { nitro: { enabled: false, trustAnchors: ['root.pem'] } } }));
    assert.equal(custom.sessionTtlSeconds, 10);
    assert.equal(custom.platforms.nitro.enabled, false);
    assert.deepEqual(custom.platforms.nitro.trustAnchors, ['root.pem']);
    assert.equal(custom.platforms.psa.enabled, true);
  });

  it('carries the Start limits, with their defaults', () => {
    const defaults = parsePasConfig('{}');
    assert.deepEqual(
      [defaults.maxOpenSessions, defaults.startRatePerSecond, defaults.startBurst, defaults.startRateMaxClients],
      [10_000, 20, 40, 10_000],
    );
    const custom = parsePasConfig(JSON.stringify({ maxOpenSessions: 100, startRatePerSecond: 0.5, startBurst: 3, startRateMaxClients: 50 }));
    assert.deepEqual(
      [custom.maxOpenSessions, custom.startRatePerSecond, custom.startBurst, custom.startRateMaxClients],
      [100, 0.5, 3, 50],
    );
  });

  it('refuses unknown fields, wrong types and bad values by name', () => {
    const cases: [string, RegExp][] = [
      ['[]', /not a JSON object/],
      ['{', /not JSON/],
      ['{"sessionTTL": 3}', /unknown field "sessionTTL"/],
      ['{"sessionTtlSeconds": 0}', /sessionTtlSeconds must be a positive integer/],
      ['{"maxBodyBytes": "1M"}', /maxBodyBytes must be a positive integer/],
      ['{"allowDebug": "yes"}', /allowDebug must be a boolean/],
      ['{"maxOpenSessions": 0}', /maxOpenSessions must be a positive integer/],
      ['{"startRatePerSecond": "20"}', /startRatePerSecond must be a positive number/],
      ['{"startBurst": 2.5}', /startBurst must be a positive integer/],
      ['{"startRateMaxClients": -1}', /startRateMaxClients must be a positive integer/],
      ['{"version": 2}', /version 2 is not supported/],
      ['{"listen": "localhost"}', /not host:port/],
      ['{"platforms": {"vax": {}}}', /unknown platform "vax"/],
      ['{"platforms": {"nitro": {"roots": []}}}', /platforms.nitro: unknown field "roots"/],
      ['{"platforms": {"nitro": {"endorsements": [1]}}}', /platforms.nitro.endorsements must be an array of file names/],
    ];
    for (const [text, pattern] of cases) assert.throws(() => parsePasConfig(text), pattern, text);
  });

  it('parses listen addresses, IPv6 included', () => {
    assert.deepEqual(parseListen('127.0.0.1:3010'), { host: '127.0.0.1', port: 3010 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.throws(() => parseListen('127.0.0.1:70000'), /not host:port/);
  });
});
