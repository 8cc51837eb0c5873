// The partial Jacobians of one equation with respect to each of its
// operands, for the hover: `∂u[t+1]/∂u = 0.9512·I (scaled identity, 64)`.
//
// The equation's own vertices (its `group` in the graph) are cut out of the
// item's graph with every operand they read — states, params, inputs, other
// equations' results — as an independent leaf; eliminating the interior of
// that small graph (ad/eliminate.ts) leaves one edge operand → result whose
// Jacobian is the partial, with the sparsity the cost model sees. Values are
// taken at the evaluation point of graph/point.ts (a function's `# @eval`,
// a model's state after T steps), where the CLI verifies its Jacobians.

import type { Compiled, NamedItem } from '../compile.js';
import { graphOf } from '../compile.js';
import { evaluate } from '../graph/evaluate.js';
import { evaluationPoint } from '../graph/point.js';
import { sizeOf, type Graph, type Tensor, type Vertex } from '../graph/types.js';
import { Eliminator } from '../ad/eliminate.js';
import { linearize } from '../ad/linearize.js';
import { describeSparsity, type SparseJacobian } from '../ad/sparsity.js';
import { fmtNumber } from './numbers.js';
import { equationVertexName, type Equation } from './locate.js';

export interface PartialJacobian {
  /** `∂u[t+1]/∂u` */
  readonly label: string;
  readonly operand: string;
  /** Readable sparsity: `scaled identity, 64`, `diagonal, 64`, `dense, 64 × 64`. */
  readonly sparsity: string;
  /** Stored values of the Jacobian (what elimination multiplies). */
  readonly stored: number;
  /** The value where it is one number (`0.9512·I`, a scalar), or a range of a diagonal. */
  readonly value?: string;
}

export interface EquationJacobians {
  readonly result: string;
  readonly where?: string;
  readonly partials: readonly PartialJacobian[];
}

/** Equations whose sub-graph is larger than this are not differentiated on hover. */
const MAX_VALUES = 4e6;

function operandLabel(v: Vertex): string {
  return v.name ?? `%${v.id}`;
}

/** Values of every vertex at the evaluation point (graph/point.ts), or undefined when it cannot be evaluated. */
function pointValues(c: Compiled, item: NamedItem, graph: Graph, steps: number): { values: Tensor[]; where: string } | undefined {
  try {
    const point = evaluationPoint(c, item, graph, steps);
    return { values: evaluate(graph, point.leaves), where: point.description };
  } catch {
    return undefined;
  }
}

function describe(j: SparseJacobian | null, outSize: number, inSize: number): { sparsity: string; stored: number; value?: string } {
  if (!j || j.sparsity.form === 'zero') return { sparsity: 'zero: no gradient', stored: 0 };
  const s = j.sparsity;
  if (s.form === 'flat') return { sparsity: `reshape, ${fmtNumber(outSize)}`, stored: 0 };
  const vals = j.values;
  const allPairs =
    s.out.length > 0 &&
    s.out.every((d) => d.kind === 'pair') &&
    s.in.every((d) => d.kind === 'pair') &&
    s.out.length === s.in.length &&
    s.pairs.every((p) => p.offset === 0 && p.lo === 0);
  if (outSize === 1 && inSize === 1) return { sparsity: 'scalar', stored: Math.max(1, s.valueCount), ...(vals?.length ? { value: fmtNumber(vals[0]!) } : {}) };
  if (allPairs && !s.hasValues) return { sparsity: `identity, ${fmtNumber(outSize)}`, stored: 0, value: 'I' };
  if (allPairs && s.valueCount === 1)
    return { sparsity: `scaled identity, ${fmtNumber(outSize)}`, stored: 1, ...(vals?.length ? { value: `${fmtNumber(vals[0]!)}·I` } : {}) };
  if (allPairs && s.pairs.every((p) => p.stored)) {
    let value: string | undefined;
    if (vals?.length) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of vals) {
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      value = lo === hi ? `${fmtNumber(lo)}·I` : `diag(…) in [${fmtNumber(lo)}, ${fmtNumber(hi)}]`;
    }
    return { sparsity: `diagonal, ${fmtNumber(outSize)}`, stored: s.valueCount, ...(value ? { value } : {}) };
  }
  if (s.out.every((d) => d.kind === 'dense') && s.in.every((d) => d.kind === 'dense')) {
    return { sparsity: `dense, ${fmtNumber(outSize)} × ${fmtNumber(inSize)}`, stored: s.valueCount };
  }
  const paired = s.pairs.length;
  const dense = [...s.out, ...s.in].filter((d) => d.kind === 'dense').length;
  if (paired > 0 && dense > 0) {
    return {
      sparsity: `Kronecker (δ on ${paired} axis pair${paired === 1 ? '' : 's'} ⊗ dense), ${fmtNumber(s.valueCount)} stored of ${fmtNumber(outSize * inSize)}`,
      stored: s.valueCount,
    };
  }
  return { sparsity: `${describeSparsity(s)}, ${fmtNumber(s.valueCount)} stored of ${fmtNumber(outSize * inSize)}`, stored: s.valueCount };
}

/**
 * The partials of `eq` in `item`, or undefined when the item has no graph or
 * the equation has no vertex of its own (`let y = x`).
 */
export function equationJacobians(c: Compiled, item: NamedItem, eq: Equation, steps: number): EquationJacobians | undefined {
  if (item.kind !== 'function' && item.kind !== 'model') return undefined;
  let graph: Graph;
  try {
    graph = graphOf(c, item);
  } catch {
    return undefined;
  }
  const name = equationVertexName(eq);
  let result: Vertex | undefined;
  for (const v of graph.vertices) if (v.name === name && v.role !== 'const' && v.inputs.length > 0) result = v;
  if (!result) return undefined;
  const group = result.group;
  // The equation's own vertices: ancestors of the result inside its group.
  const inside = new Set<number>();
  const stack = [result.id];
  while (stack.length) {
    const id = stack.pop()!;
    if (inside.has(id)) continue;
    inside.add(id);
    for (const u of graph.vertices[id]!.inputs) {
      const w = graph.vertices[u]!;
      if (w.inputs.length > 0 && w.group === group && (w.name === undefined || w.name === name)) stack.push(u);
    }
  }
  const members = [...inside].sort((a, b) => a - b);
  let total = 0;
  for (const id of members) total += sizeOf(graph.vertices[id]!.shape);
  if (total > MAX_VALUES) return undefined;
  // Operands: what the members read from outside (constants stay constants).
  const operands: number[] = [];
  const seen = new Set<number>();
  for (const id of members) {
    for (const u of graph.vertices[id]!.inputs) {
      if (inside.has(u) || seen.has(u)) continue;
      seen.add(u);
      operands.push(u);
    }
  }
  const remap = new Map<number, number>();
  const vertices: Vertex[] = [];
  const inputs: number[] = [];
  for (const u of operands) {
    const w = graph.vertices[u]!;
    const id = vertices.length;
    remap.set(u, id);
    if (w.op === 'const') {
      vertices.push({ ...w, id, inputs: [] });
    } else {
      vertices.push({ id, op: 'input', shape: w.shape, inputs: [], attrs: {}, role: 'input', name: operandLabel(w), range: w.range });
      inputs.push(id);
    }
  }
  for (const m of members) {
    const w = graph.vertices[m]!;
    const id = vertices.length;
    remap.set(m, id);
    vertices.push({ ...w, id, inputs: w.inputs.map((u) => remap.get(u)!), role: m === result.id ? 'output' : 'op' });
  }
  const sub: Graph = { name: `${graph.name}/${name}`, kind: 'function', vertices, inputs, outputs: [remap.get(result.id)!] };
  const point = pointValues(c, item, graph, steps);
  const full = point?.values;
  let el: Eliminator;
  try {
    let values: Tensor[] | undefined;
    if (full) {
      const leaves = new Map<number, Tensor>();
      for (const u of operands) if (graph.vertices[u]!.op !== 'const') leaves.set(remap.get(u)!, full[u]!);
      values = evaluate(sub, leaves);
    }
    try {
      el = Eliminator.of(linearize(sub, values));
    } catch {
      // NaN at the point: fall back to the structure alone.
      el = Eliminator.of(linearize(sub));
    }
    el.run([...el.linearized.eliminable].reverse());
  } catch {
    return undefined;
  }
  const out = remap.get(result.id)!;
  const outSize = sizeOf(result.shape);
  const partials: PartialJacobian[] = [];
  for (const u of operands) {
    const w = graph.vertices[u]!;
    if (w.op === 'const') continue;
    const label = operandLabel(w);
    const d = describe(el.edge(remap.get(u)!, out), outSize, sizeOf(w.shape));
    const data = w.role === 'input' && graph.kind !== 'function' ? ' (data: not differentiated in training)' : w.role === 'target' ? ' (data)' : '';
    partials.push({ label: `∂${name}/∂${label}`, operand: label, sparsity: `${d.sparsity}${data}`, stored: d.stored, ...(d.value ? { value: d.value } : {}) });
  }
  const where = point ? `at the evaluation point, ${point.where}` : undefined;
  return { result: name, ...(where ? { where } : {}), partials };
}
