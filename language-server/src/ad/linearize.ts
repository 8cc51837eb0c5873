// The linearized computational graph (Griewank & Walther, ch. 2): the graph's
// vertices with the partial Jacobian ∂dst/∂src on every edge, ready to be
// eliminated. Symbolic (sparsity only) or numeric (with values at a point).
//
// Only *active* vertices — those that depend on an independent variable
// (graph.inputs) through edges — send edges: leaves that are data (inputs x[t],
// targets, consts), and anything computed from data alone or behind a `stop`,
// carry no Jacobian. The eliminable set follows Graphax (core.py
// `_checkify_order`): every interior vertex that is not a graph output, plus
// the outputs that also feed other vertices (`vo_vertices`).

import { formatShape, sizeOf, type Graph, type Tensor } from '../graph/types.js';
import type { Range } from '../lang/ast.js';
import { LEAF_OPS } from '../graph/evaluate.js';
import { partialJacobian, partialSparsity } from './rules.js';
import { addJacobians, addSparsity, type SparseJacobian } from './sparsity.js';
import { EligoError } from '../util/errors.js';

export interface LinearEdge {
  readonly src: number;
  readonly dst: number;
  /** ∂dst/∂src; `values` is null in a symbolic graph. */
  readonly jacobian: SparseJacobian;
}

export interface LinearizedGraph {
  readonly graph: Graph;
  /** Edges in order of dst, then operand order. At most one edge per (src, dst): repeated operands are summed. */
  readonly edges: readonly LinearEdge[];
  /** Vertices an order must eliminate, ascending. */
  readonly eliminable: readonly number[];
  /** Outputs that also feed other vertices: eliminating them keeps their in-edges. */
  readonly feedingOutputs: ReadonlySet<number>;
  /** 1 for vertices that depend on an independent variable. */
  readonly active: Uint8Array;
  readonly numeric: boolean;
}

/** A value or partial derivative that is NaN or infinite at the evaluation point. */
export class NonFiniteError extends EligoError {
  constructor(
    message: string,
    readonly vertex: number,
    readonly range: Range,
    /** 'value': the vertex's value; 'partial': the derivative on its edge from `operand`. */
    readonly what: 'value' | 'partial',
    readonly operand?: number,
  ) {
    super('ad.non-finite', message);
  }
}

/** Checks the graph's structural contract: ids are indices, operands come first, inputs are known. */
export function checkGraph(graph: Graph): void {
  graph.vertices.forEach((v, i) => {
    if (v.id !== i) throw new Error(`graph '${graph.name}': vertex at index ${i} has id ${v.id}`);
    if (!v.shape.every((n) => Number.isInteger(n) && n >= 0))
      throw new Error(`graph '${graph.name}': vertex ${i} (${v.op}) has an invalid shape ${formatShape(v.shape)}`);
    for (const u of v.inputs) {
      if (!Number.isInteger(u) || u < 0 || u >= i) throw new Error(`graph '${graph.name}': vertex ${i} (${v.op}) reads ${u}, which does not come before it`);
    }
    if (LEAF_OPS.has(v.op) && v.inputs.length > 0) throw new Error(`graph '${graph.name}': leaf vertex ${i} (${v.op}) has operands`);
  });
  for (const id of [...graph.inputs, ...graph.outputs]) {
    if (!Number.isInteger(id) || id < 0 || id >= graph.vertices.length) throw new Error(`graph '${graph.name}': unknown input/output vertex ${id}`);
  }
}

/** The eliminable vertices of a graph, ascending (Graphax's convention, see above). */
export function eliminableVertices(graph: Graph): number[] {
  const isInput = new Set(graph.inputs);
  const isOutput = new Set(graph.outputs);
  const feeds = new Uint8Array(graph.vertices.length);
  for (const v of graph.vertices) for (const u of v.inputs) feeds[u] = 1;
  const out: number[] = [];
  for (const v of graph.vertices) {
    if (LEAF_OPS.has(v.op) || isInput.has(v.id)) continue;
    if (!isOutput.has(v.id) || feeds[v.id]) out.push(v.id);
  }
  return out;
}

function describe(graph: Graph, id: number): string {
  const v = graph.vertices[id]!;
  return `vertex ${id} (${v.op}${v.name ? ` '${v.name}'` : ''})`;
}

/**
 * Builds the linearized graph. With `values` (from evaluate) the edges carry
 * numeric Jacobians, and a NaN or infinite value or partial throws
 * NonFiniteError naming the vertex.
 */
export function linearize(graph: Graph, values?: readonly Tensor[]): LinearizedGraph {
  checkGraph(graph);
  const n = graph.vertices.length;
  const isInput = new Set(graph.inputs);
  const active = new Uint8Array(n);
  for (const i of graph.inputs) active[i] = 1;
  if (values) {
    for (const v of graph.vertices) {
      const data = values[v.id]?.data;
      if (!data) throw new Error(`no value for vertex ${v.id}`);
      for (let q = 0; q < data.length; q++) {
        if (!Number.isFinite(data[q]!)) {
          throw new NonFiniteError(`${describe(graph, v.id)} is ${data[q]} at this point${data.length > 1 ? ` (element ${q})` : ''}`, v.id, v.range, 'value');
        }
      }
    }
  }
  const edges: LinearEdge[] = [];
  for (const v of graph.vertices) {
    if (LEAF_OPS.has(v.op) || isInput.has(v.id)) continue;
    const shapes = v.inputs.map((u) => graph.vertices[u]!.shape);
    const byOperand = new Map<number, SparseJacobian>();
    v.inputs.forEach((u, k) => {
      if (!active[u]) return;
      let j: SparseJacobian | null;
      if (values) {
        j = partialJacobian(
          v,
          k,
          v.inputs.map((w) => values[w]!),
          values[v.id]!,
        );
        if (j?.values) {
          for (let q = 0; q < j.values.length; q++) {
            if (!Number.isFinite(j.values[q]!)) {
              throw new NonFiniteError(
                `the derivative of ${describe(graph, v.id)} with respect to its operand ${k} (${describe(graph, u)}) is ${j.values[q]} at this point`,
                v.id,
                v.range,
                'partial',
                k,
              );
            }
          }
        }
      } else {
        const s = partialSparsity(v, k, shapes);
        j = s === null ? null : { sparsity: s, values: null };
      }
      if (j === null || j.sparsity.form === 'zero') return;
      const prev = byOperand.get(u);
      // x·x reads x twice: the two partials add up on one edge (Graphax keeps only the last).
      if (prev) byOperand.set(u, values ? addJacobians(prev, j).jacobian : { sparsity: addSparsity(prev.sparsity, j.sparsity).sparsity, values: null });
      else byOperand.set(u, j);
    });
    for (const [u, j] of byOperand) edges.push({ src: u, dst: v.id, jacobian: j });
    if (byOperand.size > 0) active[v.id] = 1;
  }
  const feeds = new Set<number>();
  for (const v of graph.vertices) for (const u of v.inputs) feeds.add(u);
  const feedingOutputs = new Set(graph.outputs.filter((o) => feeds.has(o) && !LEAF_OPS.has(graph.vertices[o]!.op) && !isInput.has(o)));
  return { graph, edges, eliminable: eliminableVertices(graph), feedingOutputs, active, numeric: values !== undefined };
}

/** Size of every vertex's value (elements). */
export function vertexSizes(graph: Graph): Float64Array {
  return Float64Array.from(graph.vertices, (v) => sizeOf(v.shape));
}
