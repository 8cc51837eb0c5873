// The Float64 reference executor of an online update program (program.ts):
// every step, blocks → learning signals → traces → updates. The kernels
// below are the contractions of program.ts's table of layouts; the
// TensorFlow.js trainer implements the same ones on tensors.

import { sizeOf, type Shape, type Tensor } from '../graph/types.js';
import type { StepEvaluator, StepPoint } from './blocks.js';
import type { BlockForm, BlockSpec, BlockValues, OnlineProgram, TraceStorage } from './program.js';
import { feedbackMatrix, quantizeTrace } from './kinds.js';
import { keepPattern } from './topk.js';
import { EligoError } from '../util/errors.js';

/** A trace-like value: a sensitivity d(state)/d(param) in one of the trace storages. */
export interface TraceValue {
  readonly storage: TraceStorage;
  readonly values: Float64Array;
}

/** Sizes of a state–parameter pair: J = state size, P = the parameter's first axis (1 for a scalar), R = the rest. */
export interface PairDims {
  readonly J: number;
  readonly P: number;
  readonly R: number;
}

export function pairDims(stateShape: Shape, paramShape: Shape): PairDims {
  return { J: sizeOf(stateShape), P: paramShape.length ? paramShape[0]! : 1, R: paramShape.length ? sizeOf(paramShape.slice(1)) : 1 };
}

const RANK: Record<TraceStorage, number> = { shared: 0, row: 1, dense: 2 };

/** A parameter block F (its form) read as a trace value. */
export function blockAsTrace(form: BlockForm, values: Float64Array): TraceValue {
  switch (form) {
    case 'scalar':
    case 'shared':
      return { storage: 'shared', values };
    case 'diagonal':
    case 'row':
      return { storage: 'row', values };
    case 'dense':
      return { storage: 'dense', values };
  }
}

/** E · G for a state-to-state block E (scalar, diagonal or dense, out size A) and a trace of state b (dims d). */
export function blockTimesTrace(form: BlockForm, e: Float64Array, A: number, g: TraceValue, d: PairDims): TraceValue {
  const { J, P, R } = d;
  const v = g.values;
  if (form === 'scalar') {
    const c = e[0]!;
    const out = new Float64Array(v.length);
    for (let k = 0; k < v.length; k++) out[k] = c * v[k]!;
    return { storage: g.storage, values: out };
  }
  if (form === 'diagonal') {
    if (g.storage === 'dense') {
      const out = new Float64Array(v.length);
      const m = P * R;
      for (let j = 0; j < J; j++) {
        const dj = e[j]!;
        for (let q = 0; q < m; q++) out[j * m + q] = dj * v[j * m + q]!;
      }
      return { storage: 'dense', values: out };
    }
    const out = new Float64Array(J * R);
    for (let j = 0; j < J; j++) {
      const dj = e[j]!;
      const off = g.storage === 'row' ? j * R : 0;
      for (let r = 0; r < R; r++) out[j * R + r] = dj * v[off + r]!;
    }
    return { storage: 'row', values: out };
  }
  if (form !== 'dense') throw new Error(`a ${form} block between states`);
  // Dense E [A, J].
  const out = new Float64Array(A * P * R);
  if (g.storage === 'dense') {
    const m = P * R;
    for (let a = 0; a < A; a++) {
      const o = a * m;
      for (let j = 0; j < J; j++) {
        const c = e[a * J + j]!;
        if (c === 0) continue;
        const gj = j * m;
        for (let q = 0; q < m; q++) out[o + q] = out[o + q]! + c * v[gj + q]!;
      }
    }
  } else {
    // G[j, p, r] = δ(j,p) V[j or ·, r]: (E·G)[a, p, r] = E[a, p] · V[p, r].
    for (let a = 0; a < A; a++) {
      for (let p = 0; p < P; p++) {
        const c = e[a * J + p]!;
        if (c === 0) continue;
        const off = g.storage === 'row' ? p * R : 0;
        const o = (a * P + p) * R;
        for (let r = 0; r < R; r++) out[o + r] = c * v[off + r]!;
      }
    }
  }
  return { storage: 'dense', values: out };
}

/** target += src, where src's storage embeds in target's (shared ⊂ row ⊂ dense). */
export function accumulate(target: TraceValue, src: TraceValue, d: PairDims): void {
  const t = target.values;
  const s = src.values;
  const { J, R, P } = d;
  if (src.storage === target.storage) {
    for (let k = 0; k < s.length; k++) t[k] = t[k]! + s[k]!;
    return;
  }
  if (RANK[src.storage] > RANK[target.storage]) throw new Error(`cannot add a ${src.storage} trace into a ${target.storage} one`);
  if (target.storage === 'row') {
    for (let j = 0; j < J; j++) for (let r = 0; r < R; r++) t[j * R + r] = t[j * R + r]! + s[r]!;
    return;
  }
  // Into dense: the pair (j = p) of a shared or row trace.
  for (let j = 0; j < J; j++) {
    const off = src.storage === 'row' ? j * R : 0;
    const o = (j * P + j) * R;
    for (let r = 0; r < R; r++) t[o + r] = t[o + r]! + s[off + r]!;
  }
}

/** ΔW[p, r] += Σ_j λ[j] G[j, p, r]. */
export function contract(lambda: Float64Array, g: TraceValue, d: PairDims, into: Float64Array): void {
  const { J, P, R } = d;
  const v = g.values;
  if (g.storage === 'dense') {
    const m = P * R;
    for (let j = 0; j < J; j++) {
      const l = lambda[j]!;
      if (l === 0) continue;
      const o = j * m;
      for (let q = 0; q < m; q++) into[q] = into[q]! + l * v[o + q]!;
    }
    return;
  }
  for (let p = 0; p < P; p++) {
    const l = lambda[p]!;
    if (l === 0) continue;
    const off = g.storage === 'row' ? p * R : 0;
    for (let r = 0; r < R; r++) into[p * R + r] = into[p * R + r]! + l * v[off + r]!;
  }
}

/** μ = λᵀ E: a vector-Jacobian product with a state-to-state (or loss) block of out size A and in size B. */
export function vjp(lambda: Float64Array, form: BlockForm, e: Float64Array, A: number, B: number, into: Float64Array): void {
  if (form === 'scalar') {
    const c = e[0]!;
    for (let k = 0; k < B; k++) into[k] = into[k]! + c * lambda[k]!;
  } else if (form === 'diagonal') {
    for (let k = 0; k < B; k++) into[k] = into[k]! + e[k]! * lambda[k]!;
  } else if (form === 'dense') {
    for (let a = 0; a < A; a++) {
      const l = lambda[a]!;
      if (l === 0) continue;
      const o = a * B;
      for (let b = 0; b < B; b++) into[b] = into[b]! + l * e[o + b]!;
    }
  } else {
    throw new Error(`a vector-Jacobian product with a ${form} block between states`);
  }
}

// ------------------------------------------------------------ running the program

export interface RunInput {
  readonly steps: number;
  readonly params: ReadonlyMap<string, Tensor>;
  /** One tensor per step for each input and target. */
  readonly data: ReadonlyMap<string, readonly Tensor[]>;
  /** Initial states (default: each state's declared initial value via the caller; zeros here). */
  readonly initial?: ReadonlyMap<string, Tensor>;
  /** Stops between steps when aborted. */
  readonly signal?: AbortSignal;
  /** Stops between steps after this time (Date.now() milliseconds): long synchronous runs cannot wait for an abort timer. */
  readonly deadline?: number;
  /** Per-step loss weights (a training task's; rules/weighted.ts): the gradient of Σ_t w_t·loss_t. Default: every step counts 1. */
  readonly lossWeights?: Float64Array;
  /** Reverse schedules: credit through time within windows of K steps (truncated BPTT; rules/schedules.ts runReverse). */
  readonly truncate?: number;
  /** Called every step of runOnline before the step runs, with its point and the traces from the step before (rules/topk.ts measures with it). */
  readonly onStep?: (point: StepPoint, previous: ReadonlyMap<string, TraceValue>) => void;
}

/** A run stopped by its signal or deadline. */
export class StoppedError extends EligoError {
  constructor() {
    super('rules.stopped', 'stopped');
  }
}

export function checkStop(input: { readonly signal?: AbortSignal; readonly deadline?: number }): void {
  if (input.signal?.aborted || (input.deadline !== undefined && Date.now() > input.deadline)) throw new StoppedError();
}

export interface OnlineRun {
  /** Accumulated update direction per parameter (the gradient estimate of the summed loss), row-major. */
  readonly gradient: Map<string, Float64Array>;
  readonly losses: number[];
  readonly totalLoss: number;
  /** Largest bytes held by carried traces between two steps. */
  readonly carriedBytes: number;
}

/** Values of the blocks an online program holds itself (`local` feedback matrices), by id. */
export function programBlockValues(program: OnlineProgram): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const b of program.blocks) if (b.approximation === 'local') out.set(b.id, localMatrix(b));
  return out;
}

/** A `local` block's fixed random matrix (rules/kinds.ts feedbackMatrix). */
export function localMatrix(b: BlockSpec): Float64Array {
  const m = b.feedback!.matrices[0]!;
  return feedbackMatrix(m.seed, m.shape, b.feedback!.scale);
}

export function dataAt(data: ReadonlyMap<string, readonly Tensor[]>, t: number): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  for (const [k, seq] of data) {
    const x = seq[t];
    if (!x) throw new Error(`no data for '${k}' at step ${t + 1}`);
    m.set(k, x);
  }
  return m;
}

export function zeroStates(ev: StepEvaluator): Map<string, Tensor> {
  return new Map(ev.structure.states.map((s) => [s.name, { shape: s.shape, data: new Float64Array(sizeOf(s.shape)) }]));
}

/** Runs an online program for `steps` steps and returns the accumulated update (= the gradient when nothing is approximated). */
export function runOnline(program: OnlineProgram, ev: StepEvaluator, input: RunInput): OnlineRun {
  const stateShape = new Map(program.states.map((s) => [s.name, s.shape]));
  const paramShape = new Map(program.params.map((p) => [p.name, p.shape]));
  const blockSpec = new Map(program.blocks.map((b) => [b.id, b]));
  const dims = new Map(program.traces.map((t) => [t.name, pairDims(stateShape.get(t.state)!, paramShape.get(t.param)!)]));
  const gradient = new Map(program.params.map((p) => [p.name, new Float64Array(sizeOf(p.shape))]));
  const zeros = (): Map<string, TraceValue> =>
    new Map<string, TraceValue>(program.traces.map((t) => [t.name, { storage: t.storage, values: new Float64Array(sizeOf(t.valueShape)) }]));
  let G = zeros();
  let states = new Map(input.initial ?? zeroStates(ev));
  const losses: number[] = [];
  let carriedBytes = 0;
  for (const t of program.traces) if (t.carried) carriedBytes += 8 * sizeOf(t.valueShape);
  // Blocks the program itself holds (`local` feedback): fixed random matrices, not computed from the model.
  const own = programBlockValues(program);

  for (let t = 0; t < input.steps; t++) {
    checkStop(input);
    // Truncation: the credit of steps before t = K, 2K, … is cut (traces restart).
    if (program.truncate !== undefined && t > 0 && t % program.truncate === 0) G = zeros();
    const point = { t, states, params: input.params, data: dataAt(input.data, t) };
    input.onStep?.(point, G);
    const res = ev.step(point);
    const values: BlockValues = own.size ? new Map([...res.values, ...own]) : res.values;
    losses.push(res.loss);
    // Learning signals.
    const lambda = new Map<string, Float64Array>();
    for (const s of program.signals) {
      const n = sizeOf(s.shape);
      const l = new Float64Array(n);
      if (s.direct) {
        const v = values.get(s.direct)!;
        for (let k = 0; k < n; k++) l[k] = l[k]! + v[k]!;
      }
      for (const term of s.terms) {
        const b = blockSpec.get(term.block)!;
        const lc = lambda.get(term.signal)!;
        vjp(lc, b.form, values.get(b.id)!, sizeOf(b.outShape), n, l);
      }
      lambda.set(s.name, l);
    }
    // Traces.
    const fresh = new Map<string, TraceValue>();
    for (const tr of program.traces) {
      const d = dims.get(tr.name)!;
      const acc: TraceValue = { storage: tr.storage, values: new Float64Array(sizeOf(tr.valueShape)) };
      for (const term of tr.terms) {
        const b = blockSpec.get(term.block)!;
        const src = term.time === 'previous' ? G.get(term.trace)! : fresh.get(term.trace)!;
        const srcDims = dims.get(term.trace)!;
        // A pulled term (factored filter): the block is applied to the learning signal instead.
        accumulate(acc, term.pulled ? src : blockTimesTrace(b.form, values.get(b.id)!, sizeOf(b.outShape), src, srcDims), d);
      }
      if (tr.direct) accumulate(acc, blockAsTrace(blockSpec.get(tr.direct)!.form, values.get(tr.direct)!), d);
      if (tr.pattern) keepPattern(acc.values, tr.pattern, d.R, d.J, d.P);
      fresh.set(tr.name, acc);
    }
    if (program.quantize) {
      const q = program.quantize;
      program.traces.forEach((tr, k) => {
        if (tr.carried) quantizeTrace(fresh.get(tr.name)!.values, q.bits, q.rounding === 'stochastic', q.seed, t, k);
      });
    }
    // Updates.
    for (const u of program.updates) {
      const into = gradient.get(u.param)!;
      const ps = paramShape.get(u.param)!;
      for (const term of u.terms) {
        const sig = program.signals.find((s) => s.name === term.signal)!;
        const l = lambda.get(term.signal)!;
        const d = pairDims(stateShape.get(sig.state)!, ps);
        const f = term.factor;
        if (f.kind === 'trace') contract(l, fresh.get(f.trace)!, d, into);
        else if (f.kind === 'direct') contract(l, blockAsTrace(blockSpec.get(f.block)!.form, values.get(f.block)!), d, into);
        else {
          const b = blockSpec.get(f.block)!;
          const mu = new Float64Array(sizeOf(b.inShape));
          vjp(l, b.form, values.get(b.id)!, sizeOf(b.outShape), mu.length, mu);
          contract(mu, G.get(f.trace)!, dims.get(f.trace)!, into);
        }
      }
      for (const lp of u.lossPrevious) contract(values.get(lp.block)!, G.get(lp.trace)!, dims.get(lp.trace)!, into);
      for (const ft of u.filtered ?? []) {
        // μ = λ (· E^{a,a}) · C_1 ⋯ C_m, then ΔW += μ · H.
        let mu = lambda.get(ft.signal)!;
        for (const id of [...(ft.scale ? [ft.scale] : []), ...ft.chain]) {
          const b = blockSpec.get(id)!;
          const next = new Float64Array(sizeOf(b.inShape));
          vjp(mu, b.form, values.get(id)!, sizeOf(b.outShape), next.length, next);
          mu = next;
        }
        contract(mu, (ft.time === 'current' ? fresh : G).get(ft.trace)!, dims.get(ft.trace)!, into);
      }
      if (u.direct) {
        const v = values.get(u.direct)!;
        for (let k = 0; k < into.length; k++) into[k] = into[k]! + v[k]!;
      }
    }
    G = fresh;
    states = res.next;
  }
  return { gradient, losses, totalLoss: losses.reduce((a, b) => a + b, 0), carriedBytes };
}
