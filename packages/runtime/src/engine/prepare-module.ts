import { instrumentCode } from './instrument.ts';
import {
  SectionId, WasmFormatError, WasmReader, concatBytes, encodeName, encodeSection, encodeU32, readImports, readMemories, readSections,
} from './wasm-binary.ts';

/** Module and field under which a prepared program imports its (shared) linear memory. */
export const MEMORY_IMPORT = { module: '__veracruz', name: 'memory' } as const;
/**
 * Module and field under which a prepared program imports the memory budget's control memory (memory
 * index 1: the program's own code cannot name it, only the rewritten `memory.grow`).
 */
export const BUDGET_IMPORT = { module: '__veracruz', name: 'budget' } as const;
/** Bytes per wasm page. */
export const PAGE_SIZE = 65536;

/** A program rewritten to run under the engine. */
export interface PreparedModule {
  bytes: Uint8Array;
  /** Pages of the memory the engine must create and pass as MEMORY_IMPORT. */
  initialPages: number;
  maximumPages: number;
  /** Whether the module counts fuel (exports FUEL_EXPORT). */
  metered: boolean;
}

/** Position of a section id in the order the format requires. */
function sectionRank(id: number): number {
  const ranks: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };
  return ranks[id] ?? 0;
}

/** Options of {@link prepareModule}. */
export interface PrepareOptions {
  /** The memory cap in pages: the memory's maximum becomes min(declared maximum, cap). */
  maxPages: number;
  /** Insert fuel metering. */
  fuel: boolean;
}

/**
 * Rewrites a program so that (1) its memory is a shared memory imported from the engine, capped at
 * `maxPages` (so the runtime thread can serve system calls straight from the program's memory, and
 * memory.grow past the cap fails as the program's allocator expects), (2) memory.grow first reserves
 * its pages in the isolate's memory budget (imported as BUDGET_IMPORT) and fails when they do not fit,
 * and refusals are recorded, and (3) optionally, every basic block charges its instruction count to a fuel counter
 * and traps once it runs out.
 */
export function prepareModule(wasm: Uint8Array, options: PrepareOptions): PreparedModule {
  const sections = readSections(wasm);
  const memorySection = sections.find((section) => section.id === SectionId.memory);
  const memories = readMemories(wasm, memorySection);
  if (memories.length !== 1 || memories[0] === undefined) {
    throw new WasmFormatError(memories.length === 0 ? 'the program defines no memory' : 'the program defines several memories');
  }
  if (readImports(wasm, sections.find((section) => section.id === SectionId.import)).some((entry) => entry.kind === 2)) {
    throw new WasmFormatError('the program imports a memory (it must define its own)');
  }
  // The rewrite adds a second memory that only the engine's code may touch: a program whose own code
  // named memory 1 would be invalid as given, so checking the original keeps it from reaching it.
  if (!WebAssembly.validate(wasm as Uint8Array<ArrayBuffer>)) throw new WasmFormatError('the program is not a valid WebAssembly module');
  const memory = memories[0];
  if (memory.flags & 4) throw new WasmFormatError('64-bit memories are not supported');
  const maximumPages = Math.min(memory.maximum ?? 65536, options.maxPages);
  const initialPages = memory.minimum;

  const instrumented = instrumentCode(wasm, sections, { fuel: options.fuel });
  const importEntry = [
    ...encodeName(MEMORY_IMPORT.module), ...encodeName(MEMORY_IMPORT.name), 2, 0x03,
    ...encodeU32(Math.min(initialPages, maximumPages)), ...encodeU32(maximumPages),
    ...encodeName(BUDGET_IMPORT.module), ...encodeName(BUDGET_IMPORT.name), 2, 0x03, 1, 1,
  ];

  const replacements = instrumented.sections;
  const importSection = sections.find((section) => section.id === SectionId.import);
  if (importSection === undefined) {
    replacements.set(SectionId.import, encodeSection(SectionId.import, [2, ...importEntry]));
  } else {
    const reader = new WasmReader(wasm, importSection.payloadStart, importSection.end);
    const count = reader.u32();
    replacements.set(SectionId.import, encodeSection(SectionId.import, concatBytes([
      Uint8Array.from(encodeU32(count + 2)), wasm.subarray(reader.offset, importSection.end), Uint8Array.from(importEntry),
    ])));
  }
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  const present = new Set(sections.map((section) => section.id));
  const emitNewBefore = (rank: number): void => {
    for (const [id, section] of [...replacements].sort(([a], [b]) => sectionRank(a) - sectionRank(b))) {
      if (present.has(id) || sectionRank(id) >= rank) continue;
      parts.push(section);
      replacements.delete(id);
    }
  };
  for (const section of sections) {
    if (section.id === SectionId.custom) {
      parts.push(wasm.subarray(section.start, section.end));
      continue;
    }
    emitNewBefore(sectionRank(section.id));
    if (section.id === SectionId.memory) continue;
    const replacement = replacements.get(section.id);
    replacements.delete(section.id);
    parts.push(replacement ?? wasm.subarray(section.start, section.end));
  }
  emitNewBefore(Infinity);
  return { bytes: concatBytes(parts), initialPages, maximumPages, metered: options.fuel };
}
