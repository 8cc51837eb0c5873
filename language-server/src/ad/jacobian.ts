// The numeric Jacobian at a point, by eliminating an order on the linearized
// graph with values. After every eliminable vertex is gone, the edges
// input → output hold the Jacobian blocks ∂output/∂input.

import { sizeOf, type Graph, type Tensor } from '../graph/types.js';
import { evaluate } from '../graph/evaluate.js';
import { Eliminator } from './eliminate.js';
import { checkGraph, linearize } from './linearize.js';
import { resolveOrder, type OrderName } from './orders.js';
import { toDense } from './sparsity.js';
import { EligoError } from '../util/errors.js';

export { NonFiniteError } from './linearize.js';

/** Refused up front: the job would need more memory than allowed. */
export class JacobianTooLargeError extends EligoError {
  constructor(
    message: string,
    readonly estimateBytes: number,
    readonly limitBytes: number,
    readonly what: 'jacobian' | 'elimination',
  ) {
    super('ad.too-large', message);
  }
}

export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

export interface JacobianOptions {
  /** Refuse when the dense Jacobian, or the peak memory of the elimination's edges, would exceed this (default 256 MiB). */
  readonly maxBytes?: number;
}

/** ∂(graph.outputs[output]) / ∂(graph.inputs[input]): rows = output size, cols = input size, row-major. */
export interface JacobianBlock {
  readonly output: number;
  readonly input: number;
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export interface JacobianResult {
  /** blocks[k][l] = ∂outputs[k]/∂inputs[l]. */
  readonly blocks: readonly (readonly JacobianBlock[])[];
  /** Value of every vertex at the point. */
  readonly values: readonly Tensor[];
  readonly order: readonly number[];
  readonly multiplications: number;
  readonly additions: number;
  readonly fillIn: number;
  readonly peakMemoryBytes: number;
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${bytes} bytes`;
}

/** Bytes of the dense Jacobian of all outputs with respect to all inputs. */
export function denseJacobianBytes(graph: Graph): number {
  let rows = 0;
  let cols = 0;
  for (const o of graph.outputs) rows += sizeOf(graph.vertices[o]!.shape);
  for (const i of graph.inputs) cols += sizeOf(graph.vertices[i]!.shape);
  return 8 * rows * cols;
}

/**
 * Evaluates the graph at `leaves` and eliminates `order` (default reverse)
 * with values. Throws JacobianTooLargeError before allocating anything large,
 * NonFiniteError (with the vertex id and its source range) when a value or a
 * partial is NaN or infinite at the point, OrderError for an invalid order.
 */
export function jacobian(
  graph: Graph,
  leaves: ReadonlyMap<number, Tensor>,
  order: readonly number[] | OrderName = 'reverse',
  options: JacobianOptions = {},
): JacobianResult {
  checkGraph(graph);
  const limit = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const dense = denseJacobianBytes(graph);
  if (dense > limit) {
    throw new JacobianTooLargeError(
      `the Jacobian of '${graph.name}' would take ${mib(dense)} as dense blocks, more than the limit of ${mib(limit)}`,
      dense,
      limit,
      'jacobian',
    );
  }
  const resolved = resolveOrder(graph, order);
  const symbolic = Eliminator.symbolic(graph);
  symbolic.run(resolved);
  if (symbolic.peakBytes > limit) {
    throw new JacobianTooLargeError(
      `eliminating '${graph.name}' in this order would hold ${mib(symbolic.peakBytes)} of edge Jacobians at its peak, more than the limit of ${mib(limit)}`,
      symbolic.peakBytes,
      limit,
      'elimination',
    );
  }
  const values = evaluate(graph, leaves);
  const el = Eliminator.of(linearize(graph, values));
  el.run(resolved);
  const blocks = graph.outputs.map((o) =>
    graph.inputs.map((i): JacobianBlock => {
      const rows = sizeOf(graph.vertices[o]!.shape);
      const cols = sizeOf(graph.vertices[i]!.shape);
      let data: Float64Array;
      if (o === i) {
        data = new Float64Array(rows * cols);
        for (let k = 0; k < rows; k++) data[k * cols + k] = 1;
      } else {
        const e = el.edge(i, o);
        data = e ? toDense(e) : new Float64Array(rows * cols);
      }
      return { output: o, input: i, rows, cols, data };
    }),
  );
  return {
    blocks,
    values,
    order: resolved,
    multiplications: el.multiplications,
    additions: el.additions,
    fillIn: el.fillIn,
    peakMemoryBytes: el.peakBytes,
  };
}

/** All blocks as one row-major matrix: rows = outputs stacked, cols = inputs side by side. */
export function stackBlocks(result: JacobianResult): { rows: number; cols: number; data: Float64Array } {
  const rowsOf = result.blocks.map((r) => r[0]?.rows ?? 0);
  const colsOf = (result.blocks[0] ?? []).map((b) => b.cols);
  const rows = rowsOf.reduce((a, b) => a + b, 0);
  const cols = colsOf.reduce((a, b) => a + b, 0);
  const data = new Float64Array(rows * cols);
  let r0 = 0;
  result.blocks.forEach((row, k) => {
    let c0 = 0;
    row.forEach((b, l) => {
      for (let r = 0; r < b.rows; r++) for (let c = 0; c < b.cols; c++) data[(r0 + r) * cols + c0 + c] = b.data[r * b.cols + c]!;
      c0 += colsOf[l]!;
    });
    r0 += rowsOf[k]!;
  });
  return { rows, cols, data };
}
