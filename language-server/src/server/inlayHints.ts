// Inlay hints: the shape of every `let` after its name and of every
// equation's left-hand side (`u[t+1]: [64]`, `loss: scalar`), as the checker
// inferred them. Needs only the checked file, not the analysis.

import { InlayHintKind, type InlayHint, type InlayHintParams } from 'vscode-languageserver/node';
import { guarded, type ServerContext } from './context.js';
import { fmtShape } from './convert.js';
import type { Snapshot } from './documents.js';
import { lhsRange, statements } from '../analysis/locate.js';

export function inlayHints(snap: Snapshot, from = 0, to = Infinity): InlayHint[] {
  const c = snap.compiled;
  const out: InlayHint[] = [];
  const push = (offset: number, label: string): void => {
    if (offset < from || offset > to) return;
    out.push({ position: snap.lines.positionAt(offset), label, kind: InlayHintKind.Type, paddingLeft: false });
  };
  for (const item of c.checked.program.items) {
    if (item.range.end < from || item.range.start > to) continue;
    for (const s of statements(item)) {
      if (s.kind !== 'let' && s.kind !== 'update' && s.kind !== 'ode' && s.kind !== 'loss') continue;
      const shape = c.checked.shapes.get(s.value);
      if (!shape) continue;
      // An update's value may be a scalar broadcast to the state: show the state's shape.
      const target = s.kind === 'update' || s.kind === 'ode' ? (c.checked.references.get(s.target)?.shape ?? shape) : shape;
      push(lhsRange(s, c).end, `: ${fmtShape(target)}`);
    }
  }
  return out;
}

export function registerInlayHints(ctx: ServerContext): void {
  ctx.connection.languages.inlayHint.on(
    guarded(ctx, 'inlayHint', [] as InlayHint[], (p: InlayHintParams) => {
      const snap = ctx.workspace.snapshot(p.textDocument.uri);
      if (!snap) return [];
      return inlayHints(snap, snap.offset(p.range.start), snap.offset(p.range.end));
    }),
  );
}
