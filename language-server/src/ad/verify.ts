// Checking a numeric Jacobian against central finite differences.

import { evaluate } from '../graph/evaluate.js';
import { sizeOf, type Graph, type Tensor } from '../graph/types.js';
import type { JacobianResult } from './jacobian.js';

export interface Verification {
  readonly maxAbsError: number;
  /** max |J − FD| / max(|FD|, 1): relative for large entries, absolute for small ones. */
  readonly maxRelativeError: number;
  readonly entries: number;
  /** Finite differences cannot check surrogate gradients: those graphs are reported, not compared. */
  readonly comparable: boolean;
  readonly note?: string;
}

/** `relStep`: the step is relStep·max(|x|, 0.01), so small inputs (RoeFlux's 0.01) get a proportionate step. */
export function verifyJacobian(graph: Graph, leaves: ReadonlyMap<number, Tensor>, result: JacobianResult, relStep = 1e-5): Verification {
  if (graph.vertices.some((v) => v.op === 'spike')) {
    return {
      maxAbsError: NaN,
      maxRelativeError: NaN,
      entries: 0,
      comparable: false,
      note: 'spike uses a surrogate derivative, which finite differences of the Heaviside step do not see',
    };
  }
  // stop(x) is a constant for the derivative; freeze it at the point so the
  // finite differences see the same function the Jacobian differentiates.
  const base = evaluate(graph, leaves);
  const frozen: Graph = {
    ...graph,
    vertices: graph.vertices.map((v) => (v.op === 'stop' ? { ...v, op: 'const' as const, inputs: [], attrs: { value: base[v.id]!.data } } : v)),
  };
  let maxAbs = 0;
  let maxRel = 0;
  let entries = 0;
  graph.inputs.forEach((inputId, l) => {
    const input = leaves.get(inputId)!;
    for (let k = 0; k < sizeOf(input.shape); k++) {
      const h = relStep * Math.max(Math.abs(input.data[k]!), 0.01);
      const at = (d: number): readonly Tensor[] => {
        const data = Float64Array.from(input.data);
        data[k]! += d;
        return evaluate(frozen, new Map(leaves).set(inputId, { shape: input.shape, data }));
      };
      const plus = at(h);
      const minus = at(-h);
      graph.outputs.forEach((o, i) => {
        const block = result.blocks[i]![l]!;
        const p = plus[o]!.data;
        const m = minus[o]!.data;
        for (let r = 0; r < p.length; r++) {
          const fd = (p[r]! - m[r]!) / (2 * h);
          const j = block.data[r * block.cols + k]!;
          const err = Math.abs(j - fd);
          maxAbs = Math.max(maxAbs, err);
          maxRel = Math.max(maxRel, err / Math.max(Math.abs(fd), 1));
          entries++;
        }
      });
    }
  });
  return { maxAbsError: maxAbs, maxRelativeError: maxRel, entries, comparable: true };
}
