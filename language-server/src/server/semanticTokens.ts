// Semantic tokens: what each name *is* (as the checker resolved it), which
// the TextMate grammar cannot know — a state, a trainable param, a data
// input, a folded constant, a builtin — plus keywords, numbers, operators
// and comments.

import { SemanticTokensBuilder, type SemanticTokens, type SemanticTokensLegend, type SemanticTokensParams } from 'vscode-languageserver/node';
import { BUILTINS, INITIALISERS } from '../lang/builtins.js';
import { isSurrogateKind } from '../lang/surrogates.js';
import { KEYWORDS, lex } from '../lang/lexer.js';
import type { Symbol } from '../lang/symbols.js';
import { guarded, type ServerContext } from './context.js';
import type { Snapshot } from './documents.js';
import { occurrenceAt } from '../analysis/locate.js';

export const TOKEN_TYPES = [
  'keyword',
  'function',
  'class',
  'interface',
  'variable',
  'parameter',
  'property',
  'enumMember',
  'number',
  'comment',
  'operator',
] as const;
export const TOKEN_MODIFIERS = ['declaration', 'readonly', 'defaultLibrary'] as const;
export const LEGEND: SemanticTokensLegend = { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] };

type TokenType = (typeof TOKEN_TYPES)[number];
const T = (t: TokenType): number => TOKEN_TYPES.indexOf(t);
const M = { declaration: 1, readonly: 2, defaultLibrary: 4 } as const;

const OPERATORS = new Set(['+', '-', '*', '/', '@', '^', '=', '~']);

function symbolType(s: Symbol): { type: TokenType; mods: number } {
  switch (s.kind) {
    case 'dim':
      return { type: 'enumMember', mods: M.readonly };
    case 'const':
      return { type: 'variable', mods: M.readonly };
    case 'param':
      return { type: 'property', mods: 0 };
    case 'input':
    case 'target':
    case 'argument':
      return { type: 'parameter', mods: 0 };
    case 'state':
    case 'let':
      return { type: 'variable', mods: 0 };
    case 'surrogate':
      return { type: 'function', mods: 0 };
    case 'item': {
      const kind = (s.node as { kind?: string } | undefined)?.kind;
      return { type: kind === 'model' ? 'class' : kind === 'rule' ? 'interface' : 'function', mods: 0 };
    }
  }
}

export interface RawToken {
  readonly start: number;
  readonly length: number;
  readonly type: number;
  readonly mods: number;
}

/** Tokens in document order (offsets), before delta encoding. */
export function semanticTokenList(snap: Snapshot): RawToken[] {
  const c = snap.compiled;
  const text = snap.text;
  const { tokens } = lex(text);
  const out: RawToken[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const length = t.end - t.start;
    if (t.kind === 'number') {
      out.push({ start: t.start, length, type: T('number'), mods: 0 });
    } else if (t.kind === 'punct') {
      if (OPERATORS.has(t.text)) out.push({ start: t.start, length, type: T('operator'), mods: 0 });
    } else if (t.kind === 'ident') {
      const occ = occurrenceAt(c, t.start);
      if (occ && occ.range.start === t.start && occ.range.end === t.end) {
        const { type, mods } = symbolType(occ.symbol);
        out.push({ start: t.start, length, type: T(type), mods: mods | (occ.isDecl ? M.declaration : 0) });
        continue;
      }
      const next = tokens[i + 1];
      const isCall = next?.kind === 'punct' && next.text === '(';
      if (isCall && (BUILTINS.has(t.text) || isSurrogateKind(t.text) || INITIALISERS.has(t.text))) {
        out.push({ start: t.start, length, type: T('function'), mods: M.defaultLibrary });
      } else if (INITIALISERS.has(t.text) && tokens[i - 1]?.text === '~') {
        out.push({ start: t.start, length, type: T('function'), mods: M.defaultLibrary });
      } else if (KEYWORDS.has(t.text) && !isCall) {
        out.push({ start: t.start, length, type: T('keyword'), mods: 0 });
      } else if (t.text === 't' || t.text === 'd') {
        // `u[t+1]`, `d(u[t+1])/d(z)`: the time index and the derivative sign.
        out.push({ start: t.start, length, type: T('keyword'), mods: 0 });
      }
    }
  }
  // Comments: from the first `#` of a line (the language has no strings).
  const re = /#[^\r\n]*/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ start: m.index, length: m[0].length, type: T('comment'), mods: 0 });
  out.sort((a, b) => a.start - b.start);
  return out;
}

export function semanticTokens(snap: Snapshot): SemanticTokens {
  const b = new SemanticTokensBuilder();
  for (const t of semanticTokenList(snap)) {
    const p = snap.lines.positionAt(t.start);
    b.push(p.line, p.character, t.length, t.type, t.mods);
  }
  return b.build();
}

export function registerSemanticTokens(ctx: ServerContext): void {
  ctx.connection.languages.semanticTokens.on(
    guarded(ctx, 'semanticTokens', { data: [] }, (p: SemanticTokensParams) => {
      const snap = ctx.workspace.snapshot(p.textDocument.uri);
      return snap ? semanticTokens(snap) : { data: [] };
    }),
  );
}
