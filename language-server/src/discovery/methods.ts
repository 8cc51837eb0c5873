// The searches find-rule can run over choice vectors, by name (`--method`).
// `auto` is the one the discovery benchmark found better at equal wall time
// (bench/discovery.ts, docs/results.md).

import { annealing, type RuleSearch } from '../rules/find.js';
import { mctsSearch } from './mcts.js';

export const METHODS = ['anneal', 'mcts', 'auto'] as const;
export type MethodName = (typeof METHODS)[number];

/** The method `auto` stands for. */
// Annealing: in the reduced benchmark (docs/results.md) it scored a larger front than MCTS at equal time on
// most models and seeds; MCTS spends simulations revisiting rules it has evaluated.
export const AUTO: Exclude<MethodName, 'auto'> = 'anneal';

export function searchFor(name: MethodName, hardware = false): RuleSearch {
  const n = name === 'auto' ? AUTO : name;
  return n === 'anneal' ? annealing : mctsSearch({ hardware });
}
