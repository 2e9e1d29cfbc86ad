import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { Right } from '@veracruz-ts/policy';
import type { NativeModule } from '@veracruz-ts/policy';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import { DEFAULT_SERVICES, decideNativeModules, servicesFromPolicy } from './registry.ts';

const BUILTINS = 'AEAD Service, Counter mode AES Service, Postcard Service';

const staticModule = (name: string, file: string): NativeModule => ({ name, type: { Static: { special_file: file } } });
const dynamicModule = (name: string, file: string, entryPoint: string): NativeModule => ({ name, type: { Dynamic: { special_file: file, entry_point: entryPoint } } });
const provisionedModule = (name: string, entryPoint: string): NativeModule => ({ name, type: { Provisioned: { entry_point: entryPoint } } });

/** What each entry becomes: the mounted special file, or the refusal's sentence. */
function outcomes(modules: NativeModule[]): string[] {
  return decideNativeModules(modules).map((decision) => (decision.outcome === 'mount' ? `mount ${decision.service.name} at ${decision.service.specialFile}` : `refuse: ${decision.reason}`));
}

describe('decideNativeModules: what each policy native_modules entry becomes', () => {
  it('mounts the three built-ins declared Static, at their normalized special files', () => {
    assert.deepEqual(outcomes([
      staticModule('AEAD Service', '/services//aead.dat'),
      staticModule('Counter mode AES Service', '/services/aesctr.dat'),
      staticModule('Postcard Service', '/services/./postcard_string.dat'),
    ]), [
      'mount AEAD Service at /services/aead.dat',
      'mount Counter mode AES Service at /services/aesctr.dat',
      'mount Postcard Service at /services/postcard_string.dat',
    ]);
  });

  it('refuses, naming the module, its kind and why, everything else', () => {
    const table: [NativeModule, string][] = [
      [staticModule('Aead Service', '/services/aead.dat'),
        `native_modules[0] "Aead Service" (Static, special file /services/aead.dat): no built-in service has this name; this runtime runs built-in services only (${BUILTINS})`],
      [dynamicModule('Darknet Inference', '/services/darknet.dat', '/native/darknet'),
        `native_modules[0] "Darknet Inference" (Dynamic, special file /services/darknet.dat, entry point /native/darknet): a Dynamic module is native code run in a sandbox, and this runtime runs built-in services only (${BUILTINS})`],
      [dynamicModule('AEAD Service', '/services/aead.dat', '/native/aead'),
        `native_modules[0] "AEAD Service" (Dynamic, special file /services/aead.dat, entry point /native/aead): a Dynamic module is native code run in a sandbox, and this runtime runs built-in services only (${BUILTINS}); to use the built-in "AEAD Service", declare it {"Static": {"special_file": ...}} instead`],
      [provisionedModule('Image Filter', '/program/image-filter'),
        `native_modules[0] "Image Filter" (Provisioned, entry point /program/image-filter): a Provisioned module is native code run in a sandbox, and this runtime runs built-in services only (${BUILTINS})`],
      [staticModule('AEAD Service', '/'),
        'native_modules[0] "AEAD Service" (Static, special file /): the special file cannot be the root directory'],
    ];
    for (const [module, reason] of table) {
      const [decision] = decideNativeModules([module]);
      assert.equal(decision?.outcome, 'refuse', module.name);
      assert.equal(decision.outcome === 'refuse' && decision.reason, reason);
      assert.equal(decision.kind, Object.keys(module.type)[0]);
    }
  });

  it('refuses special files that could not all work together', () => {
    assert.deepEqual(outcomes([
      staticModule('AEAD Service', '/services/crypto'),
      staticModule('Counter mode AES Service', '/services/crypto/ctr.dat'),
    ]), [
      'mount AEAD Service at /services/crypto',
      'refuse: native_modules[1] "Counter mode AES Service" (Static, special file /services/crypto/ctr.dat): the special file lies inside native_modules[0]\'s special file /services/crypto',
    ]);
    // The Postcard Service writes /services/postcard_result.dat: no special file may be there while it is declared.
    assert.deepEqual(outcomes([
      staticModule('Postcard Service', '/services/postcard_string.dat'),
      staticModule('AEAD Service', '/services/postcard_result.dat'),
    ])[1], 'refuse: native_modules[1] "AEAD Service" (Static, special file /services/postcard_result.dat): the special file is where the Postcard Service (native_modules[0]) writes its result');
    assert.deepEqual(outcomes([staticModule('AEAD Service', '/services/postcard_result.dat')]), ['mount AEAD Service at /services/postcard_result.dat']);
  });
});

describe('servicesFromPolicy', () => {
  it('gives the services to mount when every module works', () => {
    assert.deepEqual(servicesFromPolicy(undefined), []);
    assert.deepEqual(servicesFromPolicy([staticModule('Postcard Service', '/services/postcard_string.dat')]), [{ name: 'Postcard Service', specialFile: '/services/postcard_string.dat' }]);
  });

  it('throws InvalidPolicy naming every refused module, never mounting the rest without them', () => {
    assert.throws(
      () => servicesFromPolicy([
        staticModule('AEAD Service', '/services/aead.dat'),
        provisionedModule('Image Filter', '/program/image-filter'),
        dynamicModule('Darknet Inference', '/services/darknet.dat', '/native/darknet'),
      ]),
      (error: unknown) => {
        assert.ok(error instanceof VeracruzError);
        assert.equal(error.code, Code.InvalidPolicy);
        assert.match(error.rawMessage, /^native_modules\[1\] "Image Filter" \(Provisioned, entry point \/program\/image-filter\): .*; native_modules\[2\] "Darknet Inference" \(Dynamic, /);
        assert.doesNotMatch(error.rawMessage, /native_modules\[0\]/);
        return true;
      },
    );
  });

  it('vc-fee\'s defaults mount all three built-ins', () => {
    assert.deepEqual(DEFAULT_SERVICES.map((spec) => spec.name), BUILTINS.split(', '));
    const vfs = new VirtualFileSystem({ services: DEFAULT_SERVICES });
    for (const spec of DEFAULT_SERVICES) assert.ok(vfs.view([{ file_name: '/', rights: Right.PATH_OPEN }]).exists(spec.specialFile), spec.specialFile);
  });
});
