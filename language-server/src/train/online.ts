// An online learning rule on TensorFlow.js: the rule's update program
// (rules/program.ts) run step by step over a batch of sequences, carrying
// only the current states and the traces — no history — with the same
// kernels as the Float64 reference (rules/execute.ts), batched.
//
// Where the blocks come from. Each step, every equation (a state's update,
// and the loss) is evaluated once more as a function of the operands it reads
// directly — states at t, states at t+1 computed earlier in the step (values
// from the forward pass, cut there), parameters — and its blocks are
// vector-Jacobian products of that function (TF.js autodiff; spikes through
// their surrogate):
//   * scalar and diagonal blocks between states, and row/shared blocks of a
//     parameter (∂(W@v)/∂W ties row j of W to output j): one backward pass
//     with a ones cotangent gives the column sums, which are the diagonal
//     (or the rows) because the block has that structure exactly — the
//     program says so (`approximation: 'exact'`). Parameters enter per sample
//     (broadcast to [B, …]) so each sequence gets its own rows;
//   * dense blocks, and diagonals kept from a dense block by the rule
//     (`approximation: 'diagonal'`, e.g. SnAp-1): the equation is replicated
//     A times over the batch (A = its output size) and one backward pass with
//     one-hot cotangents gives all rows at once (cost A × the equation);
//   * the loss: one backward pass with the step's loss weights as cotangent
//     gives ℓ^{a} = ∂L_t/∂a[t+1] per sample (the learning signal's source)
//     and ℓ^{W} summed over the batch (readouts' direct gradient).
// Blocks the program marks constant are computed at a batch's first step.
// Dropped blocks (`= 0`, `= stop`) are never computed.

import type { Tensor as TfTensor } from '@tensorflow/tfjs';
import type { Block } from '../rules/blocks.js';
import { pairDims, type PairDims } from '../rules/execute.js';
import type { BlockSpec, OnlineProgram, TraceStorage } from '../rules/program.js';
import { sizeOf, type Shape } from '../graph/types.js';
import type { Tf } from './backend.js';
import { broadcastTo, stopGradientOp, zerosOf, type Value } from './compileGraph.js';
import type { ModelSpec, StepModel } from './model.js';
import { EligoError } from '../util/errors.js';

type T = TfTensor;

/** A block's values per sample. */
type BlockValue =
  | { readonly form: 'scalar'; readonly t: T } // [B, 1]
  | { readonly form: 'diagonal'; readonly t: T } // [B, J]
  | { readonly form: 'dense'; readonly t: T } // [B, A, N] (N = in size)
  | { readonly form: 'shared'; readonly t: T } // [B, R]
  | { readonly form: 'row'; readonly t: T } // [B, P, R]
  /** A loss block w.r.t. a state, already weighted: [B, J]. */
  | { readonly form: 'signal'; readonly t: T }
  /** A loss block w.r.t. a parameter, summed over the batch: the parameter's shape. */
  | { readonly form: 'grad'; readonly t: T };

interface TraceValue {
  readonly storage: TraceStorage;
  /** shared [B, R], row [B, P, R], dense [B, J, P·R]. */
  readonly t: T;
}

const RANK: Record<TraceStorage, number> = { shared: 0, row: 1, dense: 2 };

export class OnlineError extends EligoError {
  constructor(message: string) {
    super('train.online', message);
  }
}

/** How one equation's blocks are computed each step. */
interface EquationPlan {
  /** State name, or 'loss'. */
  readonly of: string;
  readonly dst: number;
  /** Blocks from the combined ones-cotangent (or, for the loss, weights-cotangent) pass. */
  readonly ones: readonly BlockSpec[];
  /** Blocks from the replicated one-hot pass. */
  readonly tiled: readonly BlockSpec[];
  readonly outSize: number;
  /** State t+1 values (other equations' outputs) the equation reads: cut there, read without gradient. */
  readonly cuts: readonly number[];
  /**
   * Parameter blocks read only through `W @ v` (v a batched vector): their
   * rows are ∂a/∂(W@v) ⊗ v, so the pass perturbs the product [B, P] instead
   * of a per-sample copy of W [B, P, R]. Block id → the matmul vertices.
   */
  readonly viaMatmul: ReadonlyMap<string, readonly number[]>;
}

export interface OnlineStepData {
  /** [B, nIn], [B, nOut], [B] (the step's loss weight per sample, divided by B). */
  readonly x: T;
  readonly y: T;
  readonly w: T;
}

/** Bytes a program's carried traces take for a batch, in float32 (the online rule's memory between steps). */
export function traceBytes(program: OnlineProgram, batch: number): number {
  let n = 0;
  for (const t of program.traces) if (t.carried) n += sizeOf(t.valueShape);
  return 4 * n * batch;
}

/** The vertices equation `dst` computes, stopping at `stops` (leaves and other equations' outputs). */
function coneOf(graph: ModelSpec['graph'], dst: number, stops: ReadonlySet<number>): Set<number> {
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

/** Runs one online program on a compiled model; keeps traces and the accumulated update between `step` calls. */
export class OnlineExecutor {
  private readonly tf: Tf;
  private readonly specs: Map<string, BlockSpec>;
  private readonly srcOf: Map<string, number>;
  /** State equations in evaluation order, then the loss. */
  private readonly plans: EquationPlan[];
  private readonly stateShape: Map<string, Shape>;
  private readonly paramShape: Map<string, Shape>;
  private readonly traceDims: Map<string, PairDims>;
  private readonly constants = new Map<string, BlockValue>();
  private traces = new Map<string, TraceValue>();
  private grads = new Map<string, T>();
  private states: T[] = [];
  private batch = 0;
  private readonly stop: (x: T) => T;
  /** Tensor bytes at the end of the last step, with all its temporaries alive (the step's peak). */
  stepPeakBytes = 0;

  constructor(
    readonly model: StepModel,
    readonly program: OnlineProgram,
    blocks: readonly Block[],
  ) {
    this.tf = model.tf;
    const spec = model.spec;
    const graph = spec.graph;
    if (program.model !== spec.name) throw new OnlineError(`the program is for model '${program.model}', not '${spec.name}'`);
    this.stop = stopGradientOp(this.tf);
    this.specs = new Map(program.blocks.map((b) => [b.id, b]));
    const byId = new Map(blocks.map((b) => [b.id, b]));
    this.srcOf = new Map();
    for (const b of program.blocks) {
      const raw = byId.get(b.id);
      if (!raw) throw new OnlineError(`internal: block '${b.id}' of the program is not among the rule's blocks`);
      this.srcOf.set(b.id, raw.src);
    }
    this.stateShape = new Map(program.states.map((s) => [s.name, s.shape]));
    this.paramShape = new Map(program.params.map((p) => [p.name, p.shape]));
    this.traceDims = new Map(program.traces.map((t) => [t.name, pairDims(this.stateShape.get(t.state)!, this.paramShape.get(t.param)!)]));
    for (const t of program.traces) {
      if (t.storage !== 'dense' && this.stateShape.get(t.state)!.length !== 1)
        throw new OnlineError(`trace ${t.name}: ${t.storage} storage needs a vector state`);
    }
    const groups = new Map<string, BlockSpec[]>();
    for (const b of program.blocks) {
      const l = groups.get(b.of) ?? [];
      l.push(b);
      groups.set(b.of, l);
    }
    // Every state equation runs in the pass (its value is the next state), blocks or not.
    const nexts = spec.states.filter((s) => s.next !== s.leaf).sort((a, b) => a.next - b.next);
    const leafIds = new Set<number>([
      ...spec.states.map((s) => s.leaf),
      ...spec.params.map((p) => p.leaf),
      spec.input.leaf,
      spec.target.leaf,
      ...(spec.weight ? [spec.weight.leaf] : []),
    ]);
    const nextIds = new Set(nexts.map((s) => s.next));
    const eqs = [...nexts.map((s) => ({ of: s.name, dst: s.next })), { of: 'loss', dst: spec.loss }];
    this.plans = eqs.map(({ of, dst }) => {
      const stops = new Set([...leafIds, ...[...nextIds].filter((n) => n !== dst)]);
      const cone = coneOf(graph, dst, stops);
      const cuts = [...nextIds].filter((n) => n !== dst && cone.has(n));
      const ones: BlockSpec[] = [];
      const tiled: BlockSpec[] = [];
      const viaMatmul = new Map<string, number[]>();
      for (const b of groups.get(of) ?? []) {
        if (of !== 'loss' && (b.form === 'dense' || b.approximation === 'diagonal')) {
          tiled.push(b);
          continue;
        }
        ones.push(b);
        if (of === 'loss' || b.wrt.kind !== 'param' || (b.form !== 'row' && b.form !== 'shared')) continue;
        const leaf = this.srcOf.get(b.id)!;
        const readers = [...cone].filter((v) => v !== leaf && !stops.has(v) && graph.vertices[v]!.inputs.includes(leaf));
        const ok =
          readers.length > 0 &&
          readers.every((v) => {
            const vx = graph.vertices[v]!;
            return (
              vx.op === 'matmul' &&
              vx.inputs[0] === leaf &&
              vx.inputs[1] !== leaf &&
              graph.vertices[leaf]!.shape.length === 2 &&
              graph.vertices[vx.inputs[1]!]!.shape.length === 1
            );
          });
        if (ok) viaMatmul.set(b.id, readers);
      }
      return { of, dst, ones, tiled, outSize: of === 'loss' ? 1 : sizeOf(graph.vertices[dst]!.shape), cuts, viaMatmul };
    });
  }

  /** Starts a batch of sequences: states at their initial values, traces and the update at zero. */
  begin(batch: number): void {
    this.dispose();
    const tf = this.tf;
    this.batch = batch;
    this.states = this.model.initialStates(batch);
    for (const tr of this.program.traces) {
      const d = this.traceDims.get(tr.name)!;
      const shape = tr.storage === 'shared' ? [batch, d.R] : tr.storage === 'row' ? [batch, d.P, d.R] : [batch, d.J, d.P * d.R];
      this.traces.set(tr.name, { storage: tr.storage, t: tf.zeros(shape) });
    }
    for (const u of this.program.updates) this.grads.set(u.param, tf.zeros([...u.shape]));
  }

  /** The states at t (for scoring and the next step). */
  currentStates(): readonly T[] {
    return this.states;
  }

  /**
   * One step: forward, blocks, signals, traces, update. Returns the step's
   * per-sample loss [B] and prediction [B, …] (the caller disposes them).
   */
  step(params: readonly T[], data: OnlineStepData): { loss: T; prediction?: T } {
    const tf = this.tf;
    const kept: T[] = [];
    try {
      // tf.tidy keeps the tensors of the returned arrays and objects (not of Maps).
      const out = tf.tidy(() => {
        const r = this.stepInner(params, data, kept);
        this.stepPeakBytes = tf.memory().numBytes;
        // A carried tensor must not be a cached constant block (it is disposed when replaced).
        const constants = new Set([...this.constants.values()].map((c) => c.t));
        // (and not a tensor carried in: a state without an update keeps its value)
        const own = (t: T): T => (constants.has(t) || kept.includes(t) || this.states.includes(t) ? tf.clone(t) : t);
        return {
          states: r.states.map(own),
          traces: this.program.traces.map((t) => own(r.traces.get(t.name)!.t)),
          grads: this.program.updates.map((u) => own(r.grads.get(u.param)!)),
          loss: own(r.loss),
          // The prediction may be a state (ALIF's readout o): a separate copy the caller may dispose.
          ...(r.prediction ? { prediction: tf.clone(r.prediction) } : {}),
        };
      });
      for (const t of this.states) t.dispose();
      this.states = out.states;
      this.program.traces.forEach((tr, i) => {
        this.traces.get(tr.name)!.t.dispose();
        this.traces.set(tr.name, { storage: tr.storage, t: out.traces[i]! });
      });
      this.program.updates.forEach((u, i) => {
        this.grads.get(u.param)!.dispose();
        this.grads.set(u.param, out.grads[i]!);
      });
      return { loss: out.loss, ...(out.prediction ? { prediction: out.prediction } : {}) };
    } finally {
      for (const t of kept) t.dispose();
    }
  }

  /** The accumulated update per parameter (the gradient estimate of the weighted loss), in spec.params order; undefined for untrained ones. */
  gradients(): (T | undefined)[] {
    return this.model.spec.params.map((p) => this.grads.get(p.name));
  }

  dispose(): void {
    for (const t of this.states) t.dispose();
    for (const v of this.traces.values()) v.t.dispose();
    for (const g of this.grads.values()) g.dispose();
    for (const c of this.constants.values()) c.t.dispose();
    this.states = [];
    this.traces.clear();
    this.grads.clear();
    this.constants.clear();
  }

  // ------------------------------------------------------------ one step

  private stepInner(
    params: readonly T[],
    data: OnlineStepData,
    kept: T[],
  ): {
    states: T[];
    traces: Map<string, TraceValue>;
    grads: Map<string, T>;
    loss: T;
    prediction?: T;
  } {
    const tf = this.tf;
    const B = this.batch;
    const { values, nextVal, loss, prediction } = this.combinedPass(params, data, kept);
    for (const plan of this.plans) if (plan.tiled.length) this.tiledPass(plan, params, data, nextVal, values);
    const spec = this.model.spec;
    const states = spec.states.map((s, i) => (s.next === s.leaf ? this.states[i]! : nextVal.get(s.next)!));

    // Learning signals, in program order.
    const lambda = new Map<string, T>();
    for (const s of this.program.signals) {
      let l: T | undefined;
      if (s.direct) l = this.get(values, s.direct).t;
      for (const term of s.terms) {
        const v = vjp(tf, lambda.get(term.signal)!, this.get(values, term.block), B);
        l = l ? tf.add(l, v) : v;
      }
      lambda.set(s.name, l ?? tf.zeros([B, sizeOf(s.shape)]));
    }
    // Traces, in program order.
    const fresh = new Map<string, TraceValue>();
    for (const tr of this.program.traces) {
      const d = this.traceDims.get(tr.name)!;
      let acc: TraceValue | undefined;
      const add = (v: TraceValue): void => {
        const e = embed(tf, v, tr.storage, d, B);
        acc = acc ? { storage: tr.storage, t: tf.add(acc.t, e.t) } : e;
      };
      for (const term of tr.terms) {
        const src = term.time === 'previous' ? this.traces.get(term.trace)! : fresh.get(term.trace)!;
        add(blockTimesTrace(tf, this.get(values, term.block), src, this.traceDims.get(term.trace)!, B));
      }
      if (tr.direct) add(blockAsTrace(tf, this.get(values, tr.direct), d, B));
      fresh.set(tr.name, acc ?? { storage: tr.storage, t: tf.zerosLike(this.traces.get(tr.name)!.t) });
    }
    // Updates.
    const grads = new Map<string, T>();
    for (const u of this.program.updates) {
      const ps = this.paramShape.get(u.param)!;
      const parts: T[] = [this.grads.get(u.param)!];
      for (const term of u.terms) {
        const sig = this.program.signals.find((s) => s.name === term.signal)!;
        const l = lambda.get(term.signal)!;
        const d = pairDims(this.stateShape.get(sig.state)!, ps);
        const f = term.factor;
        if (f.kind === 'trace') parts.push(contract(tf, l, fresh.get(f.trace)!, d));
        else if (f.kind === 'direct') parts.push(contract(tf, l, blockAsTrace(tf, this.get(values, f.block), d, B), d));
        else {
          const mu = vjp(tf, l, this.get(values, f.block), B);
          parts.push(contract(tf, mu, this.traces.get(f.trace)!, this.traceDims.get(f.trace)!));
        }
      }
      for (const lp of u.lossPrevious) parts.push(contract(tf, this.get(values, lp.block).t, this.traces.get(lp.trace)!, this.traceDims.get(lp.trace)!));
      if (u.direct) parts.push(this.get(values, u.direct).t);
      grads.set(u.param, parts.length === 1 ? parts[0]! : tf.addN(parts.map((q) => tf.reshape(q, [...ps]))));
    }
    return { states, traces: fresh, grads, loss, ...(prediction ? { prediction } : {}) };
  }

  private get(values: Map<string, BlockValue>, id: string): BlockValue {
    const v = values.get(id);
    if (!v) throw new OnlineError(`internal: block '${id}' has no value this step`);
    return v;
  }

  private baseLeaves(params: readonly T[], data: OnlineStepData): Map<number, Value> {
    const spec = this.model.spec;
    const base = new Map<number, Value>();
    spec.states.forEach((s, i) => base.set(s.leaf, { t: this.states[i]!, batched: true }));
    spec.params.forEach((p, i) => base.set(p.leaf, { t: params[i]!, batched: false }));
    base.set(spec.input.leaf, { t: data.x, batched: true });
    base.set(spec.target.leaf, { t: data.y, batched: true });
    if (spec.weight) base.set(spec.weight.leaf, { t: this.model.one(), batched: false });
    return base;
  }

  /**
   * The step in one forward and one backward pass: every equation in order,
   * each reading the others' t+1 values without gradient (cut), its block
   * operands as separate inputs of the pass (a clone of a state at t; a zero
   * perturbation added to a state at t+1, to a parameter, or to a W@v
   * product), and the output Σ_a Σ a[t+1] + Σ_b w_b loss_b: the gradient
   * with respect to equation a's inputs is then its ones-cotangent VJP, and
   * with respect to the loss's its weighted one.
   */
  private combinedPass(
    params: readonly T[],
    data: OnlineStepData,
    kept: T[],
  ): {
    values: Map<string, BlockValue>;
    nextVal: Map<number, T>;
    loss: T;
    prediction?: T;
  } {
    const tf = this.tf;
    const spec = this.model.spec;
    const graph = spec.graph;
    const B = this.batch;
    const base = this.baseLeaves(params, data);
    const values = new Map<string, BlockValue>(this.constants);
    type Input = {
      readonly block: BlockSpec;
      readonly plan: EquationPlan;
      readonly kind: 'leaf' | 'next' | 'matmul' | 'param';
      readonly vertex: number;
      readonly x: T;
    };
    const inputs: Input[] = [];
    for (const plan of this.plans) {
      for (const b of plan.ones) {
        if (values.has(b.id)) continue;
        const src = this.srcOf.get(b.id)!;
        if (b.wrt.kind === 'state') {
          if (b.wrt.offset === 0) inputs.push({ block: b, plan, kind: 'leaf', vertex: src, x: tf.clone(base.get(src)!.t) });
          else inputs.push({ block: b, plan, kind: 'next', vertex: src, x: tf.zeros([B, ...graph.vertices[src]!.shape]) });
        } else {
          const mm = plan.viaMatmul.get(b.id);
          if (mm) for (const m of mm) inputs.push({ block: b, plan, kind: 'matmul', vertex: m, x: tf.zeros([B, ...graph.vertices[m]!.shape]) });
          else {
            const shape = graph.vertices[src]!.shape;
            // The loss's ℓ^W is summed over the batch; a state equation's F^{a,W} is per sample.
            inputs.push({ block: b, plan, kind: 'param', vertex: src, x: tf.zeros(plan.of === 'loss' ? [...shape] : [B, ...shape]) });
          }
        }
      }
    }
    const nextVal = new Map<number, T>();
    const mmOperand = new Map<number, Value>();
    let loss: T | undefined;
    let prediction: T | undefined;
    const keep = (t: T): T => {
      tf.keep(t);
      kept.push(t);
      return t;
    };
    const f = (...xs: T[]): T => {
      const terms: T[] = [];
      for (const plan of this.plans) {
        const leaves = new Map(base);
        for (const c of plan.cuts) leaves.set(c, { t: this.stop(nextVal.get(c)!), batched: true });
        const perturb = new Map<number, T>();
        inputs.forEach((inp, k) => {
          if (inp.plan !== plan) return;
          const x = xs[k]!;
          if (inp.kind === 'leaf') leaves.set(inp.vertex, { t: x, batched: true });
          else if (inp.kind === 'next') leaves.set(inp.vertex, { t: tf.add(leaves.get(inp.vertex)!.t, x), batched: true });
          else if (inp.kind === 'matmul') perturb.set(inp.vertex, x);
          else {
            const p = base.get(inp.vertex)!.t;
            leaves.set(inp.vertex, { t: tf.add(p, x), batched: plan.of !== 'loss' });
          }
        });
        const wanted = [plan.dst, ...(plan.of === 'loss' && spec.prediction !== undefined ? [spec.prediction] : [])];
        for (const mm of plan.viaMatmul.values()) for (const m of mm) wanted.push(graph.vertices[m]!.inputs[1]!);
        const vals = this.model.compiled.run(leaves, B, wanted, perturb);
        const r = vals[plan.dst]!;
        const out = r.batched ? r.t : broadcastTo(tf, r.t, [B, ...graph.vertices[plan.dst]!.shape]);
        for (const mm of plan.viaMatmul.values()) for (const m of mm) mmOperand.set(m, vals[graph.vertices[m]!.inputs[1]!]!);
        if (plan.of === 'loss') {
          loss = keep(out);
          if (spec.prediction !== undefined) {
            const p = vals[spec.prediction] ?? (nextVal.has(spec.prediction) ? { t: nextVal.get(spec.prediction)!, batched: true } : undefined);
            if (p) prediction = keep(p.batched ? p.t : broadcastTo(tf, p.t, [B, ...graph.vertices[spec.prediction]!.shape]));
          }
          terms.push(tf.sum(tf.mul(out, tf.reshape(data.w, [B]))));
        } else {
          nextVal.set(plan.dst, keep(out));
          if (plan.ones.length) terms.push(tf.sum(out));
        }
      }
      // Operands computed in the pass must outlive it; leaves (states, data) belong to the caller.
      const given = new Set([...base.values()].map((v) => v.t));
      for (const v of mmOperand.values()) if (!given.has(v.t) && !kept.includes(v.t)) keep(v.t);
      return terms.length ? tf.addN(terms) : tf.scalar(0);
    };
    if (inputs.length === 0) {
      tf.tidy(() => {
        f();
      });
    } else {
      const g = tf.grads(f)(inputs.map((i) => i.x));
      // Collect each block's value from its inputs' gradients.
      const byBlock = new Map<string, { inp: Input; g: T }[]>();
      inputs.forEach((inp, k) => {
        const l = byBlock.get(inp.block.id) ?? [];
        l.push({ inp, g: g[k]! });
        byBlock.set(inp.block.id, l);
      });
      for (const [id, parts] of byBlock) {
        const b = this.specs.get(id)!;
        const first = parts[0]!;
        let v: BlockValue;
        if (first.inp.plan.of === 'loss') {
          v = b.wrt.kind === 'param' ? { form: 'grad', t: first.g } : { form: 'signal', t: tf.reshape(first.g, [B, -1]) };
        } else if (b.wrt.kind === 'state') {
          const flat = tf.reshape(first.g, [B, -1]);
          v = b.form === 'scalar' ? { form: 'scalar', t: tf.slice(flat, [0, 0], [B, 1]) } : { form: 'diagonal', t: flat };
        } else if (first.inp.kind === 'matmul') {
          // F[b, p, r] = Σ_m ∂a_p/∂(W@v_m)_p · v_m[r].
          const d = pairDims(this.stateShape.get(first.inp.plan.of)!, this.paramShape.get(b.wrt.name)!);
          const terms = parts.map(({ inp, g: gm }) => {
            const vm = mmOperand.get(inp.vertex)!;
            const v2 = vm.batched ? tf.reshape(vm.t, [B, 1, d.R]) : tf.reshape(vm.t, [1, 1, d.R]);
            if (b.form === 'shared') return tf.mul(tf.reshape(tf.slice(gm, [0, 0], [B, 1]), [B, 1, 1]), v2);
            return tf.mul(tf.reshape(gm, [B, d.P, 1]), v2);
          });
          const sum = terms.length === 1 ? terms[0]! : tf.addN(terms);
          v = b.form === 'shared' ? { form: 'shared', t: tf.reshape(sum, [B, d.R]) } : { form: 'row', t: sum };
        } else {
          const d = pairDims(this.stateShape.get(first.inp.plan.of)!, this.paramShape.get(b.wrt.name)!);
          const rows = tf.reshape(first.g, [B, d.P, d.R]);
          if (b.form === 'row' || b.form === 'diagonal') v = { form: 'row', t: rows };
          else if (b.form === 'shared') v = { form: 'shared', t: tf.reshape(tf.slice(rows, [0, 0, 0], [B, 1, d.R]), [B, d.R]) };
          else v = { form: 'scalar', t: tf.reshape(tf.slice(rows, [0, 0, 0], [B, 1, 1]), [B, 1]) };
        }
        this.store(b, v, values);
      }
    }
    if (!loss) throw new OnlineError('internal: the loss was not computed');
    return { values, nextVal, loss, ...(prediction ? { prediction } : {}) };
  }

  /** Dense blocks (and diagonals kept from dense ones): the equation replicated A times, one-hot cotangents. */
  private tiledPass(plan: EquationPlan, params: readonly T[], data: OnlineStepData, nextVal: Map<number, T>, values: Map<string, BlockValue>): void {
    const tf = this.tf;
    const tiled = plan.tiled.filter((b) => !values.has(b.id));
    if (!tiled.length) return;
    const B = this.batch;
    const A = plan.outSize;
    const graph = this.model.spec.graph;
    const rep = (t: T): T => (A === 1 ? t : tf.concat(new Array<T>(A).fill(t), 0));
    const base = this.baseLeaves(params, data);
    const leaves = new Map<number, Value>([...base].map(([k, v]) => [k, v.batched ? { t: rep(v.t), batched: true } : v]));
    for (const c of plan.cuts) leaves.set(c, { t: rep(nextVal.get(c)!), batched: true });
    const xs = tiled.map((b) => {
      const src = this.srcOf.get(b.id)!;
      if (b.wrt.kind === 'param') return tf.add(base.get(src)!.t, zerosOf(tf, [A * B, ...graph.vertices[src]!.shape]));
      return b.wrt.offset === 1 ? rep(nextVal.get(src)!) : leaves.get(src)!.t;
    });
    const srcs = tiled.map((b) => this.srcOf.get(b.id)!);
    const f = (...ts: T[]): T => {
      const m = new Map(leaves);
      srcs.forEach((s, k) => m.set(s, { t: ts[k]!, batched: true }));
      const r = this.model.compiled.run(m, A * B, [plan.dst])[plan.dst]!;
      return r.batched ? r.t : broadcastTo(tf, r.t, [A * B, ...graph.vertices[plan.dst]!.shape]);
    };
    // Replica a (samples a·B … a·B + B − 1) backpropagates output element a.
    // (tf.oneHot with a float32 dtype gives zeros on the wasm backend: build it as int32.)
    const hot = tf.oneHot(tf.tile(tf.reshape(tf.range(0, A, 1, 'int32'), [A, 1]), [1, B]).flatten(), A);
    const dy = tf.reshape(tf.cast(hot, 'float32'), [A * B, ...graph.vertices[plan.dst]!.shape]);
    const g = tf.grads(f)(xs, dy);
    tiled.forEach((b, k) => {
      const N = sizeOf(b.inShape);
      const dense = tf.transpose(tf.reshape(g[k]!, [A, B, N]), [1, 0, 2]); // [B, A, N]
      let v: BlockValue;
      if (b.form === 'dense') v = { form: 'dense', t: dense };
      else {
        // A diagonal kept from a fuller block (SnAp-1's ∂h/∂h): its diagonal, exactly.
        const diag = tf.sum(tf.mul(dense, tf.reshape(tf.eye(A), [1, A, A])), 2);
        v = b.form === 'scalar' ? { form: 'scalar', t: tf.slice(diag, [0, 0], [B, 1]) } : { form: 'diagonal', t: diag };
      }
      this.store(b, v, values);
    });
  }

  private store(b: BlockSpec, v: BlockValue, values: Map<string, BlockValue>): void {
    values.set(b.id, v);
    if (b.constant) {
      this.tf.keep(v.t);
      this.constants.set(b.id, v);
    }
  }
}

// ------------------------------------------------------------ kernels (rules/execute.ts, batched)

/** μ = λᵀ E per sample: [B, A] × block → [B, N]. */
function vjp(tf: Tf, lambda: T, e: BlockValue, B: number): T {
  switch (e.form) {
    case 'scalar':
      return tf.mul(lambda, e.t);
    case 'diagonal':
      return tf.mul(lambda, e.t);
    case 'dense':
      return tf.reshape(tf.matMul(tf.reshape(lambda, [B, 1, -1]), e.t), [B, -1]);
    default:
      throw new OnlineError(`internal: a vector-Jacobian product with a ${e.form} block between states`);
  }
}

/** A parameter block read as a trace value (shared ⊂ row ⊂ dense). */
function blockAsTrace(tf: Tf, e: BlockValue, d: PairDims, B: number): TraceValue {
  switch (e.form) {
    case 'scalar':
      return { storage: 'shared', t: tf.reshape(e.t, [B, 1]) };
    case 'shared':
      return { storage: 'shared', t: e.t };
    case 'row':
      return { storage: 'row', t: e.t };
    case 'diagonal':
      return { storage: 'row', t: tf.reshape(e.t, [B, d.P, d.R]) };
    case 'dense':
      return { storage: 'dense', t: tf.reshape(e.t, [B, d.J, d.P * d.R]) };
    default:
      throw new OnlineError(`internal: a ${e.form} block used as a trace`);
  }
}

/** E · G: a state-to-state block (out size A) times the trace of its operand state (dims d). */
function blockTimesTrace(tf: Tf, e: BlockValue, g: TraceValue, d: PairDims, B: number): TraceValue {
  const { P, R } = d;
  switch (e.form) {
    case 'scalar':
      return { storage: g.storage, t: tf.mul(g.t, g.storage === 'shared' ? e.t : tf.reshape(e.t, [B, 1, 1])) };
    case 'diagonal': {
      const dj = tf.reshape(e.t, [B, -1, 1]);
      if (g.storage === 'shared') return { storage: 'row', t: tf.mul(dj, tf.reshape(g.t, [B, 1, R])) };
      return { storage: g.storage, t: tf.mul(dj, g.t) };
    }
    case 'dense': {
      const A = e.t.shape[1]!;
      if (g.storage === 'dense') return { storage: 'dense', t: tf.matMul(e.t, g.t) };
      // G[j, p, r] = δ(j, p) V[p or ·, r]: (E·G)[a, p, r] = E[a, p] · V[p, r].
      const E4 = tf.reshape(e.t, [B, A, P, 1]);
      const V4 = g.storage === 'row' ? tf.reshape(g.t, [B, 1, P, R]) : tf.reshape(g.t, [B, 1, 1, R]);
      return { storage: 'dense', t: tf.reshape(tf.mul(E4, V4), [B, A, P * R]) };
    }
    default:
      throw new OnlineError(`internal: a ${e.form} block between states`);
  }
}

/** A trace value in a fuller storage (shared ⊂ row ⊂ dense). */
function embed(tf: Tf, v: TraceValue, storage: TraceStorage, d: PairDims, B: number): TraceValue {
  if (v.storage === storage) return v;
  if (RANK[v.storage] > RANK[storage]) throw new OnlineError(`internal: cannot add a ${v.storage} trace into a ${storage} one`);
  const { J, P, R } = d;
  if (storage === 'row') return { storage, t: broadcastTo(tf, tf.reshape(v.t, [B, 1, R]), [B, P, R]) };
  // Into dense: G[j, p, r] = δ(j, p) V[p or ·, r].
  const eye = tf.reshape(tf.eye(J, P), [1, J, P, 1]);
  const V4 = v.storage === 'row' ? tf.reshape(v.t, [B, 1, P, R]) : tf.reshape(v.t, [B, 1, 1, R]);
  return { storage, t: tf.reshape(tf.mul(eye, V4), [B, J, P * R]) };
}

/** ΔW[p, r] = Σ_b Σ_j λ[b, j] G[b, j, p, r], flattened [P·R]. */
function contract(tf: Tf, lambda: T, g: TraceValue, d: PairDims): T {
  const { J, P, R } = d;
  const B = lambda.shape[0];
  switch (g.storage) {
    case 'dense':
      return tf.reshape(tf.matMul(tf.reshape(lambda, [1, B * J]), tf.reshape(g.t, [B * J, P * R])), [P * R]);
    case 'row':
      // The sum over the batch as a product with ones (the wasm backend's Sum over a leading axis is slow).
      return tf.reshape(tf.matMul(tf.ones([1, B]), tf.reshape(tf.mul(tf.reshape(lambda, [B, P, 1]), g.t), [B, P * R])), [P * R]);
    case 'shared':
      return tf.reshape(tf.matMul(tf.reshape(lambda, [B, P]), g.t, true, false), [P * R]);
  }
}
