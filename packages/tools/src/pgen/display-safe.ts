/**
 * Policy text made safe to show a reader. A policy is written by someone the reader may not trust,
 * and a path that a terminal draws as something else would make a summary of it lie.
 */

/**
 * Characters a reader cannot see for what they are: C0/C1 controls and DEL (Cc), bidirectional
 * controls and other format characters such as zero-width spaces (Cf), lone surrogates (Cs),
 * private-use and unassigned code points (Co, Cn: no standard glyph), line and paragraph separators,
 * and whatever else Unicode says to draw as nothing (variation selectors, Hangul fillers).
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;
/** {@link HIDDEN} and the backslash, which must be escaped for the escapes to be unambiguous. */
const ESCAPED = /[\\\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from a policy, made safe to print: every character a terminal would hide, reorder the line
 * around, or draw as something else is shown as an escape (`\u{202E}`; `\n`, `\r`, `\t`), and a
 * backslash as `\\`, so every backslash in the result starts an escape. With `quote`, that quote
 * character is escaped too (`\"`), for text shown between quotes.
 */
export function displaySafe(text: string, quote?: '"' | "'"): string {
  const escaped = text.replace(ESCAPED, (char) => SHORT_ESCAPES[char] ?? `\\u{${char.codePointAt(0)!.toString(16).toUpperCase()}}`);
  return quote === undefined ? escaped : escaped.replaceAll(quote, `\\${quote}`);
}

/** Whether {@link displaySafe} would have to escape more than backslashes. */
export function hasHiddenCharacters(text: string): boolean {
  return HIDDEN.test(text);
}
