// `npm run train-rule-agent`: trains the rule search's policy/value network
// (language-server/src/discovery/ruleNet.ts) by AlphaZero-style self-play
// across models (discovery/corpus.ts), and writes models/agent/rule-agent.json,
// the network `eligo find-rule --method mcts` loads.
//
//   npm run train-rule-agent -- [--budget 10m] [--seed 1] [--out models/agent/rule-agent.json]
//
// Each iteration runs MCTS episodes (with root noise) on one model at a
// random small size, on random alignment samples at the initial parameters
// (the cheap fidelity: training rules on a task for every self-play leaf is
// beyond a CPU), adds the decisions (visit distributions, episode rewards)
// to a replay buffer, and takes Adam steps in TensorFlow.js.

import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../language-server/src/graph/random.js';
import { findLearningRule } from '../language-server/src/rules/find.js';
import { modelContextOf } from '../language-server/src/rules/model.js';
import { selfPlayModels } from '../language-server/src/discovery/corpus.js';
import { mctsSearch, type Example } from '../language-server/src/discovery/mcts.js';
import { fitRuleNet } from '../language-server/src/discovery/ruleAgent.js';
import { initialRuleNet, serializeRuleNet } from '../language-server/src/discovery/ruleNet.js';
import { parseBudget } from '../language-server/src/search/objective.js';
import { backendInfo } from '../language-server/src/train/backend.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { budget: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } } });
  const budgetMs = parseBudget(values.budget ?? '10m');
  const seed = Number(values.seed ?? 1);
  const out = values.out ?? 'models/agent/rule-agent.json';
  const rng = new Rng(seed);
  let weights = initialRuleNet(undefined, seed);
  const buffer: Example[] = [];
  const t0 = Date.now();
  let it = 0;
  const games: Record<string, number> = {};
  let last = { policyLoss: NaN, valueLoss: NaN, steps: 0 };
  while (Date.now() - t0 < budgetMs) {
    const n = [4, 6, 8][rng.int(3)]!;
    const models = selfPlayModels(n);
    const m = models[it % models.length]!;
    const ctx = modelContextOf(m.text, m.model);
    const examples: Example[] = [];
    await findLearningRule(ctx, {
      budgetMs: 30000,
      steps: 12,
      samples: 1,
      seed: seed + it,
      maxExhaustive: 0,
      search: mctsSearch({ weights, examples, noise: 0.25, episodes: 3, simulations: 12 }),
    });
    buffer.push(...examples);
    if (buffer.length > 6000) buffer.splice(0, buffer.length - 6000);
    games[m.name] = (games[m.name] ?? 0) + 3;
    const fit = await fitRuleNet(weights, buffer, { steps: 40, batch: 64, seed: seed + it });
    weights = fit.weights;
    last = fit.fit;
    it++;
    console.log(
      `[${((Date.now() - t0) / 1000).toFixed(0)} s] iteration ${it}: ${m.name} (n = ${n}), ${examples.length} decisions, buffer ${buffer.length}; policy loss ${last.policyLoss.toFixed(3)}, value loss ${last.valueLoss.toFixed(3)}`,
    );
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    serializeRuleNet(weights, {
      method:
        'AlphaZero-style self-play: PUCT MCTS over approximation choices (12 simulations per decision, root noise 0.25), visit-count policy targets, episode-reward value targets',
      models: games,
      iterations: it,
      seconds: Math.round((Date.now() - t0) / 1000),
      seed,
      backend: backendInfo()?.name ?? 'unknown',
      reward: 'w·alignment (random sequences, initial parameters) − (1−w)·normalised log cost − misfit − ½·[readout-only or no update]',
      finalPolicyLoss: last.policyLoss,
      finalValueLoss: last.valueLoss,
      date: new Date().toISOString().slice(0, 10),
    }),
  );
  console.log(`wrote ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
