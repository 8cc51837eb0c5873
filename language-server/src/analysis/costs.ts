// An item's graph sizes and the elimination costs of the classic orders
// (forward, reverse, Markowitz), from the elimination engine: the figures of
// the code lens, the CLI's `analyze` and the demo (analysis/index.ts).

import type { Range } from '../lang/ast.js';
import { graphOf, type Compiled, type NamedItem, ItemError } from '../compile.js';
import type { Graph } from '../graph/types.js';
import { compareOrders } from '../ad/costs.js';

export interface OrderCost {
  readonly multiplications: number;
  readonly additions: number;
  readonly fillIn: number;
  readonly peakMemoryBytes: number;
}

export type OrderName = 'forward' | 'reverse' | 'markowitz';

export interface ItemAnalysis {
  readonly name: string;
  readonly kind: NamedItem['kind'];
  readonly range: Range;
  readonly nameRange: Range;
  /** Vertex and edge counts of the item's graph (one time step for models). */
  readonly graph?: { readonly vertices: number; readonly edges: number; readonly inputs: number; readonly outputs: number };
  /** Elimination costs of the classic orders on the item's graph. */
  readonly costs?: Readonly<Record<OrderName, OrderCost>>;
  /** Why no graph or costs could be computed (errors in the item, too big, …). */
  readonly problem?: { readonly message: string; readonly range?: Range };
}

/** Forward, reverse and Markowitz costs of a graph, from the elimination engine. */
export function classicCosts(graph: Graph): Record<OrderName, OrderCost> {
  const c = compareOrders(graph);
  const pick = (x: typeof c.forward): OrderCost => ({
    multiplications: x.cost.multiplications,
    additions: x.cost.additions,
    fillIn: x.cost.fillIn,
    peakMemoryBytes: x.cost.peakMemoryBytes,
  });
  return { forward: pick(c.forward), reverse: pick(c.reverse), markowitz: pick(c.markowitz) };
}

export function analyzeItem(compiled: Compiled, item: NamedItem): ItemAnalysis {
  const base = { name: item.name, kind: item.kind, range: item.range, nameRange: item.nameRange };
  if (item.kind === 'rule') return base;
  if (item.hasErrors) return { ...base, problem: { message: `'${item.name}' has errors`, range: item.nameRange } };
  let graph: Graph;
  try {
    graph = graphOf(compiled, item);
  } catch (e) {
    if (e instanceof ItemError) return { ...base, problem: { message: e.message, ...(e.range ? { range: e.range } : {}) } };
    throw e;
  }
  const summary = {
    vertices: graph.vertices.length,
    edges: graph.vertices.reduce((a, v) => a + v.inputs.length, 0),
    inputs: graph.inputs.length,
    outputs: graph.outputs.length,
  };
  try {
    return { ...base, graph: summary, costs: classicCosts(graph) };
  } catch (e) {
    return { ...base, graph: summary, problem: { message: (e as Error).message } };
  }
}
