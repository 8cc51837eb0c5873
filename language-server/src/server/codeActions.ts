// Quick fixes keyed off diagnostic codes (never off message text): the
// catalogue (util/codes.ts) names each code's fix, and the fix reads the
// payload the checker put in `data`:
//   did-you-mean (name.unknown, call.unknown, init.unknown, surrogate.unknown, surrogate.unknown-name,
//       rule.unknown-model, rule.unknown-objective, grad.unknown-function)
//       → "Change 'thetta' to 'theta'" (data.suggestion)
//   add-surrogate (spike.no-surrogate) → insert data.insert as a line of the model, after its declarations
//   add-dt (ode.no-dt) → insert `const dt = 1` into the model
//   add-let (syntax.missing-let) → insert `let ` before the name

import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic as LspDiagnostic, type TextEdit } from 'vscode-languageserver/node';
import type { ModelItem } from '../lang/ast.js';
import { fixOf } from '../util/codes.js';
import { guarded, type ServerContext } from './context.js';
import type { Snapshot } from './documents.js';
import { programItemAt } from '../analysis/locate.js';

function dataOf(d: LspDiagnostic): Record<string, unknown> {
  return typeof d.data === 'object' && d.data !== null ? (d.data as Record<string, unknown>) : {};
}

/** Where a new declaration line goes in a model: after its last declaration, else after `{`; with the body's indentation. */
function modelInsertion(snap: Snapshot, model: ModelItem): { offset: number; indent: string } {
  const text = snap.text;
  const decls = model.body.filter((s) => s.kind === 'var' || s.kind === 'surrogate' || s.kind === 'dim' || s.kind === 'const');
  const first = model.body[0];
  const indentOf = (offset: number): string => {
    const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
    return /^[ \t]*/.exec(text.slice(lineStart))![0];
  };
  const indent = first ? indentOf(first.range.start) : '  ';
  const after = decls.length ? decls[decls.length - 1]!.range.end : text.indexOf('{', model.name.range.end) + 1;
  const lineEnd = text.indexOf('\n', after);
  return { offset: lineEnd < 0 ? text.length : lineEnd, indent };
}

function insertLine(snap: Snapshot, model: ModelItem, line: string): TextEdit {
  const { offset, indent } = modelInsertion(snap, model);
  const pos = snap.lines.positionAt(offset);
  const atEnd = offset >= snap.text.length;
  return { range: { start: pos, end: pos }, newText: `${atEnd ? '\n' : '\n'}${indent}${line}` };
}

export function codeActions(snap: Snapshot, diagnostics: readonly LspDiagnostic[]): CodeAction[] {
  const out: CodeAction[] = [];
  const c = snap.compiled;
  for (const d of diagnostics) {
    const code = typeof d.code === 'string' ? d.code : undefined;
    if (!code) continue;
    const data = dataOf(d);
    const fix = fixOf(code);
    if (fix === 'did-you-mean' && typeof data.suggestion === 'string') {
      const r = snap.lines.lspToRange(d.range);
      const old = snap.text.slice(r.start, r.end);
      if (!/^[A-Za-z_]\w*$/.test(old)) continue;
      out.push({
        title: `Change '${old}' to '${data.suggestion}'`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: true,
        edit: { changes: { [snap.uri]: [{ range: d.range, newText: data.suggestion }] } },
      });
    } else if ((fix === 'add-surrogate' && typeof data.insert === 'string') || fix === 'add-dt') {
      const offset = snap.offset(d.range.start);
      const item = programItemAt(c, offset);
      if (item?.kind !== 'model') continue;
      const line = fix === 'add-dt' ? 'const dt = 1' : (data.insert as string);
      out.push({
        title: `Add '${line}' to model '${item.name.name}'`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: true,
        edit: { changes: { [snap.uri]: [insertLine(snap, item, line)] } },
      });
    } else if (fix === 'add-let') {
      out.push({
        title: "Add 'let'",
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: true,
        edit: { changes: { [snap.uri]: [{ range: { start: d.range.start, end: d.range.start }, newText: 'let ' }] } },
      });
    }
  }
  return out;
}

/** A refactor sub-kind: VS Code shows it in the light bulb and the Refactor… menu. */
export const EXPORT_KIND = `${CodeActionKind.Refactor}.export`;

/**
 * On a rule item: "Export to Lava (Loihi 2)" and "Export to PyTorch" — the
 * editor's eligo.export command with the rule and its model (interop/).
 */
export function ruleExportActions(snap: Snapshot, offset: number): CodeAction[] {
  const item = programItemAt(snap.compiled, offset);
  if (item?.kind !== 'rule') return [];
  const args = (format: 'lava' | 'torch') => [{ uri: snap.uri, format, model: item.model.name, rule: item.name.name }];
  return [
    { title: `Export rule '${item.name.name}' to Lava (Loihi 2)…`, kind: EXPORT_KIND, command: { title: 'Export to Lava', command: 'eligo.export', arguments: args('lava') } },
    { title: `Export rule '${item.name.name}' to PyTorch…`, kind: EXPORT_KIND, command: { title: 'Export to PyTorch', command: 'eligo.export', arguments: args('torch') } },
  ];
}

export function registerCodeActions(ctx: ServerContext): void {
  ctx.connection.onCodeAction(guarded(ctx, 'codeAction', [] as CodeAction[], (p: CodeActionParams) => {
    const snap = ctx.workspace.snapshot(p.textDocument.uri);
    if (!snap) return [];
    const only = p.context.only;
    const fixes = codeActions(snap, p.context.diagnostics);
    if (only && !only.some((k) => EXPORT_KIND.startsWith(k))) return fixes;
    return [...fixes, ...ruleExportActions(snap, snap.offset(p.range.start))];
  }));
}
