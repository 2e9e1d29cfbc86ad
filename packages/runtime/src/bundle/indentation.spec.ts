import assert from 'node:assert/strict';
import { test } from 'node:test';
import { indentWithTabs } from './indentation.ts';

test('turns each two-space step of leading indentation into a tab, and nothing else', () => {
  assert.equal(indentWithTabs('a {\n  b;\n    c("  d");\n     e;\n}'), 'a {\n\tb;\n\t\tc("  d");\n\t\t e;\n}');
  assert.equal(indentWithTabs('no indentation\n'), 'no indentation\n');
});
