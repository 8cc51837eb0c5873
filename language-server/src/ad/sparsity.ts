// The sparsity model of an edge Jacobian, after Graphax's SparseTensor
// (graphax src/graphax/sparse/tensor.py; shared/reference/vertex-elimination.md §1).
//
// The Jacobian J = ∂dst/∂src of an edge has the logical shape out × in: the
// dimensions of dst's shape, then those of src's shape. Each dimension has a
// kind:
//
//   dense       a real axis of the stored values;
//   replicated  a dense dimension without a value axis: J does not vary along
//               it (a broadcast; Graphax's DenseDimension with val_dim None);
//   pair        an out dimension tied to an in dimension by a Kronecker delta
//               δ(o = i + offset), nonzero only for lo ≤ o < hi. A *diagonal*
//               pair stores values along it (one axis, indexed by o); a
//               *Kronecker* pair stores nothing (Graphax's SparseDimension with
//               and without val_dim). Offsets and ranges let slices and
//               concatenations be pure pairs;
//   select      a one-hot dimension: J is nonzero only at one index of it (x[i]
//               picks index i of x's axis). Nothing is stored.
//
// Besides tensors of such dimensions, a Jacobian may be `zero` (structurally
// zero: the edge is dropped) or `flat` (the identity on the row-major flattened
// index: a reshape that merges or splits axes).
//
// `hasValues` false means nothing is stored at all: the Jacobian is a 0/1
// pattern (a transform: transpose, slice, broadcast, …; Graphax's `val=None`).
// With values and no value axis, one scalar is stored (c·I, a scaled identity).
//
// Stored values are a row-major Float64Array over the value axes, in this
// order: the out dimensions that are dense or carry a diagonal pair, then the
// dense in dimensions.

import { formatShape, sizeOf, type Shape } from '../graph/types.js';

export type Dim =
  | { readonly kind: 'dense' }
  | { readonly kind: 'replicated' }
  | { readonly kind: 'pair'; readonly pair: number }
  | { readonly kind: 'select'; readonly index: number };

/** A Kronecker delta δ(o = i + offset) between out dim `out` and in dim `in`, for lo ≤ o < hi. */
export interface Pair {
  readonly out: number;
  readonly in: number;
  /** Diagonal (values stored along the pair) rather than a bare Kronecker delta. */
  readonly stored: boolean;
  readonly offset: number;
  readonly lo: number;
  readonly hi: number;
}

export interface Sparsity {
  readonly form: 'tensor' | 'zero' | 'flat';
  readonly outShape: Shape;
  readonly inShape: Shape;
  /** One entry per out dimension (empty unless form is 'tensor'). */
  readonly out: readonly Dim[];
  /** One entry per in dimension (empty unless form is 'tensor'). */
  readonly in: readonly Dim[];
  /** Sorted by out dimension. */
  readonly pairs: readonly Pair[];
  readonly hasValues: boolean;
  // Derived, filled in by makeSparsity.
  /** Shape of the stored values ([] for one scalar). */
  readonly valueShape: readonly number[];
  /** Number of stored values (0 when hasValues is false). */
  readonly valueCount: number;
  /** Stride of each out / in dimension in the value array (0 if it has no axis). */
  readonly outStride: readonly number[];
  readonly inStride: readonly number[];
  /** Canonical text of the structure: equal keys mean equal structures. */
  readonly key: string;
}

/** An edge Jacobian: its sparsity and, in numeric mode, its stored values (null in symbolic mode or when nothing is stored). */
export interface SparseJacobian {
  readonly sparsity: Sparsity;
  readonly values: Float64Array | null;
}

export const DENSE: Dim = Object.freeze({ kind: 'dense' });
export const REPLICATED: Dim = Object.freeze({ kind: 'replicated' });
export function selectDim(index: number): Dim {
  return { kind: 'select', index };
}

/** Bytes to hold a Jacobian of this sparsity: 8 per stored value. */
export function bytesOf(s: Sparsity): number {
  return 8 * s.valueCount;
}

// ------------------------------------------------------------ construction

function shapeKey(s: Shape): string {
  return s.join(',');
}

export function zeroSparsity(outShape: Shape, inShape: Shape): Sparsity {
  return {
    form: 'zero',
    outShape,
    inShape,
    out: [],
    in: [],
    pairs: [],
    hasValues: false,
    valueShape: [],
    valueCount: 0,
    outStride: [],
    inStride: [],
    key: `Z[${shapeKey(outShape)}|${shapeKey(inShape)}]`,
  };
}

/** The identity on the row-major flattened index (a reshape that merges or splits axes). */
export function flatSparsity(outShape: Shape, inShape: Shape): Sparsity {
  if (sizeOf(outShape) !== sizeOf(inShape)) throw new Error(`flat Jacobian needs equal sizes, got ${formatShape(outShape)} and ${formatShape(inShape)}`);
  return {
    form: 'flat',
    outShape,
    inShape,
    out: [],
    in: [],
    pairs: [],
    hasValues: false,
    valueShape: [],
    valueCount: 0,
    outStride: [],
    inStride: [],
    key: `F[${shapeKey(outShape)}|${shapeKey(inShape)}]`,
  };
}

/**
 * Builds a tensor sparsity: checks it, normalizes pair ranges to the valid
 * ones, orders the pairs by out dimension and derives the value layout.
 * A pair with an empty range or a select outside its axis makes the whole
 * Jacobian zero. Any dense dimension implies stored values.
 */
export function makeSparsity(outShape: Shape, inShape: Shape, out: readonly Dim[], inn: readonly Dim[], pairs: readonly Pair[], hasValues: boolean): Sparsity {
  if (out.length !== outShape.length || inn.length !== inShape.length) {
    throw new Error(`sparsity rank mismatch: ${out.length}/${outShape.length} out, ${inn.length}/${inShape.length} in`);
  }
  // Normalize and order the pairs.
  const norm: Pair[] = [];
  for (let k = 0; k < pairs.length; k++) {
    const p = pairs[k]!;
    if (!(out[p.out]?.kind === 'pair' && (out[p.out] as { pair: number }).pair === k)) throw new Error(`pair ${k} is not referenced by out dim ${p.out}`);
    if (!(inn[p.in]?.kind === 'pair' && (inn[p.in] as { pair: number }).pair === k)) throw new Error(`pair ${k} is not referenced by in dim ${p.in}`);
    const lo = Math.max(p.lo, 0, p.offset);
    const hi = Math.min(p.hi, outShape[p.out]!, inShape[p.in]! + p.offset);
    if (lo >= hi) return zeroSparsity(outShape, inShape);
    norm.push({ out: p.out, in: p.in, stored: p.stored, offset: p.offset, lo, hi });
  }
  norm.sort((a, b) => a.out - b.out);
  const outDims: Dim[] = [];
  const inDims: Dim[] = inn.map((d) => d);
  let anyDense = false;
  for (let a = 0; a < out.length; a++) {
    const d = out[a]!;
    if (d.kind === 'pair') {
      const k = norm.findIndex((p) => p.out === a);
      outDims.push({ kind: 'pair', pair: k });
      inDims[norm[k]!.in] = { kind: 'pair', pair: k };
    } else {
      if (d.kind === 'select' && (d.index < 0 || d.index >= outShape[a]!)) return zeroSparsity(outShape, inShape);
      if (d.kind === 'dense') anyDense = true;
      outDims.push(d);
    }
  }
  for (let b = 0; b < inn.length; b++) {
    const d = inn[b]!;
    if (d.kind === 'select' && (d.index < 0 || d.index >= inShape[b]!)) return zeroSparsity(outShape, inShape);
    if (d.kind === 'dense') anyDense = true;
  }
  const values = hasValues || anyDense;

  // Value layout: out dims (dense or diagonal pair), then dense in dims.
  const valueShape: number[] = [];
  const outAxis: number[] = outDims.map(() => -1);
  const inAxis: number[] = inDims.map(() => -1);
  if (values) {
    outDims.forEach((d, a) => {
      if (d.kind === 'dense' || (d.kind === 'pair' && norm[d.pair]!.stored)) {
        outAxis[a] = valueShape.length;
        valueShape.push(outShape[a]!);
      }
    });
    inDims.forEach((d, b) => {
      if (d.kind === 'dense') {
        inAxis[b] = valueShape.length;
        valueShape.push(inShape[b]!);
      }
    });
  }
  const axisStride: number[] = new Array<number>(valueShape.length);
  let stride = 1;
  for (let k = valueShape.length - 1; k >= 0; k--) {
    axisStride[k] = stride;
    stride *= valueShape[k]!;
  }
  const outStride = outAxis.map((k) => (k < 0 ? 0 : axisStride[k]!));
  const inStride = inAxis.map((k) => (k < 0 ? 0 : axisStride[k]!));
  const code = (d: Dim): string => {
    switch (d.kind) {
      case 'dense':
        return 'D';
      case 'replicated':
        return 'R';
      case 'select':
        return `S${d.index}`;
      case 'pair': {
        const p = norm[d.pair]!;
        return `${p.stored ? 'd' : 'k'}${p.out}:${p.in}:${p.offset}:${p.lo}:${p.hi}`;
      }
    }
  };
  const key = `T[${shapeKey(outShape)}|${shapeKey(inShape)}|${outDims.map(code).join(' ')}|${inDims.map(code).join(' ')}|${values ? 'v' : '-'}]`;
  return {
    form: 'tensor',
    outShape,
    inShape,
    out: outDims,
    in: inDims,
    pairs: norm,
    hasValues: values,
    valueShape,
    valueCount: values ? stride : 0,
    outStride,
    inStride,
    key,
  };
}

/** One stored scalar per element on both sides of a same-shaped edge: diag(values). */
export function diagonalSparsity(shape: Shape): Sparsity {
  return pairedSparsity(shape, true, true);
}

/** c·I: Kronecker pairs over every dimension, one stored scalar. */
export function scaledIdentitySparsity(shape: Shape): Sparsity {
  return pairedSparsity(shape, false, true);
}

/** I: Kronecker pairs over every dimension, nothing stored (a copy). */
export function identitySparsity(shape: Shape): Sparsity {
  return pairedSparsity(shape, false, false);
}

function pairedSparsity(shape: Shape, stored: boolean, hasValues: boolean): Sparsity {
  const dims: Dim[] = shape.map((_, k) => ({ kind: 'pair', pair: k }));
  const pairs: Pair[] = shape.map((n, k) => ({ out: k, in: k, stored, offset: 0, lo: 0, hi: n }));
  return makeSparsity(shape, shape, dims, dims, pairs, hasValues);
}

/** Every dimension dense: a full out × in block of stored values. */
export function denseSparsity(outShape: Shape, inShape: Shape): Sparsity {
  return makeSparsity(
    outShape,
    inShape,
    outShape.map(() => DENSE),
    inShape.map(() => DENSE),
    [],
    true,
  );
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

// ------------------------------------------------------------ the product

export interface Product {
  readonly sparsity: Sparsity;
  /** Multiplications by Graphax's get_num_muls (0 when either side stores nothing). */
  readonly multiplications: number;
}

/**
 * Sparsity of post·pre, where post = J(v→j) (out: j, in: v) and pre = J(i→v)
 * (out: v, in: i), and the multiplication count of Graphax's `get_num_muls`
 * (sparse/tensor.py):
 *
 *   × size of every dense out dim of post;
 *   × per contracted dim of v: dense·dense, dense·pair, pair·dense → size;
 *     pair·pair → size if either stores values; if neither does, 1 when both
 *     sides store a single scalar, size when exactly one does, else 1;
 *     replicated counts as dense (Graphax's DenseDimension without val_dim);
 *     a select contributes 1 (one element is read);
 *   × size of every dense in dim of pre;
 * and 0 when either side stores nothing at all (a transform: Graphax copies the
 * other side instead of multiplying).
 */
export function mulSparsity(post: Sparsity, pre: Sparsity): Product {
  if (!shapesEqual(post.inShape, pre.outShape)) {
    throw new Error(
      `cannot multiply Jacobians: ${formatShape(post.outShape)}←${formatShape(post.inShape)} · ${formatShape(pre.outShape)}←${formatShape(pre.inShape)}`,
    );
  }
  const outShape = post.outShape;
  const inShape = pre.inShape;
  if (post.form === 'zero' || pre.form === 'zero') return { sparsity: zeroSparsity(outShape, inShape), multiplications: 0 };
  if (post.form === 'flat' || pre.form === 'flat') return { sparsity: flatProduct(post, pre), multiplications: 0 };

  const V = post.inShape;
  const out: Dim[] = post.out.slice();
  const inn: Dim[] = pre.in.slice();
  const pairs: Pair[] = [];
  const zero = (): Product => ({ sparsity: zeroSparsity(outShape, inShape), multiplications: 0 });
  let factor = 1;
  let summed = false; // a sum of 0/1 patterns is a count: it needs a stored value
  for (let d = 0; d < V.length; d++) {
    const n = V[d]!;
    const ka = post.in[d]!;
    const kb = pre.out[d]!;
    if (ka.kind === 'pair') {
      const pa = post.pairs[ka.pair]!;
      if (kb.kind === 'pair') {
        // o = v + α, v = p + β  ⇒  o = p + α + β, on the intersection of both ranges.
        const pb = pre.pairs[kb.pair]!;
        const k = pairs.length;
        pairs.push({
          out: pa.out,
          in: pb.in,
          stored: pa.stored || pb.stored,
          offset: pa.offset + pb.offset,
          lo: Math.max(pa.lo, pb.lo + pa.offset),
          hi: Math.min(pa.hi, pb.hi + pa.offset),
        });
        out[pa.out] = { kind: 'pair', pair: k };
        inn[pb.in] = { kind: 'pair', pair: k };
        if (pa.stored || pb.stored) factor *= n;
        else if (post.valueCount === 1 && pre.valueCount === 1) factor *= 1;
        else if (post.valueCount === 1 || pre.valueCount === 1) factor *= n;
      } else if (kb.kind === 'dense') {
        out[pa.out] = DENSE;
        factor *= n;
      } else if (kb.kind === 'replicated') {
        const covers = pa.lo === 0 && pa.hi === outShape[pa.out];
        out[pa.out] = !pa.stored && covers ? REPLICATED : DENSE;
        factor *= n;
      } else {
        const o = kb.index + pa.offset;
        if (o < pa.lo || o >= pa.hi) return zero();
        out[pa.out] = selectDim(o);
      }
    } else if (kb.kind === 'pair') {
      const pb = pre.pairs[kb.pair]!;
      if (ka.kind === 'dense') {
        inn[pb.in] = DENSE;
        factor *= n;
      } else if (ka.kind === 'replicated') {
        const covers = pb.lo === pb.offset && pb.hi === inShape[pb.in]! + pb.offset;
        inn[pb.in] = !pb.stored && covers ? REPLICATED : DENSE;
        factor *= n;
      } else {
        const s = ka.index;
        if (s < pb.lo || s >= pb.hi) return zero();
        inn[pb.in] = selectDim(s - pb.offset);
      }
    } else if (ka.kind === 'select' && kb.kind === 'select') {
      if (ka.index !== kb.index) return zero();
    } else if (ka.kind === 'select' || kb.kind === 'select') {
      // One index of v is read: nothing is summed along this axis.
    } else {
      factor *= n; // dense or replicated on both sides: a sum over the axis
      if (n > 1) summed = true;
    }
  }
  let multiplications = 0;
  if (post.hasValues && pre.hasValues) {
    multiplications = factor;
    post.out.forEach((d, a) => {
      if (d.kind === 'dense') multiplications *= outShape[a]!;
    });
    pre.in.forEach((d, b) => {
      if (d.kind === 'dense') multiplications *= inShape[b]!;
    });
  }
  return { sparsity: makeSparsity(outShape, inShape, out, inn, pairs, post.hasValues || pre.hasValues || summed), multiplications };
}

/** R·B or A·R with R flat: the side facing R loses its structure (Graphax: "reshape densifies"). */
function flatProduct(post: Sparsity, pre: Sparsity): Sparsity {
  const outShape = post.outShape;
  const inShape = pre.inShape;
  if (post.form === 'flat' && pre.form === 'flat') return flatSparsity(outShape, inShape);
  if (post.form === 'flat') {
    const inn = pre.in.map((d) => (d.kind === 'pair' ? DENSE : d));
    return makeSparsity(
      outShape,
      inShape,
      outShape.map(() => DENSE),
      inn,
      [],
      true,
    );
  }
  const out = post.out.map((d) => (d.kind === 'pair' ? DENSE : d));
  return makeSparsity(
    outShape,
    inShape,
    out,
    inShape.map(() => DENSE),
    [],
    true,
  );
}

// ------------------------------------------------------------ the sum

export interface Sum {
  readonly sparsity: Sparsity;
  /** One addition per stored value of the result (0 when one side is zero). */
  readonly additions: number;
}

/**
 * Sparsity of a + b (same logical shape). A pair survives when both sides tie
 * the same dims with the same offset (diagonal unless both are Kronecker over
 * the same range); any other disagreement makes the dims involved dense.
 */
export function addSparsity(a: Sparsity, b: Sparsity): Sum {
  if (!shapesEqual(a.outShape, b.outShape) || !shapesEqual(a.inShape, b.inShape)) {
    throw new Error(`cannot add Jacobians: ${formatShape(a.outShape)}←${formatShape(a.inShape)} + ${formatShape(b.outShape)}←${formatShape(b.inShape)}`);
  }
  if (a.form === 'zero') return { sparsity: b, additions: 0 };
  if (b.form === 'zero') return { sparsity: a, additions: 0 };
  let s: Sparsity;
  if (a.form === 'flat' || b.form === 'flat') {
    s = denseSparsity(a.outShape, a.inShape);
  } else {
    const out: Dim[] = [];
    const inn: (Dim | null)[] = a.in.map(() => null);
    const pairs: Pair[] = [];
    for (let o = 0; o < a.out.length; o++) {
      const da = a.out[o]!;
      const db = b.out[o]!;
      if (da.kind === 'pair' && db.kind === 'pair') {
        const pa = a.pairs[da.pair]!;
        const pb = b.pairs[db.pair]!;
        if (pa.in === pb.in && pa.offset === pb.offset) {
          const same = pa.lo === pb.lo && pa.hi === pb.hi;
          pairs.push({
            out: o,
            in: pa.in,
            stored: pa.stored || pb.stored || !same,
            offset: pa.offset,
            lo: Math.min(pa.lo, pb.lo),
            hi: Math.max(pa.hi, pb.hi),
          });
          out.push({ kind: 'pair', pair: pairs.length - 1 });
          inn[pa.in] = { kind: 'pair', pair: pairs.length - 1 };
          continue;
        }
      }
      out.push(combine(da, db));
    }
    for (let i = 0; i < a.in.length; i++) if (inn[i] === null) inn[i] = combine(a.in[i]!, b.in[i]!);
    s = makeSparsity(a.outShape, a.inShape, out, inn as Dim[], pairs, true);
  }
  return { sparsity: s, additions: s.valueCount };
}

/** Kind of a dimension of a sum when the two sides do not share a pair on it. */
function combine(a: Dim, b: Dim): Dim {
  if (a.kind === 'replicated' && b.kind === 'replicated') return REPLICATED;
  if (a.kind === 'select' && b.kind === 'select' && a.index === b.index) return a;
  return DENSE;
}

// ------------------------------------------------------------ numeric values

function flatIndex(idx: ArrayLike<number>, shape: Shape): number {
  let f = 0;
  for (let k = 0; k < shape.length; k++) f = f * shape[k]! + idx[k]!;
  return f;
}

function unflatten(f: number, shape: Shape, into: Int32Array): void {
  for (let k = shape.length - 1; k >= 0; k--) {
    const n = shape[k]!;
    into[k] = f % n;
    f = (f - into[k]!) / n;
  }
}

/** J[o, p] at multi-indices o (out) and p (in). */
export function entryAt(j: SparseJacobian, o: ArrayLike<number>, p: ArrayLike<number>): number {
  const s = j.sparsity;
  if (s.form === 'zero') return 0;
  if (s.form === 'flat') return flatIndex(o, s.outShape) === flatIndex(p, s.inShape) ? 1 : 0;
  for (const pr of s.pairs) {
    const oa = o[pr.out]!;
    if (oa !== p[pr.in]! + pr.offset || oa < pr.lo || oa >= pr.hi) return 0;
  }
  let idx = 0;
  for (let a = 0; a < s.out.length; a++) {
    const d = s.out[a]!;
    if (d.kind === 'select' && o[a] !== d.index) return 0;
    idx += o[a]! * s.outStride[a]!;
  }
  for (let b = 0; b < s.in.length; b++) {
    const d = s.in[b]!;
    if (d.kind === 'select' && p[b] !== d.index) return 0;
    idx += p[b]! * s.inStride[b]!;
  }
  if (!s.hasValues) return 1;
  if (j.values === null) throw new Error('numeric entry of a symbolic Jacobian');
  return j.values[idx]!;
}

/**
 * Fills the stored values of sparsity `s` with f(o, p), evaluated at one
 * representative logical index per stored value.
 */
function fillValues(s: Sparsity, f: (o: Int32Array, p: Int32Array) => number): Float64Array {
  const values = new Float64Array(s.valueCount);
  const o = new Int32Array(s.outShape.length);
  const p = new Int32Array(s.inShape.length);
  // Representatives for dims without a value axis.
  s.out.forEach((d, a) => {
    o[a] = d.kind === 'select' ? d.index : 0;
  });
  s.in.forEach((d, b) => {
    p[b] = d.kind === 'select' ? d.index : 0;
  });
  for (const pr of s.pairs) {
    o[pr.out] = pr.lo;
    p[pr.in] = pr.lo - pr.offset;
  }
  // Value axes → (side, dim).
  const axes: { out: boolean; dim: number; pair: Pair | null }[] = [];
  s.out.forEach((d, a) => {
    if (d.kind === 'dense') axes.push({ out: true, dim: a, pair: null });
    else if (d.kind === 'pair' && s.pairs[d.pair]!.stored) axes.push({ out: true, dim: a, pair: s.pairs[d.pair]! });
  });
  s.in.forEach((d, b) => {
    if (d.kind === 'dense') axes.push({ out: false, dim: b, pair: null });
  });
  const idx = new Int32Array(axes.length);
  for (let v = 0; v < values.length; v++) {
    let valid = true;
    for (let k = 0; k < axes.length; k++) {
      const ax = axes[k]!;
      const i = idx[k]!;
      if (ax.out) {
        o[ax.dim] = i;
        if (ax.pair !== null) {
          p[ax.pair.in] = i - ax.pair.offset;
          if (i < ax.pair.lo || i >= ax.pair.hi) valid = false;
        }
      } else p[ax.dim] = i;
    }
    if (valid) values[v] = f(o, p);
    for (let k = axes.length - 1; k >= 0; k--) {
      if (++idx[k]! < s.valueShape[k]!) break;
      idx[k] = 0;
    }
  }
  return values;
}

export interface NumericProduct {
  readonly jacobian: SparseJacobian;
  readonly multiplications: number;
}

/** post·pre with values: J(i→j) = J(v→j)·J(i→v), a sum over v's index where it is not fixed by a pair or select. */
export function mulJacobians(post: SparseJacobian, pre: SparseJacobian): NumericProduct {
  const { sparsity, multiplications } = mulSparsity(post.sparsity, pre.sparsity);
  if (!sparsity.hasValues) return { jacobian: { sparsity, values: null }, multiplications };
  const A = post.sparsity;
  const B = pre.sparsity;
  const V = A.inShape;
  const r = V.length;
  const v = new Int32Array(r);
  // How each index of v is found: from a pair of either side, a select, or summed.
  type Mode = { k: 'outPair'; dim: number; off: number } | { k: 'inPair'; dim: number; off: number } | { k: 'fixed'; at: number } | { k: 'free' };
  const modes: Mode[] = [];
  const free: number[] = [];
  if (A.form === 'tensor' && B.form === 'tensor') {
    for (let d = 0; d < r; d++) {
      const ka = A.in[d]!;
      const kb = B.out[d]!;
      if (ka.kind === 'pair') {
        const pr = A.pairs[ka.pair]!;
        modes.push({ k: 'outPair', dim: pr.out, off: pr.offset });
      } else if (kb.kind === 'pair') {
        const pr = B.pairs[kb.pair]!;
        modes.push({ k: 'inPair', dim: pr.in, off: pr.offset });
      } else if (ka.kind === 'select') modes.push({ k: 'fixed', at: ka.index });
      else if (kb.kind === 'select') modes.push({ k: 'fixed', at: kb.index });
      else {
        modes.push({ k: 'free' });
        free.push(d);
      }
    }
  }
  const values = fillValues(sparsity, (o, p) => {
    if (A.form === 'flat') {
      unflatten(flatIndex(o, A.outShape), V, v);
      return entryAt(pre, v, p);
    }
    if (B.form === 'flat') {
      unflatten(flatIndex(p, B.inShape), V, v);
      return entryAt(post, o, v);
    }
    for (let d = 0; d < r; d++) {
      const m = modes[d]!;
      if (m.k === 'outPair') v[d] = o[m.dim]! - m.off;
      else if (m.k === 'inPair') v[d] = p[m.dim]! + m.off;
      else if (m.k === 'fixed') v[d] = m.at;
      else v[d] = 0;
      if (v[d]! < 0 || v[d]! >= V[d]!) return 0;
    }
    let acc = 0;
    for (;;) {
      const x = entryAt(post, o, v);
      if (x !== 0) acc += x * entryAt(pre, v, p);
      let k = free.length - 1;
      for (; k >= 0; k--) {
        const d = free[k]!;
        if (++v[d]! < V[d]!) break;
        v[d] = 0;
      }
      if (k < 0) break;
    }
    return acc;
  });
  return { jacobian: { sparsity, values }, multiplications };
}

export interface NumericSum {
  readonly jacobian: SparseJacobian;
  readonly additions: number;
}

export function addJacobians(a: SparseJacobian, b: SparseJacobian): NumericSum {
  const { sparsity, additions } = addSparsity(a.sparsity, b.sparsity);
  if (sparsity === a.sparsity && b.sparsity.form === 'zero') return { jacobian: a, additions };
  if (sparsity === b.sparsity && a.sparsity.form === 'zero') return { jacobian: b, additions };
  const values = fillValues(sparsity, (o, p) => entryAt(a, o, p) + entryAt(b, o, p));
  return { jacobian: { sparsity, values }, additions };
}

/** A Jacobian with values computed from a function of the logical index (used by rules and tests). */
export function jacobianFrom(s: Sparsity, f: (o: Int32Array, p: Int32Array) => number): SparseJacobian {
  return { sparsity: s, values: s.hasValues ? fillValues(s, f) : null };
}

/** The dense out-size × in-size matrix (row-major) of a Jacobian. */
export function toDense(j: SparseJacobian): Float64Array {
  const s = j.sparsity;
  const m = sizeOf(s.outShape);
  const n = sizeOf(s.inShape);
  const dense = new Float64Array(m * n);
  if (s.form === 'zero') return dense;
  if (s.form === 'flat') {
    for (let k = 0; k < m; k++) dense[k * n + k] = 1;
    return dense;
  }
  const o = new Int32Array(s.outShape.length);
  const p = new Int32Array(s.inShape.length);
  for (let r = 0; r < m; r++) {
    unflatten(r, s.outShape, o);
    for (let c = 0; c < n; c++) {
      unflatten(c, s.inShape, p);
      dense[r * n + c] = entryAt(j, o, p);
    }
  }
  return dense;
}

/** A readable one-line description, e.g. "diag [3]→[3]" or "dense [2]×[3] (6 values)". */
export function describeSparsity(s: Sparsity): string {
  const shape = `${formatShape(s.outShape)}←${formatShape(s.inShape)}`;
  if (s.form === 'zero') return `zero ${shape}`;
  if (s.form === 'flat') return `reshape ${shape}`;
  const kind = (d: Dim): string => {
    switch (d.kind) {
      case 'dense':
        return 'dense';
      case 'replicated':
        return 'replicated';
      case 'select':
        return `select(${d.index})`;
      case 'pair': {
        const p = s.pairs[d.pair]!;
        const shift = p.offset !== 0 ? `${p.offset > 0 ? '+' : ''}${p.offset}` : '';
        return `${p.stored ? 'diagonal' : 'kronecker'}${shift}`;
      }
    }
  };
  return `${shape} out(${s.out.map(kind).join(', ')}) in(${s.in.map(kind).join(', ')}), ${s.valueCount} value${s.valueCount === 1 ? '' : 's'}`;
}
