// Engine data → LSP data: diagnostics (and the number formats of numbers.ts).

import { DiagnosticSeverity, DiagnosticTag, type Diagnostic as LspDiagnostic } from 'vscode-languageserver/node';
import type { Diagnostic, Severity } from '../lang/ast.js';
import type { Snapshot } from './documents.js';
import { codeInfo } from '../util/codes.js';

/** Codes the catalogue marks as code without effect (`state.no-update`): the editor fades them. */
function unnecessary(code: string): boolean {
  const e = codeInfo(code);
  return e?.kind === 'diagnostic' && e.unnecessary === true;
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toLspDiagnostic(snap: Snapshot, d: Diagnostic): LspDiagnostic {
  return {
    range: snap.range(d.range),
    severity: SEVERITY[d.severity],
    code: d.code,
    source: 'eligo',
    message: d.message,
    ...(d.related?.length ? { relatedInformation: d.related.map((r) => ({ location: { uri: snap.uri, range: snap.range(r.range) }, message: r.message })) } : {}),
    ...(d.data !== undefined ? { data: d.data } : {}),
    ...(unnecessary(d.code) ? { tags: [DiagnosticTag.Unnecessary] } : {}),
  };
}

export { fmtBytes, fmtCount, fmtNumber, fmtShape } from '../analysis/numbers.js';
