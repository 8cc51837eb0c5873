// A computational graph (graph/types.ts) compiled once into TensorFlow.js
// operations: one closure per vertex, run in topological order, batched over
// sequences. The semantics are those of graph/evaluate.ts (the Float64
// reference), in float32: a vertex's value is either shared by the whole batch
// (params, consts and whatever depends only on them; shape = vertex shape) or
// batched (a leading batch axis: [B, ...shape]).
//
// Gradients are TF.js autodiff's, except where the graph says otherwise:
// `spike` is the Heaviside step forward and its surrogate pseudo-derivative
// backward (tf.customGrad; the formulas of ad/rules.ts), `stop` passes no
// gradient, and any operand listed in `stopped` (a learning rule's dropped
// Jacobian block, e.g. e-prop's d(u[t+1])/d(z) = 0) is read through a
// stop-gradient inside that one vertex.

import type { Tensor as TfTensor } from '@tensorflow/tfjs';
import { broadcastAxes, concatAxis, reduceAxes, transposePerm } from '../graph/evaluate.js';
import { formatShape, sizeOf, type Graph, type Surrogate, type Vertex } from '../graph/types.js';
import { surrogatePsi, type SurrogateOps } from '../lang/surrogates.js';
import type { Tf } from './backend.js';
import { EligoError } from '../util/errors.js';

export type T = TfTensor;

/** An operand of vertex `vertex` read without gradient: `${vertex}:${operand index}`. */
export const stopKey = (vertex: number, operand: number): string => `${vertex}:${operand}`;

export interface CompileOptions {
  /** Operands read through a stop-gradient, as stopKey(vertex, k). */
  readonly stopped?: ReadonlySet<string>;
}

/** A vertex value: the tensor and whether it carries the leading batch axis. */
export interface Value {
  readonly t: T;
  readonly batched: boolean;
}

type VertexFn = (ops: readonly Value[], B: number) => T;

export class CompileError extends EligoError {
  constructor(
    message: string,
    readonly vertex?: number,
  ) {
    super('train.compile', message);
  }
}

export interface CompiledGraph {
  readonly graph: Graph;
  /**
   * Values of every vertex (undefined for vertices nothing needed, when
   * `wanted` restricts the run). `leaves` gives every input/param/state/target
   * leaf (batched ones with a leading axis of size `batch`); a value given for
   * an interior vertex replaces it (its operands are then not computed), which
   * cuts the graph there: the equation-level blocks of a learning rule.
   * `perturb` adds a batched tensor to a computed vertex's value (a point
   * where a backward pass reads the cotangent of that vertex).
   */
  run(leaves: ReadonlyMap<number, Value>, batch: number, wanted?: readonly number[], perturb?: ReadonlyMap<number, T>): (Value | undefined)[];
  /** Frees the constants. */
  dispose(): void;
}

/** The surrogate derivative ψ(x) of lang/surrogates.ts, as tensor ops (the same formula the Float64 engine runs). */
export function surrogateTensor(tf: Tf, s: Surrogate, x: T): T {
  const ops: SurrogateOps<T> = {
    abs: (a) => tf.abs(a),
    mulc: (a, k) => tf.mul(k, a),
    divc: (a, k) => tf.div(a, k),
    addc: (a, k) => tf.add(a, k),
    rsubc: (k, a) => tf.sub(k, a),
    mul: (a, b) => tf.mul(a, b),
    reciprocal: (a) => tf.reciprocal(a),
    square: (a) => tf.square(a),
    sigmoid: (a) => tf.sigmoid(a),
    exp: (a) => tf.exp(a),
    relu: (a) => tf.relu(a),
  };
  return surrogatePsi(ops, s, x);
}

/** Heaviside forward, surrogate backward: one custom-gradient op per surrogate. */
function spikeOp(tf: Tf, s: Surrogate): (x: T) => T {
  const f = tf.customGrad((...args: (T | ((ts: T[]) => void))[]) => {
    const x = args[0] as T;
    (args[1] as (ts: T[]) => void)([x]);
    return {
      value: tf.cast(tf.greater(x, 0), 'float32'),
      gradFunc: (dy: T, saved: T[]) => [tf.mul(dy, surrogateTensor(tf, s, saved[0]!))],
    };
  });
  return (x) => f(x);
}

/** Identity forward, zero gradient (TF.js has no stop_gradient op). */
export function stopGradientOp(tf: Tf): (x: T) => T {
  const f = tf.customGrad((...args: (T | ((ts: T[]) => void))[]) => ({ value: tf.clone(args[0] as T), gradFunc: (dy: T) => [tf.zerosLike(dy)] }));
  return (x) => f(x);
}

/**
 * max / min with the Float64 engine's partials (ad/rules.ts, as JAX): a tie
 * (or a NaN) splits the gradient equally, where TF.js's Maximum gives all of
 * it to the first operand. A running `max_over_time` ties at every step where
 * the readout repeats its maximum (a readout at rest: 0 = 0), so this decides
 * which steps get the credit. Both operands have the result's shape.
 */
function extremumOp(tf: Tf, op: 'max' | 'min'): (x: T, y: T) => T {
  const f = tf.customGrad((...args: (T | ((ts: T[]) => void))[]) => {
    const x = args[0] as T;
    const y = args[1] as T;
    (args[2] as (ts: T[]) => void)([x, y]);
    return {
      value: op === 'max' ? tf.maximum(x, y) : tf.minimum(x, y),
      gradFunc: (dy: T, saved: T[]) => {
        const [a, b] = [saved[0]!, saved[1]!];
        // ∂/∂a = 1 where a wins, 0 where b wins, ½ otherwise: ½(1 + [a wins] − [b wins]).
        const aWins = tf.cast(op === 'max' ? tf.greater(a, b) : tf.less(a, b), 'float32');
        const bWins = tf.cast(op === 'max' ? tf.less(a, b) : tf.greater(a, b), 'float32');
        const da = tf.mul(0.5, tf.add(1, tf.sub(aWins, bWins)));
        return [tf.mul(dy, da), tf.mul(dy, tf.sub(1, da))];
      },
    };
  });
  return (x, y) => f(x, y);
}

/** |x| with the Float64 engine's subgradient sign(x), 0 at 0 (TF.js's Abs gives −1 there). */
function absOp(tf: Tf): (x: T) => T {
  const f = tf.customGrad((...args: (T | ((ts: T[]) => void))[]) => {
    const x = args[0] as T;
    (args[1] as (ts: T[]) => void)([x]);
    return { value: tf.abs(x), gradFunc: (dy: T, saved: T[]) => [tf.mul(dy, tf.sign(saved[0]!))] };
  });
  return (x) => f(x);
}

/**
 * reduce_max / reduce_min over `axes` with the Float64 engine's partial: the
 * indicator of the entries that attain the extremum divided by their count
 * (TF.js gives each tied entry the whole gradient).
 */
function reduceExtremumOp(tf: Tf, op: 'max' | 'min', axes: readonly number[]): (x: T) => T {
  const f = tf.customGrad((...args: (T | ((ts: T[]) => void))[]) => {
    const x = args[0] as T;
    const kept = op === 'max' ? tf.max(x, [...axes], true) : tf.min(x, [...axes], true);
    (args[1] as (ts: T[]) => void)([x, kept]);
    const shape = x.shape.filter((_, i) => !axes.includes(i));
    return {
      value: tf.reshape(kept, shape),
      gradFunc: (dy: T, saved: T[]) => {
        const [xs, ks] = [saved[0]!, saved[1]!];
        const hit = tf.cast(tf.equal(xs, ks), 'float32');
        return [tf.mul(tf.reshape(dy, ks.shape), tf.divNoNan(hit, tf.sum(hit, [...axes], true)))];
      },
    };
  });
  return (x) => f(x);
}

/** Reshape a batched value so it broadcasts against a batched result of rank `rank` (without the batch axis). */
function alignBatched(tf: Tf, v: Value, rank: number, B: number): T {
  if (!v.batched) return v.t;
  const r = v.t.rank - 1;
  if (r === rank) return v.t;
  // A batched scalar against a larger result: [B] → [B, 1, …, 1].
  return tf.reshape(v.t, [B, ...new Array<number>(rank).fill(1)]);
}

function toBatch(tf: Tf, v: Value, shape: readonly number[], B: number): T {
  return v.batched ? v.t : broadcastTo(tf, v.t, [B, ...shape]);
}

/**
 * x broadcast to `shape` (numpy rules). The wasm backend's BroadcastTo and
 * Tile kernels are two orders of magnitude slower than a broadcasting add
 * (25 ms against 0.2 ms for [32, 64, 64] on one core), so this adds zeros.
 */
export function broadcastTo(tf: Tf, x: T, shape: readonly number[]): T {
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return tf.add(x, zerosOf(tf, shape));
}

// Zeros by shape, shared (never disposed while the cache holds them; a few shapes per run).
const zerosCache = new Map<string, T>();
export function zerosOf(tf: Tf, shape: readonly number[]): T {
  const key = shape.join(',');
  let z = zerosCache.get(key);
  if (!z || z.isDisposed) {
    if (zerosCache.size > 64) {
      for (const t of zerosCache.values()) t.dispose();
      zerosCache.clear();
    }
    z = tf.keep(tf.zeros([...shape]));
    zerosCache.set(key, z);
  }
  return z;
}

/** Frees the cached zeros (tests that count tensors call it). */
export function releaseZeros(): void {
  for (const t of zerosCache.values()) t.dispose();
  zerosCache.clear();
}

function unaryFn(tf: Tf, v: Vertex): (x: T) => T {
  switch (v.op) {
    case 'neg':
      return (x) => tf.neg(x);
    case 'exp':
      return (x) => tf.exp(x);
    case 'log':
      return (x) => tf.log(x);
    case 'sqrt':
      return (x) => tf.sqrt(x);
    case 'abs':
      return absOp(tf);
    case 'sin':
      return (x) => tf.sin(x);
    case 'cos':
      return (x) => tf.cos(x);
    case 'tan':
      return (x) => tf.tan(x);
    case 'asin':
      return (x) => tf.asin(x);
    case 'acos':
      return (x) => tf.acos(x);
    case 'atan':
      return (x) => tf.atan(x);
    case 'sinh':
      return (x) => tf.sinh(x);
    case 'cosh':
      return (x) => tf.cosh(x);
    case 'tanh':
      return (x) => tf.tanh(x);
    case 'asinh':
      return (x) => tf.asinh(x);
    case 'acosh':
      return (x) => tf.acosh(x);
    case 'atanh':
      return (x) => tf.atanh(x);
    case 'log1p':
      return (x) => tf.log1p(x);
    case 'erf':
      return (x) => tf.erf(x);
    case 'sigmoid':
      return (x) => tf.sigmoid(x);
    case 'relu':
      return (x) => tf.relu(x);
    case 'softplus':
      return (x) => tf.softplus(x);
    case 'powc': {
      const k = v.attrs.exponent;
      if (k === undefined) throw new CompileError(`powc vertex ${v.id} needs attrs.exponent`, v.id);
      if (k === 1) return (x) => x;
      if (k === 2) return (x) => tf.square(x);
      if (k === 0.5) return (x) => tf.sqrt(x);
      if (k === -1) return (x) => tf.reciprocal(x);
      return (x) => tf.pow(x, k);
    }
    case 'spike': {
      const s = v.attrs.surrogate;
      if (!s) throw new CompileError(`'spike' needs a surrogate (vertex ${v.id})`, v.id);
      return spikeOp(tf, s);
    }
    case 'stop':
      return stopGradientOp(tf);
    default:
      throw new CompileError(`'${v.op}' is not a unary op (vertex ${v.id})`, v.id);
  }
}

function binaryFn(tf: Tf, op: string): (x: T, y: T) => T {
  switch (op) {
    case 'add':
      return (x, y) => tf.add(x, y);
    case 'sub':
      return (x, y) => tf.sub(x, y);
    case 'mul':
      return (x, y) => tf.mul(x, y);
    case 'div':
      return (x, y) => tf.div(x, y);
    case 'pow':
      return (x, y) => tf.pow(x, y);
    case 'atan2':
      return (x, y) => tf.atan2(x, y);
    case 'max':
      return extremumOp(tf, 'max');
    case 'min':
      return extremumOp(tf, 'min');
    default:
      throw new CompileError(`'${op}' is not a binary op`);
  }
}

/**
 * Transposes of shared matrices, by their data (a Variable's data change on
 * assign, so its transpose is recomputed then). The wasm backend multiplies
 * with XNNPACK only when neither operand is transposed (a naive loop
 * otherwise, ~10× slower), so products with a transposed weight use a
 * transpose computed once per weight value.
 */
const transposes = new Map<object, { readonly source: T; readonly t: T }>();

export function transposeOf(tf: Tf, w: T): T {
  const key = w.dataId;
  const hit = transposes.get(key);
  if (hit && !hit.t.isDisposed) return hit.t;
  // Drop transposes whose matrix is gone or has new values (a Variable after assign).
  for (const [k, e] of transposes) {
    if (e.source.isDisposed || e.source.dataId !== k || e.t.isDisposed) {
      e.t.dispose();
      transposes.delete(k);
    }
  }
  if (transposes.size >= 64) releaseTransposes();
  const t = tf.keep(tf.transpose(w));
  transposes.set(key, { source: w, t });
  return t;
}

/** Frees the memoised transposes (after parameters change, and at the end of a run). */
export function releaseTransposes(): void {
  for (const e of transposes.values()) e.t.dispose();
  transposes.clear();
}

/**
 * x W (transW = false) or x Wᵀ (transW = true) for a batch x [B, k] and a
 * shared matrix W, with gradients written as untransposed products too:
 * dx = dy (W or Wᵀ)ᵀ, dW = xᵀ dy (or its transpose).
 */
function linearOp(tf: Tf, transW: boolean): (x: T, w: T) => T {
  const f = tf.customGrad((...args: (T | ((ts: T[]) => void))[]) => {
    const x = args[0] as T;
    const w = args[1] as T;
    (args[2] as (ts: T[]) => void)([x, w]);
    return {
      value: tf.matMul(x, transW ? transposeOf(tf, w) : w),
      gradFunc: (dy: T, saved: T[]) => {
        const [xs, ws] = [saved[0]!, saved[1]!];
        const dx = tf.matMul(dy, transW ? ws : transposeOf(tf, ws));
        const dw = transW ? tf.matMul(tf.transpose(dy), xs) : tf.matMul(tf.transpose(xs), dy);
        return [dx, dw];
      },
    };
  });
  return (x, w) => f(x, w);
}

/** Matrix products with a batch axis on either side (graph/types.ts: [m,k]@[k,n], [m,k]@[k], [k]@[k,n], [k]@[k]). */
function matmulFn(tf: Tf, v: Vertex, as: readonly number[], cs: readonly number[]): VertexFn {
  const ra = as.length;
  const rc = cs.length;
  if ((ra !== 1 && ra !== 2) || (rc !== 1 && rc !== 2) || as[ra - 1] !== cs[0]) {
    throw new CompileError(`matmul of ${formatShape(as)} and ${formatShape(cs)} (vertex ${v.id})`, v.id);
  }
  const outShape = v.shape;
  const xWt = linearOp(tf, true);
  const xW = linearOp(tf, false);
  return ([a, c], B) => {
    const A = a!;
    const C = c!;
    if (!A.batched && !C.batched) {
      const am = ra === 1 ? tf.reshape(A.t, [1, as[0]!]) : A.t;
      const cm = rc === 1 ? tf.reshape(C.t, [cs[0]!, 1]) : C.t;
      return tf.reshape(tf.matMul(am, cm), outShape as number[]);
    }
    // The common case of a layer: shared weights W [m,k] times a batch of vectors x [B,k]: x Wᵀ.
    if (!A.batched && ra === 2 && rc === 1) return xWt(C.t, A.t);
    // A batch of row vectors times shared [k,n] (or [k]).
    if (!C.batched && ra === 1) {
      if (rc === 2) return xW(A.t, C.t);
      return tf.reshape(tf.matMul(A.t, tf.reshape(C.t, [cs[0]!, 1])), [B]);
    }
    // General: promote to batched matrices, multiply (batch axes broadcast), drop the vector axes.
    const a3 = A.batched ? (ra === 1 ? tf.reshape(A.t, [B, 1, as[0]!]) : A.t) : ra === 1 ? tf.reshape(A.t, [1, as[0]!]) : A.t;
    const c3 = C.batched ? (rc === 1 ? tf.reshape(C.t, [B, cs[0]!, 1]) : C.t) : rc === 1 ? tf.reshape(C.t, [cs[0]!, 1]) : C.t;
    return tf.reshape(tf.matMul(a3, c3), [B, ...outShape]);
  };
}

function vertexFn(tf: Tf, g: Graph, v: Vertex): VertexFn {
  const shapeOf = (k: number): readonly number[] => g.vertices[v.inputs[k]!]!.shape;
  const rank = v.shape.length;
  switch (v.op) {
    case 'matmul':
      return matmulFn(tf, v, shapeOf(0), shapeOf(1));
    case 'sum':
    case 'reduce_max':
    case 'reduce_min': {
      const axes = reduceAxes(v, shapeOf(0));
      if (v.op !== 'sum') {
        const op = v.op === 'reduce_max' ? 'max' : 'min';
        const shared = reduceExtremumOp(tf, op, axes);
        const batched = reduceExtremumOp(
          tf,
          op,
          axes.map((a) => a + 1),
        );
        return ([x]) => (axes.length === 0 ? x!.t : (x!.batched ? batched : shared)(x!.t));
      }
      return ([x]) => {
        if (axes.length === 0) return x!.t;
        return tf.sum(x!.t, x!.batched ? axes.map((a) => a + 1) : axes);
      };
    }
    case 'broadcast': {
      const os = shapeOf(0);
      const target = v.attrs.shape ?? v.shape;
      const axes = broadcastAxes(v, os);
      // Order the operand's axes as they appear in the result, then insert size-1 axes.
      const perm = axes.map((_, k) => k).sort((p, q) => axes[p]! - axes[q]!);
      const permuted = perm.some((p, i) => p !== i);
      const aligned = target.map((_, r) => {
        const k = axes.indexOf(r);
        return k < 0 ? 1 : os[k]!;
      });
      return ([x], B) => {
        let t = x!.t;
        if (permuted) t = tf.transpose(t, x!.batched ? [0, ...perm.map((p) => p + 1)] : perm);
        t = tf.reshape(t, x!.batched ? [B, ...aligned] : aligned);
        return broadcastTo(tf, t, x!.batched ? [B, ...target] : [...target]);
      };
    }
    case 'transpose': {
      const perm = transposePerm(v, shapeOf(0));
      return ([x]) => tf.transpose(x!.t, x!.batched ? [0, ...perm.map((p) => p + 1)] : perm);
    }
    case 'reshape':
      return ([x], B) => tf.reshape(x!.t, x!.batched ? [B, ...v.shape] : [...v.shape]);
    case 'slice': {
      const os = shapeOf(0);
      const starts = v.attrs.starts ?? os.map(() => 0);
      const ends = v.attrs.ends ?? os;
      const size = os.map((_, k) => ends[k]! - starts[k]!);
      return ([x], B) => {
        const t = x!.batched ? tf.slice(x!.t, [0, ...starts], [B, ...size]) : tf.slice(x!.t, [...starts], size);
        return tf.reshape(t, x!.batched ? [B, ...v.shape] : [...v.shape]);
      };
    }
    case 'concat': {
      const axis = concatAxis(v);
      return (ops, B) => {
        const batched = ops.some((o) => o.batched);
        const parts = ops.map((o, k) => (batched ? toBatch(tf, o, shapeOf(k), B) : o.t));
        return tf.concat(parts, batched ? axis + 1 : axis);
      };
    }
    default:
      break;
  }
  if (v.inputs.length === 1) {
    const f = unaryFn(tf, v);
    return ([x]) => f(x!.t);
  }
  if (v.inputs.length === 2) {
    const f = binaryFn(tf, v.op);
    if (v.op === 'max' || v.op === 'min') {
      // Their custom gradient takes operands of the result's shape (the broadcasting add reduces the gradient of a broadcast operand).
      return ([x, y], B) => {
        const X = x!;
        const Y = y!;
        const shape = X.batched || Y.batched ? [B, ...v.shape] : [...v.shape];
        return f(broadcastTo(tf, alignBatched(tf, X, rank, B), shape), broadcastTo(tf, alignBatched(tf, Y, rank, B), shape));
      };
    }
    return ([x, y], B) => {
      const X = x!;
      const Y = y!;
      if (rank === 0 || (!X.batched && !Y.batched)) return f(X.t, Y.t);
      return f(alignBatched(tf, X, rank, B), alignBatched(tf, Y, rank, B));
    };
  }
  throw new CompileError(`cannot compile op '${v.op}' with ${v.inputs.length} operands (vertex ${v.id})`, v.id);
}

const LEAVES = new Set(['input', 'param', 'state', 'target', 'const']);

/** Compile `graph` to closures over tf ops; constants are uploaded once. */
export function compileGraph(tf: Tf, graph: Graph, opts: CompileOptions = {}): CompiledGraph {
  const stopped = opts.stopped ?? new Set<string>();
  const stop = stopped.size ? stopGradientOp(tf) : undefined;
  const consts = new Map<number, T>();
  const fns: (VertexFn | undefined)[] = [];
  try {
    for (const v of graph.vertices) {
      if (v.op === 'const') {
        const value = v.attrs.value;
        if (!value || value.length !== sizeOf(v.shape)) throw new CompileError(`const vertex ${v.id} needs attrs.value with ${sizeOf(v.shape)} numbers`, v.id);
        consts.set(v.id, tf.tensor(Float32Array.from(value), [...v.shape], 'float32'));
        fns.push(undefined);
      } else if (LEAVES.has(v.op)) {
        fns.push(undefined);
      } else {
        fns.push(vertexFn(tf, graph, v));
      }
    }
  } catch (e) {
    for (const t of consts.values()) t.dispose();
    throw e;
  }
  // Which vertices each requested output needs, stopping at given values
  // (computed once per wanted list and set of given vertices).
  const needCache = new Map<string, Uint8Array>();
  const needed = (wanted: readonly number[], given: ReadonlyMap<number, Value>): Uint8Array => {
    const key = `${wanted.join(',')}|${[...given.keys()].join(',')}`;
    let need = needCache.get(key);
    if (!need) {
      need = new Uint8Array(graph.vertices.length);
      for (const w of wanted) need[w] = 1;
      for (let i = graph.vertices.length - 1; i >= 0; i--) {
        if (need[i] && !given.has(i)) for (const j of graph.vertices[i]!.inputs) need[j] = 1;
      }
      needCache.set(key, need);
    }
    return need;
  };

  return {
    graph,
    run(leaves, batch, wanted, perturb) {
      const need = wanted ? needed(wanted, leaves) : undefined;
      const values = new Array<Value | undefined>(graph.vertices.length);
      for (const v of graph.vertices) {
        if (need && !need[v.id]) continue;
        const given = leaves.get(v.id);
        if (given) {
          const want = given.batched ? [batch, ...v.shape] : [...v.shape];
          if (given.t.shape.length !== want.length || given.t.shape.some((d, i) => d !== want[i])) {
            throw new CompileError(`value for '${v.name ?? v.id}' has shape ${formatShape(given.t.shape)}; expected ${formatShape(want)}`, v.id);
          }
          values[v.id] = given;
          continue;
        }
        if (v.op === 'const') {
          values[v.id] = { t: consts.get(v.id)!, batched: false };
          continue;
        }
        if (LEAVES.has(v.op)) throw new CompileError(`no value given for ${v.op} '${v.name ?? v.id}' (vertex ${v.id})`, v.id);
        const ops = v.inputs.map((id, k) => {
          const o = values[id]!;
          return stop && stopped.has(stopKey(v.id, k)) ? { t: stop(o.t), batched: o.batched } : o;
        });
        const batched = ops.some((o) => o.batched);
        const t = fns[v.id]!(ops, batch);
        const eps = perturb?.get(v.id);
        values[v.id] = eps ? { t: tf.add(t, eps), batched: true } : { t, batched };
      }
      return values;
    },
    dispose() {
      for (const t of consts.values()) t.dispose();
      consts.clear();
    },
  };
}
