/**
 * JSON text the way Veracruz's vc-pgen writes policies (serde_json `to_string_pretty` of a
 * BTreeMap-backed value): object keys sorted, two-space indentation, `"key": value`, empty
 * arrays and objects as `[]` and `{}`, no trailing newline. Byte-identical output matters
 * because the policy hash is taken over the file's bytes.
 */

/** A JSON value as vc-pgen builds it (bigint for integers above 2^53). */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue | undefined };

/** Sorts keys by their UTF-8 bytes, as Rust's `String` ordering does. */
function compareKeys(a: string, b: string): number {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    if (left[index] !== right[index]) return left[index]! - right[index]!;
  }
  return left.length - right.length;
}

/** Serializes `value` with sorted keys and two-space indentation; `undefined` members are left out. */
export function stringifySorted(value: JsonValue, indent = ''): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} in JSON`);
    return JSON.stringify(value);
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + stringifySorted(item, inner)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(value)
    .filter((key) => value[key] !== undefined)
    .sort(compareKeys);
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((key) => `${inner}${JSON.stringify(key)}: ${stringifySorted(value[key]!, inner)}`).join(',\n')}\n${indent}}`;
}
