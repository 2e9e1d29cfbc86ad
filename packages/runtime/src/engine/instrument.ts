import type { Section } from './wasm-binary.ts';
import {
  SectionId, WasmFormatError, WasmReader, concatBytes, encodeName, encodeS64, encodeSection, encodeU32, readImports, readTypes, readVector,
} from './wasm-binary.ts';

/** Export names of the globals the instrumentation adds. */
export const INSTRUMENT_EXPORTS = {
  fuel: '__veracruz_fuel',
  growRefused: '__veracruz_grow_refused',
  budgetRefused: '__veracruz_budget_refused',
} as const;

/** Rewritten sections (complete, with id and size) by section id. */
export interface InstrumentResult {
  sections: Map<number, Uint8Array>;
}

function skipMemarg(reader: WasmReader): void {
  const align = reader.u32();
  if (align & 0x40) reader.u32();
  reader.skipLeb();
}

/**
 * Skips the immediates of a 0xfd (SIMD) instruction. Sub-opcodes beyond SIMD and relaxed SIMD (which
 * has no immediates) are refused: the rewrite must never fall out of step with V8's decoder, or bytes
 * it took for immediates could run as instructions.
 */
function skipSimd(reader: WasmReader): void {
  const op = reader.u32();
  if (op <= 0x0b || op === 0x5c || op === 0x5d) skipMemarg(reader);
  else if (op === 0x0c || op === 0x0d) reader.skip(16);
  else if (op >= 0x15 && op <= 0x22) reader.skip(1);
  else if (op >= 0x54 && op <= 0x5b) {
    skipMemarg(reader);
    reader.skip(1);
  } else if (op > 0x113) {
    // Past SIMD (0x00-0xff) and relaxed SIMD (0x100-0x113): proposals behind V8 flags (fp16, ...)
    // whose immediates this reader does not know. Gaps below are refused by validating the original.
    throw new WasmFormatError(`unsupported instruction 0xfd ${op}`);
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

/** Skips the immediates of a 0xfe (atomics) instruction; unknown sub-opcodes are refused (see skipSimd). */
function skipAtomic(reader: WasmReader): void {
  const op = reader.u32();
  if (op === 0x03) reader.skip(1);
  else if (op <= 0x02 || (op >= 0x10 && op <= 0x4e)) skipMemarg(reader);
  else throw new WasmFormatError(`unsupported instruction 0xfe ${op}`);
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
 * Arms of an `if` whose extra cost is at most this many instructions are paid for by the enclosing
 * region instead of charging on their own (an over-count of at most this much when the arm is skipped).
 */
const MERGED_ARM_LIMIT = 16;

/** A straight-line-forward region charged once per entry; its charge is emitted where the region starts. */
interface Region {
  /** Instructions of the region, including arms merged into it. */
  cost: number;
  /** Loop bodies and catch clauses always charge (at least 1), so that every iteration costs fuel. */
  alwaysCharges: boolean;
}

/** An open block, loop, if or try of the body being metered. */
interface OpenConstruct {
  opcode: number;
  /** The region the construct sits in (where execution continues after its end). */
  outer: Region;
  /** For an if: the then arm, once its else begins; for a try: the current catch region. */
  arm?: Region;
  then?: Region;
  /** Position (instruction number) of the first branch to the construct's end, if any. */
  firstBranch?: number;
}

/**
 * A metered body. The fuel counter lives in a new i64 local while the function runs (a register,
 * not a memory access per charge); it is loaded from the global at entry and after each call, and
 * stored back before each call, return, branch out of the function and exhaustion trap.
 *
 * The body is divided into regions that control enters only at their start and leaves at the end or
 * through a branch: the function body, each loop body (a branch back to the loop head enters it
 * again), each arm of an if and each catch clause. Inside a region, control only moves forward (a
 * block is part of the region that contains it, and so is the code after it), so each of the
 * region's instructions runs at most once per entry: charging the region's instruction count when
 * it is entered bounds the instructions executed from above. Loop bodies and catch clauses charge
 * at their start. The arms of an if share their common cost, which the enclosing region pays; the
 * larger arm charges the difference on entry, unless it is at most {@link MERGED_ARM_LIMIT}, in
 * which case the enclosing region pays for it too. Likewise, when a branch to the end of a block
 * may skip more than that many instructions (a switch, say), the code after the end starts a region
 * of its own, so that skipped code is not paid for. So a typical loop iteration costs one charge,
 * the count is an upper bound on instructions executed, and it depends only on the path taken: the
 * same program and input run out at the same point every time.
 */
function meterBody(bytes: Uint8Array, start: number, end: number, params: number, fuelGlobal: number, growReplacement: Uint8Array): Uint8Array {
  const body = new WasmReader(bytes, start, end);
  const { groups, locals, declarationsStart } = skipLocals(body);
  const fuelLocal = params + locals;
  const localGet = [0x20, ...encodeU32(fuelLocal)];
  const localTee = [0x22, ...encodeU32(fuelLocal)];
  const globalGet = [0x23, ...encodeU32(fuelGlobal)];
  const globalSet = [0x24, ...encodeU32(fuelGlobal)];
  const store = Uint8Array.from([...localGet, ...globalSet]);
  const load = Uint8Array.from([...globalGet, 0x21, ...encodeU32(fuelLocal)]);
  const charge = (cost: number): Uint8Array => Uint8Array.from([
    ...localGet, 0x42, ...encodeS64(BigInt(cost)), 0x7d, ...localTee, // fuel -= cost
    0x42, 0x00, 0x53, 0x04, 0x40, ...store, 0x00, 0x0b, // if fuel < 0: store, unreachable
  ]);

  /** Output pieces; a region stands for its charge, known once the whole body has been read. */
  const parts: (Uint8Array | Region)[] = [
    Uint8Array.from(encodeU32(groups + 1)), bytes.subarray(declarationsStart, body.offset), Uint8Array.of(1, 0x7e), load,
  ];
  const entry: Region = { cost: 0, alwaysCharges: false };
  parts.push(entry);
  let current = entry;
  let copied = body.offset;
  const open: OpenConstruct[] = [];
  const take = (upTo: number): void => {
    if (upTo > copied) parts.push(bytes.subarray(copied, upTo));
    copied = upTo;
  };
  const enter = (region: Region): void => {
    take(body.offset);
    parts.push(region);
    current = region;
  };
  let position = 0;
  const branchTo = (depth: number): void => {
    const target = open[open.length - 1 - depth];
    if (target !== undefined) target.firstBranch ??= position;
  };
  while (body.offset < end) {
    const at = body.offset;
    const opcode = bytes[at] as number;
    position++;
    let leavesFunction = false;
    if (opcode === 0x0c || opcode === 0x0d) {
      const peek = new WasmReader(bytes, at + 1, end);
      const depth = peek.u32();
      leavesFunction = depth === open.length;
      branchTo(depth);
    } else if (opcode === 0x0e) {
      const peek = new WasmReader(bytes, at + 1, end);
      for (let count = peek.u32() + 1; count > 0; count--) {
        const depth = peek.u32();
        if (depth === open.length) leavesFunction = true;
        branchTo(depth);
      }
    } else if (opcode === 0x0f || opcode === 0x12 || opcode === 0x13 || opcode === 0x15 || opcode === 0x08 || opcode === 0x09 || opcode === 0x0a) {
      leavesFunction = true;
    } else if (opcode === 0x0b && open.length === 0) {
      leavesFunction = true;
    }
    const isCall = opcode === 0x10 || opcode === 0x11 || opcode === 0x14;
    if (leavesFunction || isCall) {
      take(at);
      parts.push(store);
    }
    skipInstruction(body);
    if (opcode === 0x40) {
      take(at);
      parts.push(growReplacement);
      copied = body.offset;
    }
    if (isCall) {
      take(body.offset);
      parts.push(load);
    }
    switch (opcode) {
      case 0x02: case 0x06: case 0x1f: // block, try, try_table: part of the current region
        current.cost++;
        open.push({ opcode, outer: current });
        break;
      case 0x03: { // loop: a region of its own, entered on every iteration
        current.cost++;
        open.push({ opcode, outer: current });
        enter({ cost: 0, alwaysCharges: true });
        break;
      }
      case 0x04: { // if: the then arm is a region
        current.cost++;
        const construct: OpenConstruct = { opcode, outer: current };
        open.push(construct);
        const arm: Region = { cost: 0, alwaysCharges: false };
        construct.arm = arm;
        enter(arm);
        break;
      }
      case 0x05: { // else: the then arm ends, the else arm begins
        current.cost++;
        const construct = open[open.length - 1];
        if (construct?.arm === undefined) throw new WasmFormatError('else outside an if');
        construct.then = construct.arm;
        const arm: Region = { cost: 0, alwaysCharges: false };
        construct.arm = arm;
        enter(arm);
        break;
      }
      case 0x07: case 0x19: { // catch, catch_all: entered from a throw anywhere in the try, charged on entry
        const construct = open[open.length - 1];
        if (construct === undefined) throw new WasmFormatError('catch outside a try');
        current.cost++;
        const clause: Region = { cost: 0, alwaysCharges: true };
        construct.arm = clause;
        enter(clause);
        break;
      }
      case 0x18: { // delegate: ends a try
        const construct = open.pop();
        if (construct === undefined) throw new WasmFormatError('delegate outside a try');
        current = construct.outer;
        current.cost++;
        break;
      }
      case 0x0b: {
        const construct = open.pop();
        if (construct === undefined) {
          current.cost++;
          break;
        }
        if (construct.opcode === 0x03) current.cost++; // a loop's end belongs to its body
        if (construct.opcode === 0x04) {
          const [first, second] = construct.then === undefined ? [construct.arm, undefined] : [construct.then, construct.arm];
          const firstCost = first?.cost ?? 0;
          const secondCost = second?.cost ?? 0;
          const common = Math.min(firstCost, secondCost);
          let paid = common;
          for (const arm of [first, second]) {
            if (arm === undefined) continue;
            arm.cost -= common;
            if (arm.cost <= MERGED_ARM_LIMIT) {
              paid += arm.cost;
              arm.cost = 0;
            }
          }
          construct.outer.cost += paid;
        }
        current = construct.outer;
        if (construct.opcode !== 0x03) current.cost++;
        take(body.offset);
        // A branch may skip a long stretch before this end: the code after it charges for itself.
        if (construct.opcode !== 0x03 && construct.firstBranch !== undefined && position - construct.firstBranch > MERGED_ARM_LIMIT) {
          enter({ cost: 0, alwaysCharges: false });
        }
        break;
      }
      default:
        current.cost++;
    }
  }
  take(end);
  return concatBytes(parts.map((part) => {
    if (part instanceof Uint8Array) return part;
    const cost = part.alwaysCharges ? Math.max(part.cost, 1) : part.cost;
    return cost > 0 ? charge(cost) : new Uint8Array(0);
  }));
}

/** Counts defined globals in the global section. */
function countEntries(bytes: Uint8Array, section: Section | undefined): number {
  if (section === undefined) return 0;
  return new WasmReader(bytes, section.payloadStart, section.end).u32();
}

/**
 * The code that replaces `memory.grow 0` (delta on the stack, old size or -1 left). It first takes the
 * pages' bytes from the isolate's memory budget: from the count of bytes free for data (i64 at offset
 * 8 of memory 1), then from the count of bytes free at all (offset 0), each with a compare-and-exchange
 * loop that takes only what is there (as the runtime thread does), so a refused grow changes nothing
 * another thread could see. When either count is short it records the refusal and fails as a grow
 * past the maximum does (giving the data bytes back if it had taken them). Otherwise it grows, and
 * when the grow itself fails (the program's own cap) gives both back and records that. The engine
 * gives a finished program's memory back to the budget.
 */
function growSequence(globals: { delta: number; result: number; current: number; refused: number; budgetRefused: number }): Uint8Array {
  const { delta, result, current, refused, budgetRefused } = globals;
  const bytesOfDelta = [0x23, ...encodeU32(delta), 0xad, 0x42, 0x10, 0x86]; // i64(delta) << 16
  const allFree = [0x43, 0x01, 0x00]; // memarg: align 8 with a memory index, memory 1, offset 0
  const dataFree = [0x43, 0x01, 0x08]; // the same at offset 8
  const giveBack = (counter: number[]) => [0x41, 0x00, ...bytesOfDelta, 0xfe, 0x1f, ...counter, 0x1a]; // i64.atomic.rmw.add; drop
  const flag = (global: number) => [0x41, 0x01, 0x24, ...encodeU32(global)];
  // loop: current = atomic load; if current < bytes: (on refusal) -1, br to the outer block;
  // cmpxchg(current -> current - bytes); retry unless it returned current.
  const takeFrom = (counter: number[], onRefusal: number[]) => [
    0x03, 0x40,
    0x41, 0x00, 0xfe, 0x11, ...counter, 0x24, ...encodeU32(current), // current = i64.atomic.load
    0x23, ...encodeU32(current), ...bytesOfDelta, 0x53, // current < bytes?
    0x04, 0x40, ...onRefusal, ...flag(budgetRefused), 0x41, 0x7f, 0x0c, 0x02, 0x0b, // then: -1, br out (if, loop, block)
    0x41, 0x00, 0x23, ...encodeU32(current), 0x23, ...encodeU32(current), ...bytesOfDelta, 0x7d, // addr, expected, current - bytes
    0xfe, 0x49, ...counter, // i64.atomic.rmw.cmpxchg: the value it found
    0x23, ...encodeU32(current), 0x52, 0x0d, 0x00, // retry while it found another value
    0x0b,
  ];
  return Uint8Array.from([
    0x24, ...encodeU32(delta), // delta = the operand
    0x02, 0x7f, // block (result i32)
    ...takeFrom(dataFree, []),
    ...takeFrom(allFree, giveBack(dataFree)),
    0x23, ...encodeU32(delta), 0x40, 0x00, 0x24, ...encodeU32(result), // result = memory.grow 0 (delta)
    0x23, ...encodeU32(result), 0x41, 0x7f, 0x46, // result == -1 (the program's own cap)?
    0x04, 0x40, ...flag(refused), ...giveBack(allFree), ...giveBack(dataFree), 0x0b,
    0x23, ...encodeU32(result),
    0x0b,
  ]);
}

/**
 * Rewrites the code, global and export sections:
 * - adds globals `fuel` (i64), two scratch i32s, `grow refused` and `budget refused` (i32), exporting
 *   fuel and the flags;
 * - replaces every `memory.grow` with {@link growSequence}: pages are reserved in the memory budget
 *   before they are grown, and refusals are recorded;
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
  const budgetRefusedGlobal = fuelGlobal + 3;
  const resultGlobal = fuelGlobal + 4;
  const currentGlobal = fuelGlobal + 5;

  const result = new Map<number, Uint8Array>();
  const i32Global = [0x7f, 0x01, 0x41, 0x00, 0x0b];
  const i64Global = [0x7e, 0x01, 0x42, 0x00, 0x0b];
  const newGlobals = [...i64Global, ...i32Global, ...i32Global, ...i32Global, ...i32Global, ...i64Global];
  if (globalSection === undefined) {
    result.set(SectionId.global, encodeSection(SectionId.global, [6, ...newGlobals]));
  } else {
    const reader = new WasmReader(bytes, globalSection.payloadStart, globalSection.end);
    const count = reader.u32();
    result.set(SectionId.global, encodeSection(SectionId.global, concatBytes([
      Uint8Array.from(encodeU32(count + 6)), bytes.subarray(reader.offset, globalSection.end), Uint8Array.from(newGlobals),
    ])));
  }
  const exportSection = find(SectionId.export);
  const newExports = [
    ...encodeName(INSTRUMENT_EXPORTS.fuel), 0x03, ...encodeU32(fuelGlobal),
    ...encodeName(INSTRUMENT_EXPORTS.growRefused), 0x03, ...encodeU32(refusedGlobal),
    ...encodeName(INSTRUMENT_EXPORTS.budgetRefused), 0x03, ...encodeU32(budgetRefusedGlobal),
  ];
  if (exportSection === undefined) {
    result.set(SectionId.export, encodeSection(SectionId.export, [3, ...newExports]));
  } else {
    const reader = new WasmReader(bytes, exportSection.payloadStart, exportSection.end);
    const count = reader.u32();
    result.set(SectionId.export, encodeSection(SectionId.export, concatBytes([
      Uint8Array.from(encodeU32(count + 3)), bytes.subarray(reader.offset, exportSection.end), Uint8Array.from(newExports),
    ])));
  }

  const growReplacement = growSequence({
    delta: scratchGlobal, result: resultGlobal, current: currentGlobal, refused: refusedGlobal, budgetRefused: budgetRefusedGlobal,
  });
  const codeSection = find(SectionId.code);
  if (codeSection !== undefined) {
    const types = readTypes(bytes, find(SectionId.type));
    const importedFunctions = readImports(bytes, find(SectionId.import)).filter((entry) => entry.kind === 0).length;
    const functionTypes = readVector(bytes, find(SectionId.function), (reader) => reader.u32());
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
