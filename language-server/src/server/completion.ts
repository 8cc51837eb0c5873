// Completion: keywords where a statement may start, names in scope with
// their role and shape, builtins with signature and doc; after `~` the
// initialisers, after `surrogate spike =` the surrogates, after `schedule`
// and `objective` their words, in a rule the model's names.

import { CompletionItemKind, InsertTextFormat, type CompletionItem, type CompletionParams, type MarkupContent } from 'vscode-languageserver/node';
import type { Item } from '../lang/ast.js';
import { BUILTINS, INITIALISERS } from '../lang/builtins.js';
import { SURROGATE_KINDS, SURROGATE_SCALE } from '../lang/surrogates.js';
import type { Symbol } from '../lang/symbols.js';
import { guarded, type ServerContext } from './context.js';
import { fmtNumber, fmtShape } from './convert.js';
import type { Snapshot } from './documents.js';
import { programItemAt } from '../analysis/locate.js';
import { APPROXIMATION_WORDS } from '../lang/approximations.js';

const STATEMENT_KEYWORDS: Record<'file' | Item['kind'], readonly string[]> = {
  file: ['function', 'model', 'rule', 'dim', 'const', 'let'],
  function: ['let', 'return', 'dim', 'const'],
  model: ['dim', 'const', 'input', 'target', 'param', 'state', 'surrogate', 'let', 'loss'],
  rule: ['approximate', 'schedule', 'truncate', 'quantize', 'objective', 'limit'],
  grad: [],
  dim: [],
  const: [],
};

const SYMBOL_KIND: Record<Symbol['kind'], CompletionItemKind> = {
  dim: CompletionItemKind.Constant,
  const: CompletionItemKind.Constant,
  param: CompletionItemKind.Field,
  input: CompletionItemKind.Variable,
  target: CompletionItemKind.Variable,
  state: CompletionItemKind.Property,
  let: CompletionItemKind.Variable,
  argument: CompletionItemKind.Variable,
  item: CompletionItemKind.Module,
  surrogate: CompletionItemKind.Function,
};

const md = (value: string): MarkupContent => ({ kind: 'markdown', value });

function words(list: readonly string[], detail: string, kind: CompletionItemKind = CompletionItemKind.Keyword): CompletionItem[] {
  return list.map((w) => ({ label: w, kind, detail }));
}

function symbolItem(s: Symbol): CompletionItem {
  const detail =
    s.kind === 'dim' || s.kind === 'const' ? `${s.kind} = ${fmtNumber(s.value ?? NaN)}` : s.kind === 'item' ? 'item' : `${s.kind} ${fmtShape(s.shape)}`;
  return { label: s.name, kind: SYMBOL_KIND[s.kind], detail, sortText: `0${s.name}` };
}

function builtinItems(): CompletionItem[] {
  return [...BUILTINS.values()]
    .filter((b) => b.name !== 'grad')
    .map((b) => ({
      label: b.name,
      kind: CompletionItemKind.Function,
      detail: b.signature,
      documentation: md(`\`${b.signature}\`\n\n${b.doc}`),
      insertText: `${b.name}($0)`,
      insertTextFormat: InsertTextFormat.Snippet,
      sortText: `1${b.name}`,
    }));
}

/** Names visible at `offset`: the item's own, then the file's dims and consts. */
function namesInScope(snap: Snapshot, item: Item | undefined): Symbol[] {
  const c = snap.compiled;
  const out = new Map<string, Symbol>();
  if (item && item.kind !== 'dim' && item.kind !== 'const') {
    const scope = c.checked.items.get(item.name.name);
    const symbols = scope?.kind === 'function' || scope?.kind === 'model' ? scope.symbols : scope?.kind === 'rule' ? scope.model?.symbols : undefined;
    for (const [k, s] of symbols ?? []) out.set(k, s);
  }
  for (const [k, s] of c.checked.fileSymbols) if (!out.has(k)) out.set(k, s);
  return [...out.values()];
}

export function completions(snap: Snapshot, offset: number): CompletionItem[] {
  const c = snap.compiled;
  const text = snap.text;
  const lineStart = snap.lines.offsetAt({ line: snap.lines.positionAt(offset).line, character: 0 });
  const prefix = text.slice(lineStart, offset);
  if (prefix.includes('#')) return [];
  const item = programItemAt(c, offset);
  const inBody = item !== undefined && item.kind !== 'dim' && item.kind !== 'const' && offset > text.indexOf('{', item.range.start);
  if (/^\s*surrogate\s+\w+\s*=\s*\w*$/.test(prefix)) {
    return [...SURROGATE_KINDS].map(([name, s]) => ({
      label: name,
      kind: CompletionItemKind.Function,
      detail: `${name}(${s.param} = ${s.default}, ${SURROGATE_SCALE.name} = ${SURROGATE_SCALE.default})`,
      documentation: md(`ψ(x) = ${SURROGATE_SCALE.name} · ${s.formula}: ${s.doc}`),
      insertText: `${name}(${s.param} = \${1:${s.default}}, ${SURROGATE_SCALE.name} = \${2:${SURROGATE_SCALE.default}})`,
      insertTextFormat: InsertTextFormat.Snippet,
    }));
  }
  if (/~\s*\w*$/.test(prefix)) {
    return [...INITIALISERS].map(([name, i]) => ({
      label: name,
      kind: CompletionItemKind.Function,
      detail: i.signature,
      documentation: md(i.doc),
      ...(i.arity > 0 ? { insertText: `${name}($0)`, insertTextFormat: InsertTextFormat.Snippet } : {}),
    }));
  }
  if (/^\s*schedule\s+\w*$/.test(prefix)) return words(['online', 'reverse', 'forward', 'order'], 'schedule');
  if (/^\s*objective\s+\w*$/.test(prefix)) return words(['multiplications', 'memory', 'time'], 'objective');
  if (/^\s*limit\s+\w*$/.test(prefix)) return words(['memory'], 'limit');
  if (/^\s*approximate\b.*=\s*\w*$/.test(prefix)) return words([...APPROXIMATION_WORDS], 'approximation');
  if (/\brule\s+\w+\s+for\s+\w*$/.test(prefix) || /^\s*(let\s+\w+\s*=\s*)?grad\(\w*$/.test(prefix)) {
    const want = /\bfor\s+\w*$/.test(prefix) ? 'model' : 'function';
    return c.items.filter((i) => i.kind === want).map((i) => ({ label: i.name, kind: CompletionItemKind.Module, detail: i.kind }));
  }
  // A name being declared: nothing to complete.
  if (/^\s*(let|dim|const|input|target|param|state|function|model|rule)\s+\w*$/.test(prefix)) return [];
  const names = namesInScope(snap, inBody ? item : undefined).map(symbolItem);
  const atStatementStart = /^\s*\w*$/.test(prefix);
  const keywords = atStatementStart ? words(STATEMENT_KEYWORDS[inBody && item ? item.kind : 'file'], 'keyword') : [];
  if (!inBody) return [...keywords, ...names.filter((n) => n.kind === CompletionItemKind.Constant)];
  if (item?.kind === 'rule') return [...keywords, ...(atStatementStart ? [] : names)];
  return [...keywords, ...names, ...builtinItems()];
}

export function registerCompletion(ctx: ServerContext): void {
  ctx.connection.onCompletion(
    guarded(ctx, 'completion', [] as CompletionItem[], (p: CompletionParams) => {
      const snap = ctx.workspace.snapshot(p.textDocument.uri);
      return snap ? completions(snap, snap.offset(p.position)) : [];
    }),
  );
}
