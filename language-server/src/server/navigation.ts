// Go to definition, find references, document highlights and rename, all
// from the checker's resolution of every name (`checked.references`): a
// state renamed in its model is renamed in its equations and in the rules
// that approximate its blocks; a model renamed is renamed in `rule … for`.

import {
  DocumentHighlightKind,
  ResponseError,
  type DefinitionParams,
  type DocumentHighlight,
  type DocumentHighlightParams,
  type Location,
  type PrepareRenameParams,
  type Range as LspRange,
  type ReferenceParams,
  type RenameParams,
  type WorkspaceEdit,
} from 'vscode-languageserver/node';
import { BUILTINS, INITIALISERS } from '../lang/builtins.js';
import { isSurrogateKind } from '../lang/surrogates.js';
import { KEYWORDS } from '../lang/lexer.js';
import type { Symbol } from '../lang/symbols.js';
import { guarded, type ServerContext } from './context.js';
import type { Snapshot } from './documents.js';
import { occurrenceAt, refIndex, type Occurrence } from '../analysis/locate.js';

/** Invalid params (LSP): the new name is not usable. */
const INVALID_PARAMS = -32602;

export function definition(snap: Snapshot, offset: number): Location | null {
  const occ = occurrenceAt(snap.compiled, offset);
  return occ ? { uri: snap.uri, range: snap.range(occ.symbol.decl) } : null;
}

function occurrencesOf(snap: Snapshot, sym: Symbol): readonly Occurrence[] {
  return refIndex(snap.compiled).bySymbol.get(sym) ?? [];
}

export function references(snap: Snapshot, offset: number, includeDeclaration: boolean): Location[] {
  const occ = occurrenceAt(snap.compiled, offset);
  if (!occ) return [];
  return occurrencesOf(snap, occ.symbol)
    .filter((o) => includeDeclaration || !o.isDecl)
    .map((o) => ({ uri: snap.uri, range: snap.range(o.range) }));
}

export function highlights(snap: Snapshot, offset: number): DocumentHighlight[] {
  const occ = occurrenceAt(snap.compiled, offset);
  if (!occ) return [];
  return occurrencesOf(snap, occ.symbol).map((o) => ({
    range: snap.range(o.range),
    kind: o.isDecl ? DocumentHighlightKind.Write : DocumentHighlightKind.Read,
  }));
}

export function prepareRename(snap: Snapshot, offset: number): { range: LspRange; placeholder: string } | null {
  const occ = occurrenceAt(snap.compiled, offset);
  if (!occ) return null;
  return { range: snap.range(occ.range), placeholder: occ.symbol.name };
}

/** Why `name` cannot replace `sym`, or undefined when it can. */
export function renameProblem(snap: Snapshot, sym: Symbol, name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `'${name}' is not a name: use letters, digits and '_', not starting with a digit`;
  if (KEYWORDS.has(name)) return `'${name}' is a keyword`;
  if (BUILTINS.has(name) || isSurrogateKind(name) || INITIALISERS.has(name)) return `'${name}' is a builtin`;
  if (name === 't' || name === 'dt') return `'${name}' has a meaning in models (time index, time step)`;
  if (name === sym.name) return undefined;
  const c = snap.compiled;
  // A clash anywhere the symbol is visible: the file, or the item declaring it.
  if (sym.kind === 'item') {
    if (c.items.some((i) => i.name === name)) return `an item named '${name}' already exists`;
    return undefined;
  }
  if (c.checked.fileSymbols.get(name)) return `'${name}' is already declared in this file`;
  for (const scope of c.checked.items.values()) {
    const symbols = scope.kind === 'function' || scope.kind === 'model' ? scope.symbols : undefined;
    if (!symbols) continue;
    const own = [...symbols.values()].includes(sym) || c.checked.fileSymbols.get(sym.name) === sym;
    if (own && symbols.has(name)) return `'${name}' is already declared in '${scope.item.name.name}'`;
  }
  return undefined;
}

export function rename(snap: Snapshot, offset: number, newName: string): WorkspaceEdit | ResponseError<void> | null {
  const occ = occurrenceAt(snap.compiled, offset);
  if (!occ) return null;
  const problem = renameProblem(snap, occ.symbol, newName);
  if (problem) return new ResponseError(INVALID_PARAMS, `cannot rename '${occ.symbol.name}' to '${newName}': ${problem}`);
  const edits = occurrencesOf(snap, occ.symbol).map((o) => ({ range: snap.range(o.range), newText: newName }));
  return { changes: { [snap.uri]: edits } };
}

export function registerNavigation(ctx: ServerContext): void {
  const c = ctx.connection;
  const snapOf = (uri: string): Snapshot | undefined => ctx.workspace.snapshot(uri);
  c.onDefinition(
    guarded(ctx, 'definition', null as Location | null, (p: DefinitionParams) => {
      const s = snapOf(p.textDocument.uri);
      return s ? definition(s, s.offset(p.position)) : null;
    }),
  );
  c.onReferences(
    guarded(ctx, 'references', [] as Location[], (p: ReferenceParams) => {
      const s = snapOf(p.textDocument.uri);
      return s ? references(s, s.offset(p.position), p.context.includeDeclaration) : [];
    }),
  );
  c.onDocumentHighlight(
    guarded(ctx, 'documentHighlight', [] as DocumentHighlight[], (p: DocumentHighlightParams) => {
      const s = snapOf(p.textDocument.uri);
      return s ? highlights(s, s.offset(p.position)) : [];
    }),
  );
  c.onPrepareRename(
    guarded(ctx, 'prepareRename', null as { range: LspRange; placeholder: string } | null, (p: PrepareRenameParams) => {
      const s = snapOf(p.textDocument.uri);
      return s ? prepareRename(s, s.offset(p.position)) : null;
    }),
  );
  c.onRenameRequest((p: RenameParams) => {
    try {
      const s = snapOf(p.textDocument.uri);
      return s ? rename(s, s.offset(p.position), p.newName) : null;
    } catch (e) {
      c.console.error(`eligo: rename failed: ${(e as Error).stack ?? String(e)}`);
      return null;
    }
  });
}
