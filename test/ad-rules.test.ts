import assert from 'node:assert/strict';
import { evaluate } from '../language-server/src/graph/evaluate.js';
import { sizeOf, type Attrs, type Op, type Shape, type Surrogate } from '../language-server/src/graph/types.js';
import { partialJacobian, surrogateDerivative } from '../language-server/src/ad/rules.js';
import { toDense, describeSparsity } from '../language-server/src/ad/sparsity.js';
import { GraphBuilder } from './helpers/graphBuilder.js';

interface Operand {
  shape: Shape;
  data: number[];
}

/**
 * Checks ∂op/∂(operand k) from the rule table against central finite
 * differences of the forward evaluation, for every operand.
 */
function checkRule(op: Op, operands: Operand[], attrs: Attrs = {}, tol = 1e-7): void {
  const b = new GraphBuilder();
  const ins = operands.map((o) => b.input(o.shape));
  const y = b.output(b.op(op, ins, attrs));
  const g = b.build();
  const at = (data: number[][]) => evaluate(g, new Map(ins.map((id, k) => [id, { shape: operands[k]!.shape, data: Float64Array.from(data[k]!) }])));
  const base = operands.map((o) => o.data);
  const vals = at(base);
  const m = sizeOf(g.vertices[y]!.shape);
  operands.forEach((o, k) => {
    const J = partialJacobian(
      g.vertices[y]!,
      k,
      ins.map((id) => vals[id]!),
      vals[y]!,
    );
    assert.ok(J, `${op} has an edge from operand ${k}`);
    const dense = toDense(J);
    const n = o.data.length;
    for (let c = 0; c < n; c++) {
      const h = 1e-6 * Math.max(1, Math.abs(o.data[c]!));
      const plus = base.map((d) => [...d]);
      const minus = base.map((d) => [...d]);
      plus[k]![c]! += h;
      minus[k]![c]! -= h;
      const fp = at(plus)[y]!.data;
      const fm = at(minus)[y]!.data;
      for (let r = 0; r < m; r++) {
        const fd = (fp[r]! - fm[r]!) / (2 * h);
        const got = dense[r * n + c]!;
        assert.ok(
          Math.abs(got - fd) <= tol * Math.max(1, Math.abs(fd)),
          `${op} ∂out[${r}]/∂operand${k}[${c}]: rule ${got}, finite differences ${fd} (${describeSparsity(J.sparsity)})`,
        );
      }
    }
  });
}

const v3 = (data: number[]): Operand => ({ shape: [3], data });
const sc = (x: number): Operand => ({ shape: [], data: [x] });

describe('elemental rules vs central finite differences', () => {
  const unaryDomains: [Op, number[]][] = [
    ['neg', [0.3, -0.7, 1.1]],
    ['exp', [0.3, -0.7, 1.1]],
    ['log', [0.3, 0.7, 2.1]],
    ['sqrt', [0.3, 0.7, 2.1]],
    ['abs', [0.3, -0.7, 1.1]],
    ['sin', [0.3, -0.7, 1.1]],
    ['cos', [0.3, -0.7, 1.1]],
    ['tan', [0.3, -0.7, 1.1]],
    ['asin', [0.3, -0.7, 0.9]],
    ['acos', [0.3, -0.7, 0.9]],
    ['atan', [0.3, -0.7, 3.1]],
    ['sinh', [0.3, -0.7, 1.1]],
    ['cosh', [0.3, -0.7, 1.1]],
    ['tanh', [0.3, -0.7, 1.1]],
    ['asinh', [0.3, -0.7, 2.0]],
    ['acosh', [1.3, 1.7, 3.1]],
    ['atanh', [0.3, -0.7, 0.9]],
    ['log1p', [0.3, -0.7, 2.1]],
    ['erf', [0.3, -0.7, 1.9]],
    ['sigmoid', [0.3, -0.7, 4.1]],
    ['relu', [0.3, -0.7, 1.1]],
    ['softplus', [0.3, -0.7, 4.1]],
  ];
  for (const [op, xs] of unaryDomains) {
    it(`${op}`, () => {
      checkRule(op, [v3(xs)]);
      checkRule(op, [sc(xs[0]!)]);
    });
  }

  it('asinh is 1/√(1+x²) (Graphax has √(1+x²))', () => {
    const b = new GraphBuilder();
    const x = b.input([]);
    const y = b.output(b.op('asinh', [x]));
    const g = b.build();
    const vals = evaluate(g, new Map([[x, { shape: [], data: Float64Array.of(2) }]]));
    const d = partialJacobian(g.vertices[y]!, 0, [vals[x]!], vals[y]!)!.values![0]!;
    assert.ok(Math.abs(d - 1 / Math.sqrt(5)) < 1e-15);
  });

  it('powc: k·x^(k−1) for integer, negative and fractional k', () => {
    for (const exponent of [3, 2, -1.5, 0.5, 1]) checkRule('powc', [v3([0.3, 0.7, 2.1])], { exponent });
  });

  const binaries: [Op, number[], number[]][] = [
    ['add', [0.3, -0.7, 1.1], [1.2, 0.4, -2]],
    ['sub', [0.3, -0.7, 1.1], [1.2, 0.4, -2]],
    ['mul', [0.3, -0.7, 1.1], [1.2, 0.4, -2]],
    ['div', [0.3, -0.7, 1.1], [1.2, 0.4, -2]],
    ['pow', [0.3, 0.7, 1.1], [1.2, 0.4, -2]],
    ['atan2', [0.3, -0.7, 1.1], [1.2, 0.4, -2]],
    ['max', [0.3, -0.7, 1.1], [1.2, 0.4, -2]],
    ['min', [0.3, -0.7, 1.1], [1.2, 0.4, -2]],
  ];
  for (const [op, x, y] of binaries) {
    it(`${op} in both arguments: same shapes, a broadcast scalar on either side, scalars`, () => {
      checkRule(op, [v3(x), v3(y)]);
      checkRule(op, [v3(x), sc(y[0]!)]);
      checkRule(op, [sc(x[2]!), v3(y)]);
      checkRule(op, [sc(x[0]!), sc(y[0]!)]);
    });
  }

  it('atan2(y, x): ∂/∂y = x/(x²+y²), ∂/∂x = −y/(x²+y²)', () => {
    const b = new GraphBuilder();
    const [yy, xx] = [b.input([]), b.input([])];
    const z = b.output(b.op('atan2', [yy, xx]));
    const g = b.build();
    const vals = evaluate(
      g,
      new Map([
        [yy, { shape: [], data: Float64Array.of(0.6) }],
        [xx, { shape: [], data: Float64Array.of(-0.8) }],
      ]),
    );
    const ops = [vals[yy]!, vals[xx]!];
    assert.ok(Math.abs(partialJacobian(g.vertices[z]!, 0, ops, vals[z]!)!.values![0]! - -0.8) < 1e-15);
    assert.ok(Math.abs(partialJacobian(g.vertices[z]!, 1, ops, vals[z]!)!.values![0]! - -0.6) < 1e-15);
  });

  it('matmul, all four cases, in both operands', () => {
    const A = { shape: [2, 3], data: [0.1, -0.2, 0.3, 0.5, 0.4, -0.6] };
    const B = { shape: [3, 4], data: Array.from({ length: 12 }, (_, k) => Math.cos(k)) };
    const x = { shape: [3], data: [1, -1, 2] };
    const y = { shape: [2], data: [3, -2] };
    checkRule('matmul', [A, B]);
    checkRule('matmul', [A, x]);
    checkRule('matmul', [y, A]);
    checkRule('matmul', [x, x]);
  });

  it('sum, reduce_max, reduce_min along axes', () => {
    const M = { shape: [2, 3], data: [1, 7, 3, 4, 2, 6] };
    for (const op of ['sum', 'reduce_max', 'reduce_min'] as const) {
      checkRule(op, [M]);
      checkRule(op, [M], { axes: [0] });
      checkRule(op, [M], { axes: [1] });
    }
  });

  it('broadcast, transpose, reshape, slice, concat', () => {
    const M = { shape: [2, 3], data: [1, 7, 3, 4, 2, 6] };
    checkRule('broadcast', [sc(2)], { shape: [2, 3], axes: [] });
    checkRule('broadcast', [v3([1, 2, 3])], { shape: [2, 3], axes: [1] });
    checkRule('broadcast', [{ shape: [1, 3], data: [1, 2, 3] }], { shape: [2, 3], axes: [0, 1] });
    checkRule('transpose', [M], { perm: [1, 0] });
    checkRule('reshape', [M], { shape: [3, 2] });
    checkRule('reshape', [v3([1, 2, 3])], { shape: [1, 3] });
    checkRule('reshape', [sc(4)], { shape: [1] });
    checkRule('slice', [M], { starts: [1, 0], ends: [2, 3], squeeze: [0] });
    checkRule('slice', [M], { starts: [0, 1], ends: [2, 3] });
    checkRule('slice', [v3([1, 2, 3])], { starts: [2], ends: [3], squeeze: [0] });
    checkRule('concat', [M, { shape: [2, 1], data: [9, 8] }], { axis: 1 });
    checkRule('concat', [{ shape: [1], data: [5] }, v3([1, 2, 3]), { shape: [1], data: [6] }], { axis: 0 });
  });
});

describe('surrogate derivatives of spike', () => {
  // Each surrogate is the derivative of a smooth step F; finite differences of F check the formula.
  const cases: [Surrogate, (x: number) => number, (x: number) => number][] = [
    [{ kind: 'fast_sigmoid', slope: 10, scale: 1 }, (x) => 1 / (1 + 10 * Math.abs(x)) ** 2, (x) => x / (1 + 10 * Math.abs(x))],
    [
      { kind: 'sigmoid', slope: 4, scale: 1 },
      (x) => {
        const s = 1 / (1 + Math.exp(-4 * x));
        return 4 * s * (1 - s);
      },
      (x) => 1 / (1 + Math.exp(-4 * x)),
    ],
    [
      { kind: 'triangle', width: 0.5, scale: 1 },
      (x) => Math.max(0, 1 - Math.abs(x) / 0.5),
      (x) => (Math.abs(x) < 0.5 ? x - (Math.sign(x) * x * x) / (2 * 0.5) : Math.sign(x) * 0.25),
    ],
    // Bellec et al. 2020: γ·max(0, 1 − |x|), γ = 0.3 (the dampening factor), as `triangle(width = 1, scale = 0.3)`.
    [
      { kind: 'triangle', width: 1, scale: 0.3 },
      (x) => 0.3 * Math.max(0, 1 - Math.abs(x)),
      (x) => 0.3 * (Math.abs(x) < 1 ? x - (Math.sign(x) * x * x) / 2 : Math.sign(x) * 0.5),
    ],
    [{ kind: 'fast_sigmoid', slope: 25, scale: 2 }, (x) => 2 / (1 + 25 * Math.abs(x)) ** 2, (x) => (2 * x) / (1 + 25 * Math.abs(x))],
    [{ kind: 'exponential', slope: 3, scale: 1 }, (x) => Math.exp(-3 * Math.abs(x)), (x) => (Math.sign(x) * (1 - Math.exp(-3 * Math.abs(x)))) / 3],
  ];
  for (const [s, formula, step] of cases) {
    it(`${s.kind}(scale ${s.scale}): the spike edge carries the formula, which is the derivative of its smooth step`, () => {
      const xs = [-0.8, -0.3, -0.05, 0.02, 0.3, 0.7];
      const b = new GraphBuilder();
      const x = b.input([xs.length]);
      const y = b.output(b.op('spike', [x], { surrogate: s }));
      const g = b.build();
      const vals = evaluate(g, new Map([[x, { shape: [xs.length], data: Float64Array.from(xs) }]]));
      const J = partialJacobian(g.vertices[y]!, 0, [vals[x]!], vals[y]!)!;
      xs.forEach((t, k) => {
        assert.ok(Math.abs(J.values![k]! - formula(t)) < 1e-15);
        assert.ok(Math.abs(surrogateDerivative(s, t) - formula(t)) < 1e-15);
        const h = 1e-6;
        assert.ok(Math.abs((step(t + h) - step(t - h)) / (2 * h) - formula(t)) < 1e-6, `${s.kind} at ${t}`);
      });
    });
  }

  it('spike without a surrogate is refused with a clear error', () => {
    const b = new GraphBuilder();
    const x = b.input([]);
    const y = b.output(b.op('spike', [x]));
    const g = b.build();
    const vals = evaluate(g, new Map([[x, { shape: [], data: Float64Array.of(0.1) }]]));
    assert.throws(() => partialJacobian(g.vertices[y]!, 0, [vals[x]!], vals[y]!), /needs a surrogate/);
  });
});

describe('elemental rules: sparsity', () => {
  function sparsityOf(op: Op, shapes: Shape[], k: number, attrs: Attrs = {}) {
    const b = new GraphBuilder();
    const ins = shapes.map((s) => b.input(s));
    const y = b.op(op, ins, attrs);
    const g = b.build();
    const vals = evaluate(g, new Map(ins.map((id, j) => [id, { shape: shapes[j]!, data: new Float64Array(sizeOf(shapes[j]!)).fill(0.5) }])));
    return partialJacobian(
      g.vertices[y]!,
      k,
      ins.map((id) => vals[id]!),
      vals[y]!,
    )!.sparsity;
  }

  it('elementwise ops are diagonal; a broadcast scalar is replicated for add, dense for mul; the other side is c·I', () => {
    assert.match(describeSparsity(sparsityOf('sin', [[4]], 0)), /diagonal.*4 values/);
    assert.match(describeSparsity(sparsityOf('add', [[4], [4]], 1)), /diagonal/);
    assert.match(describeSparsity(sparsityOf('add', [[4], []], 1)), /out\(replicated\).*1 value$/);
    assert.match(describeSparsity(sparsityOf('mul', [[4], []], 1)), /out\(dense\).*4 values/);
    assert.match(describeSparsity(sparsityOf('mul', [[4], []], 0)), /kronecker.*1 value$/);
    assert.match(describeSparsity(sparsityOf('div', [[], [4]], 1)), /diagonal/);
  });

  it('matmul is dense over the contracted axis and Kronecker over the shared free axis', () => {
    assert.match(describeSparsity(sparsityOf('matmul', [[2, 3], [3]], 0)), /out\(kronecker\) in\(kronecker, dense\), 3 values/);
    assert.match(describeSparsity(sparsityOf('matmul', [[2, 3], [3]], 1)), /out\(dense\) in\(dense\), 6 values/);
  });

  it('transforms store nothing', () => {
    for (const [op, shapes, attrs] of [
      ['transpose', [[2, 3]], { perm: [1, 0] }],
      ['slice', [[4]], { starts: [1], ends: [3] }],
      ['concat', [[2], [3]], { axis: 0 }],
      ['broadcast', [[3]], { shape: [2, 3], axes: [1] }],
      ['reshape', [[2, 3]], { shape: [6] }],
    ] as [Op, Shape[], Attrs][]) {
      assert.equal(sparsityOf(op, shapes, 0, attrs).valueCount, 0, op);
    }
  });

  it('stop has no edge', () => {
    const b = new GraphBuilder();
    const x = b.input([]);
    const y = b.op('stop', [x]);
    const g = b.build();
    const vals = evaluate(g, new Map([[x, { shape: [], data: Float64Array.of(1) }]]));
    assert.equal(partialJacobian(g.vertices[y]!, 0, [vals[x]!], vals[y]!), null);
  });
});
