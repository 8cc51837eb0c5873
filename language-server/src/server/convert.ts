// Engine data → LSP data: diagnostics, numbers, shapes, bytes. The only
// place that decides how a figure is written, so the hover, the lens and the
// docs agree.

import { DiagnosticSeverity, DiagnosticTag, type Diagnostic as LspDiagnostic } from 'vscode-languageserver/node';
import type { Diagnostic, Severity } from '../lang/ast.js';
import type { Shape } from '../graph/types.js';
import type { Snapshot } from './documents.js';

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
    ...(d.code === 'state.no-update' ? { tags: [DiagnosticTag.Unnecessary] } : {}),
  };
}

export function fmtShape(s: Shape): string {
  return s.length === 0 ? 'scalar' : `[${s.join(', ')}]`;
}

/** Integers with thousands separators; others to 4 significant digits. */
export function fmtNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return x.toLocaleString('en-US');
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(3);
  return String(Number(x.toPrecision(4)));
}

/** A count for a lens: 620, 12.4k, 3.1M. */
export function fmtCount(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a < 10_000) return String(Math.round(x));
  if (a < 1e6) return `${(x / 1e3).toFixed(a < 1e5 ? 1 : 0)}k`;
  if (a < 1e9) return `${(x / 1e6).toFixed(a < 1e8 ? 1 : 0)}M`;
  return `${(x / 1e9).toFixed(1)}G`;
}

/** Bytes as the checker and the CLI write them (12 KiB, 1.5 MiB). */
export { formatBytes as fmtBytes } from '../lang/check.js';
