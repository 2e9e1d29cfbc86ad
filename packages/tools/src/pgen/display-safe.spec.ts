import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displaySafe } from './display-safe.ts';

test('displaySafe escapes controls, bidirectional and invisible characters, and backslashes', () => {
  assert.equal(displaySafe('/input/\u202Etxt.exe'), '/input/\\u{202E}txt.exe');
  assert.equal(displaySafe('a\u0000b\u001bc\u007fd\u0085e\u009bf'), 'a\\u{0}b\\u{1B}c\\u{7F}d\\u{85}e\\u{9B}f');
  assert.equal(displaySafe('line\nfeed\r\ttab'), 'line\\nfeed\\r\\ttab');
  assert.equal(
    displaySafe('\u202A\u202B\u202C\u202D\u2066\u2067\u2068\u2069\u200E\u200F\u061C\u200B\u200C\u200D\uFEFF\u00AD\u2060\u2028\u2029'),
    '\\u{202A}\\u{202B}\\u{202C}\\u{202D}\\u{2066}\\u{2067}\\u{2068}\\u{2069}\\u{200E}\\u{200F}\\u{61C}\\u{200B}\\u{200C}\\u{200D}\\u{FEFF}\\u{AD}\\u{2060}\\u{2028}\\u{2029}',
  );
  // Tag characters, variation selectors, a Hangul filler, a lone surrogate, private use, unassigned.
  assert.equal(displaySafe('\u{E0041}\uFE0F\u3164\uD800\uE000\u0378'), '\\u{E0041}\\u{FE0F}\\u{3164}\\u{D800}\\u{E000}\\u{378}');
  // A backslash in the policy cannot pass for an escape.
  assert.equal(displaySafe('a\\u{202E}b'), 'a\\\\u{202E}b');
  assert.notEqual(displaySafe('a\\u{202E}b'), displaySafe('a\u202Eb'));
  assert.equal(displaySafe(`it's "x"`, "'"), `it\\'s "x"`);
  assert.equal(displaySafe(`it's "x"`, '"'), `it's \\"x\\"`);
  // Visible text, however far from ASCII, is left alone.
  assert.equal(displaySafe('/data/Zürich 東京 עברית 🙂 e\u0301'), '/data/Zürich 東京 עברית 🙂 e\u0301');
});
