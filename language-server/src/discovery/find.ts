// Find learning rule, answered with accuracy: which rule learns this task,
// on this chip, at what cost (Assmuth, Lohoff & Neftci, "Automatic learning
// rule discovery for neuromorphic hardware": a data-dependent search over
// systematic sparsifications of Jacobians, restricted to what the hardware
// holds, judged by cost against task accuracy).
//
// 1. Reference run (discovery/reference.ts): a short BPTT run on the task;
//    its parameters at 0 %, 50 % and 100 % are where alignment is measured,
//    on the task's own sequences with its loss weights (taskSamples.ts).
// 2. Search (rules/find.ts): every rule is scored on cost, hardware fit,
//    credit (which parameters it updates) and alignment along the run —
//    the cheap fidelity.
// 3. Multi-fidelity training (successive halving; Jamieson & Talwalkar 2016,
//    Li et al. 2017 "Hyperband"): the promising rules are trained briefly on
//    the task with the online trainer through `train()` (candidate.ts), the
//    best third of each rung three times longer, resuming from the rung's
//    checkpoint. Survivors are chosen on *training* accuracy (the test split
//    only reports), and the front is cost against test accuracy.
//
// Without a task, steps 1 and 3 are skipped: the front is today's — cost
// against alignment on random sequences at the initial parameters —
// labelled as such.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sizeOf } from '../graph/types.js';
import { alignmentSetsAt, type AlignmentSource } from '../rules/candidate.js';
import { ruleCredit, type Credit } from '../rules/credit.js';
import { findLearningRule, paretoFront as alignmentFront, type AlignmentMeasurer, type AlignmentSet, type Candidate, type FindResult, type RuleSearch } from '../rules/find.js';
import type { HardwareProfile } from '../rules/hardware.js';
import { prepareRule, type ModelContext } from '../rules/model.js';
import { ruleText } from '../rules/rule.js';
import { initialStates, loadedParamValues } from '../graph/simulate.js';
import { makeTask, TaskError, type Task } from '../train/tasks/index.js';
import type { FileAccessPolicy } from '../train/tasks/files.js';
import { trainCandidate, TrainError, type CandidatePayload, type CandidateResult } from './candidate.js';
import { referenceRun, type ReferenceRun } from './reference.js';
import { taskSamples } from './taskSamples.js';
import { EligoError } from '../util/errors.js';

export interface DiscoverOptions {
  readonly budgetMs: number;
  /** Alignment on random sequences (no task): their length; with a task, T is the task's. */
  readonly steps: number;
  /** Sequences per alignment set. */
  readonly samples: number;
  readonly seed: number;
  readonly hardware?: HardwareProfile;
  readonly maxBytes?: number;
  readonly maxExhaustive?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: DiscoverProgress) => void;
  /** `--task` syntax; without it no training (alignment-only front). */
  readonly task?: string;
  /** Which data files the task may read (train/tasks/files.ts); absent: anywhere (the CLI). The server passes the workspace's. */
  readonly files?: FileAccessPolicy;
  /** The search over choice vectors when the space is too large to enumerate. */
  readonly search?: RuleSearch;
  /** Stop the search after this many rules evaluated, skipping none for time (rules/find.ts `maxEvaluations`). */
  readonly maxEvaluations?: number;
  /**
   * Where candidates' alignment is measured (the job queue's workers: jobs/queue/runs.ts), given where
   * to measure it — known only after the reference run. Default: in this process.
   */
  readonly measurer?: (source: AlignmentSource) => AlignmentMeasurer;
  /** Updates of the BPTT reference run (default 100; fewer when its share of the budget runs out). */
  readonly referenceUpdates?: number;
  readonly batch?: number;
  readonly learningRate?: number;
  /** Updates of the first rung (default 10); each later rung trains η times as long. */
  readonly minUpdates?: number;
  readonly eta?: number;
  /** Rungs at most (default: until the budget or `maxUpdates`). */
  readonly rungs?: number;
  /** No rung trains longer than this (default 1000 updates). */
  readonly maxUpdates?: number;
  /** Candidates entering the first rung (default 9). */
  readonly maxTrained?: number;
  /** Samples of each final evaluation (default 256). */
  readonly evalSamples?: number;
  /** Fractions of the budget for the reference run and the alignment search (default 0.15 and 0.25; training gets the rest). */
  readonly shares?: { readonly reference: number; readonly search: number };
}

export interface DiscoverProgress {
  readonly phase: 'reference' | 'search' | 'training';
  readonly message: string;
  readonly elapsedMs: number;
  readonly evaluated: number;
  readonly trained: number;
  readonly total: number;
}

export interface Accuracy {
  readonly test: number;
  readonly train: number;
  readonly task: string;
  readonly updates: number;
}

export interface Discovered extends Candidate {
  /** Test and train accuracy of its longest training, or null (then `accuracyWhy` says why). */
  readonly accuracy: Accuracy | null;
  readonly accuracyWhy?: string;
  /** Every training of it: one entry per rung reached. */
  readonly trainings: readonly CandidateResult[];
  /** Alignment along the reference run on the task's data (null without a task). */
  readonly alignmentOnTask: { readonly initial: number; readonly trained: number; readonly mean: number } | null;
}

export interface DiscoverResult extends Omit<FindResult, 'front' | 'evaluated'> {
  readonly front: readonly Discovered[];
  readonly evaluated: readonly Discovered[];
  /** What the front ranks by: test accuracy, or alignment when nothing could be trained (see `frontWhy`). */
  readonly frontBasis: 'accuracy' | 'alignment';
  readonly frontWhy?: string;
  /** Candidates trained at least once. */
  readonly trained: number;
  readonly task: string | null;
  readonly reference: Omit<ReferenceRun, 'snapshots'> & { readonly snapshots: readonly { readonly label: string; readonly updates: number }[] } | null;
  /** Things the user should know: parameters nothing reaches, a chip nothing fits, a budget too short. */
  readonly notes: readonly string[];
}

export class DiscoverError extends EligoError {
  constructor(message: string) {
    super('discovery.input', message);
  }
}

/** The model's parameters that even exact online credit (RTRL) cannot reach, and whether it reaches any. */
export function reachable(ctx: ModelContext): Credit {
  return ruleCredit(ctx.structure, prepareRule(ctx, { name: null, model: ctx.name, approximations: [], schedule: { kind: 'online' }, objectives: [] }));
}

/** Task of a model, built as the trainer builds it (same sizes, same seed); TaskError → DiscoverError naming the model. */
export function taskFor(ctx: ModelContext, spec: string, seed: number, files?: FileAccessPolicy): Task {
  const data = ctx.graph.model.data;
  const input = data.find((d) => ctx.scope.symbols.get(d.name)?.kind === 'input');
  const target = data.find((d) => ctx.scope.symbols.get(d.name)?.kind === 'target');
  if (!input || !target) throw new DiscoverError(`model '${ctx.name}' needs an input and a target to be trained on --task ${spec}`);
  try {
    return makeTask(spec, {
      model: ctx.name, nIn: sizeOf(ctx.graph.vertices[input.leaf]!.shape), nOut: sizeOf(ctx.graph.vertices[target.leaf]!.shape),
      inputName: input.name, targetName: target.name, seed, ...(files ? { files } : {}),
    });
  } catch (e) {
    if (e instanceof TaskError) throw new DiscoverError(`--task ${spec} does not fit model '${ctx.name}': ${e.message}`);
    throw e;
  }
}

function freshRuleName(taken: ReadonlySet<string>, k: number): string {
  let name = `find_candidate_${k}`;
  for (let j = 2; taken.has(name); j++) name = `find_candidate_${k}_${j}`;
  return name;
}

export async function discoverRules(ctx: ModelContext, o: DiscoverOptions): Promise<DiscoverResult> {
  const t0 = Date.now();
  const deadline = t0 + o.budgetMs;
  const notes: string[] = [];
  const reach = reachable(ctx);
  if (reach.updatedParams.length === 0) {
    throw new DiscoverError(`no online rule can reach the parameters of model '${ctx.name}' (${ctx.structure.params.map((p) => p.name).join(', ') || 'it has none'}): even exact RTRL gives them no update — the loss does not depend on them through any state`);
  }
  if (reach.untrained.length) notes.push(`no rule can learn ${reach.untrained.join(', ')}: even exact online credit (RTRL) does not reach ${reach.untrained.length === 1 ? 'it' : 'them'}`);
  const shares = o.shares ?? { reference: 0.15, search: 0.25 };
  const batch = o.batch ?? 16;
  const learningRate = o.learningRate ?? 0.005;
  const evalSamples = o.evalSamples ?? 256;
  const maxBytes = o.maxBytes ?? 512 * 1024 * 1024;
  const progress = (phase: DiscoverProgress['phase'], message: string, evaluated = 0, trained = 0, total = 0): void =>
    o.onProgress?.({ phase, message, elapsedMs: Date.now() - t0, evaluated, trained, total });

  // The model's data(…) params as loaded on the compiled file: the trainer compiles the text again and needs them given.
  const paramValues = loadedParamValues(ctx.compiled.checked.items.values());

  // ---- 1. reference run and alignment sets on the task
  let task: Task | undefined;
  let reference: ReferenceRun | undefined;
  let sets: AlignmentSet[] | undefined;
  let measure: AlignmentMeasurer | undefined;
  if (o.task !== undefined) {
    task = taskFor(ctx, o.task, o.seed, o.files);
    progress('reference', `BPTT reference run on ${task.name}`);
    reference = await referenceRun(ctx, {
      text: ctx.compiled.text, model: ctx.name, task: o.task, updates: o.referenceUpdates ?? 100, batch, seed: o.seed, learningRate,
      deadline: t0 + shares.reference * o.budgetMs, ...(o.signal ? { signal: o.signal } : {}), ...(o.files ? { files: o.files } : {}),
      ...(paramValues.size ? { paramValues } : {}),
    });
    const initial = initialStates(ctx.scope);
    // The task's sequences, measured at each snapshot's parameters: here, or sent to the measurer as data.
    const sequences = taskSamples(ctx, task, o.samples, reference.snapshots[0]!.params, initial);
    const at = reference.snapshots.map((s) => ({ label: s.label, updates: s.updates, params: s.params }));
    if (o.measurer) measure = o.measurer({ kind: 'given', sequences, at });
    else sets = alignmentSetsAt(ctx, sequences, at, maxBytes);
    if (reference.done < reference.planned) notes.push(`the BPTT reference run did ${reference.done} of ${reference.planned} updates in its share of the budget`);
    progress('reference', `reference run: ${reference.done} updates, test accuracy ${fmtAcc(reference.testAccuracy)}`);
  } else if (o.measurer) {
    measure = o.measurer({ kind: 'random', steps: o.steps, samples: o.samples, seed: o.seed });
  }

  // ---- 2. the search, scored on cost, credit and alignment
  const searchEnd = task ? t0 + (shares.reference + shares.search) * o.budgetMs : deadline;
  const found = await findLearningRule(ctx, {
    budgetMs: Math.max(1, searchEnd - Date.now()), steps: task ? task.steps : o.steps, samples: o.samples, seed: o.seed, maxBytes,
    ...(o.maxExhaustive !== undefined ? { maxExhaustive: o.maxExhaustive } : {}),
    ...(o.hardware ? { hardware: o.hardware } : {}), ...(o.signal ? { signal: o.signal } : {}), ...(sets ? { alignmentSets: sets } : {}),
    ...(o.search ? { search: o.search } : {}), ...(measure ? { measure } : {}),
    ...(o.maxEvaluations !== undefined ? { maxEvaluations: o.maxEvaluations } : {}),
    onProgress: (p) => progress('search', p.message, p.evaluated, 0, p.total),
  });
  const pool = o.hardware ? found.evaluated.filter((c) => c.hardware?.fits) : [...found.evaluated];
  if (o.hardware && pool.length === 0 && found.evaluated.length > 0) {
    const reasons = new Map<string, number>();
    for (const c of found.evaluated) for (const r of c.hardware?.reasons ?? []) reasons.set(r.replace(/ of [A-Za-z_]\w*/g, ''), (reasons.get(r.replace(/ of [A-Za-z_]\w*/g, '')) ?? 0) + 1);
    const top = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([r, n]) => `${r} (${n} of ${found.evaluated.length} rules)`);
    notes.push(`no evaluated rule fits ${o.hardware.name}: ${top.join('; ')}`);
  }

  // ---- 3. successive halving
  const results = new Map<Candidate, CandidateResult[]>();
  const why = new Map<Candidate, string>();
  let trained = 0;
  let stoppedByBudget = false;
  if (task) {
    const dir = mkdtempSync(join(tmpdir(), 'eligo-find-'));
    try {
      const taken = new Set(ctx.compiled.items.map((i) => i.name));
      const order = entryOrder(pool);
      const n0 = Math.min(o.maxTrained ?? 9, order.length);
      for (const c of order.slice(n0)) why.set(c, `not among the ${n0} rules trained (ranked by alignment along the reference run)`);
      let rung = order.slice(0, n0).filter((c) => {
        if (c.credit.kind !== 'none') return true;
        why.set(c, 'updates no parameter: nothing to train');
        return false;
      });
      const eta = o.eta ?? 3;
      let updates = o.minUpdates ?? 10;
      // Seconds per update: each rule's own once it has trained, else the slowest seen so far.
      const rate = new Map<Candidate, number>();
      const maxUpdates = o.maxUpdates ?? 1000;
      for (let r = 0; r < (o.rungs ?? Infinity) && rung.length > 0 && updates <= maxUpdates; r++, updates *= eta) {
        for (const [k, c] of rung.entries()) {
          if (o.signal?.aborted) break;
          const done = results.get(c)?.at(-1)?.updates ?? 0;
          const known = rate.get(c) ?? (rate.size ? Math.max(...rate.values()) : 0);
          const est = known * (updates - done) * 1000;
          if (Date.now() + est > deadline) {
            stoppedByBudget = true;
            if (!results.has(c)) why.set(c, `the budget ran out before it was trained (about ${(est / 1000).toFixed(0)} s needed for ${updates} updates)`);
            continue;
          }
          const name = freshRuleName(taken, found.evaluated.indexOf(c));
          // The trainer runs diagonals and random feedback online only; the same approximations online give the same update.
          const trainedSpec = c.spec.schedule.kind === 'reverse' && c.spec.approximations.some((a) => a.kind === 'diagonal' || a.kind === 'random')
            ? { ...c.spec, schedule: { kind: 'online' as const } } : c.spec;
          const payload: CandidatePayload = {
            version: 1, text: `${ctx.compiled.text}\n\n${ruleText(trainedSpec, name)}\n`, model: ctx.name, rule: name, task: o.task!, updates,
            batch, seed: o.seed, learningRate, evalSamples, checkpointDir: join(dir, name),
          };
          progress('training', `rung ${r + 1}: training ${c.known ?? c.ruleName} for ${updates} updates (${k + 1} of ${rung.length})`, found.evaluated.length, trained, n0);
          try {
            const res = await trainCandidate(payload, {
              isCancelled: () => Date.now() > deadline || (o.signal?.aborted ?? false), ...(o.files ? { files: o.files } : {}), ...(paramValues.size ? { paramValues } : {}),
            });
            if (res.stopped === 'cancelled') {
              stoppedByBudget = true;
              if (!results.has(c)) why.set(c, `the budget ran out while it was training (${res.updates} of ${updates} updates)`);
              continue;
            }
            if (res.stopped === 'diverged') {
              why.set(c, res.message ?? 'training diverged');
              rung = rung.filter((x) => x !== c);
              continue;
            }
            if (!results.has(c)) trained++;
            results.set(c, [...(results.get(c) ?? []), res]);
            why.delete(c);
            rate.set(c, res.seconds / Math.max(1, res.updates - done));
            progress('training', `${c.known ?? c.ruleName}: test accuracy ${fmtAcc(res.test)} after ${res.updates} updates (${res.seconds.toFixed(1)} s)`, found.evaluated.length, trained, n0);
          } catch (e) {
            if (!(e instanceof TrainError)) throw e;
            why.set(c, `the trainer refused it: ${e.message}`);
          }
        }
        // The best third (by training accuracy, or lowest test loss for regression) goes on.
        const ranked = rung.filter((c) => results.get(c)?.at(-1)?.updates === updates)
          .sort((a, b) => score(results.get(b)!.at(-1)!) - score(results.get(a)!.at(-1)!));
        // (one survivor trains on alone, η times longer each rung, while the budget lasts)
        rung = ranked.slice(0, Math.ceil(ranked.length / eta));
        if (Date.now() >= deadline) break;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // ---- results and the front
  const discovered = new Map<Candidate, Discovered>();
  for (const c of found.evaluated) {
    const rs = results.get(c) ?? [];
    const last = rs.at(-1);
    const accuracy = last && last.test !== null && last.train !== null ? { test: last.test, train: last.train, task: last.task, updates: last.updates } : null;
    const reason = !task ? 'no --task given: nothing was trained (the front ranks by alignment with BPTT on random sequences)'
      : last && !accuracy ? `the task or the model scores no accuracy (test loss ${last.testLoss.toPrecision(3)})`
        : o.hardware && !c.hardware?.fits ? `does not fit ${o.hardware.name}` : why.get(c);
    const along = c.alignmentAlong;
    discovered.set(c, {
      ...c, accuracy, trainings: rs, ...(accuracy ? {} : { accuracyWhy: reason ?? 'not trained' }),
      alignmentOnTask: task ? { initial: along[0]!.alignment.cosine, trained: along.at(-1)!.alignment.cosine, mean: c.alignmentMean } : null,
    });
  }
  const withAcc = [...discovered.values()].filter((d) => d.accuracy !== null && (!o.hardware || d.hardware?.fits));
  let front: Discovered[];
  let frontBasis: DiscoverResult['frontBasis'];
  let frontWhy: string | undefined;
  if (withAcc.length) {
    front = accuracyFront(withAcc);
    frontBasis = 'accuracy';
  } else {
    front = alignmentFront(found.front).map((c) => discovered.get(c)!);
    frontBasis = 'alignment';
    frontWhy = !task ? 'no --task: the front is cost against alignment with BPTT on random sequences at the initial parameters'
      : `the budget was too short to train any rule (${(o.budgetMs / 1000).toFixed(0)} s): the front is cost against alignment along the reference run, not accuracy; give a longer --budget`;
    if (task) notes.push(frontWhy);
  }
  if (task && stoppedByBudget && withAcc.length) notes.push('the budget stopped the training before every rung was run: later rungs are missing for some rules');
  return {
    ...found, front, evaluated: [...discovered.values()], frontBasis, ...(frontWhy ? { frontWhy } : {}), trained, task: task?.name ?? null,
    reference: reference ? { ...reference, snapshots: reference.snapshots.map((s) => ({ label: s.label, updates: s.updates })) } : null,
    notes, elapsedMs: Date.now() - t0, stopped: found.stopped ?? (stoppedByBudget ? 'budget' : null),
  };
}

function score(r: CandidateResult): number {
  return r.train ?? -r.testLoss;
}

function fmtAcc(a: number | null): string {
  return a === null ? '—' : `${(100 * a).toFixed(1)} %`;
}

/**
 * The order rules enter training: the alignment front first (best mean
 * alignment first), then the named rules, then the rest by alignment —
 * cheap, aligned and known rules get the first rung.
 */
export function entryOrder(pool: readonly Candidate[]): Candidate[] {
  const front = alignmentFront(pool);
  const inFront = new Set(front);
  const known = pool.filter((c) => !inFront.has(c) && c.known !== null);
  const rest = pool.filter((c) => !inFront.has(c) && c.known === null).sort((a, b) => b.alignmentMean - a.alignmentMean);
  return [...front, ...known, ...rest];
}

/** Pareto front of (multiplications per step, memory) against test accuracy; best accuracy first. */
export function accuracyFront<C extends { cost: Candidate['cost']; accuracy: Accuracy | null }>(cands: readonly C[]): C[] {
  const acc = (c: C): number => c.accuracy?.test ?? -Infinity;
  const dominates = (a: C, b: C): boolean => {
    const noWorse = a.cost.multiplicationsPerStep <= b.cost.multiplicationsPerStep && a.cost.memoryBytes <= b.cost.memoryBytes && acc(a) >= acc(b);
    const better = a.cost.multiplicationsPerStep < b.cost.multiplicationsPerStep || a.cost.memoryBytes < b.cost.memoryBytes || acc(a) > acc(b);
    return noWorse && better;
  };
  return cands.filter((c) => !cands.some((d) => d !== c && dominates(d, c)))
    .sort((a, b) => acc(b) - acc(a) || a.cost.multiplicationsPerStep - b.cost.multiplicationsPerStep);
}
