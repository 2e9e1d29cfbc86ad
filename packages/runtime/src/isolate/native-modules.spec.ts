import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { createCertificateAuthority, encodePolicyBinding, issueIsolateCertificate, pemToDer } from '@veracruz-ts/attestation/certificates';
import type { CertificateAuthorityPem } from '@veracruz-ts/attestation/certificates';
import { Code } from '@veracruz-ts/core';
import { parsePolicy } from '@veracruz-ts/policy';
import type { Policy } from '@veracruz-ts/policy';
import type { ChannelMessage } from '@veracruz-ts/protocol/channel';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { servicesFromPolicy } from '../services/registry.ts';
import { createTestPrincipal, testPolicyText } from '../session/test-fixture.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import { Isolate } from './isolate.ts';

const MEASUREMENT = createHash('sha256').update('native-modules.spec runtime').digest();

/**
 * An isolate in this process whose session layer is built as main.ts builds it: the policy's
 * native modules are translated by servicesFromPolicy before anything else, and mounted.
 */
function startIsolate() {
  const sent: ChannelMessage[] = [];
  let waiting: (() => void) | undefined;
  const mounted: VirtualFileSystem[] = [];
  const isolate = new Isolate<Policy>({
    platform: 'linux',
    ownMeasurement: MEASUREMENT,
    send: (message) => {
      sent.push(message);
      waiting?.();
    },
    parsePolicy: (text) => parsePolicy(text),
    createSessionHandler: (setup) => {
      const services = servicesFromPolicy(setup.policy.native_modules);
      mounted.push(new VirtualFileSystem({ services, budget: new MemoryBudget(setup.policy.max_memory_mib * 1024 * 1024) }));
      return { accept: () => {} };
    },
    onExit: () => {},
    log: () => {},
  });
  const next = async (): Promise<ChannelMessage> => {
    while (sent.length === 0) await new Promise<void>((resolve) => (waiting = resolve));
    return sent.shift()!;
  };
  return { isolate, next, mounted };
}

describe('the isolate refuses at initialize a policy whose native modules it cannot run', () => {
  let ca: CertificateAuthorityPem;
  let basePolicy: Record<string, unknown>;
  before(async () => {
    ca = await createCertificateAuthority({ notBefore: new Date(Date.now() - 3_600_000) });
    const principal = await createTestPrincipal('owner', [{ file_name: '/input/', rights: 6 }]);
    basePolicy = JSON.parse(testPolicyText({ principals: [principal], pasCertificatePem: ca.certificatePem, runtimeHashLinux: MEASUREMENT.toString('hex') })) as Record<string, unknown>;
  });

  /** Attests, then sends initialize with this policy and a valid certificate chain; returns the status reply. */
  async function initialize(nativeModules: unknown[]) {
    const started = startIsolate();
    const policy = JSON.stringify({ ...basePolicy, native_modules: nativeModules }, null, 2);
    const hash = createHash('sha256').update(policy).digest();
    started.isolate.handle({ type: 'attestation-request', nonce: new Uint8Array(32), policyBinding: encodePolicyBinding(hash, hash) });
    const response = await started.next();
    assert.equal(response.type, 'attestation-response');
    const csrDer = response.type === 'attestation-response' ? response.csr : new Uint8Array();
    const leaf = await issueIsolateCertificate({ csrDer, measurement: MEASUREMENT, ca, notBefore: new Date(Date.now() - 60_000) });
    started.isolate.handle({ type: 'initialize', policy: new TextEncoder().encode(policy), certificateChain: [leaf, pemToDer(ca.certificatePem, 'CERTIFICATE', 'CA')] });
    return { ...started, status: await started.next() };
  }

  it('serves Veracruz\'s single_client_postcard_native.json module', async () => {
    const { isolate, status, mounted } = await initialize([{ name: 'Postcard Service', type: { Static: { special_file: '/services/postcard_string.dat' } } }]);
    assert.deepEqual(status, { type: 'status', code: 'ok', message: '' });
    assert.equal(isolate.state, 'serving');
    assert.equal(mounted.length, 1);
  });

  it('answers a Provisioned module with an invalid_policy status naming it, and does not serve', async () => {
    const { isolate, status, mounted } = await initialize([
      { name: 'AEAD Service', type: { Static: { special_file: '/services/aead.dat' } } },
      { name: 'Image Filter', type: { Provisioned: { entry_point: '/program/image-filter' } } },
    ]);
    assert.equal(status.type, 'status');
    assert.equal(status.type === 'status' && status.code, Code.InvalidPolicy);
    assert.equal(status.type === 'status' && status.message,
      'native_modules[1] "Image Filter" (Provisioned, entry point /program/image-filter): a Provisioned module is native code run in a sandbox, '
      + 'and this runtime runs built-in services only (AEAD Service, Counter mode AES Service, Postcard Service)');
    assert.equal(isolate.state, 'attested');
    assert.equal(mounted.length, 0, 'nothing was mounted: the refusal comes first');
  });

  it('answers a Dynamic module named like a built-in with invalid_policy too', async () => {
    const { status } = await initialize([{ name: 'Counter mode AES Service', type: { Dynamic: { special_file: '/services/aesctr.dat', entry_point: '/native/aes' } } }]);
    assert.ok(status.type === 'status' && status.code === Code.InvalidPolicy && /"Counter mode AES Service" \(Dynamic, .*declare it \{"Static"/.test(status.message), JSON.stringify(status));
  });
});
