import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluate } from '../language-server/src/graph/evaluate.js';
import { sizeOf, type Graph, type Tensor } from '../language-server/src/graph/types.js';
import { costOf } from '../language-server/src/ad/costs.js';
import { jacobian, stackBlocks, JacobianTooLargeError, NonFiniteError } from '../language-server/src/ad/jacobian.js';
import { forwardOrder, markowitzOrder, reverseOrder } from '../language-server/src/ad/orders.js';
import { GraphBuilder, leafValues } from './helpers/graphBuilder.js';
import { randomMixedGraph, rng, shuffle } from './helpers/randomGraphs.js';

/** Central finite differences of all outputs with respect to all inputs, stacked like stackBlocks. */
function finiteDifferences(graph: Graph, leaves: Map<number, Tensor>): Float64Array {
  const rows = graph.outputs.reduce((a, o) => a + sizeOf(graph.vertices[o]!.shape), 0);
  const cols = graph.inputs.reduce((a, i) => a + sizeOf(graph.vertices[i]!.shape), 0);
  const J = new Float64Array(rows * cols);
  const outputsAt = (m: Map<number, Tensor>): number[] => {
    const vals = evaluate(graph, m);
    return graph.outputs.flatMap((o) => [...vals[o]!.data]);
  };
  let c = 0;
  for (const i of graph.inputs) {
    const base = leaves.get(i)!;
    for (let e = 0; e < base.data.length; e++, c++) {
      const h = 1e-6 * Math.max(1, Math.abs(base.data[e]!));
      const shifted = (d: number): Map<number, Tensor> => {
        const data = Float64Array.from(base.data);
        data[e]! += d;
        return new Map(leaves).set(i, { shape: base.shape, data });
      };
      const [p, m] = [outputsAt(shifted(h)), outputsAt(shifted(-h))];
      for (let r = 0; r < rows; r++) J[r * cols + c] = (p[r]! - m[r]!) / (2 * h);
    }
  }
  return J;
}

describe('numeric Jacobians on random graphs (scalars, vectors, matrices, matmul, reductions, transforms)', () => {
  it('every valid order gives the same Jacobian (1e-9 relative), equal to central finite differences, and counts what costOf counts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 3, max: 14 }), (seed, steps) => {
        const { graph, leaves } = randomMixedGraph(seed, steps);
        let ref;
        try {
          ref = jacobian(graph, leaves, 'forward');
        } catch (e) {
          // A random point can hit a singularity (atan2(0, 0) after sub(a, a)): reported, not differentiated.
          if (e instanceof NonFiniteError) return fc.pre(false);
          throw e;
        }
        const J = stackBlocks(ref).data;
        const r = rng(seed ^ 0x5eed);
        const orders = [reverseOrder(graph), markowitzOrder(graph), ...[0, 1, 2].map(() => shuffle(forwardOrder(graph), r))];
        for (const order of orders) {
          const got = jacobian(graph, leaves, order);
          const G = stackBlocks(got).data;
          G.forEach((x, k) =>
            assert.ok(Math.abs(x - J[k]!) <= 1e-9 * Math.max(1, Math.abs(J[k]!)), `seed ${seed}: order [${order.join(', ')}] entry ${k}: ${x} vs ${J[k]}`),
          );
          const c = costOf(graph, order);
          assert.equal(got.multiplications, c.multiplications);
          assert.equal(got.additions, c.additions);
          assert.equal(got.fillIn, c.fillIn);
          assert.equal(got.peakMemoryBytes, c.peakMemoryBytes);
        }
        const fd = finiteDifferences(graph, leaves);
        fd.forEach((x, k) =>
          assert.ok(Math.abs(x - J[k]!) <= 1e-6 * Math.max(1, Math.abs(x)), `seed ${seed}: entry ${k}: eliminated ${J[k]} vs finite differences ${x}`),
        );
        return true;
      }),
      { numRuns: 150 },
    );
  });
});

describe('numeric Jacobians: guards', () => {
  it('refuses a dense Jacobian over the limit before allocating, with the estimate in bytes', () => {
    const b = new GraphBuilder('big');
    const x = b.input([20000], 'x');
    b.output(b.sin(x));
    const g = b.build();
    assert.throws(
      () => jacobian(g, new Map(), 'forward'),
      (e: unknown) => e instanceof JacobianTooLargeError && e.what === 'jacobian' && e.estimateBytes === 8 * 20000 * 20000 && /MiB/.test(e.message),
    );
  });

  it('refuses an elimination whose edges would exceed the limit even when the Jacobian is small', () => {
    const n = 100;
    const b = new GraphBuilder('wide');
    const x = b.input([n], 'x');
    const B = b.op('broadcast', [x], { shape: [n, n], axes: [1] });
    b.output(b.sum(b.op('sin', [B])));
    const g = b.build();
    const leaves = new Map([[x, { shape: [n], data: new Float64Array(n).fill(0.1) }]]);
    assert.throws(
      () => jacobian(g, leaves, 'forward', { maxBytes: 10_000 }),
      (e: unknown) => e instanceof JacobianTooLargeError && e.what === 'elimination' && e.estimateBytes > 10_000,
    );
    const ok = jacobian(g, leaves, 'forward');
    assert.ok(Math.abs(ok.blocks[0]![0]!.data[0]! - n * Math.cos(0.1)) < 1e-12);
  });

  it('reports a NaN value at the point with the vertex id and its source range', () => {
    const b = new GraphBuilder();
    const x = b.input([], 'x');
    const l = b.log(x);
    b.output(b.sin(l));
    const g = b.build();
    assert.throws(
      () => jacobian(g, leafValues(g, { [x]: -1 })),
      (e: unknown) => e instanceof NonFiniteError && e.vertex === l && e.what === 'value' && e.range === g.vertices[l]!.range && /log/.test(e.message),
    );
  });

  it('reports an infinite partial (√x at 0) with the vertex and operand', () => {
    const b = new GraphBuilder();
    const x = b.input([], 'x');
    const s = b.sqrt(x);
    b.output(b.mul(s, x));
    const g = b.build();
    assert.throws(
      () => jacobian(g, leafValues(g, { [x]: 0 })),
      (e: unknown) => e instanceof NonFiniteError && e.vertex === s && e.what === 'partial' && e.operand === 0,
    );
  });
});
