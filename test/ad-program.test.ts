// The Jacobian program (ad/program.ts) against the value-by-value elimination
// of jacobian(): every example in every named order and random orders, random
// mixed graphs (fast-check), batches of different points, chunking, guards.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compile, graphOf } from '../language-server/src/compile.js';
import { costOf } from '../language-server/src/ad/costs.js';
import { jacobian, JacobianTooLargeError, NonFiniteError, type JacobianBlock } from '../language-server/src/ad/jacobian.js';
import { forwardOrder, markowitzOrder, OrderError, reverseOrder } from '../language-server/src/ad/orders.js';
import { compileJacobianProgram, jacobianByProgram, programJacobian, sampleBlocks, type BatchJacobian } from '../language-server/src/ad/program.js';
import { evaluateBatch } from '../language-server/src/graph/evaluate.js';
import { evaluationPoint } from '../language-server/src/graph/point.js';
import { sizeOf, type Graph, type Tensor } from '../language-server/src/graph/types.js';
import { GraphBuilder, leafValues } from './helpers/graphBuilder.js';
import { randomMixedGraph, randomScalarGraph, rng, shuffle } from './helpers/randomGraphs.js';

const EXAMPLES = join(__dirname, '..', 'examples');

/** |got − want| ≤ 1e-9 · max(1, |want|) for every entry of every block. */
function assertSame(got: readonly (readonly JacobianBlock[])[], want: readonly (readonly JacobianBlock[])[], what: string, tol = 1e-9): void {
  assert.equal(got.length, want.length, `${what}: outputs`);
  want.forEach((row, k) =>
    row.forEach((b, l) => {
      const g = got[k]![l]!;
      assert.equal(g.rows, b.rows, `${what}: rows of block ${k},${l}`);
      assert.equal(g.cols, b.cols, `${what}: cols of block ${k},${l}`);
      b.data.forEach((x, q) => {
        const y = g.data[q]!;
        assert.ok(Math.abs(y - x) <= tol * Math.max(1, Math.abs(x)), `${what}: block ${k},${l} entry ${q}: program ${y}, jacobian() ${x}`);
      });
    }),
  );
}

/** `batch` points around `leaves`: independent inputs scaled per sample, other leaves shared. */
function batchLeaves(
  graph: Graph,
  leaves: ReadonlyMap<number, Tensor>,
  batch: number,
  seed: number,
  spread = 0.05,
): { batched: Map<number, Tensor>; points: Map<number, Tensor>[] } {
  const r = rng(seed);
  const inputs = new Set(graph.inputs);
  const points = Array.from({ length: batch }, () => new Map(leaves));
  const batched = new Map(leaves);
  for (const [id, t] of leaves) {
    if (!inputs.has(id)) continue;
    const n = t.data.length;
    const data = new Float64Array(n * batch);
    for (let b = 0; b < batch; b++) {
      const one = new Float64Array(n);
      for (let q = 0; q < n; q++) one[q] = b === 0 ? t.data[q]! : t.data[q]! * (1 + spread * (2 * r() - 1));
      data.set(one, b * n);
      points[b]!.set(id, { shape: t.shape, data: one });
    }
    batched.set(id, { shape: t.shape, data });
  }
  return { batched, points };
}

function examples(): { file: string; name: string; graph: Graph; leaves: Map<number, Tensor> }[] {
  const out = [];
  for (const file of readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.eligo'))
    .sort()) {
    const c = compile(readFileSync(join(EXAMPLES, file), 'utf8'));
    for (const item of c.items) {
      if (item.kind === 'rule' || item.hasErrors) continue;
      const graph = graphOf(c, item);
      out.push({ file, name: item.name, graph, leaves: evaluationPoint(c, item, graph).leaves });
    }
  }
  return out;
}

describe('Jacobian programs: every example', () => {
  for (const ex of examples()) {
    it(`${ex.file} ${ex.name}: forward, reverse, Markowitz and 2 random orders equal jacobian() (1e-9) and count what costOf counts`, function () {
      this.timeout(60000);
      const r = rng(0xe1160);
      const orders: [string, readonly number[]][] = [
        ['forward', forwardOrder(ex.graph)],
        ['reverse', reverseOrder(ex.graph)],
        ['markowitz', markowitzOrder(ex.graph)],
        ['random 1', shuffle(forwardOrder(ex.graph), r)],
        ['random 2', shuffle(forwardOrder(ex.graph), r)],
      ];
      const values = evaluateBatch(ex.graph, ex.leaves, 1);
      for (const [label, order] of orders) {
        const ref = jacobian(ex.graph, ex.leaves, order);
        const program = compileJacobianProgram(ex.graph, order);
        assertSame(sampleBlocks(program.run(values, 1), 0), ref.blocks, `${ex.name} ${label}`);
        const c = costOf(ex.graph, order);
        assert.deepEqual(
          [program.multiplications, program.additions, program.fillIn, program.peakMemoryBytes],
          [c.multiplications, c.additions, c.fillIn, c.peakMemoryBytes],
          `${ex.name} ${label}: costs`,
        );
        assert.ok(
          program.stats.arenaValues * 8 <= 2 * c.peakMemoryBytes + 64,
          `${ex.name} ${label}: arena ${program.stats.arenaValues} values vs peak ${c.peakMemoryBytes} bytes`,
        );
      }
    });

    it(`${ex.file} ${ex.name}: a batch of 4 different points, every sample equal to jacobian() at its point`, function () {
      this.timeout(60000);
      const B = 4;
      const { batched, points } = batchLeaves(ex.graph, ex.leaves, B, 7);
      const program = compileJacobianProgram(ex.graph, 'markowitz');
      const result = program.run(evaluateBatch(ex.graph, batched, B), B);
      for (let b = 0; b < B; b++) assertSame(sampleBlocks(result, b), jacobian(ex.graph, points[b]!, 'markowitz').blocks, `${ex.name} sample ${b}`);
    });
  }
});

describe('Jacobian programs: random graphs', () => {
  it('random mixed graphs (scalars, vectors, matrices, matmul, reductions, transforms), random orders, batches with shared data: equal to jacobian()', function () {
    this.timeout(120000);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 3, max: 16 }), fc.integer({ min: 1, max: 5 }), (seed, steps, B) => {
        const { graph, leaves } = randomMixedGraph(seed, steps);
        const r = rng(seed ^ 0x51ab);
        // Data leaves (read, not differentiated) are shared by the batch half of the time.
        for (const v of graph.vertices) {
          if (v.op === 'input' && !graph.inputs.includes(v.id) && !leaves.has(v.id)) {
            const n = sizeOf(v.shape);
            const shared = r() < 0.5;
            leaves.set(v.id, { shape: v.shape, data: Float64Array.from({ length: shared ? n : n * B }, () => 2 * r() - 1) });
          }
        }
        const { batched, points } = batchLeaves(graph, leaves, B, seed, 0.2);
        // Per-sample points for batched data leaves.
        for (const [id, t] of batched) {
          if (graph.inputs.includes(id)) continue;
          const n = sizeOf(t.shape);
          if (t.data.length === n * B && B > 1) points.forEach((p, b) => p.set(id, { shape: t.shape, data: t.data.slice(b * n, (b + 1) * n) }));
        }
        const refs = [];
        try {
          for (let b = 0; b < B; b++) refs.push(jacobian(graph, points[b]!, 'reverse'));
        } catch (e) {
          if (e instanceof NonFiniteError) return fc.pre(false); // a singular point (atan2(0, 0)): reported, not differentiated
          throw e;
        }
        const values = evaluateBatch(graph, batched, B);
        const orders = [forwardOrder(graph), reverseOrder(graph), markowitzOrder(graph), shuffle(forwardOrder(graph), r), shuffle(forwardOrder(graph), r)];
        for (const order of orders) {
          const program = compileJacobianProgram(graph, order);
          const c = costOf(graph, order);
          assert.equal(program.multiplications, c.multiplications);
          assert.equal(program.additions, c.additions);
          const result = program.run(values, B, { chunk: 1 + Math.floor(r() * B) });
          for (let b = 0; b < B; b++)
            assertSame(sampleBlocks(result, b), refs[b]!.blocks, `seed ${seed} steps ${steps} order [${order.join(', ')}] sample ${b}`);
        }
        return true;
      }),
      { numRuns: 150 },
    );
  });

  it('random 100-vertex scalar graphs (the shape of the AD benchmark tasks): random orders at batch 1 and 64 equal jacobian()', function () {
    this.timeout(60000);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const graph = randomScalarGraph(seed, 100);
        const leaves = leafValues(graph, Object.fromEntries(graph.inputs.map((i, k) => [i, 0.3 + 0.1 * k])));
        let ref;
        try {
          ref = jacobian(graph, leaves, 'forward');
        } catch (e) {
          if (e instanceof NonFiniteError) return fc.pre(false); // log or sqrt of a negative value
          throw e;
        }
        const order = shuffle(forwardOrder(graph), rng(seed));
        const program = compileJacobianProgram(graph, order);
        assertSame(sampleBlocks(program.run(evaluateBatch(graph, leaves, 1), 1), 0), ref.blocks, `seed ${seed}`, 1e-8);
        const { batched } = batchLeaves(graph, leaves, 64, seed, 0);
        const many = program.run(evaluateBatch(graph, batched, 64), 64);
        for (const b of [0, 17, 63]) assertSame(sampleBlocks(many, b), ref.blocks, `seed ${seed} sample ${b}`, 1e-8);
        return true;
      }),
      { numRuns: 25 },
    );
  });
});

describe('Jacobian programs: structure and guards', () => {
  it('x·x (a repeated operand) sums both partials, and a reduce_max tie splits the derivative', () => {
    const b = new GraphBuilder('sq');
    const x = b.input([3], 'x');
    const sq = b.mul(x, x);
    const m = b.op('reduce_max', [sq]);
    b.output(m);
    b.output(sq);
    const g = b.build();
    const leaves = leafValues(g, { [x]: [1, -1, 0.5] });
    const res = programJacobian(g, leaves, 1, 'forward');
    assert.deepEqual([...res.blocks[0]![0]!.data], [1, -1, 0]); // ½·2x at the tie x = ±1
    assert.deepEqual([...res.blocks[1]![0]!.data], [2, 0, 0, 0, -2, 0, 0, 0, 1]);
  });

  it('an output that is also an input gets the identity block; an output that does not depend on an input gets zeros', () => {
    const b = new GraphBuilder('id');
    const x = b.input([2], 'x');
    const y = b.input([], 'y');
    b.output(x);
    b.output(b.sin(y));
    const g = b.build();
    const res = programJacobian(g, leafValues(g, { [x]: [1, 2], [y]: 0 }), 2);
    assert.deepEqual([...res.blocks[0]![0]!.data], [1, 0, 0, 1, 1, 0, 0, 1]);
    assert.deepEqual([...res.blocks[0]![1]!.data], [0, 0, 0, 0]);
    assert.deepEqual([...res.blocks[1]![1]!.data], [1, 1]);
  });

  it('the chunk size does not change the result', () => {
    const c = compile(readFileSync(join(EXAMPLES, 'transformer.eligo'), 'utf8'));
    const item = c.items.find((i) => i.name === 'transformer')!;
    const graph = graphOf(c, item);
    const { batched } = batchLeaves(graph, evaluationPoint(c, item, graph).leaves, 37, 3);
    const program = compileJacobianProgram(graph, 'reverse');
    const values = evaluateBatch(graph, batched, 37);
    const flat = (r: BatchJacobian): number[] => r.blocks.flatMap((row) => row.flatMap((bl) => [...bl.data]));
    const whole = flat(program.run(values, 37, { chunk: 37 }));
    for (const chunk of [1, 2, 8, 36]) assert.deepEqual(flat(program.run(values, 37, { chunk })), whole, `chunk ${chunk}`);
  });

  it('NaN at the point: reported with the vertex and sample when checkFinite is on', () => {
    const b = new GraphBuilder();
    const x = b.input([], 'x');
    const l = b.log(x);
    b.output(b.sin(l));
    const g = b.build();
    const program = compileJacobianProgram(g, 'reverse');
    const values = evaluateBatch(g, new Map([[x, { shape: [], data: Float64Array.from([1, 2, -1]) }]]), 3);
    assert.throws(
      () => program.run(values, 3, { checkFinite: true }),
      (e: unknown) => e instanceof NonFiniteError && e.vertex === l && e.what === 'value' && /sample 2/.test(e.message),
    );
    const b2 = new GraphBuilder();
    const x2 = b2.input([], 'x');
    const r2 = b2.sqrt(x2);
    b2.output(b2.mul(r2, x2));
    const g2 = b2.build();
    const v2 = evaluateBatch(g2, new Map([[x2, { shape: [], data: Float64Array.from([1, 0]) }]]), 2);
    assert.throws(
      () => compileJacobianProgram(g2).run(v2, 2, { checkFinite: true }),
      (e: unknown) => e instanceof NonFiniteError && e.vertex === r2 && e.what === 'partial' && /sample 1/.test(e.message),
    );
    // Without the check, NaN propagates into that sample only.
    const res = program.run(values, 3);
    assert.ok(Number.isNaN(res.blocks[0]![0]!.data[2]!));
    assert.ok(Math.abs(res.blocks[0]![0]!.data[0]! - Math.cos(0)) < 1e-15);
  });

  it("jacobianByProgram keeps jacobian()'s contract: result, counts, NonFiniteError with vertex and operand, limits", () => {
    const c = compile(readFileSync(join(EXAMPLES, 'roeflux_1d.eligo'), 'utf8'));
    const item = c.items.find((i) => i.name === 'roeflux_1d')!;
    const graph = graphOf(c, item);
    const leaves = evaluationPoint(c, item, graph).leaves;
    const ref = jacobian(graph, leaves, 'markowitz');
    const got = jacobianByProgram(graph, leaves, 'markowitz');
    assertSame(got.blocks, ref.blocks, 'roeflux_1d');
    assert.deepEqual(
      [got.multiplications, got.additions, got.fillIn, got.peakMemoryBytes, got.order],
      [ref.multiplications, ref.additions, ref.fillIn, ref.peakMemoryBytes, ref.order],
    );
    got.values.forEach((t, k) => assert.deepEqual([...t.data], [...ref.values[k]!.data]));
    const b = new GraphBuilder();
    const x = b.input([], 'x');
    const s = b.sqrt(x);
    b.output(b.mul(s, x));
    const g = b.build();
    const leaf = leafValues(g, { [x]: 0 });
    for (const f of [jacobian, jacobianByProgram]) {
      assert.throws(
        () => f(g, leaf),
        (e: unknown) =>
          e instanceof NonFiniteError &&
          e.vertex === s &&
          e.what === 'partial' &&
          e.operand === 0 &&
          e.message === "the derivative of vertex 1 (sqrt) with respect to its operand 0 (vertex 0 (input 'x')) is Infinity at this point",
      );
    }
    assert.throws(() => jacobianByProgram(graph, leaves, 'forward', { maxBytes: 100 }), JacobianTooLargeError);
  });

  it('refuses an invalid order, a Jacobian over the limit, and a batch over the run limit', () => {
    const b = new GraphBuilder('big');
    const x = b.input([2000], 'x');
    b.output(b.sin(b.cos(x)));
    const g = b.build();
    assert.throws(() => compileJacobianProgram(g, [99]), OrderError);
    assert.throws(
      () => compileJacobianProgram(g, 'forward', { maxBytes: 1_000_000 }),
      (e: unknown) => e instanceof JacobianTooLargeError && e.what === 'jacobian',
    );
    const program = compileJacobianProgram(g, 'forward');
    const values = evaluateBatch(g, new Map([[x, { shape: [2000], data: new Float64Array(2000 * 8).fill(0.5) }]]), 8);
    assert.throws(
      () => program.run(values, 8, { maxBytes: 100_000_000 }),
      (e: unknown) => e instanceof JacobianTooLargeError && e.estimateBytes > 100_000_000,
    );
  });
});
