import { SYSTEM_CALLS } from '../wasi/signatures.ts';
import type { Section } from './wasm-binary.ts';
import { SectionId, WasmFormatError, readExports, readImports, readSections, readTypes } from './wasm-binary.ts';

const I32 = 0x7f;
const I64 = 0x7e;
const provided = new Map(SYSTEM_CALLS.map((call) => [`${call.module}.${call.name}`, call]));

/**
 * What stops a program from running here: imports the runtime does not provide (or provides with
 * another signature), and a missing `_start` function or `memory` export. Empty = runnable.
 * This is vc-wc's check, and the engine's before every execution.
 */
export function checkImports(wasm: Uint8Array): { unsupported: string[] } {
  const unsupported: string[] = [];
  let sections: Section[];
  try {
    sections = readSections(wasm);
    const find = (id: number) => sections.find((section) => section.id === id);
    const types = readTypes(wasm, find(SectionId.type));
    for (const entry of readImports(wasm, find(SectionId.import))) {
      const key = `${entry.module}.${entry.name}`;
      const call = provided.get(key);
      if (call === undefined || entry.kind !== 0) {
        unsupported.push(key);
        continue;
      }
      const type = types[entry.typeIndex ?? -1];
      const params = [...call.kinds].map((kind) => (kind === 'I' ? I64 : I32));
      const results = call.name === 'proc_exit' ? [] : [I32];
      const matches = type !== undefined && type.params.length === params.length && type.params.every((param, index) => param === params[index])
        && type.results.length === results.length && type.results.every((result, index) => result === results[index]);
      if (!matches) unsupported.push(`${key} (wrong signature)`);
    }
    const exports = readExports(wasm, find(SectionId.export));
    if (!exports.some((entry) => entry.name === '_start' && entry.kind === 0)) unsupported.push('export _start (missing)');
    if (!exports.some((entry) => entry.name === 'memory' && entry.kind === 2)) unsupported.push('export memory (missing)');
  } catch (reason) {
    if (reason instanceof WasmFormatError) return { unsupported: [`module: ${reason.message}`] };
    throw reason;
  }
  return { unsupported };
}
