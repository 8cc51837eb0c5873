// Generated computational graphs for training the search's network
// (`npm run train-agent`) and for benchmarks: seeded, shaped like the AD
// benchmark tasks (vertex-elimination.md §2). Most are scalar programs of
// elementwise ops over a few inputs with several outputs, as RoeFlux, the
// robot arm, the heart dipole, propane and AlphaGrad's random f and g; some
// mix in vectors and matrices (matmul, broadcast, sums) as the MLP and the
// transformer do.

import { Rng } from '../graph/random.js';
import type { Attrs, Graph, Op, Shape, Vertex, VertexRole } from '../graph/types.js';

interface Draft {
  op: Op;
  shape: Shape;
  inputs: number[];
  attrs: Attrs;
  role: VertexRole;
  name?: string;
}

const UNARY: readonly Op[] = ['sin', 'cos', 'exp', 'log', 'sqrt', 'tanh', 'neg', 'sigmoid', 'abs'];
const BINARY: readonly Op[] = ['add', 'sub', 'mul', 'div', 'mul', 'mul'];

export interface CorpusOptions {
  /** Interior vertices (default 20 … 80). */
  readonly minVertices?: number;
  readonly maxVertices?: number;
  /** Probability that the graph mixes tensors (default 0.2). */
  readonly tensorFraction?: number;
}

/** The graph number `seed` of the corpus. */
export function corpusGraph(seed: number, o: CorpusOptions = {}): Graph {
  const rng = new Rng(seed * 2654435761 + 17);
  const lo = o.minVertices ?? 20;
  const hi = o.maxVertices ?? 80;
  const n = lo + rng.int(hi - lo + 1);
  return rng.next() < (o.tensorFraction ?? 0.2) ? tensorGraph(rng, n, seed) : scalarGraph(rng, n, seed);
}

function build(name: string, drafts: Draft[], inputs: number[], outputs: number[]): Graph {
  const outSet = new Set(outputs);
  const vertices: Vertex[] = drafts.map((d, id) => ({
    id,
    op: d.op,
    shape: d.shape,
    inputs: d.inputs,
    attrs: d.attrs,
    role: outSet.has(id) && d.role === 'op' ? 'output' : d.role,
    range: { start: 0, end: 0 },
    ...(d.name !== undefined ? { name: d.name } : {}),
  }));
  return { name, kind: 'function', vertices, inputs, outputs };
}

/** A scalar program: each vertex applies a unary op to a recent value or combines two. */
function scalarGraph(rng: Rng, n: number, seed: number): Graph {
  const d: Draft[] = [];
  const nIn = 2 + rng.int(12);
  const inputs: number[] = [];
  for (let k = 0; k < nIn; k++) {
    inputs.push(d.length);
    d.push({ op: 'input', shape: [], inputs: [], attrs: {}, role: 'input', name: `x${k}` });
  }
  // Locality: most operands are recent (as in straight-line code), some reach back.
  const window = 4 + rng.int(12);
  const recent = (): number => Math.max(0, d.length - 1 - rng.int(Math.min(d.length, window)));
  const any = (): number => rng.int(d.length);
  const unaryRate = 0.2 + 0.3 * rng.next();
  for (let k = 0; k < n; k++) {
    if (rng.next() < unaryRate) d.push({ op: UNARY[rng.int(UNARY.length)]!, shape: [], inputs: [recent()], attrs: {}, role: 'op' });
    else {
      const a = recent();
      let b = rng.next() < 0.6 ? recent() : any();
      if (b === a) b = any();
      d.push({ op: BINARY[rng.int(BINARY.length)]!, shape: [], inputs: [a, b], attrs: {}, role: 'op' });
    }
  }
  const outputs = pickOutputs(rng, d, nIn, 1 + rng.int(Math.min(12, Math.max(1, Math.floor(n / 5)))));
  return build(`corpus-${seed}`, d, inputs, outputs);
}

/** Outputs: the last vertex and some others near the end (some of which feed later vertices). */
function pickOutputs(rng: Rng, d: Draft[], first: number, count: number): number[] {
  const outs = new Set<number>([d.length - 1]);
  for (let tries = 0; outs.size < count && tries < count * 10; tries++) {
    const span = Math.max(1, Math.floor((d.length - first) / 2));
    outs.add(d.length - 1 - rng.int(span));
  }
  return [...outs].sort((a, b) => a - b);
}

/** A small network-like graph over vectors and matrices, with scalar side computations. */
function tensorGraph(rng: Rng, n: number, seed: number): Graph {
  const d: Draft[] = [];
  const dims = [2 + rng.int(3), 2 + rng.int(4)];
  const [a, b] = dims as [number, number];
  const inputs: number[] = [];
  const leaf = (shape: Shape, name: string): number => {
    inputs.push(d.length);
    d.push({ op: 'input', shape, inputs: [], attrs: {}, role: 'input', name });
    return d.length - 1;
  };
  leaf([b], 'x');
  leaf([a, b], 'W1');
  leaf([a], 'b1');
  leaf([b, a], 'W2');
  leaf([], 's');
  const of = (pred: (s: Shape) => boolean): number[] => d.map((x, i) => (pred(x.shape) ? i : -1)).filter((i) => i >= 0);
  const same = (x: Shape, y: Shape): boolean => x.length === y.length && x.every((v, k) => v === y[k]);
  const pick = (xs: number[]): number => xs[Math.max(0, xs.length - 1 - rng.int(Math.min(xs.length, 8)))]!;
  for (let k = 0; k < n; k++) {
    const r = rng.next();
    const last = d.length - 1;
    const shape = d[last]!.shape;
    if (r < 0.25) {
      d.push({ op: UNARY[rng.int(UNARY.length)]!, shape, inputs: [last], attrs: {}, role: 'op' });
    } else if (r < 0.55) {
      const partners = of((s) => same(s, shape));
      const other = pick(partners);
      d.push({ op: BINARY[rng.int(BINARY.length)]!, shape, inputs: [last, other], attrs: {}, role: 'op' });
    } else if (r < 0.7) {
      // matmul where shapes allow
      const mats = of((s) => s.length === 2);
      const vecs = of((s) => s.length === 1);
      const pairs: [number, number, Shape][] = [];
      for (const m of mats.slice(-6)) for (const v of vecs.slice(-6)) if (d[m]!.shape[1] === d[v]!.shape[0]) pairs.push([m, v, [d[m]!.shape[0]!]]);
      if (pairs.length) {
        const [m, v, s] = pairs[rng.int(pairs.length)]!;
        d.push({ op: 'matmul', shape: s, inputs: [m, v], attrs: {}, role: 'op' });
      } else d.push({ op: 'tanh', shape, inputs: [last], attrs: {}, role: 'op' });
    } else if (r < 0.8) {
      const x = pick(of((s) => s.length >= 1));
      d.push({ op: 'sum', shape: [], inputs: [x], attrs: {}, role: 'op' });
    } else if (r < 0.9) {
      const x = pick(of((s) => s.length === 0));
      const target = rng.next() < 0.5 ? [a] : [b];
      d.push({ op: 'broadcast', shape: target, inputs: [x], attrs: { shape: target, axes: [] }, role: 'op' });
    } else {
      const x = pick(of((s) => s.length === 0));
      const y = pick(of((s) => s.length === 0));
      d.push({ op: rng.next() < 0.5 ? 'mul' : 'add', shape: [], inputs: [x, y], attrs: {}, role: 'op' });
    }
  }
  const outputs = pickOutputs(rng, d, inputs.length, 1 + rng.int(4));
  return build(`corpus-tensor-${seed}`, d, inputs, outputs);
}
