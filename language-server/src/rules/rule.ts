// A rule as data: its approximations and schedule, read from a `rule` item
// (LANGUAGE.md §3) or made up by a search, and written back as Eligo text.

import type { Range, RuleItem } from '../lang/ast.js';
import type { Approximation } from './blocks.js';
import { memoryUnit } from '../lang/check.js';

export type ScheduleSpec =
  | { readonly kind: 'online' | 'reverse' | 'forward'; readonly range?: Range }
  /** Equation names (states, `loss`); each equation's copies are eliminated forward in time, equation by equation. */
  | { readonly kind: 'order'; readonly order: readonly { readonly name: string; readonly range?: Range }[]; readonly range?: Range };

/** Rule-wide approximations (lang/approximations.ts RULE_STATEMENTS). */
export interface QuantizeSpec {
  /** Bits per trace value, the sign included. */
  readonly bits: number;
  /** Round to nearest, or stochastically (a counter-based hash, so every executor rounds the same way). */
  readonly rounding: 'nearest' | 'stochastic';
  readonly seed: number;
}

export interface RuleSpec {
  /** The rule's name; null for an unnamed candidate. */
  readonly name: string | null;
  readonly model: string;
  readonly approximations: readonly Approximation[];
  readonly schedule: ScheduleSpec;
  readonly objectives: readonly string[];
  /** `limit memory …` in bytes. */
  readonly memoryLimitBytes?: number;
  /** `truncate K`: credit through time within windows of K steps (truncated BPTT; online: traces restart every K steps). */
  readonly truncate?: number;
  /** `quantize traces B bits …`: carried traces rounded to B-bit fixed point. */
  readonly quantize?: QuantizeSpec;
  readonly range?: Range;
  readonly nameRange?: Range;
}

/**
 * The rule of a `rule` item. Without a `schedule` line a rule with
 * approximations is online (approximations exist to make a rule local) and
 * one without is reverse (exact BPTT).
 */
export function ruleSpec(item: RuleItem): RuleSpec {
  const approximations: Approximation[] = [];
  let schedule: ScheduleSpec | undefined;
  const objectives: string[] = [];
  let memoryLimitBytes: number | undefined;
  let truncate: number | undefined;
  let quantize: QuantizeSpec | undefined;
  for (const s of item.body) {
    switch (s.kind) {
      case 'approximate': {
        const args = s.args?.length ? Object.fromEntries(s.args.map((a) => [a.name, a.value])) : undefined;
        approximations.push({
          of: s.of.name,
          wrt: s.wrt.name,
          wrtOffset: s.wrtOffset === 1 ? 1 : 0,
          kind: s.approx,
          ...(args ? { args } : {}),
          range: s.range,
        });
        break;
      }
      case 'truncate':
        truncate ??= s.steps;
        break;
      case 'quantize':
        quantize ??= { bits: s.bits, rounding: s.rounding, seed: s.seed };
        break;
      case 'schedule':
        schedule ??=
          s.schedule.kind === 'order'
            ? { kind: 'order', order: s.schedule.order.map((i) => ({ name: i.name, range: i.range })), range: s.range }
            : { kind: s.schedule.kind, range: s.range };
        break;
      case 'objective':
        objectives.push(s.objective.name);
        break;
      case 'limit':
        if (s.what.name === 'memory') memoryLimitBytes = s.value * (s.unit ? (memoryUnit(s.unit.name) ?? 1) : 1);
        break;
    }
  }
  return {
    name: item.name.name,
    model: item.model.name,
    approximations,
    schedule: schedule ?? { kind: approximations.length ? 'online' : 'reverse' },
    objectives,
    ...(memoryLimitBytes !== undefined ? { memoryLimitBytes } : {}),
    ...(truncate !== undefined ? { truncate } : {}),
    ...(quantize ? { quantize } : {}),
    range: item.range,
    nameRange: item.name.range,
  };
}

function approxText(a: Approximation): string {
  const of = a.of === 'loss' ? 'loss' : `${a.of}[t+1]`;
  const wrt = a.wrtOffset === 1 ? `${a.wrt}[t+1]` : a.wrt;
  const kind = a.kind === 'zero' ? '0' : a.kind;
  const args =
    a.args && Object.keys(a.args).length
      ? `(${Object.entries(a.args)
          .map(([k, v]) => `${k} = ${v}`)
          .join(', ')})`
      : '';
  return `approximate d(${of})/d(${wrt}) = ${kind}${args}`;
}

/** The rule-wide statements of a spec, as Eligo text (one line each). */
export function ruleWideText(spec: Pick<RuleSpec, 'truncate' | 'quantize'>): string[] {
  const lines: string[] = [];
  if (spec.truncate !== undefined) lines.push(`truncate ${spec.truncate}`);
  if (spec.quantize)
    lines.push(
      `quantize traces ${spec.quantize.bits} bits ${spec.quantize.rounding}${spec.quantize.rounding === 'stochastic' ? ` seed ${spec.quantize.seed}` : ''}`,
    );
  return lines;
}

/** Eligo text of a rule; `comments` go above it, one `# ` line each. */
export function ruleText(spec: RuleSpec, name: string, comments: readonly string[] = []): string {
  const lines = comments.map((c) => `# ${c}`);
  lines.push(`rule ${name} for ${spec.model} {`);
  for (const a of spec.approximations) lines.push(`  ${approxText(a)}`);
  for (const l of ruleWideText(spec)) lines.push(`  ${l}`);
  const s = spec.schedule;
  lines.push(`  schedule ${s.kind === 'order' ? `order [${s.order.map((o) => o.name).join(', ')}]` : s.kind}`);
  lines.push('}');
  return lines.join('\n');
}

/**
 * What a rule computes, independent of its name and layout: the model, the
 * schedule and the approximations in a canonical order. Two rule items with
 * the same signature train the same way (the editor shows a measured
 * accuracy on every rule with that signature).
 */
export function ruleSignature(spec: RuleSpec): string {
  const s = spec.schedule;
  const sched = s.kind === 'order' ? `order[${s.order.map((o) => o.name).join(',')}]` : s.kind;
  const approx = spec.approximations.map((a) => approxText(a).slice('approximate '.length)).sort();
  return `${spec.model}|${sched}|${approx.join(';')}${ruleWideText(spec)
    .map((l) => `|${l}`)
    .join('')}`;
}
