// Diagnostics: the parser's and checker's (exact ranges, issue codes, related
// information) as soon as a version is checked, then again with the analysis
// warnings (`eval.nan`, `spike.vanishing`, `memory.profile`, `rule.*`) once the changed
// items are analysed; a setting the server cannot use (`settings.hardware-profile`) first. A version older than the document's is never published.

import type { Diagnostic } from '../lang/ast.js';
import type { ServerContext } from './context.js';
import { toLspDiagnostic } from './convert.js';
import type { Snapshot } from './documents.js';

export function registerDiagnostics(ctx: ServerContext): void {
  const lastPublished = new Map<string, { version: number; json: string }>();
  const publish = (snap: Snapshot, diagnostics: readonly Diagnostic[]): void => {
    if (ctx.workspace.version(snap.uri) !== snap.version) return;
    // A setting the server cannot use (an unknown hardware profile) is said in every document, at its start.
    const settings: Diagnostic[] = ctx.settings.problems.map((p) => ({ range: { start: 0, end: 0 }, severity: 'warning', code: p.code, message: p.message }));
    const lsp = [...settings, ...diagnostics].map((d) => toLspDiagnostic(snap, d));
    const json = JSON.stringify(lsp);
    const last = lastPublished.get(snap.uri);
    // The full publish after analysis repeats the early one when no warning changed: skip it.
    if (last && last.version === snap.version && last.json === json) return;
    lastPublished.set(snap.uri, { version: snap.version, json });
    void ctx.connection.sendDiagnostics({ uri: snap.uri, version: snap.version, diagnostics: lsp });
  };
  ctx.analyzer.listen({
    compiled: publish,
    analysed: (a) => publish(a.snapshot, a.diagnostics),
  });
  ctx.workspace.documents.onDidClose((e) => {
    lastPublished.delete(e.document.uri);
    void ctx.connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
}
