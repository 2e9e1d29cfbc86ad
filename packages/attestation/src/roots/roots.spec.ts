import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pemCertificates, parseCertificate } from '../chain.ts';
import { AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_SHA256 } from './aws-nitro.ts';
import { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from './intel.ts';
import { AMD_ROOTS } from './amd.ts';

function fingerprint(pem: string): string {
  const ders = pemCertificates(pem);
  assert.equal(ders.length, 1);
  return createHash('sha256').update(ders[0]!).digest('hex');
}

// The fingerprints are written out here, independently of the sources, so a changed root fails.
test('AWS Nitro Enclaves Root G1 has its published fingerprint', () => {
  assert.equal(fingerprint(AWS_NITRO_ROOT_G1_PEM), '641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b');
  assert.equal(AWS_NITRO_ROOT_G1_SHA256, fingerprint(AWS_NITRO_ROOT_G1_PEM));
  assert.match(parseCertificate(AWS_NITRO_ROOT_G1_PEM, 'root').subject, /CN=aws\.nitro-enclaves/);
});

test('Intel SGX Root CA has its fingerprint', () => {
  assert.equal(fingerprint(INTEL_SGX_ROOT_CA_PEM), '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3');
  assert.equal(INTEL_SGX_ROOT_CA_SHA256, fingerprint(INTEL_SGX_ROOT_CA_PEM));
  assert.match(parseCertificate(INTEL_SGX_ROOT_CA_PEM, 'root').subject, /CN=Intel SGX Root CA/);
});

test('AMD ARK, ASK and ASVK per family have their fingerprints and names', () => {
  const expected = {
    Milan: {
      ark: '69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd',
      ask: '67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b',
      asvk: 'c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5',
    },
    Genoa: {
      ark: '4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1',
      ask: '5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521',
      asvk: '197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372',
    },
    Turin: {
      ark: '1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a',
      ask: '5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185',
      asvk: '104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c',
    },
  } as const;
  for (const family of ['Milan', 'Genoa', 'Turin'] as const) {
    const roots = AMD_ROOTS[family];
    assert.equal(fingerprint(roots.ark), expected[family].ark, `${family} ARK`);
    assert.equal(fingerprint(roots.ask), expected[family].ask, `${family} ASK`);
    assert.equal(fingerprint(roots.asvk), expected[family].asvk, `${family} ASVK`);
    assert.match(parseCertificate(roots.ark, 'ark').subject, new RegExp(`CN=ARK-${family}$`));
    assert.match(parseCertificate(roots.ask, 'ask').subject, new RegExp(`CN=SEV-${family}$`));
    assert.match(parseCertificate(roots.asvk, 'asvk').subject, new RegExp(`CN=SEV-VLEK-${family}$`));
  }
});
