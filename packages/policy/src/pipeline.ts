/**
 * Veracruz's pipeline language, parsed into a typed tree:
 *
 * ```
 * Script := Exprs
 * Exprs  := (Expr ";")* Expr?
 * Expr   := Path | "if" Path "{" Exprs "}" ("else" "{" Exprs "}")? | "{" Exprs "}"
 * Path   := "/"? (Segment "/")* Segment      Segment: no whitespace, '/', ';', '{', '}'
 * ```
 *
 * Meaning (executed by the engine): a path runs that program; a sequence runs its steps in order
 * and stops at the first non-zero exit code; `if P { A } else { B }` runs A when the file P exists
 * (as seen by the caller) and B, or nothing, otherwise.
 *
 * Every script Veracruz's parser accepts with whitespace between tokens is accepted here with
 * the same tree. Tokens need not be separated where that is unambiguous
 * (`a.wasm;if /p{b.wasm}else{c.wasm}`), because a path never contains `;`, `{` or `}`. (Veracruz
 * would read `a.wasm;` as one path named `a.wasm;`, which names no program.) `if` and `else` are
 * keywords only as whole words: `iffy.wasm` and `if/x.wasm` are paths.
 *
 * Positions are 0-based offsets (UTF-16 code units) into the script.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';

/** A parsed pipeline script. */
export type PipelineExpr =
  | { kind: 'program'; path: string; position: number }
  | { kind: 'sequence'; steps: PipelineExpr[]; position: number }
  | { kind: 'if'; condition: string; then: PipelineExpr; else?: PipelineExpr; position: number };

type Token =
  | { kind: 'word'; text: string; position: number }
  | { kind: ';' | '{' | '}'; position: number }
  | { kind: 'end'; position: number };

const WHITESPACE = /\s/u;

function tokenize(script: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < script.length) {
    const char = script[index]!;
    if (WHITESPACE.test(char)) {
      index++;
    } else if (char === ';' || char === '{' || char === '}') {
      tokens.push({ kind: char, position: index });
      index++;
    } else {
      const start = index;
      while (index < script.length) {
        const next = script[index]!;
        if (WHITESPACE.test(next) || next === ';' || next === '{' || next === '}') break;
        index++;
      }
      tokens.push({ kind: 'word', text: script.slice(start, index), position: start });
    }
  }
  tokens.push({ kind: 'end', position: script.length });
  return tokens;
}

function describe(token: Token): string {
  if (token.kind === 'end') return 'end of script';
  if (token.kind === 'word') return JSON.stringify(token.text);
  return `'${token.kind}'`;
}

function fail(message: string): never {
  throw new VeracruzError(Code.InvalidPolicy, message);
}

/** Checks a word against Veracruz's Path token: optional leading '/', no empty segment, no trailing '/'. */
function checkPath(token: { text: string; position: number }): string {
  const { text, position } = token;
  const body = text.startsWith('/') ? text.slice(1) : text;
  if (body === '') fail(`invalid path ${JSON.stringify(text)} at ${position}: a path needs a name after '/'`);
  if (body.endsWith('/')) fail(`invalid path ${JSON.stringify(text)} at ${position}: a path cannot end with '/'`);
  const empty = body.indexOf('//');
  if (empty >= 0) {
    fail(`invalid path ${JSON.stringify(text)} at ${position + (text.length - body.length) + empty}: empty path segment ('//')`);
  }
  if (body.startsWith('/')) fail(`invalid path ${JSON.stringify(text)} at ${position}: empty path segment ('//')`);
  return text;
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private isKeyword(token: Token, keyword: 'if' | 'else'): boolean {
    return token.kind === 'word' && token.text === keyword;
  }

  private expect(kind: '{' | '}'): Token {
    const token = this.next();
    if (token.kind !== kind) fail(`expected '${kind}' at ${token.position}, found ${describe(token)}`);
    return token;
  }

  /** Exprs up to (not including) `}` or the end of the script. */
  parseSequence(position: number, closing: '}' | 'end'): PipelineExpr {
    const steps: PipelineExpr[] = [];
    for (;;) {
      const token = this.peek();
      if (token.kind === closing) break;
      if (closing === '}' && token.kind === 'end') {
        fail(`expected '}' at ${token.position} to close '{' at ${position}, found end of script`);
      }
      steps.push(this.parseExpr());
      const after = this.peek();
      if (after.kind === ';') {
        this.next();
        continue;
      }
      if (after.kind === closing) break;
      if (closing === '}' && after.kind === 'end') {
        fail(`expected '}' at ${after.position} to close '{' at ${position}, found end of script`);
      }
      const wanted = closing === '}' ? "';' or '}'" : "';' or end of script";
      fail(`expected ${wanted} at ${after.position}, found ${describe(after)}`);
    }
    return { kind: 'sequence', steps, position };
  }

  parseExpr(): PipelineExpr {
    const token = this.next();
    if (token.kind === '{') {
      const group = this.parseSequence(token.position, '}');
      this.expect('}');
      return group;
    }
    if (token.kind === 'word' && token.text === 'if') {
      const condition = this.next();
      if (condition.kind !== 'word' || this.isKeyword(condition, 'if') || this.isKeyword(condition, 'else')) {
        fail(`expected a path after 'if' at ${condition.position}, found ${describe(condition)}`);
      }
      const conditionPath = checkPath(condition);
      const open = this.expect('{');
      const thenBranch = this.parseSequence(open.position, '}');
      this.expect('}');
      if (!this.isKeyword(this.peek(), 'else')) {
        return { kind: 'if', condition: conditionPath, then: thenBranch, position: token.position };
      }
      this.next();
      const elseOpen = this.expect('{');
      const elseBranch = this.parseSequence(elseOpen.position, '}');
      this.expect('}');
      return { kind: 'if', condition: conditionPath, then: thenBranch, else: elseBranch, position: token.position };
    }
    if (token.kind === 'word' && token.text === 'else') fail(`'else' without 'if' at ${token.position}`);
    if (token.kind === 'word') return { kind: 'program', path: checkPath(token), position: token.position };
    return fail(`expected a program path, 'if' or '{' at ${token.position}, found ${describe(token)}`);
  }

  parseScript(): PipelineExpr {
    return this.parseSequence(0, 'end');
  }
}

/**
 * Parses a pipeline script into its tree; the top level is always a `sequence` (possibly of one
 * step, or empty for a blank script). Throws VeracruzError(InvalidPolicy) with the offset of
 * the fault, e.g. `expected '}' at 31, found end of script`.
 */
export function parsePipeline(script: string): PipelineExpr {
  if (typeof script !== 'string') fail('a pipeline script must be a string');
  return new Parser(tokenize(script)).parseScript();
}

/** Every program path a pipeline may run, in script order, with its offset (repeats kept). */
export function pipelinePrograms(expr: PipelineExpr): { path: string; position: number }[] {
  switch (expr.kind) {
    case 'program':
      return [{ path: expr.path, position: expr.position }];
    case 'sequence':
      return expr.steps.flatMap(pipelinePrograms);
    case 'if':
      return [...pipelinePrograms(expr.then), ...(expr.else === undefined ? [] : pipelinePrograms(expr.else))];
  }
}

/** Every path a pipeline tests with `if`, in script order. */
export function pipelineConditions(expr: PipelineExpr): string[] {
  switch (expr.kind) {
    case 'program':
      return [];
    case 'sequence':
      return expr.steps.flatMap(pipelineConditions);
    case 'if':
      return [expr.condition, ...pipelineConditions(expr.then), ...(expr.else === undefined ? [] : pipelineConditions(expr.else))];
  }
}

/**
 * The canonical one-line text of a pipeline, with spaces between tokens so that Veracruz's own
 * parser reads it the same way (`a.wasm ; if /p { b.wasm } else { c.wasm }`).
 */
export function formatPipeline(expr: PipelineExpr): string {
  const steps = (sequence: PipelineExpr & { kind: 'sequence' }): string =>
    sequence.steps.map((step) => (step.kind === 'sequence' ? body(step) : formatPipeline(step))).join(' ; ');
  const body = (sequence: PipelineExpr): string => {
    const text = sequence.kind === 'sequence' ? steps(sequence) : formatPipeline(sequence);
    return text === '' ? '{ }' : `{ ${text} }`;
  };
  switch (expr.kind) {
    case 'program':
      return expr.path;
    case 'sequence':
      return steps(expr);
    case 'if':
      return `if ${expr.condition} ${body(expr.then)}${expr.else === undefined ? '' : ` else ${body(expr.else)}`}`;
  }
}
