import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sizeOf, type Shape } from '../language-server/src/graph/types.js';
import {
  addJacobians,
  denseSparsity,
  diagonalSparsity,
  flatSparsity,
  identitySparsity,
  jacobianFrom,
  makeSparsity,
  mulJacobians,
  mulSparsity,
  scaledIdentitySparsity,
  toDense,
  DENSE,
  REPLICATED,
  selectDim,
  type Dim,
  type Pair,
  type SparseJacobian,
  type Sparsity,
} from '../language-server/src/ad/sparsity.js';

function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let l = 0; l < k; l++) for (let j = 0; j < n; j++) c[i * n + j]! += a[i * k + l]! * b[l * n + j]!;
  return c;
}

function randomValues(s: Sparsity, seed: number): SparseJacobian {
  let x = seed;
  return jacobianFrom(s, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648 - 0.5;
  });
}

describe('sparse Jacobians: multiplication counts (Graphax get_num_muls)', () => {
  it('diagonal × diagonal costs n', () => {
    assert.equal(mulSparsity(diagonalSparsity([5]), diagonalSparsity([5])).multiplications, 5);
    assert.equal(mulSparsity(diagonalSparsity([2, 3]), diagonalSparsity([2, 3])).multiplications, 6);
  });

  it('dense (m×k)·(k×n) costs m·k·n', () => {
    assert.equal(mulSparsity(denseSparsity([2], [3]), denseSparsity([3], [4])).multiplications, 24);
  });

  it('diagonal n×n times dense n×m costs n·m, and dense times diagonal too', () => {
    assert.equal(mulSparsity(diagonalSparsity([4]), denseSparsity([4], [3])).multiplications, 12);
    assert.equal(mulSparsity(denseSparsity([3], [4]), diagonalSparsity([4])).multiplications, 12);
  });

  it('an identity (nothing stored) costs nothing, on either side', () => {
    assert.equal(mulSparsity(identitySparsity([4]), denseSparsity([4], [3])).multiplications, 0);
    assert.equal(mulSparsity(denseSparsity([3], [4]), identitySparsity([4])).multiplications, 0);
  });

  it('scaled identities: c·I × c·I costs 1, c·I × diagonal costs n', () => {
    assert.equal(mulSparsity(scaledIdentitySparsity([4]), scaledIdentitySparsity([4])).multiplications, 1);
    assert.equal(mulSparsity(scaledIdentitySparsity([4]), diagonalSparsity([4])).multiplications, 4);
  });

  it('scalars cost 1', () => {
    assert.equal(mulSparsity(diagonalSparsity([]), diagonalSparsity([])).multiplications, 1);
  });

  it('diag(m) times ∂(W@x)/∂W (Kronecker over rows, x over columns) costs m·k and stays Kronecker ⊗ dense', () => {
    const [m, k] = [3, 4];
    const dWx = makeSparsity(
      [m],
      [m, k],
      [{ kind: 'pair', pair: 0 }],
      [{ kind: 'pair', pair: 0 }, DENSE],
      [{ out: 0, in: 0, stored: false, offset: 0, lo: 0, hi: m }],
      true,
    );
    const r = mulSparsity(diagonalSparsity([m]), dWx);
    assert.equal(r.multiplications, m * k);
    assert.equal(r.sparsity.pairs.length, 1);
    assert.equal(r.sparsity.pairs[0]!.stored, true);
    assert.equal(r.sparsity.valueCount, m * k);
  });

  it('products keep the structure they can: diag·diag is diagonal, dense·diag is dense', () => {
    const d = mulSparsity(diagonalSparsity([3]), diagonalSparsity([3])).sparsity;
    assert.equal(d.key, diagonalSparsity([3]).key);
    const e = mulSparsity(denseSparsity([2], [3]), diagonalSparsity([3])).sparsity;
    assert.equal(e.key, denseSparsity([2], [3]).key);
  });
});

// ---------------------------------------------------------------- random structures

const dimSize = fc.integer({ min: 1, max: 3 });
const shapeArb = fc.array(dimSize, { minLength: 0, maxLength: 2 });

/** A random sparsity of shape out × in: dense, replicated, select and (offset, ranged) pairs. */
function sparsityArb(outShape: Shape, inShape: Shape): fc.Arbitrary<Sparsity> {
  const choices = fc.record({
    outKinds: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: outShape.length, maxLength: outShape.length }),
    inKinds: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: inShape.length, maxLength: inShape.length }),
    partner: fc.array(fc.nat(), { minLength: outShape.length, maxLength: outShape.length }),
    offsets: fc.array(fc.integer({ min: -2, max: 2 }), { minLength: outShape.length, maxLength: outShape.length }),
    stored: fc.array(fc.boolean(), { minLength: outShape.length, maxLength: outShape.length }),
    ranges: fc.array(fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: 1, max: 4 })), { minLength: outShape.length, maxLength: outShape.length }),
    hasValues: fc.boolean(),
    flat: fc.integer({ min: 0, max: 9 }),
  });
  return choices.map((c) => {
    if (c.flat === 0 && sizeOf(outShape) === sizeOf(inShape)) return flatSparsity(outShape, inShape);
    const out: Dim[] = [];
    const inn: (Dim | null)[] = inShape.map(() => null);
    const pairs: Pair[] = [];
    outShape.forEach((n, a) => {
      const kind = c.outKinds[a]!;
      const free = inn.map((d, b) => (d === null ? b : -1)).filter((b) => b >= 0);
      if (kind >= 3 && free.length > 0) {
        const b = free[c.partner[a]! % free.length]!;
        const [lo, len] = c.ranges[a]!;
        pairs.push({ out: a, in: b, stored: c.stored[a]!, offset: c.offsets[a]!, lo: kind === 4 ? lo : 0, hi: kind === 4 ? lo + len : n });
        out.push({ kind: 'pair', pair: pairs.length - 1 });
        inn[b] = { kind: 'pair', pair: pairs.length - 1 };
      } else out.push(kind === 0 ? DENSE : kind === 1 ? REPLICATED : selectDim(c.partner[a]! % n));
    });
    const inDims = inn.map((d, b) => d ?? [DENSE, REPLICATED, selectDim(c.partner.length % inShape[b]!)][c.inKinds[b]!]!);
    return makeSparsity(outShape, inShape, out, inDims, pairs, c.hasValues);
  });
}

const productCase = fc
  .tuple(shapeArb, shapeArb, shapeArb)
  .chain(([X, V, Y]) => fc.tuple(sparsityArb(X, V), sparsityArb(V, Y), sparsityArb(V, Y), fc.nat()).map(([a, b, b2, seed]) => ({ X, V, Y, a, b, b2, seed })));

describe('sparse Jacobians: numeric algebra agrees with dense matrices', () => {
  it('post·pre equals the dense product, for random structures with offsets, ranges, selects and reshapes', () => {
    fc.assert(
      fc.property(productCase, ({ X, V, Y, a, b, seed }) => {
        const A = randomValues(a, seed);
        const B = randomValues(b, seed + 7);
        const C = mulJacobians(A, B).jacobian;
        const expected = matmul(toDense(A), toDense(B), sizeOf(X), sizeOf(V), sizeOf(Y));
        const got = toDense(C);
        got.forEach((x, k) => assert.ok(Math.abs(x - expected[k]!) < 1e-12, `${a.key} · ${b.key} → ${C.sparsity.key}: entry ${k} ${x} vs ${expected[k]}`));
      }),
      { numRuns: 400 },
    );
  });

  it('a + b equals the dense sum, and the sum of a Jacobian with itself doubles it', () => {
    fc.assert(
      fc.property(productCase, ({ b, b2, seed }) => {
        const P = randomValues(b, seed);
        const Q = randomValues(b2, seed + 3);
        const S = addJacobians(P, Q).jacobian;
        const [p, q, s] = [toDense(P), toDense(Q), toDense(S)];
        s.forEach((x, k) => assert.ok(Math.abs(x - p[k]! - q[k]!) < 1e-12, `${b.key} + ${b2.key} → ${S.sparsity.key}: entry ${k}`));
        const D = toDense(addJacobians(P, P).jacobian);
        D.forEach((x, k) => assert.ok(Math.abs(x - 2 * p[k]!) < 1e-12));
      }),
      { numRuns: 400 },
    );
  });

  it('a product never counts multiplications when either side stores nothing', () => {
    fc.assert(
      fc.property(productCase, ({ a, b }) => {
        const r = mulSparsity(a, b);
        if (!a.hasValues || !b.hasValues) assert.equal(r.multiplications, 0);
        assert.ok(r.multiplications >= 0);
      }),
      { numRuns: 200 },
    );
  });
});
