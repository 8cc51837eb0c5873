// One item's analysis, cached by the incremental analyser under `itemKey`:
// the engine's graph sizes and elimination costs (analyze.ts), the values at
// the evaluation point (evalPoint.ts) and the analysis warnings they imply.
// Pure (no LSP): computed in the analysis worker, moved in the file by
// shifting ranges when an edit elsewhere moves the item.

import { formatSurrogate } from '../lang/surrogates.js';
import { createHash } from 'node:crypto';
import { analyzeItem, type ItemAnalysis } from './costs.js';
import type { Compiled, NamedItem } from '../compile.js';
import { evalComment } from '../graph/inputs.js';
import type { Diagnostic, Range } from '../lang/ast.js';
import { formatBytes } from '../lang/check.js';
import { analyseRules, resolveProfile, type AnalysedRule } from '../rules/diagnostics.js';
import { checkHardware } from '../rules/hardware.js';
import { evaluateItem, shiftEvalPoint, VANISHING_RATIO, type EvalOutcome } from './evalPoint.js';
import { profileKey, profileName, settingsMemory, type AnalyzeSettings } from './settings.js';

/** What the rules engine says about a rule item: its cost and, for an online rule, its update program. */
export interface RuleFigures {
  readonly schedule: string;
  readonly online: boolean;
  readonly steps: number;
  readonly multiplicationsPerStep: number;
  readonly additionsPerStep: number;
  readonly memoryBytes: number;
  readonly traceBytes: number;
  readonly historyBytes: number;
  /** The derived per-step update equations (plain text), for online rules. */
  readonly program?: readonly string[];
  /** Fit to the configured hardware profile, when it is a chip profile. */
  readonly hardware?: { readonly profile: string; readonly fits: boolean; readonly reasons: readonly string[]; readonly perCoreBytes: number };
}

export interface ItemEntry {
  /** Item start offset when computed: results are moved by the difference. */
  readonly start: number;
  readonly analysis: ItemAnalysis;
  readonly evaluation?: EvalOutcome;
  readonly warnings: readonly Diagnostic[];
  readonly rule?: RuleFigures;
}

export function shiftRange(r: Range, d: number): Range {
  return d === 0 ? r : { start: r.start + d, end: r.end + d };
}

export function shiftDiagnostic(x: Diagnostic, d: number): Diagnostic {
  if (d === 0) return x;
  return { ...x, range: shiftRange(x.range, d), ...(x.related ? { related: x.related.map((r) => ({ ...r, range: shiftRange(r.range, d) })) } : {}) };
}

/** An entry computed at another offset, moved to where `item` starts now. */
export function moveEntry(e: ItemEntry, item: NamedItem): { analysis: ItemAnalysis; evaluation?: EvalOutcome; warnings: Diagnostic[]; rule?: RuleFigures } {
  const d = item.range.start - e.start;
  const a = e.analysis;
  const analysis: ItemAnalysis = {
    ...a,
    range: item.range,
    nameRange: item.nameRange,
    ...(a.problem ? { problem: { message: a.problem.message, ...(a.problem.range ? { range: shiftRange(a.problem.range, d) } : {}) } } : {}),
  };
  const evaluation = e.evaluation && 'point' in e.evaluation ? { point: shiftEvalPoint(e.evaluation.point, d) } : e.evaluation;
  return { analysis, ...(evaluation ? { evaluation } : {}), warnings: e.warnings.map((w) => shiftDiagnostic(w, d)), ...(e.rule ? { rule: e.rule } : {}) };
}

/**
 * The file-level context every item sees (its dims and consts), hashed once
 * per compiled version: hashing it per item made keying a file quadratic in
 * its items (10,000 items: 5.7 s).
 */
const fileContext = new WeakMap<Compiled, string>();

function fileContextHash(c: Compiled): string {
  let h = fileContext.get(c);
  if (h === undefined) {
    const hash = createHash('sha1');
    for (const it of c.checked.program.items) {
      if (it.kind === 'dim' || it.kind === 'const') hash.update(`${c.text.slice(it.range.start, it.range.end)}\n`);
    }
    h = hash.digest('base64');
    fileContext.set(c, h);
  }
  return h;
}

/** Everything an item's analysis depends on, hashed. */
export function itemKey(c: Compiled, item: NamedItem, settings: AnalyzeSettings): string {
  const h = createHash('sha1');
  const text = c.text;
  h.update(`${item.kind}\0${item.hasErrors}\0${text.slice(item.range.start, item.range.end)}\0`);
  // File-level dims and consts are visible in every item.
  h.update(fileContextHash(c));
  if (item.kind === 'function' || item.kind === 'grad') h.update(`\0eval ${evalComment(text, item.range.start) ?? ''}`);
  if (item.kind === 'model' || item.kind === 'rule') h.update(`\0steps ${settings.steps}`);
  if (item.kind === 'rule' || item.kind === 'grad') {
    // A rule reads its model; a grad item its function.
    const scope = item.scope;
    const target = scope?.kind === 'rule' ? scope.model?.item : scope?.kind === 'grad' ? scope.of?.item : undefined;
    if (target) h.update(`\0of ${text.slice(target.range.start, target.range.end)}`);
  }
  h.update(`\0profile ${profileKey(settings.hardwareProfile)}`);
  return h.digest('base64');
}

export function computeItem(c: Compiled, item: NamedItem, settings: AnalyzeSettings): ItemEntry {
  if (item.kind === 'rule') return computeRule(c, item, settings);
  let analysis: ItemAnalysis;
  try {
    analysis = analyzeItem(c, item);
  } catch (e) {
    analysis = {
      name: item.name,
      kind: item.kind,
      range: item.range,
      nameRange: item.nameRange,
      problem: { message: `analysis failed: ${(e as Error).message}` },
    };
  }
  const evaluation = !item.hasErrors ? evaluateItem(c, item, settings.steps) : undefined;
  return { start: item.range.start, analysis, ...(evaluation ? { evaluation } : {}), warnings: itemWarnings(c, item, analysis, evaluation, settings) };
}

/** The rules of a compiled file, analysed once per file and settings (a file's rules share their models). */
const ruleCache = new WeakMap<Compiled, Map<string, AnalysedRule[] | Error>>();

function rulesOf(c: Compiled, settings: AnalyzeSettings): AnalysedRule[] | Error {
  let byKey = ruleCache.get(c);
  if (!byKey) ruleCache.set(c, (byKey = new Map<string, AnalysedRule[] | Error>()));
  const key = `${settings.steps}\0${profileKey(settings.hardwareProfile)}`;
  let r = byKey.get(key);
  if (!r) {
    try {
      r = analyseRules(c, { steps: settings.steps, hardwareProfile: settings.hardwareProfile });
    } catch (e) {
      r = e as Error;
    }
    byKey.set(key, r);
  }
  return r;
}

/** A rule item: the rules engine's diagnostics (memory, schedule, blocks), cost and update program. */
function computeRule(c: Compiled, item: NamedItem, settings: AnalyzeSettings): ItemEntry {
  const base: ItemAnalysis = { name: item.name, kind: item.kind, range: item.range, nameRange: item.nameRange };
  // A rule of a model with errors says nothing more: the model's error is the one to fix.
  const model = item.scope?.kind === 'rule' ? item.scope.model?.item.name.name : undefined;
  if (item.hasErrors || c.items.some((i) => i.kind === 'model' && i.name === model && i.hasErrors))
    return { start: item.range.start, analysis: base, warnings: [] };
  const all = rulesOf(c, settings);
  if (all instanceof Error) {
    return {
      start: item.range.start,
      analysis: { ...base, problem: { message: `the rule could not be analysed: ${all.message}`, range: item.nameRange } },
      warnings: [{ range: item.nameRange, severity: 'warning', code: 'rule.internal', message: `rule '${item.name}' could not be analysed: ${all.message}` }],
    };
  }
  const r = all.find((x) => x.name === item.name && x.range.start === item.range.start);
  if (!r) return { start: item.range.start, analysis: base, warnings: [] };
  const warnings: Diagnostic[] = [...r.diagnostics];
  let figures: RuleFigures | undefined;
  if (r.cost) {
    const k = r.cost;
    const online = k.online && r.rule !== undefined;
    const program = online ? r.rule.derived.program : null;
    const profile = resolveProfile(settings.hardwareProfile);
    let hardware: RuleFigures['hardware'];
    if (profile) {
      const fit = checkHardware(profile, k.online, program);
      hardware = { profile: profile.name, fits: fit.fits, reasons: fit.reasons, perCoreBytes: fit.perCoreBytes };
      if (!fit.fits && !warnings.some((w) => w.code === 'rule.not-online')) {
        warnings.push({
          range: item.nameRange,
          severity: 'warning',
          code: 'rule.hardware',
          message: `rule '${item.name}' does not fit ${profile.name}: ${fit.reasons.join('; ')}`,
          data: { profile: profile.id, perCoreBytes: fit.perCoreBytes },
        });
      }
    }
    figures = {
      schedule: k.schedule,
      online: k.online,
      steps: k.steps,
      multiplicationsPerStep: k.multiplicationsPerStep,
      additionsPerStep: k.additionsPerStep,
      memoryBytes: k.memoryBytes,
      traceBytes: k.memory.traceBytes,
      historyBytes: k.memory.historyBytes,
      ...(program ? { program: program.equations.text } : {}),
      ...(hardware ? { hardware } : {}),
    };
  }
  return { start: item.range.start, analysis: base, warnings, ...(figures ? { rule: figures } : {}) };
}

const fmt = (x: number): string =>
  Number.isInteger(x) ? String(x) : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? String(Number(x.toPrecision(4))) : x.toExponential(2);

/** Analysis warnings: computed figures that say the model will not learn or will not fit. */
function itemWarnings(c: Compiled, item: NamedItem, a: ItemAnalysis, ev: EvalOutcome | undefined, settings: AnalyzeSettings): Diagnostic[] {
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
        range: nf.range,
        severity: 'warning',
        code: 'eval.nan',
        message: `${src(nf.range)} is ${nf.kind} at the evaluation point${nf.step !== undefined ? ` (step ${nf.step} of ${p.steps})` : ''}: ${nf.op} of ${ops}`,
        data: { kind: nf.kind, op: nf.op, ...(nf.step !== undefined ? { step: nf.step } : {}) },
      });
    }
    for (const sp of p.spikes) {
      if (sp.maxRatio >= VANISHING_RATIO) continue;
      out.push({
        range: sp.range,
        severity: 'warning',
        code: 'spike.vanishing',
        message: `the surrogate ${sp.surrogate.name ? `'${sp.surrogate.name}' = ` : ''}${formatSurrogate(sp.surrogate)} makes gradients vanish at the evaluation point: ψ(x)/ψ(0) ≤ ${fmt(sp.maxRatio)} for every element${p.steps ? ` and step` : ''} (x in [${fmt(sp.input.min)}, ${fmt(sp.input.max)}]); widen the surrogate or move the threshold`,
        data: { maxRatio: sp.maxRatio, surrogate: sp.surrogate },
      });
    }
  }
  const limit = settingsMemory(settings.hardwareProfile);
  if (a.costs && limit !== undefined) {
    const least = Math.min(...Object.values(a.costs).map((k) => k.peakMemoryBytes));
    if (least > limit) {
      out.push({
        range: item.nameRange,
        severity: 'warning',
        code: 'memory.profile',
        message: `'${item.name}' needs at least ${formatBytes(least)} for its Jacobian (best of forward, reverse, Markowitz), more than the ${formatBytes(limit)} of hardware profile '${profileName(settings.hardwareProfile)}'`,
        data: { peakMemoryBytes: least, limitBytes: limit },
      });
    }
  }
  return out;
}
