import assert from 'node:assert/strict';
import { costOf, compareOrders } from '../language-server/src/ad/costs.js';
import { Eliminator } from '../language-server/src/ad/eliminate.js';
import { jacobian, stackBlocks } from '../language-server/src/ad/jacobian.js';
import { markowitzOrder } from '../language-server/src/ad/orders.js';
import { GraphBuilder, leafValues } from './helpers/graphBuilder.js';

/** shared/reference/worked-example.md: f(x1, x2) = (log(sin(x1·x2)), x1·x2 + sin(x1·x2)). */
function workedExample() {
  const b = new GraphBuilder('worked');
  const x1 = b.input([], 'x1');
  const x2 = b.input([], 'x2');
  const v1 = b.mul(x1, x2);
  const v2 = b.sin(v1);
  const v3 = b.output(b.log(v2));
  const v4 = b.output(b.add(v1, v2));
  return { graph: b.build(), x1, x2, v1, v2, v3, v4 };
}

describe('vertex elimination: the worked example', () => {
  const w = workedExample();

  it('forward order [v1, v2] costs 8 multiplications and 2 additions', () => {
    const c = costOf(w.graph, [w.v1, w.v2]);
    assert.equal(c.multiplications, 8);
    assert.equal(c.additions, 2);
    assert.deepEqual(
      c.perVertex.map((p) => [p.vertex, p.multiplications, p.additions, p.fillIn]),
      [
        [w.v1, 4, 0, 4], // creates x1→v2, x2→v2, x1→v4, x2→v4
        [w.v2, 4, 2, 2], // adds into x1→v4, x2→v4; creates x1→v3, x2→v3
      ],
    );
    assert.deepEqual(costOf(w.graph, 'forward').multiplications, 8);
  });

  it('reverse order [v2, v1] costs 6 multiplications and 1 addition', () => {
    const c = costOf(w.graph, [w.v2, w.v1]);
    assert.equal(c.multiplications, 6);
    assert.equal(c.additions, 1);
    assert.deepEqual(
      c.perVertex.map((p) => [p.vertex, p.multiplications, p.additions, p.fillIn]),
      [
        [w.v2, 2, 1, 1], // creates v1→v3, adds into v1→v4
        [w.v1, 4, 0, 4],
      ],
    );
  });

  it('Markowitz degrees are v1: 2·2 = 4 and v2: 1·2 = 2, so it eliminates v2 first (6 multiplications)', () => {
    const el = Eliminator.symbolic(w.graph);
    assert.equal(el.markowitz(w.v1), 4);
    assert.equal(el.markowitz(w.v2), 2);
    assert.deepEqual(markowitzOrder(w.graph), [w.v2, w.v1]);
    const cmp = compareOrders(w.graph);
    assert.equal(cmp.forward.cost.multiplications, 8);
    assert.equal(cmp.reverse.cost.multiplications, 6);
    assert.equal(cmp.markowitz.cost.multiplications, 6);
  });

  it('the remaining edges hold the closed-form 2×2 Jacobian, in every order', () => {
    const [a, b] = [0.7, 1.3];
    const s = Math.sin(a * b);
    const c = Math.cos(a * b);
    const expected = [
      (b * c) / s,
      (a * c) / s, //         ∂v3/∂x1, ∂v3/∂x2
      b * (1 + c),
      a * (1 + c), //     ∂v4/∂x1, ∂v4/∂x2
    ];
    for (const order of [
      [w.v1, w.v2],
      [w.v2, w.v1],
    ]) {
      const r = jacobian(w.graph, leafValues(w.graph, { [w.x1]: a, [w.x2]: b }), order);
      const J = stackBlocks(r);
      assert.equal(J.rows, 2);
      assert.equal(J.cols, 2);
      J.data.forEach((x, k) => assert.ok(Math.abs(x - expected[k]!) < 1e-14, `entry ${k}: ${x} vs ${expected[k]}`));
    }
  });

  it('scalar edges store one value each: memory is 8 bytes per live edge, peak taken before the eliminated edges are freed', () => {
    // 6 edges initially: x1→v1, x2→v1, v1→v2, v2→v3, v1→v4, v2→v4.
    const fwd = costOf(w.graph, [w.v1, w.v2]);
    assert.equal(fwd.initialMemoryBytes, 6 * 8);
    // Eliminating v1 first adds 4 edges to the 6: peak 10 edges.
    assert.equal(fwd.peakMemoryBytes, 10 * 8);
    assert.deepEqual(
      fwd.perVertex.map((p) => p.liveBytes / 8),
      [6, 4],
    );
  });

  it('numeric elimination counts the same as the symbolic cost model', () => {
    const r = jacobian(w.graph, leafValues(w.graph, { [w.x1]: 0.3, [w.x2]: 0.4 }), 'forward');
    assert.equal(r.multiplications, 8);
    assert.equal(r.additions, 2);
    assert.equal(r.fillIn, 6);
  });
});

describe('vertex elimination: graph conventions', () => {
  it('an output that also feeds other vertices is eliminable and keeps its in-edges', () => {
    const b = new GraphBuilder();
    const x = b.input([], 'x');
    const u = b.output(b.sin(x)); // an output read by v
    const v = b.output(b.exp(u));
    const g = b.build();
    const r = jacobian(g, leafValues(g, { [x]: 0.5 }), [u]);
    const J = stackBlocks(r);
    assert.ok(Math.abs(J.data[0]! - Math.cos(0.5)) < 1e-15);
    assert.ok(Math.abs(J.data[1]! - Math.exp(Math.sin(0.5)) * Math.cos(0.5)) < 1e-15);
    assert.equal(v, 2);
  });

  it('data leaves and stop carry no edges, and x·x sums both partials on one edge', () => {
    const b = new GraphBuilder();
    const x = b.input([], 'x');
    const d = b.data([], 'd');
    const xx = b.mul(x, x);
    const s = b.op('stop', [x]);
    const y = b.output(b.add(b.mul(xx, d), b.mul(s, x)));
    const g = b.build();
    const r = jacobian(g, leafValues(g, { [x]: 1.5, [d]: 2 }), 'reverse');
    // y = 2x² + stop(x)·x → dy/dx = 4x + x (the stop factor is a constant) = 7.5
    assert.ok(Math.abs(stackBlocks(r).data[0]! - 7.5) < 1e-14);
    assert.equal(y, g.vertices.length - 1);
    const el = Eliminator.symbolic(g);
    assert.equal(el.inEdges(xx).length, 1); // one edge x→xx
    assert.equal(el.outEdges(d).length, 0);
    assert.equal(el.inEdges(s).length, 0);
  });

  it('clone() copies the state: eliminating in the copy leaves the original untouched', () => {
    const w = workedExample();
    const el = Eliminator.symbolic(w.graph);
    el.eliminate(w.v2);
    const copy = el.clone();
    copy.eliminate(w.v1);
    assert.equal(copy.multiplications, 6);
    assert.equal(el.multiplications, 2);
    assert.equal(el.remaining, 1);
    el.eliminate(w.v1);
    assert.equal(el.multiplications, 6);
  });
});

describe('vertex elimination: a tensor graph counted by hand', () => {
  it('t = tanh(W@x), W [3,4], x [4]: eliminating W@x costs 2·3·4 and stores diag⊗x and diag·W', () => {
    const [m, n] = [3, 4];
    const b = new GraphBuilder();
    const W = b.param([m, n], 'W');
    const x = b.input([n], 'x');
    const h = b.matmul(W, x);
    const t = b.output(b.op('tanh', [h]));
    const g = b.build();
    const c = costOf(g, [h]);
    // diag(m)·∂h/∂W (Kronecker over rows ⊗ x): m·n; diag(m)·∂h/∂x (= W, dense m×n): m·n.
    assert.equal(c.multiplications, 2 * m * n);
    assert.equal(c.fillIn, 2);
    // Before: W→h stores x (n), x→h stores W (m·n), h→t stores tanh' (m). The two new edges store m·n each.
    assert.equal(c.initialMemoryBytes, 8 * (n + m * n + m));
    assert.equal(c.peakMemoryBytes, 8 * (n + m * n + m + 2 * m * n));
    assert.equal(c.perVertex[0]!.liveBytes, 8 * 2 * m * n);
    // And the numbers: ∂t_i/∂W_ij = (1 − t_i²)·x_j.
    const Wd = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 0.2, 0.3];
    const xd = [1, -1, 0.5, 2];
    const r = jacobian(g, leafValues(g, { [W]: Wd, [x]: xd }), [h]);
    const dW = r.blocks[0]![0]!;
    for (let i = 0; i < m; i++) {
      const hi = Wd.slice(i * n, i * n + n).reduce((acc, w, j) => acc + w * xd[j]!, 0);
      const d = 1 - Math.tanh(hi) ** 2;
      for (let k = 0; k < m * n; k++) {
        const expected = Math.floor(k / n) === i ? d * xd[k % n]! : 0;
        assert.ok(Math.abs(dW.data[i * m * n + k]! - expected) < 1e-15);
      }
    }
    assert.equal(t, 3);
  });
});
