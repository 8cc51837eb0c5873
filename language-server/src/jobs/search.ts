// `search`: better elimination orders for an item's graph.
//
// Until the search engine (search/: greedy, beam, annealing, MCTS) plugs in
// here, this kind runs a baseline that is honest about being one: minimal
// Markowitz first, then random orders, each scored by the elimination engine
// (ad/eliminate.ts), keeping the cheapest under the objective.

import { compile, findItem, graphOf, ItemError } from '../compile.js';
import { Eliminator } from '../ad/eliminate.js';
import { markowitzOrder } from '../ad/orders.js';
import { Rng } from '../graph/random.js';
import type { Objective, SearchResult } from '../protocol.js';
import { JobRefused, type JobKind } from './types.js';

export interface SearchJobParams {
  readonly objective: Objective;
  readonly strategy: string;
  readonly seed: number;
}

const STRATEGIES = ['random'];

export const searchJob: JobKind<SearchJobParams, SearchResult> = {
  kind: 'search',
  title: 'Searching elimination orders',
  parse(input) {
    const p = (typeof input.params === 'object' && input.params !== null ? input.params : {}) as Record<string, unknown>;
    const objective = (p.objective ?? input.settings.objective) as Objective;
    if (objective !== 'multiplications' && objective !== 'memory') throw new JobRefused(`the baseline search optimises 'multiplications' or 'memory', not '${String(objective)}'`);
    const strategy = typeof p.strategy === 'string' ? p.strategy : 'random';
    if (!STRATEGIES.includes(strategy)) throw new JobRefused(`unknown search strategy '${strategy}' (available until the search engine lands: ${STRATEGIES.join(', ')})`);
    const seed = Number.isInteger(p.seed) ? (p.seed as number) : 0;
    if (input.text === undefined) throw new JobRefused('a search needs a document');
    return { objective, strategy, seed };
  },
  run(input, p, ctx) {
    const c = compile(input.text!);
    let graph;
    try {
      const item = findItem(c, input.item, ['function', 'model']);
      graph = graphOf(c, item);
    } catch (e) {
      if (e instanceof ItemError) throw new JobRefused(e.message);
      throw e;
    }
    const el = Eliminator.symbolic(graph);
    const score = (order: number[]): { muls: number; peak: number } => {
      const muls = el.run(order);
      return { muls, peak: el.peakBytes };
    };
    const value = (s: { muls: number; peak: number }): number => (p.objective === 'memory' ? s.peak : s.muls);
    let bestOrder = markowitzOrder(graph);
    let best = score(bestOrder);
    let evaluated = 1;
    const result = (): SearchResult => ({ order: bestOrder, multiplications: best.muls, peakMemoryBytes: best.peak, evaluated, strategy: `${p.strategy} (baseline)`, objective: p.objective });
    ctx.report({ message: `Markowitz: ${best.muls} mults`, best: result() });
    const rng = new Rng(p.seed);
    const order = el.linearized.eliminable.slice();
    while (!ctx.shouldStop) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const s = score(order);
      evaluated++;
      if (value(s) < value(best)) {
        best = s;
        bestOrder = order.slice();
      }
      if (evaluated % 16 === 0) {
        ctx.report({ message: `best ${best.muls} mults after ${evaluated} orders`, best: result(), point: { x: evaluated, y: { multiplications: best.muls } } });
      }
    }
    return result();
  },
};
