// Values at the evaluation point of an item, for hovers (value ranges) and
// analysis warnings (NaN, vanishing surrogate gradients).
//
// The point is graph/point.ts's, the one the CLI verifies Jacobians at: a
// function's `# @eval {…}` comment (else 0.5 everywhere); for a model, its
// parameters from their initialisers and its states after T steps on seeded
// random data. For a model the T steps that lead there are evaluated too, so
// a NaN is traced to the step and the operation where it first appears and a
// surrogate is judged over the whole trajectory. Pure engine calls: no LSP.

import type { Range } from '../lang/ast.js';
import type { Compiled, NamedItem } from '../compile.js';
import { graphOf, ItemError, modelStep } from '../compile.js';
import { evaluate } from '../graph/evaluate.js';
import { InputError } from '../graph/inputs.js';
import { evaluationPoint } from '../graph/point.js';
import { initialParams, initialStates, randomData } from '../graph/simulate.js';
import { sizeOf, type Graph, type Surrogate, type Tensor } from '../graph/types.js';
import { surrogateDerivative } from '../ad/rules.js';

export interface ValueStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Number of values seen (elements × steps). */
  readonly count: number;
  /** How many of them are NaN or ±∞. */
  readonly nonFinite: number;
}

/** The first value that turned NaN or infinite while its operands were finite: the cause. */
export interface NonFinite {
  readonly range: Range;
  readonly op: string;
  readonly kind: 'NaN' | 'Infinity';
  /** 1-based step of a model; absent for functions. */
  readonly step?: number;
  readonly operands: readonly ValueStats[];
}

/** How much gradient a `spike` lets through at the evaluation point. */
export interface SpikeHealth {
  readonly range: Range;
  readonly surrogate: Surrogate;
  /** max ψ(x) / ψ(0) over every element and step. */
  readonly maxRatio: number;
  /** Share of elements with ψ(x) ≥ 10⁻³·ψ(0). */
  readonly aliveFraction: number;
  readonly input: ValueStats;
}

export interface EvalPoint {
  /** How the point was chosen (graph/point.ts): "at the file's @eval point", "after 10 steps on random data (seed 0)". */
  readonly where: string;
  /** Models: the steps evaluated, the point's step included (T + 1). */
  readonly steps?: number;
  /** Value statistics of every named vertex (`let` names, leaves, `u[t+1]`, `loss`, outputs) at the point. */
  readonly names: ReadonlyMap<string, ValueStats>;
  /** Models: the same over every step evaluated on the way to the point. */
  readonly trajectory?: ReadonlyMap<string, ValueStats>;
  readonly nonFinite?: NonFinite;
  readonly spikes: readonly SpikeHealth[];
}

export type EvalOutcome = { readonly point: EvalPoint } | { readonly problem: string };

/** Above this many values (vertices × elements × steps) the evaluation point is skipped: it runs on keystrokes. */
export const MAX_EVAL_VALUES = 2e7;

/** ψ(x)/ψ(0) below this counts as a vanished gradient. */
export const VANISHING_RATIO = 1e-3;

class Accumulator {
  min = Infinity;
  max = -Infinity;
  sum = 0;
  count = 0;
  nonFinite = 0;

  add(data: Float64Array): void {
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      this.count++;
      if (!Number.isFinite(x)) {
        this.nonFinite++;
        continue;
      }
      if (x < this.min) this.min = x;
      if (x > this.max) this.max = x;
      this.sum += x;
    }
  }

  stats(): ValueStats {
    const finite = this.count - this.nonFinite;
    return { min: finite ? this.min : NaN, max: finite ? this.max : NaN, mean: finite ? this.sum / finite : NaN, count: this.count, nonFinite: this.nonFinite };
  }
}

function statsOf(t: Tensor): ValueStats {
  const a = new Accumulator();
  a.add(t.data);
  return a.stats();
}

function hasNonFinite(t: Tensor): 'NaN' | 'Infinity' | undefined {
  let inf = false;
  for (let i = 0; i < t.data.length; i++) {
    const x = t.data[i]!;
    if (Number.isNaN(x)) return 'NaN';
    if (!Number.isFinite(x)) inf = true;
  }
  return inf ? 'Infinity' : undefined;
}

/** Collects names, the first non-finite cause and spike health over one or more evaluations. */
class Collector {
  private readonly names = new Map<string, Accumulator>();
  private last = new Map<string, Accumulator>();
  private nonFinite: NonFinite | undefined;
  private readonly spikes = new Map<number, { acc: Accumulator; maxRatio: number; alive: number; total: number; surrogate: Surrogate; range: Range }>();

  constructor(private readonly graph: Graph) {}

  add(values: readonly Tensor[], step?: number): void {
    this.last = new Map();
    for (const v of this.graph.vertices) {
      const value = values[v.id]!;
      if (v.name !== undefined && v.op !== 'const') {
        let acc = this.names.get(v.name);
        if (!acc) this.names.set(v.name, (acc = new Accumulator()));
        acc.add(value.data);
        let now = this.last.get(v.name);
        if (!now) this.last.set(v.name, (now = new Accumulator()));
        now.add(value.data);
      }
      if (!this.nonFinite && v.inputs.length > 0) {
        const bad = hasNonFinite(value);
        if (bad && v.inputs.every((i) => !hasNonFinite(values[i]!))) {
          this.nonFinite = { range: v.range, op: v.op, kind: bad, ...(step !== undefined ? { step } : {}), operands: v.inputs.map((i) => statsOf(values[i]!)) };
        }
      }
      if (v.op === 'spike' && v.attrs.surrogate) {
        const s = v.attrs.surrogate;
        let h = this.spikes.get(v.id);
        if (!h) this.spikes.set(v.id, (h = { acc: new Accumulator(), maxRatio: 0, alive: 0, total: 0, surrogate: s, range: v.range }));
        const x = values[v.inputs[0]!]!.data;
        h.acc.add(x);
        const peak = surrogateDerivative(s, 0);
        for (let i = 0; i < x.length; i++) {
          const r = surrogateDerivative(s, x[i]!) / peak;
          if (r > h.maxRatio) h.maxRatio = r;
          if (r >= VANISHING_RATIO) h.alive++;
          h.total++;
        }
      }
    }
  }

  finish(where: string, steps?: number): EvalPoint {
    const stats = (m: Map<string, Accumulator>): Map<string, ValueStats> => new Map([...m].map(([k, a]) => [k, a.stats()]));
    return {
      where,
      ...(steps !== undefined ? { steps, trajectory: stats(this.names) } : {}),
      names: stats(this.last),
      ...(this.nonFinite ? { nonFinite: this.nonFinite } : {}),
      spikes: [...this.spikes.values()].map((h) => ({
        range: h.range,
        surrogate: h.surrogate,
        maxRatio: h.maxRatio,
        aliveFraction: h.total ? h.alive / h.total : 0,
        input: h.acc.stats(),
      })),
    };
  }
}

function graphValues(g: Graph): number {
  let n = 0;
  for (const v of g.vertices) n += sizeOf(v.shape);
  return n;
}

/** Evaluate `item` at its evaluation point. Never throws for bad input: problems come back as text. */
export function evaluateItem(c: Compiled, item: NamedItem, steps: number, seed = 0): EvalOutcome {
  if (item.hasErrors || item.kind === 'rule') return { problem: `'${item.name}' has no evaluation point` };
  try {
    if (item.kind === 'function' || item.kind === 'grad') {
      const graph = graphOf(c, item);
      if (graphValues(graph) > MAX_EVAL_VALUES) return { problem: 'too large to evaluate while editing' };
      const point = evaluationPoint(c, item, graph);
      const values = evaluate(graph, point.leaves);
      const col = new Collector(graph);
      col.add(values);
      return { point: col.finish(point.description) };
    }
    // The trajectory to graph/point.ts's point: steps 1…T, then the point itself (step T + 1).
    const { scope, graph } = modelStep(c, item);
    if (graphValues(graph) * (steps + 1) > MAX_EVAL_VALUES) return { problem: `too large to evaluate over ${steps} steps while editing` };
    const params = initialParams(scope, seed);
    const data = randomData(scope, steps + 1, seed);
    let states = initialStates(scope);
    const col = new Collector(graph);
    const info = graph.model;
    for (let t = 0; t <= steps; t++) {
      const leaves = new Map<number, Tensor>();
      for (const s of info.states) leaves.set(s.leaf, states.get(s.name)!);
      for (const p of info.params) leaves.set(p.leaf, params.get(p.name)!);
      for (const d of info.data) leaves.set(d.leaf, data.get(d.name)![t]!);
      const values = evaluate(graph, leaves);
      col.add(values, t + 1);
      states = new Map(info.states.map((s) => [s.name, values[s.next]!]));
    }
    return { point: col.finish(`after ${steps} steps on random data (seed ${seed})`, steps + 1) };
  } catch (e) {
    if (e instanceof ItemError || e instanceof InputError) return { problem: e.message };
    return { problem: `evaluation failed: ${(e as Error).message}` };
  }
}

/** The same point with every range moved by `delta` characters (the item moved in the file). */
export function shiftEvalPoint(p: EvalPoint, delta: number): EvalPoint {
  if (delta === 0) return p;
  const sh = (r: Range): Range => ({ start: r.start + delta, end: r.end + delta });
  return {
    ...p,
    ...(p.nonFinite ? { nonFinite: { ...p.nonFinite, range: sh(p.nonFinite.range) } } : {}),
    spikes: p.spikes.map((s) => ({ ...s, range: sh(s.range) })),
  };
}
