// Self-play learning inside a search: after each MCTS episode, a few
// optimisation steps of the network on a replay buffer of the episodes played
// so far (AlphaZero's loop, on one graph and one CPU thread). The network the
// search uses is updated in place, so the next episode plays with it.

import { Rng } from '../graph/random.js';
import { AgentTrainer } from './agent.js';
import { SearchContext } from './context.js';
import { corpusGraph } from './corpus.js';
import { mcts, type Sample } from './mcts.js';
import { Objective } from './objective.js';
import { isUntrained, type Weights } from './network.js';
import type { EpisodeTrainer } from './plan.js';

export interface SelfPlayOptions {
  readonly seed?: number;
  /** Samples kept (oldest dropped first). */
  readonly bufferSize?: number;
  readonly batchSize?: number;
  /** Optimisation steps per sample played (at least minSteps per episode). */
  readonly stepsPerSample?: number;
  readonly minSteps?: number;
  readonly maxSteps?: number;
  readonly learningRate?: number;
}

export async function createEpisodeTrainer(weights: Weights, o: SelfPlayOptions = {}): Promise<EpisodeTrainer | { error: string }> {
  let t: AgentTrainer;
  try {
    // Fine-tuning a trained network takes smaller steps than training the prior.
    t = await AgentTrainer.create(weights, { learningRate: o.learningRate ?? (isUntrained(weights) ? 1e-3 : 2e-4) });
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! };
  }
  const rng = new Rng(o.seed ?? 1);
  const buffer: Sample[] = [];
  const size = o.bufferSize ?? 4000;
  return {
    description: `${t.backend}, batch ${o.batchSize ?? 8}`,
    learn(samples, stop) {
      buffer.push(...samples);
      if (buffer.length > size) buffer.splice(0, buffer.length - size);
      const steps = Math.max(o.minSteps ?? 4, Math.min(o.maxSteps ?? 32, Math.round(samples.length * (o.stepsPerSample ?? 0.25))));
      t.train(buffer, steps, o.batchSize ?? 8, rng, stop);
    },
    dispose() {
      t.dispose();
    },
  };
}

export interface EpisodeSpec {
  /** corpusGraph(graphSeed) is the graph played on. */
  readonly graphSeed: number;
  /** Seed of the search's random stream (root noise). */
  readonly searchSeed: number;
}

export interface PlayedEpisode {
  readonly multiplications: number;
  readonly simulations: number;
  readonly samples: Sample[];
}

/**
 * Self-play episodes with fixed weights, one per spec: what a round of
 * `npm run train-agent` plays before training on it, here or as a queue task
 * on a worker. A pure function of its arguments: a fixed number of
 * simulations per move and one episode per graph, never the clock.
 */
export function playEpisodes(weights: Weights, specs: readonly EpisodeSpec[], simulationsPerMove: number, stop?: () => boolean): PlayedEpisode[] {
  const out: PlayedEpisode[] = [];
  for (const e of specs) {
    if (stop?.()) break;
    const g = corpusGraph(e.graphSeed);
    const ctx = new SearchContext(g, new Objective({ kind: 'multiplications' }), { budgetMs: 24 * 3600 * 1000, seed: e.searchSeed });
    const eps = mcts(ctx, { weights, simulationsPerMove, maxEpisodes: 1 });
    for (const ep of eps) out.push({ multiplications: ep.multiplications, simulations: ep.simulations, samples: ep.samples });
  }
  return out;
}
