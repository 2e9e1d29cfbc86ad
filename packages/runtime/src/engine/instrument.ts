import type { Section } from './wasm-binary.ts';
import {
  SectionId, WasmFormatError, WasmReader, concatBytes, encodeName, encodeS64, encodeSection, encodeU32, readImports, readTypes,
} from './wasm-binary.ts';

/** Export names of the globals the instrumentation adds. */
export const INSTRUMENT_EXPORTS = { fuel: '__veracruz_fuel', growRefused: '__veracruz_grow_refused' } as const;

/** Rewritten sections (complete, with id and size) by section id. */
export interface InstrumentResult {
  sections: Map<number, Uint8Array>;
}

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

/** The type index of each defined function (function section). */
function readFunctionTypeIndices(bytes: Uint8Array, section: Section | undefined): number[] {
  if (section === undefined) return [];
  const reader = new WasmReader(bytes, section.payloadStart, section.end);
  const indices: number[] = [];
  for (let count = reader.u32(); count > 0; count--) indices.push(reader.u32());
  return indices;
}

/** Skips a body's local declarations; returns how many locals they declare. */
function skipLocals(body: WasmReader): { groups: number; locals: number; declarationsStart: number } {
  let locals = 0;
  const groups = body.u32();
  const declarationsStart = body.offset;
  for (let group = 0; group < groups; group++) {
    locals += body.u32();
    const type = body.u8();
    if (type === 0x63 || type === 0x64) body.s33();
  }
  return { groups, locals, declarationsStart };
}

/** A body with every memory.grow replaced by the recording sequence (no metering). */
function replaceGrow(bytes: Uint8Array, start: number, end: number, growReplacement: Uint8Array): Uint8Array {
  const body = new WasmReader(bytes, start, end);
  skipLocals(body);
  const parts: Uint8Array[] = [];
  let copied = start;
  while (body.offset < end) {
    const at = body.offset;
    if (skipInstruction(body) === 0x40) {
      parts.push(bytes.subarray(copied, at), growReplacement);
      copied = body.offset;
    }
  }
  parts.push(bytes.subarray(copied, end));
  return parts.length === 1 ? bytes.subarray(start, end) : concatBytes(parts);
}

/**
 * A metered body. The fuel counter lives in a new i64 local while the function runs (a register,
 * not a memory access per charge); it is loaded from the global at entry and after each call, and
 * stored back before each call, return, branch out of the function and exhaustion trap.
 *
 * Each straight-line region is charged its instruction count when it is entered: at function
 * entry, at each loop head (once per iteration), at the start of then/else/catch arms, and after
 * the end of a block, if or try (a join point). A conditional branch leaving a region early still
 * pays for the whole region, so the count is an upper bound on instructions executed and depends
 * only on the path taken: the same program and input run out at the same point every time.
 */
function meterBody(bytes: Uint8Array, start: number, end: number, params: number, fuelGlobal: number, growReplacement: Uint8Array): Uint8Array {
  const body = new WasmReader(bytes, start, end);
  const { groups, locals, declarationsStart } = skipLocals(body);
  const fuelLocal = params + locals;
  const localGet = [0x20, ...encodeU32(fuelLocal)];
  const localSet = [0x21, ...encodeU32(fuelLocal)];
  const localTee = [0x22, ...encodeU32(fuelLocal)];
  const globalGet = [0x23, ...encodeU32(fuelGlobal)];
  const globalSet = [0x24, ...encodeU32(fuelGlobal)];
  const store = Uint8Array.from([...localGet, ...globalSet]);
  const load = Uint8Array.from([...globalGet, ...localSet]);
  const charge = (cost: number): Uint8Array => Uint8Array.from([
    ...localGet, 0x42, ...encodeS64(BigInt(cost)), 0x7d, ...localTee, // fuel -= cost
    0x42, 0x00, 0x53, 0x04, 0x40, ...store, 0x00, 0x0b, // if fuel < 0: store, unreachable
  ]);

  const parts: Uint8Array[] = [
    Uint8Array.from(encodeU32(groups + 1)), bytes.subarray(declarationsStart, body.offset), Uint8Array.of(1, 0x7e), load,
  ];
  let segment: Uint8Array[] = [];
  let cost = 0;
  let copied = body.offset;
  /** Open blocks: true for a loop (its end is not a join point). */
  const open: boolean[] = [];
  const take = (upTo: number): void => {
    if (upTo > copied) segment.push(bytes.subarray(copied, upTo));
    copied = upTo;
  };
  const closeSegment = (): void => {
    take(body.offset);
    if (cost > 0) parts.push(charge(cost));
    parts.push(...segment);
    segment = [];
    cost = 0;
  };
  while (body.offset < end) {
    const at = body.offset;
    const opcode = bytes[at] as number;
    let leavesFunction = false;
    if (opcode === 0x0c || opcode === 0x0d) {
      const peek = new WasmReader(bytes, at + 1, end);
      leavesFunction = peek.u32() === open.length;
    } else if (opcode === 0x0e) {
      const peek = new WasmReader(bytes, at + 1, end);
      for (let count = peek.u32() + 1; count > 0; count--) if (peek.u32() === open.length) leavesFunction = true;
    } else if (opcode === 0x0f || opcode === 0x12 || opcode === 0x13 || opcode === 0x15 || opcode === 0x08 || opcode === 0x09 || opcode === 0x0a) {
      leavesFunction = true;
    } else if (opcode === 0x0b && open.length === 0) {
      leavesFunction = true;
    }
    const isCall = opcode === 0x10 || opcode === 0x11 || opcode === 0x14;
    if (leavesFunction || isCall) {
      take(at);
      segment.push(store);
    }
    skipInstruction(body);
    cost++;
    if (opcode === 0x40) {
      segment.push(bytes.subarray(copied, at), growReplacement);
      copied = body.offset;
    }
    if (isCall) {
      take(body.offset);
      segment.push(load);
    }
    switch (opcode) {
      case 0x02: case 0x06: case 0x1f:
        open.push(false);
        break;
      case 0x03:
        open.push(true);
        closeSegment();
        break;
      case 0x04:
        open.push(false);
        closeSegment();
        break;
      case 0x05: case 0x07: case 0x19:
        closeSegment();
        break;
      case 0x18:
        open.pop();
        closeSegment();
        break;
      case 0x0b: {
        if (open.length === 0) break;
        const wasLoop = open.pop();
        if (wasLoop !== true) closeSegment();
        break;
      }
    }
  }
  closeSegment();
  return concatBytes(parts);
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
 * - with `fuel`, meters every function (see {@link meterBody}) and traps (`unreachable`) once the
 *   counter goes negative. The count is the same on every run of the same program and input.
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
  const codeSection = find(SectionId.code);
  if (codeSection !== undefined) {
    const types = readTypes(bytes, find(SectionId.type));
    const importedFunctions = readImports(bytes, find(SectionId.import)).filter((entry) => entry.kind === 0).length;
    const functionTypes = readFunctionTypeIndices(bytes, find(SectionId.function));
    const reader = new WasmReader(bytes, codeSection.payloadStart, codeSection.end);
    const count = reader.u32();
    const bodies: Uint8Array[] = [Uint8Array.from(encodeU32(count))];
    for (let index = 0; index < count; index++) {
      const size = reader.u32();
      const bodyStart = reader.offset;
      const bodyEnd = bodyStart + size;
      const typeIndex = functionTypes[index];
      const params = typeIndex === undefined ? undefined : types[typeIndex]?.params.length;
      if (params === undefined) throw new WasmFormatError(`function ${importedFunctions + index} has no function type`);
      const newBody = options.fuel
        ? meterBody(bytes, bodyStart, bodyEnd, params, fuelGlobal, growReplacement)
        : replaceGrow(bytes, bodyStart, bodyEnd, growReplacement);
      bodies.push(Uint8Array.from(encodeU32(newBody.length)), newBody);
      reader.offset = bodyEnd;
    }
    result.set(SectionId.code, encodeSection(SectionId.code, concatBytes(bodies)));
  }
  return { sections: result };
}
