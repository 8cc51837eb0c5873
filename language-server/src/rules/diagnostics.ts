// Diagnostics of rule items beyond the checker's: approximations of blocks
// that do not exist or cannot be applied, explicit orders naming no
// equation, a schedule that is not online under a profile that learns on
// chip, and rules whose memory exceeds the limit (with the estimate). The
// language server calls `ruleDiagnostics` after `compile`; the CLI prints
// the same ones.

import type { Compiled } from '../compile.js';
import type { Diagnostic, Range } from '../lang/ast.js';
import { fmtBytes, type HardwareProfile } from './hardware.js';
import { profileChip } from './profiles.js';
import { modelContext, prepareRule, type ModelContext, type PreparedRule } from './model.js';
import { ruleSpec, type RuleSpec } from './rule.js';
import { ruleCost, type RuleCost } from './cost.js';
import { equationGraph, scheduleOrder, ScheduleError } from './schedules.js';
import { scheduleProblems } from './kinds.js';

export interface RuleSettings {
  /** Sequence length T for memory figures (LANGUAGE.md §2: default 10 for analysis). */
  readonly steps: number;
  /** A profile name of rules/profiles.ts (its chip, if any, is checked) or a profile. */
  readonly hardwareProfile?: string | HardwareProfile;
  /** Refuse rules that would need more memory than this (bytes; default 1 GiB). */
  readonly maxMemoryBytes?: number;
}

export const DEFAULT_MAX_MEMORY = 1024 ** 3;

export function resolveProfile(p: string | HardwareProfile | undefined): HardwareProfile | undefined {
  if (p === undefined) return undefined;
  if (typeof p !== 'string') return p;
  return profileChip(p);
}

/** One rule of a file, analysed: its spec, the prepared rule (when it could be built) and its diagnostics. */
export interface AnalysedRule {
  readonly name: string;
  readonly model: string;
  readonly spec: RuleSpec;
  readonly range: Range;
  readonly ctx?: ModelContext;
  readonly rule?: PreparedRule;
  readonly cost?: RuleCost;
  readonly diagnostics: readonly Diagnostic[];
}

/** Analyses every rule item without errors of its own; models are built once each. */
export function analyseRules(compiled: Compiled, settings: RuleSettings): AnalysedRule[] {
  const out: AnalysedRule[] = [];
  const contexts = new Map<string, ModelContext | Error>();
  const profile = resolveProfile(settings.hardwareProfile);
  const limit = settings.maxMemoryBytes ?? DEFAULT_MAX_MEMORY;
  for (const item of compiled.items) {
    if (item.kind !== 'rule' || item.hasErrors || item.scope?.kind !== 'rule' || !item.scope.model) continue;
    const spec = ruleSpec(item.scope.item);
    const diagnostics: Diagnostic[] = [];
    const at = (range: Range | undefined): Range => range ?? item.nameRange;
    let ctx = contexts.get(spec.model);
    if (!ctx) {
      try {
        ctx = modelContext(compiled, spec.model);
      } catch (e) {
        ctx = e as Error;
      }
      contexts.set(spec.model, ctx);
    }
    if (ctx instanceof Error) {
      diagnostics.push({ range: item.nameRange, severity: 'error', code: 'rule.model-unusable', message: `rule '${item.name}': its model cannot be analysed: ${ctx.message}` });
      out.push({ name: item.name, model: spec.model, spec, range: item.range, diagnostics });
      continue;
    }
    if (ctx.structure.loss === null) {
      out.push({ name: item.name, model: spec.model, spec, range: item.range, diagnostics });
      continue;
    }
    const rule = prepareRule(ctx, spec);
    for (const p of rule.approx.problems) {
      const range = at(p.approximation.range);
      // Narrowed on the severity, so the code stays one of that severity's.
      diagnostics.push(p.severity === 'error' ? { range, severity: p.severity, code: p.code, message: p.message } : { range, severity: p.severity, code: p.code, message: p.message });
    }
    for (const p of scheduleProblems(spec)) diagnostics.push({ range: at(p.range ?? spec.schedule.range), severity: 'error', code: 'rule.kind-schedule', message: p.message });
    const s = spec.schedule;
    if (s.kind === 'order') {
      try {
        scheduleOrder(equationGraph(ctx.structure, rule.approx.blocks, 2), s.order.map((o) => o.name));
        const missing = [...ctx.structure.updated.map((x) => x.name), 'loss'].filter((e) => !s.order.some((o) => o.name === e));
        if (missing.length) {
          diagnostics.push({ range: at(s.range), severity: 'info', code: 'rule.order-incomplete', message: `the order leaves out ${missing.join(', ')}: they are eliminated after the listed equations, in equation order` });
        }
      } catch (e) {
        if (!(e instanceof ScheduleError)) throw e;
        const bad = s.order.find((o) => o.name === e.equation);
        diagnostics.push({ range: at(bad?.range ?? s.range), severity: 'error', code: 'rule.order-unknown', message: e.message });
      }
    }
    if (profile?.requiresOnline && s.kind !== 'online') {
      diagnostics.push({
        range: at(s.range), severity: 'error', code: 'rule.not-online',
        message: `schedule ${s.kind} is not online, but ${profile.name} learns on chip while the network runs: use 'schedule online' (with approximations that make the traces local)`,
      });
    }
    let cost: RuleCost | undefined;
    if (!diagnostics.some((d) => d.severity === 'error')) {
      cost = ruleCost(ctx, rule, settings.steps);
      if (cost.memoryBytes > limit) {
        diagnostics.push({
          range: item.nameRange, severity: 'error', code: 'rule.too-much-memory',
          message: `rule '${item.name}' would need about ${fmtBytes(cost.memoryBytes)} (${cost.online ? 'traces' : `for T = ${settings.steps}`}), more than the ${fmtBytes(limit)} available`,
          data: { estimateBytes: cost.memoryBytes, limitBytes: limit },
        });
      }
      if (spec.memoryLimitBytes !== undefined && cost.memoryBytes > spec.memoryLimitBytes) {
        const lim = item.scope.item.body.find((b) => b.kind === 'limit');
        diagnostics.push({
          range: at(lim?.range), severity: 'warning', code: 'rule.over-limit',
          message: `this rule needs about ${fmtBytes(cost.memoryBytes)}, more than its limit of ${fmtBytes(spec.memoryLimitBytes)}`,
        });
      }
    }
    out.push({ name: item.name, model: spec.model, spec, range: item.range, ctx, rule, ...(cost ? { cost } : {}), diagnostics });
  }
  return out;
}

/** The rule diagnostics of a compiled file (for the language server). Never throws on bad input. */
export function ruleDiagnostics(compiled: Compiled, settings: RuleSettings): Diagnostic[] {
  try {
    return analyseRules(compiled, settings).flatMap((r) => r.diagnostics);
  } catch (e) {
    const first = compiled.items.find((i) => i.kind === 'rule');
    return first ? [{ range: first.nameRange, severity: 'warning', code: 'rule.internal', message: `rules could not be analysed: ${(e as Error).message}` }] : [];
  }
}
