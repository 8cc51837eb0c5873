// Recovering recursive-descent parser for the Eligo language
// (shared/LANGUAGE.md). Produces the tree of ast.ts and never throws.
//
// Recovery: the first error of a statement is reported and puts the parser in
// "panic"; while panicking no further diagnostic is reported and every loop
// stops, so the statement unwinds quickly; then the rest of the statement is
// skipped up to the end of its line, a `}` or a token that starts a new line.
// Statements whose name was read are kept (value an ErrorExpr) so that a typo
// in one line does not turn into "unknown name" errors in every other line.
// At file level, junk is skipped up to the next item keyword at line start.
//
// Tokens are indices into the lexer's TokenStream (parallel typed arrays).

import type {
  ApproxKind, ApproxStmt, BinaryOp, Call, ConstDecl, Diagnostic, DimDecl, ErrorExpr, Expr, FunctionItem,
  FunctionParam, GradItem, Ident, Item, LetStmt, LimitStmt, QuantizeStmt, TruncateStmt, ApproxArg, ModelItem, ModelStmt, NameRef, NamedArg,
  LossWhen, ObjectiveStmt, Program, Range, RelatedInfo, ReturnStmt, Role, RuleItem, RuleStmt, Schedule, ScheduleStmt,
  ShapeAnnot, Subscript, SurrogateDecl, TimeRef, VarDecl, DataRef,
} from './ast.js';
import { APPROXIMATION_LIST, approximationArgs, approximationOf } from './approximations.js';
import { K_EOF, K_IDENT, K_NEWLINE, K_NUMBER, K_PUNCT, K_STRING, lexStream, type TokenStream } from './lexer.js';
import type { DiagnosticCodeOf } from '../util/codes.js';

/** The parser's and lexer's codes of the catalogue (util/codes.ts) by name; code actions key off the codes. */
export const SyntaxCode = {
  /** Something specific was expected (a name, '=', an expression, ...). */
  Expected: 'syntax.expected',
  /** A token that cannot start or continue anything here. */
  UnexpectedToken: 'syntax.unexpected-token',
  /** A '(', '[' or '{' without its closing partner. */
  Unclosed: 'syntax.unclosed',
  /** Expression nesting beyond MAX_DEPTH. */
  TooDeep: 'syntax.too-deep',
  BadCharacter: 'syntax.bad-character',
  BadNumber: 'syntax.bad-number',
  /** `x = …` in a body where `let x = …` was meant; data: { name }. */
  MissingLet: 'syntax.missing-let',
  /** `~ init` on a non-param, or `= value` on a non-state. */
  MisplacedInit: 'syntax.misplaced-init',
  /** A second `return` in a function. */
  DuplicateReturn: 'syntax.duplicate-return',
} as const satisfies Readonly<Record<string, DiagnosticCodeOf<'error'>>>;

/** Deeper expressions are cut off with a diagnostic instead of overflowing the stack. */
export const MAX_DEPTH = 500;

export interface ParseResult {
  readonly program: Program;
  /** Lexer and parser diagnostics, sorted by position. */
  readonly diagnostics: Diagnostic[];
}

export function parse(text: string): ParseResult {
  const p = new Parser(text);
  const program = p.parseProgram();
  return { program, diagnostics: p.finish() };
}

/** Parses one expression (the whole text); for tests, hovers and tools. */
export function parseExpression(text: string): { expr: Expr; diagnostics: Diagnostic[] } {
  const p = new Parser(text);
  const expr = p.parseStandaloneExpr();
  return { expr, diagnostics: p.finish() };
}

/** Words that start items or statements: never names, so an expression stops at them. */
const RESERVED: ReadonlySet<string> = new Set([
  'function', 'model', 'rule', 'let', 'return', 'dim', 'const', 'input', 'target', 'param', 'state',
  'surrogate', 'approximate', 'schedule', 'objective', 'limit',
]);
const ITEM_KEYWORDS: ReadonlySet<string> = new Set(['function', 'model', 'rule']);
const TOP_LEVEL_STARTS: ReadonlySet<string> = new Set(['function', 'model', 'rule', 'dim', 'const', 'let']);

// Character codes of punctuation tokens.
const LPAREN = 40, RPAREN = 41, STAR = 42, PLUS = 43, COMMA = 44, MINUS = 45, SLASH = 47, COLON = 58,
  EQ = 61, AT = 64, LBRACK = 91, RBRACK = 93, CARET = 94, LBRACE = 123, RBRACE = 125, TILDE = 126;

const MODEL_STMT = "a model statement ('dim', 'const', 'input', 'target', 'param', 'state', 'surrogate', " +
  "'let', 'u[t+1] = …', 'du/dt = …' or 'loss = …')";
const RULE_STMT = "a rule statement ('approximate', 'schedule', 'truncate', 'quantize', 'objective' or 'limit')";

class Parser {
  private readonly ts: TokenStream;
  private readonly kinds: Uint8Array;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly codes: Uint16Array;
  private readonly diags: Diagnostic[];
  /** Start offsets of tokens right after a run of bad characters: errors there are the junk's fault. */
  private readonly afterBad = new Set<number>();
  private pos = 0;
  /** End of the last consumed token. */
  private lastEnd = 0;
  /** The open `(` and `[` (token indices) around the cursor; inside them newlines are insignificant. */
  private readonly opens: number[] = [];
  private depth = 0;
  private panic = false;

  constructor(private readonly text: string) {
    const { stream, diagnostics } = lexStream(text);
    this.ts = stream;
    this.kinds = stream.kinds;
    this.starts = stream.starts;
    this.ends = stream.ends;
    this.codes = stream.codes;
    this.diags = diagnostics;
    let k = 0;
    for (const d of diagnostics) {
      while (this.starts[k]! < d.range.end && k < stream.count - 1) k++;
      this.afterBad.add(this.starts[k]!);
    }
  }

  finish(): Diagnostic[] {
    // Lexer diagnostics come first in the array; a stable sort interleaves them.
    return this.diags.sort((a, b) => a.range.start - b.range.start);
  }

  // ------------------------------------------------------------ token cursor

  /** Index of the current token (newlines skipped inside a group). */
  private cur(): number {
    if (this.opens.length > 0) while (this.kinds[this.pos] === K_NEWLINE) this.pos++;
    return this.pos;
  }

  private next(): number {
    const i = this.cur();
    if (this.kinds[i] !== K_EOF) this.pos++;
    this.lastEnd = this.ends[i]!;
    return i;
  }

  private punctAt(i: number, code: number): boolean {
    return this.kinds[i] === K_PUNCT && this.codes[i] === code;
  }

  private isPunct(code: number): boolean {
    return this.punctAt(this.cur(), code);
  }

  private isWord(w: string): boolean {
    return this.ts.isWord(this.cur(), w);
  }

  private eat(code: number): number | undefined {
    return this.isPunct(code) ? this.next() : undefined;
  }

  /** Index of the raw token `k` ahead of the cursor (no newline skipping). */
  private ahead(k: number): number {
    return Math.min(this.pos + k, this.ts.count - 1);
  }

  private lineFirst(i: number): boolean {
    return i === 0 || this.kinds[i - 1] === K_NEWLINE;
  }

  private skipNewlines(): void {
    while (this.kinds[this.pos] === K_NEWLINE) this.pos++;
  }

  private word(i: number): string {
    return this.kinds[i] === K_IDENT ? this.text.slice(this.starts[i]!, this.ends[i]!) : '';
  }

  private isReserved(i: number): boolean {
    return this.kinds[i] === K_IDENT && RESERVED.has(this.word(i));
  }

  private rangeOf(i: number): Range {
    return { start: this.starts[i]!, end: this.ends[i]! };
  }

  private span(start: number): Range {
    return { start, end: Math.max(start, this.lastEnd) };
  }

  private describe(i: number): string {
    switch (this.kinds[i]) {
      case K_EOF: return 'end of file';
      case K_NEWLINE: return this.codes[i] === 59 ? "';'" : 'end of line';
      case K_IDENT: {
        const w = this.word(i);
        return RESERVED.has(w) ? `keyword '${w}'` : `'${w}'`;
      }
      default: return `'${this.ts.text(i)}'`;
    }
  }

  // ------------------------------------------------------------ diagnostics

  /**
   * Report unless already panicking; enter panic either way. An error at a
   * token right after bad characters is not reported: the lexer already did.
   */
  private report(range: Range, message: string, code: DiagnosticCodeOf<'error'>,
    extra: { related?: RelatedInfo[]; data?: unknown; found?: number } = {}): void {
    if (this.panic) return;
    this.panic = true;
    if (this.afterBad.has(range.start) ||
      (extra.found !== undefined && this.afterBad.has(this.starts[extra.found]!))) return;
    this.diags.push({
      range, severity: 'error', message, code,
      ...(extra.related ? { related: extra.related } : {}),
      ...(extra.data !== undefined ? { data: extra.data } : {}),
    });
  }

  /** Where to point at a found token: newlines and EOF point just past the last real token. */
  private at(i: number): Range {
    const k = this.kinds[i];
    if (k === K_NEWLINE || k === K_EOF) {
      const p = Math.min(this.lastEnd, this.starts[i]!);
      return { start: p, end: p };
    }
    return this.rangeOf(i);
  }

  private expected(what: string, code: DiagnosticCodeOf<'error'> = SyntaxCode.Expected): void {
    const i = this.cur();
    const open = this.opens[this.opens.length - 1];
    if (open !== undefined && this.breaksGroup(i)) {
      const o = this.ts.text(open);
      const ch = o === '(' ? ')' : ']';
      this.report(this.rangeOf(open), `'${o}' is never closed: expected '${ch}' before ${this.describe(i)}`,
        SyntaxCode.Unclosed, { related: [{ range: this.at(i), message: `'${ch}' expected here` }], found: i });
      return;
    }
    this.report(this.at(i), `expected ${what} but found ${this.describe(i)}`, code, { found: i });
  }

  /**
   * Inside ( ) or [ ], a token that can only begin a new statement means the
   * group was never closed: say so at the opening bracket, not at the token.
   */
  private breaksGroup(i: number): boolean {
    return this.kinds[i] === K_EOF || this.punctAt(i, RBRACE) || this.punctAt(i, LBRACE) ||
      this.isReserved(i) || this.lineFirst(i);
  }

  /** Zero-width, right after the last token read: where the missing expression belongs. */
  private errorExpr(): ErrorExpr {
    return { kind: 'error', range: { start: this.lastEnd, end: this.lastEnd } };
  }

  // ------------------------------------------------------------ recovery

  /** Skip the rest of a broken statement that began at token `from`. */
  private sync(from: number): void {
    for (;;) {
      const k = this.kinds[this.pos];
      if (k === K_EOF || k === K_NEWLINE || this.punctAt(this.pos, RBRACE)) return;
      if (this.pos > from && this.lineFirst(this.pos)) return;
      this.pos++;
    }
  }

  /** A statement must end at a newline, `}` or end of file. */
  private endStatement(from: number): void {
    if (!this.panic) {
      const i = this.pos;
      const k = this.kinds[i];
      const ended = k === K_EOF || k === K_NEWLINE || this.punctAt(i, RBRACE) || (i > from && this.lineFirst(i));
      if (!ended) {
        this.report(this.at(i), `expected end of line after the statement but found ${this.describe(i)}`,
          SyntaxCode.UnexpectedToken, { found: i });
      }
    }
    if (this.panic) this.sync(from);
    this.panic = false;
    if (this.pos === from && this.kinds[this.pos] !== K_EOF) this.pos++; // always make progress
  }

  /** Expect the `)`/`]` that closes the innermost open group. */
  private close(code: typeof RPAREN | typeof RBRACK, expected: string): boolean {
    if (this.isPunct(code)) {
      this.next();
      return true;
    }
    this.expected(expected);
    return false;
  }

  // ------------------------------------------------------------ names

  private ident(i: number): Ident {
    return { name: this.word(i), range: this.rangeOf(i) };
  }

  /** A name that is not a reserved word, or a diagnostic. */
  private expectName(what: string): Ident | undefined {
    const i = this.cur();
    if (this.kinds[i] === K_IDENT) {
      const w = this.word(i);
      if (!RESERVED.has(w)) {
        this.next();
        return { name: w, range: this.rangeOf(i) };
      }
    }
    this.expected(what);
    return undefined;
  }

  private expectPunct(code: number, what: string): number | undefined {
    const i = this.eat(code);
    if (i === undefined) this.expected(what);
    return i;
  }

  // ------------------------------------------------------------ program

  parseProgram(): Program {
    const items: Item[] = [];
    for (;;) {
      this.skipNewlines();
      const i = this.pos;
      if (this.kinds[i] === K_EOF) break;
      this.panic = false;
      const w = this.word(i);
      if (TOP_LEVEL_STARTS.has(w)) {
        switch (w) {
          case 'function': { const f = this.parseFunction(); if (f) items.push(f); break; }
          case 'model': { const m = this.parseModel(); if (m) items.push(m); break; }
          case 'rule': { const r = this.parseRule(); if (r) items.push(r); break; }
          case 'dim': items.push(...this.parseDecls('dim')); this.endStatement(i); break;
          case 'const': items.push(...this.parseDecls('const')); this.endStatement(i); break;
          default: { const g = this.parseGradItem(); if (g) items.push(g); this.endStatement(i); }
        }
        this.panic = false;
        continue;
      }
      if (this.punctAt(i, RBRACE)) {
        this.report(this.at(i), "unexpected '}': no block is open here", SyntaxCode.UnexpectedToken, { found: i });
        this.pos++;
        continue;
      }
      this.report(this.at(i),
        `expected an item ('function', 'model', 'rule', 'dim', 'const' or 'let') but found ${this.describe(i)}`,
        SyntaxCode.UnexpectedToken, { found: i });
      // One diagnostic for the whole stretch of junk.
      this.pos++;
      while (this.kinds[this.pos] !== K_EOF &&
        !(this.lineFirst(this.pos) && TOP_LEVEL_STARTS.has(this.word(this.pos)))) this.pos++;
    }
    return { range: { start: 0, end: this.text.length }, items };
  }

  parseStandaloneExpr(): Expr {
    this.skipNewlines();
    const e = this.parseExpr();
    this.skipNewlines();
    const i = this.pos;
    if (!this.panic && this.kinds[i] !== K_EOF) {
      this.report(this.at(i), `expected end of expression but found ${this.describe(i)}`,
        SyntaxCode.UnexpectedToken, { found: i });
    }
    return e;
  }

  // ------------------------------------------------------------ blocks

  /**
   * After an item header: read `{`, or recover. Returns the `{` token, or
   * undefined when the header was broken; the body is then parsed anyway.
   */
  private openBrace(what: string): number | undefined {
    if (!this.panic && this.kinds[this.pos] === K_NEWLINE) {
      // Allow the brace on the next line (Allman style).
      let j = this.pos;
      while (this.kinds[j] === K_NEWLINE) j++;
      if (this.punctAt(j, LBRACE)) this.pos = j;
    }
    const open = this.eat(LBRACE);
    if (open !== undefined) return open;
    this.expected(`'{' to start the ${what}`);
    // Skip the rest of the header line; a '{' on it still opens the body.
    for (;;) {
      const i = this.pos;
      const k = this.kinds[i];
      if (k === K_EOF || k === K_NEWLINE || this.punctAt(i, RBRACE)) return undefined;
      this.pos++;
      if (this.punctAt(i, LBRACE)) return i;
    }
  }

  /**
   * Runs `stmt` for each statement until `}`. Ends early (reporting an
   * unclosed `{`) at end of file or at `function`/`model`/`rule` starting a line.
   */
  private block(open: number | undefined, what: string, stmt: (word: string) => void): void {
    for (;;) {
      this.skipNewlines();
      this.panic = false;
      const i = this.pos;
      if (this.punctAt(i, RBRACE)) {
        this.next();
        return;
      }
      const w = this.word(i);
      if (this.kinds[i] === K_EOF || (ITEM_KEYWORDS.has(w) && this.lineFirst(i))) {
        if (open !== undefined) {
          this.report(this.rangeOf(open),
            `'{' of the ${what} is never closed: expected '}' before ${this.describe(i)}`, SyntaxCode.Unclosed,
            { related: [{ range: this.at(i), message: "'}' expected here" }] });
        }
        this.panic = false;
        return;
      }
      stmt(w);
      this.endStatement(i);
    }
  }

  // ------------------------------------------------------------ items

  private parseFunction(): FunctionItem | undefined {
    const kw = this.next();
    const name = this.expectName('a function name');
    const params: FunctionParam[] = [];
    if (name) {
      const open = this.expectPunct(LPAREN, "'(' and the parameter list");
      if (open !== undefined) {
        this.opens.push(open);
        if (!this.isPunct(RPAREN)) {
          do {
            if (this.isPunct(RPAREN)) break; // trailing comma
            const p = this.parseParam();
            if (p) params.push(p);
          } while (!this.panic && this.eat(COMMA) !== undefined);
        }
        this.close(RPAREN, "',' or ')'");
        this.opens.pop();
      }
    }
    const what = name ? `function '${name.name}'` : 'function';
    const open = this.openBrace(what);
    this.panic = false;
    const body: (LetStmt | DimDecl | ConstDecl)[] = [];
    let returns: ReturnStmt | undefined;
    this.block(open, what, (w) => {
      switch (w) {
        case 'let': { const s = this.parseLet(); if (s) body.push(s); return; }
        case 'dim': body.push(...this.parseDecls('dim')); return;
        case 'const': body.push(...this.parseDecls('const')); return;
        case 'return': {
          const r = this.parseReturn();
          if (returns) {
            this.report(r.range, `function '${name?.name ?? ''}' already returns at an earlier line; ` +
              'list every output in one return: return e1, e2', SyntaxCode.DuplicateReturn,
              { related: [{ range: returns.range, message: 'first return' }] });
          } else {
            returns = r;
          }
          return;
        }
      }
      const s = this.tryMissingLet();
      if (s) body.push(s);
      else this.expected("a function statement ('let', 'dim', 'const' or 'return')", SyntaxCode.UnexpectedToken);
    });
    if (!name) return undefined;
    return { kind: 'function', range: this.span(this.starts[kw]!), name, params, body, ...(returns ? { returns } : {}) };
  }

  private parseParam(): FunctionParam | undefined {
    const name = this.expectName('a parameter name');
    if (!name) return undefined;
    let shape: ShapeAnnot | undefined;
    if (this.eat(COLON) !== undefined) shape = this.parseShape();
    return { range: this.span(name.range.start), name, ...(shape ? { shape } : {}) };
  }

  private parseShape(): ShapeAnnot | undefined {
    const open = this.eat(LBRACK);
    if (open === undefined) {
      this.expected('a shape such as [n] or [n, m]');
      return undefined;
    }
    this.opens.push(open);
    const dims: Expr[] = [];
    if (!this.isPunct(RBRACK)) {
      do dims.push(this.parseExpr());
      while (!this.panic && this.eat(COMMA) !== undefined);
    }
    this.close(RBRACK, "',' or ']'");
    this.opens.pop();
    return { range: this.span(this.starts[open]!), dims };
  }

  private parseReturn(): ReturnStmt {
    const kw = this.next();
    const values: Expr[] = [];
    do {
      if (values.length > 0) this.skipNewlines(); // a list may go on after a trailing comma
      values.push(this.parseExpr());
    } while (!this.panic && this.eat(COMMA) !== undefined);
    return { kind: 'return', range: this.span(this.starts[kw]!), values };
  }

  private parseModel(): ModelItem | undefined {
    const kw = this.next();
    const name = this.expectName('a model name');
    const what = name ? `model '${name.name}'` : 'model';
    const open = this.openBrace(what);
    this.panic = false;
    const body: ModelStmt[] = [];
    this.block(open, what, (w) => {
      let s: ModelStmt | undefined;
      switch (w) {
        case 'let': s = this.parseLet(); break;
        case 'dim': body.push(...this.parseDecls('dim')); return;
        case 'const': body.push(...this.parseDecls('const')); return;
        case 'input': case 'target': case 'param': case 'state': s = this.parseVar(w); break;
        case 'surrogate': s = this.parseSurrogate(); break;
        default:
          if (w !== '') s = this.parseEquation(w);
          else this.expected(MODEL_STMT, SyntaxCode.UnexpectedToken);
      }
      if (s) body.push(s);
    });
    if (!name) return undefined;
    return { kind: 'model', range: this.span(this.starts[kw]!), name, body };
  }

  private parseRule(): RuleItem | undefined {
    const kw = this.next();
    const name = this.expectName('a rule name');
    let model: Ident | undefined;
    if (name) {
      if (this.isWord('for')) {
        this.next();
        model = this.expectName('the name of the model the rule is for');
      } else {
        this.expected(`'for MODEL' after the rule name`);
      }
    }
    const what = name ? `rule '${name.name}'` : 'rule';
    const open = this.openBrace(what);
    this.panic = false;
    const body: RuleStmt[] = [];
    this.block(open, what, (w) => {
      let s: RuleStmt | undefined;
      switch (w) {
        case 'approximate': s = this.parseApprox(); break;
        case 'schedule': s = this.parseSchedule(); break;
        case 'objective': s = this.parseObjective(); break;
        case 'limit': s = this.parseLimit(); break;
        case 'truncate': s = this.parseTruncate(); break;
        case 'quantize': s = this.parseQuantize(); break;
        default: this.expected(RULE_STMT, SyntaxCode.UnexpectedToken);
      }
      if (s) body.push(s);
    });
    if (!name || !model) return undefined;
    return { kind: 'rule', range: this.span(this.starts[kw]!), name, model, body };
  }

  /** File-level `let g = grad(f)`. */
  private parseGradItem(): GradItem | undefined {
    const kw = this.next();
    const name = this.expectName("a name after 'let'");
    if (!name || this.expectPunct(EQ, "'='") === undefined) return undefined;
    if (!(this.isWord('grad') && this.punctAt(this.ahead(1), LPAREN))) {
      this.expected("'grad(FUNCTION)': at file level 'let' only binds the gradient of a function");
      return undefined;
    }
    this.next();
    this.opens.push(this.next());
    const of = this.expectName('the name of a function');
    if (of) this.close(RPAREN, "')'");
    this.opens.pop();
    if (!of) return undefined;
    return { kind: 'grad', range: this.span(this.starts[kw]!), name, of };
  }

  // ------------------------------------------------------------ statements

  /** `dim a = 1, b = 2` / `const x = …, y = …`: one node per binding. */
  private parseDecls(kind: 'dim'): DimDecl[];
  private parseDecls(kind: 'const'): ConstDecl[];
  private parseDecls(kind: 'dim' | 'const'): (DimDecl | ConstDecl)[] {
    this.next();
    const out: (DimDecl | ConstDecl)[] = [];
    do {
      if (out.length > 0) this.skipNewlines(); // a list may go on after a trailing comma
      const name = this.expectName(kind === 'dim' ? 'a dimension name' : 'a constant name');
      if (!name) break;
      const value = this.expectPunct(EQ, `'=' and a value for '${name.name}'`) !== undefined
        ? this.parseExpr() : this.errorExpr();
      out.push({ kind, range: this.span(name.range.start), name, value } as DimDecl | ConstDecl);
    } while (!this.panic && this.eat(COMMA) !== undefined);
    return out;
  }

  private parseLet(): LetStmt | undefined {
    const kw = this.next();
    const name = this.expectName("a name after 'let'");
    if (!name) return undefined;
    const value = this.expectPunct(EQ, `'=' after 'let ${name.name}'`) !== undefined
      ? this.parseExpr() : this.errorExpr();
    return { kind: 'let', range: this.span(this.starts[kw]!), name, value };
  }

  /** `x = …` where `let x = …` was meant: report once and keep the binding. */
  private tryMissingLet(): LetStmt | undefined {
    const i = this.cur();
    const eq = this.ahead(1);
    if (this.kinds[i] !== K_IDENT || this.isReserved(i) || !this.punctAt(eq, EQ)) return undefined;
    if (this.afterBad.has(this.starts[eq]!)) {
      // `u' = …`: the lexer reported the junk; skip the statement silently.
      this.panic = true;
      return undefined;
    }
    const name = this.ident(this.next());
    this.next();
    this.report(name.range, `a binding needs 'let': write 'let ${name.name} = …'`, SyntaxCode.MissingLet,
      { data: { name: name.name } });
    // Parse the value without panicking so the binding stays usable, then skip any rest silently.
    this.panic = false;
    const value = this.parseExpr();
    this.panic = true;
    return { kind: 'let', range: this.span(name.range.start), name, value };
  }

  private parseVar(role: Role): VarDecl | undefined {
    const kw = this.next();
    const name = this.expectName(`a name for the ${role}`);
    if (!name) return undefined;
    let shape: ShapeAnnot | undefined;
    let init: Call | NameRef | undefined;
    let initial: Expr | undefined;
    let data: DataRef | undefined;
    if (this.eat(COLON) !== undefined) shape = this.parseShape();
    if (!this.panic && this.isPunct(TILDE)) {
      const tilde = this.next();
      const fn = this.parseInitFn('an initialiser such as normal(0, 0.1), uniform(-1, 1), zeros or glorot');
      if (role !== 'param') {
        this.report(this.span(this.starts[tilde]!), `only a param has an initialiser ('~ …'); ` +
          (role === 'state' ? `give a state its initial value with '= …'` : `${role === 'input' ? 'an' : 'a'} ${role} is read from the data`),
          SyntaxCode.MisplacedInit);
      } else {
        init = fn;
      }
    }
    if (!this.panic && role === 'param' && this.isPunct(EQ) && this.ts.isWord(this.ahead(1), 'data')) {
      this.next();
      data = this.parseDataRef();
    } else if (!this.panic && this.isPunct(EQ)) {
      const eq = this.next();
      const v = this.parseExpr();
      if (role !== 'state') {
        this.report(this.span(this.starts[eq]!), `only a state has an initial value ('= …')` +
          (role === 'param' ? `; give a param an initialiser with '~ normal(0, 0.1)' or its values with '= data("file.h5", "name")'` : ''),
          SyntaxCode.MisplacedInit);
      } else {
        initial = v;
      }
    }
    return {
      kind: 'var', range: this.span(this.starts[kw]!), role, name,
      ...(shape ? { shape } : {}), ...(init ? { init } : {}), ...(initial ? { initial } : {}), ...(data ? { data } : {}),
    };
  }

  /** `data("file.h5")` or `data("file.h5", "dataset")`, the `data` word current. */
  private parseDataRef(): DataRef | undefined {
    const start = this.starts[this.next()]!;
    if (this.eat(LPAREN) === undefined) {
      this.expected(`'(' and a file name: data("lif.params.h5", "W")`);
      return undefined;
    }
    const str = (what: string): { value: string; range: Range } | undefined => {
      const i = this.cur();
      if (this.kinds[i] !== K_STRING) {
        this.expected(what);
        return undefined;
      }
      this.next();
      return { value: this.text.slice(this.starts[i]! + 1, this.ends[i]! - 1), range: { start: this.starts[i]! + 1, end: this.ends[i]! - 1 } };
    };
    const file = str('a file name in double quotes, as in data("lif.params.h5", "W")');
    if (!file) return undefined;
    let dataset: { value: string; range: Range } | undefined;
    if (this.eat(COMMA) !== undefined) {
      dataset = str('a dataset name in double quotes, as in data("lif.params.h5", "W")');
      if (!dataset) return undefined;
    }
    if (this.eat(RPAREN) === undefined) {
      this.expected(`')' to close data(…)`);
      return undefined;
    }
    return {
      kind: 'data', range: this.span(start), file: file.value, fileRange: file.range,
      ...(dataset ? { dataset: dataset.value, datasetRange: dataset.range } : {}),
    };
  }

  /** `normal(0, 0.1)` or a bare `zeros`. */
  private parseInitFn(what: string): Call | NameRef | undefined {
    const i = this.cur();
    if (this.kinds[i] !== K_IDENT || this.isReserved(i)) {
      this.expected(what);
      return undefined;
    }
    const id = this.ident(this.next());
    if (this.isPunct(LPAREN)) return this.parseCall(id);
    return { kind: 'name', range: id.range, name: id.name };
  }

  private parseSurrogate(): SurrogateDecl | undefined {
    const kw = this.next();
    const name = this.expectName("the name of the spiking function, as in 'surrogate spike = …'");
    if (!name || this.expectPunct(EQ, `'=' and a surrogate such as fast_sigmoid(slope = 10)`) === undefined) {
      return undefined;
    }
    const fn = this.parseInitFn('a surrogate such as fast_sigmoid(slope = 10), sigmoid(slope = 5), triangle(width = 1)');
    if (!fn) return undefined;
    return { kind: 'surrogate', range: this.span(this.starts[kw]!), name, fn };
  }

  /** `u[t+1] = …`, `du/dt = …`, `loss = …` (or a missing `let`). `w` is the first word. */
  private parseEquation(w: string): ModelStmt | undefined {
    const i = this.pos;
    const a = this.ahead(1);
    if (w === 'loss' && this.punctAt(a, EQ)) {
      this.next();
      this.next();
      const value = this.parseExpr();
      const when = this.panic ? undefined : this.parseLossWhen();
      return { kind: 'loss', range: this.span(this.starts[i]!), keyword: this.rangeOf(i), value, ...(when ? { when } : {}) };
    }
    // du/dt: lexed as `du` `/` `dt`.
    if (w.length > 1 && w[0] === 'd' && this.punctAt(a, SLASH) && this.ts.isWord(this.ahead(2), 'dt')) {
      this.pos += 3;
      this.lastEnd = this.ends[this.pos - 1]!;
      const target: Ident = { name: w.slice(1), range: { start: this.starts[i]! + 1, end: this.ends[i]! } };
      const value = this.expectPunct(EQ, `'=' after 'd${target.name}/dt'`) !== undefined
        ? this.parseExpr() : this.errorExpr();
      return { kind: 'ode', range: this.span(this.starts[i]!), target, value };
    }
    if (this.punctAt(a, LBRACK) && !RESERVED.has(w)) {
      const target = this.ident(this.next());
      const off = this.timeSubscript();
      if (off === undefined) {
        // Point at the whole subscript as written, up to its `]` on this line.
        let j = this.pos;
        while (this.kinds[j] !== K_NEWLINE && this.kinds[j] !== K_EOF && !this.punctAt(j, RBRACK)) j++;
        const end = this.punctAt(j, RBRACK) ? this.ends[j]! : this.ends[j - 1]!;
        const written = this.text.slice(this.starts[i]!, end);
        this.report({ start: this.starts[this.pos]!, end },
          `expected '${target.name}[t+1]' in an update but found '${written}'`, SyntaxCode.Expected,
          { found: this.pos });
        return undefined;
      }
      const subStart = this.starts[this.pos]!;
      this.skipTimeSubscript(off);
      if (off === 0) {
        // Keep the update (no cascade of "state has no update"); report the offset once.
        this.report({ start: subStart, end: this.lastEnd },
          `an update defines the next step: write '${target.name}[t+1] = …'`, SyntaxCode.Expected);
        this.panic = false;
      }
      const value = this.expectPunct(EQ, `'=' after '${target.name}[t+1]'`) !== undefined
        ? this.parseExpr() : this.errorExpr();
      if (off === 0) this.panic = true;
      return { kind: 'update', range: this.span(this.starts[i]!), target, value };
    }
    const s = this.tryMissingLet();
    if (s) return s;
    this.expected(MODEL_STMT, SyntaxCode.UnexpectedToken);
    return undefined;
  }

  /**
   * After a loss's value: `at last`, `for last K` or `after K` (contextual
   * words: nothing else may follow a loss on its line).
   */
  private parseLossWhen(): LossWhen | undefined {
    const i = this.pos;
    const w = this.word(i);
    if (w !== 'at' && w !== 'for' && w !== 'after') return undefined;
    this.next();
    if (w === 'at') {
      if (!this.isWord('last')) {
        this.expected("'last' (as in 'loss = … at last': only the last step counts)");
        return undefined;
      }
      this.next();
      return { kind: 'last', range: this.span(this.starts[i]!) };
    }
    if (w === 'for') {
      if (!this.isWord('last')) {
        this.expected("'last K' (as in 'loss = … for last 10': the last 10 steps count)");
        return undefined;
      }
      this.next();
    }
    const count = this.parseMul();
    return { kind: 'window', from: w === 'for' ? 'end' : 'start', count, range: this.span(this.starts[i]!) };
  }

  /**
   * At a raw `[` followed by `t` and `]`, `+` or `-`: a time subscript
   * `[t]`, `[t+1]`, `[t-k]` or `[t+1-k]`; any other subscript on t is kept
   * as written (`invalid`) for the checker to explain. Consumes it.
   */
  private parseTimeIndex(name: Ident): TimeRef {
    const open = this.pos;
    this.opens.push(this.next()); // '['
    this.next(); // 't'
    let offset = 0;
    let delay: Expr | undefined;
    let ok = true;
    if (this.isPunct(PLUS)) {
      const one = this.ahead(1);
      if (this.kinds[one] === K_NUMBER && this.ts.text(one) === '1') {
        this.next();
        this.next();
        offset = 1;
      } else {
        ok = false;
      }
    }
    if (ok && this.isPunct(MINUS)) {
      this.next();
      delay = this.parseMul();
    }
    if (!this.isPunct(RBRACK)) ok = false;
    if (!ok) {
      // Skip to the closing bracket of this subscript (or the end of the line).
      while (!this.isPunct(RBRACK) && this.kinds[this.cur()] !== K_EOF && !this.breaksGroup(this.cur())) this.next();
    }
    const closed = this.close(RBRACK, "']' to close the time index");
    this.opens.pop();
    const range = this.span(name.range.start);
    const written = this.text.slice(this.starts[open]!, closed ? this.lastEnd : this.ends[this.pos - 1]!);
    return { kind: 'time', name, offset, range, ...(delay && ok ? { delay } : {}), ...(!ok ? { invalid: `${name.name}${written}` } : {}) };
  }

  /** At a raw `[`: 0 for `[t]`, 1 for `[t+1]`, undefined otherwise. Consumes nothing. */
  private timeSubscript(): 0 | 1 | undefined {
    if (!this.punctAt(this.ahead(0), LBRACK) || !this.ts.isWord(this.ahead(1), 't')) return undefined;
    if (this.punctAt(this.ahead(2), RBRACK)) return 0;
    const one = this.ahead(3);
    if (this.punctAt(this.ahead(2), PLUS) && this.kinds[one] === K_NUMBER && this.ts.text(one) === '1' &&
      this.punctAt(this.ahead(4), RBRACK)) return 1;
    return undefined;
  }

  /** `[t` then an operator or `]` (raw tokens): a time subscript, not an index by a name `t`. */
  private isTimeSubscriptStart(): boolean {
    // Any operator after `t` ([t*2], [t/2], [t^2]) is a time index too, so the checker can say which ones exist.
    const k = this.ahead(2);
    return this.punctAt(this.ahead(0), LBRACK) && this.ts.isWord(this.ahead(1), 't') && this.kinds[k] === K_PUNCT &&
      !this.punctAt(k, COMMA) && !this.punctAt(k, COLON) && !this.punctAt(k, LPAREN);
  }

  private skipTimeSubscript(off: 0 | 1): void {
    this.pos += off === 0 ? 3 : 5;
    this.lastEnd = this.ends[this.pos - 1]!;
  }

  // ------------------------------------------------------------ rule statements

  /** `approximate d(u[t+1])/d(z) = KIND`, KIND one of lang/approximations.ts (0, diagonal, dense, stop) */
  private parseApprox(): ApproxStmt | undefined {
    const kw = this.next();
    const of = this.parseDRef('d(u[t+1])');
    if (!of) return undefined;
    if (this.expectPunct(SLASH, `'/d(…)' as in d(u[t+1])/d(z)`) === undefined) return undefined;
    const wrt = this.parseDRef('d(z)');
    if (!wrt || this.expectPunct(EQ, `'=' and ${APPROXIMATION_LIST}`) === undefined) return undefined;
    const i = this.cur();
    const w = this.word(i);
    let approx: ApproxKind | undefined;
    if (this.kinds[i] === K_NUMBER && this.ts.values[i] === 0) approx = approximationOf('0');
    else if (w) approx = approximationOf(w);
    if (!approx) {
      this.expected(APPROXIMATION_LIST);
      return undefined;
    }
    this.next();
    let args: ApproxArg[] | undefined;
    if (this.isPunct(LPAREN)) {
      args = this.parseApproxArgs(approx);
      if (!args) return undefined;
    }
    return {
      kind: 'approximate', range: this.span(this.starts[kw]!), of: of.name, ofOffset: of.offset,
      wrt: wrt.name, wrtOffset: wrt.offset, approx, approxRange: this.span(this.starts[i]!), ...(args ? { args } : {}),
    };
  }

  /** `(scale = 0.1, seed = 2)` or `(4)`: numbers, by name or (the first) by position. The checker checks names and ranges. */
  private parseApproxArgs(kind: ApproxKind): ApproxArg[] | undefined {
    const known = approximationArgs(kind);
    this.opens.push(this.next());
    const args: ApproxArg[] = [];
    if (!this.isPunct(RPAREN)) {
      do {
        if (this.isPunct(RPAREN)) break;
        const start = this.starts[this.cur()]!;
        let name: string | undefined;
        if (this.kinds[this.cur()] === K_IDENT && this.punctAt(this.ahead(1), EQ)) {
          name = this.word(this.next());
          this.next();
        }
        const n = this.cur();
        if (this.kinds[n] !== K_NUMBER) {
          this.expected(known.length ? `a number for ${known.map((a) => a.name).join(' or ')}` : 'a number');
          this.opens.pop();
          return undefined;
        }
        this.next();
        args.push({ name: name ?? known[args.length]?.name ?? `#${args.length + 1}`, value: this.ts.values[n]!, range: this.span(start) });
      } while (!this.panic && this.eat(COMMA) !== undefined);
    }
    if (!this.panic) this.close(RPAREN, "',' or ')'");
    this.opens.pop();
    return this.panic ? undefined : args;
  }

  /** `truncate 20` */
  private parseTruncate(): TruncateStmt | undefined {
    const kw = this.next();
    const n = this.cur();
    if (this.kinds[n] !== K_NUMBER) {
      this.expected("the number of steps credit is kept for, as in 'truncate 20'");
      return undefined;
    }
    this.next();
    if (this.isWord('steps')) this.next();
    return { kind: 'truncate', range: this.span(this.starts[kw]!), steps: this.ts.values[n]!, stepsRange: this.rangeOf(n) };
  }

  /** `quantize traces 7 bits [nearest|stochastic] [seed 3]` */
  private parseQuantize(): QuantizeStmt | undefined {
    const kw = this.next();
    if (!this.isWord('traces')) {
      this.expected("'traces', as in 'quantize traces 7 bits stochastic'");
      return undefined;
    }
    this.next();
    const n = this.cur();
    if (this.kinds[n] !== K_NUMBER) {
      this.expected("the number of bits, as in 'quantize traces 7 bits'");
      return undefined;
    }
    this.next();
    if (this.isWord('bits')) this.next();
    let rounding: 'nearest' | 'stochastic' = 'nearest';
    if (this.isWord('nearest') || this.isWord('stochastic')) rounding = this.word(this.next()) as 'nearest' | 'stochastic';
    let seed = 1;
    if (this.isWord('seed')) {
      this.next();
      const s = this.cur();
      if (this.kinds[s] !== K_NUMBER) {
        this.expected("a number after 'seed'");
        return undefined;
      }
      this.next();
      seed = this.ts.values[s]!;
    }
    return { kind: 'quantize', range: this.span(this.starts[kw]!), bits: this.ts.values[n]!, bitsRange: this.rangeOf(n), rounding, seed };
  }

  /** `d(NAME)`, `d(NAME[t])`, `d(NAME[t+1])` */
  private parseDRef(example: string): { name: Ident; offset: number } | undefined {
    if (!this.isWord('d') || !this.punctAt(this.ahead(1), LPAREN)) {
      this.expected(`a partial derivative such as ${example}`);
      return undefined;
    }
    this.next();
    this.opens.push(this.next());
    const name = this.expectName('a state, param, input or loss');
    let offset = 0;
    if (name && this.isPunct(LBRACK)) {
      const off = this.timeSubscript();
      if (off === undefined) {
        this.expected("'[t]' or '[t+1]'");
      } else {
        this.skipTimeSubscript(off);
        offset = off;
      }
    }
    if (name && !this.panic) this.close(RPAREN, "')'");
    this.opens.pop();
    if (!name || this.panic) return undefined;
    return { name, offset };
  }

  private parseSchedule(): ScheduleStmt | undefined {
    const kw = this.next();
    const i = this.cur();
    const w = this.word(i);
    let schedule: Schedule;
    if (w === 'online' || w === 'reverse' || w === 'forward') {
      this.next();
      schedule = { kind: w, range: this.rangeOf(i) };
    } else if (w === 'order') {
      this.next();
      const open = this.expectPunct(LBRACK, "'[' and the vertices to eliminate, as in order [v1, v2]");
      if (open === undefined) return undefined;
      this.opens.push(open);
      const order: Ident[] = [];
      if (!this.isPunct(RBRACK)) {
        do {
          if (this.isPunct(RBRACK)) break; // trailing comma
          const v = this.expectName('a vertex name');
          if (v) order.push(v);
        } while (!this.panic && this.eat(COMMA) !== undefined);
      }
      this.close(RBRACK, "',' or ']'");
      this.opens.pop();
      schedule = { kind: 'order', order, range: this.span(this.starts[i]!) };
    } else {
      this.expected('online, reverse, forward or order [v1, v2, …]');
      return undefined;
    }
    return { kind: 'schedule', range: this.span(this.starts[kw]!), schedule };
  }

  private parseObjective(): ObjectiveStmt | undefined {
    const kw = this.next();
    const objective = this.expectName('multiplications, memory or time');
    if (!objective) return undefined;
    return { kind: 'objective', range: this.span(this.starts[kw]!), objective };
  }

  /** `limit memory 128 KiB` */
  private parseLimit(): LimitStmt | undefined {
    const kw = this.next();
    const what = this.expectName("what to limit, as in 'limit memory 128 KiB'");
    if (!what) return undefined;
    const n = this.cur();
    if (this.kinds[n] !== K_NUMBER) {
      this.expected(`a number, as in 'limit ${what.name} 128 KiB'`);
      return undefined;
    }
    this.next();
    const u = this.cur();
    const unit = this.kinds[u] === K_IDENT && !this.isReserved(u) ? this.ident(this.next()) : undefined;
    return { kind: 'limit', range: this.span(this.starts[kw]!), what, value: this.ts.values[n]!, ...(unit ? { unit } : {}) };
  }

  // ------------------------------------------------------------ expressions

  // Precedence, loosest first (LANGUAGE.md §4): + -, then * / @, then unary -,
  // then ^ (right-associative; its right operand may be unary: 2^-1), then
  // calls and indexing.

  /** The binary operator at the cursor if it is one of `a`, `b`, `c`; else 0. */
  private opAt(a: number, b: number, c: number): number {
    const i = this.cur();
    if (this.kinds[i] !== K_PUNCT) return 0;
    const code = this.codes[i]!;
    return code === a || code === b || code === c ? code : 0;
  }

  private parseExpr(): Expr {
    let left = this.parseMul();
    while (!this.panic && this.opAt(PLUS, MINUS, MINUS) !== 0) {
      const op = this.next();
      left = this.binary(op, left, this.parseMul());
    }
    return left;
  }

  private parseMul(): Expr {
    let left = this.parseUnary();
    while (!this.panic && this.opAt(STAR, SLASH, AT) !== 0) {
      const op = this.next();
      left = this.binary(op, left, this.parseUnary());
    }
    return left;
  }

  private binary(op: number, left: Expr, right: Expr): Expr {
    return {
      kind: 'binary', op: String.fromCharCode(this.codes[op]!) as BinaryOp, left, right,
      range: { start: left.range.start, end: Math.max(right.range.end, this.ends[op]!) },
      opRange: this.rangeOf(op),
    };
  }

  // Every level of nesting passes through here, so the depth guard lives here.
  private parseUnary(): Expr {
    if (this.depth >= MAX_DEPTH) {
      const i = this.cur();
      this.report(this.at(i), `expression nested too deeply (more than ${MAX_DEPTH} levels)`, SyntaxCode.TooDeep,
        { found: i });
      return this.errorExpr();
    }
    this.depth++;
    const op = this.opAt(MINUS, PLUS, PLUS);
    let e: Expr;
    if (op !== 0) {
      const i = this.next();
      const operand = this.parseUnary();
      e = {
        kind: 'unary', op: op === MINUS ? '-' : '+', operand,
        range: { start: this.starts[i]!, end: Math.max(operand.range.end, this.ends[i]!) },
      };
    } else {
      e = this.parsePostfix();
      if (!this.panic && this.isPunct(CARET)) {
        const c = this.next();
        e = this.binary(c, e, this.parseUnary());
      }
    }
    this.depth--;
    return e;
  }

  private parsePostfix(): Expr {
    const t = this.cur();
    let e = this.parsePrimary();
    let bareName = e.kind === 'name' && this.pos === t + 1;
    // Raw tokens: outside a group a newline ends the statement.
    while (!this.panic && this.kinds[this.pos] === K_PUNCT) {
      const code = this.codes[this.pos];
      if (code === LPAREN && bareName) {
        e = this.parseCall(this.ident(t));
      } else if (code === LBRACK) {
        const off = bareName ? this.timeSubscript() : undefined;
        if (off !== undefined) {
          this.skipTimeSubscript(off);
          e = { kind: 'time', name: this.ident(t), offset: off, range: this.span(this.starts[t]!) };
        } else if (bareName && this.isTimeSubscriptStart()) {
          e = this.parseTimeIndex(this.ident(t));
        } else {
          e = this.parseIndex(e);
        }
      } else {
        break;
      }
      bareName = false;
    }
    return e;
  }

  private parseCall(callee: Ident): Call {
    this.opens.push(this.next());
    const args: Expr[] = [];
    const named: NamedArg[] = [];
    if (!this.isPunct(RPAREN)) {
      do {
        const i = this.cur();
        if (this.kinds[i] === K_IDENT && this.punctAt(i + 1, EQ)) {
          const name = this.ident(this.next());
          this.next();
          const value = this.parseExpr();
          named.push({ name, value, range: { start: name.range.start, end: Math.max(value.range.end, this.lastEnd) } });
        } else {
          args.push(this.parseExpr());
        }
      } while (!this.panic && this.eat(COMMA) !== undefined);
    }
    this.close(RPAREN, "',' or ')'");
    this.opens.pop();
    return { kind: 'call', callee, args, named, range: this.span(callee.range.start) };
  }

  private parseIndex(target: Expr): Expr {
    this.opens.push(this.next());
    const subscripts: Subscript[] = [];
    do subscripts.push(this.parseSubscript());
    while (!this.panic && this.eat(COMMA) !== undefined);
    this.close(RBRACK, "',' or ']'");
    this.opens.pop();
    return { kind: 'index', target, subscripts, range: this.span(target.range.start) };
  }

  private parseSubscript(): Subscript {
    let start = this.starts[this.cur()]!;
    let index: Expr | undefined;
    if (!this.isPunct(COLON)) {
      index = this.parseExpr();
      start = Math.min(start, index.range.start); // an ErrorExpr sits before the bad token
      if (this.panic || !this.isPunct(COLON)) return { kind: 'at', index, range: this.span(start) };
    }
    this.next(); // ':'
    const end = this.isPunct(COMMA) || this.isPunct(RBRACK) ? undefined : this.parseExpr();
    return { kind: 'slice', ...(index ? { start: index } : {}), ...(end ? { end } : {}), range: this.span(start) };
  }

  private parsePrimary(): Expr {
    const i = this.cur();
    switch (this.kinds[i]) {
      case K_NUMBER:
        this.next();
        return { kind: 'number', value: this.ts.values[i]!, text: this.ts.text(i), range: this.rangeOf(i) };
      case K_IDENT: {
        const w = this.word(i);
        if (RESERVED.has(w)) break;
        this.next();
        return { kind: 'name', name: w, range: this.rangeOf(i) };
      }
      case K_PUNCT:
        if (this.codes[i] === LPAREN) {
          this.opens.push(this.next());
          const inner = this.parseExpr();
          this.close(RPAREN, "')'");
          this.opens.pop();
          // The parentheses belong to the node, so its range is what the user wrote.
          return { ...inner, range: this.span(this.starts[i]!) };
        }
        if (this.codes[i] === LBRACK) {
          this.opens.push(this.next());
          const items: Expr[] = [];
          if (!this.isPunct(RBRACK)) {
            do items.push(this.parseExpr());
            while (!this.panic && this.eat(COMMA) !== undefined);
          }
          this.close(RBRACK, "',' or ']'");
          this.opens.pop();
          return { kind: 'list', items, range: this.span(this.starts[i]!) };
        }
        break;
      default:
        break;
    }
    this.expected('an expression');
    return this.errorExpr();
  }
}
