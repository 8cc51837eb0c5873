// The order search on the AD benchmark tasks (vertex-elimination.md §2): for
// each task and budget, the best multiplication count of each method, its
// ratio to min(forward, reverse, Markowitz), MCTS simulations per second,
// complete orders per second, and the gap to the exact optimum where the
// graph is small enough for it.
//
//   npm run bench -- search                      short budgets (2 s), bench/results/search-quick.json
//   npx tsx bench/search.ts --budgets 10s,60s    the full run, bench/results/search.json
//   npx tsx bench/search.ts --tasks MLP --exact-max 25   one task again (rows merged), exact up to 25 vertices
//
// Every search runs on both cores (two worker threads), seed 1.

import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { compile, graphOf } from '../language-server/src/compile.js';
import { SearchContext } from '../language-server/src/search/context.js';
import { exactSearch, exactSize, EXACT_DEFAULT_MAX } from '../language-server/src/search/exact.js';
import { runHeuristics } from '../language-server/src/search/heuristics.js';
import { initialWeights, loadAgent, type Weights } from '../language-server/src/search/network.js';
import { EliminationState } from '../language-server/src/ad/state.js';
import { mcts, policyRollout } from '../language-server/src/search/mcts.js';
import { Objective, parseBudget } from '../language-server/src/search/objective.js';
import { search, type Method } from '../language-server/src/search/search.js';
import { writeResult } from './util.js';

/** The AD benchmark tasks: file and item (black_scholes_grad is the reference's BlackScholes_Jacobian). */
export const TASKS: readonly { readonly file: string; readonly item: string; readonly label: string }[] = [
  { file: 'roeflux_1d', item: 'roeflux_1d', label: 'RoeFlux_1d' },
  { file: 'roeflux_3d', item: 'roeflux_3d', label: 'RoeFlux_3d' },
  { file: 'robot_arm', item: 'robot_arm', label: 'RobotArm_6DOF' },
  { file: 'heart_dipole', item: 'heart_dipole', label: 'HumanHeartDipole' },
  { file: 'propane', item: 'propane', label: 'PropaneCombustion' },
  { file: 'black_scholes', item: 'black_scholes_grad', label: 'BlackScholes_Jacobian' },
  { file: 'random_f', item: 'random_f', label: 'f' },
  { file: 'random_g', item: 'random_g', label: 'g' },
  { file: 'mlp', item: 'mlp', label: 'MLP' },
  { file: 'transformer', item: 'transformer', label: 'Transformer' },
];

const METHODS: readonly Method[] = ['all', 'anneal', 'mcts', 'beam'];

export interface SearchBenchRow {
  readonly task: string;
  readonly item: string;
  readonly eliminable: number;
  readonly budgetSeconds: number;
  readonly forward: number;
  readonly reverse: number;
  readonly markowitz: number;
  readonly bestClassic: number;
  /** Best multiplications per method (each method ran alone with the whole budget, except 'heuristics', which every run computes first). */
  readonly methods: Record<string, number>;
  /** Best / bestClassic per method. */
  readonly ratios: Record<string, number>;
  readonly best: number;
  readonly bestMethod: string;
  readonly improvement: number;
  readonly mctsSimulationsPerSecond: number;
  readonly mctsEpisodes: number;
  readonly ordersPerSecond: Record<string, number>;
  /** Exact optimum and the best found's gap to it, where computable. */
  readonly exact: { readonly status: string; readonly vertices: number; readonly optimum?: number; readonly gap?: number; readonly message: string };
  /** Load average (1 min) of the shared machine when the row was measured. */
  readonly load: number;
}

export interface BenchOptions {
  /** Only these tasks (labels); their rows replace the same tasks' rows in an existing results file. */
  readonly tasks?: readonly string[];
  /** Largest graph (eliminable vertices after safe pre-eliminations) to solve exactly (default 22). */
  readonly exactMax?: number;
}

export async function benchSearch(budgetsMs: readonly number[] = [2000], out = 'search-quick', o: BenchOptions = {}): Promise<SearchBenchRow[]> {
  const rows: SearchBenchRow[] = [];
  const loadBefore = loadavg();
  const agent = loadAgent();
  console.log(`search benchmark: budgets ${budgetsMs.map((b) => `${b / 1000} s`).join(', ')}; network: ${agent.message}`);
  for (const task of TASKS.filter((t) => !o.tasks || o.tasks.includes(t.label))) {
    const c = compile(readFileSync(join(__dirname, '..', 'examples', `${task.file}.eligo`), 'utf8'));
    const item = c.items.find((i) => i.name === task.item);
    if (!item) throw new Error(`${task.file}.eligo has no item ${task.item}`);
    const graph = graphOf(c, item);
    // Exact optimum where the graph is small enough (once per task).
    const ectx = new SearchContext(graph, new Objective({ kind: 'multiplications' }), { budgetMs: 900_000 });
    const size = exactSize(ectx);
    const exactMax = o.exactMax ?? EXACT_DEFAULT_MAX;
    let exact: SearchBenchRow['exact'] = {
      status: 'too-large',
      vertices: size,
      message: `${size} eliminable vertices after safe pre-eliminations (exact search was run up to ${exactMax})`,
    };
    if (size <= exactMax) {
      const h = runHeuristics(ectx);
      const t0 = Date.now();
      // The best heuristic bounds the search from above (ties kept, so the optimum is always found).
      const r = exactSearch(ectx, { upperBound: h[0]!.score + 1e-6, maxVertices: exactMax });
      exact = {
        status: r.status,
        vertices: r.vertices,
        message: `${r.message} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
        ...(r.status === 'optimal' ? { optimum: ectx.best!.multiplications } : {}),
      };
    }
    for (const budgetMs of budgetsMs) {
      const methods: Record<string, number> = {};
      const ordersPerSecond: Record<string, number> = {};
      let sims = 0;
      let simSeconds = 0;
      let episodes = 0;
      let base = { forward: 0, reverse: 0, markowitz: 0 };
      let best = Infinity;
      let bestMethod = '';
      for (const method of METHODS) {
        const r = await search(graph, { method, budgetMs, seed: 1, threads: 2, measure: false });
        base = { forward: r.baselines.forward.multiplications, reverse: r.baselines.reverse.multiplications, markowitz: r.baselines.markowitz.multiplications };
        methods[method] = r.best.multiplications;
        const h = r.methods.heuristics?.multiplications;
        if (h !== undefined) methods.heuristics = Math.min(methods.heuristics ?? Infinity, h);
        ordersPerSecond[method] = Math.round(r.evaluations / (r.elapsedMs / 1000));
        if (method === 'mcts') {
          sims = r.simulations;
          simSeconds = r.elapsedMs / 1000;
          episodes = r.episodes;
        }
        if (r.best.multiplications < best) {
          best = r.best.multiplications;
          bestMethod = method === 'all' ? `all (${r.best.method})` : method;
        }
      }
      const bestClassic = Math.min(base.forward, base.reverse, base.markowitz);
      const ratios: Record<string, number> = {};
      for (const [k, v] of Object.entries(methods)) ratios[k] = Number((v / bestClassic).toFixed(4));
      const ex = exact.optimum !== undefined ? { ...exact, gap: Number(((best - exact.optimum) / exact.optimum).toFixed(4)) } : exact;
      const row: SearchBenchRow = {
        task: task.label,
        item: task.item,
        eliminable: ectx.problem.eliminable.length,
        budgetSeconds: budgetMs / 1000,
        ...base,
        bestClassic,
        methods,
        ratios,
        best,
        bestMethod,
        improvement: Number((1 - best / bestClassic).toFixed(4)),
        mctsSimulationsPerSecond: simSeconds > 0 ? Math.round(sims / simSeconds) : 0,
        mctsEpisodes: episodes,
        ordersPerSecond,
        exact: ex,
        load: Number(loadavg()[0]!.toFixed(2)),
      };
      rows.push(row);
      console.log(
        `${task.label.padEnd(22)} ${String(budgetMs / 1000).padStart(4)} s  fwd ${base.forward}  rev ${base.reverse}  mark ${base.markowitz}  | ` +
          `heur ${methods.heuristics}  beam ${methods.beam}  anneal ${methods.anneal}  mcts ${methods.mcts}  all ${methods.all}  ` +
          `→ ${best} (${((1 - best / bestClassic) * 100).toFixed(1)}% below best classic)  mcts ${row.mctsSimulationsPerSecond} sims/s` +
          `${exact.optimum !== undefined ? `  exact ${exact.optimum}` : ''}`,
      );
    }
  }
  // A partial run (some tasks) keeps the other tasks' rows of the results file.
  let all = rows;
  const file = join(__dirname, 'results', `${out}.json`);
  if (o.tasks && existsSync(file)) {
    const old = JSON.parse(readFileSync(file, 'utf8')) as { rows?: SearchBenchRow[] };
    all = [...(old.rows ?? []).filter((r) => !o.tasks!.includes(r.task)), ...rows];
    all.sort((a, b) => TASKS.findIndex((t) => t.label === a.task) - TASKS.findIndex((t) => t.label === b.task) || a.budgetSeconds - b.budgetSeconds);
  }
  const path = writeResult(out, {
    budgetsSeconds: budgetsMs.map((b) => b / 1000),
    threads: 2,
    seed: 1,
    network: agent.message,
    // The machine is shared: its load (runnable processes on 2 cores) bounds what the speeds mean.
    loadAverage: { before: loadBefore.map((x) => Number(x.toFixed(2))), after: loadavg().map((x) => Number(x.toFixed(2))) },
    note: 'each method runs alone with the whole budget on two worker threads; heuristics = the best greedy variant (computed first by every run); ratios are to min(forward, reverse, Markowitz); multiplications by the ad/ cost model',
    rows: all,
  });
  console.log(`wrote ${path}`);
  return rows;
}

export interface NetworkRow {
  readonly task: string;
  /** Multiplications of the order the policy alone plays (always its most likely vertex; no search). */
  readonly greedyPrior: number;
  readonly greedyNetwork: number;
  /** One MCTS episode, 32 simulations per move, seed 1, one thread. */
  readonly mctsPrior: number;
  readonly mctsNetwork: number;
}

/**
 * The shipped network against the untrained prior on the benchmark tasks:
 * deterministic (no clock), so it measures the network, not the machine.
 */
export function benchNetwork(): NetworkRow[] {
  const agent = loadAgent();
  const prior = initialWeights();
  const rows: NetworkRow[] = [];
  for (const task of TASKS) {
    const c = compile(readFileSync(join(__dirname, '..', 'examples', `${task.file}.eligo`), 'utf8'));
    const graph = graphOf(
      c,
      c.items.find((i) => i.name === task.item)!,
    );
    const greedy = (w: Weights): number => {
      const s = EliminationState.of(graph);
      policyRollout(s, w);
      return s.multiplications;
    };
    const tree = (w: Weights, valueWeight: number): number => {
      const ctx = new SearchContext(graph, new Objective({ kind: 'multiplications' }), { budgetMs: 600_000, seed: 1 });
      mcts(ctx, { weights: w, simulationsPerMove: 32, maxEpisodes: 1, valueWeight });
      return ctx.best!.multiplications;
    };
    const row = {
      task: task.label,
      greedyPrior: greedy(prior),
      greedyNetwork: greedy(agent.weights),
      mctsPrior: tree(prior, 0),
      mctsNetwork: tree(agent.weights, 0.25),
    };
    rows.push(row);
    console.log(
      `${task.label.padEnd(22)} greedy policy: prior ${row.greedyPrior}  network ${row.greedyNetwork}  | MCTS (32 sims/move, 1 episode): prior ${row.mctsPrior}  network ${row.mctsNetwork}`,
    );
  }
  return rows;
}

if (require.main === module && process.argv.includes('--network')) {
  // Adds the network comparison to bench/results/search.json (keeping its rows).
  const rows = benchNetwork();
  const file = join(__dirname, 'results', 'search.json');
  const old = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const { generatedAt: _g, node: _n, cpus: _c, ...rest } = old;
  writeResult('search', { ...rest, network: { agent: loadAgent().message, rows } });
} else if (require.main === module) {
  const i = process.argv.indexOf('--budgets');
  const budgets = i > 0 ? process.argv[i + 1]!.split(',').map(parseBudget) : [10_000, 60_000];
  const t = process.argv.indexOf('--tasks');
  const x = process.argv.indexOf('--exact-max');
  benchSearch(budgets, 'search', {
    ...(t > 0 ? { tasks: process.argv[t + 1]!.split(',') } : {}),
    ...(x > 0 ? { exactMax: Number(process.argv[x + 1]) } : {}),
  }).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
