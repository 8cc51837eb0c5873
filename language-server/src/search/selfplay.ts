// Self-play learning inside a search: after each MCTS episode, a few
// optimisation steps of the network on a replay buffer of the episodes played
// so far (AlphaZero's loop, on one graph and one CPU thread). The network the
// search uses is updated in place, so the next episode plays with it.

import { Rng } from '../graph/random.js';
import { AgentTrainer } from './agent.js';
import type { Sample } from './mcts.js';
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
