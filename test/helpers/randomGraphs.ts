// Random computational graphs for property tests and benchmarks.
//
// `randomMixedGraph` mixes scalars, vectors and matrices with every op kind the
// engine knows (smooth elementwise ops, broadcasting, matmul, reductions,
// transforms); `randomScalarGraph` builds large scalar graphs shaped like the
// AD benchmark tasks (RoeFlux and friends).

import { sizeOf, type Graph, type Shape, type Tensor } from '../../language-server/src/graph/types.js';
import { GraphBuilder } from './graphBuilder.js';

/** mulberry32: a small seeded generator, enough for tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: readonly T[], r: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export interface RandomCase {
  readonly graph: Graph;
  readonly leaves: Map<number, Tensor>;
}

const SMOOTH_UNARY = ['sin', 'cos', 'tanh', 'sigmoid', 'atan', 'asinh', 'erf', 'softplus', 'neg'] as const;
const BINARY = ['add', 'sub', 'mul', 'atan2', 'max', 'min'] as const;

function same(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((n, k) => n === b[k]);
}

/** A random graph over scalars, [3] and [2] vectors, and [2,3] matrices, with `steps` op choices. */
export function randomMixedGraph(seed: number, steps = 10): RandomCase {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const b = new GraphBuilder(`random-${seed}`);
  const shapes: Shape[] = [[], [3], [2], [2, 3]];
  const nIn = 2 + Math.floor(r() * 2);
  for (let k = 0; k < nIn; k++) b.input(pick(shapes), `x${k}`);
  if (r() < 0.5) b.data(pick(shapes), 'd');
  if (r() < 0.5) b.const(0.5 + r(), pick(shapes));
  const ids = (): number[] => Array.from({ length: b.size }, (_, k) => k);
  const withShape = (f: (s: Shape) => boolean): number[] => ids().filter((k) => f(b.shapeOf(k)));

  for (let step = 0; step < steps; step++) {
    const kind = Math.floor(r() * 10);
    const any = pick(ids());
    const s = b.shapeOf(any);
    switch (kind) {
      case 0:
      case 1:
        b.op(pick(SMOOTH_UNARY), [any]);
        break;
      case 2:
      case 3: {
        const partners = withShape((t) => same(t, s) || t.length === 0 || s.length === 0);
        const other = pick(partners);
        b.op(pick(BINARY), r() < 0.5 ? [any, other] : [other, any]);
        break;
      }
      case 4: {
        // matmul, any valid pairing
        const pairs: [number, number][] = [];
        for (const p of ids())
          for (const q of ids()) {
            const [a, c] = [b.shapeOf(p), b.shapeOf(q)];
            if (a.length >= 1 && c.length >= 1 && a.length <= 2 && c.length <= 2 && a[a.length - 1] === c[0]) pairs.push([p, q]);
          }
        if (pairs.length > 0) b.matmul(...pick(pairs));
        else b.op('sin', [any]);
        break;
      }
      case 5:
        if (s.length === 0) b.op('tanh', [any]);
        else {
          const op = pick(['sum', 'sum', 'reduce_max', 'reduce_min'] as const);
          b.op(op, [any], s.length === 2 && r() < 0.6 ? { axes: [Math.floor(r() * 2)] } : {});
        }
        break;
      case 6: // broadcast
        if (s.length === 0) b.op('broadcast', [any], { shape: pick([[3], [2, 3]]), axes: [] });
        else if (same(s, [3])) b.op('broadcast', [any], { shape: [2, 3], axes: [1] });
        else if (same(s, [2])) b.op('broadcast', [any], { shape: [2, 3], axes: [0] });
        else if (s.length === 2) b.op('transpose', [any], { perm: [1, 0] });
        else b.op('sin', [any]);
        break;
      case 7: // slice
        if (s.length === 0) b.op('reshape', [any], { shape: [1] });
        else if (s.length === 1) {
          const start = Math.floor(r() * s[0]!);
          if (r() < 0.5) b.op('slice', [any], { starts: [start], ends: [start + 1], squeeze: [0] });
          else b.op('slice', [any], { starts: [start], ends: [s[0]!] });
        } else if (s[1]! < 2) b.op('cos', [any]);
        else if (r() < 0.5) {
          const row = Math.floor(r() * s[0]!);
          b.op('slice', [any], { starts: [row, 1], ends: [row + 1, s[1]!], squeeze: [0] });
        } else b.op('slice', [any], { starts: [0, 1], ends: [s[0]!, s[1]!] });
        break;
      case 8: {
        // concat of vectors, or a reshape
        const vecs = withShape((t) => t.length === 1);
        if (vecs.length > 0 && r() < 0.7) b.op('concat', [pick(vecs), pick(vecs)], { axis: 0 });
        else if (sizeOf(s) === 6) b.op('reshape', [any], { shape: pick([[6], [3, 2]]) });
        else b.op('cos', [any]);
        break;
      }
      default: {
        // a safe division: x / (1.5 + sigmoid(y))
        const den = b.add(b.const(1.5), b.op('sigmoid', [pick(withShape((t) => same(t, s) || t.length === 0))]));
        b.div(any, den);
      }
    }
  }
  // Outputs: the last vertex and up to two random interior ones (which may feed others).
  const interior = b
    .build()
    .vertices.filter((v) => v.inputs.length > 0)
    .map((v) => v.id);
  const outs = new Set<number>([b.size - 1]);
  for (let k = 0; k < 2; k++) if (r() < 0.6) outs.add(pick(interior));
  for (const o of [...outs].sort((p, q) => p - q)) b.output(o);
  const graph = b.build();
  const leaves = new Map<number, Tensor>();
  for (const v of graph.vertices) {
    if (v.op === 'input' || v.op === 'param') {
      leaves.set(v.id, { shape: v.shape, data: Float64Array.from({ length: sizeOf(v.shape) }, () => 2 * r() - 1) });
    }
  }
  return { graph, leaves };
}

/**
 * A random scalar graph with `n` interior vertices over `nIn` inputs: each vertex
 * applies a unary op to a recent vertex or combines two, as in the AD benchmark
 * functions; the last `nOut` vertices are the outputs.
 */
export function randomScalarGraph(seed: number, n = 100, nIn = 6, nOut = 3): Graph {
  const r = rng(seed);
  const b = new GraphBuilder(`scalar-${seed}`);
  for (let k = 0; k < nIn; k++) b.input([], `x${k}`);
  const recent = (): number => Math.max(0, b.size - 1 - Math.floor(r() * Math.min(b.size, 12)));
  for (let k = 0; k < n; k++) {
    if (r() < 0.35) b.op(pick(r, ['sin', 'cos', 'exp', 'log', 'sqrt', 'tanh', 'neg'] as const), [recent()]);
    else b.op(pick(r, ['add', 'sub', 'mul', 'div'] as const), [recent(), Math.floor(r() * b.size)]);
  }
  for (let k = 0; k < nOut; k++) b.output(b.size - 1 - k);
  return b.build();
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}
