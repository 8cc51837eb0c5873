// The canonical layout of an Eligo file, the one `Format Document` gives.
// Token based, line by line, so comments and blank lines survive and a file
// with syntax errors is still formatted where it can be:
//
//   - two spaces per `{` level; a line inside unclosed ( ) or [ ] is a
//     continuation and gets two more levels;
//   - one space around binary operators, `=` and `~`, after `,` and `:`
//     (`W: [n, m]`), before `{`; none inside ( ) and [ ], before `(` of a
//     call or `[` of an index, after a unary sign;
//   - compact where the specification writes it compactly: the time index
//     `u[t+1]` (everything inside an index is written without spaces
//     around `+`/`-` and `:`), `d(u[t+1])/d(z)` in `approximate`, and
//     `du/dt` on the left of an ODE;
//   - declarations in columns, as the specification writes them: role
//     words padded to one width in a run of declarations, names and shapes
//     padded among consecutive declarations of one role;
//   - trailing comments of consecutive lines in one column, two spaces
//     after the longest code; a comment line is indented like code;
//   - trailing spaces removed, runs of blank lines cut to one, no blank
//     line just inside `{ … }`, one newline at the end.
//
// A line whose code does not lex (bad characters, `;`) is only re-indented.
// format(format(x)) === format(x), and formatting never changes the tokens.

import { lex, type Token } from '../lang/lexer.js';

const STATEMENT_WORDS = new Set([
  'function',
  'model',
  'rule',
  'let',
  'return',
  'dim',
  'const',
  'input',
  'target',
  'param',
  'state',
  'surrogate',
  'approximate',
  'schedule',
  'objective',
  'limit',
  'for',
]);
const BINARY = new Set(['+', '-', '*', '/', '@', '^', '=', '~']);

/** Splits a line into code and comment (the language has no strings: the first `#` starts a comment). */
function splitComment(line: string): { code: string; comment: string } {
  const k = line.indexOf('#');
  return k < 0 ? { code: line, comment: '' } : { code: line.slice(0, k), comment: line.slice(k).trimEnd() };
}

function isOpen(t: Token): boolean {
  return t.kind === 'punct' && (t.text === '(' || t.text === '[');
}

function isClose(t: Token): boolean {
  return t.kind === 'punct' && (t.text === ')' || t.text === ']');
}

/** Can this token end an operand (so a following `-` is binary, a `(` a call, a `[` an index)? */
function endsOperand(t: Token | undefined): boolean {
  if (!t) return false;
  if (t.kind === 'number') return true;
  if (t.kind === 'ident') return !STATEMENT_WORDS.has(t.text);
  return isClose(t);
}

/** The code of one line, canonically spaced. `brackets` carries open ( [ across lines. */
function formatCode(tokens: readonly Token[], brackets: ('call' | 'group' | 'index' | 'list')[]): string {
  let out = '';
  const first = tokens[0];
  const isApprox = first?.kind === 'ident' && first.text === 'approximate';
  // `du/dt = …`: the slash of the left-hand side.
  const odeSlash = tokens.length >= 4 && tokens[0]!.kind === 'ident' && tokens[1]!.text === '/' && tokens[2]!.text === 'dt' && tokens[3]!.text === '=' ? 1 : -1;
  let prev: Token | undefined;
  let prevUnary = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const inIndex = brackets[brackets.length - 1] === 'index';
    let space: boolean;
    const unary = t.kind === 'punct' && (t.text === '-' || t.text === '+') && !endsOperand(prev);
    if (!prev) space = false;
    else if (t.kind === 'punct' && (t.text === ',' || t.text === ')' || t.text === ']')) space = false;
    else if (prev.kind === 'punct' && (prev.text === '(' || prev.text === '[')) space = false;
    else if (prevUnary) space = false;
    else if (t.kind === 'punct' && t.text === '(') space = !endsOperand(prev);
    else if (t.kind === 'punct' && t.text === '[') space = !endsOperand(prev) || (prev.kind === 'ident' && prev.text === 'order');
    else if (t.kind === 'punct' && t.text === ':') space = false;
    else if (prev.kind === 'punct' && prev.text === ':') space = !inIndex;
    else if (t.kind === 'punct' && BINARY.has(t.text)) {
      const compact = (inIndex && (t.text === '+' || t.text === '-')) || (isApprox && t.text === '/' && brackets.length === 0) || i === odeSlash;
      space = !compact;
    } else if (prev.kind === 'punct' && BINARY.has(prev.text)) {
      const compact = (inIndex && (prev.text === '+' || prev.text === '-')) || (isApprox && prev.text === '/' && brackets.length === 0) || i - 1 === odeSlash;
      space = !compact;
    } else space = true;
    out += (space ? ' ' : '') + t.text;
    if (t.kind === 'punct' && t.text === '(') brackets.push(endsOperand(prev) ? 'call' : 'group');
    else if (t.kind === 'punct' && t.text === '[') brackets.push(endsOperand(prev) && !(prev?.kind === 'ident' && prev.text === 'order') ? 'index' : 'list');
    else if (isClose(t)) brackets.pop();
    prevUnary = unary;
    prev = t;
  }
  return out;
}

interface Line {
  readonly indent: string;
  body: string;
  readonly comment: string;
}

const DECL = /^(input|target|param|state) ([A-Za-z_]\w*):( \[[^\]]*\])(?: ([~=] .*))?$/;

/**
 * Column alignment, as the language specification lays models out: in a
 * run of consecutive declarations the role words are padded to one width,
 * and among consecutive declarations of one role the names and the shapes
 * too (`param  W_in:  [n, n_in]  ~ normal(0, 0.1)`).
 */
function alignDeclarations(lines: Line[]): void {
  let i = 0;
  while (i < lines.length) {
    if (!DECL.test(lines[i]!.body)) {
      i++;
      continue;
    }
    let j = i;
    while (j < lines.length && lines[j]!.indent === lines[i]!.indent && DECL.test(lines[j]!.body)) j++;
    const parsed = lines.slice(i, j).map((l) => DECL.exec(l.body)!);
    const roleWidth = Math.max(...parsed.map((m) => m[1]!.length));
    let k = 0;
    while (k < parsed.length) {
      let e = k;
      while (e < parsed.length && parsed[e]![1] === parsed[k]![1]) e++;
      const group = parsed.slice(k, e);
      const nameWidth = Math.max(...group.map((m) => m[2]!.length + 1));
      const shapeWidth = Math.max(...group.map((m) => m[3]!.length));
      const tails = group.some((m) => m[4] !== undefined);
      group.forEach((m, g) => {
        const shape = tails && m[4] !== undefined ? m[3]!.padEnd(shapeWidth) : m[3]!;
        lines[i + k + g]!.body = `${m[1]!.padEnd(roleWidth)} ${`${m[2]!}:`.padEnd(nameWidth)}${shape}${m[4] !== undefined ? ` ${m[4]}` : ''}`;
      });
      k = e;
    }
    i = j;
  }
}

/** Trailing comments of consecutive lines start in one column, two spaces after the longest code. */
function alignComments(lines: Line[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (!(l.body !== '' && l.comment !== '')) {
      out.push(l.body === '' && l.comment === '' ? '' : l.indent + (l.body === '' ? l.comment : l.body));
      i++;
      continue;
    }
    let j = i;
    while (j < lines.length && lines[j]!.body !== '' && lines[j]!.comment !== '') j++;
    const width = Math.max(...lines.slice(i, j).map((x) => x.indent.length + x.body.length));
    for (let k = i; k < j; k++) {
      const x = lines[k]!;
      out.push(`${(x.indent + x.body).padEnd(width)}  ${x.comment}`);
    }
    i = j;
  }
  return out;
}

export function formatText(text: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r\n|\r|\n/);
  const out: Line[] = [];
  let depth = 0;
  const brackets: ('call' | 'group' | 'index' | 'list')[] = [];
  let blank = 0;
  for (const raw of lines) {
    const { code, comment } = splitComment(raw);
    const trimmed = code.trim();
    if (trimmed === '' && comment === '') {
      blank++;
      continue;
    }
    const { tokens: all, diagnostics } = lex(trimmed);
    const tokens = all.filter((t) => t.kind !== 'newline' && t.kind !== 'eof');
    const verbatim = diagnostics.length > 0 || trimmed.includes(';');
    const startsWithClose = tokens[0]?.kind === 'punct' && tokens[0].text === '}';
    const continuation = brackets.length > 0;
    const level = Math.max(0, depth - (startsWithClose ? 1 : 0)) + (continuation && !startsWithClose ? 2 : 0);
    let body: string;
    if (verbatim) {
      body = trimmed;
      for (const t of tokens) {
        if (isOpen(t)) brackets.push('group');
        else if (isClose(t)) brackets.pop();
      }
    } else {
      body = formatCode(tokens, brackets);
    }
    for (const t of tokens) {
      if (t.kind === 'punct' && t.text === '{') depth++;
      else if (t.kind === 'punct' && t.text === '}') depth = Math.max(0, depth - 1);
    }
    // A `}` closes any bracket left open inside its block (the parser recovers the same way).
    if (tokens.some((t) => t.kind === 'punct' && (t.text === '}' || t.text === '{'))) brackets.length = 0;
    const prev = out[out.length - 1];
    const afterOpen = prev !== undefined && prev.body.endsWith('{');
    if (blank > 0 && out.length > 0 && !afterOpen && !startsWithClose) out.push({ indent: '', body: '', comment: '' });
    blank = 0;
    out.push({ indent: '  '.repeat(level), body, comment });
  }
  alignDeclarations(out);
  const result = alignComments(out);
  return result.length === 0 ? '' : result.join(eol) + eol;
}

/** The non-trivia tokens of a text: formatting must keep these exactly. */
export function tokenTexts(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const { code, comment } = splitComment(raw);
    for (const t of lex(code).tokens) if (t.kind !== 'newline' && t.kind !== 'eof') out.push(t.text);
    if (comment) out.push(comment.trim());
  }
  return out;
}
