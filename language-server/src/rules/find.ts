// Find learning rule: a search over approximation choices × schedules that
// returns the Pareto front of cost (multiplications per step, memory) against
// accuracy (alignment with exact BPTT), under an optional hardware profile.
//
// The choices are the model's temporal blocks ∂a[t+1]/∂b[t] (state to state
// across one step — the credit assignment through time that makes exact
// gradients expensive): keep, keep only the diagonal, or drop. Each choice
// vector runs online (eligibility traces) or in reverse (BPTT with the
// approximations). Small spaces are enumerated; larger ones are searched by
// simulated annealing over choice vectors (Kirkpatrick et al. 1983) with
// random scalarisations of the three objectives, every evaluated rule kept
// for the front. (The search module's annealing and MCTS work on elimination
// orders, a different space.) The known rules — BPTT, RTRL, e-prop,
// SnAp-1, no recurrent credit — are evaluated first, so a short budget
// still places them. The same approximations run in reverse give the same
// update as online (the gradient of the same approximated graph), computed
// from the stored sequence instead of traces: those are named '… (reverse)'.
// On top of a choice vector a rule may add a variant — factored filters,
// random feedback, top(k), layer-local, truncation, quantised traces
// (variantsFor) — part of its spec and key like any approximation; the known
// rules with a variant (e-prop with factored filters, random e-prop, SnAp-2,
// truncated BPTT, …) come right after the known rules.
//
// Alignment is measured here, one rule after another, or by an injected
// measurer (the job queue's workers, many at once: jobs/queue/runs.ts);
// either way by the same function (candidate.ts), and every rule goes
// through plan / measure / commit (see findLearningRule), so the names, the
// evaluated list and the front do not depend on where rules were measured.

import { approximate, classify, sourceState, type RawBlock } from './blocks.js';
import { sizeOf } from '../graph/types.js';
import { exactRule, type Alignment } from './alignment.js';
import {
  alignAlong,
  patternSamples,
  randomAlignmentSet,
  setInfo,
  setPatternSamples,
  setsTaped,
  type AlignmentSet,
  type AlignmentSetInfo,
  type AlignmentSource,
} from './candidate.js';
import { creditLabel, hiddenStates, ruleCredit, type Credit } from './credit.js';
import { StoppedError, type RunInput } from './execute.js';
import { ruleCost, type RuleCost } from './cost.js';
import { checkHardware, type HardwareFit, type HardwareProfile } from './hardware.js';
import { prepareRule, type ModelContext, type PreparedRule } from './model.js';
import { pinPatterns } from './topk.js';
import { ruleText, type QuantizeSpec, type RuleSpec } from './rule.js';
import type { Approximation } from './blocks.js';
import { Rng } from '../graph/random.js';
import { formatBytes as fmtBytes } from '../util/units.js';

export type BlockChoice = 'keep' | 'diagonal' | 'zero';

export type { AlignmentSet, AlignmentSetInfo } from './candidate.js';

export interface FindOptions {
  /** Wall-clock budget in milliseconds. */
  readonly budgetMs: number;
  /** Length of the sample sequences for alignment, and T for memory figures. */
  readonly steps: number;
  readonly samples: number;
  readonly seed: number;
  readonly hardware?: HardwareProfile;
  /** Enumerate when the space has at most this many rules (default 256). */
  readonly maxExhaustive?: number;
  /** Skip evaluating a rule whose numeric run would hold more than this (bytes; default 512 MiB). */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: FindProgress) => void;
  /**
   * Where alignment is measured: one set of sample sequences per set of
   * parameters (e.g. a task's sequences at 0 %, 50 % and 100 % of a short
   * BPTT run; discovery/). Default: `samples` random sequences at the
   * initial parameters. Not used with `measure` (the measurer has its own).
   */
  readonly alignmentSets?: readonly AlignmentSet[];
  /** The search over choice vectors when the space is too large to enumerate (default: annealing). */
  readonly search?: RuleSearch;
  /**
   * Stop after this many rules evaluated, and skip none for time: with it (and a budget that is not
   * reached) the result does not depend on the machine, nor on where the rules were measured.
   */
  readonly maxEvaluations?: number;
  /**
   * Measures many rules elsewhere (the job queue: jobs/queue/runs.ts) instead of one after another
   * here. Each rule is measured by the same function (candidate.ts), so the result is the same.
   */
  readonly measure?: AlignmentMeasurer;
}

/** Measures rules' alignment with exact BPTT on its alignment sets, many at once, wherever it likes. */
export interface AlignmentMeasurer {
  /** The sets every rule is measured on (built where the rules are measured). */
  readonly sets: readonly AlignmentSetInfo[];
  /**
   * Where they are measured, as data (the random sequences' seed, or the given sequences and parameters):
   * top(k) patterns are chosen here, while planning, on the same sequences as a local run would choose them,
   * and travel in the spec (Approximation.mask), so a worker measures the rule planned here.
   */
  readonly source: AlignmentSource;
  /** Alignments on every set (in the sets' order) per spec, in request order; undefined for those not measured (cancelled). */
  measure(
    specs: readonly RuleSpec[],
    o: {
      readonly signal?: AbortSignal;
      /** Absolute deadline (Date.now() ms): stop waiting then. */
      readonly deadline: number;
      readonly onResult?: (index: number, along: readonly Alignment[]) => void;
    },
  ): Promise<(readonly Alignment[] | undefined)[]>;
}

/** What a search over choice vectors may do: evaluate rules until the time (or the evaluations) are up. */
export interface SearchApi {
  readonly space: ReturnType<typeof searchSpace>;
  /** A rule already evaluated comes back from the cache (also after the time is up). */
  readonly evaluate: (choice: readonly BlockChoice[], schedule: Schedule, variant?: Variant) => Promise<Candidate | null>;
  /** The variants (kinds added on top of a choice vector) the search may pick from; the first is none. */
  readonly variants?: readonly Variant[];
  readonly timeUp: () => boolean;
  readonly seed: number;
  /** The objective a search maximises for a candidate (higher is better; -Infinity for none). */
  readonly reward: (c: Candidate | null) => number;
}

export interface RuleSearch {
  readonly name: string;
  /** What the user should know about how it searches (e.g. MCTS on the untrained prior because the shipped network is missing). */
  readonly note?: string;
  run(api: SearchApi): Promise<void>;
}

export interface FindProgress {
  readonly evaluated: number;
  readonly total: number;
  readonly frontSize: number;
  readonly message: string;
  readonly elapsedMs: number;
}

export interface Candidate {
  /** The known rule it coincides with, or null. */
  readonly known: string | null;
  /** An identifier for the rule item (`eprop`, `rule_3`). */
  readonly ruleName: string;
  readonly spec: RuleSpec;
  readonly text: string;
  readonly cost: RuleCost;
  /** Alignment on the first alignment set (the initial parameters). */
  readonly alignment: Alignment;
  /** Alignment on every set (the first is `alignment`). */
  readonly alignmentAlong: readonly { readonly label: string; readonly updates: number; readonly alignment: Alignment }[];
  /** Mean cosine over the sets: what the search ranks by. */
  readonly alignmentMean: number;
  readonly hardware: HardwareFit | null;
  /** Which parameters it updates and how (readout-only and no-update rules are labelled, never named as a known rule). */
  readonly credit: Credit;
  /** The known rule whose approximations it has, when the model leaves it unable to learn its hidden weights (then `known` is null). */
  readonly lookalike: string | null;
  readonly choice: readonly BlockChoice[];
  readonly schedule: Schedule;
  /** The kinds it adds on top of its choice vector (empty: none). */
  readonly variant: Variant;
  /** Milliseconds from the start of the search to the end of this rule's evaluation. */
  readonly atMs: number;
}

export interface FindResult {
  readonly model: string;
  readonly front: readonly Candidate[];
  /** Every rule evaluated (the front is a subset). */
  readonly evaluated: readonly Candidate[];
  /** Rules not evaluated, with why (too slow or too big for the budget). */
  readonly skipped: readonly { readonly text: string; readonly why: string }[];
  readonly spaceSize: number;
  readonly method: string;
  readonly stopped: 'budget' | 'cancelled' | null;
  readonly elapsedMs: number;
}

/** The temporal blocks a search chooses for, with the choices each admits. */
export function searchSpace(ctx: ModelContext): { block: RawBlock; choices: BlockChoice[] }[] {
  return ctx.structure.blocks
    .filter((b) => b.of !== 'loss' && b.wrt.kind === 'state' && b.wrt.offset === 0)
    .map((b) => {
      const f = classify(b.sparsity).form;
      const square = b.sparsity.outShape.length === b.sparsity.inShape.length && b.sparsity.outShape.every((d, k) => d === b.sparsity.inShape[k]);
      return { block: b, choices: f === 'dense' && square ? ['keep', 'diagonal', 'zero'] : ['keep', 'zero'] };
    });
}

export type Schedule = 'online' | 'reverse';

/**
 * The kinds of lang/approximations.ts a candidate adds on top of its choice vector: factored scalar filters
 * on every state whose decay is a scalar (exact), random feedback on the blocks that read their operand
 * through W @ operand (the readout), top(k) on the dense temporal blocks it keeps, `local` on the
 * cross-layer blocks it drops, truncation, and traces quantised to the hardware profile's trace bits.
 */
export interface Variant {
  readonly filter?: true;
  readonly random?: true;
  readonly top?: number;
  readonly local?: true;
  readonly truncate?: number;
  readonly quantize?: QuantizeSpec;
}

/** Where each variant applies on a model (blocks by their raw identity). */
export interface VariantSites {
  readonly filters: readonly RawBlock[];
  readonly random: readonly RawBlock[];
  readonly local: readonly RawBlock[];
}

export function variantSites(ctx: ModelContext): VariantSites {
  const filters: RawBlock[] = [];
  const random: RawBlock[] = [];
  const local: RawBlock[] = [];
  for (const b of ctx.structure.blocks) {
    const a: Approximation = { of: b.of, wrt: b.wrt.name, wrtOffset: b.wrt.kind === 'state' ? b.wrt.offset : 0, kind: 'filter' };
    const ok = (kind: Approximation['kind']): boolean => approximate(ctx.structure, [{ ...a, kind }]).problems.every((p) => p.severity !== 'error');
    if (b.of !== 'loss' && b.wrt.kind === 'state' && b.wrt.name === b.of && b.wrt.offset === 0 && ok('filter')) filters.push(b);
    // Random feedback where the learning signal enters from the readout: the loss's blocks and the readout states' (non-hidden) ones.
    if (b.wrt.kind === 'state' && (b.of === 'loss' || !hiddenStates(ctx.structure).has(b.of)) && ok('random')) random.push(b);
    // Layer-local: a dense temporal block from another layer's state (through delay registers).
    if (
      b.of !== 'loss' &&
      b.wrt.kind === 'state' &&
      b.wrt.offset === 0 &&
      classify(b.sparsity).form === 'dense' &&
      sourceState(ctx.structure, b.wrt.name) !== b.of &&
      ok('local')
    )
      local.push(b);
  }
  return { filters, random, local };
}

export function specOf(
  ctx: ModelContext,
  space: ReturnType<typeof searchSpace>,
  choice: readonly BlockChoice[],
  schedule: Schedule,
  variant: Variant = {},
  sites?: VariantSites,
): RuleSpec {
  const approximations: Approximation[] = [];
  const online = schedule === 'online';
  space.forEach((s, k) => {
    const c = choice[k]!;
    const site = (l: readonly RawBlock[]): boolean => l.includes(s.block);
    if (c === 'keep') {
      if (variant.top && online && s.choices.includes('diagonal'))
        approximations.push({ of: s.block.of, wrt: s.block.wrt.name, wrtOffset: 0, kind: 'top', args: { k: variant.top } });
      return;
    }
    if (c === 'zero' && variant.local && online && sites && site(sites.local)) {
      approximations.push({ of: s.block.of, wrt: s.block.wrt.name, wrtOffset: 0, kind: 'local' });
      return;
    }
    approximations.push({ of: s.block.of, wrt: s.block.wrt.name, wrtOffset: 0, kind: c });
  });
  if (sites && variant.filter) {
    for (const b of sites.filters) {
      // A filter keeps its decay exactly: not where the choice drops it; in place of a diagonal that changes nothing.
      if (approximations.some((a) => a.of === b.of && a.wrt === b.wrt.name && a.wrtOffset === 0 && a.kind !== 'diagonal')) continue;
      const k = approximations.findIndex((a) => a.of === b.of && a.wrt === b.wrt.name && a.wrtOffset === 0);
      const f: Approximation = { of: b.of, wrt: b.wrt.name, wrtOffset: 0, kind: 'filter' };
      if (k >= 0) approximations[k] = f;
      else approximations.push(f);
    }
  }
  if (sites && variant.random) {
    for (const b of sites.random) {
      const off = b.wrt.kind === 'state' ? b.wrt.offset : 0;
      if (approximations.some((a) => a.of === b.of && a.wrt === b.wrt.name && a.wrtOffset === off)) continue;
      approximations.push({ of: b.of, wrt: b.wrt.name, wrtOffset: off, kind: 'random' });
    }
  }
  return {
    name: null,
    model: ctx.name,
    approximations,
    schedule: { kind: schedule },
    objectives: [],
    ...(variant.truncate !== undefined ? { truncate: variant.truncate } : {}),
    ...(variant.quantize && online ? { quantize: variant.quantize } : {}),
  };
}

/** The variants find-rule tries on a model: each kind where it applies, and the exact filter with each of the others. */
export function variantsFor(
  ctx: ModelContext,
  space: ReturnType<typeof searchSpace>,
  sites: VariantSites,
  steps: number,
  hardware?: HardwareProfile,
): Variant[] {
  const out: Variant[] = [{}];
  const f = sites.filters.length ? { filter: true as const } : {};
  if (sites.filters.length) out.push(f);
  if (sites.random.length) out.push({ ...f, random: true });
  if (steps >= 4) out.push({ ...f, truncate: Math.max(2, Math.round(steps / 4)) });
  const dense = space.filter((s) => s.choices.includes('diagonal'));
  if (dense.length) {
    const n = Math.min(...dense.map((s) => sizeOf(s.block.sparsity.inShape)));
    out.push({ top: Math.max(1, Math.round(n / 8)) });
  }
  if (sites.local.length) out.push({ ...f, local: true });
  if (hardware && hardware.traceBits < 24) out.push({ ...f, quantize: { bits: hardware.traceBits, rounding: 'stochastic', seed: 1 } });
  return out;
}

/** A variant as text, for the planning caches (fields in a fixed order). */
function variantKey(v: Variant): string {
  const q = v.quantize ? `q${v.quantize.bits}${v.quantize.rounding}${v.quantize.seed}` : '';
  return `${v.filter ? 'f' : ''}${v.random ? 'r' : ''}${v.top !== undefined ? `t${v.top}` : ''}${v.local ? 'l' : ''}${v.truncate !== undefined ? `T${v.truncate}` : ''}${q}`;
}

/** Whether a variant changes anything for a choice vector and schedule (else it is the base rule again). */
function variantApplies(space: ReturnType<typeof searchSpace>, sites: VariantSites, choice: readonly BlockChoice[], schedule: Schedule, v: Variant): boolean {
  const online = schedule === 'online';
  if (v.top && !(online && space.some((s, k) => s.choices.includes('diagonal') && choice[k] === 'keep'))) return false;
  if (v.local && !(online && space.some((s, k) => choice[k] === 'zero' && sites.local.includes(s.block)))) return false;
  if (v.quantize && !online) return false;
  return true;
}

/** The name of a known rule with a variant: `random e-prop`, `truncated BPTT (25 steps)`, `SnAp-2 (top-k)`, … */
function variantName(base: string | null, v: Variant, schedule: Schedule): string | null {
  if (v.top) return base === 'RTRL' ? 'SnAp-2 (top-k)' : null;
  if (v.local) return base === 'no recurrent credit' || base === 'e-prop' ? 'layer-local e-prop' : null;
  if (v.truncate !== undefined)
    return base === 'BPTT' && schedule === 'reverse' ? `truncated BPTT (${v.truncate} steps)` : base === 'RTRL' ? `truncated RTRL (${v.truncate} steps)` : null;
  let name = base;
  if (!name) return null;
  if (v.random) name = name === 'e-prop' ? 'random e-prop' : `${name} with random feedback`;
  if (v.quantize) name = `${name} (${v.quantize.bits}-bit traces)`;
  if (v.filter && !v.random && !v.quantize) name = base === 'e-prop' ? 'e-prop (factored filters)' : `${name} (factored filters)`;
  return name;
}

/** The known rule a choice vector and schedule coincide with (see the header), or null. */
export function knownRule(space: ReturnType<typeof searchSpace>, choice: readonly BlockChoice[], schedule: Schedule | 'forward'): string | null {
  const none = choice.every((c) => c === 'keep');
  if (none) return schedule === 'reverse' ? 'BPTT' : schedule === 'online' ? 'RTRL' : 'forward-mode RTRL';
  if (space.length === 0) return null;
  const allDropped = choice.every((c) => c === 'zero');
  if (allDropped) return schedule === 'reverse' ? 'truncated BPTT (1 step)' : 'no recurrent credit';
  if (schedule === 'forward') return null;
  // The same approximations in reverse give the same update, computed offline from the stored sequence.
  const suffix = schedule === 'reverse' ? ' (reverse)' : '';
  const dense = space.map((s) => s.choices.includes('diagonal'));
  const eprop = space.every((s, k) => (dense[k] ? choice[k] === 'zero' : choice[k] === 'keep'));
  if (eprop) return `e-prop${suffix}`;
  const snap = space.every((s, k) => (dense[k] ? choice[k] !== 'keep' : choice[k] === 'keep')) && choice.some((c) => c === 'diagonal');
  if (snap) return `SnAp-1${schedule === 'reverse' ? '' : ' (diagonal RTRL)'}${suffix}`;
  return null;
}

function slugOf(known: string): string {
  return (
    SLUG[known] ??
    known
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, '')
  );
}

const SLUG: Record<string, string> = {
  BPTT: 'bptt',
  RTRL: 'rtrl',
  'forward-mode RTRL': 'forward_rtrl',
  'e-prop': 'eprop',
  'SnAp-1 (diagonal RTRL)': 'snap1',
  'no recurrent credit': 'no_recurrent_credit',
  'truncated BPTT (1 step)': 'truncated_bptt',
  'e-prop (reverse)': 'eprop_reverse',
  'SnAp-1 (reverse)': 'snap1_reverse',
};

/** a dominates b: no worse in all three objectives and better in one. */
function dominates(a: Candidate, b: Candidate): boolean {
  const ca = a.alignmentMean;
  const cb = b.alignmentMean;
  const noWorse = a.cost.multiplicationsPerStep <= b.cost.multiplicationsPerStep && a.cost.memoryBytes <= b.cost.memoryBytes && ca >= cb - 1e-12;
  const better = a.cost.multiplicationsPerStep < b.cost.multiplicationsPerStep || a.cost.memoryBytes < b.cost.memoryBytes || ca > cb + 1e-12;
  return noWorse && better;
}

export function paretoFront(cands: readonly Candidate[]): Candidate[] {
  const front = cands.filter((c) => !cands.some((d) => d !== c && dominates(d, c)));
  // Equal points: keep the first (known rules come first).
  const seen = new Set<string>();
  const out: Candidate[] = [];
  for (const c of front) {
    const k = `${c.cost.multiplicationsPerStep}|${c.cost.memoryBytes}|${c.alignmentMean.toFixed(12)}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(c);
  }
  return out.sort((a, b) => b.alignmentMean - a.alignmentMean || a.cost.multiplicationsPerStep - b.cost.multiplicationsPerStep);
}

/** The effective rule after approximation (a diagonal of a diagonal block is no change): equal keys, equal rules. */
function ruleKey(rule: PreparedRule): string {
  const b = rule.approx.blocks
    .map(
      (x) =>
        `${x.id}:${x.approximation === 'diagonal' ? 'd' : x.approximation === 'exact' || x.approximation === 'dense' ? 'k' : `${x.approximation}${x.top ?? ''}`}`,
    )
    .join(',');
  const d = rule.approx.dropped.map((x) => `${x.of}<${x.wrt.name}@${x.wrt.offset}${x.approximation === 'local' ? 'L' : ''}`).join(',');
  const q = rule.spec.quantize ? `q${rule.spec.quantize.bits}${rule.spec.quantize.rounding[0]}` : '';
  return `${rule.spec.schedule.kind}|${b}|${d}|${rule.spec.truncate ?? ''}|${q}`;
}

/** Rough wall time of evaluating a rule numerically, in ms (about 1e8 multiplications per second in Float64 loops, plus the per-step blocks: about 10 ms, 1 ms replayed from a tape). */
function estimateMs(cost: RuleCost, steps: number, samples: number, taped = false): number {
  return ((cost.multiplicationsPerStep - cost.localMultiplicationsPerStep) / 1e5 + (taped ? 1 : 10)) * steps * samples;
}

export async function findLearningRule(ctx: ModelContext, opts: FindOptions): Promise<FindResult> {
  const t0 = Date.now();
  const deadline = t0 + opts.budgetMs;
  const space = searchSpace(ctx);
  const schedules: Schedule[] = ['online', 'reverse'];
  const spaceSize = space.reduce((a, s) => a * s.choices.length, 1) * schedules.length;
  const maxExhaustive = opts.maxExhaustive ?? 256;
  const maxBytes = opts.maxBytes ?? 512 * 1024 * 1024;
  const measurer = opts.measure;
  // Measured elsewhere, the sets are built there; here only the cheap part of each rule is needed.
  const sets = measurer
    ? undefined
    : (opts.alignmentSets ?? [randomAlignmentSet(ctx, { steps: opts.steps, samples: opts.samples, seed: opts.seed, maxBytes })]);
  const infos = measurer ? measurer.sets : setInfo(sets!, opts.steps);
  if (infos.length === 0) throw new Error('find-rule needs at least one alignment set');
  const setSteps = infos[0]!.steps;
  const setSamples = infos.reduce((a, x) => a + x.samples, 0);
  // Whether the samples' exact blocks are taped (as sampleTapes decides): it enters the time estimates, so it is computed the same way wherever rules are measured.
  const taped = setsTaped(ctx, infos, maxBytes);
  const deterministic = opts.maxEvaluations !== undefined;
  const evaluated: Candidate[] = [];
  const skipped: { text: string; why: string }[] = [];
  const keys = new Map<string, Candidate | null>();
  let stopped: FindResult['stopped'] = null;
  let counter = 0;
  const timeUp = (): boolean => {
    if (opts.signal?.aborted) {
      stopped = 'cancelled';
      return true;
    }
    if (Date.now() > deadline) {
      stopped = 'budget';
      return true;
    }
    return false;
  };
  const report = (message: string): void => {
    opts.onProgress?.({ evaluated: evaluated.length, total: spaceSize, frontSize: paretoFront(evaluated).length, message, elapsedMs: Date.now() - t0 });
  };

  // A rule goes through three steps: planned here (spec, cost, credit, duplicates and memory checked,
  // a name given: cheap and in request order), measured (alignment on every set: the expensive part,
  // here or by the measurer), committed here in request order. So names, the evaluated list and the
  // front are the same whether rules were measured one by one here or many at once elsewhere.
  // A rule is a choice vector, a schedule and a variant (the kinds added on top: variantsFor).
  interface Planned {
    readonly key: string;
    readonly known: string | null;
    readonly lookalike: string | null;
    readonly label: string | null;
    readonly credit: Credit;
    readonly ruleName: string;
    readonly named: RuleSpec;
    readonly cost: RuleCost;
    readonly est: number;
    readonly choice: readonly BlockChoice[];
    readonly schedule: Schedule;
    readonly variant: Variant;
    readonly rule: PreparedRule;
  }
  type Item = readonly [readonly BlockChoice[], Schedule, Variant?];
  const sites = variantSites(ctx);
  const variants = variantsFor(ctx, space, sites, opts.steps, opts.hardware);
  // top(k) patterns are chosen on the data alignment is measured on (the last set's first sequences: the task's, with
  // find-rule's --task), here also when the rules are measured elsewhere; the chosen patterns go in the spec.
  let patterns: readonly RunInput[] | undefined;
  const patternData = (): readonly RunInput[] => (patterns ??= sets ? setPatternSamples(sets) : patternSamples(ctx, measurer!.source));
  /** A variant that changes nothing for the choice vector and schedule is none (the base rule again). */
  const normal = (choice: readonly BlockChoice[], schedule: Schedule, variant: Variant = {}): Variant =>
    variantApplies(space, sites, choice, schedule, variant) ? variant : {};
  const itemKey = (choice: readonly BlockChoice[], schedule: Schedule, variant: Variant): string => `${schedule}|${choice.join(',')}|${variantKey(variant)}`;
  // Rules with top(k) prepared for the enumeration's estimates (choosing their patterns runs the rule), kept until planned.
  const preparedTop = new Map<string, PreparedRule>();
  const prepare = (choice: readonly BlockChoice[], schedule: Schedule, variant: Variant): PreparedRule => {
    const k = itemKey(choice, schedule, variant);
    const had = preparedTop.get(k);
    if (had) return had;
    const spec = specOf(ctx, space, choice, schedule, variant, sites);
    if (!spec.approximations.some((a) => a.kind === 'top')) return prepareRule(ctx, spec);
    const rule = prepareRule(ctx, spec, patternData());
    // The patterns as chosen, in the spec: prepared again from it (on a worker), the same rule.
    return { ...rule, spec: pinPatterns(rule.spec, rule.approx) };
  };
  let reserved = 0;
  const full = (): boolean => opts.maxEvaluations !== undefined && reserved >= opts.maxEvaluations;
  // Choice vector, schedule and variant → the effective rule's key (null: its approximations do not apply together), for
  // those seen (a search revisits rules often).
  const keyOf = new Map<string, string | null>();
  const lookup = (choice: readonly BlockChoice[], schedule: Schedule, variant: Variant): { key: string | null; rule?: PreparedRule } => {
    const k = itemKey(choice, schedule, variant);
    const known = keyOf.get(k);
    if (known !== undefined) return { key: known };
    const rule = prepare(choice, schedule, variant);
    preparedTop.delete(k);
    const key = rule.approx.problems.some((p) => p.severity === 'error') ? null : ruleKey(rule);
    keyOf.set(k, key);
    return key === null ? { key } : { key, rule };
  };
  const plan = (choice: readonly BlockChoice[], schedule: Schedule, variant: Variant, key: string, prepared?: PreparedRule): Planned | null => {
    const rule = prepared ?? prepare(choice, schedule, variant);
    keys.set(key, null);
    const credit = ruleCredit(ctx.structure, rule);
    const label = creditLabel(credit);
    const base = knownRule(space, choice, schedule);
    const lookalike = Object.keys(variant).length ? variantName(base, variant, schedule) : base;
    // A rule that learns only the readout (or nothing) is never given a known rule's name: on this model the name would promise credit it does not carry.
    const known = label ? null : lookalike;
    const ruleName = known ? slugOf(known) : label ? `${credit.kind === 'none' ? 'no_update' : 'readout_only'}_${++counter}` : `rule_${++counter}`;
    const named: RuleSpec = { ...rule.spec, name: ruleName };
    const cost = ruleCost(ctx, rule, opts.steps);
    const est = exactRule(rule) ? 0 : estimateMs(cost, setSteps, setSamples, taped);
    const runBytes = schedule === 'online' ? rule.derived.cost.carriedBytes + rule.derived.cost.transientBytes : cost.memoryBytes;
    if (runBytes > maxBytes) {
      skipped.push({
        text: ruleText(named, ruleName),
        why: `its numeric run would hold about ${Math.round(runBytes / 2 ** 20)} MiB (limit ${Math.round(maxBytes / 2 ** 20)} MiB)`,
      });
      return null;
    }
    reserved++;
    return { key, known, lookalike, label, credit, ruleName, named, cost, est, choice: [...choice], schedule, variant, rule };
  };
  const commit = (p: Planned, along: readonly Alignment[]): Candidate => {
    if (along.length !== infos.length) throw new Error(`${p.ruleName}: measured on ${along.length} alignment sets, expected ${infos.length}`);
    const { known, lookalike, label, credit, ruleName, named, cost, schedule } = p;
    const alignmentAlong = infos.map((s, k) => ({ label: s.label, updates: s.updates, alignment: along[k]! }));
    const alignment = along[0]!;
    const alignmentMean = along.reduce((a, x) => a + x.cosine, 0) / along.length;
    const hardware = opts.hardware ? checkHardware(opts.hardware, schedule === 'online', schedule === 'online' ? p.rule.derived.program : null) : null;
    const alignText =
      along.length === 1
        ? `alignment with BPTT: cosine ${alignment.cosine.toFixed(3)}, relative error ${alignment.relativeError.toFixed(3)} (${infos[0]!.samples} × ${setSteps} steps)`
        : `alignment with BPTT: cosine ${alignmentAlong.map((x) => `${x.alignment.cosine.toFixed(3)} (${x.label})`).join(', ')}, mean ${alignmentMean.toFixed(3)} (${infos[0]!.samples} × ${setSteps} steps each)`;
    const figures = [
      `${cost.multiplicationsPerStep.toLocaleString('en-US')} multiplications per step, ${fmtBytes(cost.memoryBytes)} ${cost.online ? 'of traces' : `for T = ${opts.steps}`}`,
      `updates ${credit.summary}`,
      ...credit.warnings.map((w) => `warning: ${w}`),
      alignText,
    ];
    if (known) figures.unshift(`${known} — found by eligo find-rule`);
    else if (label && lookalike)
      figures.unshift(
        `${label}: has the approximations of ${lookalike}, but on this model they leave only ${credit.updatedParams.length ? credit.updatedParams.join(', ') : 'nothing'} to learn — found by eligo find-rule`,
      );
    else if (label) figures.unshift(`${label} — found by eligo find-rule`);
    else figures.unshift('found by eligo find-rule');
    const c: Candidate = {
      known,
      ruleName,
      spec: named,
      text: ruleText(named, ruleName, figures),
      cost,
      alignment,
      alignmentAlong,
      alignmentMean,
      hardware,
      credit,
      lookalike,
      choice: p.choice,
      schedule,
      variant: p.variant,
      atMs: Date.now() - t0,
    };
    keys.set(p.key, c);
    evaluated.push(c);
    report(
      `${known ?? ruleName}: cosine ${alignmentMean.toFixed(3)}${along.length > 1 ? ' (mean)' : ''}, ${cost.multiplicationsPerStep.toLocaleString('en-US')} mults/step${label ? `, ${label}` : ''}`,
    );
    return c;
  };

  /**
   * Evaluates rules in order; returns each one's candidate (a rule evaluated before: that one, also after
   * the time is up), null where none; shorter when the time or the evaluations ran out. The known rules
   * (`first`) stop only for a cancel, and get a little grace past the deadline (2 s), so that even a
   * budget spent by the caller's other work places them.
   */
  const evaluateAll = async (raw: readonly Item[], first = false): Promise<(Candidate | null)[]> => {
    const until = first ? Math.max(deadline, Date.now() + 2000) : deadline;
    const items = raw.map(([choice, schedule, variant]) => [choice, schedule, normal(choice, schedule, variant)] as const);
    const stop = (): boolean => {
      if (first) {
        if (opts.signal?.aborted) {
          stopped = 'cancelled';
          return true;
        }
      } else if (timeUp()) return true;
      return full();
    };
    if (!measurer) {
      const out: (Candidate | null)[] = [];
      for (const [choice, schedule, variant] of items) {
        const l = lookup(choice, schedule, variant);
        if (l.key === null || keys.has(l.key)) {
          out.push(l.key === null ? null : keys.get(l.key)!);
          continue;
        }
        if (stop()) break;
        const p = plan(choice, schedule, variant, l.key, l.rule);
        if (!p) {
          out.push(null);
          continue;
        }
        if (!deterministic && Date.now() + p.est > until) {
          reserved--;
          skipped.push({
            text: ruleText(p.named, p.ruleName),
            why: `its alignment would take about ${(p.est / 1000).toFixed(0)} s, more than the budget left`,
          });
          out.push(null);
          continue;
        }
        // Let progress and cancellation through between candidates.
        await new Promise<void>((r) => setImmediate(r));
        let along: Alignment[];
        try {
          along = alignAlong(ctx, sets!, p.rule, opts.signal, until);
        } catch (e) {
          if (e instanceof StoppedError) {
            out.push(null);
            continue;
          }
          throw e;
        }
        out.push(commit(p, along));
      }
      return out;
    }
    // Elsewhere: plan them all, measure them together, commit in order.
    const batch: Planned[] = [];
    let considered = 0;
    for (const [choice, schedule, variant] of items) {
      const l = lookup(choice, schedule, variant);
      if (l.key !== null && !keys.has(l.key)) {
        if (stop()) break;
        const p = plan(choice, schedule, variant, l.key, l.rule);
        if (p) batch.push(p);
      }
      considered++;
    }
    if (batch.length) {
      let arrived = 0;
      const results = await measurer.measure(
        batch.map((p) => p.named),
        {
          ...(opts.signal ? { signal: opts.signal } : {}),
          deadline: until,
          onResult: (k, along) => {
            arrived++;
            const mean = along.reduce((a, x) => a + x.cosine, 0) / Math.max(1, along.length);
            report(
              `${batch[k]!.known ?? batch[k]!.ruleName}: cosine ${mean.toFixed(3)}${along.length > 1 ? ' (mean)' : ''} (${arrived} of ${batch.length} measured)`,
            );
          },
        },
      );
      batch.forEach((p, k) => {
        const a = results[k];
        if (a) commit(p, a);
      });
      timeUp();
    }
    return items.slice(0, considered).map(([choice, schedule, variant]) => {
      const key = lookup(choice, schedule, variant).key;
      return key === null ? null : (keys.get(key) ?? null);
    });
  };
  const evaluate = async (choice: readonly BlockChoice[], schedule: Schedule, first = false, variant: Variant = {}): Promise<Candidate | null> =>
    (await evaluateAll([[choice, schedule, variant]], first))[0] ?? null;

  // Known rules first.
  const keepAll = space.map((): BlockChoice => 'keep');
  const firsts: [BlockChoice[], Schedule][] = [
    [keepAll, 'reverse'],
    [space.map((s) => (s.choices.includes('diagonal') ? 'zero' : 'keep')), 'online'],
    [space.map((): BlockChoice => 'zero'), 'online'],
    [space.map((s) => (s.choices.includes('diagonal') ? 'diagonal' : 'keep')), 'online'],
    [keepAll, 'online'],
  ];
  // Then the known rules with the new kinds: e-prop with factored filters, random e-prop, layer-local e-prop and
  // quantised traces, truncated BPTT, SnAp-2 — so a short budget places them too.
  const knownVariants: [BlockChoice[], Schedule, Variant][] = [];
  for (const v of variants.slice(1)) {
    for (const [c, s] of [firsts[1]!, firsts[0]!, firsts[4]!]) {
      if (variantApplies(space, sites, c, s, v) && variantName(knownRule(space, c, s), v, s)) knownVariants.push([c, s, v]);
    }
  }
  // Measured elsewhere and enumerated, the known rules (and their variants) go in the same batch (first), so the run is one flow;
  // here, or searched, they are evaluated in the same order before the rest.
  const firstsInBatch = measurer !== undefined && spaceSize <= maxExhaustive;
  if (!firstsInBatch) {
    await evaluateAll(firsts, true);
    if (!timeUp() && !full()) await evaluateAll(knownVariants, true);
  }
  let method = 'enumeration';
  if (!timeUp() && !full()) {
    if (spaceSize <= maxExhaustive) {
      // Every rule, cheapest to evaluate first: a short budget still covers the cheap end of the front.
      const radix = space.map((s) => s.choices.length);
      const total = radix.reduce((a, b) => a * b, 1);
      const all: { choice: BlockChoice[]; schedule: Schedule; variant: Variant; ms: number }[] = [];
      for (let code = 0; code < total; code++) {
        const choice: BlockChoice[] = [];
        let r = code;
        for (let k = 0; k < space.length; k++) {
          choice.push(space[k]!.choices[r % radix[k]!]!);
          r = Math.floor(r / radix[k]!);
        }
        for (const schedule of schedules) {
          for (const variant of variants) {
            if (!variantApplies(space, sites, choice, schedule, variant)) continue;
            const rule = prepare(choice, schedule, variant);
            if (rule.approx.problems.some((p) => p.severity === 'error')) continue;
            const k = itemKey(choice, schedule, variant);
            if (rule.approx.blocks.some((b) => b.top !== undefined) && !keyOf.has(k)) preparedTop.set(k, rule);
            all.push({
              choice,
              schedule,
              variant,
              ms: exactRule(rule) ? 0 : estimateMs(ruleCost(ctx, rule, opts.steps), setSteps, setSamples, taped || Object.keys(variant).length > 0),
            });
          }
        }
      }
      all.sort((a, b) => a.ms - b.ms);
      await evaluateAll([...(firstsInBatch ? [...firsts, ...knownVariants] : []), ...all.map((a) => [a.choice, a.schedule, a.variant] as const)]);
    } else {
      const search = opts.search ?? annealing;
      method = search.name;
      // The search stops when the evaluations are used up too (its loops only ask timeUp).
      await search.run({
        space,
        evaluate: (c, s, v) => evaluate(c, s, false, v),
        timeUp: () => timeUp() || full(),
        seed: opts.seed,
        variants,
        reward: (c) => (c === null ? -Infinity : c.alignmentMean),
      });
    }
  }
  let pool = evaluated;
  if (opts.hardware) pool = evaluated.filter((c) => c.hardware?.fits);
  const front = paretoFront(pool);
  report(`done: ${evaluated.length} rules evaluated, ${front.length} on the front`);
  return { model: ctx.name, front, evaluated, skipped, spaceSize, method, stopped, elapsedMs: Date.now() - t0 };
}

/**
 * Simulated annealing over choice vectors (Kirkpatrick et al. 1983) with
 * random scalarisations of cost, memory and alignment: restarts from random
 * vectors, 40 moves each (one block's choice, or the schedule), cooling by 0.9.
 */
export const annealing: RuleSearch = {
  name: 'annealing',
  async run({ space, evaluate, timeUp, seed, variants = [{}] }) {
    const rng = new Rng(seed ^ 0x2545f491);
    const score = (c: Candidate | null, w: readonly number[]): number =>
      c === null ? Infinity : w[0]! * Math.log10(1 + c.cost.multiplicationsPerStep) + w[1]! * Math.log10(1 + c.cost.memoryBytes) - w[2]! * 10 * c.alignmentMean;
    while (!timeUp()) {
      const w = [rng.next(), rng.next(), rng.next()];
      let cur: BlockChoice[] = space.map((s) => s.choices[Math.floor(rng.next() * s.choices.length)]!);
      let sched: Schedule = rng.next() < 0.7 ? 'online' : 'reverse';
      let vk = rng.next() < 0.5 ? 0 : Math.floor(rng.next() * variants.length);
      let curC = await evaluate(cur, sched, variants[vk]);
      let temp = 1;
      for (let it = 0; it < 40 && !timeUp(); it++) {
        const next = cur.slice();
        let nextSched = sched;
        let nextV = vk;
        const move = rng.next();
        if (move < 0.15) nextSched = sched === 'online' ? 'reverse' : 'online';
        else if (move < 0.3 && variants.length > 1) nextV = Math.floor(rng.next() * variants.length);
        else {
          const k = Math.floor(rng.next() * space.length);
          const opts2 = space[k]!.choices.filter((c) => c !== cur[k]);
          next[k] = opts2[Math.floor(rng.next() * opts2.length)]!;
        }
        const nc = await evaluate(next, nextSched, variants[nextV]);
        const d = score(nc, w) - score(curC, w);
        if (d <= 0 || rng.next() < Math.exp(-d / temp)) {
          cur = next;
          sched = nextSched;
          vk = nextV;
          curC = nc;
        }
        temp *= 0.9;
      }
    }
  },
};
