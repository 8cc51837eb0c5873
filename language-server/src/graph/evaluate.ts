// Float64 forward evaluation of a computational graph (types.ts).
//
// `evaluate` gives the value of every vertex at one point. `evaluateBatch`
// evaluates many points at once: every value is either shared by the whole
// batch (params, consts, and anything computed only from them) or holds
// `batch` samples back to back, so work that does not depend on the sample is
// done once.

import { formatShape, sizeOf, type Graph, type Shape, type Tensor, type Vertex, type UnaryOp, type BinaryOp } from './types.js';
import { EligoError } from '../util/errors.js';

/** An evaluation that cannot proceed: a missing leaf, a malformed vertex. Names the vertex. */
export class EvaluationError extends EligoError {
  constructor(
    message: string,
    readonly vertex: number,
  ) {
    super('graph.evaluation', message);
  }
}

/** A value over a batch: `data` holds `batch` samples of `shape` back to back, or one shared sample. */
export interface BatchTensor {
  readonly shape: Shape;
  readonly data: Float64Array;
  /** The same value for every sample: data.length = size of shape. */
  readonly shared: boolean;
}

// ------------------------------------------------------------ elementwise

/**
 * The error function, to about 1e-15 relative: the series
 * erf x = (2/√π) e^{−x²} Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·…·(2n+1)) (all terms positive,
 * so no cancellation; Abramowitz & Stegun 7.1.6) for |x| < 2.5, and 1 − erfc x
 * from the continued fraction of erfc (A&S 7.1.14, evaluated by Lentz's method) beyond.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2.5) {
    const x2 = 2 * ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 300; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
      if (term <= sum * 1e-17) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
  } else {
    r = 1 - erfc(ax);
  }
  return x < 0 ? -r : r;
}

/** Complementary error function for x ≥ 0 large enough (≥ 2): erfc x = e^{−x²}/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …)))). */
export function erfc(x: number): number {
  if (x < 2) return 1 - erf(x);
  if (x > 27) return 0;
  const tiny = 1e-300;
  let f = x;
  let C = f;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    D = x + a * D;
    if (Math.abs(D) < tiny) D = tiny;
    D = 1 / D;
    C = x + a / C;
    if (Math.abs(C) < tiny) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

type UnaryFn = (x: number) => number;

/** Forward definitions of the unary ops (powc and spike read attrs; stop is the identity). */
export const unaryForward: Record<Exclude<UnaryOp, 'powc'>, UnaryFn> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  log1p: Math.log1p,
  erf,
  sigmoid,
  relu: (x) => (x > 0 ? x : 0),
  softplus,
  spike: (x) => (x > 0 ? 1 : 0),
  stop: (x) => x,
};

export const binaryForward: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  pow: Math.pow,
  atan2: Math.atan2,
  max: Math.max,
  min: Math.min,
};

const UNARY = new Set<string>(Object.keys(unaryForward).concat('powc'));
const BINARY = new Set<string>(Object.keys(binaryForward));
export const LEAF_OPS: ReadonlySet<string> = new Set(['input', 'param', 'state', 'target', 'const']);

export function isUnary(op: string): op is UnaryOp {
  return UNARY.has(op);
}
export function isBinary(op: string): op is BinaryOp {
  return BINARY.has(op);
}

// ------------------------------------------------------------ index maps

/** Calls f with every multi-index of `shape` in row-major order (the array is reused). */
export function forEachIndex(shape: Shape, f: (idx: Int32Array, flat: number) => void): void {
  const n = sizeOf(shape);
  const idx = new Int32Array(shape.length);
  for (let flat = 0; flat < n; flat++) {
    f(idx, flat);
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= shape[k]!;
  }
  return s;
}

/** Axes a reduction runs over (all when absent). */
export function reduceAxes(v: Vertex, operandShape: Shape): number[] {
  return v.attrs.axes ? [...v.attrs.axes] : operandShape.map((_, k) => k);
}

/** For each element of the operand, the flat index of the reduced result it contributes to. */
export function reduceMap(operandShape: Shape, axes: readonly number[]): Int32Array {
  const kept: number[] = [];
  operandShape.forEach((_, k) => {
    if (!axes.includes(k)) kept.push(k);
  });
  const keptShape = kept.map((k) => operandShape[k]!);
  const ks = stridesOf(keptShape);
  const map = new Int32Array(sizeOf(operandShape));
  forEachIndex(operandShape, (idx, flat) => {
    let o = 0;
    kept.forEach((k, j) => {
      o += idx[k]! * ks[j]!;
    });
    map[flat] = o;
  });
  return map;
}

/** Axes of the result an operand's axes map to in a broadcast (numpy's trailing alignment when attrs.axes is absent). */
export function broadcastAxes(v: Vertex, operandShape: Shape): number[] {
  const shape = v.attrs.shape ?? v.shape;
  return v.attrs.axes ? [...v.attrs.axes] : operandShape.map((_, k) => shape.length - operandShape.length + k);
}

export function transposePerm(v: Vertex, operandShape: Shape): number[] {
  return v.attrs.perm ? [...v.attrs.perm] : operandShape.map((_, k) => operandShape.length - 1 - k);
}

/** Gather map of a pure data movement: result element r reads operand element map[r]. */
export function gatherMap(v: Vertex, operandShape: Shape): Int32Array {
  const outShape = v.shape;
  const is = stridesOf(operandShape);
  const map = new Int32Array(sizeOf(outShape));
  switch (v.op) {
    case 'transpose': {
      // out.shape[a] = in.shape[perm[a]]: out index a is in index perm[a].
      const perm = transposePerm(v, operandShape);
      forEachIndex(outShape, (o, r) => {
        let f = 0;
        for (let a = 0; a < perm.length; a++) f += o[a]! * is[perm[a]!]!;
        map[r] = f;
      });
      break;
    }
    case 'broadcast': {
      const axes = broadcastAxes(v, operandShape);
      forEachIndex(outShape, (o, r) => {
        let f = 0;
        for (let k = 0; k < axes.length; k++) f += (operandShape[k] === 1 ? 0 : o[axes[k]!]!) * is[k]!;
        map[r] = f;
      });
      break;
    }
    case 'slice': {
      const starts = v.attrs.starts ?? operandShape.map(() => 0);
      const ends = v.attrs.ends ?? operandShape;
      const squeeze = v.attrs.squeeze ?? [];
      const expected = operandShape.map((_, k) => ends[k]! - starts[k]!).filter((_, k) => !squeeze.includes(k));
      const bad = operandShape.some(
        (n, k) => !(starts[k]! >= 0 && ends[k]! <= n && ends[k]! >= starts[k]! && (!squeeze.includes(k) || ends[k]! - starts[k]! === 1)),
      );
      if (bad || expected.length !== outShape.length || expected.some((n, k) => n !== outShape[k])) {
        throw new EvaluationError(
          `slice [${starts.map((s, k) => `${s}:${ends[k] ?? '?'}`).join(', ')}] of ${formatShape(operandShape)} does not give ${formatShape(outShape)} (vertex ${v.id})`,
          v.id,
        );
      }
      forEachIndex(outShape, (o, r) => {
        let f = 0;
        let a = 0;
        for (let k = 0; k < operandShape.length; k++) {
          const i = squeeze.includes(k) ? starts[k]! : o[a++]! + starts[k]!;
          f += i * is[k]!;
        }
        map[r] = f;
      });
      break;
    }
    case 'reshape':
      for (let r = 0; r < map.length; r++) map[r] = r;
      break;
    default:
      throw new EvaluationError(`no gather map for '${v.op}'`, v.id);
  }
  return map;
}

/** For a concat: the flat index in the result of each element of operand k. */
export function concatScatter(outShape: Shape, operandShape: Shape, axis: number, offset: number): Int32Array {
  const os = stridesOf(outShape);
  const map = new Int32Array(sizeOf(operandShape));
  forEachIndex(operandShape, (idx, flat) => {
    let f = 0;
    for (let k = 0; k < idx.length; k++) f += (k === axis ? idx[k]! + offset : idx[k]!) * os[k]!;
    map[flat] = f;
  });
  return map;
}

export function concatAxis(v: Vertex): number {
  const axis = v.attrs.axis ?? 0;
  return axis < 0 ? axis + v.shape.length : axis;
}

// ------------------------------------------------------------ evaluation

/** Values of every vertex at one point. `leaves` gives every input/param/state/target leaf the graph reads. */
export function evaluate(graph: Graph, leaves: ReadonlyMap<number, Tensor>): Tensor[] {
  return evaluateBatch(graph, leaves, 1).map((t) => ({ shape: t.shape, data: t.data }));
}

/**
 * Values of every vertex for `batch` points. A leaf tensor whose data has
 * `batch` × size elements holds one sample per point; one with size elements
 * is shared by all points.
 */
export function evaluateBatch(graph: Graph, leaves: ReadonlyMap<number, Tensor>, batch: number): BatchTensor[] {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
  const values: BatchTensor[] = [];
  for (const v of graph.vertices) {
    if (v.id !== values.length) throw new EvaluationError(`vertex ids must equal their index: found ${v.id} at ${values.length}`, v.id);
    values.push(evalVertex(v, values, leaves, batch));
  }
  return values;
}

function operand(v: Vertex, k: number, values: readonly BatchTensor[]): BatchTensor {
  const id = v.inputs[k];
  if (id === undefined || id >= v.id || id < 0) throw new EvaluationError(`vertex ${v.id} (${v.op}) has no operand ${k} before it`, v.id);
  return values[id]!;
}

function evalVertex(v: Vertex, values: readonly BatchTensor[], leaves: ReadonlyMap<number, Tensor>, batch: number): BatchTensor {
  if (!v.shape.every((n) => Number.isInteger(n) && n >= 0))
    throw new EvaluationError(`vertex ${v.id} (${v.op}) has an invalid shape ${formatShape(v.shape)}`, v.id);
  const size = sizeOf(v.shape);
  if (LEAF_OPS.has(v.op)) {
    if (v.op === 'const') {
      const data = v.attrs.value;
      if (!data || data.length !== size) throw new EvaluationError(`const vertex ${v.id} needs attrs.value with ${size} numbers`, v.id);
      return { shape: v.shape, data, shared: true };
    }
    const t = leaves.get(v.id);
    if (!t) throw new EvaluationError(`no value given for ${v.op} '${v.name ?? v.id}' (vertex ${v.id})`, v.id);
    if (t.data.length === size) return { shape: v.shape, data: t.data, shared: true };
    if (t.data.length === size * batch) return { shape: v.shape, data: t.data, shared: false };
    throw new EvaluationError(
      `value for '${v.name ?? v.id}' (vertex ${v.id}) has ${t.data.length} numbers; expected ${size}${batch > 1 ? ` or ${size * batch}` : ''}`,
      v.id,
    );
  }
  const ops = v.inputs.map((_, k) => operand(v, k, values));
  const shared = ops.every((o) => o.shared);
  const B = shared ? 1 : batch;
  const out = new Float64Array(size * B);
  const off = (t: BatchTensor, b: number): number => (t.shared ? 0 : b * sizeOf(t.shape));

  if (isUnary(v.op)) {
    const x = ops[0]!;
    if (sizeOf(x.shape) !== size) throw new EvaluationError(`${v.op} changes the size of its operand (vertex ${v.id})`, v.id);
    let f: UnaryFn;
    if (v.op === 'powc') {
      const k = v.attrs.exponent;
      if (k === undefined) throw new EvaluationError(`powc vertex ${v.id} needs attrs.exponent`, v.id);
      f = (t) => Math.pow(t, k);
    } else f = unaryForward[v.op];
    const xd = x.data;
    for (let i = 0; i < out.length; i++) out[i] = f(xd[i]!);
    return { shape: v.shape, data: out, shared };
  }
  if (isBinary(v.op)) {
    const [x, y] = [ops[0]!, ops[1]!];
    const nx = sizeOf(x.shape);
    const ny = sizeOf(y.shape);
    if ((nx !== size && x.shape.length !== 0) || (ny !== size && y.shape.length !== 0)) {
      throw new EvaluationError(
        `${v.op} operands ${formatShape(x.shape)} and ${formatShape(y.shape)} do not broadcast to ${formatShape(v.shape)} (vertex ${v.id})`,
        v.id,
      );
    }
    const f = binaryForward[v.op];
    const sx = nx === size ? 1 : 0;
    const sy = ny === size ? 1 : 0;
    for (let b = 0; b < B; b++) {
      const ox = off(x, b);
      const oy = off(y, b);
      const oo = b * size;
      for (let i = 0; i < size; i++) out[oo + i] = f(x.data[ox + i * sx]!, y.data[oy + i * sy]!);
    }
    return { shape: v.shape, data: out, shared };
  }
  switch (v.op) {
    case 'matmul': {
      const [a, c] = [ops[0]!, ops[1]!];
      const ra = a.shape.length;
      const rc = c.shape.length;
      const m = ra === 2 ? a.shape[0]! : 1;
      const k = a.shape[ra - 1]!;
      const n = rc === 2 ? c.shape[1]! : 1;
      if ((ra !== 1 && ra !== 2) || (rc !== 1 && rc !== 2) || c.shape[0] !== k || size !== m * n) {
        throw new EvaluationError(`matmul of ${formatShape(a.shape)} and ${formatShape(c.shape)} (vertex ${v.id})`, v.id);
      }
      for (let b = 0; b < B; b++) {
        const oa = off(a, b);
        const oc = off(c, b);
        const oo = b * size;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let l = 0; l < k; l++) s += a.data[oa + i * k + l]! * c.data[oc + l * n + j]!;
            out[oo + i * n + j] = s;
          }
        }
      }
      return { shape: v.shape, data: out, shared };
    }
    case 'sum':
    case 'reduce_max':
    case 'reduce_min': {
      const x = ops[0]!;
      const map = reduceMap(x.shape, reduceAxes(v, x.shape));
      const nx = map.length;
      const init = v.op === 'sum' ? 0 : v.op === 'reduce_max' ? -Infinity : Infinity;
      out.fill(init);
      for (let b = 0; b < B; b++) {
        const ox = off(x, b);
        const oo = b * size;
        for (let i = 0; i < nx; i++) {
          const t = x.data[ox + i]!;
          const r = oo + map[i]!;
          if (v.op === 'sum') out[r] = out[r]! + t;
          else if (v.op === 'reduce_max') {
            if (t > out[r]! || Number.isNaN(t)) out[r] = t;
          } else if (t < out[r]! || Number.isNaN(t)) out[r] = t;
        }
      }
      return { shape: v.shape, data: out, shared };
    }
    case 'broadcast':
    case 'transpose':
    case 'slice':
    case 'reshape': {
      const x = ops[0]!;
      if (v.op === 'reshape' && sizeOf(x.shape) !== size)
        throw new EvaluationError(`reshape of ${formatShape(x.shape)} to ${formatShape(v.shape)} changes the size (vertex ${v.id})`, v.id);
      const map = gatherMap(v, x.shape);
      for (let b = 0; b < B; b++) {
        const ox = off(x, b);
        const oo = b * size;
        for (let r = 0; r < size; r++) out[oo + r] = x.data[ox + map[r]!]!;
      }
      return { shape: v.shape, data: out, shared };
    }
    case 'concat': {
      const axis = concatAxis(v);
      let offset = 0;
      for (const x of ops) {
        const scatter = concatScatter(v.shape, x.shape, axis, offset);
        for (let b = 0; b < B; b++) {
          const ox = off(x, b);
          const oo = b * size;
          for (let i = 0; i < scatter.length; i++) out[oo + scatter[i]!] = x.data[ox + i]!;
        }
        offset += x.shape[axis]!;
      }
      return { shape: v.shape, data: out, shared };
    }
    default:
      throw new EvaluationError(`cannot evaluate op '${v.op}' (vertex ${v.id})`, v.id);
  }
}
