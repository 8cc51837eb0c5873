import assert from 'node:assert/strict';
import { costOf } from '../language-server/src/ad/costs.js';
import { Eliminator } from '../language-server/src/ad/eliminate.js';
import { eliminableVertices } from '../language-server/src/ad/linearize.js';
import { forwardOrder, markowitzOrder, OrderError, reverseOrder, validateOrder } from '../language-server/src/ad/orders.js';
import { GraphBuilder } from './helpers/graphBuilder.js';
import { randomScalarGraph, rng, shuffle } from './helpers/randomGraphs.js';
import { roeFlux1d } from './helpers/roeflux.js';

function small() {
  const b = new GraphBuilder('small');
  const x = b.input([], 'x');
  const d = b.data([], 'd');
  const u = b.mul(x, d);
  const s = b.output(b.op('sin', [u], {}, undefined, 's'));
  const y = b.output(b.exp(b.cos(s))); // s is an output that feeds cos: eliminable
  return { g: b.build(), x, d, u, s, y };
}

describe('elimination orders', () => {
  it('the eliminable set is every interior non-output vertex plus the outputs that feed others (Graphax)', () => {
    const { g, u, s, y } = small();
    const cos = y - 1;
    assert.deepEqual(eliminableVertices(g), [u, s, cos]);
    assert.deepEqual(forwardOrder(g), [u, s, cos]);
    assert.deepEqual(reverseOrder(g), [cos, s, u]);
  });

  it('validateOrder accepts any permutation of the eliminable set', () => {
    const { g, u, s, y } = small();
    validateOrder(g, [s, y - 1, u]);
  });

  it('an unknown vertex is an OrderError naming it', () => {
    const { g, u, s, y } = small();
    assert.throws(
      () => validateOrder(g, [u, s, y - 1, 99]),
      (e: unknown) => e instanceof OrderError && e.reason === 'unknown' && e.vertex === 99 && /no vertex 99/.test(e.message),
    );
  });

  it('an input, a data leaf or a final output cannot be eliminated', () => {
    const { g, x, d, u, s, y } = small();
    assert.throws(
      () => validateOrder(g, [x, u, s, y - 1]),
      (e: unknown) => e instanceof OrderError && e.reason === 'not-eliminable' && e.vertex === x && /independent input/.test(e.message),
    );
    assert.throws(
      () => validateOrder(g, [d, u, s, y - 1]),
      (e: unknown) => e instanceof OrderError && e.reason === 'not-eliminable' && e.vertex === d && /leaf/.test(e.message),
    );
    assert.throws(
      () => validateOrder(g, [u, s, y - 1, y]),
      (e: unknown) => e instanceof OrderError && e.reason === 'not-eliminable' && e.vertex === y && /output that feeds no other vertex/.test(e.message),
    );
  });

  it('a duplicate is an OrderError naming the vertex and both positions', () => {
    const { g, u, s, y } = small();
    assert.throws(
      () => validateOrder(g, [u, s, u, y - 1]),
      (e: unknown) => e instanceof OrderError && e.reason === 'duplicate' && e.vertex === u && e.position === 2 && /first at position 0/.test(e.message),
    );
  });

  it('a missing vertex is an OrderError naming it, and costOf refuses the order', () => {
    const { g, u, s } = small();
    assert.throws(
      () => validateOrder(g, [u, s]),
      (e: unknown) => e instanceof OrderError && e.reason === 'missing' && e.vertex === s + 1 && /\(cos\)/.test(e.message),
    );
    assert.throws(() => costOf(g, [u, s]), OrderError);
  });

  it('minimal Markowitz picks the smallest degree (Σ predecessor sizes × Σ successor sizes) each step', () => {
    // sum(tanh(W@x)) with W [4,3], x [3]: W@x has degree (12 + 3)·4 = 60, tanh has 4·1 = 4.
    const b = new GraphBuilder();
    const W = b.param([4, 3], 'W');
    const x = b.input([3], 'x');
    const h = b.matmul(W, x);
    const t = b.op('tanh', [h]);
    b.output(b.sum(t));
    const g = b.build();
    const el = Eliminator.symbolic(g);
    assert.equal(el.markowitz(h), (12 + 3) * 4);
    assert.equal(el.markowitz(t), 4 * 1);
    assert.deepEqual(markowitzOrder(g), [t, h]);
  });

  it('RoeFlux_1d: 98 eliminable vertices, as the reference graph; reverse beats forward', () => {
    const g = roeFlux1d();
    assert.equal(eliminableVertices(g).length, 98);
    const fwd = costOf(g, 'forward').multiplications;
    const rev = costOf(g, 'reverse').multiplications;
    assert.ok(rev < fwd, `reverse ${rev} vs forward ${fwd}`);
  });
});

describe('symbolic cost throughput', () => {
  // The search needs ≥ 10,000 complete orders scored per second on a ~100-vertex graph.
  // Measured here (and printed); the assertion keeps a margin for loaded CI machines.
  for (const [name, make] of [
    ['RoeFlux_1d', roeFlux1d],
    ['a random 100-vertex scalar graph', () => randomScalarGraph(7, 100)],
  ] as const) {
    it(`scores thousands of random complete orders per second on ${name}`, function () {
      this.timeout(30000);
      const g = make();
      const el = Eliminator.symbolic(g);
      const r = rng(1);
      const orders = Array.from({ length: 500 }, () => Int32Array.from(shuffle(eliminableVertices(g), r)));
      for (const o of orders) el.run(o); // warm up (and fill the product cache)
      let n = 0;
      const t0 = performance.now();
      let dt: number;
      while ((dt = performance.now() - t0) < 1000)
        for (const o of orders) {
          el.run(o);
          n++;
        }
      const rate = n / (dt / 1000);
      console.log(`      ${name}: ${eliminableVertices(g).length} eliminable vertices, ${Math.round(rate)} complete orders/s`);
      assert.ok(rate > 5000, `${Math.round(rate)} orders/s`);
    });
  }
});
