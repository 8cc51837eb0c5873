// `analyze(text, settings)`: the engine's front door. It returns plain data —
// every diagnostic, every item's graph sizes, elimination costs, values at
// the evaluation point and rule figures — computed with the settings that
// produced them. The language server computes the same entries item by item
// (cached by item text, in its analysis worker) and publishes
// `documentDiagnostics` of them; the CLI's `check` and `analyze`, and the
// demo, call `analyze`. So `eligo check` reports exactly the diagnostics the
// editor shows (test/analysis.test.ts holds the two equal).

import { compile, type Compiled, type NamedItem } from '../compile.js';
import type { Diagnostic } from '../lang/ast.js';
import type { ItemAnalysis } from './costs.js';
import type { EvalOutcome } from './evalPoint.js';
import { computeItem, itemKey, type RuleFigures } from './itemAnalysis.js';
import { DEFAULT_SETTINGS, type AnalyzeSettings } from './settings.js';

export { analyzeItem, classicCosts, type ItemAnalysis, type OrderCost, type OrderName } from './costs.js';
export { DEFAULT_SETTINGS, type AnalyzeSettings } from './settings.js';
export type { EvalOutcome, EvalPoint, ValueStats } from './evalPoint.js';
export type { ItemEntry, RuleFigures } from './itemAnalysis.js';

/** One item, analysed. */
export interface ItemReport {
  readonly item: NamedItem;
  readonly analysis: ItemAnalysis;
  readonly evaluation?: EvalOutcome;
  /** A rule's cost, update program and hardware fit (rules engine). */
  readonly rule?: RuleFigures;
  /** This item's analysis warnings (eval.nan, spike.vanishing, memory.profile, rule.*). */
  readonly warnings: readonly Diagnostic[];
  /** Hash of everything the analysis depends on (the server's cache key). */
  readonly key: string;
}

export interface Analysis {
  readonly settings: AnalyzeSettings;
  readonly compiled: Compiled;
  /** Parser and checker diagnostics, then every item's analysis warnings, in source order: what the editor shows. */
  readonly diagnostics: readonly Diagnostic[];
  /** Graph sizes and costs per item (the CLI's `analyze --json`, the demo's table). */
  readonly items: readonly ItemAnalysis[];
  readonly reports: readonly ItemReport[];
}

/** The diagnostics of a version: the checker's, then the analysis warnings, in source order (a stable sort). */
export function documentDiagnostics(compiled: Compiled, warnings: readonly Diagnostic[]): Diagnostic[] {
  return [...compiled.diagnostics, ...warnings].sort((a, b) => a.range.start - b.range.start);
}

export function analyze(text: string, settings: AnalyzeSettings = DEFAULT_SETTINGS): Analysis {
  const compiled = compile(text);
  const reports = compiled.items.map((item): ItemReport => {
    const e = computeItem(compiled, item, settings);
    return {
      item,
      analysis: e.analysis,
      warnings: e.warnings,
      key: itemKey(compiled, item, settings),
      ...(e.evaluation ? { evaluation: e.evaluation } : {}),
      ...(e.rule ? { rule: e.rule } : {}),
    };
  });
  return {
    settings,
    compiled,
    reports,
    items: reports.map((r) => r.analysis),
    diagnostics: documentDiagnostics(
      compiled,
      reports.flatMap((r) => r.warnings),
    ),
  };
}
