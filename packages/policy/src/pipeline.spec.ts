import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { formatPipeline, parsePipeline, pipelineConditions, pipelinePrograms, type PipelineExpr } from './pipeline.ts';

/** The tree without positions, to compare shapes. */
function shape(expr: PipelineExpr): unknown {
  switch (expr.kind) {
    case 'program':
      return expr.path;
    case 'sequence':
      return expr.steps.map(shape);
    case 'if':
      return expr.else === undefined
        ? { if: expr.condition, then: shape(expr.then) }
        : { if: expr.condition, then: shape(expr.then), else: shape(expr.else) };
  }
}

test('parses the Veracruz example with positions', () => {
  const script = '/program/random-u32-list.wasm ; if /output/unsorted_numbers.txt { /program/sort-numbers.wasm ; }';
  const tree = parsePipeline(script);
  assert.deepEqual(tree, {
    kind: 'sequence',
    position: 0,
    steps: [
      { kind: 'program', path: '/program/random-u32-list.wasm', position: 0 },
      {
        kind: 'if',
        condition: '/output/unsorted_numbers.txt',
        position: 32,
        then: { kind: 'sequence', position: 64, steps: [{ kind: 'program', path: '/program/sort-numbers.wasm', position: 66 }] },
      },
    ],
  });
});

test('accepts every form of the grammar', () => {
  const cases: [string, unknown][] = [
    ['a.wasm', ['a.wasm']],
    ['/a.wasm', ['/a.wasm']],
    ['a.wasm ;', ['a.wasm']],
    ['a.wasm ; b.wasm', ['a.wasm', 'b.wasm']],
    ['a.wasm ; b.wasm ;', ['a.wasm', 'b.wasm']],
    ['', []],
    ['   \n\t ', []],
    ['{ }', [[]]],
    ['{ a.wasm ; b.wasm }', [['a.wasm', 'b.wasm']]],
    ['{ { a.wasm } ; } ; c.wasm', [[['a.wasm']], 'c.wasm']],
    ['if /p { a.wasm }', [{ if: '/p', then: ['a.wasm'] }]],
    ['if /p { }', [{ if: '/p', then: [] }]],
    ['if /p { a.wasm } else { b.wasm }', [{ if: '/p', then: ['a.wasm'], else: ['b.wasm'] }]],
    ['if p { a.wasm ; } else { b.wasm ; } ;', [{ if: 'p', then: ['a.wasm'], else: ['b.wasm'] }]],
    [
      'a.wasm ; if /x { if /y { b.wasm } else { c.wasm } } else { d.wasm ; { e.wasm } }',
      ['a.wasm', { if: '/x', then: [{ if: '/y', then: ['b.wasm'], else: ['c.wasm'] }], else: ['d.wasm', ['e.wasm']] }],
    ],
    // Tokens need no spaces where unambiguous.
    ['a.wasm;if /p{b.wasm}else{c.wasm}', ['a.wasm', { if: '/p', then: ['b.wasm'], else: ['c.wasm'] }]],
    ['a.wasm;b.wasm;', ['a.wasm', 'b.wasm']],
    ['{a.wasm}', [['a.wasm']]],
    ['if /p{}', [{ if: '/p', then: [] }]],
    // Keywords are whole words only.
    ['iffy.wasm ; elsewhere.wasm', ['iffy.wasm', 'elsewhere.wasm']],
    ['if/x.wasm', ['if/x.wasm']],
    ['if /if.wasm { /else/x.wasm }', [{ if: '/if.wasm', then: ['/else/x.wasm'] }]],
    // Multi-line scripts and unicode names.
    ['/program/a.wasm ;\n  if /output/é.txt {\n    /program/b.wasm\n  }\n', ['/program/a.wasm', { if: '/output/é.txt', then: ['/program/b.wasm'] }]],
    ['/program/../x.wasm', ['/program/../x.wasm']],
  ];
  for (const [script, expected] of cases) assert.deepEqual(shape(parsePipeline(script)), expected, JSON.stringify(script));
});

function rejects(script: string, message: string): void {
  assert.throws(
    () => parsePipeline(script),
    (error: unknown) => {
      assert.ok(error instanceof VeracruzError, 'a VeracruzError');
      assert.equal(error.code, Code.InvalidPolicy);
      assert.equal(error.rawMessage, message, JSON.stringify(script));
      return true;
    },
  );
}

test('rejects faulty scripts with the offset of the fault', () => {
  rejects('a.wasm ; if /p { b.wasm ; c.wasm', "expected '}' at 32 to close '{' at 15, found end of script");
  rejects('if /p { a.wasm', "expected '}' at 14 to close '{' at 6, found end of script");
  rejects('if /p { a.wasm ;', "expected '}' at 16 to close '{' at 6, found end of script");
  rejects('{', "expected '}' at 1 to close '{' at 0, found end of script");
  rejects('{ a.wasm ; { b.wasm }', "expected '}' at 21 to close '{' at 0, found end of script");
  rejects('a.wasm b.wasm', `expected ';' or end of script at 7, found "b.wasm"`);
  rejects('{ a.wasm b.wasm }', `expected ';' or '}' at 9, found "b.wasm"`);
  rejects('a.wasm ; ; b.wasm', "expected a program path, 'if' or '{' at 9, found ';'");
  rejects(';', "expected a program path, 'if' or '{' at 0, found ';'");
  rejects('a.wasm }', "expected ';' or end of script at 7, found '}'");
  rejects('}', "expected a program path, 'if' or '{' at 0, found '}'");
  rejects('if { a.wasm }', "expected a path after 'if' at 3, found '{'");
  rejects('if', "expected a path after 'if' at 2, found end of script");
  rejects('if else { a.wasm }', `expected a path after 'if' at 3, found "else"`);
  rejects('if /p a.wasm', `expected '{' at 6, found "a.wasm"`);
  rejects('if /p { a.wasm } else b.wasm', `expected '{' at 22, found "b.wasm"`);
  rejects('if /p { a.wasm } else', "expected '{' at 21, found end of script");
  rejects('else { a.wasm }', "'else' without 'if' at 0");
  rejects('a.wasm ; else', "'else' without 'if' at 9");
  rejects('/', `invalid path "/" at 0: a path needs a name after '/'`);
  rejects('a.wasm ; /program/', `invalid path "/program/" at 9: a path cannot end with '/'`);
  rejects('/program//a.wasm', `invalid path "/program//a.wasm" at 8: empty path segment ('//')`);
  rejects('//a.wasm', `invalid path "//a.wasm" at 0: empty path segment ('//')`);
  rejects('if /out/ { a.wasm }', `invalid path "/out/" at 3: a path cannot end with '/'`);
});

test('lists programs and conditions; formats canonically and re-parses to the same tree', () => {
  const script = 'a.wasm;if /p{b.wasm;{c.wasm}}else{if /q{}};d.wasm';
  const tree = parsePipeline(script);
  assert.deepEqual(
    pipelinePrograms(tree).map((program) => program.path),
    ['a.wasm', 'b.wasm', 'c.wasm', 'd.wasm'],
  );
  assert.deepEqual(pipelinePrograms(tree)[1], { path: 'b.wasm', position: 13 });
  assert.deepEqual(pipelineConditions(tree), ['/p', '/q']);
  const text = formatPipeline(tree);
  assert.equal(text, 'a.wasm ; if /p { b.wasm ; { c.wasm } } else { if /q { } } ; d.wasm');
  assert.deepEqual(shape(parsePipeline(text)), shape(tree));
});
