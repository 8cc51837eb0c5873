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

import { classify, type BlockTape, type RawBlock } from './blocks.js';
import { alignmentSamples, exactGradients, exactRule, ruleAlignment, sampleTapes, type Alignment } from './alignment.js';
import { creditLabel, ruleCredit, type Credit } from './credit.js';
import type { RunInput } from './execute.js';
import { StoppedError } from './execute.js';
import { ruleCost, type RuleCost } from './cost.js';
import { checkHardware, type HardwareFit, type HardwareProfile } from './hardware.js';
import { prepareRule, type ModelContext, type PreparedRule } from './model.js';
import { ruleText, type RuleSpec } from './rule.js';
import type { Approximation } from './blocks.js';
import { Rng } from '../graph/random.js';
import { formatBytes as fmtBytes } from '../util/units.js';

export type BlockChoice = 'keep' | 'diagonal' | 'zero';

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
   * initial parameters.
   */
  readonly alignmentSets?: readonly AlignmentSet[];
  /** The search over choice vectors when the space is too large to enumerate (default: annealing). */
  readonly search?: RuleSearch;
}

/** Samples (with their parameters), their tapes and their exact gradients: what every rule is compared on. */
export interface AlignmentSet {
  /** e.g. `initial`, `50 %`, `trained`. */
  readonly label: string;
  /** Updates of the reference run the parameters come from (0: initial). */
  readonly updates: number;
  readonly samples: readonly RunInput[];
  readonly tapes?: readonly BlockTape[];
  readonly exact: readonly Map<string, Float64Array>[];
}

/** What a search over choice vectors may do: evaluate rules until the time is up. */
export interface SearchApi {
  readonly space: ReturnType<typeof searchSpace>;
  readonly evaluate: (choice: readonly BlockChoice[], schedule: Schedule) => Promise<Candidate | null>;
  readonly timeUp: () => boolean;
  readonly seed: number;
  /** The objective a search maximises for a candidate (higher is better; -Infinity for none). */
  readonly reward: (c: Candidate | null) => number;
}

export interface RuleSearch {
  readonly name: string;
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

export function specOf(ctx: ModelContext, space: ReturnType<typeof searchSpace>, choice: readonly BlockChoice[], schedule: Schedule): RuleSpec {
  const approximations: Approximation[] = [];
  space.forEach((s, k) => {
    const c = choice[k]!;
    if (c === 'keep') return;
    approximations.push({ of: s.block.of, wrt: s.block.wrt.name, wrtOffset: 0, kind: c });
  });
  return { name: null, model: ctx.name, approximations, schedule: { kind: schedule }, objectives: [] };
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

const SLUG: Record<string, string> = {
  'BPTT': 'bptt', 'RTRL': 'rtrl', 'forward-mode RTRL': 'forward_rtrl', 'e-prop': 'eprop', 'SnAp-1 (diagonal RTRL)': 'snap1',
  'no recurrent credit': 'no_recurrent_credit', 'truncated BPTT (1 step)': 'truncated_bptt',
  'e-prop (reverse)': 'eprop_reverse', 'SnAp-1 (reverse)': 'snap1_reverse',
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
  const b = rule.approx.blocks.map((x) => `${x.id}:${x.approximation === 'diagonal' ? 'd' : 'k'}`).join(',');
  const d = rule.approx.dropped.map((x) => `${x.of}<${x.wrt.name}@${x.wrt.offset}`).join(',');
  return `${rule.spec.schedule.kind}|${b}|${d}`;
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
  const sets = opts.alignmentSets ?? [randomAlignmentSet(ctx, opts.steps, opts.samples, opts.seed, maxBytes / 4)];
  if (sets.length === 0) throw new Error('find-rule needs at least one alignment set');
  const setSteps = sets[0]!.samples[0]?.steps ?? opts.steps;
  const setSamples = sets.reduce((a, x) => a + x.samples.length, 0);
  const taped = sets.every((x) => x.tapes !== undefined);
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

  // The known rules get a little grace past the deadline (2 s), so that even a budget spent by the caller's other work places them.
  const evaluate = async (choice: readonly BlockChoice[], schedule: Schedule, first = false): Promise<Candidate | null> => {
    const until = first ? Math.max(deadline, Date.now() + 2000) : deadline;
    const spec = specOf(ctx, space, choice, schedule);
    const rule = prepareRule(ctx, spec);
    const key = ruleKey(rule);
    if (keys.has(key)) return keys.get(key)!;
    keys.set(key, null);
    const credit = ruleCredit(ctx.structure, rule);
    const label = creditLabel(credit);
    const lookalike = knownRule(space, choice, schedule);
    // A rule that learns only the readout (or nothing) is never given a known rule's name: on this model the name would promise credit it does not carry.
    const known = label ? null : lookalike;
    const ruleName = known ? SLUG[known]! : label ? `${credit.kind === 'none' ? 'no_update' : 'readout_only'}_${++counter}` : `rule_${++counter}`;
    const named: RuleSpec = { ...spec, name: ruleName };
    const cost = ruleCost(ctx, rule, opts.steps);
    const est = exactRule(rule) ? 0 : estimateMs(cost, setSteps, setSamples, taped);
    const runBytes = schedule === 'online' ? rule.derived.cost.carriedBytes + rule.derived.cost.transientBytes : cost.memoryBytes;
    if (runBytes > maxBytes) {
      skipped.push({ text: ruleText(named, ruleName), why: `its numeric run would hold about ${Math.round(runBytes / 2 ** 20)} MiB (limit ${Math.round(maxBytes / 2 ** 20)} MiB)` });
      return null;
    }
    if (Date.now() + est > until) {
      skipped.push({ text: ruleText(named, ruleName), why: `its alignment would take about ${(est / 1000).toFixed(0)} s, more than the budget left` });
      return null;
    }
    // Let progress and cancellation through between candidates.
    await new Promise<void>((r) => setImmediate(r));
    const along: { label: string; updates: number; alignment: Alignment }[] = [];
    try {
      for (const set of sets) {
        const a = ruleAlignment(ctx, rule, set.samples.map((s) => ({ ...s, deadline: until, ...(opts.signal ? { signal: opts.signal } : {}) })), set.exact, opts.signal, set.tapes);
        along.push({ label: set.label, updates: set.updates, alignment: a });
      }
    } catch (e) {
      if (e instanceof StoppedError) return null;
      throw e;
    }
    const alignment = along[0]!.alignment;
    const alignmentMean = along.reduce((a, x) => a + x.alignment.cosine, 0) / along.length;
    const hardware = opts.hardware ? checkHardware(opts.hardware, schedule === 'online', schedule === 'online' ? rule.derived.program : null) : null;
    const alignText = along.length === 1
      ? `alignment with BPTT: cosine ${alignment.cosine.toFixed(3)}, relative error ${alignment.relativeError.toFixed(3)} (${sets[0]!.samples.length} × ${setSteps} steps)`
      : `alignment with BPTT: cosine ${along.map((x) => `${x.alignment.cosine.toFixed(3)} (${x.label})`).join(', ')}, mean ${alignmentMean.toFixed(3)} (${sets[0]!.samples.length} × ${setSteps} steps each)`;
    const figures = [
      `${cost.multiplicationsPerStep.toLocaleString('en-US')} multiplications per step, ${fmtBytes(cost.memoryBytes)} ${cost.online ? 'of traces' : `for T = ${opts.steps}`}`,
      `updates ${credit.summary}`,
      ...credit.warnings.map((w) => `warning: ${w}`),
      alignText,
    ];
    if (known) figures.unshift(`${known} — found by eligo find-rule`);
    else if (label && lookalike) figures.unshift(`${label}: has the approximations of ${lookalike}, but on this model they leave only ${credit.updatedParams.length ? credit.updatedParams.join(', ') : 'nothing'} to learn — found by eligo find-rule`);
    else if (label) figures.unshift(`${label} — found by eligo find-rule`);
    else figures.unshift('found by eligo find-rule');
    const c: Candidate = {
      known, ruleName, spec: named, text: ruleText(named, ruleName, figures), cost, alignment, alignmentAlong: along, alignmentMean, hardware,
      credit, lookalike, choice: [...choice], schedule, atMs: Date.now() - t0,
    };
    keys.set(key, c);
    evaluated.push(c);
    report(`${known ?? ruleName}: cosine ${alignmentMean.toFixed(3)}${along.length > 1 ? ' (mean)' : ''}, ${cost.multiplicationsPerStep.toLocaleString('en-US')} mults/step${label ? `, ${label}` : ''}`);
    return c;
  };

  // Known rules first.
  const keepAll = space.map(() => 'keep' as BlockChoice);
  const firsts: [BlockChoice[], Schedule][] = [
    [keepAll, 'reverse'],
    [space.map((s) => (s.choices.includes('diagonal') ? 'zero' : 'keep')), 'online'],
    [space.map(() => 'zero'), 'online'],
    [space.map((s) => (s.choices.includes('diagonal') ? 'diagonal' : 'keep')), 'online'],
    [keepAll, 'online'],
  ];
  for (const [c, s] of firsts) {
    if (opts.signal?.aborted) {
      stopped = 'cancelled';
      break;
    }
    await evaluate(c, s, true);
  }
  let method = 'enumeration';
  if (!timeUp()) {
    if (spaceSize <= maxExhaustive) {
      // Every rule, cheapest to evaluate first: a short budget still covers the cheap end of the front.
      const radix = space.map((s) => s.choices.length);
      const total = radix.reduce((a, b) => a * b, 1);
      const all: { choice: BlockChoice[]; schedule: Schedule; ms: number }[] = [];
      for (let code = 0; code < total; code++) {
        const choice: BlockChoice[] = [];
        let r = code;
        for (let k = 0; k < space.length; k++) {
          choice.push(space[k]!.choices[r % radix[k]!]!);
          r = Math.floor(r / radix[k]!);
        }
        for (const schedule of schedules) {
          const rule = prepareRule(ctx, specOf(ctx, space, choice, schedule));
          all.push({ choice, schedule, ms: exactRule(rule) ? 0 : estimateMs(ruleCost(ctx, rule, opts.steps), setSteps, setSamples, taped) });
        }
      }
      all.sort((a, b) => a.ms - b.ms);
      for (const a of all) {
        if (timeUp()) break;
        await evaluate(a.choice, a.schedule);
      }
    } else {
      const search = opts.search ?? annealing;
      method = search.name;
      await search.run({ space, evaluate, timeUp, seed: opts.seed, reward: (c) => (c === null ? -Infinity : c.alignmentMean) });
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
  async run({ space, evaluate, timeUp, seed }) {
    const rng = new Rng(seed ^ 0x2545f491);
    const score = (c: Candidate | null, w: readonly number[]): number => (c === null ? Infinity
      : w[0]! * Math.log10(1 + c.cost.multiplicationsPerStep) + w[1]! * Math.log10(1 + c.cost.memoryBytes) - w[2]! * 10 * c.alignmentMean);
    while (!timeUp()) {
      const w = [rng.next(), rng.next(), rng.next()];
      let cur: BlockChoice[] = space.map((s) => s.choices[Math.floor(rng.next() * s.choices.length)]!);
      let sched: Schedule = rng.next() < 0.7 ? 'online' : 'reverse';
      let curC = await evaluate(cur, sched);
      let temp = 1;
      for (let it = 0; it < 40 && !timeUp(); it++) {
        const next = cur.slice();
        let nextSched = sched;
        if (rng.next() < 0.15) nextSched = sched === 'online' ? 'reverse' : 'online';
        else {
          const k = Math.floor(rng.next() * space.length);
          const opts2 = space[k]!.choices.filter((c) => c !== cur[k]);
          next[k] = opts2[Math.floor(rng.next() * opts2.length)]!;
        }
        const nc = await evaluate(next, nextSched);
        const d = score(nc, w) - score(curC, w);
        if (d <= 0 || rng.next() < Math.exp(-d / temp)) {
          cur = next;
          sched = nextSched;
          curC = nc;
        }
        temp *= 0.9;
      }
    }
  },
};

/** Today's default alignment set: random sequences at the model's initial parameters (graph/simulate.ts). */
export function randomAlignmentSet(ctx: ModelContext, steps: number, samples: number, seed: number, maxTapeBytes: number): AlignmentSet {
  const s = alignmentSamples(ctx, { steps, samples, seed });
  // The samples' exact blocks, recorded once and replayed by every rule (when they fit).
  const tapes = sampleTapes(ctx, s, maxTapeBytes);
  return { label: 'initial', updates: 0, samples: s, ...(tapes ? { tapes } : {}), exact: exactGradients(ctx, s, tapes) };
}
