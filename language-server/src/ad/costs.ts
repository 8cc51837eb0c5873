// What an elimination order costs, counted symbolically (no values needed):
// multiplications (Graphax's get_num_muls per edge product), additions (one
// per stored value of a sum into an existing edge), fill-in edges, and the
// peak memory of all live edge Jacobians (8 bytes per stored value).

import type { Graph } from '../graph/types.js';
import { Eliminator, type VertexCost } from './eliminate.js';
import { forwardOrder, markowitzOrder, resolveOrder, reverseOrder, type OrderName } from './orders.js';

export type { VertexCost } from './eliminate.js';

export interface OrderCost {
  readonly multiplications: number;
  readonly additions: number;
  readonly fillIn: number;
  /** Peak bytes of live edge Jacobians, the initial graph included. */
  readonly peakMemoryBytes: number;
  /** Bytes of the edge Jacobians before any elimination. */
  readonly initialMemoryBytes: number;
  readonly perVertex: readonly VertexCost[];
}

/** The cost of eliminating `order` (validated; or a named order). */
export function costOf(graph: Graph, order: readonly number[] | OrderName): OrderCost {
  const resolved = resolveOrder(graph, order);
  const el = Eliminator.symbolic(graph);
  const initial = el.liveBytes;
  el.record = [];
  el.run(resolved);
  return {
    multiplications: el.multiplications,
    additions: el.additions,
    fillIn: el.fillIn,
    peakMemoryBytes: el.peakBytes,
    initialMemoryBytes: initial,
    perVertex: el.record,
  };
}

export interface NamedOrderCost {
  readonly order: readonly number[];
  readonly cost: OrderCost;
}

/** Forward, reverse and minimal Markowitz side by side. */
export function compareOrders(graph: Graph): { forward: NamedOrderCost; reverse: NamedOrderCost; markowitz: NamedOrderCost } {
  const entry = (order: number[]): NamedOrderCost => ({ order, cost: costOf(graph, order) });
  return { forward: entry(forwardOrder(graph)), reverse: entry(reverseOrder(graph)), markowitz: entry(markowitzOrder(graph)) };
}
