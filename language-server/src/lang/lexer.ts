// Hand-written lexer for the Eligo language (shared/LANGUAGE.md).
//
// Identifiers are ASCII `[A-Za-z_][A-Za-z0-9_]*`; keywords are lexed as
// identifiers and recognised by the parser where they have a meaning, because
// several of them double as names (`stop(x)` is a call, `loss` is read in
// `d(loss)/d(z)`, a vertex may be called `order`).
//
// Newlines are tokens (one per run of line breaks, blank lines and comments);
// the parser ignores them inside ( ) and [ ]. That choice is the parser's, not
// the lexer's, so an unclosed `(` does not swallow the rest of the file.
// `;` is lexed as a newline too: it lets one-line bodies read naturally.
//
// Tokens are kept as parallel typed arrays (`TokenStream`): the parser runs on
// every keystroke, and one object per token made garbage collection the main
// cost of parsing large files. `lex()` gives plain token objects for tools.

import type { Diagnostic } from './ast.js';

export type TokenKind = 'ident' | 'number' | 'punct' | 'newline' | 'eof' | 'string';

/** Token kinds in `TokenStream.kinds`. */
export const K_IDENT = 1,
  K_NUMBER = 2,
  K_PUNCT = 3,
  K_NEWLINE = 4,
  K_EOF = 5;
/** A double-quoted string on one line, `"lif.params.h5"`: only `data("file", "dataset")` reads them. */
export const K_STRING = 6;
const KIND_NAMES: readonly TokenKind[] = ['eof', 'ident', 'number', 'punct', 'newline', 'eof', 'string'];

export interface Token {
  readonly kind: TokenKind;
  /** Half-open offsets into the source. */
  readonly start: number;
  readonly end: number;
  /** The text as written (`'\n'` or `';'` for a newline run, `''` at end of file). */
  readonly text: string;
  /** Numeric value of a number token; 0 otherwise. */
  readonly value: number;
}

/** Single-character operators and punctuation. */
export const PUNCTUATION = '+-*/@^=~:,()[]{}';

/** Every keyword of the language; most are contextual (see the parser). */
export const KEYWORDS: ReadonlySet<string> = new Set([
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
  'loss',
  'approximate',
  'schedule',
  'objective',
  'limit',
  'for',
  'online',
  'reverse',
  'forward',
  'order',
  'diagonal',
  'dense',
  'stop',
]);

export function isKeyword(word: string): boolean {
  return KEYWORDS.has(word);
}

/** The tokens of a text as parallel arrays; index `count - 1` is always the EOF token. */
export class TokenStream {
  count = 0;
  readonly kinds: Uint8Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Character code of a punct token (`;` or `\n` for a newline). */
  readonly codes: Uint16Array;
  /** Value of a number token. */
  readonly values: Float64Array;

  constructor(readonly source: string) {
    // At most one token per character, plus EOF.
    const cap = source.length + 1;
    this.kinds = new Uint8Array(cap);
    this.starts = new Int32Array(cap);
    this.ends = new Int32Array(cap);
    this.codes = new Uint16Array(cap);
    this.values = new Float64Array(cap);
  }

  push(kind: number, start: number, end: number, code: number, value: number): void {
    const i = this.count++;
    this.kinds[i] = kind;
    this.starts[i] = start;
    this.ends[i] = end;
    this.codes[i] = code;
    this.values[i] = value;
  }

  /** The text of token `i` as written. */
  text(i: number): string {
    switch (this.kinds[i]) {
      case K_IDENT:
      case K_NUMBER:
      case K_STRING:
        return this.source.slice(this.starts[i], this.ends[i]);
      case K_PUNCT:
        return String.fromCharCode(this.codes[i]!);
      case K_NEWLINE:
        return this.codes[i] === 59 ? ';' : '\n';
      default:
        return '';
    }
  }

  /** Whether token `i` is the identifier `word`, without slicing the source. */
  isWord(i: number, word: string): boolean {
    return this.kinds[i] === K_IDENT && this.ends[i]! - this.starts[i]! === word.length && this.source.startsWith(word, this.starts[i]);
  }

  token(i: number): Token {
    return {
      kind: KIND_NAMES[this.kinds[i]!]!,
      start: this.starts[i]!,
      end: this.ends[i]!,
      text: this.text(i),
      value: this.values[i]!,
    };
  }
}

export interface LexResult {
  /** Always ends with one `eof` token. */
  readonly tokens: Token[];
  readonly diagnostics: Diagnostic[];
}

/** Plain token objects, for tools (highlighting, formatting); the parser uses `lexStream`. */
export function lex(text: string): LexResult {
  const { stream, diagnostics } = lexStream(text);
  const tokens: Token[] = [];
  for (let i = 0; i < stream.count; i++) tokens.push(stream.token(i));
  return { tokens, diagnostics };
}

// Character classes, indexed by char code (ASCII only; everything else is bad).
const C_BAD = 0,
  C_SPACE = 1,
  C_NEWLINE = 2,
  C_IDSTART = 3,
  C_DIGIT = 4,
  C_PUNCT = 5,
  C_HASH = 6,
  C_DOT = 7,
  C_SEMI = 8,
  C_QUOTE = 9;
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (ch === ' ' || ch === '\t' || ch === '\f' || ch === '\v') CLASS[c] = C_SPACE;
  else if (ch === '\n' || ch === '\r') CLASS[c] = C_NEWLINE;
  else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_') CLASS[c] = C_IDSTART;
  else if (ch >= '0' && ch <= '9') CLASS[c] = C_DIGIT;
  else if (PUNCTUATION.includes(ch)) CLASS[c] = C_PUNCT;
  else if (ch === '#') CLASS[c] = C_HASH;
  else if (ch === '.') CLASS[c] = C_DOT;
  else if (ch === ';') CLASS[c] = C_SEMI;
  else if (ch === '"') CLASS[c] = C_QUOTE;
  else CLASS[c] = C_BAD;
}

function classOf(c: number): number {
  return c < 128 ? CLASS[c]! : C_BAD;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isIdPart(c: number): boolean {
  return c < 128 && (CLASS[c] === C_IDSTART || CLASS[c] === C_DIGIT);
}

/** Printable form of a run of bad characters for a message. */
function showChars(s: string): string {
  const shown = s.length > 12 ? s.slice(0, 12) + '…' : s;
  let out = '';
  for (const ch of shown) {
    const cp = ch.codePointAt(0)!;
    out += cp < 32 || cp === 127 || (cp >= 0x80 && cp < 0xa0) || (cp >= 0xd800 && cp <= 0xdfff) ? `\\u{${cp.toString(16)}}` : ch;
  }
  return out;
}

export function lexStream(text: string): { stream: TokenStream; diagnostics: Diagnostic[] } {
  const ts = new TokenStream(text);
  const diagnostics: Diagnostic[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    switch (classOf(c)) {
      case C_SPACE:
        i++;
        break;
      case C_NEWLINE:
      case C_SEMI: {
        const start = i;
        i += c === 13 && text.charCodeAt(i + 1) === 10 ? 2 : 1;
        // One token per run; none before the first real token.
        if (ts.count > 0 && ts.kinds[ts.count - 1] !== K_NEWLINE) {
          ts.push(K_NEWLINE, start, i, c === 59 ? 59 : 10, 0);
        }
        break;
      }
      case C_HASH:
        // Comment to end of line; the break itself is lexed next.
        while (i < n) {
          const d = text.charCodeAt(i);
          if (d === 10 || d === 13) break;
          i++;
        }
        break;
      case C_IDSTART: {
        const start = i++;
        while (i < n && isIdPart(text.charCodeAt(i))) i++;
        ts.push(K_IDENT, start, i, 0, 0);
        break;
      }
      case C_DIGIT:
        i = lexNumber(text, i, ts, diagnostics);
        break;
      case C_DOT:
        if (isDigit(text.charCodeAt(i + 1))) {
          i = lexNumber(text, i, ts, diagnostics);
        } else {
          diagnostics.push({
            range: { start: i, end: i + 1 },
            severity: 'error',
            message: "unexpected character '.': expected a number such as 0.5",
            code: 'syntax.bad-character',
          });
          i++;
        }
        break;
      case C_PUNCT:
        ts.push(K_PUNCT, i, i + 1, c, 0);
        i++;
        break;
      case C_QUOTE: {
        // No escapes: a file name or dataset path needs none, and a string ends on its line.
        const start = i++;
        while (i < n && text.charCodeAt(i) !== 34 && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
        if (text.charCodeAt(i) === 34) {
          i++;
          ts.push(K_STRING, start, i, 0, 0);
        } else {
          diagnostics.push({
            range: { start, end: i },
            severity: 'error',
            code: 'syntax.unclosed-string',
            message: `this string is not closed: end it with '"' on the same line`,
          });
        }
        break;
      }
      default: {
        // One diagnostic for a whole run of bad characters (binary junk, unicode).
        const start = i++;
        while (i < n && classOf(text.charCodeAt(i)) === C_BAD) i++;
        const run = text.slice(start, i);
        const message =
          run === "'"
            ? "unexpected character ''': a prime is not used for derivatives; write 'du/dt = …'"
            : `unexpected ${run.length === 1 ? 'character' : 'characters'} '${showChars(run)}': ` + 'Eligo names use ASCII letters, digits and _';
        diagnostics.push({ range: { start, end: i }, severity: 'error', message, code: 'syntax.bad-character' });
      }
    }
  }
  ts.push(K_EOF, n, n, 0, 0);
  return { stream: ts, diagnostics };
}

/** digits [. digits] [e [+-] digits], or . digits [...]; `10^12` is an operator, not a literal. */
function lexNumber(text: string, i: number, ts: TokenStream, diagnostics: Diagnostic[]): number {
  const n = text.length;
  const start = i;
  while (i < n && isDigit(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) === 46 /* . */) {
    i++;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  let end = i;
  const e = text.charCodeAt(i);
  if (e === 101 || e === 69 /* e E */) {
    let j = i + 1;
    const sign = text.charCodeAt(j);
    if (sign === 43 || sign === 45) j++;
    if (isDigit(text.charCodeAt(j))) {
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      end = j;
    } else if (!isIdPart(text.charCodeAt(i + 1)) || sign === 43 || sign === 45) {
      // `1e`, `1e+`: an exponent with no digits. (`2em` is left to the parser.)
      end = j;
      diagnostics.push({
        range: { start, end },
        severity: 'error',
        message: `malformed number '${text.slice(start, end)}': expected digits after the exponent, as in 1e-6`,
        code: 'syntax.bad-number',
      });
      ts.push(K_NUMBER, start, end, 0, Number(text.slice(start, i)));
      return end;
    }
  }
  ts.push(K_NUMBER, start, end, 0, Number(text.slice(start, end)));
  return end;
}
