// The structure behind the approximation kinds beyond keep/diagonal/drop
// (lang/approximations.ts): what makes a block a scalar filter, which
// products random feedback replaces, the fixed random matrices, and the
// rounding of quantised traces. blocks.ts applies the kinds with these;
// derive.ts and the executors use the matrices and the rounding, so the
// Float64 reference and the compiled engine compute the same numbers.

import type { Graph, Shape, Vertex } from '../graph/types.js';
import { sizeOf } from '../graph/types.js';
import { Rng } from '../graph/random.js';
import { makeSparsity, type Sparsity } from '../ad/sparsity.js';
import type { Range } from '../lang/ast.js';
import type { RuleSpec } from './rule.js';

/** A vertex whose value is the same in every element: a scalar, or a constant tensor of one repeated value. */
function uniformValued(g: Graph, id: number): boolean {
  const v = g.vertices[id]!;
  if (v.shape.length === 0 || sizeOf(v.shape) === 1) return true;
  if (v.op === 'broadcast') return sizeOf(g.vertices[v.inputs[0]!]!.shape) === 1;
  if (v.op === 'const') {
    const x = v.attrs.value;
    return x instanceof Float64Array && x.every((y) => y === x[0]);
  }
  return false;
}

/** ∂v/∂(operand k) is c·I (one value for every element): ±1 of a sum, or a product with a scalar. */
export function uniformPartial(g: Graph, v: Vertex, k: number): boolean {
  const u = g.vertices[v.inputs[k]!]!;
  if (u.shape.length !== v.shape.length || u.shape.some((d, i) => d !== v.shape[i])) return false;
  switch (v.op) {
    case 'add':
    case 'sub':
    case 'neg':
    case 'reshape':
      return true;
    case 'mul':
      return uniformValued(g, v.inputs[1 - k]!);
    case 'div':
      return k === 0 && uniformValued(g, v.inputs[1]!);
    default:
      return false;
  }
}

/** Vertices on a path src ⇝ dst through the interior vertices (the eliminated ones), src and dst included; empty when none. */
export function pathVertices(g: Graph, interior: Uint8Array, src: number, dst: number): Set<number> {
  const fwd = new Uint8Array(g.vertices.length);
  fwd[src] = 1;
  for (let v = src + 1; v <= dst; v++) {
    if (v !== dst && !interior[v]) continue;
    if (g.vertices[v]!.inputs.some((u) => fwd[u] === 1 && (u === src || interior[u] === 1))) fwd[v] = 1;
  }
  const on = new Set<number>();
  if (!fwd[dst]) return on;
  const bwd = new Uint8Array(g.vertices.length);
  bwd[dst] = 1;
  for (let v = dst; v >= src; v--) {
    if (!bwd[v] || !fwd[v]) continue;
    on.add(v);
    if (v === src) continue;
    for (const u of g.vertices[v]!.inputs) if (fwd[u] === 1 && (u === src || interior[u] === 1)) bwd[u] = 1;
  }
  return on;
}

/** Every partial on every path src ⇝ dst (through interior vertices) is c·I: the block is a scaled identity. */
export function uniformPath(g: Graph, interior: Uint8Array, src: number, dst: number): boolean {
  const on = pathVertices(g, interior, src, dst);
  if (!on.size) return false;
  for (const v of on) {
    if (v === src) continue;
    const x = g.vertices[v]!;
    for (let k = 0; k < x.inputs.length; k++) if (on.has(x.inputs[k]!) && !uniformPartial(g, x, k)) return false;
  }
  return true;
}

/**
 * ∂a[t+1]/∂W when W enters only through products W @ v whose results reach a[t+1] through c·I partials:
 * δ(j = j')·c·v[r], the same vector on every row (program.ts `shared`). null otherwise.
 */
export function sharedParamBlock(g: Graph, interior: Uint8Array, param: number, dst: number, outShape: Shape, inShape: Shape): Sparsity | null {
  if (outShape.length !== 1 || inShape.length !== 2 || inShape[0] !== outShape[0]) return null;
  const on = pathVertices(g, interior, param, dst);
  const readers = [...on].filter((v) => v !== param && g.vertices[v]!.inputs.includes(param));
  if (!readers.length) return null;
  for (const m of readers) {
    const x = g.vertices[m]!;
    if (x.op !== 'matmul' || x.inputs[0] !== param || x.inputs[1] === param || g.vertices[x.inputs[1]!]!.shape.length !== 1) return null;
    if (!uniformPath(g, interior, m, dst)) return null;
  }
  const n = outShape[0]!;
  return makeSparsity(
    outShape,
    inShape,
    [{ kind: 'pair', pair: 0 }],
    [{ kind: 'pair', pair: 0 }, { kind: 'dense' }],
    [{ out: 0, in: 0, stored: false, offset: 0, lo: 0, hi: n }],
    true,
  );
}

/** The products `W @ operand` (W a parameter) through which a block reads its operand, or why random feedback cannot apply. */
export function feedbackProducts(g: Graph, interior: Uint8Array, src: number, dst: number): { matmul: number; param: number }[] | string {
  const on = pathVertices(g, interior, src, dst);
  const readers = [...on].filter((v) => v !== src && g.vertices[v]!.inputs.includes(src));
  if (!readers.length) return 'no gradient flows through it';
  const out: { matmul: number; param: number }[] = [];
  for (const m of readers) {
    const x = g.vertices[m]!;
    const w = g.vertices[x.inputs[0]!]!;
    if (x.op !== 'matmul' || x.inputs[1] !== src || x.inputs[0] === src || w.op !== 'param' || w.shape.length !== 2) {
      return `it reads the operand through ${x.op === 'matmul' ? 'a product whose matrix is not a parameter' : `'${x.op}'`}; random feedback replaces the matrix W of products W @ operand`;
    }
    out.push({ matmul: m, param: x.inputs[0]! });
  }
  return out;
}

/**
 * A fixed random matrix: entries N(0, scale²) from mulberry32 (graph/random.ts) seeded with `seed`, row-major.
 * Every executor calls this, so they use the same matrix.
 */
export function feedbackMatrix(seed: number, shape: Shape, scale: number): Float64Array {
  const rng = new Rng((0x5bd1e995 ^ Math.imul(seed + 1, 0x27d4eb2d)) >>> 0);
  const m = new Float64Array(sizeOf(shape));
  for (let i = 0; i < m.length; i++) m[i] = scale * rng.normal();
  return m;
}

/** The default scale of a feedback matrix: 1/√(operand size), the standard deviation of a standard initialiser of W. */
export function defaultFeedbackScale(operandSize: number): number {
  return 1 / Math.sqrt(Math.max(1, operandSize));
}

// ------------------------------------------------------------ quantised traces

/**
 * lowbias32 (C. Wellons' integer hash): a counter-based stream, so stochastic
 * rounding gives the same dither in every executor and on every thread.
 */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The dither u ∈ [0, 1) of value i of trace k at step t. */
export function dither(seed: number, t: number, k: number, i: number): number {
  return hash32(hash32(hash32(seed ^ 0x9e3779b9) ^ t) ^ Math.imul(k + 1, 0x85ebca6b) ^ hash32(i)) / 4294967296;
}

/** The same functions as source text, for generated code (train/compiled/). */
export const QUANTIZE_SOURCE = `function hash32(x) { x ^= x >>> 16; x = Math.imul(x, 0x7feb352d); x ^= x >>> 15; x = Math.imul(x, 0x846ca68b); x ^= x >>> 16; return x >>> 0; }
function dither(seed, t, k, i) { return hash32(hash32(hash32(seed ^ 0x9e3779b9) ^ t) ^ Math.imul(k + 1, 0x85ebca6b) ^ hash32(i)) / 4294967296; }
function quantize(v, bits, stochastic, seed, t, k) {
  let m = 0;
  for (let i = 0; i < v.length; i++) { const a = Math.abs(v[i]); if (a > m) m = a; }
  if (!(m > 0) || !Number.isFinite(m)) return;
  const q = Math.pow(2, Math.ceil(Math.log2(m)) - (bits - 1)), top = Math.pow(2, bits - 1) - 1;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] / q;
    let n = stochastic ? Math.floor(x + dither(seed, t, k, i)) : Math.round(x);
    if (n > top) n = top; else if (n < -top) n = -top;
    v[i] = n * q;
  }
}`;

/**
 * Rounds a trace in place to `bits`-bit fixed point with one power-of-two
 * scale for the whole trace at this step (block floating point): the quantum
 * is 2^(⌈log₂ max|v|⌉ − (bits − 1)), values are whole multiples of it within
 * ±(2^(bits−1) − 1). Nearest rounds half up (Math.round); stochastic rounds
 * up with probability equal to the fraction (Gupta et al. 2015, "Deep learning
 * with limited numerical precision", ICML), dithered by `dither`.
 */
export function quantizeTrace(v: Float64Array | Float32Array, bits: number, stochastic: boolean, seed: number, t: number, k: number): void {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    if (a > m) m = a;
  }
  if (!(m > 0) || !Number.isFinite(m)) return;
  const q = Math.pow(2, Math.ceil(Math.log2(m)) - (bits - 1));
  const top = Math.pow(2, bits - 1) - 1;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]! / q;
    let n = stochastic ? Math.floor(x + dither(seed, t, k, i)) : Math.round(x);
    if (n > top) n = top;
    else if (n < -top) n = -top;
    v[i] = n * q;
  }
}

/**
 * Kinds that need a particular schedule: `local` (a learning signal the online program adds), `top(k)` (a
 * SnAp-2 trace pattern) and quantised traces are online; `truncate` runs online or in reverse.
 */
export function scheduleProblems(spec: RuleSpec): { readonly message: string; readonly range?: Range }[] {
  const s = spec.schedule.kind;
  const out: { message: string; range?: Range }[] = [];
  if (s !== 'online') {
    for (const a of spec.approximations) {
      if (a.kind === 'local' || a.kind === 'top') {
        out.push({
          message: `'${a.kind}' needs 'schedule online': ${a.kind === 'local' ? "the layer's feedback is a learning signal of the online program" : 'its SnAp-2 pattern is a pattern of the online traces'}`,
          ...(a.range ? { range: a.range } : {}),
        });
      }
    }
    if (spec.quantize) out.push({ message: "'quantize traces' needs 'schedule online': only online rules carry traces" });
  }
  if (spec.truncate !== undefined && s !== 'online' && s !== 'reverse') out.push({ message: `'truncate' runs with schedule online or reverse, not ${s}` });
  return out;
}
