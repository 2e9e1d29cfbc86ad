import { Code, VeracruzError } from '@veracruz-ts/policy';
import { aeadService, aesCounterModeService } from './aes-services.ts';
import type { NativeService, ServiceSpec } from './native-service.ts';

/** The built-in static native services, by their Veracruz policy names. */
export const BUILTIN_SERVICES: ReadonlyMap<string, NativeService> = new Map([
  [aeadService.name, aeadService],
  [aesCounterModeService.name, aesCounterModeService],
]);

/** The built-in service named `name`; InvalidPolicy if there is none. */
export function createService(name: string): NativeService {
  const service = BUILTIN_SERVICES.get(name);
  if (service === undefined) {
    throw new VeracruzError(Code.InvalidPolicy, `native module ${JSON.stringify(name)}: no such static service (known: ${[...BUILTIN_SERVICES.keys()].join(', ')})`);
  }
  return service;
}

/** The services vc-fee mounts by default: AEAD at `/services/aead.dat`, AES-CTR at `/services/aesctr.dat`. */
export const DEFAULT_SERVICES: readonly ServiceSpec[] = [
  { name: 'AEAD Service', specialFile: '/services/aead.dat' },
  { name: 'Counter mode AES Service', specialFile: '/services/aesctr.dat' },
];

/**
 * The services a policy's `native_modules` declare: static ones (`{"type": {"Static": {"special_file": P}}}`)
 * are mounted; others (dynamic, provisioned) are refused with InvalidPolicy since they need a native sandbox.
 */
export function servicesFromPolicy(nativeModules: readonly unknown[] | undefined): ServiceSpec[] {
  const specs: ServiceSpec[] = [];
  for (const [index, entry] of (nativeModules ?? []).entries()) {
    const module = entry as { name?: unknown; type?: { Static?: { special_file?: unknown } } };
    const file = module.type?.Static?.special_file;
    if (typeof module.name !== 'string' || typeof file !== 'string') {
      throw new VeracruzError(Code.InvalidPolicy, `native_modules[${index}]: only static modules with a special_file are supported`);
    }
    specs.push({ name: module.name, specialFile: file });
  }
  return specs;
}
