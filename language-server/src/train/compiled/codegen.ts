// A model's step graph (graph/types.ts) lowered to straight-line JavaScript
// over typed arrays, one sample at a time: the forward values of every vertex
// and reverse sweeps (vector-Jacobian products) over any part of the step.
//
// Every op is an entry of two tables: its forward formula (graph/evaluate.ts
// unaryForward / binaryForward, inlined for the common ones) and its partials
// (ad/rules.ts unaryDerivative / binaryDerivative / surrogateDerivative). An op
// or a surrogate added to those tables works here without a change: the
// generated code calls the table's function where no inline formula is known.
//
// Storage. Per-sample values live in one Float32Array arena `A` at fixed
// offsets (states, every computed vertex); parameters in their own Float32Arrays
// `P0…`; constants in Float64Arrays `C<id>`; the step's input and target are
// read in place from the batch (`X[xo + i]`, `Y[yo + i]`). Adjoints live in a
// Float64Array arena `G`, or go straight into a parameter's Float64 gradient
// accumulator `D<k>` (a sweep of the loss, exact BPTT). Values that depend only
// on parameters and constants ("shared") are computed once per batch, with the
// transposes of the matrices that multiply per-sample vectors.

import { broadcastAxes, concatAxis, concatScatter, gatherMap, isBinary, isUnary, LEAF_OPS, reduceAxes, reduceMap } from '../../graph/evaluate.js';
import { LOSS_WEIGHT } from '../../lang/lossWindow.js';
import { sizeOf, type Graph, type Vertex } from '../../graph/types.js';

/** Where a vertex's values are: array name and offset expression. */
export interface Slot {
  readonly arr: string;
  readonly off: string;
}

/** Constant arrays the generated code reads (`K<k>`), collected while generating. */
export class ConstPool {
  readonly items: (Float64Array | Int32Array)[] = [];
  private readonly seen = new Map<unknown, number>();

  add(a: Float64Array | Int32Array, key?: unknown): string {
    if (key !== undefined) {
      const k = this.seen.get(key);
      if (k !== undefined) return `K${k}`;
    }
    this.items.push(a);
    if (key !== undefined) this.seen.set(key, this.items.length - 1);
    return `K${this.items.length - 1}`;
  }
}

const num = (x: number): string =>
  Object.is(x, -0) ? '-0' : Number.isNaN(x) ? 'NaN' : x === Infinity ? 'Infinity' : x === -Infinity ? '-Infinity' : String(x);

/** `arr[off + i]`, simplified when the offset is 0. */
export function at(s: Slot, i: string): string {
  if (s.off === '0') return `${s.arr}[${i}]`;
  if (i === '0') return `${s.arr}[${s.off}]`;
  return `${s.arr}[${s.off} + ${i}]`;
}

// ------------------------------------------------------------ the op tables

const UNARY_INLINE: Partial<Record<string, (x: string) => string>> = {
  neg: (x) => `-${x}`,
  exp: (x) => `Math.exp(${x})`,
  log: (x) => `Math.log(${x})`,
  sqrt: (x) => `Math.sqrt(${x})`,
  abs: (x) => `Math.abs(${x})`,
  sin: (x) => `Math.sin(${x})`,
  cos: (x) => `Math.cos(${x})`,
  tan: (x) => `Math.tan(${x})`,
  tanh: (x) => `Math.tanh(${x})`,
  sinh: (x) => `Math.sinh(${x})`,
  cosh: (x) => `Math.cosh(${x})`,
  log1p: (x) => `Math.log1p(${x})`,
  relu: (x) => `(${x} > 0 ? ${x} : 0)`,
  spike: (x) => `(${x} > 0 ? 1 : 0)`,
  stop: (x) => x,
};

/** d/dx of the unary ops, in terms of x and y (inlined ones; the rest call ad/rules.ts unaryDerivative). */
const UNARY_DERIV_INLINE: Partial<Record<string, (x: string, y: string) => string>> = {
  neg: () => '-1',
  exp: (_x, y) => y,
  log: (x) => `1 / ${x}`,
  sqrt: (_x, y) => `0.5 / ${y}`,
  tanh: (_x, y) => `(1 - ${y} * ${y})`,
  sigmoid: (_x, y) => `${y} * (1 - ${y})`,
  relu: (x) => `(${x} > 0 ? 1 : 0)`,
  sin: (x) => `Math.cos(${x})`,
  cos: (x) => `-Math.sin(${x})`,
};

const BINARY_INLINE: Partial<Record<string, (a: string, b: string) => string>> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `${a} / ${b}`,
  max: (a, b) => `Math.max(${a}, ${b})`,
  min: (a, b) => `Math.min(${a}, ${b})`,
  pow: (a, b) => `Math.pow(${a}, ${b})`,
};

const BINARY_DERIV_INLINE: Partial<Record<string, readonly [(a: string, b: string) => string, (a: string, b: string) => string]>> = {
  add: [() => '1', () => '1'],
  sub: [() => '1', () => '-1'],
  mul: [(_a, b) => b, (a) => a],
  div: [(_a, b) => `1 / ${b}`, (a, b) => `-${a} / (${b} * ${b})`],
};

/** Which values a partial ∂v/∂(operand k) reads: the operands and/or v itself (what exact BPTT must keep). */
export function partialReads(v: Vertex, k: number): number[] {
  if (isUnary(v.op)) return v.op === 'stop' || v.op === 'neg' ? [] : [v.inputs[0]!, v.id];
  if (isBinary(v.op)) {
    if (v.op === 'add' || v.op === 'sub') return [];
    if (v.op === 'mul') return [v.inputs[1 - k]!];
    return [v.inputs[0]!, v.inputs[1]!, v.id];
  }
  switch (v.op) {
    case 'matmul':
      return [v.inputs[1 - k]!];
    case 'reduce_max':
    case 'reduce_min':
      return [v.inputs[0]!, v.id];
    default:
      return [];
  }
}

// ------------------------------------------------------------ the compiler

export interface GraphCodeOptions {
  /** Operand edges `vertex:k` read without gradient (a rule's dropped blocks in a reverse schedule). */
  readonly stopped?: ReadonlySet<string>;
}

/**
 * A matrix kernel of the step, kept apart so it can run as WebAssembly (simd.ts): the code holds a
 * placeholder `/*@mk N@*\/` that program.ts replaces with a call or with `js`.
 *   mv:    y = M @ c (M shared [m, kk] with its transpose TR, c a per-sample vector), adding only c's nonzero columns;
 *   mvT:   gx += Mᵀ · gy (the adjoint through the product to c);
 *   outer: gA += gy ⊗ c (the adjoint of M, into a gradient accumulator), when c has many nonzeros.
 */
export type MatKernel =
  | { readonly k: 'mv'; readonly m: number; readonly kk: number; readonly tr: number; readonly c: Slot; readonly y: Slot }
  | { readonly k: 'mvT'; readonly m: number; readonly kk: number; readonly tr: number; readonly gy: Slot; readonly gx: Slot }
  | { readonly k: 'outer'; readonly m: number; readonly kk: number; readonly gy: Slot; readonly c: Slot; readonly gx: Slot };

/** Adjoint targets of one sweep. */
export interface SweepSpec {
  /** The vertices whose adjoints propagate to their operands (the equation's cone: its output and what it computes from its sources). */
  readonly cone: ReadonlySet<number>;
  /** Where adjoints are collected and not propagated further (block sources, cut points). */
  readonly sources: ReadonlySet<number>;
  /** Parameter leaves: where their adjoints go ('D': the gradient accumulator, 'G': a per-sample slot, 'skip': not needed). */
  readonly params?: ReadonlyMap<number, 'D' | 'G' | 'skip'>;
  /** Seed code (writes the output's adjoint); it runs after the adjoints are zeroed. */
  readonly seed: string;
  /** Leave the seeded vertices' adjoints as they are (BPTT seeds the states' t+1 values). */
  readonly keepSeeded?: ReadonlySet<number>;
}

export class GraphCode {
  readonly graph: Graph;
  /** Depends only on parameters and constants: computed once per batch. */
  readonly shared: Uint8Array;
  /** A-arena offset of every vertex stored there (-1: elsewhere). */
  readonly aOff: Int32Array;
  aSize = 0;
  /** G-arena offset of every vertex that has an adjoint slot (-1: none). */
  readonly gOff: Int32Array;
  gSize = 0;
  readonly consts = new ConstPool();
  /** Parameter leaf → its index (P<k>, D<k>). */
  readonly paramIndex = new Map<number, number>();
  /** Matrices multiplied by per-sample vectors: their transposes (`TR<id>`, computed once per batch). */
  readonly transposed = new Set<number>();
  /** Spike vertices: a surrogate derivative function each (`SG<id>`). */
  readonly surrogates = new Set<number>();
  /** Table functions the code calls (`UF_exp`, `UD_erf`, `BD_pow_1`, …). */
  readonly helpers = new Set<string>();
  /** The matrix kernels met so far, each with its JavaScript. */
  readonly kernels: { readonly spec: MatKernel; readonly js: string; readonly withCall?: (call: string) => string }[] = [];
  private readonly stopped: ReadonlySet<string>;

  constructor(
    graph: Graph,
    params: readonly { readonly leaf: number }[],
    readonly inputLeaf: number,
    readonly targetLeaf: number,
    opts: GraphCodeOptions = {},
  ) {
    this.graph = graph;
    this.stopped = opts.stopped ?? new Set();
    const n = graph.vertices.length;
    this.shared = new Uint8Array(n);
    this.aOff = new Int32Array(n).fill(-1);
    this.gOff = new Int32Array(n).fill(-1);
    params.forEach((p, k) => this.paramIndex.set(p.leaf, k));
    for (const v of graph.vertices) {
      if (v.op === 'param' || v.op === 'const') this.shared[v.id] = 1;
      else if (v.op === 'state' || v.op === 'input' || v.op === 'target') this.shared[v.id] = 0;
      else this.shared[v.id] = v.inputs.every((u) => this.shared[u] === 1) ? 1 : 0;
      if (v.op !== 'param' && v.op !== 'const' && v.op !== 'input' && v.op !== 'target') {
        this.aOff[v.id] = this.aSize;
        this.aSize += sizeOf(v.shape);
      }
    }
    for (const v of graph.vertices) {
      if (v.op === 'matmul' && !this.shared[v.id]) {
        const [a, c] = [graph.vertices[v.inputs[0]!]!, graph.vertices[v.inputs[1]!]!];
        if (a.shape.length === 2 && c.shape.length === 1 && this.shared[a.id] && !this.shared[c.id]) this.transposed.add(a.id);
      }
      if (v.op === 'spike') this.surrogates.add(v.id);
    }
  }

  isStopped(v: number, k: number): boolean {
    return this.stopped.has(`${v}:${k}`);
  }

  /** A G slot for vertex v (allocated on first use). */
  gSlot(v: number): number {
    if (this.gOff[v]! < 0) {
      this.gOff[v] = this.gSize;
      this.gSize += sizeOf(this.graph.vertices[v]!.shape);
    }
    return this.gOff[v]!;
  }

  /** Where vertex u's values are read. */
  val(u: number): Slot {
    const v = this.graph.vertices[u]!;
    switch (v.op) {
      case 'param':
        return { arr: `P${this.paramIndex.get(u)!}`, off: '0' };
      case 'const':
        return { arr: this.consts.add(v.attrs.value ?? new Float64Array(sizeOf(v.shape)), v), off: '0' };
      case 'input':
        if (u === this.inputLeaf) return { arr: 'X', off: 'xo' };
        // A windowed loss's w_t leaf: the trainer folds the window into the task's step
        // weights (tasks/window.ts), so the graph's own weight is 1 here, as on the TF.js path.
        if (v.name === LOSS_WEIGHT) return { arr: this.consts.add(new Float64Array(sizeOf(v.shape)).fill(1), LOSS_WEIGHT), off: '0' };
        throw new Error(`the compiled engine has no data for input leaf '${v.name ?? `%${u}`}'`);
      case 'target':
        return { arr: 'Y', off: 'yo' };
      default:
        return { arr: 'A', off: String(this.aOff[u]!) };
    }
  }

  size(u: number): number {
    return sizeOf(this.graph.vertices[u]!.shape);
  }

  /** Element `i` of u's values as an expression: a scalar constant is written as its number (no load per element). */
  elem(u: number, i: string): string {
    const v = this.graph.vertices[u]!;
    if (v.op === 'const' && sizeOf(v.shape) === 1 && v.attrs.value) return `(${num(v.attrs.value[0]!)})`;
    return at(this.val(u), i);
  }

  // ------------------------------------------------------------ forward

  /** Code computing vertex v's values from its operands. */
  forward(id: number): string {
    const v = this.graph.vertices[id]!;
    if (LEAF_OPS.has(v.op)) return '';
    const y = this.val(id);
    const n = sizeOf(v.shape);
    const ins = v.inputs;
    const x0 = this.val(ins[0]!);
    if (isUnary(v.op)) {
      if (v.op !== 'powc' && !UNARY_INLINE[v.op]) {
        // A table function: one call per vertex and step, the loop inside it (kernel.ts), not a call per element.
        this.helpers.add(`VF_${v.op}`);
        return `VF_${v.op}(${x0.arr}, ${x0.off}, ${y.arr}, ${y.off}, ${n});`;
      }
      const f = this.unaryExpr(v, 'x');
      return `for (let i = 0; i < ${n}; i++) { const x = ${this.elem(ins[0]!, 'i')}; ${at(y, 'i')} = ${f}; }`;
    }
    if (isBinary(v.op)) {
      const ia = this.size(ins[0]!) === n ? 'i' : '0';
      const ib = this.size(ins[1]!) === n ? 'i' : '0';
      return `for (let i = 0; i < ${n}; i++) { const a = ${this.elem(ins[0]!, ia)}, b = ${this.elem(ins[1]!, ib)}; ${at(y, 'i')} = ${this.binaryExpr(v.op, 'a', 'b')}; }`;
    }
    switch (v.op) {
      case 'matmul':
        return this.matmulForward(v);
      case 'sum':
      case 'reduce_max':
      case 'reduce_min': {
        const xs = this.graph.vertices[ins[0]!]!.shape;
        const nx = sizeOf(xs);
        const init = v.op === 'sum' ? '0' : v.op === 'reduce_max' ? '-Infinity' : 'Infinity';
        const step = (acc: string, t: string): string =>
          v.op === 'sum'
            ? `${acc} += ${t};`
            : v.op === 'reduce_max'
              ? `if (${t} > ${acc} || ${t} !== ${t}) ${acc} = ${t};`
              : `if (${t} < ${acc} || ${t} !== ${t}) ${acc} = ${t};`;
        if (n === 1) return `{ let s = ${init}; for (let i = 0; i < ${nx}; i++) { const t = ${at(x0, 'i')}; ${step('s', 't')} } ${at(y, '0')} = s; }`;
        const map = this.consts.add(reduceMap(xs, reduceAxes(v, xs)));
        return `{ const s = RS.subarray(0, ${n}); s.fill(${init}); for (let i = 0; i < ${nx}; i++) { const t = ${at(x0, 'i')}, r = ${map}[i]; ${step('s[r]', 't')} } for (let i = 0; i < ${n}; i++) ${at(y, 'i')} = s[i]; }`;
      }
      case 'reshape':
        return `for (let i = 0; i < ${n}; i++) ${at(y, 'i')} = ${at(x0, 'i')};`;
      case 'broadcast':
      case 'transpose':
      case 'slice': {
        const map = this.consts.add(gatherMap(v, this.graph.vertices[ins[0]!]!.shape));
        return `for (let i = 0; i < ${n}; i++) ${at(y, 'i')} = ${at(x0, `${map}[i]`)};`;
      }
      case 'concat': {
        const axis = concatAxis(v);
        let offset = 0;
        const parts: string[] = [];
        for (const u of ins) {
          const us = this.graph.vertices[u]!.shape;
          const sc = this.consts.add(concatScatter(v.shape, us, axis, offset));
          parts.push(`for (let i = 0; i < ${sizeOf(us)}; i++) ${at(y, `${sc}[i]`)} = ${at(this.val(u), 'i')};`);
          offset += us[axis]!;
        }
        return parts.join('\n');
      }
      default:
        throw new Error(`the compiled trainer has no code for op '${v.op}' (vertex ${id})`);
    }
  }

  private unaryExpr(v: Vertex, x: string): string {
    if (v.op === 'powc') return `Math.pow(${x}, ${num(v.attrs.exponent ?? NaN)})`;
    const inl = UNARY_INLINE[v.op];
    if (inl) return inl(x);
    this.helpers.add(`UF_${v.op}`);
    return `UF_${v.op}(${x})`;
  }

  private binaryExpr(op: string, a: string, b: string): string {
    const inl = BINARY_INLINE[op];
    if (inl) return inl(a, b);
    this.helpers.add(`BF_${op}`);
    return `BF_${op}(${a}, ${b})`;
  }

  /** ∂v/∂x elementwise for a unary vertex, in terms of x and y. */
  private unaryDeriv(v: Vertex, x: string, y: string): string {
    if (v.op === 'spike') return `SG${v.id}(${x})`;
    if (v.op === 'powc') {
      this.helpers.add('PD');
      return `PD(${x}, ${num(v.attrs.exponent ?? NaN)})`;
    }
    const inl = UNARY_DERIV_INLINE[v.op];
    if (inl) return inl(x, y);
    this.helpers.add(`UD_${v.op}`);
    return `UD_${v.op}(${x}, ${y})`;
  }

  private binaryDeriv(op: string, k: number, a: string, b: string, y: string): string {
    const inl = BINARY_DERIV_INLINE[op];
    if (inl) return inl[k]!(a, b);
    this.helpers.add(`BD_${op}_${k}`);
    return `BD_${op}_${k}(${a}, ${b}, ${y})`;
  }

  private dims(v: Vertex): { m: number; k: number; n: number; ra: number; rc: number } {
    const a = this.graph.vertices[v.inputs[0]!]!.shape;
    const c = this.graph.vertices[v.inputs[1]!]!.shape;
    return { m: a.length === 2 ? a[0]! : 1, k: a[a.length - 1]!, n: c.length === 2 ? c[1]! : 1, ra: a.length, rc: c.length };
  }

  private kernel(spec: MatKernel, js: string, withCall?: (call: string) => string): string {
    this.kernels.push({ spec, js, ...(withCall ? { withCall } : {}) });
    return `/*@mk ${this.kernels.length - 1}@*/`;
  }

  private matmulForward(v: Vertex): string {
    const { m, k, n } = this.dims(v);
    const y = this.val(v.id);
    const a = this.val(v.inputs[0]!);
    const c = this.val(v.inputs[1]!);
    if (this.transposed.has(v.inputs[0]!) && n === 1) {
      // A shared matrix times a per-sample vector. Spikes are mostly zero: skip the zero columns
      // (event-driven, as the hardware does) when fewer than a quarter are nonzero, else row dot products.
      const tr = `TR${v.inputs[0]!}`;
      return this.kernel(
        { k: 'mv', m, kk: k, tr: v.inputs[0]!, c, y },
        `{
  let nz = 0; for (let l = 0; l < ${k}; l++) if (${at(c, 'l')} !== 0) NZ[nz++] = l;
  if (nz * 4 < ${k}) {
    for (let i = 0; i < ${m}; i++) ${at(y, 'i')} = 0;
    for (let q = 0; q < nz; q++) { const l = NZ[q], cv = ${at(c, 'l')}, o = l * ${m}; for (let i = 0; i < ${m}; i++) ${at(y, 'i')} += ${tr}[o + i] * cv; }
  } else {
    for (let i = 0; i < ${m}; i++) { let s = 0; const o = i * ${k}; for (let l = 0; l < ${k}; l++) s += ${at(a, 'o + l')} * ${at(c, 'l')}; ${at(y, 'i')} = s; }
  }
}`,
      );
    }
    return `for (let i = 0; i < ${m}; i++) for (let j = 0; j < ${n}; j++) { let s = 0; for (let l = 0; l < ${k}; l++) s += ${at(a, `i * ${k} + l`)} * ${at(c, `l * ${n} + j`)}; ${at(y, `i * ${n} + j`)} = s; }`;
  }

  /** Code computing the transposes of shared matrices (once per batch, after the shared values). */
  transposes(): string {
    const out: string[] = [];
    for (const id of this.transposed) {
      const [m, k] = this.graph.vertices[id]!.shape as [number, number];
      const a = this.val(id);
      out.push(`for (let i = 0; i < ${m}; i++) for (let l = 0; l < ${k}; l++) TR${id}[l * ${m} + i] = ${at(a, `i * ${k} + l`)};`);
    }
    return out.join('\n');
  }

  // ------------------------------------------------------------ reverse sweeps

  /**
   * Code of a reverse sweep: zero the adjoints, seed, then for every cone
   * vertex in reverse topological order add its vector-Jacobian product into
   * its operands' adjoints — only where an adjoint leads to a source.
   */
  sweep(s: SweepSpec): string {
    const g = this.graph;
    const params = s.params ?? new Map<number, 'D' | 'G' | 'skip'>();
    // needed[u]: u's adjoint is wanted: u is a source, or a cone vertex that reaches a source.
    const needed = new Uint8Array(g.vertices.length);
    const target = (u: number): Slot | null => {
      if (g.vertices[u]!.op === 'param') {
        const mode = params.get(u) ?? 'skip';
        if (mode === 'skip' || !s.sources.has(u)) return null;
        return mode === 'D' ? { arr: `D${this.paramIndex.get(u)!}`, off: '0' } : { arr: 'G', off: String(this.gSlot(u)) };
      }
      if (!needed[u]) return null;
      return { arr: 'G', off: String(this.gSlot(u)) };
    };
    for (const u of s.sources) if (g.vertices[u]!.op !== 'param' || (params.get(u) ?? 'skip') !== 'skip') needed[u] = 1;
    const cone = [...s.cone].sort((a, b) => a - b);
    for (const v of cone) {
      if (s.sources.has(v)) continue;
      const vx = g.vertices[v]!;
      if (LEAF_OPS.has(vx.op) || vx.op === 'stop') continue;
      vx.inputs.forEach((u, k) => {
        if (this.isStopped(v, k)) return;
        if (needed[u]) needed[v] = 1;
      });
    }
    const lines: string[] = [];
    // Zero every adjoint slot this sweep writes, except parameter accumulators and kept seeds.
    const zeroed = new Set<number>();
    for (const v of [...cone, ...s.sources]) {
      if (!needed[v] || zeroed.has(v)) continue;
      if (g.vertices[v]!.op === 'param' && params.get(v) !== 'G') continue;
      if (s.keepSeeded?.has(v)) continue;
      zeroed.add(v);
      const o = this.gSlot(v);
      const n = this.size(v);
      lines.push(n === 1 ? `G[${o}] = 0;` : `G.fill(0, ${o}, ${o + n});`);
    }
    lines.push(s.seed);
    for (let q = cone.length - 1; q >= 0; q--) {
      const v = cone[q]!;
      if (s.sources.has(v) || !needed[v]) continue;
      const vx = g.vertices[v]!;
      if (LEAF_OPS.has(vx.op) || vx.op === 'stop') continue;
      const gy: Slot = { arr: 'G', off: String(this.gSlot(v)) };
      vx.inputs.forEach((u, k) => {
        if (this.isStopped(v, k)) return;
        const gx = target(u);
        if (!gx) return;
        lines.push(this.backward(vx, k, gy, gx));
      });
    }
    return lines.join('\n');
  }

  /** Code adding ∂v/∂(operand k)ᵀ · gy into gx. */
  backward(v: Vertex, k: number, gy: Slot, gx: Slot): string {
    const n = sizeOf(v.shape);
    const ins = v.inputs;
    const u = ins[k]!;
    const nu = this.size(u);
    const y = this.val(v.id);
    if (isUnary(v.op)) {
      if (v.op === 'neg') return `for (let i = 0; i < ${n}; i++) ${at(gx, 'i')} -= ${at(gy, 'i')};`;
      const xs = this.val(u);
      if (v.op === 'spike') return `VS${v.id}(${gy.arr}, ${gy.off}, ${xs.arr}, ${xs.off}, ${gx.arr}, ${gx.off}, ${n});`;
      if (v.op !== 'powc' && !UNARY_DERIV_INLINE[v.op]) {
        this.helpers.add(`VD_${v.op}`);
        return `VD_${v.op}(${gy.arr}, ${gy.off}, ${xs.arr}, ${xs.off}, ${y.arr}, ${y.off}, ${gx.arr}, ${gx.off}, ${n});`;
      }
      const d = this.unaryDeriv(v, 'x', 'y');
      return `for (let i = 0; i < ${n}; i++) { const g = ${at(gy, 'i')}; const x = ${at(this.val(u), 'i')}, y = ${at(y, 'i')}; ${at(gx, 'i')} += g * (${d}); }`;
    }
    if (isBinary(v.op)) {
      const ia = this.size(ins[0]!) === n ? 'i' : '0';
      const ib = this.size(ins[1]!) === n ? 'i' : '0';
      const d = this.binaryDeriv(v.op, k, 'a', 'b', 'y');
      const reads = `const a = ${this.elem(ins[0]!, ia)}, b = ${this.elem(ins[1]!, ib)}, y = ${at(y, 'i')};`;
      if (nu === n) {
        if (v.op === 'add' || (v.op === 'sub' && k === 0)) return `for (let i = 0; i < ${n}; i++) ${at(gx, 'i')} += ${at(gy, 'i')};`;
        if (v.op === 'sub') return `for (let i = 0; i < ${n}; i++) ${at(gx, 'i')} -= ${at(gy, 'i')};`;
        return `for (let i = 0; i < ${n}; i++) { const g = ${at(gy, 'i')}; ${reads} ${at(gx, 'i')} += g * (${d}); }`;
      }
      // (No product is skipped for a zero adjoint: 0 · ∞ must stay NaN, as in the reference.)
      // A scalar operand broadcast over the result: its adjoint sums over the elements.
      return `{ let s = 0; for (let i = 0; i < ${n}; i++) { const g = ${at(gy, 'i')}; ${reads} s += g * (${d}); } ${at(gx, '0')} += s; }`;
    }
    switch (v.op) {
      case 'matmul':
        return this.matmulBackward(v, k, gy, gx);
      case 'sum': {
        if (n === 1) return `{ const g = ${at(gy, '0')}; for (let i = 0; i < ${nu}; i++) ${at(gx, 'i')} += g; }`;
        const xs = this.graph.vertices[u]!.shape;
        const map = this.consts.add(reduceMap(xs, reduceAxes(v, xs)));
        return `for (let i = 0; i < ${nu}; i++) ${at(gx, 'i')} += ${at(gy, `${map}[i]`)};`;
      }
      case 'reduce_max':
      case 'reduce_min': {
        // The indicator of the extremal entries, divided by their count (ad/rules.ts).
        const xs = this.graph.vertices[u]!.shape;
        const map = this.consts.add(reduceMap(xs, reduceAxes(v, xs)));
        const x = this.val(u);
        return `{ const c = RS.subarray(0, ${n}); c.fill(0); for (let i = 0; i < ${nu}; i++) { const r = ${map}[i]; if (${at(x, 'i')} === ${at(y, 'r')}) c[r] += 1; }
  for (let i = 0; i < ${nu}; i++) { const r = ${map}[i]; if (${at(x, 'i')} === ${at(y, 'r')}) ${at(gx, 'i')} += ${at(gy, 'r')} / c[r]; } }`;
      }
      case 'reshape':
        return `for (let i = 0; i < ${n}; i++) ${at(gx, 'i')} += ${at(gy, 'i')};`;
      case 'broadcast':
      case 'transpose':
      case 'slice': {
        const map = this.consts.add(gatherMap(v, this.graph.vertices[u]!.shape));
        return `for (let i = 0; i < ${n}; i++) ${at(gx, `${map}[i]`)} += ${at(gy, 'i')};`;
      }
      case 'concat': {
        const axis = concatAxis(v);
        let offset = 0;
        for (let j = 0; j < k; j++) offset += this.graph.vertices[ins[j]!]!.shape[axis]!;
        const sc = this.consts.add(concatScatter(v.shape, this.graph.vertices[u]!.shape, axis, offset));
        return `for (let i = 0; i < ${nu}; i++) ${at(gx, 'i')} += ${at(gy, `${sc}[i]`)};`;
      }
      default:
        throw new Error(`the compiled trainer has no derivative code for op '${v.op}' (vertex ${v.id})`);
    }
  }

  private matmulBackward(v: Vertex, k: number, gy: Slot, gx: Slot): string {
    const { m, k: kk, n } = this.dims(v);
    const a = this.val(v.inputs[0]!);
    const c = this.val(v.inputs[1]!);
    if (k === 1) {
      // gC[l, j] += Σ_i A[i, l] gY[i, j]
      if (this.transposed.has(v.inputs[0]!) && n === 1) {
        const tr = `TR${v.inputs[0]!}`;
        return this.kernel(
          { k: 'mvT', m, kk, tr: v.inputs[0]!, gy, gx },
          `for (let l = 0; l < ${kk}; l++) { let s = 0; const o = l * ${m}; for (let i = 0; i < ${m}; i++) s += ${tr}[o + i] * ${at(gy, 'i')}; ${at(gx, 'l')} += s; }`,
        );
      }
      return `for (let l = 0; l < ${kk}; l++) for (let j = 0; j < ${n}; j++) { let s = 0; for (let i = 0; i < ${m}; i++) s += ${at(a, `i * ${kk} + l`)} * ${at(gy, `i * ${n} + j`)}; ${at(gx, `l * ${n} + j`)} += s; }`;
    }
    // gA[i, l] += Σ_j gY[i, j] C[l, j]
    if (n === 1) {
      // An outer product gY ⊗ c, skipping zero entries of c (spikes) — exact for a finite gY (0 · ∞ stays NaN).
      // As WebAssembly, the dense loop runs there where c has many nonzeros (a quarter or more).
      const body = (dense: string): string => `{
  let nz = 0; for (let l = 0; l < ${kk}; l++) if (${at(c, 'l')} !== 0) NZ[nz++] = l;
  ${dense ? `if (nz * 4 >= ${kk}) ${dense}\n  else ` : ''}for (let i = 0; i < ${m}; i++) { const g = ${at(gy, 'i')}; if (g === 0) continue; const o = i * ${kk};
    if (nz === ${kk} || !Number.isFinite(g)) { for (let l = 0; l < ${kk}; l++) ${at(gx, 'o + l')} += g * ${at(c, 'l')}; }
    else for (let q = 0; q < nz; q++) { const l = NZ[q]; ${at(gx, 'o + l')} += g * ${at(c, 'l')}; } }
}`;
      return this.kernel({ k: 'outer', m, kk, gy, c, gx }, body(''), body);
    }
    return `for (let i = 0; i < ${m}; i++) for (let l = 0; l < ${kk}; l++) { let s = 0; for (let j = 0; j < ${n}; j++) s += ${at(gy, `i * ${n} + j`)} * ${at(c, `l * ${n} + j`)}; ${at(gx, `i * ${kk} + l`)} += s; }`;
  }

  /** Local bindings of the table functions and surrogates the code calls (names bound in `env.fns`). */
  bindings(): string {
    const names = [...this.helpers];
    const lines = names.map((h) => `const ${h} = F.${h};`);
    for (const id of this.surrogates) lines.push(`const SG${id} = F.SG${id}, VS${id} = F.VS${id};`);
    return lines.join('\n');
  }
}

/** The forward cone of an equation: vertices it computes from its operands, stopping at `stops` (leaves, other equations' outputs). */
export function coneOf(graph: Graph, dst: number, stops: ReadonlySet<number>): Set<number> {
  const cone = new Set<number>([dst]);
  const todo = [dst];
  while (todo.length) {
    const v = todo.pop()!;
    if (v !== dst && stops.has(v)) continue;
    for (const u of graph.vertices[v]!.inputs) {
      if (!cone.has(u)) {
        cone.add(u);
        todo.push(u);
      }
    }
  }
  return cone;
}

export { broadcastAxes };

/**
 * Whether every partial on every path from `src` to `dst` within the cone is the same for all elements:
 * sums and differences (±1), negation, reshapes, and products or quotients by a single value (a scalar
 * constant, parameter or per-sample scalar). Then a diagonal block ∂dst/∂src — or the adjoint at `src` of a
 * sweep seeded with ones at `dst` — has one value repeated over its elements (e.g. ∂v[t+1]/∂v[t] = α·1, or
 * ∂v[t+1]/∂(W_rec @ z) = 1), which lets a trace be kept once per column instead of once per element.
 */
export function uniformPath(graph: Graph, cone: ReadonlySet<number>, src: number, dst: number): boolean {
  return pathKind(graph, cone, src, dst) !== null;
}

/** 'unit' when every partial on the paths is exactly 1 (sums, reshapes): the block is 1 in every element; 'uniform' as uniformPath; else null. */
export function pathKind(graph: Graph, cone: ReadonlySet<number>, src: number, dst: number): 'unit' | 'uniform' | null {
  const V = graph.vertices;
  if (sizeOf(V[src]!.shape) !== sizeOf(V[dst]!.shape)) return null;
  // Vertices of the cone reached from src (the cone is in topological order by id).
  const reached = new Set<number>([src]);
  const ids = [...cone].sort((a, b) => a - b);
  for (const v of ids) {
    if (v === src || !V[v]!.inputs.some((u) => reached.has(u))) continue;
    if (v !== dst && !cone.has(v)) continue;
    reached.add(v);
  }
  if (!reached.has(dst)) return null;
  let unit = true;
  const scalar = (u: number): boolean => sizeOf(V[u]!.shape) === 1;
  for (const v of reached) {
    if (v === src) continue;
    const vx = V[v]!;
    for (const [k, u] of vx.inputs.entries()) {
      if (!reached.has(u)) continue;
      const other = vx.inputs[1 - k];
      const ok =
        vx.op === 'add' ||
        vx.op === 'sub' ||
        vx.op === 'neg' ||
        vx.op === 'reshape' ||
        vx.op === 'stop' ||
        (vx.op === 'mul' && other !== undefined && !reached.has(other) && scalar(other) && sizeOf(vx.shape) === sizeOf(V[u]!.shape)) ||
        (vx.op === 'div' && k === 0 && other !== undefined && !reached.has(other) && scalar(other) && sizeOf(vx.shape) === sizeOf(V[u]!.shape));
      if (!ok) return null;
      if ((vx.op === 'add' || vx.op === 'sub') && sizeOf(V[u]!.shape) !== sizeOf(vx.shape)) return null;
      if (!(vx.op === 'add' || (vx.op === 'sub' && k === 0) || vx.op === 'reshape')) unit = false;
    }
  }
  // (A vertex reached along two paths adds their products: 2, not 1.)
  if (unit && [...reached].some((v) => v !== src && V[v]!.inputs.filter((u) => reached.has(u)).length > 1)) unit = false;
  return unit ? 'unit' : 'uniform';
}
