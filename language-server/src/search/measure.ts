// The `time` objective: measured wall time of the numeric elimination of an
// order (the Jacobian accumulation itself, with values, by ad/'s Eliminator),
// the median of repeated runs. The graph is evaluated and linearized once at a
// point; each run starts from a fresh eliminator (untimed) so that every run
// pays the same cache misses.

import { Eliminator } from '../ad/eliminate.js';
import { linearize, NonFiniteError, type LinearizedGraph } from '../ad/linearize.js';
import { evaluate, LEAF_OPS } from '../graph/evaluate.js';
import { Rng } from '../graph/random.js';
import { sizeOf, type Graph, type Tensor } from '../graph/types.js';
import { EligoError } from '../util/errors.js';

export class MeasureError extends EligoError {
  constructor(message: string) {
    super('search.measure', message);
  }
}

/**
 * Values for every leaf the graph reads: the given ones, and for the rest
 * seeded values in [0.2, 0.8] (positive, away from the singularities of log,
 * sqrt, division).
 */
export function fillLeaves(graph: Graph, given: ReadonlyMap<number, Tensor> = new Map(), seed = 7): Map<number, Tensor> {
  const rng = new Rng(seed);
  const out = new Map(given);
  for (const v of graph.vertices) {
    if (!LEAF_OPS.has(v.op) || v.op === 'const' || out.has(v.id)) continue;
    out.set(v.id, { shape: v.shape, data: Float64Array.from({ length: sizeOf(v.shape) }, () => rng.uniform(0.2, 0.8)) });
  }
  return out;
}

/** The numeric linearized graph at a point, ready for timing. */
export function numericGraph(graph: Graph, leaves?: ReadonlyMap<number, Tensor>): LinearizedGraph {
  try {
    return linearize(graph, evaluate(graph, fillLeaves(graph, leaves)));
  } catch (e) {
    if (e instanceof NonFiniteError) {
      throw new MeasureError(
        `cannot time the numeric elimination: ${e.message}; give a point where the derivatives are finite (--inputs or a '# @eval {…}' comment)`,
      );
    }
    throw e;
  }
}

export interface Timing {
  /** Median seconds of one numeric elimination. */
  readonly seconds: number;
  readonly runs: number;
  readonly min: number;
}

/** Median wall time of eliminating `order` numerically (`repeats` timed runs after one warm-up). */
export function measureOrder(lin: LinearizedGraph, order: readonly number[], repeats = 7, maxMs = 2000): Timing {
  const times: number[] = [];
  const warm = Eliminator.of(lin);
  const t0 = performance.now();
  warm.run(order);
  const first = performance.now() - t0;
  // Long eliminations get fewer repeats, so one measurement stays within maxMs.
  const runs = Math.max(1, Math.min(repeats, Math.floor(maxMs / Math.max(first, 1e-3))));
  for (let r = 0; r < runs; r++) {
    const el = Eliminator.of(lin);
    const a = performance.now();
    el.run(order);
    times.push((performance.now() - a) / 1000);
  }
  times.sort((x, y) => x - y);
  return { seconds: times[Math.floor((times.length - 1) / 2)]!, runs, min: times[0]! };
}
