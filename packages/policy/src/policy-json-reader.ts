/**
 * Reading a policy's JSON field by field, so that every fault names its JSON path and the reason
 * (`identities[2].certificate: not a PEM certificate`), and every field nobody read is reported as
 * unknown rather than dropped.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';

/** Refuses the policy: the JSON path of the fault, then the reason. */
export function invalid(path: string, reason: string): never {
  throw new VeracruzError(Code.InvalidPolicy, `${path}: ${reason}`);
}

/** A value as an error message shows it: short, and without dumping whole objects. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The JSON path of a member (`a.b`) or an element (`a[0]`) under `path`. */
export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** A JSON object whose fields are read one by one; the rest are reported as unknown. */
export class ObjectReader {
  /** The JSON path of this object; empty for the policy itself. */
  readonly path: string;
  private readonly value: Record<string, unknown>;
  private readonly seen = new Set<string>();

  /** Refuses the policy when `value` is not a JSON object. */
  constructor(value: unknown, path: string) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      invalid(path === '' ? '(policy)' : path, `expected an object, got ${show(value)}`);
    }
    this.value = value as Record<string, unknown>;
    this.path = path;
  }

  /** Whether the field is present (without marking it read). */
  has(key: string): boolean {
    return Object.hasOwn(this.value, key);
  }

  /** The JSON path of a field of this object, for error messages. */
  at(key: string): string {
    return join(this.path, key);
  }

  /** The field as written, or undefined when absent; marks it read. */
  raw(key: string): unknown {
    this.seen.add(key);
    return Object.hasOwn(this.value, key) ? this.value[key] : undefined;
  }

  /** The field as written; refuses the policy when it is absent. */
  required(key: string): unknown {
    if (!this.has(key)) invalid(this.at(key), 'missing');
    return this.raw(key);
  }

  /** A required string field. */
  string(key: string): string {
    const value = this.required(key);
    if (typeof value !== 'string') invalid(this.at(key), `expected a string, got ${show(value)}`);
    return value;
  }

  /** A required string field with more than whitespace in it. */
  nonEmptyString(key: string): string {
    const value = this.string(key);
    if (value.trim() === '') invalid(this.at(key), 'must not be empty');
    return value;
  }

  /** A required boolean field. */
  boolean(key: string): boolean {
    const value = this.required(key);
    if (typeof value !== 'boolean') invalid(this.at(key), `expected true or false, got ${show(value)}`);
    return value;
  }

  /** A required integer field within `min` to `max`, inclusive. */
  integer(key: string, min: number, max: number): number {
    const value = this.required(key);
    if (typeof value !== 'number' || !Number.isInteger(value)) invalid(this.at(key), `expected an integer, got ${show(value)}`);
    if (value < min || value > max) invalid(this.at(key), `${value} is out of range (${min} to ${max})`);
    return value;
  }

  /** A required array field; with `optional`, an absent field reads as []. */
  array(key: string, optional = false): unknown[] {
    if (optional && !this.has(key)) return [];
    const value = this.required(key);
    if (!Array.isArray(value)) invalid(this.at(key), `expected an array, got ${show(value)}`);
    return value;
  }

  /** Copies every field not read so far into `into`, by JSON path. */
  collectUnknown(into: Record<string, unknown>): void {
    for (const key of Object.keys(this.value)) if (!this.seen.has(key)) into[this.at(key)] = this.value[key];
  }
}
