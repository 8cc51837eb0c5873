// Elemental derivative rules: for every op and operand, the partial Jacobian
// ∂vertex/∂operand — its sparsity (for costs) and its values (for numerics).
// The conventions follow Graphax's primitives.py (vertex-elimination.md §1);
// where Eligo differs, docs/elimination.md says so.

import { sizeOf, type Shape, type Tensor, type Vertex, type UnaryOp, type BinaryOp } from '../graph/types.js';
import { surrogateDerivative } from '../lang/surrogates.js';
import { sigmoid, reduceAxes, reduceMap, broadcastAxes, transposePerm, concatAxis, LEAF_OPS, isUnary, isBinary } from '../graph/evaluate.js';
import {
  makeSparsity,
  diagonalSparsity,
  scaledIdentitySparsity,
  flatSparsity,
  DENSE,
  REPLICATED,
  selectDim,
  type Dim,
  type Pair,
  type Sparsity,
  type SparseJacobian,
} from './sparsity.js';

// ------------------------------------------------------------ the textbook

/** d/dx f(x) for the elementwise unary ops, in terms of x and y = f(x). */
export const unaryDerivative: Record<Exclude<UnaryOp, 'powc' | 'spike' | 'stop'>, (x: number, y: number) => number> = {
  neg: () => -1,
  exp: (_x, y) => y, //                               (eˣ)' = eˣ
  log: (x) => 1 / x,
  sqrt: (_x, y) => 0.5 / y, //                        (√x)' = 1/(2√x)
  abs: (x) => Math.sign(x), //                        a subgradient: 0 at 0
  sin: (x) => Math.cos(x),
  cos: (x) => -Math.sin(x),
  tan: (_x, y) => 1 + y * y,
  asin: (x) => 1 / Math.sqrt(1 - x * x),
  acos: (x) => -1 / Math.sqrt(1 - x * x),
  atan: (x) => 1 / (1 + x * x),
  sinh: (x) => Math.cosh(x),
  cosh: (x) => Math.sinh(x),
  tanh: (_x, y) => 1 - y * y,
  asinh: (x) => 1 / Math.sqrt(1 + x * x), //         Graphax has √(1+x²), which is wrong
  acosh: (x) => 1 / Math.sqrt(x * x - 1),
  atanh: (x) => 1 / (1 - x * x),
  log1p: (x) => 1 / (1 + x),
  erf: (x) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x),
  sigmoid: (_x, y) => y * (1 - y),
  relu: (x) => (x > 0 ? 1 : 0), //                    0 at 0, as JAX
  softplus: (x) => sigmoid(x),
};

/** d/dx x^k for a constant exponent k. */
export function powcDerivative(x: number, k: number): number {
  return k === 0 ? 0 : k * Math.pow(x, k - 1);
}

// The surrogate pseudo-derivative of spike(x) = H(x) lives with the other
// surrogate formulas in lang/surrogates.ts (one registry for every stage).
export { surrogateDerivative };

type Partial2 = (x: number, y: number, z: number) => number;

/** (∂z/∂x, ∂z/∂y) of z = op(x, y), with x = inputs[0], y = inputs[1]. */
export const binaryDerivative: Record<BinaryOp, readonly [Partial2, Partial2]> = {
  add: [() => 1, () => 1],
  sub: [() => 1, () => -1],
  mul: [(_x, y) => y, (x) => x],
  div: [(_x, y) => 1 / y, (x, y) => -x / (y * y)],
  // x^y: y·x^(y−1) and ln(x)·x^y (0 where x^y = 0, the limit for y > 0).
  pow: [(x, y) => y * Math.pow(x, y - 1), (x, _y, z) => (z === 0 ? 0 : Math.log(x) * z)],
  // atan2(y, x) with y = inputs[0], x = inputs[1]: ∂/∂y = x/(x²+y²), ∂/∂x = −y/(x²+y²).
  atan2: [(a, b) => b / (a * a + b * b), (a, b) => -a / (a * a + b * b)],
  // Indicators; a tie splits the derivative equally (as JAX).
  max: [(x, y) => (x > y ? 1 : x < y ? 0 : 0.5), (x, y) => (x < y ? 1 : x > y ? 0 : 0.5)],
  min: [(x, y) => (x < y ? 1 : x > y ? 0 : 0.5), (x, y) => (x > y ? 1 : x < y ? 0 : 0.5)],
};

/**
 * Ops linear in operand k with a coefficient that depends on the other operand
 * only: against a broadcast scalar the partial is c·I (a scaled identity).
 */
function linearIn(op: BinaryOp, k: number): boolean {
  return op === 'add' || op === 'sub' || op === 'mul' || (op === 'div' && k === 0);
}

/** Ops whose partial does not depend on any value: against a full operand, a broadcast scalar's partial is replicated. */
function constantPartial(op: BinaryOp): boolean {
  return op === 'add' || op === 'sub';
}

// ------------------------------------------------------------ sparsity of each partial

/**
 * The sparsity of ∂v/∂(operand k), or null where there is no edge (stop).
 *
 *   elementwise unary            diagonal (a scalar for scalars)
 *   elementwise binary, same     diagonal (add/sub store their ±1, as Graphax does)
 *   … full operand vs scalar     c·I for add/sub/mul and div's numerator, else diagonal
 *   … the broadcast scalar       replicated over the result for add/sub, dense otherwise
 *   matmul                       dense over the contracted axis, Kronecker over the free
 *                                axis the operand shares with the result, dense over the other
 *   sum                          dense ones over the reduced axes, Kronecker elsewhere
 *   reduce_max / reduce_min      dense over the reduced axes, diagonal elsewhere (indicator / count)
 *   broadcast                    replicated over new axes, Kronecker over kept ones (no values)
 *   transpose, reshape, slice,   Kronecker pairs, selects, offsets (no values: zero-cost copies);
 *   concat                       a reshape that merges axes is a flat identity
 */
export function partialSparsity(v: Vertex, k: number, shapes: readonly Shape[]): Sparsity | null {
  const out = v.shape;
  const x = shapes[k];
  if (x === undefined) throw new Error(`vertex ${v.id} (${v.op}) has no operand ${k}`);
  if (LEAF_OPS.has(v.op)) throw new Error(`leaf vertex ${v.id} has no operands`);
  if (v.op === 'stop') return null;
  if (isUnary(v.op)) return diagonalSparsity(out);
  if (isBinary(v.op)) {
    if (out.length === 0) return diagonalSparsity(out);
    if (x.length === 0) {
      const kind = constantPartial(v.op) ? REPLICATED : DENSE;
      return makeSparsity(
        out,
        x,
        out.map(() => kind),
        [],
        [],
        true,
      );
    }
    const other = shapes[1 - k]!;
    if (other.length === 0 && linearIn(v.op, k)) return scaledIdentitySparsity(out);
    return diagonalSparsity(out);
  }
  switch (v.op) {
    case 'matmul': {
      const [a, c] = [shapes[0]!, shapes[1]!];
      const outDims: Dim[] = [];
      const inDims: Dim[] = [];
      const pairs: Pair[] = [];
      if (k === 0) {
        // ∂(A@C)/∂A: A's row axis is tied to the result's; A's column axis is contracted.
        if (a.length === 2) {
          pairs.push({ out: 0, in: 0, stored: false, offset: 0, lo: 0, hi: a[0]! });
          outDims.push({ kind: 'pair', pair: 0 });
          inDims.push({ kind: 'pair', pair: 0 });
        }
        if (c.length === 2) outDims.push(DENSE);
        inDims.push(DENSE);
      } else {
        // ∂(A@C)/∂C: C's column axis is tied to the result's; C's row axis is contracted.
        if (a.length === 2) outDims.push(DENSE);
        inDims.push(DENSE);
        if (c.length === 2) {
          pairs.push({ out: outDims.length, in: 1, stored: false, offset: 0, lo: 0, hi: c[1]! });
          outDims.push({ kind: 'pair', pair: 0 });
          inDims.push({ kind: 'pair', pair: 0 });
        }
      }
      return makeSparsity(out, x, outDims, inDims, pairs, true);
    }
    case 'sum':
    case 'reduce_max':
    case 'reduce_min': {
      const axes = reduceAxes(v, x);
      const stored = v.op !== 'sum';
      const outDims: Dim[] = [];
      const inDims: Dim[] = [];
      const pairs: Pair[] = [];
      x.forEach((n, i) => {
        if (axes.includes(i)) inDims.push(DENSE);
        else {
          pairs.push({ out: outDims.length, in: i, stored, offset: 0, lo: 0, hi: n });
          outDims.push({ kind: 'pair', pair: pairs.length - 1 });
          inDims.push({ kind: 'pair', pair: pairs.length - 1 });
        }
      });
      return makeSparsity(out, x, outDims, inDims, pairs, true);
    }
    case 'broadcast': {
      const axes = broadcastAxes(v, x);
      const outDims: Dim[] = out.map(() => REPLICATED);
      const inDims: Dim[] = [];
      const pairs: Pair[] = [];
      x.forEach((n, i) => {
        const a = axes[i]!;
        if (n === out[a]) {
          pairs.push({ out: a, in: i, stored: false, offset: 0, lo: 0, hi: n });
          outDims[a] = { kind: 'pair', pair: pairs.length - 1 };
          inDims.push({ kind: 'pair', pair: pairs.length - 1 });
        } else inDims.push(selectDim(0)); // a size-1 axis stretched over the result's
      });
      return makeSparsity(out, x, outDims, inDims, pairs, false);
    }
    case 'transpose': {
      const perm = transposePerm(v, x);
      const outDims: Dim[] = [];
      const inDims: Dim[] = x.map(() => DENSE);
      const pairs: Pair[] = perm.map((i, a) => ({ out: a, in: i, stored: false, offset: 0, lo: 0, hi: out[a]! }));
      perm.forEach((i, a) => {
        outDims.push({ kind: 'pair', pair: a });
        inDims[i] = { kind: 'pair', pair: a };
      });
      return makeSparsity(out, x, outDims, inDims, pairs, false);
    }
    case 'reshape': {
      // Axes of size 1 come and go freely; if the others match in order, a reshape is a copy of pairs.
      const oBig = out.map((n, a) => [n, a] as const).filter(([n]) => n !== 1);
      const iBig = x.map((n, i) => [n, i] as const).filter(([n]) => n !== 1);
      const same = oBig.length === iBig.length && oBig.every(([n], j) => n === iBig[j]![0]);
      if (!same) return flatSparsity(out, x);
      const outDims: Dim[] = out.map(() => selectDim(0));
      const inDims: Dim[] = x.map(() => selectDim(0));
      const pairs: Pair[] = oBig.map(([n, a], j) => ({ out: a, in: iBig[j]![1], stored: false, offset: 0, lo: 0, hi: n }));
      pairs.forEach((p, j) => {
        outDims[p.out] = { kind: 'pair', pair: j };
        inDims[p.in] = { kind: 'pair', pair: j };
      });
      return makeSparsity(out, x, outDims, inDims, pairs, false);
    }
    case 'slice': {
      const starts = v.attrs.starts ?? x.map(() => 0);
      const squeeze = v.attrs.squeeze ?? [];
      const outDims: Dim[] = [];
      const inDims: Dim[] = [];
      const pairs: Pair[] = [];
      x.forEach((_, i) => {
        if (squeeze.includes(i)) inDims.push(selectDim(starts[i]!));
        else {
          const a = outDims.length;
          pairs.push({ out: a, in: i, stored: false, offset: -starts[i]!, lo: 0, hi: out[a]! });
          outDims.push({ kind: 'pair', pair: pairs.length - 1 });
          inDims.push({ kind: 'pair', pair: pairs.length - 1 });
        }
      });
      return makeSparsity(out, x, outDims, inDims, pairs, false);
    }
    case 'concat': {
      const axis = concatAxis(v);
      let offset = 0;
      for (let j = 0; j < k; j++) offset += shapes[j]![axis]!;
      const dims: Dim[] = x.map((_, i) => ({ kind: 'pair', pair: i }));
      const pairs: Pair[] = x.map((n, i) =>
        i === axis ? { out: i, in: i, stored: false, offset, lo: offset, hi: offset + n } : { out: i, in: i, stored: false, offset: 0, lo: 0, hi: n },
      );
      return makeSparsity(out, x, dims, dims, pairs, false);
    }
    default:
      throw new Error(`no derivative rule for op '${v.op}' (vertex ${v.id})`);
  }
}

// ------------------------------------------------------------ values of each partial

/**
 * ∂v/∂(operand k) at a point: `operands` are the operand values, `value` is
 * v's own value. Null where there is no edge. Values follow the layout of
 * sparsity.ts (out dims with an axis, then dense in dims, row-major).
 */
export function partialJacobian(v: Vertex, k: number, operands: readonly Tensor[], value: Tensor): SparseJacobian | null {
  const s = partialSparsity(
    v,
    k,
    operands.map((t) => t.shape),
  );
  if (s === null) return null;
  if (!s.hasValues) return { sparsity: s, values: null };
  const values = new Float64Array(s.valueCount);
  const x = operands[k]!.data;
  const y = value.data;
  if (isUnary(v.op)) {
    if (v.op === 'spike') {
      const sur = v.attrs.surrogate;
      if (!sur) throw new Error(`'spike' needs a surrogate (vertex ${v.id})`);
      for (let i = 0; i < values.length; i++) values[i] = surrogateDerivative(sur, x[i]!);
    } else if (v.op === 'powc') {
      const e = v.attrs.exponent ?? NaN;
      for (let i = 0; i < values.length; i++) values[i] = powcDerivative(x[i]!, e);
    } else if (v.op !== 'stop') {
      const d = unaryDerivative[v.op];
      for (let i = 0; i < values.length; i++) values[i] = d(x[i]!, y[i]!);
    }
    return { sparsity: s, values };
  }
  if (isBinary(v.op)) {
    const a = operands[0]!.data;
    const b = operands[1]!.data;
    const sa = a.length === 1 ? 0 : 1;
    const sb = b.length === 1 ? 0 : 1;
    const d = binaryDerivative[v.op][k === 0 ? 0 : 1];
    // A diagonal or dense partial varies per result element; replicated and c·I store one value.
    for (let i = 0; i < values.length; i++) values[i] = d(a[i * sa]!, b[i * sb]!, y[i]!);
    return { sparsity: s, values };
  }
  switch (v.op) {
    case 'matmul': {
      const [A, C] = [operands[0]!, operands[1]!];
      if (k === 0) {
        // values[j, l] = C[l, j] (or C[l] when C is a vector).
        if (C.shape.length === 2) {
          const [kk, n] = [C.shape[0]!, C.shape[1]!];
          for (let j = 0; j < n; j++) for (let l = 0; l < kk; l++) values[j * kk + l] = C.data[l * n + j]!;
        } else values.set(C.data);
      } else {
        values.set(A.data); // values[i, l] = A[i, l] (or A[l])
      }
      return { sparsity: s, values };
    }
    case 'sum':
      values.fill(1);
      return { sparsity: s, values };
    case 'reduce_max':
    case 'reduce_min': {
      // Indicator of the positions that attain the extremum, divided by their count.
      const xs = operands[0]!.shape;
      const axes = reduceAxes(v, xs);
      const map = reduceMap(xs, axes);
      const count = new Float64Array(y.length);
      for (let q = 0; q < map.length; q++) if (x[q] === y[map[q]!]) count[map[q]!]! += 1;
      const reduced = reduceMap(
        xs,
        xs.map((_, i) => i).filter((i) => !axes.includes(i)),
      );
      const R = sizeOf(axes.map((i) => xs[i]!));
      for (let q = 0; q < map.length; q++) {
        const o = map[q]!;
        if (x[q] === y[o]) values[o * R + reduced[q]!] = 1 / count[o]!;
      }
      return { sparsity: s, values };
    }
    default:
      throw new Error(`no derivative values for op '${v.op}' (vertex ${v.id})`);
  }
}
