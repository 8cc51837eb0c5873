// Document symbols (the outline): items, with their declarations and
// equations as children; file-level dims and consts.

import { SymbolKind, type DocumentSymbol, type DocumentSymbolParams } from 'vscode-languageserver/node';
import type { Item } from '../lang/ast.js';
import { guarded, type ServerContext } from './context.js';
import { fmtNumber, fmtShape } from './convert.js';
import type { Snapshot } from './documents.js';
import { equationVertexName, statements, type Statement } from '../analysis/locate.js';

const ROLE_KIND = { input: SymbolKind.Variable, target: SymbolKind.Variable, param: SymbolKind.Field, state: SymbolKind.Property } as const;

function childSymbol(snap: Snapshot, s: Statement): DocumentSymbol | undefined {
  const c = snap.compiled;
  const sym = (name: string, detail: string, kind: SymbolKind, sel: { start: number; end: number }): DocumentSymbol => ({
    name,
    detail,
    kind,
    range: snap.range(s.range),
    selectionRange: snap.range(sel),
  });
  const shapeOf = (e: Parameters<typeof c.checked.shapes.get>[0]): string => {
    const sh = c.checked.shapes.get(e);
    return sh ? fmtShape(sh) : '';
  };
  switch (s.kind) {
    case 'dim':
    case 'const': {
      const v = c.checked.references.get(s.name)?.value;
      return sym(s.name.name, `${s.kind}${v !== undefined ? ` = ${fmtNumber(v)}` : ''}`, SymbolKind.Constant, s.name.range);
    }
    case 'var': {
      const shape = c.checked.references.get(s.name)?.shape;
      return sym(s.name.name, `${s.role}${shape ? ` ${fmtShape(shape)}` : ''}`, ROLE_KIND[s.role], s.name.range);
    }
    case 'surrogate':
      return sym(`surrogate ${s.name.name}`, snap.text.slice(s.fn.range.start, s.fn.range.end), SymbolKind.Function, s.name.range);
    case 'let':
      return sym(s.name.name, `let ${shapeOf(s.value)}`, SymbolKind.Variable, s.name.range);
    case 'update':
    case 'ode':
      return sym(equationVertexName(s), `${s.kind === 'ode' ? 'ODE' : 'update'} ${shapeOf(s.value)}`, SymbolKind.Method, s.target.range);
    case 'loss':
      return sym('loss', `loss ${shapeOf(s.value)}`, SymbolKind.Method, s.keyword);
    case 'return':
      return sym('return', `${s.values.length} output${s.values.length === 1 ? '' : 's'}`, SymbolKind.Key, s.range);
    case 'approximate':
      return sym(
        snap.text
          .slice(s.range.start, s.range.end)
          .replace(/^approximate\s*/, '')
          .replace(/\s+/g, ' '),
        'approximate',
        SymbolKind.Operator,
        s.of.range,
      );
    case 'schedule':
      return sym(`schedule ${s.schedule.kind}`, 'schedule', SymbolKind.Event, s.range);
    default:
      return undefined;
  }
}

function itemSymbol(snap: Snapshot, item: Item): DocumentSymbol {
  const c = snap.compiled;
  const range = snap.range(item.range);
  const sel = snap.range(item.name.range);
  switch (item.kind) {
    case 'dim':
    case 'const':
      return childSymbol(snap, item)!;
    case 'grad':
      return { name: item.name.name, detail: `grad(${item.of.name})`, kind: SymbolKind.Function, range, selectionRange: sel };
    default: {
      const params =
        item.kind === 'function'
          ? item.params.map((p): DocumentSymbol => {
              const shape = c.checked.references.get(p.name)?.shape;
              return {
                name: p.name.name,
                detail: `argument${shape ? ` ${fmtShape(shape)}` : ''}`,
                kind: SymbolKind.Variable,
                range: snap.range(p.range),
                selectionRange: snap.range(p.name.range),
              };
            })
          : [];
      const children = [
        ...params,
        ...statements(item)
          .map((s) => childSymbol(snap, s))
          .filter((s): s is DocumentSymbol => s !== undefined),
      ];
      const kind = item.kind === 'function' ? SymbolKind.Function : item.kind === 'model' ? SymbolKind.Class : SymbolKind.Interface;
      const detail = item.kind === 'rule' ? `rule for ${item.model.name}` : item.kind;
      return { name: item.name.name, detail, kind, range, selectionRange: sel, children };
    }
  }
}

export function documentSymbols(snap: Snapshot): DocumentSymbol[] {
  return snap.compiled.checked.program.items.map((i) => itemSymbol(snap, i));
}

export function registerSymbols(ctx: ServerContext): void {
  ctx.connection.onDocumentSymbol(
    guarded(ctx, 'documentSymbol', [] as DocumentSymbol[], (p: DocumentSymbolParams) => {
      const snap = ctx.workspace.snapshot(p.textDocument.uri);
      return snap ? documentSymbols(snap) : [];
    }),
  );
}
