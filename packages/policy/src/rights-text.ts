/**
 * Rights as people and vc-pgen write them: the `r`, `w`, `x` shorthands (Veracruz's values), decimal
 * numbers and right names, and a short human form. Pure functions; no I/O.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS, Right, rightNames, type RightName } from './rights.ts';

/** `r`: PATH_OPEN | FD_READ | FD_SEEK | FD_READDIR (Veracruz's value). */
export const RIGHTS_READ = 24582;
/** `w`: FD_WRITE | PATH_CREATE_FILE | PATH_FILESTAT_SET_SIZE | FD_SEEK | PATH_OPEN | PATH_CREATE_DIRECTORY. */
export const RIGHTS_WRITE = 534084;
/** `x`: PATH_OPEN | FD_EXECUTE | FD_SEEK. */
export const RIGHTS_EXECUTE = 536879108;

/**
 * Parses a rights value as vc-pgen and policies write it: a combination of `r`, `w`, `x`
 * (ORed: `rw`, `wx`, `rwx`, `xr`, ...), a decimal number, or right names joined by `|`
 * (`FD_READ|FD_SEEK`). Unknown bits or names throw VeracruzError(InvalidPolicy).
 */
export function parseRights(text: string): number {
  const value = text.trim();
  if (/^[rwx]+$/.test(value)) {
    let bits = 0;
    if (value.includes('r')) bits |= RIGHTS_READ;
    if (value.includes('w')) bits |= RIGHTS_WRITE;
    if (value.includes('x')) bits |= RIGHTS_EXECUTE;
    return bits;
  }
  if (/^[0-9]+$/.test(value)) {
    const bits = Number(value);
    if (!Number.isSafeInteger(bits) || bits > ALL_RIGHTS || (bits & ~ALL_RIGHTS) !== 0) {
      throw new VeracruzError(Code.InvalidPolicy, `rights ${value}: unknown rights bits (known bits are 0 to 29, at most ${ALL_RIGHTS})`);
    }
    return bits;
  }
  if (/^[A-Z_]+(\s*\|\s*[A-Z_]+)*$/.test(value)) {
    let bits = 0;
    for (const name of value.split('|').map((part) => part.trim())) {
      if (!Object.hasOwn(Right, name)) {
        throw new VeracruzError(Code.InvalidPolicy, `rights ${JSON.stringify(text)}: unknown right ${name}`);
      }
      bits |= Right[name as RightName];
    }
    return bits;
  }
  throw new VeracruzError(
    Code.InvalidPolicy,
    `rights ${JSON.stringify(text)}: expected a combination of r, w, x, a decimal number or right names joined by '|'`,
  );
}

/**
 * A short human form of a rights value: the `r`/`w`/`x` letters it fully contains, then any
 * remaining bit names, e.g. `rw`, `x`, `r+FD_TELL`, `FD_EXECUTE|PATH_OPEN`; `none` for 0.
 */
export function formatRights(bits: number): string {
  let letters = '';
  let covered = 0;
  for (const [letter, value] of [['r', RIGHTS_READ], ['w', RIGHTS_WRITE], ['x', RIGHTS_EXECUTE]] as const) {
    if ((bits & value) === value) {
      letters += letter;
      covered |= value;
    }
  }
  const rest = rightNames(bits & ~covered);
  if (letters === '' && rest.length === 0) return 'none';
  if (letters === '') return rest.join('|');
  return rest.length === 0 ? letters : `${letters}+${rest.join('|')}`;
}
