// `npm run train-agent`: trains the search's policy/value network
// (language-server/src/search/network.ts) by AlphaZero-style self-play on a
// corpus of generated graphs (search/corpus.ts), and writes it to
// models/agent/agent.json, the network `eligo search` loads.
//
//   npm run train-agent -- [--budget 20m] [--seed 1] [--out models/agent/agent.json] [--sims 24]
//                          [--episodes N] [--parallel P] [--redis redis://HOST:PORT]
//
// --episodes N stops after N episodes (a reproducible run: the same network
// on any machine). --parallel P plays P episodes with the same network before
// training on them in order (default 1: train after every episode; 8 with
// --redis), and --redis URL plays them on `eligo worker` processes: the
// same network for the same --seed, --episodes and --parallel.
//
// Each iteration plays one MCTS episode on a new corpus graph with the current
// network (the greedy prior plus the learned correction), adds its samples
// (visit distributions, real remaining costs) to a replay buffer, and takes a
// few Adam steps in TensorFlow.js. Every few iterations the network's own
// greedy policy (no search) is scored on held-out graphs against the untrained
// prior's; the best network by that score is the one saved, with the figures
// that chose it.

import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EliminationState } from '../language-server/src/ad/state.js';
import { Rng } from '../language-server/src/graph/random.js';
import type { Graph } from '../language-server/src/graph/types.js';
import { AgentTrainer } from '../language-server/src/search/agent.js';
import { corpusGraph } from '../language-server/src/search/corpus.js';
import { policyRollout, type Sample } from '../language-server/src/search/mcts.js';
import { cloneWeights, DEFAULT_ARCH, initialWeights, saveWeights, type Weights } from '../language-server/src/search/network.js';
import { parseBudget } from '../language-server/src/search/objective.js';
import { playEpisodes } from '../language-server/src/search/selfplay.js';
import { QueueExecutor } from '../language-server/src/jobs/queue/executor.js';
import { playRound } from '../language-server/src/jobs/queue/runs.js';
import { backendInfo } from '../language-server/src/train/backend.js';

const VALIDATION = 24;

function policyCost(w: Weights, g: Graph): number {
  const s = EliminationState.of(g);
  policyRollout(s, w);
  return s.multiplications;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      budget: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      sims: { type: 'string' },
      batch: { type: 'string' },
      episodes: { type: 'string' },
      parallel: { type: 'string' },
      redis: { type: 'string' },
    },
  });
  const positive = (v: string | undefined, name: string, def: number | undefined): number | undefined => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
    return n;
  };
  const maxEpisodes = positive(values.episodes, 'episodes', undefined);
  const parallel = positive(values.parallel, 'parallel', values.redis ? 8 : 1)!;
  const queue = values.redis ? await QueueExecutor.connect({ url: values.redis, onNote: (n) => console.log(`note: ${n}`) }) : undefined;
  const budgetMs = parseBudget(values.budget ?? '20m');
  const seed = Number(values.seed ?? 1);
  const sims = Number(values.sims ?? 24);
  const batch = Number(values.batch ?? 16);
  const out = values.out ?? join(__dirname, '..', 'models', 'agent', 'agent.json');
  const t0 = Date.now();
  const rng = new Rng(seed);
  const weights = initialWeights(DEFAULT_ARCH, seed);
  const trainer = await AgentTrainer.create(weights, { learningRate: 1e-3 });
  console.log(
    `training the search network: ${trainer.backend}; budget ${(budgetMs / 60000).toFixed(1)} min${maxEpisodes !== undefined ? `, at most ${maxEpisodes} episodes` : ''}; ${parallel} episode${parallel === 1 ? '' : 's'} per round, played ${queue ? `on the ${queue.description}` : `here (${cpus().length} cores)`}`,
  );

  const val = Array.from({ length: VALIDATION }, (_, k) => corpusGraph(1_000_000 + k));
  const prior = initialWeights(DEFAULT_ARCH, seed);
  const priorCost = val.reduce((a, g) => a + policyCost(prior, g), 0);
  const evaluate = (w: Weights): number => val.reduce((a, g) => a + policyCost(w, g), 0) / priorCost;
  let best = { ratio: 1, weights: cloneWeights(weights), iteration: 0 };
  const buffer: Sample[] = [];
  let iteration = 0;
  let samples = 0;
  let steps = 0;
  let lastLoss = { policy: NaN, value: NaN };
  const history: { iteration: number; minutes: number; ratio: number; policyLoss: number; valueLoss: number }[] = [];
  const finished = (): boolean => Date.now() - t0 >= budgetMs || (maxEpisodes !== undefined && iteration >= maxEpisodes);
  while (!finished()) {
    // A round: episodes played with the same network (here or on the workers), then learnt from in order.
    const n = Math.min(parallel, maxEpisodes !== undefined ? maxEpisodes - iteration : parallel);
    const specs = Array.from({ length: n }, (_, j) => ({ graphSeed: seed * 100_000 + iteration + j, searchSeed: seed + iteration + j + 1 }));
    const played = queue ? await playRound(queue, weights, specs, sims, 1, { label: `train-agent seed ${seed}` }) : playEpisodes(weights, specs, sims);
    if (!played) break;
    for (const e of played) {
      iteration++;
      buffer.push(...e.samples);
      samples += e.samples.length;
      if (buffer.length > 20_000) buffer.splice(0, buffer.length - 20_000);
      const k = Math.max(4, Math.round(e.samples.length / 4));
      const l = trainer.train(buffer, k, batch, rng);
      steps += k;
      if (l) lastLoss = { policy: l.policy, value: l.value };
      if (iteration % 20 === 0 || (maxEpisodes !== undefined ? iteration >= maxEpisodes : Date.now() - t0 >= budgetMs)) {
        const ratio = evaluate(weights);
        history.push({ iteration, minutes: (Date.now() - t0) / 60000, ratio, policyLoss: lastLoss.policy, valueLoss: lastLoss.value });
        if (ratio < best.ratio) best = { ratio, weights: cloneWeights(weights), iteration };
        console.log(
          `${((Date.now() - t0) / 60000).toFixed(1)} min  iteration ${iteration}  samples ${samples}  steps ${steps}  loss policy ${lastLoss.policy.toFixed(3)} value ${lastLoss.value.toFixed(3)}  greedy policy / prior on held-out graphs ${ratio.toFixed(4)}  (best ${best.ratio.toFixed(4)} at ${best.iteration})`,
        );
      }
    }
  }
  await queue?.close();
  trainer.dispose();
  saveWeights(out, best.weights, {
    method: 'AlphaZero-style self-play (PUCT MCTS, visit-count policy targets, real remaining cost value targets) on generated graphs (search/corpus.ts)',
    backend: backendInfo()?.summary ?? 'unknown',
    seed,
    simulationsPerMove: sims,
    batch,
    episodesPerRound: parallel,
    iterations: iteration,
    samples,
    steps,
    minutes: Number(((Date.now() - t0) / 60000).toFixed(2)),
    chosenAtIteration: best.iteration,
    heldOutGraphs: VALIDATION,
    greedyPolicyOverPrior: Number(best.ratio.toFixed(4)),
    history,
    created: new Date().toISOString(),
  });
  console.log(`saved ${out}: the network's greedy policy costs ${(best.ratio * 100).toFixed(1)}% of the untrained prior's on ${VALIDATION} held-out graphs`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
