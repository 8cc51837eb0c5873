// Lowering a checked item to its computational graph: one vertex per
// elemental operation. Composite builtins (mse, softmax, cross_entropy, …)
// expand into elemental ops the way JAX tracing expands them for Graphax, so
// costs are comparable with the published ones. Constant sub-expressions fold
// into 'const' vertices, which carry no Jacobian edges (like jaxpr literals).
//
// The builder trusts the checker: it is only called on items without errors.

import type { Binary, Call, Expr, Index, Range, TimeRef, OdeEq, UpdateEq } from '../lang/ast.js';
import type { Checked, FunctionScope, ModelScope } from '../lang/symbols.js';
import { DEFAULT_SURROGATE_NAME, makeSurrogate, SURROGATE_KINDS } from '../lang/surrogates.js';
import { LOSS_WEIGHT, lossWeights } from '../lang/lossWindow.js';
import type { Attrs, Graph, Op, Shape, Surrogate, Vertex, VertexRole } from './types.js';
import { binaryForward, evaluate, unaryForward } from './evaluate.js';
import { sizeOf } from './types.js';
import { EligoError } from '../util/errors.js';

export class BuildError extends EligoError {
  constructor(
    message: string,
    readonly range: Range,
  ) {
    super('graph.build', message);
  }
}

/** The largest graph built (vertices): beyond it, a diagnostic instead of memory growth. */
export const MAX_GRAPH_VERTICES = 1_000_000;

type MutableVertex = { -readonly [K in keyof Vertex]: Vertex[K] };

/** The elementary functions: builtins that lower to one unary vertex and fold on constant operands. */
const ELEMENTARY = [
  'exp',
  'log',
  'sqrt',
  'abs',
  'sin',
  'cos',
  'tan',
  'asin',
  'acos',
  'atan',
  'sinh',
  'cosh',
  'tanh',
  'asinh',
  'acosh',
  'atanh',
  'log1p',
] as const;

/** Builtins that lower to one unary vertex: the elementary functions and the activations. */
const ELEMENTWISE_UNARY = new Set<string>([...ELEMENTARY, 'erf', 'sigmoid', 'relu', 'softplus']);

/**
 * Scalar functions used to fold constant operands: the evaluator's own definitions of every binary op,
 * negation and the elementary functions (erf, the activations, spike and stop keep their vertex).
 */
const FOLD: Readonly<Record<string, (...a: number[]) => number>> = {
  ...Object.fromEntries((['neg', ...ELEMENTARY] as const).map((op) => [op, unaryForward[op]])),
  ...binaryForward,
};

/** Assembles vertices; operands always precede users, so ids are a topological order. */
export class GraphAssembler {
  readonly vertices: MutableVertex[] = [];
  private readonly constCache = new Map<number, number>();
  group: string | undefined;
  step: number | undefined;

  leaf(op: 'input' | 'param' | 'state' | 'target', name: string, shape: Shape, range: Range): number {
    return this.push({ op, shape, inputs: [], attrs: {}, role: op, name, range });
  }

  constant(value: number, range: Range): number {
    const hit = this.constCache.get(value);
    if (hit !== undefined) return hit;
    const id = this.push({ op: 'const', shape: [], inputs: [], attrs: { value: new Float64Array([value]) }, role: 'const', range, name: formatConst(value) });
    this.constCache.set(value, id);
    return id;
  }

  constValue(id: number): number | undefined {
    const v = this.vertices[id]!;
    return v.op === 'const' && v.shape.length === 0 ? v.attrs.value![0] : undefined;
  }

  op(op: Op, inputs: number[], shape: Shape, range: Range, attrs: Attrs = {}): number {
    // Fold elementwise ops on scalar constants.
    const fold = FOLD[op];
    if (fold && inputs.every((i) => this.constValue(i) !== undefined)) {
      return this.constant(fold(...inputs.map((i) => this.constValue(i)!)), range);
    }
    if (op === 'powc' && this.constValue(inputs[0]!) !== undefined) {
      return this.constant(this.constValue(inputs[0]!)! ** attrs.exponent!, range);
    }
    // Any other op on constants only (stack(1, 1), a broadcast of a literal)
    // is a constant tensor too, as a traced jaxpr would hold it.
    if (inputs.length > 0 && op !== 'spike' && op !== 'stop' && inputs.every((i) => this.vertices[i]!.op === 'const')) {
      return this.tensorConstant(op, inputs, shape, range, attrs);
    }
    return this.push({ op, shape, inputs, attrs, role: 'op', range });
  }

  private tensorConstant(op: Op, inputs: number[], shape: Shape, range: Range, attrs: Attrs): number {
    const leaves = inputs.map((i, k) => ({ ...this.vertices[i]!, id: k, inputs: [] as number[] }));
    const tiny: Graph = {
      name: 'fold',
      kind: 'function',
      inputs: [],
      outputs: [inputs.length],
      vertices: [...leaves, { id: inputs.length, op, shape, inputs: inputs.map((_, k) => k), attrs, role: 'op', range }],
    };
    const value = evaluate(tiny, new Map())[inputs.length]!;
    if (shape.length === 0) return this.constant(value.data[0]!, range);
    return this.push({ op: 'const', shape, inputs: [], attrs: { value: value.data }, role: 'const', range, name: 'const' });
  }

  shapeOf(id: number): Shape {
    return this.vertices[id]!.shape;
  }

  /** Mark `id` as a named quantity; a leaf or an already named/roled vertex is copied first. */
  name(id: number, name: string, role: VertexRole, range: Range): number {
    let v = this.vertices[id]!;
    if (v.role !== 'op' || v.name !== undefined) {
      id = this.push({ op: 'reshape', shape: v.shape, inputs: [id], attrs: { shape: v.shape }, role: 'op', range });
      v = this.vertices[id]!;
    }
    v.name = name;
    v.role = role;
    return id;
  }

  /**
   * Drop constants that folding left without users and renumber the rest
   * (order is kept, so ids stay topological). Returns the old → new id map.
   */
  compact(): (id: number) => number {
    const used = new Set<number>();
    for (const v of this.vertices) for (const i of v.inputs) used.add(i);
    const map = new Int32Array(this.vertices.length).fill(-1);
    const kept: MutableVertex[] = [];
    for (const v of this.vertices) {
      if (v.op === 'const' && !used.has(v.id)) continue;
      map[v.id] = kept.length;
      kept.push(v);
    }
    for (const v of kept) {
      v.id = map[v.id]!;
      v.inputs = v.inputs.map((i) => map[i]!);
    }
    this.vertices.length = 0;
    this.vertices.push(...kept);
    this.constCache.clear();
    return (id) => {
      const m = map[id]!;
      if (m < 0) throw new Error(`vertex ${id} was removed by compaction`);
      return m;
    };
  }

  private push(v: Omit<MutableVertex, 'id'>): number {
    const id = this.vertices.length;
    // A graph this large would take the editor's memory, not analyse: refused with its size (issue 12).
    if (id >= MAX_GRAPH_VERTICES)
      throw new BuildError(
        `the graph has more than ${MAX_GRAPH_VERTICES.toLocaleString('en-US')} vertices, more than Eligo analyses; split the item or unroll fewer steps`,
        v.range,
      );
    const full: MutableVertex = { id, ...v };
    if (this.group !== undefined && full.group === undefined) full.group = this.group;
    if (this.step !== undefined) full.step = this.step;
    this.vertices.push(full);
    return id;
  }
}

function formatConst(v: number): string {
  return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

/** Per-item lowering context: what each name means right now. */
interface LowerEnv {
  readonly names: Map<string, number>;
  /** The model's surrogates by name (`spike` and any `surrogate NAME = …`). */
  readonly surrogates?: ReadonlyMap<string, Surrogate>;
  readonly checked: Checked;
  /** A model step: the readouts over time, and where their next values are recorded. */
  readonly readouts?: ReadonlyMap<Call, string>;
  readonly hiddenNext?: Map<string, number>;
  readonly stepCount?: string;
}

function unsupported(e: { range: Range }, what: string): never {
  throw new BuildError(`cannot build the graph: ${what}`, e.range);
}

// ---------------------------------------------------------------- expressions

export function lower(g: GraphAssembler, e: Expr, env: LowerEnv): number {
  switch (e.kind) {
    case 'number':
      return g.constant(e.value, e.range);
    case 'name': {
      const id = env.names.get(e.name);
      if (id !== undefined) return id;
      const sym = env.checked.references.get(e);
      if (sym?.value !== undefined) return g.constant(sym.value, e.range);
      return unsupported(e, `'${e.name}' has no value here`);
    }
    case 'time':
      return lowerTime(e, env);
    case 'unary': {
      const x = lower(g, e.operand, env);
      return e.op === '+' ? x : g.op('neg', [x], g.shapeOf(x), e.range);
    }
    case 'binary':
      return lowerBinary(g, e, env);
    case 'index':
      return lowerIndex(g, e, env);
    case 'call':
      return lowerCall(g, e, env);
    case 'list':
    case 'error':
      return unsupported(e, 'an ill-formed expression');
  }
}

function lowerTime(e: TimeRef, env: LowerEnv): number {
  // z[t-k] / x[t+1-k] read the delay registers, keyed by the step they hold (z@-k, x@(1-k)).
  const k = e.delay ? (env.checked.constants.get(e.delay) ?? NaN) : 0;
  const at = e.offset - k;
  const id = env.names.get(`${e.name.name}@${at}`) ?? (at === 0 ? env.names.get(e.name.name) : undefined);
  if (id === undefined) return unsupported(e, `'${e.name.name}[t${at > 0 ? `+${at}` : at < 0 ? at : ''}]' has no value here`);
  return id;
}

function broadcastShape(a: Shape, b: Shape): Shape {
  return a.length === 0 ? b : a;
}

function elementwise(g: GraphAssembler, op: Op, a: number, b: number, range: Range): number {
  return g.op(op, [a, b], broadcastShape(g.shapeOf(a), g.shapeOf(b)), range);
}

function matmulShape(a: Shape, b: Shape): Shape {
  return [...(a.length === 2 ? [a[0]!] : []), ...(b.length === 2 ? [b[1]!] : [])];
}

function lowerPow(g: GraphAssembler, base: number, exponent: Expr, exponentId: number, range: Range): number {
  const k = g.constValue(exponentId);
  if (k !== undefined) {
    if (k === 1) return base;
    return g.op('powc', [base], g.shapeOf(base), range, { exponent: k });
  }
  void exponent;
  return elementwise(g, 'pow', base, exponentId, range);
}

function lowerBinary(g: GraphAssembler, e: Binary, env: LowerEnv): number {
  const a = lower(g, e.left, env);
  const b = lower(g, e.right, env);
  switch (e.op) {
    case '+':
      return elementwise(g, 'add', a, b, e.range);
    case '-':
      return elementwise(g, 'sub', a, b, e.range);
    case '*':
      return elementwise(g, 'mul', a, b, e.range);
    case '/':
      return elementwise(g, 'div', a, b, e.range);
    case '^':
      return lowerPow(g, a, e.right, b, e.range);
    case '@':
      return g.op('matmul', [a, b], matmulShape(g.shapeOf(a), g.shapeOf(b)), e.range);
  }
}

function foldInt(e: Expr, env: LowerEnv): number {
  const v = env.checked.constants.get(e);
  if (v === undefined) return unsupported(e, 'a subscript that is not a constant');
  return v;
}

function lowerIndex(g: GraphAssembler, e: Index, env: LowerEnv): number {
  const x = lower(g, e.target, env);
  const shape = g.shapeOf(x);
  const starts: number[] = [];
  const ends: number[] = [];
  const squeeze: number[] = [];
  const out: number[] = [];
  shape.forEach((size, ax) => {
    const sub = e.subscripts[ax];
    if (!sub) {
      starts.push(0);
      ends.push(size);
      out.push(size);
    } else if (sub.kind === 'at') {
      let i = foldInt(sub.index, env);
      if (i < 0) i += size;
      starts.push(i);
      ends.push(i + 1);
      squeeze.push(ax);
    } else {
      let lo = sub.start ? foldInt(sub.start, env) : 0;
      let hi = sub.end ? foldInt(sub.end, env) : size;
      if (lo < 0) lo += size;
      if (hi < 0) hi += size;
      starts.push(lo);
      ends.push(hi);
      out.push(hi - lo);
    }
  });
  return g.op('slice', [x], out, e.range, { starts, ends, squeeze });
}

function axisOf(e: Call, rank: number, env: LowerEnv): number | undefined {
  const arg = e.named.find((a) => a.name.name === 'axis');
  if (!arg) return undefined;
  const v = foldInt(arg.value, env);
  return v < 0 ? v + rank : v;
}

function reduce(g: GraphAssembler, op: 'sum' | 'reduce_max' | 'reduce_min', x: number, axis: number | undefined, range: Range): number {
  const shape = g.shapeOf(x);
  if (shape.length === 0) return x;
  const out = axis === undefined ? [] : shape.filter((_, i) => i !== axis);
  return g.op(op, [x], out, range, axis === undefined ? {} : { axes: [axis] });
}

/** Broadcast a reduced value back along `axis` (keepdims), unless it is a scalar (implicit). */
function expand(g: GraphAssembler, reduced: number, shape: Shape, axis: number | undefined, range: Range): number {
  if (g.shapeOf(reduced).length === 0) return reduced;
  const axes = shape.map((_, i) => i).filter((i) => i !== axis);
  return g.op('broadcast', [reduced], shape, range, { shape, axes });
}

/** Stable log-sum-exp along `axis` (all axes when undefined), as jax.nn.logsumexp. */
function logsumexp(g: GraphAssembler, x: number, axis: number | undefined, range: Range): number {
  const shape = g.shapeOf(x);
  const m = g.op('stop', [reduce(g, 'reduce_max', x, axis, range)], axis === undefined ? [] : shape.filter((_, i) => i !== axis), range);
  const shifted = elementwise(g, 'sub', x, expand(g, m, shape, axis, range), range);
  const s = reduce(g, 'sum', g.op('exp', [shifted], shape, range), axis, range);
  return elementwise(g, 'add', g.op('log', [s], g.shapeOf(s), range), m, range);
}

function lowerCall(g: GraphAssembler, e: Call, env: LowerEnv): number {
  const name = e.callee.name;
  const r = e.range;
  if (name === 'reshape') {
    const x = lower(g, e.args[0]!, env);
    const shape = env.checked.shapes.get(e)!;
    return g.op('reshape', [x], shape, r, { shape });
  }
  if (name === 'transpose') {
    const x = lower(g, e.args[0]!, env);
    const shape = g.shapeOf(x);
    if (shape.length < 2) return x;
    const list = e.args[1];
    const perm = list && list.kind === 'list' ? list.items.map((i) => foldInt(i, env)) : shape.map((_, i) => shape.length - 1 - i);
    return g.op(
      'transpose',
      [x],
      perm.map((p) => shape[p]!),
      r,
      { perm },
    );
  }
  const args = e.args.map((a) => lower(g, a, env));
  const x = args[0]!;
  const xs = g.shapeOf(x);
  const surrogate = env.surrogates?.get(name);
  if (surrogate) return g.op('spike', [x], xs, r, { surrogate });
  if (ELEMENTWISE_UNARY.has(name)) return g.op(name as Op, [x], xs, r);
  switch (name) {
    case 'atan2':
      return elementwise(g, 'atan2', args[0]!, args[1]!, r);
    case 'pow':
      return lowerPow(g, args[0]!, e.args[1]!, args[1]!, r);
    case 'max':
    case 'min':
      if (args.length === 2) return elementwise(g, name, args[0]!, args[1]!, r);
      return reduce(g, name === 'max' ? 'reduce_max' : 'reduce_min', x, axisOf(e, xs.length, env), r);
    case 'sum':
      return reduce(g, 'sum', x, axisOf(e, xs.length, env), r);
    case 'mean': {
      const axis = axisOf(e, xs.length, env);
      const count = axis === undefined ? sizeOf(xs) : xs[axis]!;
      const s = reduce(g, 'sum', x, axis, r);
      return count === 1 ? s : elementwise(g, 'div', s, g.constant(count, r), r);
    }
    case 'logsumexp':
      return logsumexp(g, x, axisOf(e, xs.length, env), r);
    case 'softmax': {
      if (xs.length === 0) return g.constant(1, r);
      const axis = axisOf(e, xs.length, env) ?? xs.length - 1;
      const m = g.op(
        'stop',
        [reduce(g, 'reduce_max', x, axis, r)],
        xs.filter((_, i) => i !== axis),
        r,
      );
      const ex = g.op('exp', [elementwise(g, 'sub', x, expand(g, m, xs, axis, r), r)], xs, r);
      return elementwise(g, 'div', ex, expand(g, reduce(g, 'sum', ex, axis, r), xs, axis, r), r);
    }
    case 'dot':
      return g.op('matmul', [args[0]!, args[1]!], [], r);
    case 'outer': {
      const [m, n] = [xs[0]!, g.shapeOf(args[1]!)[0]!];
      const a = g.op('broadcast', [args[0]!], [m, n], r, { shape: [m, n], axes: [0] });
      const b = g.op('broadcast', [args[1]!], [m, n], r, { shape: [m, n], axes: [1] });
      return elementwise(g, 'mul', a, b, r);
    }
    case 'stack': {
      const parts = args.map((a) => {
        const s = g.shapeOf(a);
        return g.op('reshape', [a], [1, ...s], r, { shape: [1, ...s] });
      });
      const shape = [args.length, ...xs];
      return g.op('concat', parts, shape, r, { axis: 0 });
    }
    case 'spike': {
      // Only reached without a declared `spike` surrogate (the checker reports that): the default kind.
      const d = SURROGATE_KINDS.get('fast_sigmoid')!;
      return g.op('spike', [x], xs, r, { surrogate: makeSurrogate('fast_sigmoid', d.default, 1, DEFAULT_SURROGATE_NAME) });
    }
    case 'stop':
      return g.op('stop', [x], xs, r);
    case 'max_over_time':
    case 'mean_over_time':
      return lowerReadout(g, e, x, env);
    case 'mse': {
      const d = elementwise(g, 'sub', args[0]!, args[1]!, r);
      const ds = g.shapeOf(d);
      const s = reduce(g, 'sum', g.op('powc', [d], ds, r, { exponent: 2 }), undefined, r);
      const count = sizeOf(ds);
      return count === 1 ? s : elementwise(g, 'div', s, g.constant(count, r), r);
    }
    case 'cross_entropy': {
      const given = axisOf(e, xs.length, env);
      const axis = given ?? xs.length - 1;
      const lse = logsumexp(g, x, axis, r);
      const logp = elementwise(g, 'sub', x, expand(g, lse, xs, axis, r), r);
      const s = reduce(g, 'sum', elementwise(g, 'mul', args[1]!, logp, r), given, r);
      return g.op('neg', [s], g.shapeOf(s), r);
    }
    default:
      return unsupported(e.callee, `'${name}' cannot appear here`);
  }
}

/**
 * A readout over time is a state of its own (lang/check.ts hiddenStates):
 * the running max m[t+1] = max(m, x), or the running mean
 * m[t+1] = m + (x − m) / c[t+1] with the step counter c[t+1] = c + 1.
 */
function lowerReadout(g: GraphAssembler, e: Call, x: number, env: LowerEnv): number {
  const name = env.readouts?.get(e);
  const leaf = name !== undefined ? env.names.get(name) : undefined;
  if (name === undefined || leaf === undefined || !env.hiddenNext) return unsupported(e, `'${e.callee.name}' is only meaningful in a model step`);
  const r = e.range;
  const xs = g.shapeOf(x);
  let next: number;
  if (e.callee.name === 'max_over_time') {
    next = elementwise(g, 'max', leaf, x, r);
  } else {
    const count = env.stepCount !== undefined ? env.hiddenNext.get(env.stepCount) : undefined;
    if (count === undefined) return unsupported(e, 'the step counter of a running mean is missing');
    const delta = elementwise(g, 'sub', x, leaf, r);
    next = elementwise(g, 'add', leaf, elementwise(g, 'div', delta, count, r), r);
  }
  if (g.shapeOf(next).length !== xs.length) next = g.op('broadcast', [next], xs, r, { shape: xs, axes: [] });
  next = g.name(next, `${name}[t+1]`, 'state-next', r);
  env.hiddenNext.set(name, next);
  return next;
}

// ---------------------------------------------------------------- functions

export function buildFunction(checked: Checked, scope: FunctionScope): Graph {
  const g = new GraphAssembler();
  const names = new Map<string, number>();
  const inputs: number[] = [];
  for (const p of scope.item.params) {
    const sym = scope.symbols.get(p.name.name)!;
    const id = g.leaf('input', p.name.name, sym.shape, p.name.range);
    names.set(p.name.name, id);
    inputs.push(id);
  }
  const env: LowerEnv = { names, checked };
  for (const stmt of scope.item.body) {
    if (stmt.kind !== 'let') continue;
    g.group = stmt.name.name;
    const id = lower(g, stmt.value, env);
    const v = g.vertices[id]!;
    if (v.role === 'op' && v.name === undefined) v.name = stmt.name.name;
    names.set(stmt.name.name, id);
  }
  g.group = 'return';
  const outputs: number[] = [];
  const values = scope.item.returns?.values ?? [];
  values.forEach((e, k) => {
    let id = lower(g, e, env);
    const label = e.kind === 'name' ? e.name : values.length === 1 ? 'out' : `out${k}`;
    const v = g.vertices[id]!;
    if (v.role !== 'op' || outputs.includes(id)) id = g.name(id, label, 'output', e.range);
    else {
      v.role = 'output';
      v.name ??= label;
    }
    outputs.push(id);
  });
  const m = g.compact();
  return { name: scope.item.name.name, kind: 'function', vertices: g.vertices, inputs: inputs.map(m), outputs: outputs.map(m) };
}

// ---------------------------------------------------------------- models

export interface ModelGraphInfo {
  readonly states: readonly { readonly name: string; readonly leaf: number; readonly next: number }[];
  readonly params: readonly { readonly name: string; readonly leaf: number }[];
  /** Data leaves: the model's inputs and targets, and `loss_weight` (w_t) when the loss has a window. */
  readonly data: readonly { readonly name: string; readonly leaf: number; readonly role: 'input' | 'target' | 'weight' }[];
  readonly loss?: number;
}

export interface ModelStepGraph extends Graph {
  readonly kind: 'model-step';
  readonly model: ModelGraphInfo;
}

export interface UnrolledGraph extends Graph {
  readonly kind: 'model-unrolled';
  readonly steps: number;
  /** Per step: the step's state-next ids, data leaves and loss id. */
  readonly perStep: readonly ModelGraphInfo[];
  readonly params: readonly { readonly name: string; readonly leaf: number }[];
  /** Initial state leaves (data: not differentiated). */
  readonly initialStates: readonly { readonly name: string; readonly leaf: number }[];
  /** Sum of the per-step losses. */
  readonly totalLoss?: number;
}

/**
 * Lower one time step of `scope` into `g`, with states at t given by
 * `stateIds`. `lossWeight` is the step's w_t when known (an unrolled graph),
 * or 'leaf' for a data leaf (the step graph of a model whose loss has a window).
 */
function lowerStep(
  g: GraphAssembler,
  checked: Checked,
  scope: ModelScope,
  stateIds: Map<string, number>,
  paramIds: Map<string, number>,
  lossWeight: number | 'leaf' = 1,
): ModelGraphInfo {
  const names = new Map<string, number>();
  const data: { name: string; leaf: number; role: 'input' | 'target' | 'weight' }[] = [];
  for (const [name, id] of paramIds) names.set(name, id);
  for (const [name, id] of stateIds) {
    names.set(name, id);
    names.set(`${name}@0`, id);
  }
  for (const [name, sym] of scope.symbols) {
    if (sym.kind === 'input' || sym.kind === 'target') {
      const id = g.leaf(sym.kind, name, sym.shape, sym.decl);
      names.set(name, id);
      names.set(`${name}@1`, id);
      data.push({ name, leaf: id, role: sym.kind });
    }
  }
  const next = new Map<string, number>();
  // Delay lines shift by one register per step: d1[t+1] = z[t] (or x[t+1]), dk[t+1] = d(k−1)[t].
  let stepCount: string | undefined;
  for (const h of scope.hidden) {
    if (h.kind === 'delay') {
      const at = h.sourceRole === 'state' ? -h.depth : 1 - h.depth;
      names.set(`${h.source}@${at}`, stateIds.get(h.name)!);
      const from =
        h.depth === 1 ? names.get(h.sourceRole === 'state' ? `${h.source}@0` : `${h.source}@1`)! : stateIds.get(delayName(scope, h.source, h.depth - 1))!;
      g.group = `delay ${h.source}`;
      next.set(h.name, g.name(from, `${h.name}[t+1]`, 'state-next', h.range));
    } else if (h.kind === 'count') {
      g.group = 'step count';
      stepCount = h.name;
      next.set(h.name, g.name(elementwise(g, 'add', stateIds.get(h.name)!, g.constant(1, h.range), h.range), `${h.name}[t+1]`, 'state-next', h.range));
    } else {
      names.set(h.name, stateIds.get(h.name)!);
    }
  }
  g.group = undefined;
  const env: LowerEnv = {
    names,
    checked,
    surrogates: scope.surrogates,
    readouts: scope.readouts,
    hiddenNext: next,
    ...(stepCount !== undefined ? { stepCount } : {}),
  };
  for (const eq of scope.order) {
    if (eq.kind === 'let') {
      g.group = eq.name.name;
      const id = lower(g, eq.value, env);
      const v = g.vertices[id]!;
      if (v.role === 'op' && v.name === undefined) v.name = eq.name.name;
      names.set(eq.name.name, id);
      continue;
    }
    const name = eq.target.name;
    g.group = `${name}[t+1]`;
    let id = eq.kind === 'ode' ? lowerOde(g, eq, scope, env, stateIds.get(name)!) : lower(g, eq.value, env);
    const shape = scope.symbols.get(name)!.shape;
    if (g.shapeOf(id).length !== shape.length) id = g.op('broadcast', [id], shape, eq.value.range, { shape, axes: [] });
    id = g.name(id, `${name}[t+1]`, 'state-next', eq.range);
    next.set(name, id);
    names.set(`${name}@1`, id);
  }
  let loss: number | undefined;
  if (scope.loss && lossWeight !== 0) {
    g.group = 'loss';
    let l = lower(g, scope.loss, env);
    if (lossWeight === 'leaf') {
      // w_t · loss_t: the weight is data (no Jacobian edge), given per step like an input.
      const w = g.leaf('input', LOSS_WEIGHT, [], scope.lossWindow.kind === 'every' ? scope.loss.range : scope.lossWindow.range);
      data.push({ name: LOSS_WEIGHT, leaf: w, role: 'weight' });
      l = elementwise(g, 'mul', w, l, scope.loss.range);
    } else if (lossWeight !== 1) {
      l = elementwise(g, 'mul', g.constant(lossWeight, scope.loss.range), l, scope.loss.range);
    }
    loss = g.name(l, 'loss', 'loss', scope.loss.range);
  }
  g.group = undefined;
  const states = [...stateIds].map(([name, leaf]) => ({ name, leaf, next: next.get(name) ?? leaf }));
  return { states, params: [...paramIds].map(([name, leaf]) => ({ name, leaf })), data, ...(loss !== undefined ? { loss } : {}) };
}

/** The register of `source`'s delay line that holds it `depth` steps back. */
function delayName(scope: ModelScope, source: string, depth: number): string {
  const h = scope.hidden.find((x) => x.kind === 'delay' && x.source === source && x.depth === depth);
  if (!h) throw new BuildError(`internal: no register ${depth} of the delay of '${source}'`, scope.item.name.range);
  return h.name;
}

function modelLeaves(g: GraphAssembler, scope: ModelScope): { stateIds: Map<string, number>; paramIds: Map<string, number> } {
  const stateIds = new Map<string, number>();
  const paramIds = new Map<string, number>();
  for (const [name, sym] of scope.symbols) {
    if (sym.kind === 'state') stateIds.set(name, g.leaf('state', name, sym.shape, sym.decl));
  }
  // States Eligo adds (delay registers, readouts over time) follow the model's own.
  for (const h of scope.hidden) {
    g.group = h.kind === 'delay' ? `delay ${h.source}` : h.kind === 'count' ? 'step count' : h.name;
    stateIds.set(h.name, g.leaf('state', h.name, h.shape, h.range));
  }
  g.group = undefined;
  for (const [name, sym] of scope.symbols) {
    if (sym.kind === 'param') paramIds.set(name, g.leaf('param', name, sym.shape, sym.decl));
  }
  return { stateIds, paramIds };
}

export function buildModelStep(checked: Checked, scope: ModelScope): ModelStepGraph {
  const g = new GraphAssembler();
  const { stateIds, paramIds } = modelLeaves(g, scope);
  const raw = lowerStep(g, checked, scope, stateIds, paramIds, scope.lossWindow.kind === 'every' ? 1 : 'leaf');
  const m = g.compact();
  const info = remapInfo(raw, m);
  const outputs = [...info.states.filter((s) => s.next !== s.leaf).map((s) => s.next), ...(info.loss !== undefined ? [info.loss] : [])];
  return {
    name: scope.item.name.name,
    kind: 'model-step',
    vertices: g.vertices,
    inputs: [...stateIds.values(), ...paramIds.values()].map(m),
    outputs,
    model: info,
  };
}

/** The model unrolled over T steps: states of step t+1 read step t's next states. */
export function unrollModel(checked: Checked, scope: ModelScope, steps: number): UnrolledGraph {
  const g = new GraphAssembler();
  g.step = 0;
  const { stateIds, paramIds } = modelLeaves(g, scope);
  const perStep: ModelGraphInfo[] = [];
  let current = stateIds;
  let total: number | undefined;
  const weights = lossWeights(scope.lossWindow, steps);
  for (let t = 0; t < steps; t++) {
    g.step = t;
    const info = lowerStep(g, checked, scope, current, paramIds, weights[t]);
    perStep.push(info);
    current = new Map(info.states.map((s) => [s.name, s.next]));
    // Steps outside the loss window add nothing to the total.
    if (info.loss !== undefined && weights[t] !== 0) {
      g.group = 'loss';
      total = total === undefined ? info.loss : g.op('add', [total, info.loss], [], scope.loss!.range);
      g.group = undefined;
    }
  }
  if (total !== undefined && steps > 1) total = g.name(total, 'L', 'output', scope.loss!.range);
  const m = g.compact();
  const leaves = (xs: Map<string, number>): { name: string; leaf: number }[] => [...xs].map(([name, leaf]) => ({ name, leaf: m(leaf) }));
  return {
    name: scope.item.name.name,
    kind: 'model-unrolled',
    vertices: g.vertices,
    steps,
    inputs: [...paramIds.values()].map(m),
    outputs: total !== undefined ? [m(total)] : [],
    perStep: perStep.map((p) => remapInfo(p, m)),
    params: leaves(paramIds),
    initialStates: leaves(stateIds),
    ...(total !== undefined ? { totalLoss: m(total) } : {}),
  };
}

function remapInfo(info: ModelGraphInfo, m: (id: number) => number): ModelGraphInfo {
  return {
    states: info.states.map((s) => ({ name: s.name, leaf: m(s.leaf), next: m(s.next) })),
    params: info.params.map((p) => ({ name: p.name, leaf: m(p.leaf) })),
    data: info.data.map((d) => ({ name: d.name, leaf: m(d.leaf), role: d.role })),
    ...(info.loss !== undefined ? { loss: m(info.loss) } : {}),
  };
}

// ---------------------------------------------------------------- ODEs

/** An affine decomposition a·u + Σ scale·term of an ODE right-hand side in its own state u. */
interface Affine {
  coef: number;
  terms: { scale: number; expr: Expr }[];
}

function affineIn(e: Expr, u: string, env: LowerEnv): Affine | undefined {
  const isU = (x: Expr): boolean => (x.kind === 'name' && x.name === u) || (x.kind === 'time' && x.name.name === u && x.offset === 0);
  const mentions = (x: Expr): boolean => {
    let found = false;
    const visit = (y: Expr): void => {
      if (found) return;
      if (isU(y)) {
        found = true;
        return;
      }
      switch (y.kind) {
        case 'unary':
          visit(y.operand);
          break;
        case 'binary':
          visit(y.left);
          visit(y.right);
          break;
        case 'call':
          y.args.forEach(visit);
          break;
        case 'index':
          visit(y.target);
          break;
        default:
          break;
      }
    };
    visit(x);
    return found;
  };
  const scale = (a: Affine, k: number): Affine => ({ coef: a.coef * k, terms: a.terms.map((t) => ({ scale: t.scale * k, expr: t.expr })) });
  const go = (x: Expr): Affine | undefined => {
    if (isU(x)) return { coef: 1, terms: [] };
    if (!mentions(x)) return { coef: 0, terms: [{ scale: 1, expr: x }] };
    if (x.kind === 'unary') {
      const a = go(x.operand);
      return a && (x.op === '-' ? scale(a, -1) : a);
    }
    if (x.kind === 'binary') {
      const c = (y: Expr): number | undefined => env.checked.constants.get(y);
      if (x.op === '+' || x.op === '-') {
        const a = go(x.left);
        const b = go(x.right);
        if (!a || !b) return undefined;
        const bb = x.op === '-' ? scale(b, -1) : b;
        return { coef: a.coef + bb.coef, terms: [...a.terms, ...bb.terms] };
      }
      if (x.op === '*') {
        const [k, other] = c(x.left) !== undefined ? [c(x.left)!, x.right] : c(x.right) !== undefined ? [c(x.right)!, x.left] : [undefined, x];
        if (k === undefined) return undefined;
        const a = go(other);
        return a && scale(a, k);
      }
      if (x.op === '/' && c(x.right) !== undefined) {
        const a = go(x.left);
        return a && scale(a, 1 / c(x.right)!);
      }
    }
    return undefined;
  };
  return go(e);
}

/**
 * `du/dt = f(u, …)`. When f = a·u + b(…) with a constant a, the step is
 * exact: u[t+1] = e^{a·dt}·u + (e^{a·dt} − 1)/a · b, which is the graph of
 * the hand-written discrete update (LIF: α·u + (1 − α)·I). Otherwise forward
 * Euler: u[t+1] = u + dt·f.
 */
function lowerOde(g: GraphAssembler, eq: OdeEq | UpdateEq, scope: ModelScope, env: LowerEnv, u: number): number {
  const dt = scope.symbols.get('dt')?.value ?? 1;
  const r = eq.value.range;
  const affine = affineIn(eq.value, eq.target.name, env);
  if (!affine) {
    const f = lower(g, eq.value, env);
    return elementwise(g, 'add', u, elementwise(g, 'mul', g.constant(dt, r), f, r), r);
  }
  const decay = Math.exp(affine.coef * dt);
  const gain = affine.coef === 0 ? dt : (decay - 1) / affine.coef;
  let acc: number | undefined = decay === 1 ? u : elementwise(g, 'mul', g.constant(decay, r), u, r);
  for (const t of affine.terms) {
    const k = gain * t.scale;
    const x = lower(g, t.expr, env);
    const term = k === 1 ? x : elementwise(g, 'mul', g.constant(k, t.expr.range), x, t.expr.range);
    acc = elementwise(g, 'add', acc, term, r);
  }
  return acc;
}
