// Running a model forward in time on the Float64 evaluator: parameter
// initialisation, seeded data, and T steps of the step graph. This is the
// reference semantics that the TensorFlow.js runtime (train/) must match.

import type { Range } from '../lang/ast.js';
import type { ItemScope, ModelScope, Initialiser } from '../lang/symbols.js';
import { LOSS_WEIGHT, lossWeights } from '../lang/lossWindow.js';
import type { ModelStepGraph } from './build.js';
import { evaluate } from './evaluate.js';
import { Rng } from './random.js';
import { sizeOf, type Shape, type Tensor } from './types.js';
import { EligoError } from '../util/errors.js';

/** A param whose values come from data that was not loaded or does not fit: a user error with its location. */
export class ParamDataError extends EligoError {
  constructor(message: string, readonly range: Range) {
    super('graph.param-data', message);
  }
}

export function initialise(init: Initialiser, shape: Shape, rng: Rng): Tensor {
  const n = sizeOf(shape);
  const data = new Float64Array(n);
  switch (init.kind) {
    case 'normal':
      for (let i = 0; i < n; i++) data[i] = init.mean + init.std * rng.normal();
      break;
    case 'uniform':
      for (let i = 0; i < n; i++) data[i] = rng.uniform(init.lo, init.hi);
      break;
    case 'glorot': {
      // Glorot & Bengio 2010: U(±√(6/(fan_in + fan_out))), fan_out = rows, fan_in = columns.
      const fanOut = shape[0] ?? 1;
      const fanIn = shape.length > 1 ? sizeOf(shape.slice(1)) : 1;
      const a = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) data[i] = rng.uniform(-a, a);
      break;
    }
    case 'zeros':
      break;
    case 'data':
      // Loaded by interop/paramData.ts; a front door that did not load them must not run on made-up values.
      if (!init.values) throw new ParamDataError(`the values of data("${init.file}", "${init.dataset}") are not loaded`, init.range);
      if (init.values.length !== n) throw new ParamDataError(`data("${init.file}", "${init.dataset}") has ${init.values.length} values; the param has shape [${shape.join(', ')}] (${n})`, init.range);
      data.set(init.values);
      break;
  }
  return { shape, data };
}

/**
 * Sets the values of `data(…)` params from `values` (by param name), e.g. values
 * loaded by interop/paramData.ts in another thread. Returns the names set.
 */
export function attachParamValues(scopes: Iterable<ItemScope>, values: ReadonlyMap<string, Float64Array>): string[] {
  const set: string[] = [];
  for (const scope of scopes) {
    if (scope.kind !== 'model') continue;
    for (const [name, init] of scope.initialisers) {
      const v = values.get(name);
      if (init.kind === 'data' && v) {
        init.values = v;
        set.push(name);
      }
    }
  }
  return set;
}

/** The values of the `data(…)` params that are loaded, by param name: what engines that compile the text again are given. */
export function loadedParamValues(scopes: Iterable<ItemScope>): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const scope of scopes) {
    if (scope.kind !== 'model') continue;
    for (const [name, init] of scope.initialisers) if (init.kind === 'data' && init.values) out.set(name, init.values);
  }
  return out;
}

export function initialParams(scope: ModelScope, seed: number): Map<string, Tensor> {
  const rng = new Rng(seed);
  const out = new Map<string, Tensor>();
  for (const [name, sym] of scope.symbols) {
    if (sym.kind !== 'param') continue;
    out.set(name, initialise(scope.initialisers.get(name) ?? { kind: 'normal', mean: 0, std: 0.1 }, sym.shape, rng));
  }
  return out;
}

export function initialStates(scope: ModelScope): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, sym] of scope.symbols) {
    if (sym.kind !== 'state') continue;
    out.set(name, { shape: sym.shape, data: new Float64Array(sizeOf(sym.shape)).fill(scope.initialStates.get(name) ?? 0) });
  }
  // Delay registers start at their source's initial value (the state was at rest before t = 0), readouts as declared.
  for (const h of scope.hidden) out.set(h.name, { shape: h.shape, data: new Float64Array(sizeOf(h.shape)).fill(h.initial) });
  return out;
}

/**
 * The per-step loss weights w_t of a model whose loss has a window, as the
 * data of its `loss_weight` leaf; nothing for a loss that counts every step.
 * Throws LossWindowError when the window does not fit in `steps`.
 */
export function lossWeightData(scope: ModelScope, steps: number): Map<string, Tensor[]> {
  if (scope.lossWindow.kind === 'every' || !scope.loss) return new Map();
  const w = lossWeights(scope.lossWindow, steps);
  return new Map([[LOSS_WEIGHT, Array.from(w, (v) => ({ shape: [], data: Float64Array.of(v) }))]]);
}

/**
 * Random data: inputs ~ Bernoulli(0.2) spikes (scaled to 1), targets ~ N(0, 1); one tensor per step;
 * with the loss weights of a windowed loss.
 */
export function randomData(scope: ModelScope, steps: number, seed: number): Map<string, Tensor[]> {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const out = new Map<string, Tensor[]>();
  for (const [name, sym] of scope.symbols) {
    if (sym.kind !== 'input' && sym.kind !== 'target') continue;
    const seq: Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const data = new Float64Array(sizeOf(sym.shape));
      for (let i = 0; i < data.length; i++) data[i] = sym.kind === 'input' ? (rng.next() < 0.2 ? 1 : 0) : rng.normal();
      seq.push({ shape: sym.shape, data });
    }
    out.set(name, seq);
  }
  for (const [k, v] of lossWeightData(scope, steps)) out.set(k, v);
  return out;
}

export interface Trajectory {
  /** states[t] = the states after step t+1 (states[-1] is the initial state, not stored). */
  readonly states: Map<string, Tensor>[];
  readonly losses: number[];
  readonly totalLoss: number;
}

export function simulate(
  graph: ModelStepGraph,
  params: Map<string, Tensor>,
  data: Map<string, Tensor[]>,
  steps: number,
  start?: Map<string, Tensor>,
): Trajectory {
  const info = graph.model;
  let states = new Map(start ?? [...info.states].map((s) => [s.name, { shape: graph.vertices[s.leaf]!.shape, data: new Float64Array(sizeOf(graph.vertices[s.leaf]!.shape)) }]));
  const out: Map<string, Tensor>[] = [];
  const losses: number[] = [];
  for (let t = 0; t < steps; t++) {
    const leaves = new Map<number, Tensor>();
    for (const s of info.states) leaves.set(s.leaf, states.get(s.name)!);
    for (const p of info.params) leaves.set(p.leaf, params.get(p.name)!);
    for (const d of info.data) {
      const seq = data.get(d.name);
      if (!seq || !seq[t]) throw new Error(`no data for '${d.name}' at step ${t + 1}`);
      leaves.set(d.leaf, seq[t]!);
    }
    const values = evaluate(graph, leaves);
    states = new Map(info.states.map((s) => [s.name, values[s.next]!]));
    out.push(states);
    losses.push(info.loss !== undefined ? values[info.loss]!.data[0]! : 0);
  }
  return { states: out, losses, totalLoss: losses.reduce((a, b) => a + b, 0) };
}
