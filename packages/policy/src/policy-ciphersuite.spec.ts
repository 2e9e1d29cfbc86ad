import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VeracruzError } from '@veracruz-ts/core';
import { CIPHERSUITES, opensslCiphersuite, tls13Ciphersuite } from './policy-ciphersuite.ts';
import { examplePolicy, parse, rejects } from './test-fixture.ts';

test('maps ciphersuites to OpenSSL names', () => {
  assert.equal(opensslCiphersuite('TLS1_3_CHACHA20_POLY1305_SHA256'), 'TLS_CHACHA20_POLY1305_SHA256');
  assert.equal(opensslCiphersuite('TLS1_3_AES_128_GCM_SHA256'), 'TLS_AES_128_GCM_SHA256');
  assert.equal(CIPHERSUITES['TLS1_3_AES_256_GCM_SHA384'], 'TLS_AES_256_GCM_SHA384');
  assert.throws(() => opensslCiphersuite('toString'), VeracruzError);
});

test('accepts a TLS 1.2 ciphersuite name as Veracruz did, standing for the TLS 1.3 suite with the same cipher', async () => {
  for (const name of ['TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256']) {
    const value = examplePolicy();
    value['ciphersuite'] = name;
    const policy = await parse(value);
    assert.equal(policy.ciphersuite, name, 'kept as written: the policy hash covers it');
    assert.equal(tls13Ciphersuite(name), 'TLS1_3_CHACHA20_POLY1305_SHA256');
    assert.equal(opensslCiphersuite(name), 'TLS_CHACHA20_POLY1305_SHA256');
  }
  assert.equal(opensslCiphersuite('TLS1_2_ECDHE_RSA_WITH_AES_256_GCM_SHA384'), 'TLS_AES_256_GCM_SHA384');
  assert.equal(opensslCiphersuite('TLS_DHE_RSA_WITH_AES_128_CCM_8'), 'TLS_AES_128_CCM_8_SHA256');
  assert.equal(tls13Ciphersuite('TLS1_3_AES_128_GCM_SHA256'), 'TLS1_3_AES_128_GCM_SHA256');
  // Only AEAD suites: a CBC suite has no TLS 1.3 counterpart, and ECDHE_RSA has no CCM suite.
  assert.equal(tls13Ciphersuite('TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256'), undefined);
  assert.equal(tls13Ciphersuite('TLS1_2_ECDHE_RSA_WITH_AES_128_CCM'), undefined);
  assert.equal(tls13Ciphersuite('toString'), undefined);
  // Every TLS 1.2 AEAD suite with forward secrecy names a TLS 1.3 suite this runtime has.
  for (const exchange of ['ECDHE_ECDSA', 'ECDHE_RSA', 'DHE_RSA']) {
    for (const cipher of ['CHACHA20_POLY1305_SHA256', 'AES_128_GCM_SHA256', 'AES_256_GCM_SHA384', 'AES_128_CCM', 'AES_128_CCM_8']) {
      for (const prefix of ['TLS', 'TLS1_2']) {
        const tls13 = tls13Ciphersuite(`${prefix}_${exchange}_WITH_${cipher}`);
        if (exchange === 'ECDHE_RSA' && cipher.includes('CCM')) assert.equal(tls13, undefined);
        else assert.ok(tls13 !== undefined && Object.hasOwn(CIPHERSUITES, tls13), `${prefix}_${exchange}_WITH_${cipher}`);
      }
    }
  }
  await rejects((p) => (p['ciphersuite'] = 'TLS1_2_RSA_WITH_RC4_128_SHA'), /^ciphersuite: unknown ciphersuite "TLS1_2_RSA_WITH_RC4_128_SHA" \(known: .*; or a TLS 1\.2 AEAD suite such as TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256/);
});
