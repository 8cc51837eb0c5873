// The searches find-rule can run over choice vectors, by name (`--method`).

import { annealing, type RuleSearch } from '../rules/find.js';

export const METHODS = ['anneal', 'mcts', 'auto'] as const;
export type MethodName = (typeof METHODS)[number];

export function searchFor(name: MethodName): RuleSearch {
  switch (name) {
    case 'anneal': return annealing;
    case 'mcts': return annealing;
    case 'auto': return annealing;
  }
}
