// Format Document: the canonical layout of format.ts as one edit, or none
// when the text is already canonical. The edit is refused (and logged) if it
// would change the tokens — a formatter bug must never change a model.

import type { DocumentFormattingParams, TextEdit } from 'vscode-languageserver/node';
import { guarded, type ServerContext } from './context.js';
import type { Snapshot } from './documents.js';
import { formatText, tokenTexts } from '../analysis/format.js';

export function formatEdits(snap: Snapshot): TextEdit[] | { error: string } {
  const formatted = formatText(snap.text);
  if (formatted === snap.text) return [];
  const a = tokenTexts(snap.text);
  const b = tokenTexts(formatted);
  if (a.length !== b.length || a.some((t, i) => t !== b[i])) return { error: 'the formatter would change the tokens; no edit made' };
  const end = snap.lines.positionAt(snap.text.length);
  return [{ range: { start: { line: 0, character: 0 }, end }, newText: formatted }];
}

export function registerFormatting(ctx: ServerContext): void {
  ctx.connection.onDocumentFormatting(
    guarded(ctx, 'formatting', [] as TextEdit[], (p: DocumentFormattingParams) => {
      const snap = ctx.workspace.snapshot(p.textDocument.uri);
      if (!snap) return [];
      const r = formatEdits(snap);
      if ('error' in r) {
        ctx.connection.console.error(`eligo: formatting ${p.textDocument.uri}: ${r.error}`);
        return [];
      }
      return r;
    }),
  );
}
