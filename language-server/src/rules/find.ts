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
//
// Alignment is measured here, one rule after another, or by an injected
// measurer (the job queue's workers, many at once: jobs/queue/runs.ts);
// either way by the same function (candidate.ts), and every rule goes
// through plan / measure / commit (see findLearningRule), so the names, the
// evaluated list and the front do not depend on where rules were measured.

import { classify, type RawBlock } from './blocks.js';
import { exactRule, type Alignment } from './alignment.js';
import { alignAlong, randomAlignmentSet, setInfo, setsTaped, type AlignmentSet, type AlignmentSetInfo } from './candidate.js';
import { creditLabel, ruleCredit, type Credit } from './credit.js';
import { StoppedError } from './execute.js';
import { ruleCost, type RuleCost } from './cost.js';
import { checkHardware, type HardwareFit, type HardwareProfile } from './hardware.js';
import { prepareRule, type ModelContext, type PreparedRule } from './model.js';
import { ruleText, type RuleSpec } from './rule.js';
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
  /** Alignments on every set (in the sets' order) per spec, in request order; undefined for those not measured (cancelled). */
  measure(specs: readonly RuleSpec[], o: {
    readonly signal?: AbortSignal;
    /** Absolute deadline (Date.now() ms): stop waiting then. */
    readonly deadline: number;
    readonly onResult?: (index: number, along: readonly Alignment[]) => void;
  }): Promise<(readonly Alignment[] | undefined)[]>;
}

/** What a search over choice vectors may do: evaluate rules until the time (or the evaluations) are up. */
export interface SearchApi {
  readonly space: ReturnType<typeof searchSpace>;
  /** A rule already evaluated comes back from the cache (also after the time is up). */
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
  const measurer = opts.measure;
  // Measured elsewhere, the sets are built there; here only the cheap part of each rule is needed.
  const sets = measurer ? undefined : (opts.alignmentSets ?? [randomAlignmentSet(ctx, { steps: opts.steps, samples: opts.samples, seed: opts.seed, maxBytes })]);
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
    readonly rule: PreparedRule;
  }
  let reserved = 0;
  const full = (): boolean => opts.maxEvaluations !== undefined && reserved >= opts.maxEvaluations;
  // Choice vector and schedule → the effective rule's key, for those planned (a search revisits rules often).
  const keyOf = new Map<string, string>();
  const lookup = (choice: readonly BlockChoice[], schedule: Schedule): { key: string; rule?: PreparedRule } => {
    const k = keyOf.get(`${schedule}|${choice.join(',')}`);
    if (k !== undefined) return { key: k };
    const rule = prepareRule(ctx, specOf(ctx, space, choice, schedule));
    return { key: ruleKey(rule), rule };
  };
  const plan = (choice: readonly BlockChoice[], schedule: Schedule, l: { key: string; rule?: PreparedRule }): Planned | null => {
    const { key } = l;
    const rule = l.rule ?? prepareRule(ctx, specOf(ctx, space, choice, schedule));
    keys.set(key, null);
    keyOf.set(`${schedule}|${choice.join(',')}`, key);
    const spec = specOf(ctx, space, choice, schedule);
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
    reserved++;
    return { key, known, lookalike, label, credit, ruleName, named, cost, est, choice: [...choice], schedule, rule };
  };
  const commit = (p: Planned, along: readonly Alignment[]): Candidate => {
    if (along.length !== infos.length) throw new Error(`${p.ruleName}: measured on ${along.length} alignment sets, expected ${infos.length}`);
    const { known, lookalike, label, credit, ruleName, named, cost, schedule } = p;
    const alignmentAlong = infos.map((s, k) => ({ label: s.label, updates: s.updates, alignment: along[k]! }));
    const alignment = along[0]!;
    const alignmentMean = along.reduce((a, x) => a + x.cosine, 0) / along.length;
    const hardware = opts.hardware ? checkHardware(opts.hardware, schedule === 'online', schedule === 'online' ? p.rule.derived.program : null) : null;
    const alignText = along.length === 1
      ? `alignment with BPTT: cosine ${alignment.cosine.toFixed(3)}, relative error ${alignment.relativeError.toFixed(3)} (${infos[0]!.samples} × ${setSteps} steps)`
      : `alignment with BPTT: cosine ${alignmentAlong.map((x) => `${x.alignment.cosine.toFixed(3)} (${x.label})`).join(', ')}, mean ${alignmentMean.toFixed(3)} (${infos[0]!.samples} × ${setSteps} steps each)`;
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
      known, ruleName, spec: named, text: ruleText(named, ruleName, figures), cost, alignment, alignmentAlong, alignmentMean, hardware,
      credit, lookalike, choice: p.choice, schedule, atMs: Date.now() - t0,
    };
    keys.set(p.key, c);
    evaluated.push(c);
    report(`${known ?? ruleName}: cosine ${alignmentMean.toFixed(3)}${along.length > 1 ? ' (mean)' : ''}, ${cost.multiplicationsPerStep.toLocaleString('en-US')} mults/step${label ? `, ${label}` : ''}`);
    return c;
  };

  /**
   * Evaluates rules in order; returns each one's candidate (a rule evaluated before: that one, also after
   * the time is up), null where none; shorter when the time or the evaluations ran out. The known rules
   * (`first`) stop only for a cancel, and get a little grace past the deadline (2 s), so that even a
   * budget spent by the caller's other work places them.
   */
  const evaluateAll = async (items: readonly (readonly [readonly BlockChoice[], Schedule])[], first = false): Promise<(Candidate | null)[]> => {
    const until = first ? Math.max(deadline, Date.now() + 2000) : deadline;
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
      for (const [choice, schedule] of items) {
        const l = lookup(choice, schedule);
        if (keys.has(l.key)) {
          out.push(keys.get(l.key)!);
          continue;
        }
        if (stop()) break;
        const p = plan(choice, schedule, l);
        if (!p) {
          out.push(null);
          continue;
        }
        if (!deterministic && Date.now() + p.est > until) {
          reserved--;
          skipped.push({ text: ruleText(p.named, p.ruleName), why: `its alignment would take about ${(p.est / 1000).toFixed(0)} s, more than the budget left` });
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
    for (const [choice, schedule] of items) {
      const l = lookup(choice, schedule);
      if (!keys.has(l.key)) {
        if (stop()) break;
        const p = plan(choice, schedule, l);
        if (p) batch.push(p);
      }
      considered++;
    }
    if (batch.length) {
      let arrived = 0;
      const results = await measurer.measure(batch.map((p) => p.named), {
        ...(opts.signal ? { signal: opts.signal } : {}), deadline: until,
        onResult: (k, along) => {
          arrived++;
          const mean = along.reduce((a, x) => a + x.cosine, 0) / Math.max(1, along.length);
          report(`${batch[k]!.known ?? batch[k]!.ruleName}: cosine ${mean.toFixed(3)}${along.length > 1 ? ' (mean)' : ''} (${arrived} of ${batch.length} measured)`);
        },
      });
      batch.forEach((p, k) => {
        const a = results[k];
        if (a) commit(p, a);
      });
      timeUp();
    }
    return items.slice(0, considered).map(([choice, schedule]) => keys.get(lookup(choice, schedule).key) ?? null);
  };
  const evaluate = async (choice: readonly BlockChoice[], schedule: Schedule, first = false): Promise<Candidate | null> => (await evaluateAll([[choice, schedule]], first))[0] ?? null;

  // Known rules first.
  const keepAll = space.map(() => 'keep' as BlockChoice);
  const firsts: [BlockChoice[], Schedule][] = [
    [keepAll, 'reverse'],
    [space.map((s) => (s.choices.includes('diagonal') ? 'zero' : 'keep')), 'online'],
    [space.map(() => 'zero'), 'online'],
    [space.map((s) => (s.choices.includes('diagonal') ? 'diagonal' : 'keep')), 'online'],
    [keepAll, 'online'],
  ];
  // Measured elsewhere and enumerated, the known rules go in the same batch (first), so the run is one flow.
  const firstsInBatch = measurer !== undefined && spaceSize <= maxExhaustive;
  if (!firstsInBatch) await evaluateAll(firsts, true);
  let method = 'enumeration';
  if (!timeUp() && !full()) {
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
      await evaluateAll([...(firstsInBatch ? firsts : []), ...all.map((a) => [a.choice, a.schedule] as const)]);
    } else {
      const search = opts.search ?? annealing;
      method = search.name;
      // The search stops when the evaluations are used up too (its loops only ask timeUp).
      await search.run({ space, evaluate: (c, s) => evaluate(c, s), timeUp: () => timeUp() || full(), seed: opts.seed, reward: (c) => (c === null ? -Infinity : c.alignmentMean) });
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

