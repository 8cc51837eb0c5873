// Elimination orders: forward, reverse, minimal Markowitz, and validation of
// any order a user or a search gives.
//
// Forward eliminates in ascending topological order (forward-mode AD),
// reverse in descending order (reverse mode), as Graphax's "fwd"/"rev"
// (core.py `_checkify_order`). Minimal Markowitz is AlphaGrad's greedy
// heuristic (vertexgame/transforms.py `minimal_markowitz`): repeatedly
// eliminate the vertex with the smallest Markowitz degree
// (Σ in-edge source sizes) × (Σ out-edge target sizes), lowest id on ties.

import type { Graph } from '../graph/types.js';
import { Eliminator } from './eliminate.js';
import { eliminableVertices } from './linearize.js';
import { EligoError } from '../util/errors.js';

export type OrderErrorReason = 'unknown' | 'not-eliminable' | 'duplicate' | 'missing';

/** An elimination order that is not valid for its graph. `vertex` is the offending vertex. */
export class OrderError extends EligoError {
  constructor(
    message: string,
    readonly reason: OrderErrorReason,
    readonly vertex: number,
    readonly position?: number,
  ) {
    super('ad.order', message);
  }
}

export type OrderName = 'forward' | 'reverse' | 'markowitz';

export function forwardOrder(graph: Graph): number[] {
  return eliminableVertices(graph);
}

export function reverseOrder(graph: Graph): number[] {
  return eliminableVertices(graph).reverse();
}

/** Greedy minimal Markowitz order, recomputing degrees after every elimination. */
export function markowitzOrder(graph: Graph): number[] {
  const el = Eliminator.symbolic(graph);
  const left = eliminableVertices(graph);
  const order: number[] = [];
  while (left.length > 0) {
    let best = 0;
    let bestDegree = Infinity;
    for (let k = 0; k < left.length; k++) {
      const d = el.markowitz(left[k]!);
      if (d < bestDegree) {
        bestDegree = d;
        best = k;
      }
    }
    const v = left.splice(best, 1)[0]!;
    el.eliminate(v);
    order.push(v);
  }
  return order;
}

export function namedOrder(graph: Graph, name: OrderName): number[] {
  switch (name) {
    case 'forward':
      return forwardOrder(graph);
    case 'reverse':
      return reverseOrder(graph);
    case 'markowitz':
      return markowitzOrder(graph);
  }
}

function label(graph: Graph, id: number): string {
  const v = graph.vertices[id];
  if (!v) return `vertex ${id}`;
  return `vertex ${id} (${v.op}${v.name ? ` '${v.name}'` : ''})`;
}

/**
 * Checks that `order` eliminates every eliminable vertex exactly once and
 * nothing else; throws OrderError naming the first offending vertex.
 */
export function validateOrder(graph: Graph, order: readonly number[]): void {
  const eliminable = eliminableVertices(graph);
  const isEliminable = new Uint8Array(graph.vertices.length);
  for (const v of eliminable) isEliminable[v] = 1;
  const seen = new Map<number, number>();
  order.forEach((v, k) => {
    if (!Number.isInteger(v) || v < 0 || v >= graph.vertices.length) {
      throw new OrderError(`order position ${k}: there is no vertex ${v} (the graph has vertices 0..${graph.vertices.length - 1})`, 'unknown', v, k);
    }
    if (isEliminable[v] !== 1) {
      const vx = graph.vertices[v]!;
      const why = graph.inputs.includes(v)
        ? 'it is an independent input'
        : vx.inputs.length === 0
          ? `it is a leaf (${vx.op})`
          : 'it is an output that feeds no other vertex';
      throw new OrderError(`order position ${k}: ${label(graph, v)} cannot be eliminated: ${why}`, 'not-eliminable', v, k);
    }
    const first = seen.get(v);
    if (first !== undefined) {
      throw new OrderError(`order position ${k}: ${label(graph, v)} is eliminated twice (first at position ${first})`, 'duplicate', v, k);
    }
    seen.set(v, k);
  });
  const missing = eliminable.filter((v) => !seen.has(v));
  if (missing.length > 0) {
    const list = missing
      .slice(0, 5)
      .map((v) => label(graph, v))
      .join(', ');
    throw new OrderError(
      `the order misses ${missing.length} eliminable vertex${missing.length === 1 ? '' : 'es'}: ${list}${missing.length > 5 ? ', …' : ''}`,
      'missing',
      missing[0]!,
    );
  }
}

/** A named order, or an explicit one after validation. */
export function resolveOrder(graph: Graph, order: readonly number[] | OrderName): number[] {
  if (typeof order === 'string') return namedOrder(graph, order);
  validateOrder(graph, order);
  return [...order];
}
