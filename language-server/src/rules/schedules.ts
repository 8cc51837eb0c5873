// Schedules: the order in which the time-unrolled equation graph is
// eliminated (vertex-elimination.md §4).
//
// The equation graph of T steps has one vertex per equation per step — a[t]
// for every state a with an update and t = 1…T, loss_t — plus the parameters
// (the independent variables), the initial states (data: no edges) and the
// total loss L = Σ_t loss_t (the one output). Its edges are the rule's
// approximated blocks, repeated at every step. Eliminating it
//
//   reverse  (descending)  is BPTT: the adjoints of L flow backward in time;
//   forward  (ascending)   is forward-mode accumulation of dv/dW for every v;
//   order [a, b, …]        eliminates equation a at every step (forward in time), then b, …;
//   online                 is forward in time but keeps only the traces the
//                          next step reads: the program of derive.ts.
//
// All give the same gradient when nothing is approximated; the engine counts
// what each costs. Numerically, `reverse` also runs as the adjoint
// recursion over stored states (runReverse), which is what BPTT does.

import { sizeOf, type Graph, type Shape, type Tensor, type Vertex } from '../graph/types.js';
import { Eliminator } from '../ad/eliminate.js';
import type { LinearEdge, LinearizedGraph } from '../ad/linearize.js';
import { makeSparsity, toDense, type SparseJacobian, type Sparsity } from '../ad/sparsity.js';
import { validateOrder } from '../ad/orders.js';
import type { Block, StepEvaluator, StepStructure } from './blocks.js';
import { blockAsTrace, checkStop, contract, dataAt, vjp, zeroStates, pairDims, type RunInput } from './execute.js';
import { EligoError } from '../util/errors.js';

// ------------------------------------------------------------ the unrolled equation graph

export interface EquationGraph {
  readonly lin: LinearizedGraph;
  /** Vertex of equation `of` at step t (1-based: a[t] for t = 1…T, loss_t for t = 1…T). */
  readonly vertexOf: (of: string, t: number) => number;
  readonly paramVertex: ReadonlyMap<string, number>;
  readonly total: number;
  readonly steps: number;
  /** The equations, in step order (states with updates, then 'loss'). */
  readonly equations: readonly string[];
}

const NOWHERE = { start: 0, end: 0 };
const SCALAR_ONE = makeSparsity([], [], [], [], [], true);

/**
 * Builds the unrolled equation graph. With `jacobians` (one map per step,
 * from BlockEvaluator) its edges carry values; otherwise it is symbolic.
 */
export function equationGraph(
  structure: StepStructure,
  blocks: readonly Block[],
  steps: number,
  jacobians?: readonly ReadonlyMap<string, SparseJacobian>[],
): EquationGraph {
  const vertices: Vertex[] = [];
  const add = (v: Omit<Vertex, 'id' | 'attrs' | 'range'>): number => {
    const id = vertices.length;
    vertices.push({ id, attrs: {}, range: NOWHERE, ...v });
    return id;
  };
  const paramVertex = new Map<string, number>();
  for (const p of structure.params) paramVertex.set(p.name, add({ op: 'param', shape: p.shape, inputs: [], role: 'param', name: p.name }));
  const initial = new Map<string, number>();
  for (const s of structure.states) initial.set(s.name, add({ op: 'state', shape: s.shape, inputs: [], role: 'state', name: s.name }));
  const equations = [...structure.updated.map((s) => s.name), ...(structure.loss !== null ? ['loss'] : [])];
  const at = new Map<string, number>(); // `${name}@${t}` → vertex (states at t = 0 are the initial leaves)
  for (const s of structure.states) at.set(`${s.name}@0`, initial.get(s.name)!);
  const edges: LinearEdge[] = [];
  const lossVertices: number[] = [];
  const byOf = new Map<string, Block[]>();
  for (const b of blocks) byOf.set(b.of, [...(byOf.get(b.of) ?? []), b]);
  for (let t = 1; t <= steps; t++) {
    // States without an update keep their value: s[t] is the initial leaf.
    for (const s of structure.states) if (s.next === null) at.set(`${s.name}@${t}`, initial.get(s.name)!);
    for (const of of equations) {
      const shape: Shape = of === 'loss' ? [] : structure.states.find((s) => s.name === of)!.shape;
      const mine = byOf.get(of) ?? [];
      const srcs = mine.map((b) => (b.wrt.kind === 'param' ? paramVertex.get(b.wrt.name)! : at.get(`${b.wrt.name}@${t - 1 + b.wrt.offset}`)!));
      // An equation without blocks (a state updated only through stop()) is a constant of the gradient: a leaf.
      const id = add({
        op: srcs.length ? 'add' : 'const',
        shape,
        inputs: [...new Set(srcs)].sort((a, b) => a - b),
        role: of === 'loss' ? 'loss' : 'state-next',
        name: of === 'loss' ? `loss_${t}` : `${of}[${t}]`,
        step: t - 1,
      });
      mine.forEach((b, k) => {
        const src = srcs[k]!;
        // Initial states are data: nothing depends on the parameters through them.
        if (vertices[src]!.op === 'state') return;
        edges.push({ src, dst: id, jacobian: jacobians ? jacobians[t - 1]!.get(b.id)! : { sparsity: b.sparsity, values: null } });
      });
      if (of === 'loss') lossVertices.push(id);
      else at.set(`${of}@${t}`, id);
    }
  }
  const total = add({ op: 'sum', shape: [], inputs: lossVertices, role: 'output', name: 'L' });
  const one: SparseJacobian = { sparsity: SCALAR_ONE, values: jacobians ? new Float64Array([1]) : null };
  for (const l of lossVertices) edges.push({ src: l, dst: total, jacobian: one });
  edges.sort((a, b) => a.dst - b.dst || a.src - b.src);
  const graph: Graph = { name: `${structure.model}×${steps}`, kind: 'model-unrolled', vertices, inputs: [...paramVertex.values()], outputs: [total] };
  const eliminable: number[] = [];
  for (const v of vertices) if (v.inputs.length > 0 && v.id !== total) eliminable.push(v.id);
  const active = new Uint8Array(vertices.length);
  for (const p of paramVertex.values()) active[p] = 1;
  for (const e of edges) active[e.dst] = 1;
  const lin: LinearizedGraph = { graph, edges, eliminable, feedingOutputs: new Set(), active, numeric: jacobians !== undefined };
  return {
    lin,
    paramVertex,
    total,
    steps,
    equations,
    vertexOf: (of, t) => (of === 'loss' ? lossVertices[t - 1]! : at.get(`${of}@${t}`)!),
  };
}

export class ScheduleError extends EligoError {
  constructor(
    message: string,
    readonly equation?: string,
  ) {
    super('rules.schedule', message);
  }
}

/**
 * The elimination order of a schedule on the equation graph. An explicit
 * order names equations (states, `loss`); the ones it leaves out follow in
 * equation order.
 */
export function scheduleOrder(eg: EquationGraph, schedule: 'forward' | 'reverse' | readonly string[]): number[] {
  const el = eg.lin.eliminable;
  if (schedule === 'forward') return [...el];
  if (schedule === 'reverse') return [...el].reverse();
  for (const name of schedule) {
    if (!eg.equations.includes(name)) throw new ScheduleError(`'${name}' is not an equation of the model (equations: ${eg.equations.join(', ')})`, name);
  }
  const seen = new Set<string>();
  const names = [...schedule.filter((n) => !seen.has(n) && (seen.add(n), true)), ...eg.equations.filter((e) => !schedule.includes(e))];
  const order: number[] = [];
  // An equation with no blocks at all (a state updated through stop(), a refractory counter) has no
  // vertex to eliminate: it carries no gradient.
  const eliminable = new Set(el);
  for (const n of names)
    for (let t = 1; t <= eg.steps; t++) {
      const v = eg.vertexOf(n, t);
      if (eliminable.has(v)) order.push(v);
    }
  validateOrder(eg.lin.graph, order);
  return order;
}

export interface EliminationCost {
  readonly multiplications: number;
  readonly additions: number;
  readonly fillIn: number;
  /** Peak bytes of accumulated (fill-in) Jacobians: the sensitivities or adjoints held at once. */
  readonly accumulatedPeakBytes: number;
  readonly peakBytes: number;
}

/** Counts an order on the equation graph with the engine (symbolic). */
export function eliminationCost(eg: EquationGraph, order: readonly number[]): EliminationCost {
  const el = Eliminator.of(eg.lin);
  const original = new Map<string, number>();
  const bytesOf = (s: Sparsity): number => 8 * s.valueCount;
  let originalAlive = 0;
  for (const e of eg.lin.edges) {
    original.set(`${e.src}>${e.dst}`, bytesOf(e.jacobian.sparsity));
    originalAlive += bytesOf(e.jacobian.sparsity);
  }
  const gone = new Uint8Array(eg.lin.graph.vertices.length);
  const inc: number[][] = eg.lin.graph.vertices.map(() => []);
  eg.lin.edges.forEach((e, k) => {
    inc[e.src]!.push(k);
    inc[e.dst]!.push(k);
  });
  const dead = new Uint8Array(eg.lin.edges.length);
  let peakAcc = 0;
  for (const v of order) {
    el.eliminate(v);
    gone[v] = 1;
    for (const k of inc[v]!) {
      if (dead[k]) continue;
      dead[k] = 1;
      originalAlive -= bytesOf(eg.lin.edges[k]!.jacobian.sparsity);
    }
    peakAcc = Math.max(peakAcc, el.liveBytes - originalAlive);
  }
  return { multiplications: el.multiplications, additions: el.additions, fillIn: el.fillIn, accumulatedPeakBytes: peakAcc, peakBytes: el.peakBytes };
}

/** The gradient by eliminating an order on the numeric equation graph: the edges param → L. */
export function eliminateGradient(eg: EquationGraph, order: readonly number[]): Map<string, Float64Array> {
  const el = Eliminator.of(eg.lin);
  for (const v of order) el.eliminate(v);
  const out = new Map<string, Float64Array>();
  for (const [name, p] of eg.paramVertex) {
    const j = el.edge(p, eg.total);
    out.set(name, j ? toDense(j) : new Float64Array(sizeOf(eg.lin.graph.vertices[p]!.shape)));
  }
  return out;
}

/** Block Jacobians of every step along a trajectory (for the numeric equation graph). */
export function trajectoryJacobians(ev: StepEvaluator, input: RunInput): { jacobians: Map<string, SparseJacobian>[]; losses: number[] } {
  let states = new Map(input.initial ?? zeroStates(ev));
  const jacobians: Map<string, SparseJacobian>[] = [];
  const losses: number[] = [];
  for (let t = 0; t < input.steps; t++) {
    checkStop(input);
    const r = ev.step({ t, states, params: input.params, data: dataAt(input.data, t) });
    jacobians.push(r.jacobians);
    losses.push(r.loss);
    states = r.next;
  }
  return { jacobians, losses };
}

// ------------------------------------------------------------ BPTT as the adjoint recursion

export interface ReverseRun {
  readonly gradient: Map<string, Float64Array>;
  readonly losses: number[];
  readonly totalLoss: number;
  /** Adjoints dL/d(a[t]) of every state with an update, t = 1…T (index t−1). */
  readonly adjoints: Map<string, Float64Array>[];
  /** Bytes of the stored history (the states of every step). */
  readonly historyBytes: number;
}

/**
 * BPTT: a forward pass that stores the states, then a backward pass that
 * recomputes each step's blocks and propagates the adjoints
 *   Λ^a[t] = ℓ^a + Σ_c Λ^c[t] E^{c,a'} + Σ_c Λ^c[t+1] E^{c,a}(step t+1),  ΔW += Σ_a Λ^a[t] F^{a,W} + ℓ^W.
 */
export function runReverse(ev: StepEvaluator, blocks: readonly Block[], input: RunInput): ReverseRun {
  const s = ev.structure;
  const history: Map<string, Tensor>[] = [];
  let states = new Map(input.initial ?? zeroStates(ev));
  for (let t = 0; t < input.steps; t++) {
    checkStop(input);
    history.push(states);
    states = ev.step({ t, states, params: input.params, data: dataAt(input.data, t) }).next;
  }
  const gradient = new Map(s.params.map((p) => [p.name, new Float64Array(sizeOf(p.shape))]));
  const paramShape = new Map(s.params.map((p) => [p.name, p.shape]));
  const stateShape = new Map(s.states.map((x) => [x.name, x.shape]));
  const order = s.updated.map((x) => x.name);
  const adjoints = new Array<Map<string, Float64Array>>(input.steps);
  const losses = new Array<number>(input.steps);
  // carry[b] = Σ_a Λ^a[t+1] E^{a,b[t]} (from the step after), adjoint of b at t.
  let carry = new Map<string, Float64Array>();
  for (let t = input.steps - 1; t >= 0; t--) {
    checkStop(input);
    const r = ev.step({ t, states: history[t]!, params: input.params, data: dataAt(input.data, t) });
    losses[t] = r.loss;
    const lam = new Map<string, Float64Array>();
    for (const a of [...order].reverse()) {
      const n = sizeOf(stateShape.get(a)!);
      const l = carry.get(a) ?? new Float64Array(n);
      for (const b of blocks) {
        if (b.of === 'loss' && b.wrt.kind === 'state' && b.wrt.name === a && b.wrt.offset === 1) {
          const v = r.values.get(b.id)!;
          for (let k = 0; k < n; k++) l[k] = l[k]! + v[k]!;
        } else if (b.of !== 'loss' && b.wrt.kind === 'state' && b.wrt.name === a && b.wrt.offset === 1 && lam.has(b.of)) {
          vjp(lam.get(b.of)!, b.form, r.values.get(b.id)!, sizeOf(b.sparsity.outShape), n, l);
        }
      }
      lam.set(a, l);
    }
    adjoints[t] = lam;
    let next = new Map<string, Float64Array>();
    for (const b of blocks) {
      if (b.wrt.kind === 'param') {
        const into = gradient.get(b.wrt.name)!;
        if (b.of === 'loss') {
          const v = r.values.get(b.id)!;
          for (let k = 0; k < into.length; k++) into[k] = into[k]! + v[k]!;
        } else {
          contract(lam.get(b.of)!, blockAsTrace(b.form, r.values.get(b.id)!), pairDims(stateShape.get(b.of)!, paramShape.get(b.wrt.name)!), into);
        }
      } else if (b.wrt.offset === 0) {
        const n = sizeOf(stateShape.get(b.wrt.name)!);
        const into = next.get(b.wrt.name) ?? new Float64Array(n);
        next.set(b.wrt.name, into);
        if (b.of === 'loss') {
          const v = r.values.get(b.id)!;
          for (let k = 0; k < n; k++) into[k] = into[k]! + v[k]!;
        } else {
          vjp(lam.get(b.of)!, b.form, r.values.get(b.id)!, sizeOf(b.sparsity.outShape), n, into);
        }
      }
    }
    // Truncated BPTT: no credit from step t back to the steps before it when t starts a window (t = K, 2K, …).
    if (input.truncate !== undefined && t > 0 && t % input.truncate === 0) next = new Map();
    carry = next;
  }
  let historyBytes = 0;
  for (const x of s.states) historyBytes += 8 * sizeOf(x.shape) * input.steps;
  return { gradient, losses, totalLoss: losses.reduce((a, b) => a + b, 0), adjoints, historyBytes };
}
