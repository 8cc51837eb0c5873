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

import { classify, tapeBytes, type RawBlock } from './blocks.js';
import { exactRule, type Alignment } from './alignment.js';
import { alignCandidate, candidateSetup } from './candidate.js';
import { StoppedError } from './execute.js';
import { ruleCost, type RuleCost } from './cost.js';
import { checkHardware, type HardwareFit, type HardwareProfile } from './hardware.js';
import { prepareRule, type ModelContext, type PreparedRule } from './model.js';
import { ruleText, type RuleSpec } from './rule.js';
import type { Approximation } from './blocks.js';
import { Rng } from '../graph/random.js';

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
   * Stop after this many rules evaluated, and skip none for time: with it (and a budget that is not
   * reached) the result does not depend on the machine, nor on where the rules were measured.
   */
  readonly maxEvaluations?: number;
  /**
   * Measures many rules elsewhere (the job queue: jobs/queue/findRule.ts) instead of one after another
   * here; alignments in request order, undefined for those not measured (cancelled). Each rule is
   * measured by the same function (candidate.ts), so the result is the same.
   */
  readonly measure?: AlignmentMeasurer;
}

export type AlignmentMeasurer = (specs: readonly RuleSpec[], o: {
  readonly signal?: AbortSignal;
  /** Absolute deadline (Date.now() ms): stop waiting then. */
  readonly deadline: number;
  readonly onResult?: (index: number, alignment: Alignment) => void;
}) => Promise<(Alignment | undefined)[]>;

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
  readonly alignment: Alignment;
  readonly hardware: HardwareFit | null;
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
  readonly method: 'enumeration' | 'annealing';
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

type Schedule = 'online' | 'reverse';

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
  const ca = a.alignment.cosine;
  const cb = b.alignment.cosine;
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
    const k = `${c.cost.multiplicationsPerStep}|${c.cost.memoryBytes}|${c.alignment.cosine.toFixed(12)}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(c);
  }
  return out.sort((a, b) => b.alignment.cosine - a.alignment.cosine || a.cost.multiplicationsPerStep - b.cost.multiplicationsPerStep);
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
  // Measured remotely, the setup is made on the workers; here only the cheap part of each rule is needed.
  const setup = opts.measure ? undefined : candidateSetup(ctx, { steps: opts.steps, samples: opts.samples, seed: opts.seed, maxBytes });
  // Whether the samples' exact blocks are taped (as sampleTapes decides): it orders the enumeration, so it is computed the same way wherever rules are measured.
  const taped = opts.samples * tapeBytes(ctx.structure, opts.steps) <= maxBytes / 4;
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

  // A rule goes through three steps: planned here (spec, cost, duplicates and memory checked, a name
  // given: cheap and in request order), measured (alignment: the expensive part, here or on the
  // queue), committed here in request order. So names, the evaluated list and the front are the
  // same whether rules were measured one by one here or many at once elsewhere.
  interface Planned {
    readonly key: string;
    readonly known: string | null;
    readonly ruleName: string;
    readonly named: RuleSpec;
    readonly cost: RuleCost;
    readonly est: number;
    readonly online: boolean;
    readonly program: PreparedRule['derived']['program'];
    readonly rule: PreparedRule;
  }
  let reserved = 0;
  const full = (): boolean => opts.maxEvaluations !== undefined && reserved >= opts.maxEvaluations;
  const plan = (choice: readonly BlockChoice[], schedule: Schedule): Planned | null => {
    const spec = specOf(ctx, space, choice, schedule);
    const rule = prepareRule(ctx, spec);
    const key = ruleKey(rule);
    if (keys.has(key)) return null;
    keys.set(key, null);
    const known = knownRule(space, choice, schedule);
    const ruleName = known ? SLUG[known]! : `rule_${++counter}`;
    const named: RuleSpec = { ...spec, name: ruleName };
    const cost = ruleCost(ctx, rule, opts.steps);
    const est = exactRule(rule) ? 0 : estimateMs(cost, opts.steps, opts.samples, taped);
    const runBytes = schedule === 'online' ? rule.derived.cost.carriedBytes + rule.derived.cost.transientBytes : cost.memoryBytes;
    if (runBytes > maxBytes) {
      skipped.push({ text: ruleText(named, ruleName), why: `its numeric run would hold about ${Math.round(runBytes / 2 ** 20)} MiB (limit ${Math.round(maxBytes / 2 ** 20)} MiB)` });
      return null;
    }
    reserved++;
    return { key, known, ruleName, named, cost, est, online: schedule === 'online', program: rule.derived.program, rule };
  };
  const commit = (p: Planned, alignment: Alignment): Candidate => {
    const { known, ruleName, named, cost } = p;
    const hardware = opts.hardware ? checkHardware(opts.hardware, p.online, p.online ? p.program : null) : null;
    const figures = [
      `${cost.multiplicationsPerStep.toLocaleString('en-US')} multiplications per step, ${fmtBytes(cost.memoryBytes)} ${cost.online ? 'of traces' : `for T = ${opts.steps}`}`,
      `alignment with BPTT: cosine ${alignment.cosine.toFixed(3)}, relative error ${alignment.relativeError.toFixed(3)} (${opts.samples} × ${opts.steps} steps)`,
    ];
    if (known) figures.unshift(`${known} — found by eligo find-rule`);
    else figures.unshift('found by eligo find-rule');
    const c: Candidate = { known, ruleName, spec: named, text: ruleText(named, ruleName, figures), cost, alignment, hardware, atMs: Date.now() - t0 };
    keys.set(p.key, c);
    evaluated.push(c);
    report(`${known ?? ruleName}: cosine ${alignment.cosine.toFixed(3)}, ${cost.multiplicationsPerStep.toLocaleString('en-US')} mults/step`);
    return c;
  };

  /** Evaluates rules in order; returns each one's candidate (a duplicate: the rule it equals), null where none. */
  const evaluateAll = async (items: readonly (readonly [readonly BlockChoice[], Schedule])[]): Promise<(Candidate | null)[]> => {
    const keyOf = (choice: readonly BlockChoice[], schedule: Schedule): string => ruleKey(prepareRule(ctx, specOf(ctx, space, choice, schedule)));
    if (!opts.measure) {
      const out: (Candidate | null)[] = [];
      for (const [choice, schedule] of items) {
        if (timeUp() || full()) break;
        const p = plan(choice, schedule);
        if (!p) {
          out.push(keys.get(keyOf(choice, schedule)) ?? null);
          continue;
        }
        if (!deterministic && Date.now() + p.est > deadline) {
          reserved--;
          skipped.push({ text: ruleText(p.named, p.ruleName), why: `its alignment would take about ${(p.est / 1000).toFixed(0)} s, more than the budget left` });
          out.push(null);
          continue;
        }
        // Let progress and cancellation through between candidates.
        await new Promise<void>((r) => setImmediate(r));
        let alignment: Alignment;
        try {
          alignment = alignCandidate(setup!, p.named, opts.signal, deadline, p.rule);
        } catch (e) {
          if (e instanceof StoppedError) {
            out.push(null);
            continue;
          }
          throw e;
        }
        out.push(commit(p, alignment));
      }
      return out;
    }
    // Elsewhere: plan them all, measure them together, commit in order.
    const planned: (Planned | null)[] = [];
    for (const [choice, schedule] of items) {
      if (timeUp() || full()) break;
      planned.push(plan(choice, schedule));
    }
    const batch = planned.filter((p): p is Planned => p !== null);
    if (batch.length) {
      let arrived = 0;
      const results = await opts.measure(batch.map((p) => p.named), {
        ...(opts.signal ? { signal: opts.signal } : {}), deadline,
        onResult: (k, a) => {
          arrived++;
          report(`${batch[k]!.known ?? batch[k]!.ruleName}: cosine ${a.cosine.toFixed(3)} (${arrived} of ${batch.length} measured)`);
        },
      });
      batch.forEach((p, k) => {
        const a = results[k];
        if (a) commit(p, a);
      });
      timeUp();
    }
    return items.slice(0, planned.length).map(([choice, schedule]) => keys.get(keyOf(choice, schedule)) ?? null);
  };
  const evaluate = async (choice: readonly BlockChoice[], schedule: Schedule): Promise<Candidate | null> => (await evaluateAll([[choice, schedule]]))[0] ?? null;

  // Known rules first.
  const keepAll = space.map(() => 'keep' as BlockChoice);
  const firsts: [BlockChoice[], Schedule][] = [
    [keepAll, 'reverse'],
    [space.map((s) => (s.choices.includes('diagonal') ? 'zero' : 'keep')), 'online'],
    [space.map(() => 'zero'), 'online'],
    [space.map((s) => (s.choices.includes('diagonal') ? 'diagonal' : 'keep')), 'online'],
    [keepAll, 'online'],
  ];
  let method: FindResult['method'] = 'enumeration';
  if (spaceSize > maxExhaustive || !opts.measure) await evaluateAll(firsts);
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
          all.push({ choice, schedule, ms: exactRule(rule) ? 0 : estimateMs(ruleCost(ctx, rule, opts.steps), opts.steps, opts.samples, taped) });
        }
      }
      all.sort((a, b) => a.ms - b.ms);
      // Measured elsewhere, the known rules go in the same batch (first), so the run is one flow.
      await evaluateAll([...(opts.measure ? firsts : []), ...all.map((a) => [a.choice, a.schedule] as const)]);
    } else {
      method = 'annealing';
      const rng = new Rng(opts.seed ^ 0x2545f491);
      const score = (c: Candidate | null, w: readonly number[]): number => (c === null ? Infinity
        : w[0]! * Math.log10(1 + c.cost.multiplicationsPerStep) + w[1]! * Math.log10(1 + c.cost.memoryBytes) - w[2]! * 10 * c.alignment.cosine);
      while (!timeUp() && !full()) {
        const w = [rng.next(), rng.next(), rng.next()];
        let cur: BlockChoice[] = space.map((s) => s.choices[Math.floor(rng.next() * s.choices.length)]!);
        let sched: Schedule = rng.next() < 0.7 ? 'online' : 'reverse';
        let curC = await evaluate(cur, sched);
        let temp = 1;
        for (let it = 0; it < 40 && !timeUp() && !full(); it++) {
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
    }
  }
  let pool = evaluated;
  if (opts.hardware) pool = evaluated.filter((c) => c.hardware?.fits);
  const front = paretoFront(pool);
  report(`done: ${evaluated.length} rules evaluated, ${front.length} on the front`);
  return { model: ctx.name, front, evaluated, skipped, spaceSize, method, stopped, elapsedMs: Date.now() - t0 };
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}
