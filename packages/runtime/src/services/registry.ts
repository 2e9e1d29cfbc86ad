import { Code, VeracruzError } from '@veracruz-ts/core';
import { nativeModuleEntryPoint, nativeModuleKind, nativeModuleSpecialFile } from '@veracruz-ts/policy';
import type { NativeModule, NativeModuleKind } from '@veracruz-ts/policy';
import { aeadService, aesCounterModeService } from './aes-services.ts';
import type { NativeService, ServiceSpec } from './native-service.ts';
import { POSTCARD_RESULT_PATH, postcardService } from './postcard-service.ts';

/** The built-in static native services, by their Veracruz policy names. */
export const BUILTIN_SERVICES: ReadonlyMap<string, NativeService> = new Map([
  [aeadService.name, aeadService],
  [aesCounterModeService.name, aesCounterModeService],
  [postcardService.name, postcardService],
]);

const BUILTIN_NAMES = [...BUILTIN_SERVICES.keys()].join(', ');

/** The built-in service named `name`; InvalidPolicy if there is none. */
export function createService(name: string): NativeService {
  const service = BUILTIN_SERVICES.get(name);
  if (service === undefined) {
    throw new VeracruzError(Code.InvalidPolicy, `native module ${JSON.stringify(name)}: no such static service (known: ${BUILTIN_NAMES})`);
  }
  return service;
}

/**
 * The services vc-fee mounts without a policy: AEAD at `/services/aead.dat`, AES-CTR at
 * `/services/aesctr.dat`, Postcard at `/services/postcard_string.dat` (the paths of Veracruz's
 * generated policies and example programs).
 */
export const DEFAULT_SERVICES: readonly ServiceSpec[] = [
  { name: 'AEAD Service', specialFile: '/services/aead.dat' },
  { name: 'Counter mode AES Service', specialFile: '/services/aesctr.dat' },
  { name: 'Postcard Service', specialFile: '/services/postcard_string.dat' },
];

/** What this runtime makes of one policy `native_modules` entry: a service it mounts, or a refusal that says why. */
export type NativeModuleDecision =
  | { index: number; name: string; kind: NativeModuleKind; outcome: 'mount'; service: ServiceSpec }
  | { index: number; name: string; kind: NativeModuleKind; outcome: 'refuse'; reason: string };

/** How an entry is named in a refusal: `native_modules[1] "AEAD Service" (Dynamic, special file ..., entry point ...)`. */
function describe(module: NativeModule, index: number): string {
  const details: string[] = [nativeModuleKind(module)];
  const specialFile = nativeModuleSpecialFile(module);
  if (specialFile !== undefined) details.push(`special file ${specialFile}`);
  const entryPoint = nativeModuleEntryPoint(module);
  if (entryPoint !== undefined) details.push(`entry point ${entryPoint}`);
  return `native_modules[${index}] ${JSON.stringify(module.name)} (${details.join(', ')})`;
}

/** Whether `ancestor` is a proper whole-component prefix of `path` (both normalized). */
function isUnder(path: string, ancestor: string): boolean {
  return path.startsWith(ancestor === '/' ? '/' : `${ancestor}/`) && path !== ancestor;
}

/**
 * Decides, for each entry of a policy's `native_modules`, what this runtime does with it. The one
 * place that decides: the isolate (at initialize) and vc-fee (at start) both go through
 * {@link servicesFromPolicy}, so a policy works or is refused the same way in both.
 *
 * - `Static` with a built-in's name (`AEAD Service`, `Counter mode AES Service`, `Postcard Service`):
 *   mounted at its special file.
 * - `Static` with any other name: refused (Veracruz failed only when a program first wrote to it).
 * - `Dynamic` and `Provisioned`: refused. They are native code run in a sandbox; this runtime
 *   runs built-in services only. A `Dynamic` module named like a built-in is refused too: its
 *   policy names native code at `entry_point` that the parties agreed to run, and Veracruz ran
 *   that code, not the built-in; mounting the built-in instead would run something the policy does
 *   not say. The refusal tells how to ask for the built-in (declare it `Static`).
 * - A special file that is the root, lies inside another module's special file, or is the
 *   Postcard Service's result file ({@link POSTCARD_RESULT_PATH}) while that service is declared:
 *   refused, since the two could not both work.
 */
export function decideNativeModules(nativeModules: readonly NativeModule[]): NativeModuleDecision[] {
  const specialFiles = nativeModules.map((module) => nativeModuleSpecialFile(module));
  const postcardIndex = nativeModules.findIndex((module) => 'Static' in module.type && module.name === postcardService.name);
  return nativeModules.map((module, index): NativeModuleDecision => {
    const kind = nativeModuleKind(module);
    const refuse = (why: string): NativeModuleDecision => ({ index, name: module.name, kind, outcome: 'refuse', reason: `${describe(module, index)}: ${why}` });
    const builtinsOnly = `this runtime runs built-in services only (${BUILTIN_NAMES})`;
    if (kind === 'Provisioned') return refuse(`a Provisioned module is native code run in a sandbox, and ${builtinsOnly}`);
    if (kind === 'Dynamic') {
      const hint = BUILTIN_SERVICES.has(module.name)
        ? `; to use the built-in ${JSON.stringify(module.name)}, declare it {"Static": {"special_file": ...}} instead`
        : '';
      return refuse(`a Dynamic module is native code run in a sandbox, and ${builtinsOnly}${hint}`);
    }
    if (!BUILTIN_SERVICES.has(module.name)) return refuse(`no built-in service has this name; ${builtinsOnly}`);
    const specialFile = specialFiles[index]!;
    if (specialFile === '/') return refuse('the special file cannot be the root directory');
    const container = specialFiles.findIndex((other) => other !== undefined && isUnder(specialFile, other));
    if (container !== -1) return refuse(`the special file lies inside native_modules[${container}]'s special file ${specialFiles[container]}`);
    if (postcardIndex !== -1 && specialFile === POSTCARD_RESULT_PATH) {
      return refuse(`the special file is where the Postcard Service (native_modules[${postcardIndex}]) writes its result`);
    }
    return { index, name: module.name, kind, outcome: 'mount', service: { name: module.name, specialFile } };
  });
}

/**
 * The services to mount for a policy's `native_modules`, as {@link decideNativeModules} decides;
 * throws VeracruzError(InvalidPolicy) naming every refused module and why when any is refused, so
 * a policy never runs with a module silently missing.
 */
export function servicesFromPolicy(nativeModules: readonly NativeModule[] | undefined): ServiceSpec[] {
  const decisions = decideNativeModules(nativeModules ?? []);
  const refusals = decisions.flatMap((decision) => (decision.outcome === 'refuse' ? [decision.reason] : []));
  if (refusals.length > 0) throw new VeracruzError(Code.InvalidPolicy, refusals.join('; '));
  return decisions.flatMap((decision) => (decision.outcome === 'mount' ? [decision.service] : []));
}
