import type { NativeModule } from './policy-model.ts';
import { normalizePath } from './rights.ts';

/** The three kinds of Veracruz native module, as the keys of `NativeModuleType` in the JSON. */
export type NativeModuleKind = 'Static' | 'Dynamic' | 'Provisioned';

/**
 * Which kind a policy's native module is: `Static` (a service built into the runtime, reached
 * through its special file), `Dynamic` (native code at `entry_point`, reached through its special
 * file) or `Provisioned` (native code uploaded as a program and run like one).
 */
export function nativeModuleKind(module: NativeModule): NativeModuleKind {
  if ('Static' in module.type) return 'Static';
  if ('Dynamic' in module.type) return 'Dynamic';
  return 'Provisioned';
}

/** The native code a Dynamic or Provisioned module names (none for Static modules). */
export function nativeModuleEntryPoint(module: NativeModule): string | undefined {
  if ('Dynamic' in module.type) return module.type.Dynamic.entry_point;
  if ('Provisioned' in module.type) return module.type.Provisioned.entry_point;
  return undefined;
}

/** The normalized special file through which a native module is invoked (none for Provisioned modules). */
export function nativeModuleSpecialFile(module: NativeModule): string | undefined {
  if ('Static' in module.type) return normalizePath(module.type.Static.special_file);
  if ('Dynamic' in module.type) return normalizePath(module.type.Dynamic.special_file);
  return undefined;
}
