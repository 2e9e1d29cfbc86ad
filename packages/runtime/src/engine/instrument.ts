import type { Section } from './wasm-binary.ts';
import {
  SectionId, WasmFormatError, WasmReader, concatBytes, encodeName, encodeS64, encodeSection, encodeU32, readImports,
} from './wasm-binary.ts';

/** Export names of the globals the instrumentation adds. */
export const INSTRUMENT_EXPORTS = { fuel: '__veracruz_fuel', growRefused: '__veracruz_grow_refused' } as const;

/** Rewritten sections (complete, with id and size) by section id. */
export interface InstrumentResult {
  sections: Map<number, Uint8Array>;
}

/** Opcodes after which a new basic block starts (the next instruction is a branch target or follows a branch). */
const BLOCK_ENDS = new Set([
  0x00, // unreachable
  0x02, 0x03, 0x04, 0x05, // block loop if else
  0x06, 0x07, 0x08, 0x09, 0x0a, // try catch throw rethrow throw_ref
  0x0b, 0x0c, 0x0d, 0x0e, 0x0f, // end br br_if br_table return
  0x12, 0x13, 0x15, // return_call return_call_indirect return_call_ref
  0x18, 0x19, 0x1f, // delegate catch_all try_table
  0xd5, 0xd6, // br_on_null br_on_non_null
]);

function skipMemarg(reader: WasmReader): void {
  const align = reader.u32();
  if (align & 0x40) reader.u32();
  reader.skipLeb();
}

/** Skips the immediates of a 0xfd (SIMD) instruction. */
function skipSimd(reader: WasmReader): void {
  const op = reader.u32();
  if (op <= 0x0b || op === 0x5c || op === 0x5d) skipMemarg(reader);
  else if (op === 0x0c || op === 0x0d) reader.skip(16);
  else if (op >= 0x15 && op <= 0x22) reader.skip(1);
  else if (op >= 0x54 && op <= 0x5b) {
    skipMemarg(reader);
    reader.skip(1);
  }
}

/** Skips the immediates of a 0xfc instruction. */
function skipMisc(reader: WasmReader): void {
  const op = reader.u32();
  if (op <= 7) return;
  if (op === 8 || op === 10 || op === 12 || op === 14) {
    reader.u32();
    reader.u32();
    return;
  }
  if (op === 9 || op === 11 || op === 13 || op === 15 || op === 16 || op === 17) {
    reader.u32();
    return;
  }
  throw new WasmFormatError(`unsupported instruction 0xfc ${op}`);
}

/** Skips the immediates of a 0xfe (atomics) instruction. */
function skipAtomic(reader: WasmReader): void {
  const op = reader.u32();
  if (op === 0x03) reader.skip(1);
  else skipMemarg(reader);
}

/** Reads one instruction at the reader's offset (opcode and immediates); returns the opcode. */
function skipInstruction(reader: WasmReader): number {
  const opcode = reader.u8();
  switch (opcode) {
    case 0x02: case 0x03: case 0x04: case 0x06:
      reader.s33();
      break;
    case 0x07: case 0x08: case 0x09: case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x14: case 0x15: case 0x18:
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0xd2: case 0xd5: case 0xd6:
      reader.u32();
      break;
    case 0x0e: {
      for (let count = reader.u32(); count > 0; count--) reader.u32();
      reader.u32();
      break;
    }
    case 0x11: case 0x13:
      reader.u32();
      reader.u32();
      break;
    case 0x1c: {
      for (let count = reader.u32(); count > 0; count--) {
        const type = reader.u8();
        if (type === 0x63 || type === 0x64) reader.s33();
      }
      break;
    }
    case 0x1f: {
      reader.s33();
      for (let count = reader.u32(); count > 0; count--) {
        const kind = reader.u8();
        if (kind <= 1) reader.u32();
        reader.u32();
      }
      break;
    }
    case 0x3f: case 0x40:
      reader.u32();
      break;
    case 0x41: case 0x42:
      reader.skipLeb();
      break;
    case 0x43:
      reader.skip(4);
      break;
    case 0x44:
      reader.skip(8);
      break;
    case 0xd0:
      reader.s33();
      break;
    case 0xfb:
      throw new WasmFormatError('garbage-collected types (0xfb instructions) are not supported');
    case 0xfc:
      skipMisc(reader);
      break;
    case 0xfd:
      skipSimd(reader);
      break;
    case 0xfe:
      skipAtomic(reader);
      break;
    default:
      if (opcode >= 0x28 && opcode <= 0x3e) skipMemarg(reader);
      else if (!((opcode >= 0x45 && opcode <= 0xc4) || opcode <= 0x1b || opcode === 0xd1 || opcode === 0xd3 || opcode === 0xd4)) {
        throw new WasmFormatError(`unknown opcode 0x${opcode.toString(16)} at byte ${reader.offset - 1}`);
      }
  }
  return opcode;
}

/** Counts defined globals in the global section. */
function countEntries(bytes: Uint8Array, section: Section | undefined): number {
  if (section === undefined) return 0;
  return new WasmReader(bytes, section.payloadStart, section.end).u32();
}

/**
 * Rewrites the code, global and export sections:
 * - adds globals `fuel` (i64), a scratch i32 and `grow refused` (i32), exporting fuel and the flag;
 * - replaces every `memory.grow` with one that also records a refusal in the flag;
 * - with `fuel`, charges each basic block's instruction count on entry (function entry, after
 *   block/loop/if/else/end and after each branch) and traps (`unreachable`) when the counter goes
 *   negative. The count is the same on every run of the same program and input: deterministic.
 */
export function instrumentCode(bytes: Uint8Array, sections: readonly Section[], options: { fuel: boolean }): InstrumentResult {
  const find = (id: number) => sections.find((section) => section.id === id);
  const importedGlobals = readImports(bytes, find(SectionId.import)).filter((entry) => entry.kind === 3).length;
  const globalSection = find(SectionId.global);
  const definedGlobals = countEntries(bytes, globalSection);
  const fuelGlobal = importedGlobals + definedGlobals;
  const scratchGlobal = fuelGlobal + 1;
  const refusedGlobal = fuelGlobal + 2;

  const result = new Map<number, Uint8Array>();
  const newGlobals = [0x7e, 0x01, 0x42, 0x00, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b];
  if (globalSection === undefined) {
    result.set(SectionId.global, encodeSection(SectionId.global, [3, ...newGlobals]));
  } else {
    const reader = new WasmReader(bytes, globalSection.payloadStart, globalSection.end);
    const count = reader.u32();
    result.set(SectionId.global, encodeSection(SectionId.global, concatBytes([
      Uint8Array.from(encodeU32(count + 3)), bytes.subarray(reader.offset, globalSection.end), Uint8Array.from(newGlobals),
    ])));
  }
  const exportSection = find(SectionId.export);
  const newExports = [
    ...encodeName(INSTRUMENT_EXPORTS.fuel), 0x03, ...encodeU32(fuelGlobal),
    ...encodeName(INSTRUMENT_EXPORTS.growRefused), 0x03, ...encodeU32(refusedGlobal),
  ];
  if (exportSection === undefined) {
    result.set(SectionId.export, encodeSection(SectionId.export, [2, ...newExports]));
  } else {
    const reader = new WasmReader(bytes, exportSection.payloadStart, exportSection.end);
    const count = reader.u32();
    result.set(SectionId.export, encodeSection(SectionId.export, concatBytes([
      Uint8Array.from(encodeU32(count + 2)), bytes.subarray(reader.offset, exportSection.end), Uint8Array.from(newExports),
    ])));
  }

  const growReplacement = Uint8Array.from([
    0x40, 0x00, // memory.grow 0
    0x24, ...encodeU32(scratchGlobal), // global.set scratch
    0x23, ...encodeU32(scratchGlobal), 0x41, 0x7f, 0x46, // scratch == -1
    0x04, 0x40, 0x41, 0x01, 0x24, ...encodeU32(refusedGlobal), 0x0b, // if: refused = 1
    0x23, ...encodeU32(scratchGlobal), // result
  ]);
  const fuelGet = [0x23, ...encodeU32(fuelGlobal)];
  const fuelSet = [0x24, ...encodeU32(fuelGlobal)];
  const chargeCache = new Map<number, Uint8Array>();
  const charge = (cost: number): Uint8Array => {
    let code = chargeCache.get(cost);
    if (code === undefined) {
      code = Uint8Array.from([
        ...fuelGet, 0x42, ...encodeS64(BigInt(cost)), 0x7d, ...fuelSet, // fuel -= cost
        ...fuelGet, 0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b, // if fuel < 0: unreachable
      ]);
      chargeCache.set(cost, code);
    }
    return code;
  };

  const codeSection = find(SectionId.code);
  if (codeSection !== undefined) {
    const reader = new WasmReader(bytes, codeSection.payloadStart, codeSection.end);
    const count = reader.u32();
    const bodies: Uint8Array[] = [Uint8Array.from(encodeU32(count))];
    for (let index = 0; index < count; index++) {
      const size = reader.u32();
      const bodyStart = reader.offset;
      const bodyEnd = bodyStart + size;
      const body = new WasmReader(bytes, bodyStart, bodyEnd);
      for (let groups = body.u32(); groups > 0; groups--) {
        body.u32();
        const type = body.u8();
        if (type === 0x63 || type === 0x64) body.s33();
      }
      const parts: Uint8Array[] = [bytes.subarray(bodyStart, body.offset)];
      let segmentStart = body.offset;
      let segmentCost = 0;
      let copiedUpTo = body.offset;
      const segmentParts: Uint8Array[] = [];
      const closeSegment = (at: number): void => {
        segmentParts.push(bytes.subarray(copiedUpTo, at));
        if (options.fuel && segmentCost > 0) parts.push(charge(segmentCost));
        parts.push(...segmentParts);
        segmentParts.length = 0;
        copiedUpTo = at;
        segmentCost = 0;
        segmentStart = at;
      };
      while (body.offset < bodyEnd) {
        const at = body.offset;
        const opcode = skipInstruction(body);
        segmentCost++;
        if (opcode === 0x40) {
          segmentParts.push(bytes.subarray(copiedUpTo, at), growReplacement);
          copiedUpTo = body.offset;
        }
        if (BLOCK_ENDS.has(opcode)) closeSegment(body.offset);
      }
      if (segmentStart < bodyEnd || segmentParts.length > 0) closeSegment(bodyEnd);
      const newBody = concatBytes(parts);
      bodies.push(Uint8Array.from(encodeU32(newBody.length)), newBody);
      reader.offset = bodyEnd;
    }
    result.set(SectionId.code, encodeSection(SectionId.code, concatBytes(bodies)));
  }
  return { sections: result };
}
