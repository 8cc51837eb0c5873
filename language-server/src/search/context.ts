// The shared plumbing of every search method: the problem, the objective, a
// seeded random stream, the deadline and the stop flag, and the best order
// found so far. Methods offer complete orders; the context keeps the best and
// reports progress.

import type { Graph } from '../graph/types.js';
import { Rng } from '../graph/random.js';
import { eliminationProblem, EliminationState, type EliminationProblem } from '../ad/state.js';
import { Objective } from './objective.js';

export interface Candidate {
  /** The method that found it ('anneal', 'beam', 'mcts', 'exact', 'markowitz-lookahead', …). */
  readonly method: string;
  readonly order: readonly number[];
  readonly multiplications: number;
  readonly additions: number;
  readonly peakMemoryBytes: number;
  readonly score: number;
  readonly feasible: boolean;
}

export interface Progress {
  /** Best score so far (the objective's unit), Infinity before the first order. */
  readonly bestScore: number;
  readonly bestMultiplications: number;
  readonly bestPeakMemoryBytes: number;
  readonly bestMethod: string;
  /** Complete orders scored. */
  readonly evaluations: number;
  /** Tree-search simulations (MCTS). */
  readonly simulations: number;
  /** Milliseconds since the search started. */
  readonly elapsedMs: number;
  /** What runs now. */
  readonly phase: string;
}

export interface ContextOptions {
  readonly seed?: number;
  /** Wall-clock budget in ms from now. */
  readonly budgetMs: number;
  /** Stop after this many complete orders (deterministic runs), summed over methods. */
  readonly maxEvaluations?: number;
  /** Set to nonzero (Atomics) by another thread to stop. */
  readonly stopFlag?: Int32Array;
  readonly signal?: AbortSignal;
  readonly onImprove?: (c: Candidate) => void;
  readonly onProgress?: (p: Progress) => void;
  /** Minimum ms between progress reports (default 100). */
  readonly progressEveryMs?: number;
}

export class SearchContext {
  readonly problem: EliminationProblem;
  readonly objective: Objective;
  readonly rng: Rng;
  readonly started = performance.now();
  deadline: number;
  best: Candidate | null = null;
  /** Best order per method family (methodFamily), for comparisons. */
  readonly familyBest = new Map<string, Candidate>();
  evaluations = 0;
  simulations = 0;
  phase = '';
  private checks = 0;
  private halted = false;
  private lastProgress = 0;
  private readonly opts: ContextOptions;

  constructor(
    readonly graph: Graph,
    objective: Objective,
    opts: ContextOptions,
  ) {
    this.problem = eliminationProblem(graph);
    this.objective = objective;
    this.rng = new Rng(opts.seed ?? 1);
    this.deadline = this.started + opts.budgetMs;
    this.opts = opts;
  }

  /** A fresh state before any elimination. */
  state(): EliminationState {
    return this.problem.initial.clone();
  }

  /** Milliseconds left before the deadline (≥ 0). */
  get remainingMs(): number {
    return Math.max(0, this.deadline - performance.now());
  }

  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** True once the budget is spent or a stop was asked for. Cheap: the clock is read every 16th call. */
  stopped(): boolean {
    if (this.halted) return true;
    if ((++this.checks & 15) !== 0) return false;
    return this.checkNow();
  }

  /** As stopped(), reading the clock now. */
  checkNow(): boolean {
    if (this.halted) return true;
    const now = performance.now();
    if (
      now >= this.deadline ||
      (this.opts.stopFlag !== undefined && Atomics.load(this.opts.stopFlag, 0) !== 0) ||
      this.opts.signal?.aborted ||
      (this.opts.maxEvaluations !== undefined && this.evaluations >= this.opts.maxEvaluations)
    ) {
      this.halted = true;
      return true;
    }
    if (this.opts.onProgress && now - this.lastProgress >= (this.opts.progressEveryMs ?? 100)) {
      this.lastProgress = now;
      this.opts.onProgress(this.progress());
    }
    return false;
  }

  /** True when the evaluation budget (not the clock) is the limit: methods then avoid time-based choices. */
  get deterministic(): boolean {
    return this.opts.maxEvaluations !== undefined;
  }

  /** Fraction of the budget used, in [0, 1] (by evaluations when that is the limit). */
  fractionUsed(): number {
    if (this.opts.maxEvaluations !== undefined) return Math.min(1, this.evaluations / this.opts.maxEvaluations);
    return Math.min(1, (performance.now() - this.started) / Math.max(1, this.deadline - this.started));
  }

  progress(): Progress {
    const b = this.best;
    return {
      bestScore: b?.score ?? Infinity,
      bestMultiplications: b?.multiplications ?? Infinity,
      bestPeakMemoryBytes: b?.peakMemoryBytes ?? Infinity,
      bestMethod: b?.method ?? '',
      evaluations: this.evaluations,
      simulations: this.simulations,
      elapsedMs: this.elapsedMs,
      phase: this.phase,
    };
  }

  /** Score of a complete state. */
  scoreOf(s: EliminationState): number {
    return this.objective.score(s.multiplications, s.peakBytes, s.additions);
  }

  /**
   * Offers a complete order whose elimination ended in state `s` (the state's
   * counters are the order's cost). Keeps it when it beats the best (ties:
   * the first offered stays). Returns true when it became the best.
   */
  offer(order: ArrayLike<number>, s: EliminationState, method: string): boolean {
    const score = this.scoreOf(s);
    const fam = methodFamily(method);
    const fb = this.familyBest.get(fam);
    const make = (): Candidate => ({
      method,
      order: Array.from(order),
      multiplications: s.multiplications,
      additions: s.additions,
      peakMemoryBytes: s.peakBytes,
      score,
      feasible: this.objective.feasible(s.peakBytes),
    });
    let c: Candidate | null = null;
    if (fb === undefined || score < fb.score) this.familyBest.set(fam, (c = make()));
    if (this.best !== null && !(score < this.best.score)) return false;
    this.best = c ?? make();
    this.opts.onImprove?.(this.best);
    return true;
  }

  /** Scores a complete order from scratch into `scratch` (counts one evaluation) and offers it. */
  evaluate(order: ArrayLike<number>, scratch: EliminationState, method: string): number {
    scratch.run(order);
    this.evaluations++;
    this.offer(order, scratch, method);
    return this.scoreOf(scratch);
  }

  /** Stops every method of this context at their next check. */
  halt(): void {
    this.halted = true;
  }
}

/** The family a method name belongs to: 'anneal', 'beam', 'mcts', 'exact', 'forward', 'reverse', else 'heuristics'. */
export function methodFamily(method: string): string {
  const head = method.split(/[-+]/)[0]!;
  if (['anneal', 'beam', 'mcts', 'exact', 'forward', 'reverse'].includes(head)) return head;
  return method === 'markowitz' ? 'markowitz' : 'heuristics';
}
