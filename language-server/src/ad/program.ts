// A Jacobian program: an elimination order compiled once into straight-line
// numeric code over compact storage, run on a whole batch of points.
//
// `jacobian()` (jacobian.ts) eliminates with values: every product and sum
// works out its sparsity again and fills its values one logical entry at a
// time (`mulJacobians`). Here the elimination runs symbolically once, with the
// same engine conventions as `Eliminator` (same products, sums, adjacency
// order, hence the same costs), and every product and accumulation is lowered
// to flat index lists over one arena of stored values:
//
//   1. partials  one typed-array kernel per edge partial (rules.ts), vectorised
//                over the batch, reading `evaluateBatch` values;
//   2. program   a bytecode of multiply-adds over the arena: w[t] (=|+=) w[a]·w[c],
//                copies and constants, with runs (contiguous elementwise
//                products: diagonals) and dots (a dense contraction into one
//                value) compressed into single instructions;
//   3. scatter   the edges input → output read out as dense blocks.
//
// Storage is value-major: stored value k of a buffer for sample b lives at
// arena[(offset + k)·m + b] for a chunk of m samples, so every instruction's
// inner loop runs over the chunk (contiguous), and a run of n elementwise
// products is one loop of n·m. The batch runs chunk by chunk, each chunk's
// arena small enough to stay in cache; at m = 1 the same code is a plain
// scalar program. Buffers are allocated by liveness (the arena peaks with the
// order's live edge memory, as counted by the symbolic engine), and a product
// is accumulated straight into its target: into the existing edge when the sum
// keeps its sparsity, else into a fresh buffer after the old edge is copied
// in. A fresh target's first write assigns, so nothing is zero-filled first.

import { sizeOf, type Graph, type Shape, type Tensor, type Vertex } from '../graph/types.js';
import { evaluateBatch, isBinary, isUnary, reduceAxes, reduceMap, stridesOf, type BatchTensor } from '../graph/evaluate.js';
import { SparsityTable } from './eliminate.js';
import { DEFAULT_MAX_BYTES, denseJacobianBytes, JacobianTooLargeError, type JacobianBlock, type JacobianResult } from './jacobian.js';
import { checkGraph, linearize, NonFiniteError } from './linearize.js';
import { resolveOrder, type OrderName } from './orders.js';
import { binaryDerivative, partialJacobian, partialSparsity, powcDerivative, surrogateDerivative, unaryDerivative } from './rules.js';
import type { Sparsity } from './sparsity.js';

// ------------------------------------------------------------ public types

export interface ProgramOptions {
  /** Refuse to compile when the dense Jacobian or the order's peak edge memory, per sample, exceeds this (default 256 MiB). */
  readonly maxBytes?: number;
}

export interface RunOptions {
  /** Refuse a run whose arena and result would exceed this many bytes (default 1 GiB). */
  readonly maxBytes?: number;
  /** Throw NonFiniteError (vertex, source range, sample) on a NaN/Inf value or partial, as jacobian() does (default false: NaN propagates). */
  readonly checkFinite?: boolean;
  /** Samples per chunk: the whole program runs on one chunk at a time so its arena stays in cache (default: about 256 KiB of arena). */
  readonly chunk?: number;
  /** Filled with the milliseconds of each phase, when given. */
  readonly timings?: PhaseTimings;
}

/** Where a run's time goes (ms). */
export interface PhaseTimings {
  partials: number;
  program: number;
  scatter: number;
}

/** ∂outputs[output]/∂inputs[input] for every sample: data is batch × rows × cols, sample-major, row-major within a sample. */
export interface BatchJacobianBlock {
  readonly output: number;
  readonly input: number;
  readonly rows: number;
  readonly cols: number;
  readonly batch: number;
  readonly data: Float64Array;
}

export interface BatchJacobian {
  readonly batch: number;
  /** blocks[k][l] = ∂graph.outputs[k]/∂graph.inputs[l]. */
  readonly blocks: readonly (readonly BatchJacobianBlock[])[];
}

export interface ProgramStats {
  /** Edge partial kernels. */
  readonly partials: number;
  /** Bytecode instructions (after run/dot compression). */
  readonly instructions: number;
  /** Multiply-adds, copies and constants before compression: the work per sample. */
  readonly terms: number;
  readonly multiplyAdds: number;
  /** Stored values in the arena per sample (its peak of live buffers). */
  readonly arenaValues: number;
}

export interface JacobianProgram {
  readonly graph: Graph;
  readonly order: readonly number[];
  /** Costs of the order, as costOf counts them. */
  readonly multiplications: number;
  readonly additions: number;
  readonly fillIn: number;
  readonly peakMemoryBytes: number;
  readonly stats: ProgramStats;
  /** The Jacobian blocks of every sample from `evaluateBatch(graph, leaves, batch)` values. */
  run(values: readonly BatchTensor[], batch: number, options?: RunOptions): BatchJacobian;
}

// ------------------------------------------------------------ bytecode

// Instruction layout in an Int32Array (operands are arena value indices; consts index `consts`):
const MUL = 0; //       t a c        w[t] (=|+=) w[a]·w[c]
const COPY = 1; //      t a          w[t] (=|+=) w[a]
const CONST = 2; //     t k          w[t] (=|+=) consts[k]
const MUL_RUN = 3; //   t a c n      w[t+i] (=|+=) w[a+i]·w[c+i], i < n
const COPY_RUN = 4; //  t a n        w[t+i] (=|+=) w[a+i]
const DOT = 5; //       t a c n sa sc  w[t] (=|+=) Σ_i w[a+i·sa]·w[c+i·sc]
const ACC = 8; //       flag: accumulate rather than assign
const WIDTH = [4, 3, 3, 5, 4, 7];

// ------------------------------------------------------------ positions in a sparsity

const ZERO = -1; // structurally zero at this entry
const ONE = -2; //  a 0/1 pattern: 1 here, nothing stored

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

/** Where J[o, p] lives: its stored-value index, ONE (a 1 of a pattern) or ZERO. Mirrors sparsity.ts `entryAt`. */
function entryPos(s: Sparsity, o: ArrayLike<number>, p: ArrayLike<number>): number {
  if (s.form === 'zero') return ZERO;
  if (s.form === 'flat') return flatIndex(o, s.outShape) === flatIndex(p, s.inShape) ? ONE : ZERO;
  for (const pr of s.pairs) {
    const oa = o[pr.out]!;
    if (oa !== p[pr.in]! + pr.offset || oa < pr.lo || oa >= pr.hi) return ZERO;
  }
  let idx = 0;
  for (let a = 0; a < s.out.length; a++) {
    const d = s.out[a]!;
    if (d.kind === 'select' && o[a] !== d.index) return ZERO;
    idx += o[a]! * s.outStride[a]!;
  }
  for (let b = 0; b < s.in.length; b++) {
    const d = s.in[b]!;
    if (d.kind === 'select' && p[b] !== d.index) return ZERO;
    idx += p[b]! * s.inStride[b]!;
  }
  return s.hasValues ? idx : ONE;
}

/**
 * Calls f(position, o, p) for every stored value of `s` with a representative
 * logical index, skipping positions outside a pair's range (they are never
 * read). Mirrors sparsity.ts `fillValues`.
 */
function forEachStored(s: Sparsity, f: (pos: number, o: Int32Array, p: Int32Array) => void): void {
  if (!s.hasValues || s.form !== 'tensor') return;
  const o = new Int32Array(s.outShape.length);
  const p = new Int32Array(s.inShape.length);
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
  const axes: { out: boolean; dim: number; pairIn: number; off: number; lo: number; hi: number }[] = [];
  s.out.forEach((d, a) => {
    if (d.kind === 'dense') axes.push({ out: true, dim: a, pairIn: -1, off: 0, lo: 0, hi: 0 });
    else if (d.kind === 'pair' && s.pairs[d.pair]!.stored) {
      const pr = s.pairs[d.pair]!;
      axes.push({ out: true, dim: a, pairIn: pr.in, off: pr.offset, lo: pr.lo, hi: pr.hi });
    }
  });
  s.in.forEach((d, b) => {
    if (d.kind === 'dense') axes.push({ out: false, dim: b, pairIn: -1, off: 0, lo: 0, hi: 0 });
  });
  const idx = new Int32Array(axes.length);
  for (let v = 0; v < s.valueCount; v++) {
    let valid = true;
    for (let k = 0; k < axes.length; k++) {
      const ax = axes[k]!;
      const i = idx[k]!;
      if (ax.out) {
        o[ax.dim] = i;
        if (ax.pairIn >= 0) {
          p[ax.pairIn] = i - ax.off;
          if (i < ax.lo || i >= ax.hi) valid = false;
        }
      } else p[ax.dim] = i;
    }
    if (valid) f(v, o, p);
    for (let k = axes.length - 1; k >= 0; k--) {
      if (++idx[k]! < s.valueShape[k]!) break;
      idx[k] = 0;
    }
  }
}

/**
 * The terms of (post·pre)[o, p]: calls term(ea, eb) with the positions of the
 * two factors (ONE for a 0/1 pattern) for every nonzero product in the sum
 * over the contracted index. Mirrors sparsity.ts `mulJacobians`.
 */
function contraction(post: Sparsity, pre: Sparsity): (o: Int32Array, p: Int32Array, term: (ea: number, eb: number) => void) => void {
  const V = post.inShape;
  const r = V.length;
  const v = new Int32Array(r);
  if (post.form === 'flat') {
    return (o, p, term) => {
      unflatten(flatIndex(o, post.outShape), V, v);
      const eb = entryPos(pre, v, p);
      if (eb !== ZERO) term(ONE, eb);
    };
  }
  if (pre.form === 'flat') {
    return (o, p, term) => {
      unflatten(flatIndex(p, pre.inShape), V, v);
      const ea = entryPos(post, o, v);
      if (ea !== ZERO) term(ea, ONE);
    };
  }
  // How each index of v is found: 0 from an out pair of post, 1 from an in pair of pre, 2 fixed, 3 summed.
  const mode = new Int32Array(r);
  const arg = new Int32Array(r);
  const off = new Int32Array(r);
  const free: number[] = [];
  for (let d = 0; d < r; d++) {
    const ka = post.in[d]!;
    const kb = pre.out[d]!;
    if (ka.kind === 'pair') {
      const pr = post.pairs[ka.pair]!;
      mode[d] = 0;
      arg[d] = pr.out;
      off[d] = pr.offset;
    } else if (kb.kind === 'pair') {
      const pr = pre.pairs[kb.pair]!;
      mode[d] = 1;
      arg[d] = pr.in;
      off[d] = pr.offset;
    } else if (ka.kind === 'select') {
      mode[d] = 2;
      arg[d] = ka.index;
    } else if (kb.kind === 'select') {
      mode[d] = 2;
      arg[d] = kb.index;
    } else {
      mode[d] = 3;
      free.push(d);
    }
  }
  return (o, p, term) => {
    for (let d = 0; d < r; d++) {
      const m = mode[d]!;
      v[d] = m === 0 ? o[arg[d]!]! - off[d]! : m === 1 ? p[arg[d]!]! + off[d]! : m === 2 ? arg[d]! : 0;
      if (v[d]! < 0 || v[d]! >= V[d]!) return;
    }
    for (;;) {
      const ea = entryPos(post, o, v);
      if (ea !== ZERO) {
        const eb = entryPos(pre, v, p);
        if (eb !== ZERO) term(ea, eb);
      }
      let k = free.length - 1;
      for (; k >= 0; k--) {
        const d = free[k]!;
        if (++v[d]! < V[d]!) break;
        v[d] = 0;
      }
      if (k < 0) break;
    }
  };
}

// ------------------------------------------------------------ arena allocation

/** First-fit allocation of value slots with coalescing; `size` is the high-water mark. */
class Arena {
  size = 0;
  private free: { at: number; n: number }[] = [];

  alloc(n: number): number {
    if (n === 0) return 0;
    for (let k = 0; k < this.free.length; k++) {
      const f = this.free[k]!;
      if (f.n >= n) {
        const at = f.at;
        if (f.n === n) this.free.splice(k, 1);
        else {
          f.at += n;
          f.n -= n;
        }
        return at;
      }
    }
    // Grow: extend a free block at the end if there is one.
    const last = this.free[this.free.length - 1];
    if (last && last.at + last.n === this.size) {
      this.free.pop();
      this.size = last.at + n;
      return last.at;
    }
    const at = this.size;
    this.size += n;
    return at;
  }

  release(at: number, n: number): void {
    if (n === 0) return;
    const fl = this.free;
    let k = 0;
    while (k < fl.length && fl[k]!.at < at) k++;
    fl.splice(k, 0, { at, n });
    if (k + 1 < fl.length && at + n === fl[k + 1]!.at) {
      fl[k]!.n += fl[k + 1]!.n;
      fl.splice(k + 1, 1);
    }
    if (k > 0 && fl[k - 1]!.at + fl[k - 1]!.n === at) {
      fl[k - 1]!.n += fl[k]!.n;
      fl.splice(k, 1);
    }
  }
}

// ------------------------------------------------------------ edge partial kernels

/** Writes the stored values of one edge partial at arena offset `off` for samples b0 … b0 + B − 1 (value-major, B per value). */
type PartialKernel = (vals: readonly BatchTensor[], w: Float64Array, B: number, b0: number) => void;

interface PartialSpec {
  readonly vertex: number;
  readonly operand: number;
  readonly off: number;
  readonly count: number;
  readonly run: PartialKernel;
}

// Each derivative gets its own copy of the loop (a fresh function per rule), so the call to the
// rule's formula is monomorphic there and V8 inlines it: the loop runs at the speed of the formula.
const UNARY_LOOP = `return function (xd, yd, xs, ys, w, off, count, B, b0) {
  const xo = b0 * xs;
  const yo = b0 * ys;
  for (let i = 0; i < count; i++) {
    const base = (off + i) * B;
    for (let b = 0; b < B; b++) w[base + b] = d(xd[xo + b * xs + i], yd[yo + b * ys + i]);
  }
};`;
const BINARY_LOOP = `return function (ad, cd, yd, as, cs, ys, sa, sc, w, off, count, B, b0) {
  const ao = b0 * as;
  const co = b0 * cs;
  const yo = b0 * ys;
  for (let i = 0; i < count; i++) {
    const base = (off + i) * B;
    const ia = ao + i * sa;
    const ic = co + i * sc;
    for (let b = 0; b < B; b++) w[base + b] = d(ad[b * as + ia], cd[b * cs + ic], yd[yo + b * ys + i]);
  }
};`;
type UnaryLoop = (xd: Float64Array, yd: Float64Array, xs: number, ys: number, w: Float64Array, off: number, count: number, B: number, b0: number) => void;
type BinaryLoop = (
  ad: Float64Array,
  cd: Float64Array,
  yd: Float64Array,
  as: number,
  cs: number,
  ys: number,
  sa: number,
  sc: number,
  w: Float64Array,
  off: number,
  count: number,
  B: number,
  b0: number,
) => void;
const loops = new Map<string, UnaryLoop | BinaryLoop>();

function specialised<L>(key: string, source: string, d: unknown): L {
  let f = loops.get(key);
  if (!f) {
    // The key in a comment makes every source distinct: V8 caches compiled sources, and one
    // shared function would see every rule at its call site (megamorphic, ~5× slower).
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated code: a loop specialised to one rule's source text (above)
    f = (new Function('d', `${source}\n// ${key.replace(/[\r\n]/g, ' ')}`) as (d: unknown) => UnaryLoop | BinaryLoop)(d);
    loops.set(key, f);
  }
  return f as L;
}

function partialKernel(graph: Graph, v: Vertex, k: number, s: Sparsity, off: number): PartialKernel {
  const count = s.valueCount;
  const size = sizeOf(v.shape);
  const src = v.inputs[k]!;
  if (isUnary(v.op) && v.op !== 'stop') {
    let loop: UnaryLoop;
    if (v.op === 'spike') {
      const sur = v.attrs.surrogate;
      if (!sur) throw new Error(`'spike' needs a surrogate (vertex ${v.id})`);
      loop = specialised(`spike:${JSON.stringify(sur)}`, UNARY_LOOP, (x: number) => surrogateDerivative(sur, x));
    } else if (v.op === 'powc') {
      const e = v.attrs.exponent ?? NaN;
      loop = specialised(`powc:${e}`, UNARY_LOOP, (x: number) => powcDerivative(x, e));
    } else loop = specialised(v.op, UNARY_LOOP, unaryDerivative[v.op]);
    return (vals, w, B, b0) => {
      const x = vals[src]!;
      const y = vals[v.id]!;
      loop(x.data, y.data, x.shared ? 0 : size, y.shared ? 0 : size, w, off, count, B, b0);
    };
  }
  if (isBinary(v.op)) {
    const side = k === 0 ? 0 : 1;
    const loop = specialised<BinaryLoop>(`${v.op}:${side}`, BINARY_LOOP, binaryDerivative[v.op][side]);
    const na = sizeOf(graph.vertices[v.inputs[0]!]!.shape);
    const nc = sizeOf(graph.vertices[v.inputs[1]!]!.shape);
    const sa = na === 1 ? 0 : 1;
    const sc = nc === 1 ? 0 : 1;
    return (vals, w, B, b0) => {
      const a = vals[v.inputs[0]!]!;
      const c = vals[v.inputs[1]!]!;
      const y = vals[v.id]!;
      loop(a.data, c.data, y.data, a.shared ? 0 : na, c.shared ? 0 : nc, y.shared ? 0 : size, sa, sc, w, off, count, B, b0);
    };
  }
  if (v.op === 'matmul') {
    // ∂(A@C)/∂A = C (transposed when a matrix); ∂(A@C)/∂C = A (rules.ts `partialJacobian`).
    const other = v.inputs[1 - k]!;
    const os = graph.vertices[other]!.shape;
    const n = sizeOf(os);
    const transposed = k === 0 && os.length === 2;
    const kk = os[0]!;
    const cols = os.length === 2 ? os[1]! : 1;
    // Stored value i reads element q[i] of the other operand.
    const q = Int32Array.from({ length: count }, (_, i) => (transposed ? (i % kk) * cols + Math.floor(i / kk) : i));
    return (vals, w, B, b0) => {
      const x = vals[other]!;
      const xd = x.data;
      const xs = x.shared ? 0 : n;
      for (let i = 0; i < count; i++) {
        const qi = b0 * xs + q[i]!;
        const base = (off + i) * B;
        for (let b = 0; b < B; b++) w[base + b] = xd[b * xs + qi]!;
      }
    };
  }
  if (v.op === 'sum') {
    return (_vals, w, B) => {
      w.fill(1, off * B, (off + count) * B);
    };
  }
  if (v.op === 'reduce_max' || v.op === 'reduce_min') {
    // The indicator of the positions that attain the extremum, over its count (rules.ts).
    const xs = graph.vertices[src]!.shape;
    const axes = reduceAxes(v, xs);
    const map = reduceMap(xs, axes);
    const reduced = reduceMap(
      xs,
      xs.map((_, i) => i).filter((i) => !axes.includes(i)),
    );
    const R = sizeOf(axes.map((i) => xs[i]!));
    const nx = map.length;
    const counts = new Float64Array(size);
    return (vals, w, B, b0) => {
      w.fill(0, off * B, (off + count) * B);
      const x = vals[src]!;
      const y = vals[v.id]!;
      const xstride = x.shared ? 0 : nx;
      const ystride = y.shared ? 0 : size;
      for (let b = 0; b < B; b++) {
        const xo = (b0 + b) * xstride;
        const yo = (b0 + b) * ystride;
        counts.fill(0);
        for (let qq = 0; qq < nx; qq++) if (x.data[xo + qq] === y.data[yo + map[qq]!]) counts[map[qq]!]! += 1;
        for (let qq = 0; qq < nx; qq++) {
          const o = map[qq]!;
          if (x.data[xo + qq] === y.data[yo + o]) w[(off + o * R + reduced[qq]!) * B + b] = 1 / counts[o]!;
        }
      }
    };
  }
  // Anything else: the rule itself, one sample at a time.
  const shapes = v.inputs.map((u) => graph.vertices[u]!.shape);
  return (vals, w, B, b0) => {
    for (let b = 0; b < B; b++) {
      const at = (id: number, shape: Shape): Tensor => {
        const t = vals[id]!;
        const n = sizeOf(shape);
        return { shape, data: t.shared ? t.data : t.data.subarray((b0 + b) * n, (b0 + b + 1) * n) };
      };
      const j = partialJacobian(
        v,
        k,
        v.inputs.map((u, q) => at(u, shapes[q]!)),
        at(v.id, v.shape),
      );
      const values = j?.values;
      if (!values) throw new Error(`no values for the partial of vertex ${v.id} (${v.op}) w.r.t. operand ${k}`);
      for (let i = 0; i < count; i++) w[(off + i) * B + b] = values[i]!;
    }
  };
}

// ------------------------------------------------------------ compilation

interface Edge {
  src: number;
  dst: number;
  sp: number;
  /** Arena offset of its stored values, −1 when it stores none. */
  off: number;
}

class Builder {
  readonly table = new SparsityTable();
  readonly arena = new Arena();
  readonly code: number[] = [];
  readonly consts: number[] = [0, 1];
  private readonly constIds = new Map<number, number>([
    [0, 0],
    [1, 1],
  ]);
  terms = 0;
  multiplyAdds = 0;
  instructions = 0;

  constId(c: number): number {
    let id = this.constIds.get(c);
    if (id === undefined) {
      id = this.consts.length;
      this.consts.push(c);
      this.constIds.set(c, id);
    }
    return id;
  }

  /** A buffer for sparsity id sp (offset, or −1 when nothing is stored). */
  alloc(sp: number): number {
    const s = this.table.get(sp);
    return s.hasValues ? this.arena.alloc(s.valueCount) : -1;
  }

  release(e: Edge): void {
    if (e.off >= 0) this.arena.release(e.off, this.table.get(e.sp).valueCount);
    e.off = -1;
  }

  // The terms of the kernel being emitted (parallel arrays, reused): target, operands (−1: the
  // constant 1; ≤ −2: constant −2 − a), and whether the term assigns rather than accumulates.
  private tT: number[] = [];
  private tA: number[] = [];
  private tC: number[] = [];
  private tSet: boolean[] = [];
  private tN = 0;

  /**
   * Emits the terms that add `src` (stored at srcOff, or a 0/1 pattern) into target
   * layout `ts` at tOff; `written` marks the target positions already assigned.
   */
  gatherInto(src: Sparsity, srcOff: number, ts: Sparsity, tOff: number, written: Uint8Array | null): void {
    const counts = new Map<number, number>();
    forEachStored(ts, (pos, o, p) => {
      const e = entryPos(src, o, p);
      if (e === ZERO) return;
      if (e === ONE) counts.set(pos, (counts.get(pos) ?? 0) + 1);
      else this.term(tOff + pos, srcOff + e, -1, written, pos);
    });
    for (const [pos, n] of counts) this.constTerm(tOff + pos, n, written, pos);
    this.emit();
  }

  /** Emits the terms that add post·pre (product sparsity `prod`) into target layout `ts` at tOff. */
  productInto(post: Sparsity, postOff: number, pre: Sparsity, preOff: number, prod: Sparsity, ts: Sparsity, tOff: number, written: Uint8Array | null): void {
    const counts = new Map<number, number>();
    const contract = contraction(post, pre);
    let pos = 0;
    const term = (ea: number, eb: number): void => {
      if (ea === ONE && eb === ONE) counts.set(pos, (counts.get(pos) ?? 0) + 1);
      else if (ea === ONE) this.term(tOff + pos, preOff + eb, -1, written, pos);
      else if (eb === ONE) this.term(tOff + pos, postOff + ea, -1, written, pos);
      else this.term(tOff + pos, postOff + ea, preOff + eb, written, pos);
    };
    forEachStored(ts, (at, o, p) => {
      if (ts !== prod && entryPos(prod, o, p) === ZERO) return;
      pos = at;
      contract(o, p, term);
    });
    for (const [at, n] of counts) this.constTerm(tOff + at, n, written, at);
    this.emit();
  }

  /** Zeroes the target positions nothing assigned. */
  zeroRest(ts: Sparsity, tOff: number, written: Uint8Array): void {
    forEachStored(ts, (pos) => {
      if (!written[pos]) this.constTerm(tOff + pos, 0, written, pos);
    });
    this.emit();
  }

  private push(t: number, a: number, c: number, set: boolean): void {
    const k = this.tN++;
    this.tT[k] = t;
    this.tA[k] = a;
    this.tC[k] = c;
    this.tSet[k] = set;
  }

  private term(t: number, a: number, c: number, written: Uint8Array | null, pos: number): void {
    const set = written !== null && written[pos] === 0;
    if (written !== null) written[pos] = 1;
    this.push(t, a, c, set);
  }

  private constTerm(t: number, value: number, written: Uint8Array | null, pos: number): void {
    const set = written !== null && written[pos] === 0;
    if (written !== null) written[pos] = 1;
    this.push(t, -2 - this.constId(value), -1, set);
  }

  /** Compresses the pending terms into instructions: dots (one target, constant strides), runs (all +1), singles. */
  private emit(): void {
    const code = this.code;
    const n = this.tN;
    const T = this.tT;
    const A = this.tA;
    const C = this.tC;
    const S = this.tSet;
    this.tN = 0;
    this.terms += n;
    for (let k = 0; k < n; k++) if (C[k]! >= 0) this.multiplyAdds++;
    let i = 0;
    while (i < n) {
      const t0 = T[i]!;
      const a0 = A[i]!;
      const c0 = C[i]!;
      const set0 = S[i]!;
      const flag = set0 ? 0 : ACC;
      if (a0 <= -2) {
        // constant
        code.push(CONST | flag, t0, -2 - a0);
        this.instructions++;
        i++;
        continue;
      }
      const isMul = c0 >= 0;
      // A dot: same target, later terms accumulate, constant strides.
      if (isMul && i + 1 < n && T[i + 1] === t0 && !S[i + 1] && C[i + 1]! >= 0 && A[i + 1]! >= 0) {
        const sa = A[i + 1]! - a0;
        const sc = C[i + 1]! - c0;
        let dot = 2;
        while (i + dot < n && T[i + dot] === t0 && !S[i + dot] && C[i + dot]! >= 0 && A[i + dot] === a0 + dot * sa && C[i + dot] === c0 + dot * sc) dot++;
        code.push(DOT | flag, t0, a0, c0, dot, sa, sc);
        this.instructions++;
        i += dot;
        continue;
      }
      // A run: target and operands all advance by one, same assign/accumulate.
      let run = 1;
      while (
        i + run < n &&
        S[i + run] === set0 &&
        T[i + run] === t0 + run &&
        A[i + run] === a0 + run &&
        A[i + run]! >= 0 &&
        (isMul ? C[i + run] === c0 + run : C[i + run] === -1)
      )
        run++;
      if (run >= 2) {
        if (isMul) code.push(MUL_RUN | flag, t0, a0, c0, run);
        else code.push(COPY_RUN | flag, t0, a0, run);
      } else if (isMul) code.push(MUL | flag, t0, a0, c0);
      else code.push(COPY | flag, t0, a0);
      this.instructions++;
      i += run;
    }
  }
}

/** Output scatter: for block entry e (row-major), the arena value index (≥ 0) or ONE. */
interface BlockPlan {
  readonly output: number;
  readonly input: number;
  readonly rows: number;
  readonly cols: number;
  /** Entry positions in the block and the arena index they read (or ONE). */
  readonly entries: Int32Array;
  readonly from: Int32Array;
}

/**
 * The nonzero entries of a Jacobian as a dense rows × cols block (row-major
 * position) and where each is stored (arena index off + stored index, or ONE):
 * enumerated from the structure, so the work is the number of nonzeros.
 */
function denseEntries(s: Sparsity, off: number, entries: number[], from: number[]): void {
  if (s.form === 'zero') return;
  const cols = sizeOf(s.inShape);
  if (s.form === 'flat') {
    for (let r = 0; r < cols; r++) {
      entries.push(r * cols + r);
      from.push(ONE);
    }
    return;
  }
  const rowStride = stridesOf(s.outShape);
  const colStride = stridesOf(s.inShape);
  let row0 = 0;
  let col0 = 0;
  let val0 = 0;
  // Each free axis: its length and how one step moves the row, the column and the stored index.
  const len: number[] = [];
  const dr: number[] = [];
  const dc: number[] = [];
  const dv: number[] = [];
  s.out.forEach((d, a) => {
    if (d.kind === 'select') {
      row0 += d.index * rowStride[a]!;
      return;
    }
    if (d.kind === 'pair') {
      const pr = s.pairs[d.pair]!;
      row0 += pr.lo * rowStride[a]!;
      col0 += (pr.lo - pr.offset) * colStride[pr.in]!;
      val0 += pr.lo * s.outStride[a]!;
      len.push(pr.hi - pr.lo);
      dr.push(rowStride[a]!);
      dc.push(colStride[pr.in]!);
      dv.push(s.outStride[a]!);
      return;
    }
    len.push(s.outShape[a]!);
    dr.push(rowStride[a]!);
    dc.push(0);
    dv.push(s.outStride[a]!);
  });
  s.in.forEach((d, b) => {
    if (d.kind === 'select') col0 += d.index * colStride[b]!;
    else if (d.kind !== 'pair') {
      len.push(s.inShape[b]!);
      dr.push(0);
      dc.push(colStride[b]!);
      dv.push(s.inStride[b]!);
    }
  });
  if (len.some((x) => x <= 0)) return;
  const k = len.length;
  const idx = new Int32Array(k);
  let row = row0;
  let col = col0;
  let val = val0;
  for (;;) {
    entries.push(row * cols + col);
    from.push(s.hasValues ? off + val : ONE);
    let q = k - 1;
    for (; q >= 0; q--) {
      if (++idx[q]! < len[q]!) {
        row += dr[q]!;
        col += dc[q]!;
        val += dv[q]!;
        break;
      }
      row -= (len[q]! - 1) * dr[q]!;
      col -= (len[q]! - 1) * dc[q]!;
      val -= (len[q]! - 1) * dv[q]!;
      idx[q] = 0;
    }
    if (q < 0) break;
  }
}

/**
 * Compiles the Jacobian program of `order` (default reverse) for `graph`. The
 * symbolic elimination fixes every product's and sum's sparsity; the program
 * then runs on any batch of points.
 */
export function compileJacobianProgram(graph: Graph, order: readonly number[] | OrderName = 'reverse', options: ProgramOptions = {}): JacobianProgram {
  checkGraph(graph);
  const limit = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const dense = denseJacobianBytes(graph);
  if (dense > limit) {
    throw new JacobianTooLargeError(
      `the Jacobian of '${graph.name}' would take ${dense} bytes as dense blocks per sample, more than the limit of ${limit}`,
      dense,
      limit,
      'jacobian',
    );
  }
  const resolved = resolveOrder(graph, order);
  const lin = linearize(graph);
  const bld = new Builder();
  const t = bld.table;
  const n = graph.vertices.length;

  // 1. Edge partials: one kernel per (vertex, operand); repeated operands are summed as linearize() does.
  const partials: PartialSpec[] = [];
  const edges: Edge[] = [];
  const prologue: { parts: { sp: number; off: number }[]; edge: Edge }[] = [];
  for (const le of lin.edges) {
    const v = graph.vertices[le.dst]!;
    const shapes = v.inputs.map((u) => graph.vertices[u]!.shape);
    const parts: { sp: number; off: number }[] = [];
    v.inputs.forEach((u, k) => {
      if (u !== le.src) return;
      const s = partialSparsity(v, k, shapes);
      if (s === null || s.form === 'zero') return;
      const sp = t.intern(s);
      const off = bld.alloc(sp);
      if (off >= 0) partials.push({ vertex: v.id, operand: k, off, count: s.valueCount, run: partialKernel(graph, v, k, s, off) });
      parts.push({ sp, off });
    });
    const sp = t.intern(le.jacobian.sparsity);
    if (parts.length === 1) {
      edges.push({ src: le.src, dst: le.dst, sp, off: parts[0]!.off });
    } else {
      const e: Edge = { src: le.src, dst: le.dst, sp, off: -1 };
      edges.push(e);
      prologue.push({ parts, edge: e });
    }
  }
  // The sums of repeated operands (x·x): left to right, into the edge's summed sparsity.
  for (const { parts, edge } of prologue) {
    let sp = parts[0]!.sp;
    let off = parts[0]!.off;
    for (let q = 1; q < parts.length; q++) {
      const next = parts[q]!;
      const sum = t.addId[t.add(sp, next.sp)]!;
      const ts = t.get(sum);
      const to = bld.alloc(sum);
      const written = new Uint8Array(ts.valueCount);
      bld.gatherInto(t.get(sp), off, ts, to, written);
      bld.gatherInto(t.get(next.sp), next.off, ts, to, written);
      bld.zeroRest(ts, to, written);
      if (off >= 0) bld.arena.release(off, t.get(sp).valueCount);
      if (next.off >= 0) bld.arena.release(next.off, t.get(next.sp).valueCount);
      sp = sum;
      off = to;
    }
    if (sp !== edge.sp) throw new Error(`internal: summed partials of ${edge.src}→${edge.dst} disagree with linearize()`);
    edge.off = off;
  }

  // 2. The elimination, symbolically, with the adjacency discipline of Eliminator (append; swap-with-last delete).
  const succ: Edge[][] = Array.from({ length: n }, () => []);
  const pred: Edge[][] = Array.from({ length: n }, () => []);
  const at = new Map<number, Edge>();
  for (const e of edges) {
    succ[e.src]!.push(e);
    pred[e.dst]!.push(e);
    at.set(e.src * n + e.dst, e);
  }
  const keeps = new Uint8Array(n);
  for (const v of lin.feedingOutputs) keeps[v] = 1;
  const bytesOf = (sp: number): number => t.bytes[sp]!;
  let live = 0;
  for (const e of edges) live += bytesOf(e.sp);
  let peak = live;
  let muls = 0;
  let adds = 0;
  let fill = 0;
  const unlink = (list: Edge[], e: Edge): void => {
    const k = list.indexOf(e);
    const last = list.pop()!;
    if (k < list.length) list[k] = last;
  };
  for (const v of resolved) {
    const ins = pred[v]!.slice();
    const outs = succ[v]!.slice();
    for (const ei of ins) {
      const i = ei.src;
      for (const eo of outs) {
        const j = eo.dst;
        const slot = t.mul(eo.sp, ei.sp);
        muls += t.mulCount[slot]!;
        const spNew = t.mulId[slot]!;
        if (t.zero[spNew] === 1) continue;
        const post = t.get(eo.sp);
        const pre = t.get(ei.sp);
        const prod = t.get(spNew);
        const e = at.get(i * n + j);
        if (e) {
          const s2 = t.add(e.sp, spNew);
          adds += t.addCount[s2]!;
          const spSum = t.addId[s2]!;
          live += bytesOf(spSum) - bytesOf(e.sp);
          const ts = t.get(spSum);
          if (spSum === e.sp && e.off >= 0) {
            bld.productInto(post, eo.off, pre, ei.off, prod, ts, e.off, null); // in place
          } else {
            const to = bld.alloc(spSum);
            const written = new Uint8Array(ts.valueCount);
            bld.gatherInto(t.get(e.sp), e.off, ts, to, written);
            bld.productInto(post, eo.off, pre, ei.off, prod, ts, to, written);
            bld.zeroRest(ts, to, written);
            bld.release(e);
            e.off = to;
          }
          e.sp = spSum;
        } else {
          const f: Edge = { src: i, dst: j, sp: spNew, off: bld.alloc(spNew) };
          if (f.off >= 0) {
            const written = new Uint8Array(prod.valueCount);
            bld.productInto(post, eo.off, pre, ei.off, prod, prod, f.off, written);
            bld.zeroRest(prod, f.off, written);
          }
          succ[i]!.push(f);
          pred[j]!.push(f);
          at.set(i * n + j, f);
          live += bytesOf(spNew);
          fill++;
        }
      }
    }
    if (live > peak) peak = live;
    for (const eo of outs) {
      unlink(pred[eo.dst]!, eo);
      at.delete(v * n + eo.dst);
      live -= bytesOf(eo.sp);
      bld.release(eo);
    }
    succ[v] = [];
    if (keeps[v] !== 1) {
      for (const ei of ins) {
        unlink(succ[ei.src]!, ei);
        at.delete(ei.src * n + v);
        live -= bytesOf(ei.sp);
        bld.release(ei);
      }
      pred[v] = [];
    }
  }
  if (peak > limit) {
    throw new JacobianTooLargeError(
      `eliminating '${graph.name}' in this order would hold ${peak} bytes of edge Jacobians per sample at its peak, more than the limit of ${limit}`,
      peak,
      limit,
      'elimination',
    );
  }

  // 3. The blocks: dense entries read from the edges input → output.
  const blocks: BlockPlan[][] = graph.outputs.map((o, k) =>
    graph.inputs.map((i, l): BlockPlan => {
      const rows = sizeOf(graph.vertices[o]!.shape);
      const cols = sizeOf(graph.vertices[i]!.shape);
      const entries: number[] = [];
      const from: number[] = [];
      if (o === i) {
        for (let r = 0; r < rows; r++) {
          entries.push(r * cols + r);
          from.push(ONE);
        }
      } else {
        const e = at.get(i * n + o);
        if (e) denseEntries(t.get(e.sp), e.off, entries, from);
      }
      return { output: k, input: l, rows, cols, entries: Int32Array.from(entries), from: Int32Array.from(from) };
    }),
  );

  const code = Int32Array.from(bld.code);
  const consts = Float64Array.from(bld.consts);
  const arenaValues = bld.arena.size;
  const stats: ProgramStats = {
    partials: partials.length,
    instructions: bld.instructions,
    terms: bld.terms,
    multiplyAdds: bld.multiplyAdds,
    arenaValues,
  };
  let scratch = new Float64Array(0);

  return {
    graph,
    order: resolved,
    multiplications: muls,
    additions: adds,
    fillIn: fill,
    peakMemoryBytes: peak,
    stats,
    run(values, batch, runOptions = {}) {
      const B = batch;
      if (!Number.isInteger(B) || B < 1) throw new Error(`batch must be a positive integer, got ${B}`);
      if (values.length !== n) throw new Error(`expected ${n} values (evaluateBatch of '${graph.name}'), got ${values.length}`);
      // Samples per chunk: the arena of one chunk stays in cache (≈ CHUNK_VALUES values).
      const chunk = Math.max(1, Math.min(B, runOptions.chunk ?? Math.max(8, Math.floor(CHUNK_VALUES / Math.max(1, arenaValues) / 8) * 8)));
      const max = runOptions.maxBytes ?? 1024 * 1024 * 1024;
      const need = 8 * (chunk * arenaValues + B * (dense / 8));
      if (need > max)
        throw new JacobianTooLargeError(
          `the Jacobian program of '${graph.name}' at batch ${B} would take ${need} bytes, more than the limit of ${max}`,
          need,
          max,
          'elimination',
        );
      if (runOptions.checkFinite) checkValues(graph, values);
      if (scratch.length < arenaValues * chunk) scratch = new Float64Array(arenaValues * chunk);
      const w = scratch;
      const timings = runOptions.timings;
      const out = new Float64Array(B * (dense / 8));
      const views = blocks.map((row) => row.map((bp) => bp.rows * bp.cols));
      let t = timings ? performance.now() : 0;
      for (let b0 = 0; b0 < B; b0 += chunk) {
        const m = Math.min(chunk, B - b0);
        for (const p of partials) p.run(values, w, m, b0);
        if (runOptions.checkFinite) checkPartials(graph, partials, w, m, b0, B);
        if (timings) {
          const now = performance.now();
          timings.partials += now - t;
          t = now;
        }
        if (m === 1) exec1(code, consts, w);
        else execB(code, consts, w, m);
        if (timings) {
          const now = performance.now();
          timings.program += now - t;
          t = now;
        }
        // Scatter into the blocks, laid out one after the other, each batch × rows × cols.
        let base = 0;
        for (const row of blocks) {
          for (const bp of row) {
            const size = bp.rows * bp.cols;
            const { entries, from } = bp;
            for (let q = 0; q < entries.length; q++) {
              const at = base + b0 * size + entries[q]!;
              const f = from[q]!;
              if (f === ONE) for (let b = 0; b < m; b++) out[at + b * size] = 1;
              else {
                const src = f * m;
                for (let b = 0; b < m; b++) out[at + b * size] = w[src + b]!;
              }
            }
            base += size * B;
          }
        }
        if (timings) {
          const now = performance.now();
          timings.scatter += now - t;
          t = now;
        }
      }
      let base = 0;
      return {
        batch: B,
        blocks: blocks.map((row, k) =>
          row.map((bp, l): BatchJacobianBlock => {
            const size = views[k]![l]! * B;
            const data = out.subarray(base, base + size);
            base += size;
            return { output: graph.outputs[bp.output]!, input: graph.inputs[bp.input]!, rows: bp.rows, cols: bp.cols, batch: B, data };
          }),
        ),
      };
    },
  };
}

/** Values of the arena per chunk of samples (a chunk's arena is 8 × this many bytes). */
const CHUNK_VALUES = 32768;

// ------------------------------------------------------------ execution

/** The bytecode at batch 1: arena index = value index. */
function exec1(code: Int32Array, consts: Float64Array, w: Float64Array): void {
  const len = code.length;
  let pc = 0;
  while (pc < len) {
    const op = code[pc]!;
    switch (op) {
      case MUL:
        w[code[pc + 1]!] = w[code[pc + 2]!]! * w[code[pc + 3]!]!;
        pc += 4;
        break;
      case MUL | ACC: {
        const t = code[pc + 1]!;
        w[t] = w[t]! + w[code[pc + 2]!]! * w[code[pc + 3]!]!;
        pc += 4;
        break;
      }
      case COPY:
        w[code[pc + 1]!] = w[code[pc + 2]!]!;
        pc += 3;
        break;
      case COPY | ACC: {
        const t = code[pc + 1]!;
        w[t] = w[t]! + w[code[pc + 2]!]!;
        pc += 3;
        break;
      }
      case CONST:
        w[code[pc + 1]!] = consts[code[pc + 2]!]!;
        pc += 3;
        break;
      case CONST | ACC: {
        const t = code[pc + 1]!;
        w[t] = w[t]! + consts[code[pc + 2]!]!;
        pc += 3;
        break;
      }
      case MUL_RUN:
      case MUL_RUN | ACC: {
        const t = code[pc + 1]!;
        const a = code[pc + 2]!;
        const c = code[pc + 3]!;
        const m = code[pc + 4]!;
        if (op === MUL_RUN) for (let i = 0; i < m; i++) w[t + i] = w[a + i]! * w[c + i]!;
        else for (let i = 0; i < m; i++) w[t + i] = w[t + i]! + w[a + i]! * w[c + i]!;
        pc += 5;
        break;
      }
      case COPY_RUN:
      case COPY_RUN | ACC: {
        const t = code[pc + 1]!;
        const a = code[pc + 2]!;
        const m = code[pc + 3]!;
        if (op === COPY_RUN) w.copyWithin(t, a, a + m);
        else for (let i = 0; i < m; i++) w[t + i] = w[t + i]! + w[a + i]!;
        pc += 4;
        break;
      }
      case DOT:
      case DOT | ACC: {
        const t = code[pc + 1]!;
        let a = code[pc + 2]!;
        let c = code[pc + 3]!;
        const m = code[pc + 4]!;
        const sa = code[pc + 5]!;
        const sc = code[pc + 6]!;
        let s = op === DOT ? 0 : w[t]!;
        for (let i = 0; i < m; i++, a += sa, c += sc) s += w[a]! * w[c]!;
        w[t] = s;
        pc += 7;
        break;
      }
      default:
        throw new Error(`bad instruction ${op} at ${pc}`);
    }
  }
}

/** The bytecode at batch B: value k of the arena holds samples k·B … k·B + B − 1. */
function execB(code: Int32Array, consts: Float64Array, w: Float64Array, B: number): void {
  const len = code.length;
  let pc = 0;
  while (pc < len) {
    const op = code[pc]!;
    const t = code[pc + 1]! * B;
    switch (op & ~ACC) {
      case MUL: {
        const a = code[pc + 2]! * B;
        const c = code[pc + 3]! * B;
        if (op === MUL) for (let b = 0; b < B; b++) w[t + b] = w[a + b]! * w[c + b]!;
        else for (let b = 0; b < B; b++) w[t + b] = w[t + b]! + w[a + b]! * w[c + b]!;
        break;
      }
      case COPY: {
        const a = code[pc + 2]! * B;
        if (op === COPY) w.copyWithin(t, a, a + B);
        else for (let b = 0; b < B; b++) w[t + b] = w[t + b]! + w[a + b]!;
        break;
      }
      case CONST: {
        const k = consts[code[pc + 2]!]!;
        if (op === CONST) w.fill(k, t, t + B);
        else for (let b = 0; b < B; b++) w[t + b] = w[t + b]! + k;
        break;
      }
      case MUL_RUN: {
        const a = code[pc + 2]! * B;
        const c = code[pc + 3]! * B;
        const m = code[pc + 4]! * B;
        if (op === MUL_RUN) for (let i = 0; i < m; i++) w[t + i] = w[a + i]! * w[c + i]!;
        else for (let i = 0; i < m; i++) w[t + i] = w[t + i]! + w[a + i]! * w[c + i]!;
        break;
      }
      case COPY_RUN: {
        const a = code[pc + 2]! * B;
        const m = code[pc + 3]! * B;
        if (op === COPY_RUN) w.copyWithin(t, a, a + m);
        else for (let i = 0; i < m; i++) w[t + i] = w[t + i]! + w[a + i]!;
        break;
      }
      case DOT: {
        let a = code[pc + 2]! * B;
        let c = code[pc + 3]! * B;
        const m = code[pc + 4]!;
        const sa = code[pc + 5]! * B;
        const sc = code[pc + 6]! * B;
        let i = 0;
        if (op === DOT) {
          for (let b = 0; b < B; b++) w[t + b] = w[a + b]! * w[c + b]!;
          a += sa;
          c += sc;
          i = 1;
        }
        // Two terms per pass (the same order of additions: (w + x₁) + x₂), half the loads and stores of w[t].
        for (; i + 1 < m; i += 2, a += 2 * sa, c += 2 * sc) {
          const a2 = a + sa;
          const c2 = c + sc;
          for (let b = 0; b < B; b++) w[t + b] = w[t + b]! + w[a + b]! * w[c + b]! + w[a2 + b]! * w[c2 + b]!;
        }
        if (i < m) for (let b = 0; b < B; b++) w[t + b] = w[t + b]! + w[a + b]! * w[c + b]!;
        break;
      }
      default:
        throw new Error(`bad instruction ${op} at ${pc}`);
    }
    pc += WIDTH[op & ~ACC]!;
  }
}

// ------------------------------------------------------------ checks

function describe(graph: Graph, id: number): string {
  const v = graph.vertices[id]!;
  return `vertex ${id} (${v.op}${v.name ? ` '${v.name}'` : ''})`;
}

function checkValues(graph: Graph, values: readonly BatchTensor[]): void {
  for (const v of graph.vertices) {
    const t = values[v.id]!;
    const size = sizeOf(v.shape);
    for (let q = 0; q < t.data.length; q++) {
      if (!Number.isFinite(t.data[q]!)) {
        const where = [t.shared || t.data.length === size ? '' : `sample ${Math.floor(q / size)}`, size > 1 ? `element ${q % size}` : '']
          .filter(Boolean)
          .join(', ');
        throw new NonFiniteError(`${describe(graph, v.id)} is ${t.data[q]} at this point${where ? ` (${where})` : ''}`, v.id, v.range, 'value');
      }
    }
  }
}

function checkPartials(graph: Graph, partials: readonly PartialSpec[], w: Float64Array, B: number, b0: number, total: number): void {
  for (const p of partials) {
    for (let q = p.off * B; q < (p.off + p.count) * B; q++) {
      if (!Number.isFinite(w[q]!)) {
        const v = graph.vertices[p.vertex]!;
        throw new NonFiniteError(
          `the derivative of ${describe(graph, v.id)} with respect to its operand ${p.operand} (${describe(graph, v.inputs[p.operand]!)}) is ${w[q]} at this point${total > 1 ? ` (sample ${b0 + (q % B)})` : ''}`,
          v.id,
          v.range,
          'partial',
          p.operand,
        );
      }
    }
  }
}

// ------------------------------------------------------------ conveniences

/** Evaluates `graph` at `batch` points (leaves as for evaluateBatch) and runs the program of `order`. */
export function programJacobian(
  graph: Graph,
  leaves: ReadonlyMap<number, Tensor>,
  batch = 1,
  order: readonly number[] | OrderName = 'reverse',
  options: RunOptions = {},
): BatchJacobian {
  const program = compileJacobianProgram(graph, order);
  return program.run(evaluateBatch(graph, leaves, batch), batch, options);
}

/**
 * jacobian()'s contract — the same result type, errors and checks (NaN/Inf
 * values and partials as NonFiniteError, the memory limit, order validation) —
 * computed by a Jacobian program at one point.
 */
export function jacobianByProgram(
  graph: Graph,
  leaves: ReadonlyMap<number, Tensor>,
  order: readonly number[] | OrderName = 'reverse',
  options: ProgramOptions = {},
): JacobianResult {
  const program = compileJacobianProgram(graph, order, options);
  const values = evaluateBatch(graph, leaves, 1);
  const result = program.run(values, 1, { checkFinite: true });
  return {
    blocks: sampleBlocks(result, 0),
    values: values.map((t) => ({ shape: t.shape, data: t.data })),
    order: program.order,
    multiplications: program.multiplications,
    additions: program.additions,
    fillIn: program.fillIn,
    peakMemoryBytes: program.peakMemoryBytes,
  };
}

/** The blocks of one sample, shaped as jacobian()'s (copies). */
export function sampleBlocks(result: BatchJacobian, sample: number): JacobianBlock[][] {
  return result.blocks.map((row) =>
    row.map((b) => {
      const size = b.rows * b.cols;
      return { output: b.output, input: b.input, rows: b.rows, cols: b.cols, data: b.data.slice(sample * size, (sample + 1) * size) };
    }),
  );
}
