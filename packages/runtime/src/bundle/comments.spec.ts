import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dropCommentLines } from './comments.ts';

describe('dropCommentLines', () => {
  it('drops doc comments that fill their lines, and keeps the code and the path lines as printed', () => {
    const bundle = [
      '// packages/core/src/errors.ts',
      'var Code = {',
      '  /** The policy is malformed. */',
      '  InvalidPolicy: "invalid_policy",',
      '  /**',
      '   * A bug.',
      '   */',
      '  Internal: "internal"',
      '};',
      '/* a block comment',
      '   over two lines */',
      'function f() {',
      '  // why it returns 1',
      '\t\t// indented with tabs',
      '  return 1;',
      '}',
    ].join('\n');
    assert.equal(dropCommentLines(bundle), [
      '// packages/core/src/errors.ts',
      'var Code = {',
      '  InvalidPolicy: "invalid_policy",',
      '  Internal: "internal"',
      '};',
      'function f() {',
      '  return 1;',
      '}',
    ].join('\n'));
  });

  it('drops blank lines, and a path line that repeats the one before it (above a file\'s imports, then its code)', () => {
    const bundle = ['// packages/a.ts', 'import { x } from "node:fs";', '', '// packages/a.ts', 'var a = x;', '', '// packages/b.ts', 'var b = 1;'];
    assert.equal(dropCommentLines(bundle.join('\n')), ['// packages/a.ts', 'import { x } from "node:fs";', 'var a = x;', '// packages/b.ts', 'var b = 1;'].join('\n'));
  });

  it('drops the purity marks esbuild leaves on lines of code', () => {
    assert.equal(dropCommentLines('var TAGS = /* @__PURE__ */ new Map();\n/* @__PURE__ */ f();'), 'var TAGS = new Map();\nf();');
  });

  it('keeps comments that share a line with code, and line comments at the left margin (a path line looks so)', () => {
    const code = [
      '/* first line',
      '   last line */ g();',
      '// a line comment',
      'h(); /* after code */',
    ].join('\n');
    assert.equal(dropCommentLines(code), code);
  });

  it('keeps a comment that never closes (esbuild never prints one, so nothing is guessed)', () => {
    const code = 'a();\n/** open\n * still open';
    assert.equal(dropCommentLines(code), code);
  });
});
