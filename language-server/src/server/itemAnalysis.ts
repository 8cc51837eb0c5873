// One item's analysis, cached by the incremental analyser under `itemKey`:
// the engine's graph sizes and elimination costs (analyze.ts), the values at
// the evaluation point (evalPoint.ts) and the analysis warnings they imply.
// Pure (no LSP): computed in the analysis worker, moved in the file by
// shifting ranges when an edit elsewhere moves the item.

import { createHash } from 'node:crypto';
import { analyzeItem, type ItemAnalysis } from '../analyze.js';
import type { Compiled, NamedItem } from '../compile.js';
import { evalComment } from '../graph/inputs.js';
import type { Diagnostic, Range } from '../lang/ast.js';
import { formatBytes } from '../lang/check.js';
import type { EligoSettings } from '../protocol.js';
import { evaluateItem, shiftEvalPoint, VANISHING_RATIO, type EvalOutcome } from './evalPoint.js';
import { profileMemory } from './settings.js';

export interface ItemEntry {
  /** Item start offset when computed: results are moved by the difference. */
  readonly start: number;
  readonly analysis: ItemAnalysis;
  readonly evaluation?: EvalOutcome;
  readonly warnings: readonly Diagnostic[];
}

export function shiftRange(r: Range, d: number): Range {
  return d === 0 ? r : { start: r.start + d, end: r.end + d };
}

export function shiftDiagnostic(x: Diagnostic, d: number): Diagnostic {
  if (d === 0) return x;
  return { ...x, range: shiftRange(x.range, d), ...(x.related ? { related: x.related.map((r) => ({ ...r, range: shiftRange(r.range, d) })) } : {}) };
}

/** An entry computed at another offset, moved to where `item` starts now. */
export function moveEntry(e: ItemEntry, item: NamedItem): { analysis: ItemAnalysis; evaluation?: EvalOutcome; warnings: Diagnostic[] } {
  const d = item.range.start - e.start;
  const a = e.analysis;
  const analysis: ItemAnalysis = {
    ...a, range: item.range, nameRange: item.nameRange,
    ...(a.problem ? { problem: { message: a.problem.message, ...(a.problem.range ? { range: shiftRange(a.problem.range, d) } : {}) } } : {}),
  };
  const evaluation = e.evaluation && 'point' in e.evaluation ? { point: shiftEvalPoint(e.evaluation.point, d) } : e.evaluation;
  return { analysis, ...(evaluation ? { evaluation } : {}), warnings: e.warnings.map((w) => shiftDiagnostic(w, d)) };
}

/** Everything an item's analysis depends on, hashed. */
export function itemKey(c: Compiled, item: NamedItem, settings: EligoSettings): string {
  const h = createHash('sha1');
  const text = c.text;
  h.update(`${item.kind}\0${item.hasErrors}\0${text.slice(item.range.start, item.range.end)}\0`);
  // File-level dims and consts are visible in every item.
  for (const it of c.checked.program.items) {
    if (it.kind === 'dim' || it.kind === 'const') h.update(`${text.slice(it.range.start, it.range.end)}\n`);
  }
  if (item.kind === 'function' || item.kind === 'grad') h.update(`\0eval ${evalComment(text, item.range.start) ?? ''}`);
  if (item.kind === 'model') h.update(`\0steps ${settings.analysis.steps}`);
  if (item.kind === 'rule' || item.kind === 'grad') {
    // A rule reads its model; a grad item its function.
    const scope = item.scope;
    const target = scope?.kind === 'rule' ? scope.model?.item : scope?.kind === 'grad' ? scope.of?.item : undefined;
    if (target) h.update(`\0of ${text.slice(target.range.start, target.range.end)}`);
  }
  h.update(`\0profile ${settings.hardwareProfile}`);
  return h.digest('base64');
}

export function computeItem(c: Compiled, item: NamedItem, settings: EligoSettings): ItemEntry {
  let analysis: ItemAnalysis;
  try {
    analysis = analyzeItem(c, item);
  } catch (e) {
    analysis = { name: item.name, kind: item.kind, range: item.range, nameRange: item.nameRange, problem: { message: `analysis failed: ${(e as Error).message}` } };
  }
  const evaluation = item.kind !== 'rule' && !item.hasErrors ? evaluateItem(c, item, settings.analysis.steps) : undefined;
  return { start: item.range.start, analysis, ...(evaluation ? { evaluation } : {}), warnings: itemWarnings(c, item, analysis, evaluation, settings) };
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? String(Number(x.toPrecision(4))) : x.toExponential(2));

/** Analysis warnings: computed figures that say the model will not learn or will not fit. */
function itemWarnings(c: Compiled, item: NamedItem, a: ItemAnalysis, ev: EvalOutcome | undefined, settings: EligoSettings): Diagnostic[] {
  const out: Diagnostic[] = [];
  const src = (r: Range): string => {
    const s = c.text.slice(r.start, r.end).replace(/\s+/g, ' ');
    return s.length > 40 ? `${s.slice(0, 37)}…` : s;
  };
  if (ev && 'point' in ev) {
    const p = ev.point;
    const nf = p.nonFinite;
    if (nf) {
      const ops = nf.operands.map((o) => (o.min === o.max ? fmt(o.min) : `[${fmt(o.min)}, ${fmt(o.max)}]`)).join(' and ');
      out.push({
        range: nf.range, severity: 'warning', code: 'eval.nan',
        message: `${src(nf.range)} is ${nf.kind} at the evaluation point${nf.step !== undefined ? ` (step ${nf.step} of ${p.steps})` : ''}: ${nf.op} of ${ops}`,
        data: { kind: nf.kind, op: nf.op, ...(nf.step !== undefined ? { step: nf.step } : {}) },
      });
    }
    for (const sp of p.spikes) {
      if (sp.maxRatio >= VANISHING_RATIO) continue;
      const param = 'slope' in sp.surrogate ? `slope = ${sp.surrogate.slope}` : `width = ${sp.surrogate.width}`;
      out.push({
        range: sp.range, severity: 'warning', code: 'spike.vanishing',
        message: `the surrogate ${sp.surrogate.kind}(${param}) makes gradients vanish at the evaluation point: ψ(x)/ψ(0) ≤ ${fmt(sp.maxRatio)} for every element${p.steps ? ` and step` : ''} (x in [${fmt(sp.input.min)}, ${fmt(sp.input.max)}]); widen the surrogate or move the threshold`,
        data: { maxRatio: sp.maxRatio, surrogate: sp.surrogate },
      });
    }
  }
  const limit = profileMemory(settings.hardwareProfile);
  if (a.costs && limit !== undefined) {
    const least = Math.min(...Object.values(a.costs).map((k) => k.peakMemoryBytes));
    if (least > limit) {
      out.push({
        range: item.nameRange, severity: 'warning', code: 'memory.profile',
        message: `'${item.name}' needs at least ${formatBytes(least)} for its Jacobian (best of forward, reverse, Markowitz), more than the ${formatBytes(limit)} of hardware profile '${settings.hardwareProfile}'`,
        data: { peakMemoryBytes: least, limitBytes: limit },
      });
    }
  }
  return out;
}
