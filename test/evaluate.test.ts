import assert from 'node:assert/strict';
import { erf, evaluate, evaluateBatch, EvaluationError } from '../language-server/src/graph/evaluate.js';
import type { Graph } from '../language-server/src/graph/types.js';
import { GraphBuilder, leafValues } from './helpers/graphBuilder.js';

function close(a: ArrayLike<number>, b: readonly number[], tol = 1e-14): void {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  for (let k = 0; k < b.length; k++) assert.ok(Math.abs(a[k]! - b[k]!) <= tol * Math.max(1, Math.abs(b[k]!)), `element ${k}: ${a[k]} vs ${b[k]}`);
}

/** Evaluates one vertex built by `make` from leaves with the given shapes and values. */
function run(
  make: (b: GraphBuilder, ins: number[]) => number,
  leaves: { shape: number[]; data: number[] }[],
): { shape: readonly number[]; data: Float64Array } {
  const b = new GraphBuilder();
  const ins = leaves.map((l) => b.input(l.shape));
  const y = b.output(make(b, ins));
  const g = b.build();
  const vals = evaluate(g, new Map(leaves.map((l, k) => [ins[k]!, { shape: l.shape, data: Float64Array.from(l.data) }])));
  return vals[y]!;
}

describe('evaluate: elemental ops', () => {
  it('erf matches reference values to 1e-15', () => {
    // Reference values (Abramowitz & Stegun table 7.1; mpmath), as the nearest doubles: the 19-digit values
    // (e.g. erf(0.1) = 0.1124629160182848922) round to exactly these literals.
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [6, 1],
    ];
    for (const [x, e] of table) {
      assert.ok(Math.abs(erf(x) - e) < 1e-15, `erf(${x}) = ${erf(x)}, expected ${e}`);
      assert.ok(Math.abs(erf(-x) + e) < 1e-15);
    }
  });

  it('unary ops, powc and spike (Heaviside forward)', () => {
    const x = [-0.5, 0, 0.25];
    const u = (op: string, attrs = {}) => run((b, [a]) => b.op(op as never, [a!], attrs), [{ shape: [3], data: x }]).data;
    close(u('sin'), x.map(Math.sin));
    close(u('asinh'), x.map(Math.asinh));
    close(
      u('sigmoid'),
      x.map((t) => 1 / (1 + Math.exp(-t))),
    );
    close(
      u('softplus'),
      x.map((t) => Math.log(1 + Math.exp(t))),
    );
    close(u('relu'), [0, 0, 0.25]);
    close(u('spike', { surrogate: { kind: 'fast_sigmoid', slope: 10 } }), [0, 0, 1]);
    close(u('stop'), x);
    close(
      u('powc', { exponent: 3 }),
      x.map((t) => t ** 3),
    );
  });

  it('binary ops broadcast a scalar against any shape, keeping operand order', () => {
    const v = run(
      (b, [a, s]) => b.sub(s!, a!),
      [
        { shape: [2, 2], data: [1, 2, 3, 4] },
        { shape: [], data: [10] },
      ],
    );
    assert.deepEqual(v.shape, [2, 2]);
    close(v.data, [9, 8, 7, 6]);
    close(
      run(
        (b, [a, c]) => b.op('atan2', [a!, c!]),
        [
          { shape: [2], data: [1, -1] },
          { shape: [2], data: [2, -3] },
        ],
      ).data,
      [Math.atan2(1, 2), Math.atan2(-1, -3)],
    );
    close(
      run(
        (b, [a, c]) => b.pow(a!, c!),
        [
          { shape: [2], data: [2, 3] },
          { shape: [], data: [0.5] },
        ],
      ).data,
      [Math.SQRT2, Math.sqrt(3)],
    );
    close(
      run(
        (b, [a, c]) => b.op('max', [a!, c!]),
        [
          { shape: [2], data: [1, 5] },
          { shape: [], data: [3] },
        ],
      ).data,
      [3, 5],
    );
  });

  it('matmul: matrix·matrix, matrix·vector, vector·matrix, vector·vector', () => {
    const A = { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
    const B = { shape: [3, 2], data: [1, 0, 0, 1, 1, 1] };
    const x = { shape: [3], data: [1, -1, 2] };
    const y = { shape: [2], data: [3, -2] };
    close(run((b, [p, q]) => b.matmul(p!, q!), [A, B]).data, [4, 5, 10, 11]);
    close(run((b, [p, q]) => b.matmul(p!, q!), [A, x]).data, [5, 11]);
    close(run((b, [p, q]) => b.matmul(p!, q!), [y, A]).data, [-5, -4, -3]);
    const s = run((b, [p, q]) => b.matmul(p!, q!), [x, x]);
    assert.deepEqual(s.shape, []);
    close(s.data, [6]);
  });

  it('sum, reduce_max and reduce_min over attrs.axes, or everything', () => {
    const M = { shape: [2, 3], data: [1, 7, 3, 4, 2, 6] };
    close(run((b, [m]) => b.sum(m!), [M]).data, [23]);
    close(run((b, [m]) => b.sum(m!, [0]), [M]).data, [5, 9, 9]);
    close(run((b, [m]) => b.op('reduce_max', [m!], { axes: [1] }), [M]).data, [7, 6]);
    close(run((b, [m]) => b.op('reduce_min', [m!]), [M]).data, [1]);
  });

  it('broadcast, transpose, reshape, slice (with squeeze) and concat move data', () => {
    const v = { shape: [3], data: [1, 2, 3] };
    const M = { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
    close(run((b, [x]) => b.op('broadcast', [x!], { shape: [2, 3], axes: [1] }), [v]).data, [1, 2, 3, 1, 2, 3]);
    close(run((b, [x]) => b.op('broadcast', [x!], { shape: [3, 2], axes: [0] }), [v]).data, [1, 1, 2, 2, 3, 3]);
    close(run((b, [x]) => b.op('transpose', [x!], { perm: [1, 0] }), [M]).data, [1, 4, 2, 5, 3, 6]);
    close(run((b, [x]) => b.op('reshape', [x!], { shape: [3, 2] }), [M]).data, [1, 2, 3, 4, 5, 6]);
    const row = run((b, [x]) => b.op('slice', [x!], { starts: [1, 0], ends: [2, 3], squeeze: [0] }), [M]);
    assert.deepEqual(row.shape, [3]);
    close(row.data, [4, 5, 6]);
    close(run((b, [x]) => b.op('slice', [x!], { starts: [0, 1], ends: [2, 3] }), [M]).data, [2, 3, 5, 6]);
    close(run((b, [x, y]) => b.op('concat', [x!, y!], { axis: 1 }), [M, { shape: [2, 1], data: [9, 8] }]).data, [1, 2, 3, 9, 4, 5, 6, 8]);
    close(run((b, [x, y]) => b.op('concat', [x!, y!], { axis: 0 }), [M, { shape: [1, 3], data: [7, 8, 9] }]).data, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('consts come from attrs.value; a missing leaf is an EvaluationError naming the vertex', () => {
    const b = new GraphBuilder();
    const x = b.input([], 'x');
    const c = b.const([2, 3], [2]);
    const y = b.output(b.mul(c, x));
    const g = b.build();
    close(evaluate(g, leafValues(g, { [x]: 5 }))[y]!.data, [10, 15]);
    assert.throws(
      () => evaluate(g, new Map()),
      (e: unknown) => e instanceof EvaluationError && e.vertex === x && /'x'/.test(e.message),
    );
  });
});

describe('evaluateBatch', () => {
  function mlp(): { g: Graph; x: number; W: number; y: number } {
    const b = new GraphBuilder();
    const W = b.param([2, 3], 'W');
    const x = b.input([3], 'x');
    const h = b.tanh(b.matmul(W, x));
    const y = b.output(b.sum(b.mul(h, h)));
    return { g: b.build(), x, W, y };
  }

  it('equals evaluating each point alone; shared leaves stay shared', () => {
    const { g, x, W, y } = mlp();
    const batch = 5;
    const Wd = Float64Array.from([0.1, -0.2, 0.3, 0.5, 0.4, -0.6]);
    const xs = Float64Array.from({ length: 3 * batch }, (_, k) => Math.sin(k));
    const out = evaluateBatch(
      g,
      new Map([
        [W, { shape: [2, 3], data: Wd }],
        [x, { shape: [3], data: xs }],
      ]),
      batch,
    );
    assert.equal(out[W]!.shared, true);
    assert.equal(out[y]!.shared, false);
    for (let s = 0; s < batch; s++) {
      const one = evaluate(
        g,
        new Map([
          [W, { shape: [2, 3], data: Wd }],
          [x, { shape: [3], data: xs.slice(3 * s, 3 * s + 3) }],
        ]),
      );
      assert.equal(out[y]!.data[s], one[y]!.data[0]);
    }
  });
});
