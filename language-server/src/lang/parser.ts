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

import type {
  ApproxKind, ApproxStmt, Call, ConstDecl, Diagnostic, DimDecl, ErrorExpr, Expr, FunctionItem, FunctionParam,
  GradItem, Ident, Item, LetStmt, LimitStmt, ModelItem, ModelStmt, NameRef, NamedArg, ObjectiveStmt, Program,
  Range, RelatedInfo, Role, RuleItem, RuleStmt, Schedule, ScheduleStmt, ShapeAnnot, Subscript, SurrogateDecl,
  ReturnStmt, VarDecl,
} from './ast.js';
import { lex, type Token } from './lexer.js';

/** Stable issue codes of the parser and lexer; code actions key off these. */
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
} as const;

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

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof': return 'end of file';
    case 'newline': return t.text === ';' ? "';'" : 'end of line';
    case 'ident': return RESERVED.has(t.text) ? `keyword '${t.text}'` : `'${t.text}'`;
    default: return `'${t.text}'`;
  }
}

class Parser {
  private readonly toks: Token[];
  private readonly diags: Diagnostic[];
  /** Start offsets of tokens right after a run of bad characters: errors there are the junk's fault. */
  private readonly afterBad = new Set<number>();
  private pos = 0;
  /** End of the last consumed token. */
  private lastEnd = 0;
  /** The open `(` and `[` around the cursor; inside them newlines are insignificant. */
  private readonly opens: Token[] = [];
  private depth = 0;
  private panic = false;

  constructor(private readonly text: string) {
    const { tokens, diagnostics } = lex(text);
    this.toks = tokens;
    this.diags = diagnostics;
    let k = 0;
    for (const d of diagnostics) {
      while (tokens[k]!.start < d.range.end) k++;
      this.afterBad.add(tokens[k]!.start);
    }
  }

  finish(): Diagnostic[] {
    // Lexer diagnostics come first in the array; a stable sort interleaves them.
    return this.diags.sort((a, b) => a.range.start - b.range.start);
  }

  // ------------------------------------------------------------ token cursor

  private cur(): Token {
    let t = this.toks[this.pos]!;
    if (this.opens.length > 0) while (t.kind === 'newline') t = this.toks[++this.pos]!;
    return t;
  }

  private next(): Token {
    const t = this.cur();
    if (t.kind !== 'eof') this.pos++;
    this.lastEnd = t.end;
    return t;
  }

  private isPunct(ch: string): boolean {
    const t = this.cur();
    return t.kind === 'punct' && t.text === ch;
  }

  private isWord(w: string): boolean {
    const t = this.cur();
    return t.kind === 'ident' && t.text === w;
  }

  private eat(ch: string): Token | undefined {
    return this.isPunct(ch) ? this.next() : undefined;
  }

  /** The raw token `k` ahead of the cursor (no newline skipping). */
  private peekRaw(k: number): Token {
    return this.toks[Math.min(this.pos + k, this.toks.length - 1)]!;
  }

  private lineFirst(index: number): boolean {
    return index === 0 || this.toks[index - 1]!.kind === 'newline';
  }

  private skipNewlines(): void {
    while (this.toks[this.pos]!.kind === 'newline') this.pos++;
  }

  private span(start: number): Range {
    return { start, end: Math.max(start, this.lastEnd) };
  }

  // ------------------------------------------------------------ diagnostics

  /**
   * Report unless already panicking; enter panic either way. An error at a
   * token right after bad characters is not reported: the lexer already did.
   */
  private report(range: Range, message: string, code: string,
    extra: { related?: RelatedInfo[]; data?: unknown; found?: Token } = {}): void {
    if (this.panic) return;
    this.panic = true;
    if (this.afterBad.has(range.start) || (extra.found && this.afterBad.has(extra.found.start))) return;
    this.diags.push({
      range, severity: 'error', message, code,
      ...(extra.related ? { related: extra.related } : {}),
      ...(extra.data !== undefined ? { data: extra.data } : {}),
    });
  }

  /** Where to point at a found token: newlines and EOF point just past the last real token. */
  private at(t: Token): Range {
    if (t.kind === 'newline' || t.kind === 'eof') {
      const p = Math.min(this.lastEnd, t.start);
      return { start: p, end: p };
    }
    return { start: t.start, end: t.end };
  }

  private expected(what: string, code: string = SyntaxCode.Expected): void {
    const t = this.cur();
    this.report(this.at(t), `expected ${what} but found ${describe(t)}`, code, { found: t });
  }

  private errorExpr(): ErrorExpr {
    const r = this.at(this.cur());
    return { kind: 'error', range: { start: r.start, end: r.start } };
  }

  // ------------------------------------------------------------ recovery

  /** Skip the rest of a broken statement that began at token `from`. */
  private sync(from: number): void {
    for (;;) {
      const t = this.toks[this.pos]!;
      if (t.kind === 'eof' || t.kind === 'newline' || (t.kind === 'punct' && t.text === '}')) return;
      if (this.pos > from && this.lineFirst(this.pos)) return;
      this.pos++;
    }
  }

  /** A statement must end at a newline, `}` or end of file. */
  private endStatement(from: number): void {
    if (!this.panic) {
      const t = this.toks[this.pos]!;
      const ended = t.kind === 'eof' || t.kind === 'newline' || (t.kind === 'punct' && t.text === '}') ||
        (this.pos > from && this.lineFirst(this.pos));
      if (!ended) {
        this.report(this.at(t), `expected end of line after the statement but found ${describe(t)}`,
          SyntaxCode.UnexpectedToken, { found: t });
      }
    }
    if (this.panic) this.sync(from);
    this.panic = false;
    if (this.pos === from && this.toks[this.pos]!.kind !== 'eof') this.pos++; // always make progress
  }

  /** Expect a closing `)`/`]`; tell "never closed" apart from "wrong token inside". */
  private close(ch: ')' | ']', open: Token, expected: string): boolean {
    const t = this.cur();
    if (t.kind === 'punct' && t.text === ch) {
      this.next();
      return true;
    }
    const unclosed = t.kind === 'eof' || (t.kind === 'punct' && (t.text === '}' || t.text === '{')) ||
      (t.kind === 'ident' && RESERVED.has(t.text)) || this.lineFirst(this.pos);
    if (unclosed) {
      this.report({ start: open.start, end: open.end },
        `'${open.text}' is never closed: expected '${ch}' before ${describe(t)}`,
        SyntaxCode.Unclosed, { related: [{ range: this.at(t), message: `'${ch}' expected here` }], found: t });
    } else {
      this.expected(expected);
    }
    return false;
  }

  // ------------------------------------------------------------ names

  private ident(t: Token): Ident {
    return { name: t.text, range: { start: t.start, end: t.end } };
  }

  /** A name that is not a reserved word, or a diagnostic. */
  private expectName(what: string): Ident | undefined {
    const t = this.cur();
    if (t.kind === 'ident' && !RESERVED.has(t.text)) return this.ident(this.next());
    this.expected(what);
    return undefined;
  }

  private expectPunct(ch: string, what = `'${ch}'`): Token | undefined {
    const t = this.eat(ch);
    if (!t) this.expected(what);
    return t;
  }

  // ------------------------------------------------------------ program

  parseProgram(): Program {
    const items: Item[] = [];
    for (;;) {
      this.skipNewlines();
      const t = this.toks[this.pos]!;
      if (t.kind === 'eof') break;
      this.panic = false;
      const from = this.pos;
      if (t.kind === 'ident' && TOP_LEVEL_STARTS.has(t.text)) {
        switch (t.text) {
          case 'function': { const f = this.parseFunction(); if (f) items.push(f); break; }
          case 'model': { const m = this.parseModel(); if (m) items.push(m); break; }
          case 'rule': { const r = this.parseRule(); if (r) items.push(r); break; }
          case 'dim': items.push(...this.parseDecls('dim')); this.endStatement(from); break;
          case 'const': items.push(...this.parseDecls('const')); this.endStatement(from); break;
          default: { const g = this.parseGradItem(); if (g) items.push(g); this.endStatement(from); }
        }
        this.panic = false;
        continue;
      }
      if (t.kind === 'punct' && t.text === '}') {
        this.report(this.at(t), "unexpected '}': no block is open here", SyntaxCode.UnexpectedToken, { found: t });
        this.pos++;
        continue;
      }
      this.report(this.at(t),
        `expected an item ('function', 'model', 'rule', 'dim', 'const' or 'let') but found ${describe(t)}`,
        SyntaxCode.UnexpectedToken, { found: t });
      // One diagnostic for the whole stretch of junk.
      this.pos++;
      while (true) {
        const u = this.toks[this.pos]!;
        if (u.kind === 'eof' || (u.kind === 'ident' && TOP_LEVEL_STARTS.has(u.text) && this.lineFirst(this.pos))) break;
        this.pos++;
      }
    }
    return { range: { start: 0, end: this.text.length }, items };
  }

  parseStandaloneExpr(): Expr {
    this.skipNewlines();
    const e = this.parseExpr();
    this.skipNewlines();
    const t = this.toks[this.pos]!;
    if (!this.panic && t.kind !== 'eof') {
      this.report(this.at(t), `expected end of expression but found ${describe(t)}`, SyntaxCode.UnexpectedToken,
        { found: t });
    }
    return e;
  }

  // ------------------------------------------------------------ blocks

  /**
   * After an item header: read `{`, or recover. Returns the `{` token, or
   * undefined when the header was broken; the body is then parsed anyway.
   */
  private openBrace(what: string): Token | undefined {
    const open = this.eat('{');
    if (open) return open;
    this.expected(`'{' to start the ${what}`);
    // Skip the rest of the header line; a '{' on it still opens the body.
    for (;;) {
      const t = this.toks[this.pos]!;
      if (t.kind === 'eof' || t.kind === 'newline') break;
      if (t.kind === 'punct' && t.text === '}') break;
      this.pos++;
      if (t.kind === 'punct' && t.text === '{') return t;
    }
    return undefined;
  }

  /**
   * Runs `stmt` for each statement until `}`. Ends early (reporting an
   * unclosed `{`) at end of file or at `function`/`model`/`rule` starting a line.
   */
  private block(open: Token | undefined, what: string, stmt: (from: number) => void): void {
    for (;;) {
      this.skipNewlines();
      this.panic = false;
      const t = this.toks[this.pos]!;
      if (t.kind === 'punct' && t.text === '}') {
        this.next();
        return;
      }
      if (t.kind === 'eof' || (t.kind === 'ident' && ITEM_KEYWORDS.has(t.text) && this.lineFirst(this.pos))) {
        if (open) {
          this.report({ start: open.start, end: open.end },
            `'{' of the ${what} is never closed: expected '}' before ${describe(t)}`, SyntaxCode.Unclosed,
            { related: [{ range: this.at(t), message: "'}' expected here" }] });
        }
        this.panic = false;
        return;
      }
      const from = this.pos;
      stmt(from);
      this.endStatement(from);
    }
  }

  // ------------------------------------------------------------ items

  private parseFunction(): FunctionItem | undefined {
    const kw = this.next();
    const name = this.expectName('a function name');
    const params: FunctionParam[] = [];
    if (name) {
      const open = this.expectPunct('(', "'(' and the parameter list");
      if (open) {
        this.opens.push(open);
        if (!this.isPunct(')')) {
          do {
            if (this.isPunct(')')) break; // trailing comma
            const p = this.parseParam();
            if (p) params.push(p);
          } while (!this.panic && this.eat(','));
        }
        this.close(')', open, "',' or ')'");
        this.opens.pop();
      }
    }
    const what = name ? `function '${name.name}'` : 'function';
    const open = this.openBrace(what);
    this.panic = false;
    const body: (LetStmt | DimDecl | ConstDecl)[] = [];
    let returns: ReturnStmt | undefined;
    this.block(open, what, () => {
      const t = this.cur();
      if (t.kind === 'ident') {
        switch (t.text) {
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
        if (s) { body.push(s); return; }
      }
      this.expected("a function statement ('let', 'dim', 'const' or 'return')", SyntaxCode.UnexpectedToken);
    });
    if (!name) return undefined;
    return { kind: 'function', range: this.span(kw.start), name, params, body, ...(returns ? { returns } : {}) };
  }

  private parseParam(): FunctionParam | undefined {
    const name = this.expectName('a parameter name');
    if (!name) return undefined;
    let shape: ShapeAnnot | undefined;
    if (this.eat(':')) shape = this.parseShape();
    return { range: this.span(name.range.start), name, ...(shape ? { shape } : {}) };
  }

  private parseShape(): ShapeAnnot | undefined {
    const open = this.eat('[');
    if (!open) {
      this.expected('a shape such as [n] or [n, m]');
      return undefined;
    }
    this.opens.push(open);
    const dims: Expr[] = [];
    if (!this.isPunct(']')) {
      do dims.push(this.parseExpr());
      while (!this.panic && this.eat(','));
    }
    this.close(']', open, "',' or ']'");
    this.opens.pop();
    return { range: this.span(open.start), dims };
  }

  private parseReturn(): ReturnStmt {
    const kw = this.next();
    const values: Expr[] = [];
    do {
      this.skipNewlinesAfterComma(values.length > 0);
      values.push(this.parseExpr());
    } while (!this.panic && this.eat(','));
    return { kind: 'return', range: this.span(kw.start), values };
  }

  /** A list may go on on the next line after a trailing comma. */
  private skipNewlinesAfterComma(afterComma: boolean): void {
    if (afterComma) this.skipNewlines();
  }

  private parseModel(): ModelItem | undefined {
    const kw = this.next();
    const name = this.expectName('a model name');
    const what = name ? `model '${name.name}'` : 'model';
    const open = this.openBrace(what);
    this.panic = false;
    const body: ModelStmt[] = [];
    this.block(open, what, () => {
      const t = this.cur();
      if (t.kind === 'ident') {
        switch (t.text) {
          case 'let': { const s = this.parseLet(); if (s) body.push(s); return; }
          case 'dim': body.push(...this.parseDecls('dim')); return;
          case 'const': body.push(...this.parseDecls('const')); return;
          case 'input': case 'target': case 'param': case 'state': {
            const v = this.parseVar();
            if (v) body.push(v);
            return;
          }
          case 'surrogate': { const s = this.parseSurrogate(); if (s) body.push(s); return; }
        }
        const s = this.parseEquation();
        if (s) body.push(s);
        return;
      }
      this.expected("a model statement ('dim', 'const', 'input', 'target', 'param', 'state', 'surrogate', " +
        "'let', 'u[t+1] = …', 'du/dt = …' or 'loss = …')", SyntaxCode.UnexpectedToken);
    });
    if (!name) return undefined;
    return { kind: 'model', range: this.span(kw.start), name, body };
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
    this.block(open, what, () => {
      const t = this.cur();
      if (t.kind === 'ident') {
        let s: RuleStmt | undefined;
        switch (t.text) {
          case 'approximate': s = this.parseApprox(); break;
          case 'schedule': s = this.parseSchedule(); break;
          case 'objective': s = this.parseObjective(); break;
          case 'limit': s = this.parseLimit(); break;
          default:
            this.expected("a rule statement ('approximate', 'schedule', 'objective' or 'limit')",
              SyntaxCode.UnexpectedToken);
        }
        if (s) body.push(s);
        return;
      }
      this.expected("a rule statement ('approximate', 'schedule', 'objective' or 'limit')",
        SyntaxCode.UnexpectedToken);
    });
    if (!name || !model) return undefined;
    return { kind: 'rule', range: this.span(kw.start), name, model, body };
  }

  /** File-level `let g = grad(f)`. */
  private parseGradItem(): GradItem | undefined {
    const kw = this.next();
    const name = this.expectName('a name after \'let\'');
    if (!name || !this.expectPunct('=')) return undefined;
    const t = this.cur();
    if (!(t.kind === 'ident' && t.text === 'grad' && this.peekRaw(1).text === '(' && this.peekRaw(1).kind === 'punct')) {
      this.expected("'grad(FUNCTION)': at file level 'let' only binds the gradient of a function");
      return undefined;
    }
    this.next();
    const open = this.next();
    this.opens.push(open);
    const of = this.expectName('the name of a function');
    if (of) this.close(')', open, "')'");
    this.opens.pop();
    if (!of) return undefined;
    return { kind: 'grad', range: this.span(kw.start), name, of };
  }

  // ------------------------------------------------------------ statements

  /** `dim a = 1, b = 2` / `const x = …, y = …`: one node per binding. */
  private parseDecls(kind: 'dim'): DimDecl[];
  private parseDecls(kind: 'const'): ConstDecl[];
  private parseDecls(kind: 'dim' | 'const'): (DimDecl | ConstDecl)[] {
    this.next();
    const out: (DimDecl | ConstDecl)[] = [];
    let first = true;
    do {
      this.skipNewlinesAfterComma(!first);
      first = false;
      const name = this.expectName(kind === 'dim' ? 'a dimension name' : 'a constant name');
      if (!name) break;
      if (!this.expectPunct('=', `'=' and a value for '${name.name}'`)) {
        out.push({ kind, range: this.span(name.range.start), name, value: this.errorExpr() } as DimDecl | ConstDecl);
        break;
      }
      const value = this.parseExpr();
      out.push({ kind, range: this.span(name.range.start), name, value } as DimDecl | ConstDecl);
    } while (!this.panic && this.eat(','));
    return out;
  }

  private parseLet(): LetStmt | undefined {
    const kw = this.next();
    const name = this.expectName("a name after 'let'");
    if (!name) return undefined;
    const value = this.expectPunct('=', `'=' after 'let ${name.name}'`) ? this.parseExpr() : this.errorExpr();
    return { kind: 'let', range: this.span(kw.start), name, value };
  }

  /** `x = …` where `let x = …` was meant: report once and keep the binding. */
  private tryMissingLet(): LetStmt | undefined {
    const t = this.cur();
    const eq = this.peekRaw(1);
    if (t.kind !== 'ident' || RESERVED.has(t.text) || eq.kind !== 'punct' || eq.text !== '=') return undefined;
    const name = this.ident(this.next());
    this.next();
    this.report(name.range, `a binding needs 'let': write 'let ${name.name} = …'`, SyntaxCode.MissingLet,
      { data: { name: name.name } });
    // Parse the value without panicking so the binding stays usable.
    this.panic = false;
    const value = this.parseExpr();
    this.panic = true; // the statement had an error: skip any rest of it silently
    return { kind: 'let', range: this.span(name.range.start), name, value };
  }

  private parseVar(): VarDecl | undefined {
    const kw = this.next();
    const role = kw.text as Role;
    const name = this.expectName(`a name for the ${role}`);
    if (!name) return undefined;
    let shape: ShapeAnnot | undefined;
    let init: Call | NameRef | undefined;
    let initial: Expr | undefined;
    if (this.eat(':')) shape = this.parseShape();
    if (!this.panic && this.isPunct('~')) {
      const tilde = this.next();
      const fn = this.parseInitFn('an initialiser such as normal(0, 0.1), uniform(-1, 1), zeros or glorot');
      if (role !== 'param') {
        this.report(this.span(tilde.start), `only a param has an initialiser ('~ …'); ` +
          (role === 'state' ? `give a state its initial value with '= …'` : `a ${role} is read from the data`),
          SyntaxCode.MisplacedInit);
      } else {
        init = fn;
      }
    }
    if (!this.panic && this.isPunct('=')) {
      const eq = this.next();
      const v = this.parseExpr();
      if (role !== 'state') {
        this.report(this.span(eq.start), `only a state has an initial value ('= …')` +
          (role === 'param' ? `; give a param an initialiser with '~ normal(0, 0.1)'` : ''),
          SyntaxCode.MisplacedInit);
      } else {
        initial = v;
      }
    }
    return {
      kind: 'var', range: this.span(kw.start), role, name,
      ...(shape ? { shape } : {}), ...(init ? { init } : {}), ...(initial ? { initial } : {}),
    };
  }

  /** `normal(0, 0.1)` or a bare `zeros`. */
  private parseInitFn(what: string): Call | NameRef | undefined {
    const t = this.cur();
    if (t.kind !== 'ident' || RESERVED.has(t.text)) {
      this.expected(what);
      return undefined;
    }
    const id = this.ident(this.next());
    if (this.isPunct('(')) return this.parseCall(id);
    return { kind: 'name', range: id.range, name: id.name };
  }

  private parseSurrogate(): SurrogateDecl | undefined {
    const kw = this.next();
    const name = this.expectName("the name of the spiking function, as in 'surrogate spike = …'");
    if (!name || !this.expectPunct('=', `'=' and a surrogate such as fast_sigmoid(slope = 10)`)) return undefined;
    const fn = this.parseInitFn('a surrogate such as fast_sigmoid(slope = 10), sigmoid(slope = 5), triangle(width = 1)');
    if (!fn) return undefined;
    return { kind: 'surrogate', range: this.span(kw.start), name, fn };
  }

  /** `u[t+1] = …`, `du/dt = …`, `loss = …` (or a missing `let`). */
  private parseEquation(): ModelStmt | undefined {
    const t = this.cur();
    const a = this.peekRaw(1);
    if (t.text === 'loss' && a.kind === 'punct' && a.text === '=') {
      const kw = this.next();
      this.next();
      const value = this.parseExpr();
      return { kind: 'loss', range: this.span(kw.start), keyword: { start: kw.start, end: kw.end }, value };
    }
    // du/dt: lexed as `du` `/` `dt`.
    const b = this.peekRaw(2);
    if (t.text.length > 1 && t.text[0] === 'd' && a.kind === 'punct' && a.text === '/' && b.kind === 'ident' && b.text === 'dt') {
      this.next();
      this.next();
      this.next();
      const target: Ident = { name: t.text.slice(1), range: { start: t.start + 1, end: t.end } };
      const value = this.expectPunct('=', `'=' after 'd${target.name}/dt'`) ? this.parseExpr() : this.errorExpr();
      return { kind: 'ode', range: this.span(t.start), target, value };
    }
    if (a.kind === 'punct' && a.text === '[' && !RESERVED.has(t.text)) {
      const target = this.ident(this.next());
      const off = this.timeSubscript();
      if (off === undefined) {
        this.expected(`'[t+1]': an update reads '${target.name}[t+1] = …'`);
        return undefined;
      }
      const subStart = this.cur().start;
      this.pos += off === 0 ? 3 : 5;
      this.lastEnd = this.toks[this.pos - 1]!.end;
      if (off === 0) {
        // Keep the update (no cascade of "state has no update"); report the offset once.
        this.report({ start: subStart, end: subStart + 3 },
          `an update defines the next step: write '${target.name}[t+1] = …'`, SyntaxCode.Expected);
        this.panic = false;
      }
      const value = this.expectPunct('=', `'=' after '${target.name}[t+1]'`) ? this.parseExpr() : this.errorExpr();
      if (off === 0) this.panic = true;
      return { kind: 'update', range: this.span(t.start), target, value };
    }
    const s = this.tryMissingLet();
    if (s) return s;
    this.expected("a model statement ('dim', 'const', 'input', 'target', 'param', 'state', 'surrogate', " +
      "'let', 'u[t+1] = …', 'du/dt = …' or 'loss = …')", SyntaxCode.UnexpectedToken);
    return undefined;
  }

  /** At a raw `[`: 0 for `[t]`, 1 for `[t+1]`, undefined otherwise. Consumes nothing. */
  private timeSubscript(): 0 | 1 | undefined {
    const at = (k: number, kind: Token['kind'], text: string): boolean => {
      const t = this.peekRaw(k);
      return t.kind === kind && t.text === text;
    };
    if (!at(0, 'punct', '[') || !at(1, 'ident', 't')) return undefined;
    if (at(2, 'punct', ']')) return 0;
    if (at(2, 'punct', '+') && at(3, 'number', '1') && at(4, 'punct', ']')) return 1;
    return undefined;
  }

  // ------------------------------------------------------------ rule statements

  /** `approximate d(u[t+1])/d(z) = 0 | diagonal | dense | stop` */
  private parseApprox(): ApproxStmt | undefined {
    const kw = this.next();
    const of = this.parseDRef('d(u[t+1])');
    if (!of) return undefined;
    if (!this.expectPunct('/', `'/d(…)' as in d(u[t+1])/d(z)`)) return undefined;
    const wrt = this.parseDRef('d(z)');
    if (!wrt || !this.expectPunct('=', "'=' and 0, diagonal, dense or stop")) return undefined;
    const t = this.cur();
    let approx: ApproxKind | undefined;
    if (t.kind === 'number' && t.value === 0) approx = 'zero';
    else if (t.kind === 'ident' && (t.text === 'diagonal' || t.text === 'dense' || t.text === 'stop')) approx = t.text;
    if (!approx) {
      this.expected('0, diagonal, dense or stop');
      return undefined;
    }
    this.next();
    return {
      kind: 'approximate', range: this.span(kw.start), of: of.name, ofOffset: of.offset,
      wrt: wrt.name, wrtOffset: wrt.offset, approx, approxRange: { start: t.start, end: t.end },
    };
  }

  /** `d(NAME)`, `d(NAME[t])`, `d(NAME[t+1])` */
  private parseDRef(example: string): { name: Ident; offset: number } | undefined {
    if (!this.isWord('d') || this.peekRaw(1).text !== '(') {
      this.expected(`a partial derivative such as ${example}`);
      return undefined;
    }
    this.next();
    const open = this.next();
    this.opens.push(open);
    const name = this.expectName('a state, param, input or loss');
    let offset = 0;
    if (name && this.isPunct('[')) {
      const off = this.timeSubscript();
      if (off === undefined) {
        this.expected("'[t]' or '[t+1]'");
      } else {
        this.pos += off === 0 ? 3 : 5;
        this.lastEnd = this.toks[this.pos - 1]!.end;
        offset = off;
      }
    }
    if (name && !this.panic) this.close(')', open, "')'");
    this.opens.pop();
    if (!name || this.panic) return undefined;
    return { name, offset };
  }

  private parseSchedule(): ScheduleStmt | undefined {
    const kw = this.next();
    const t = this.cur();
    let schedule: Schedule | undefined;
    if (t.kind === 'ident' && (t.text === 'online' || t.text === 'reverse' || t.text === 'forward')) {
      this.next();
      schedule = { kind: t.text, range: { start: t.start, end: t.end } };
    } else if (t.kind === 'ident' && t.text === 'order') {
      this.next();
      const open = this.expectPunct('[', "'[' and the vertices to eliminate, as in order [v1, v2]");
      if (!open) return undefined;
      this.opens.push(open);
      const order: Ident[] = [];
      if (!this.isPunct(']')) {
        do {
          if (this.isPunct(']')) break; // trailing comma
          const v = this.expectName('a vertex name');
          if (v) order.push(v);
        } while (!this.panic && this.eat(','));
      }
      this.close(']', open, "',' or ']'");
      this.opens.pop();
      schedule = { kind: 'order', order, range: this.span(t.start) };
    } else {
      this.expected('online, reverse, forward or order [v1, v2, …]');
      return undefined;
    }
    return { kind: 'schedule', range: this.span(kw.start), schedule };
  }

  private parseObjective(): ObjectiveStmt | undefined {
    const kw = this.next();
    const objective = this.expectName('multiplications, memory or time');
    if (!objective) return undefined;
    return { kind: 'objective', range: this.span(kw.start), objective };
  }

  /** `limit memory 128 KiB` */
  private parseLimit(): LimitStmt | undefined {
    const kw = this.next();
    const what = this.expectName("what to limit, as in 'limit memory 128 KiB'");
    if (!what) return undefined;
    const n = this.cur();
    if (n.kind !== 'number') {
      this.expected(`a number, as in 'limit ${what.name} 128 KiB'`);
      return undefined;
    }
    this.next();
    const u = this.cur();
    const unit = u.kind === 'ident' && !RESERVED.has(u.text) ? this.ident(this.next()) : undefined;
    return { kind: 'limit', range: this.span(kw.start), what, value: n.value, ...(unit ? { unit } : {}) };
  }

  // ------------------------------------------------------------ expressions

  // Precedence, loosest first (LANGUAGE.md §4): + -, then * / @, then unary -,
  // then ^ (right-associative; its right operand may be unary: 2^-1), then
  // calls and indexing.

  private parseExpr(): Expr {
    let left = this.parseMul();
    while (!this.panic) {
      const t = this.cur();
      if (t.kind !== 'punct' || (t.text !== '+' && t.text !== '-')) break;
      this.next();
      const right = this.parseMul();
      left = this.binary(t, left, right);
    }
    return left;
  }

  private parseMul(): Expr {
    let left = this.parseUnary();
    while (!this.panic) {
      const t = this.cur();
      if (t.kind !== 'punct' || (t.text !== '*' && t.text !== '/' && t.text !== '@')) break;
      this.next();
      const right = this.parseUnary();
      left = this.binary(t, left, right);
    }
    return left;
  }

  private binary(op: Token, left: Expr, right: Expr): Expr {
    return {
      kind: 'binary', op: op.text as '+' | '-' | '*' | '/' | '@' | '^', left, right,
      range: { start: left.range.start, end: Math.max(right.range.end, op.end) },
      opRange: { start: op.start, end: op.end },
    };
  }

  // Every level of nesting passes through here, so the depth guard lives here.
  private parseUnary(): Expr {
    if (this.depth >= MAX_DEPTH) {
      const t = this.cur();
      this.report(this.at(t), `expression nested too deeply (more than ${MAX_DEPTH} levels)`, SyntaxCode.TooDeep,
        { found: t });
      return this.errorExpr();
    }
    this.depth++;
    try {
      const t = this.cur();
      if (t.kind === 'punct' && (t.text === '-' || t.text === '+')) {
        this.next();
        const operand = this.parseUnary();
        return { kind: 'unary', op: t.text, operand, range: { start: t.start, end: Math.max(operand.range.end, t.end) } };
      }
      const base = this.parsePostfix();
      if (this.panic || !this.isPunct('^')) return base;
      const op = this.next();
      return this.binary(op, base, this.parseUnary());
    } finally {
      this.depth--;
    }
  }

  private parsePostfix(): Expr {
    const t = this.cur();
    let e = this.parsePrimary();
    let bareName = e.kind === 'name' && e.range.start === t.start && e.range.end === t.end;
    while (!this.panic) {
      const u = this.toks[this.pos]!; // raw: a newline ends a statement
      if (u.kind !== 'punct') break;
      if (u.text === '(' && bareName) {
        e = this.parseCall(this.ident(t));
      } else if (u.text === '[') {
        const off = bareName ? this.timeSubscript() : undefined;
        if (off !== undefined) {
          this.pos += off === 0 ? 3 : 5;
          this.lastEnd = this.toks[this.pos - 1]!.end;
          e = { kind: 'time', name: this.ident(t), offset: off, range: this.span(t.start) };
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
    const open = this.next();
    this.opens.push(open);
    const args: Expr[] = [];
    const named: NamedArg[] = [];
    if (!this.isPunct(')')) {
      do {
        const t = this.cur();
        const eq = this.toks[this.pos + 1]!;
        if (t.kind === 'ident' && eq.kind === 'punct' && eq.text === '=') {
          const name = this.ident(this.next());
          this.next();
          const value = this.parseExpr();
          named.push({ name, value, range: { start: t.start, end: Math.max(value.range.end, this.lastEnd) } });
        } else {
          args.push(this.parseExpr());
        }
      } while (!this.panic && this.eat(','));
    }
    this.close(')', open, "',' or ')'");
    this.opens.pop();
    return { kind: 'call', callee, args, named, range: this.span(callee.range.start) };
  }

  private parseIndex(target: Expr): Expr {
    const open = this.next();
    this.opens.push(open);
    const subscripts: Subscript[] = [];
    do subscripts.push(this.parseSubscript());
    while (!this.panic && this.eat(','));
    this.close(']', open, "',' or ']'");
    this.opens.pop();
    return { kind: 'index', target, subscripts, range: this.span(target.range.start) };
  }

  private parseSubscript(): Subscript {
    const start = this.cur().start;
    let index: Expr | undefined;
    if (!this.isPunct(':')) {
      index = this.parseExpr();
      if (this.panic || !this.isPunct(':')) return { kind: 'at', index, range: this.span(start) };
    }
    this.next(); // ':'
    const end = this.isPunct(',') || this.isPunct(']') ? undefined : this.parseExpr();
    return { kind: 'slice', ...(index ? { start: index } : {}), ...(end ? { end } : {}), range: this.span(start) };
  }

  private parsePrimary(): Expr {
    const t = this.cur();
    switch (t.kind) {
      case 'number':
        this.next();
        return { kind: 'number', value: t.value, text: t.text, range: { start: t.start, end: t.end } };
      case 'ident':
        if (RESERVED.has(t.text)) break;
        this.next();
        return { kind: 'name', name: t.text, range: { start: t.start, end: t.end } };
      case 'punct':
        if (t.text === '(') {
          this.opens.push(this.next());
          const inner = this.parseExpr();
          this.close(')', t, "')'");
          this.opens.pop();
          // The parentheses belong to the node, so its range is what the user wrote.
          return { ...inner, range: this.span(t.start) };
        }
        if (t.text === '[') {
          this.opens.push(this.next());
          const items: Expr[] = [];
          if (!this.isPunct(']')) {
            do items.push(this.parseExpr());
            while (!this.panic && this.eat(','));
          }
          this.close(']', t, "',' or ']'");
          this.opens.pop();
          return { kind: 'list', items, range: this.span(t.start) };
        }
        break;
      default:
        break;
    }
    this.expected('an expression');
    return this.errorExpr();
  }
}
