/**
 * The number and string forms of Rust's `serde_json` (1.x), for services whose output Veracruz
 * wrote with `serde_json::to_string`: the bytes must be the same, not merely the same JSON value.
 */

/**
 * An `f64` as serde_json writes it: the shortest digits that read back as the same number (ryu),
 * laid out as `1.0`, `0.1`, `123.45`, `0.00001`, `1e-7`, `1e16`, `1.5e300`, `-0.0`; a non-finite
 * value is `null`. JavaScript's own form differs (`1`, `1e-7` but `0.000001`, `1e+21`).
 */
export function formatJsonF64(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest round-trip digits, as ryu does.
  const [mantissa = '', exponent = ''] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const length = digits.length;
  // value = 0.<digits> x 10^pointAt
  const pointAt = Number(exponent) + 1;
  const trailingZeros = pointAt - length;
  if (trailingZeros >= 0 && pointAt <= 16) return `${sign}${digits}${'0'.repeat(trailingZeros)}.0`;
  if (pointAt > 0 && pointAt <= 16) return `${sign}${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  if (pointAt > -5 && pointAt <= 0) return `${sign}0.${'0'.repeat(-pointAt)}${digits}`;
  const fraction = length === 1 ? '' : `.${digits.slice(1)}`;
  return `${sign}${digits[0]}${fraction}e${pointAt - 1}`;
}

/**
 * A string as serde_json writes it: `"` and `\` escaped, control characters as `\b \t \n \f \r` or
 * `\u00xx`, everything else (DEL, U+2028, non-ASCII) as it is. The same as `JSON.stringify` for
 * well-formed strings, which a Rust `String` or `char` always is.
 */
export function formatJsonString(value: string): string {
  return JSON.stringify(value);
}
