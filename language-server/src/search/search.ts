// `search(graph, options)`: find an elimination order for a graph's Jacobian
// that beats forward, reverse and Markowitz on an objective, within a time
// budget, on both cores, cancellable. The one entry point the CLI, the
// language server and the benchmark use.
//
// Every number in the result comes from ad/'s cost model (`costOf`) on the
// validated order, and the `time` objective and the `seconds` fields from
// measured numeric eliminations (measure.ts).

import { cpus } from 'node:os';
import { costOf } from '../ad/costs.js';
import { eliminationProblem } from '../ad/state.js';
import { markowitzOrder, validateOrder } from '../ad/orders.js';
import type { Graph, Tensor } from '../graph/types.js';
import type { Candidate, Progress } from './context.js';
import { measureOrder, numericGraph, MeasureError } from './measure.js';
import { orderToNames } from './names.js';
import { checkBudget, formatBytes, Objective, parseObjective, SearchOptionError, type ObjectiveSpec } from './objective.js';
import { METHODS, planFor, type Job, type JobResult, type Method } from './plan.js';
import { runPool, type PoolOptions, type PoolResult } from './pool.js';

export { SearchOptionError } from './objective.js';
export type { Method } from './plan.js';

export interface SearchOptions {
  /** Default: multiplications. A string is parsed (`mults`, `memory`, `time`, `mults+0.001*memory`). */
  readonly objective?: ObjectiveSpec | string;
  /** Hard limit on peak memory in bytes (also settable in the objective spec). */
  readonly limitBytes?: number;
  /** Default 'all'. */
  readonly method?: Method;
  /** Wall-clock budget in ms (default 10 s); includes timing the orders. */
  readonly budgetMs?: number;
  readonly seed?: number;
  /** Stop each thread after this many complete orders: with it, results do not depend on the machine's speed. */
  readonly maxEvaluations?: number;
  /** Worker threads (default: the number of cores, at most 2); 0 searches in the calling thread. */
  readonly threads?: number;
  /** Independent restarts (each a plan with its own seed; default: one per thread). */
  readonly restarts?: number;
  /**
   * Runs the restarts elsewhere (the job queue: jobs/queue/runs.ts) instead of in this process's
   * threads; the same Jobs, the same engine (plan.ts runJob), the same result for an evaluation budget.
   */
  readonly runJobs?: (jobs: readonly Job[], o: PoolOptions) => Promise<PoolResult>;
  readonly signal?: AbortSignal;
  /** Called at most every 100 ms while searching. */
  readonly onProgress?: (p: SearchProgress) => void;
  /** Agent file for MCTS (default: the shipped network; null: the untrained prior). */
  readonly agentPath?: string | null;
  /**
   * Self-play training of the network between MCTS episodes (default off: within a minute it
   * helped on some graphs and hurt on others, see docs/search.md).
   */
  readonly train?: boolean;
  /** Time the best order and the baselines by numeric elimination (default true; always for objective time). */
  readonly measure?: boolean;
  /** The point at which to time numeric eliminations (default: seeded values). */
  readonly leaves?: ReadonlyMap<number, Tensor>;
  readonly exactMax?: number;
  readonly simulationsPerMove?: number;
  /** Worker module override (tests). */
  readonly workerEntry?: string;
}

export interface SearchProgress {
  readonly bestScore: number;
  readonly bestMultiplications: number;
  readonly bestPeakMemoryBytes: number;
  readonly bestMethod: string;
  readonly evaluations: number;
  readonly simulations: number;
  readonly elapsedMs: number;
  readonly phases: string[];
}

export interface OrderReport {
  readonly method: string;
  /** Vertex ids. */
  readonly order: readonly number[];
  /** Stable vertex names (names.ts). */
  readonly names: readonly string[];
  readonly multiplications: number;
  readonly additions: number;
  readonly peakMemoryBytes: number;
  /** Median seconds of the numeric elimination, when measured. */
  readonly seconds: number | null;
  /** The objective's score (lower is better). */
  readonly score: number;
  readonly feasible: boolean;
}

export interface SearchResult {
  readonly item: string;
  readonly objective: ObjectiveSpec;
  readonly objectiveText: string;
  readonly method: Method;
  readonly best: OrderReport;
  readonly baselines: { readonly forward: OrderReport; readonly reverse: OrderReport; readonly markowitz: OrderReport };
  /** Best order of each method family (anneal, beam, mcts, exact, heuristics, …). */
  readonly methods: Readonly<
    Record<string, { readonly method: string; readonly multiplications: number; readonly peakMemoryBytes: number; readonly score: number }>
  >;
  readonly evaluations: number;
  readonly simulations: number;
  readonly elapsedMs: number;
  readonly threads: number;
  readonly stoppedBy: 'budget' | 'cancel' | 'evaluations';
  readonly exact?: JobResult['exact'];
  readonly episodes: number;
  /** Things the user should know (network fallback, threads, timing point, …). */
  readonly notes: readonly string[];
  /** Set when no order found meets the memory limit. */
  readonly infeasible?: { readonly limitBytes: number; readonly smallestPeakBytes: number; readonly lowerBoundBytes: number; readonly message: string };
}

export const DEFAULT_BUDGET_MS = 10_000;

/** Resolves and checks the options that do not need a graph. */
export function resolveObjective(o: Pick<SearchOptions, 'objective' | 'limitBytes'>): ObjectiveSpec {
  const spec = typeof o.objective === 'string' ? parseObjective(o.objective) : (o.objective ?? { kind: 'multiplications' as const });
  const withLimit: ObjectiveSpec = o.limitBytes !== undefined ? { ...spec, limitBytes: o.limitBytes } : spec;
  void new Objective(withLimit); // validates
  return withLimit;
}

/** Why a memory limit cannot be met by any order, or undefined. */
export function impossibleLimit(graph: Graph, limitBytes: number): { lowerBoundBytes: number; message: string } | undefined {
  const initial = eliminationProblem(graph).initialBytes;
  if (limitBytes >= initial) return undefined;
  return {
    lowerBoundBytes: initial,
    message: `no elimination order can stay within ${formatBytes(limitBytes)}: the edge Jacobians of '${graph.name}' take ${formatBytes(initial)} before any elimination, so ${formatBytes(initial)} is the least any order needs`,
  };
}

export async function search(graph: Graph, options: SearchOptions = {}): Promise<SearchResult> {
  const t0 = Date.now();
  const spec = resolveObjective(options);
  const objective = new Objective(spec);
  const method = options.method ?? 'all';
  if (!METHODS.includes(method)) throw new SearchOptionError(`unknown method '${String(method)}' (${METHODS.join(', ')})`);
  const budgetMs = checkBudget(options.budgetMs ?? DEFAULT_BUDGET_MS);
  if (options.maxEvaluations !== undefined && !(Number.isInteger(options.maxEvaluations) && options.maxEvaluations > 0)) {
    throw new SearchOptionError(`maxEvaluations must be a positive integer, got ${options.maxEvaluations}`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32) throw new SearchOptionError(`seed must be an integer in 0 … 2^32, got ${seed}`);
  const problem = eliminationProblem(graph);
  const notes: string[] = [];
  const measure = objective.kind === 'time' || (options.measure ?? true);
  // Timing takes a slice of the budget at the end.
  const reserve = measure ? Math.min(0.1 * budgetMs, 3000) : 0;
  const deadline = t0 + budgetMs - reserve;

  const requested = options.threads ?? Math.min(2, Math.max(1, cpus().length));
  const threads = method === 'heuristics' || method === 'exact' ? Math.min(1, requested) : requested;
  if (options.restarts !== undefined && !(Number.isInteger(options.restarts) && options.restarts >= 1 && options.restarts <= 10_000)) {
    throw new SearchOptionError(`restarts must be an integer between 1 and 10000, got ${options.restarts}`);
  }
  const nJobs = options.restarts ?? Math.max(1, threads);
  const train = options.train ?? false;
  const jobs: Job[] = Array.from({ length: nJobs }, (_, k) => ({
    graph,
    objective: spec,
    plan: planFor(method, k, nJobs),
    seed: seed + 7919 * k,
    budgetMs: budgetMs - reserve,
    ...(options.maxEvaluations !== undefined ? { maxEvaluations: options.maxEvaluations } : {}),
    ...(options.agentPath !== undefined ? { agentPath: options.agentPath } : {}),
    train,
    ...(options.exactMax !== undefined ? { exactMax: options.exactMax } : {}),
    ...(options.simulationsPerMove !== undefined ? { simulationsPerMove: options.simulationsPerMove } : {}),
  }));
  let lastReport = 0;
  const pool = await (options.runJobs ?? runPool)(jobs, {
    threads,
    deadline,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.workerEntry ? { workerEntry: options.workerEntry } : {}),
    onProgress: (ps, best) => {
      if (!options.onProgress) return;
      const now = Date.now();
      if (now - lastReport < 100) return;
      lastReport = now;
      const live = ps.filter((p): p is Progress => p !== null);
      options.onProgress({
        bestScore: best?.score ?? Infinity,
        bestMultiplications: best?.multiplications ?? Infinity,
        bestPeakMemoryBytes: best?.peakMemoryBytes ?? Infinity,
        bestMethod: best?.method ?? '',
        evaluations: live.reduce((a, p) => a + p.evaluations, 0),
        simulations: live.reduce((a, p) => a + p.simulations, 0),
        elapsedMs: now - t0,
        phases: live.map((p) => p.phase),
      });
    },
  });
  notes.push(...pool.notes);
  for (const e of pool.errors) notes.push(`search thread error: ${e}`);

  // Candidates: the best of every thread, their pools, and the classic orders.
  const fwd = [...problem.eliminable];
  const classic = { forward: fwd, reverse: fwd.slice().reverse(), markowitz: markowitzOrder(graph) };
  const report = (methodName: string, order: readonly number[]): Omit<OrderReport, 'seconds'> => {
    validateOrder(graph, order);
    const c = costOf(graph, order);
    return {
      method: methodName,
      order: [...order],
      names: orderToNames(graph, order),
      multiplications: c.multiplications,
      additions: c.additions,
      peakMemoryBytes: c.peakMemoryBytes,
      score: objective.score(c.multiplications, c.peakMemoryBytes, c.additions),
      feasible: objective.feasible(c.peakMemoryBytes),
    };
  };
  const cands: Omit<OrderReport, 'seconds'>[] = [];
  const seen = new Set<string>();
  const addCand = (c: Candidate | null): void => {
    if (!c) return;
    const k = c.order.join(',');
    if (seen.has(k)) return;
    seen.add(k);
    cands.push(report(c.method, c.order));
  };
  for (const b of pool.bests) addCand(b);
  for (const r of pool.results) for (const c of r?.pool ?? []) addCand(c);
  const base = {
    forward: report('forward', classic.forward),
    reverse: report('reverse', classic.reverse),
    markowitz: report('markowitz', classic.markowitz),
  };
  for (const b of Object.values(base)) {
    const k = b.order.join(',');
    if (!seen.has(k)) {
      seen.add(k);
      cands.push(b);
    }
  }
  cands.sort((a, b) => a.score - b.score);

  // Timing.
  const timed = new Map<string, number>();
  if (measure) {
    try {
      const lin = numericGraph(graph, options.leaves);
      const until = t0 + budgetMs;
      const timeOf = (o: readonly number[]): number | null => {
        const k = o.join(',');
        if (timed.has(k)) return timed.get(k)!;
        if (Date.now() > until && timed.size >= 4) return null;
        const t = measureOrder(lin, o, 9, Math.max(50, Math.min(1000, (until - Date.now()) / 8))).seconds;
        timed.set(k, t);
        return t;
      };
      // Warm the numeric code up first, so the first order timed is not the slowest.
      measureOrder(lin, base.reverse.order, 3, 200);
      for (const b of Object.values(base)) timeOf(b.order);
      const pool = objective.kind === 'time' ? cands.filter((c) => c.feasible).slice(0, 8) : cands.slice(0, 1);
      for (const c of pool) timeOf(c.order);
      if (!options.leaves) notes.push('timings are at seeded input values (give a point with --inputs or a # @eval comment)');
    } catch (e) {
      if (!(e instanceof MeasureError)) throw e;
      if (objective.kind === 'time') throw new SearchOptionError(e.message);
      notes.push(e.message);
    }
  }
  const withSeconds = (r: Omit<OrderReport, 'seconds'>): OrderReport => ({ ...r, seconds: timed.get(r.order.join(',')) ?? null });
  let best: OrderReport;
  if (objective.kind === 'time') {
    const timedCands = cands.filter((c) => timed.has(c.order.join(','))).map(withSeconds);
    const feasible = timedCands.filter((c) => c.feasible);
    const pickFrom = feasible.length ? feasible : timedCands;
    best = pickFrom.reduce((a, b) => ((b.seconds ?? Infinity) < (a.seconds ?? Infinity) ? b : a));
  } else {
    best = withSeconds(cands[0]!);
  }
  const methods: Record<string, { method: string; multiplications: number; peakMemoryBytes: number; score: number }> = {};
  for (const r of pool.results) {
    for (const [fam, c] of Object.entries(r?.families ?? {})) {
      if (!methods[fam] || c.score < methods[fam].score)
        methods[fam] = { method: c.method, multiplications: c.multiplications, peakMemoryBytes: c.peakMemoryBytes, score: c.score };
    }
  }
  const exact = pool.results.find((r) => r?.exact)?.exact;
  let infeasible: SearchResult['infeasible'];
  if (!best.feasible) {
    const lim = objective.limitBytes;
    const imp = impossibleLimit(graph, lim);
    const smallest = Math.min(...cands.map((c) => c.peakMemoryBytes));
    const exactNote = exact?.status === 'optimal' && objective.kind === 'memory' ? ' (exact: no order needs less)' : '';
    infeasible = {
      limitBytes: lim,
      smallestPeakBytes: smallest,
      lowerBoundBytes: imp?.lowerBoundBytes ?? problem.initialBytes,
      message: imp
        ? `${imp.message}; the smallest peak memory found is ${formatBytes(smallest)}${exactNote}`
        : `no order found within the budget stays within ${formatBytes(lim)}; the smallest peak memory found is ${formatBytes(smallest)}${exactNote} (search with --objective memory for the least)`,
    };
  }
  const stoppedBy = pool.cancelled
    ? 'cancel'
    : options.maxEvaluations !== undefined && pool.results.every((r) => r && r.evaluations >= options.maxEvaluations!)
      ? 'evaluations'
      : 'budget';
  return {
    item: graph.name,
    objective: spec,
    objectiveText: objective.describe(),
    method,
    best,
    baselines: { forward: withSeconds(base.forward), reverse: withSeconds(base.reverse), markowitz: withSeconds(base.markowitz) },
    methods,
    evaluations: pool.results.reduce((a, r) => a + (r?.evaluations ?? 0), 0),
    simulations: pool.results.reduce((a, r) => a + (r?.simulations ?? 0), 0),
    elapsedMs: Date.now() - t0,
    threads: pool.threads,
    stoppedBy,
    ...(exact ? { exact } : {}),
    episodes: pool.results.reduce((a, r) => a + (r?.episodes ?? 0), 0),
    notes,
    ...(infeasible ? { infeasible } : {}),
  };
}
