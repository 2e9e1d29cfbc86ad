/**
 * For the policy specs only: a policy in the shape of Veracruz's committed example, with real
 * certificates, and helpers to parse it and to assert how a change to it is refused.
 */
import assert from 'node:assert/strict';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { createIdentity } from './identity.ts';
import { parsePolicy } from './policy-parse.ts';

/** The time every policy here is checked at. */
export const AT = new Date('2026-06-01T00:00:00Z');
/** When the fixture certificates are valid. */
const validity = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z') };
/** The parties of the example policy, and its PAS CA. */
export const [dataOwner, resultReader, programProvider, pas] = await Promise.all([
  createIdentity('data owner', validity),
  createIdentity('result reader', validity),
  createIdentity('program provider', validity),
  createIdentity('PAS CA', validity),
]);
/** A certificate that expired before {@link AT}. */
export const expired = await createIdentity('old', { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2023-04-11T16:46:00Z') });

/** Veracruz's vc-pgen layout for a certificate: the base64 body on one line. */
export function oneLine(pem: string): string {
  return pem.trim().replace(/\n(?!-----END)/g, '').replace('-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----\n').replace(/-----END/, '\n-----END');
}

/** A policy as JSON that a test changes freely, valid or not. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into and break the policy at will; a precise type would refuse the broken shapes they test.
export type ExamplePolicy = Record<string, any>;

/** A policy in the shape of Veracruz's committed example (spec §1.8) with real certificates. */
export function examplePolicy(): ExamplePolicy {
  return {
    ciphersuite: 'TLS1_3_CHACHA20_POLY1305_SHA256',
    debug: true,
    enable_clock: true,
    execution_strategy: 'JIT',
    max_memory_mib: 2000,
    programs: [
      {
        file_rights: [
          { file_name: '/program_data/', rights: 24582 },
          { file_name: '/s3_app_input/', rights: 24582 },
          { file_name: '/user_input/', rights: 24582 },
          { file_name: '/output/', rights: 550470 },
          { file_name: '/program_internal/', rights: 550470 },
          { file_name: 'stdout', rights: 534084 },
          { file_name: 'stderr', rights: 534084 },
        ],
        id: 0,
        program_file_name: '/program/detector.wasm',
      },
    ],
    identities: [
      { certificate: oneLine(dataOwner.certificatePem), file_rights: [{ file_name: '/s3_app_input/', rights: 534084 }], id: 0 },
      {
        certificate: oneLine(resultReader.certificatePem),
        file_rights: [
          { file_name: '/user_input/', rights: 534084 },
          { file_name: '/output/', rights: 24582 },
          { file_name: 'stdout', rights: 24582 },
          { file_name: 'stderr', rights: 24582 },
          { file_name: '/program/', rights: 536879104 },
        ],
        id: 1,
      },
      {
        certificate: programProvider.certificatePem,
        file_rights: [
          { file_name: '/program/', rights: 534084 },
          { file_name: '/program_data/', rights: 534084 },
        ],
        id: 2,
      },
    ],
    file_hashes: [
      { file_path: '/program/detector.wasm', hash: '7612e3490f14a9ee523f357e86f97098a94678f4e06c8202cf307d163db9f7aa' },
      { file_path: '/program_data/coco.names', hash: '634a1132eb33f8091d60f2c346ababe8b905ae08387037aed883953b7329af84' },
    ],
    enclave_cert_expiry: { day: 11, hour: 16, minute: 46, month: 4, year: 2023 },
    proxy_attestation_server_url: 'veracruz-nitro-proxy:3010',
    proxy_service_cert: oneLine(pas.certificatePem),
    runtime_manager_hash_nitro: 'f2ae0de7bec92bcdbd4a96e2ae08d85a575f1aa64acb797bc4afa6b1d3cc8798',
    runtime_manager_hash_sgx: '',
    runtime_manager_hash_tz: '',
    veracruz_server_url: 'ec2-54-216-123-218.eu-west-1.compute.amazonaws.com:3014',
    pipelines: [
      {
        file_rights: [
          { file_name: '/output/', rights: 550470 },
          { file_name: 'stdout', rights: 534084 },
        ],
        id: 0,
        name: '0',
        pipeline: '/program/detector.wasm ; if /output/found { /program/detector.wasm ; }',
      },
    ],
    native_modules: [{ name: 'Counter mode AES Service', type: { Static: { special_file: '/services/aesctr.dat' } } }],
  };
}

/** Parses a policy value as pretty-printed JSON, at {@link AT}. */
export async function parse(value: unknown, options = {}) {
  return parsePolicy(JSON.stringify(value, null, 2), { at: AT, ...options });
}

/** Asserts that the example policy, changed by `mutate`, is refused as invalid with this message. */
export async function rejects(mutate: (policy: ExamplePolicy) => unknown, expected: string | RegExp, options = {}) {
  const policy = examplePolicy();
  mutate(policy);
  await assert.rejects(parse(policy, options), (error: unknown) => {
    assert.ok(error instanceof VeracruzError, `a VeracruzError, got ${String(error)}`);
    assert.equal(error.code, Code.InvalidPolicy);
    if (typeof expected === 'string') assert.equal(error.rawMessage, expected);
    else assert.match(error.rawMessage, expected);
    return true;
  });
}
