// What each search thread runs: a plan of methods, each until a fraction of
// the budget, on one search context. `all` splits the methods over the
// threads; a single method runs on every thread with different seeds.

import type { Graph } from '../graph/types.js';
import type { Candidate, Progress } from './context.js';
import { SearchContext } from './context.js';
import { anneal } from './anneal.js';
import { beamSearch } from './beam.js';
import { exactSearch, exactSize, EXACT_DEFAULT_MAX, type ExactResult } from './exact.js';
import { runHeuristics } from './heuristics.js';
import { mcts, type Episode, type Sample } from './mcts.js';
import { cloneWeights, initialWeights, isUntrained, loadAgent, type Weights } from './network.js';
import { Objective, type ObjectiveSpec } from './objective.js';

export type Method = 'heuristics' | 'anneal' | 'beam' | 'exact' | 'mcts' | 'all';
export const METHODS: readonly Method[] = ['mcts', 'anneal', 'beam', 'exact', 'heuristics', 'all'];

export type StepKind = 'heuristics' | 'anneal' | 'beam' | 'exact' | 'mcts';

export interface PlanStep {
  readonly kind: StepKind;
  /** Run until this fraction of the thread's budget is used. */
  readonly until: number;
}

/** The plan of thread `index` of `threads` for a method. */
export function planFor(method: Method, index: number, threads: number): PlanStep[] {
  const h: PlanStep = { kind: 'heuristics', until: 0 };
  switch (method) {
    case 'heuristics':
      return [{ kind: 'heuristics', until: 0.5 }];
    case 'anneal':
      return [h, { kind: 'anneal', until: 1 }];
    case 'beam':
      return [h, { kind: 'beam', until: 1 }];
    case 'exact':
      return [h, { kind: 'exact', until: 1 }];
    case 'mcts':
      return [h, { kind: 'mcts', until: 1 }];
    case 'all':
      if (threads === 1) return [h, { kind: 'exact', until: 0.3 }, { kind: 'mcts', until: 0.5 }, { kind: 'beam', until: 0.6 }, { kind: 'anneal', until: 1 }];
      return index % 2 === 0
        ? [h, { kind: 'exact', until: 0.4 }, { kind: 'beam', until: 0.5 }, { kind: 'anneal', until: 1 }]
        : [h, { kind: 'mcts', until: 0.5 }, { kind: 'anneal', until: 1 }];
  }
}

export interface Job {
  readonly graph: Graph;
  readonly objective: ObjectiveSpec;
  readonly plan: readonly PlanStep[];
  readonly seed: number;
  readonly budgetMs: number;
  readonly maxEvaluations?: number;
  /** Agent file (undefined: the shipped one; null: the untrained prior). */
  readonly agentPath?: string | null;
  /** The network's weights themselves (a job from the queue carries them: workers read no file named by a job); over agentPath. */
  readonly agentWeights?: Weights;
  /** Train the network on the search's own episodes (needs TensorFlow.js). */
  readonly train?: boolean;
  /** Exact search: largest number of vertices to attempt. */
  readonly exactMax?: number;
  /** Fixed MCTS simulations per move (default adapts to the budget). */
  readonly simulationsPerMove?: number;
}

export interface JobResult {
  readonly best: Candidate | null;
  readonly families: Record<string, Candidate>;
  readonly evaluations: number;
  readonly simulations: number;
  readonly elapsedMs: number;
  readonly exact?: { readonly status: ExactResult['status']; readonly vertices: number; readonly message: string };
  readonly episodes: number;
  /** Messages for the user (network fallback, training backend, …). */
  readonly notes: string[];
  /** A few of the best distinct orders (for timing candidates). */
  readonly pool: Candidate[];
}

export interface JobHooks {
  readonly stopFlag?: Int32Array;
  readonly signal?: AbortSignal;
  readonly onImprove?: (c: Candidate) => void;
  readonly onProgress?: (p: Progress) => void;
  readonly onNote?: (note: string) => void;
  /** Creates a trainer for self-play learning (plan.ts does not load TensorFlow.js itself). */
  readonly trainer?: (w: Weights) => Promise<EpisodeTrainer | { error: string }>;
}

/** Learns from episodes between them (agent.ts through selfplay.ts). */
export interface EpisodeTrainer {
  readonly description: string;
  learn(samples: readonly Sample[], stop: () => boolean): void;
  dispose(): void;
}

/** Runs a job's plan in this thread. */
export async function runJob(job: Job, hooks: JobHooks = {}): Promise<JobResult> {
  const notes: string[] = [];
  const note = (s: string): void => {
    notes.push(s);
    hooks.onNote?.(s);
  };
  const pool: Candidate[] = [];
  const objective = new Objective(job.objective);
  const ctx = new SearchContext(job.graph, objective, {
    seed: job.seed,
    budgetMs: job.budgetMs,
    ...(job.maxEvaluations !== undefined ? { maxEvaluations: job.maxEvaluations } : {}),
    ...(hooks.stopFlag ? { stopFlag: hooks.stopFlag } : {}),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    onImprove: (c) => {
      pool.push(c);
      if (pool.length > 16) pool.shift();
      hooks.onImprove?.(c);
    },
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
  });
  let exact: JobResult['exact'];
  let episodes = 0;
  let starts: number[][] = [];
  for (const step of job.plan) {
    if (ctx.checkNow()) break;
    switch (step.kind) {
      case 'heuristics': {
        const found = runHeuristics(ctx, step.until);
        starts = found.slice(0, 3).map((f) => f.order);
        break;
      }
      case 'exact': {
        const max = job.exactMax ?? EXACT_DEFAULT_MAX;
        const size = exactSize(ctx);
        if (size > max) {
          exact = {
            status: 'too-large',
            vertices: size,
            message: `exact search is for graphs with at most ${max} eliminable vertices after safe pre-eliminations; this one has ${size}`,
          };
          break;
        }
        const deadline = ctx.deadline;
        ctx.deadline = Math.min(deadline, ctx.started + step.until * (deadline - ctx.started));
        const r = exactSearch(ctx, { maxVertices: max, ...(ctx.best ? { upperBound: ctx.best.score } : {}) });
        ctx.deadline = deadline;
        exact = { status: r.status, vertices: r.vertices, message: r.message };
        if (r.status === 'optimal' && r.order === null && ctx.best) {
          // Nothing beats the upper bound: the best known order is optimal.
          exact = { status: 'optimal', vertices: r.vertices, message: `${r.message}: the order found by ${ctx.best.method} is optimal` };
          ctx.offer(
            ctx.best.order,
            (() => {
              const s = ctx.state();
              s.run(ctx.best.order);
              return s;
            })(),
            'exact',
          );
        }
        break;
      }
      case 'beam':
        beamSearch(ctx, { untilFraction: step.until });
        break;
      case 'anneal': {
        const st = ctx.best ? [ctx.best.order, ...starts] : starts;
        anneal(ctx, { starts: st.length ? st : [[...ctx.problem.eliminable]], untilFraction: step.until });
        break;
      }
      case 'mcts': {
        const agent = job.agentWeights
          ? { weights: job.agentWeights, source: 'file' as const, message: 'the network sent with the job' }
          : job.agentPath === null
            ? { weights: initialWeights(), source: 'prior' as const, message: 'the untrained prior (fewest multiplications first)' }
            : loadAgent(job.agentPath);
        if (agent.source === 'prior' && job.agentPath !== null) note(agent.message);
        const weights = cloneWeights(agent.weights);
        let trainer: EpisodeTrainer | null = null;
        if (job.train && hooks.trainer) {
          const t = await hooks.trainer(weights);
          if ('error' in t) note(`self-play training is off: ${t.error}`);
          else trainer = t;
        }
        if (trainer) note(`self-play training: ${trainer.description}`);
        const eps = mcts(ctx, {
          weights,
          untilFraction: step.until,
          valueWeight: isUntrained(weights) ? 0 : 0.25,
          ...(job.simulationsPerMove !== undefined ? { simulationsPerMove: job.simulationsPerMove } : {}),
          ...(trainer ? { onEpisode: (e: Episode) => trainer.learn(e.samples, () => ctx.checkNow()) } : {}),
        });
        episodes += eps.length;
        trainer?.dispose();
        break;
      }
    }
  }
  const families: Record<string, Candidate> = {};
  for (const [k, v] of ctx.familyBest) families[k] = v;
  return {
    best: ctx.best,
    families,
    evaluations: ctx.evaluations,
    simulations: ctx.simulations,
    elapsedMs: ctx.elapsedMs,
    ...(exact ? { exact } : {}),
    episodes,
    notes,
    pool: distinct(pool),
  };
}

function distinct(cs: readonly Candidate[]): Candidate[] {
  const seen = new Set<string>();
  const out: Candidate[] = [];
  for (const c of [...cs].sort((a, b) => a.score - b.score)) {
    const k = c.order.join(',');
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(c);
  }
  return out.slice(0, 8);
}
