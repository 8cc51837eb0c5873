// Cost and memory of a rule, counted on the graph by the elimination engine,
// and its symbolic scaling in the number of neurons n and the length T.
//
// Counted (per step, at the model's sizes):
//   every schedule   phase 1: the step's equation-level blocks from its elemental graph;
//   online           the program's products and sums (derive.ts);
//   reverse, forward, order
//                    the marginal cost of one more step when the unrolled equation
//                    graph is eliminated in that order (schedules.ts).
// Memory:
//   online           the traces carried between steps and those held within a step (independent of T);
//   reverse          the stored states of all T steps (runReverse recomputes blocks);
//   forward, order   the peak of accumulated (fill-in) Jacobians of the elimination.
//
// Symbolic: the degree in n of each product from the storage forms alone —
// a dense block times a dense trace is n·n·|W|, a diagonal one n·|W|/n … —
// with |W| the parameter's size in n (W_rec: n², W_in: n·n_in). Standard
// results (Williams & Zipser 1989; Marschall et al. 2020): RTRL O(n⁴) per
// step and O(n³) memory; e-prop O(n²) and O(n²); BPTT O(n²) per step, O(n²T)
// per sequence and O(nT) memory. `scalingCheck` fits the counted figures at
// several n and compares the exponents.

import { compile } from '../compile.js';
import { sizeOf, type Shape } from '../graph/types.js';
import type { Block } from './blocks.js';
import { modelContext, prepareRule, type ModelContext, type PreparedRule } from './model.js';
import type { RuleSpec } from './rule.js';
import { eliminationCost, equationGraph, scheduleOrder } from './schedules.js';
import { neuronDim, resizeModel } from './variants.js';

export interface RuleCost {
  readonly schedule: RuleSpec['schedule']['kind'];
  /** Runs forward in time with memory independent of T. */
  readonly online: boolean;
  readonly steps: number;
  readonly multiplicationsPerStep: number;
  readonly additionsPerStep: number;
  /** Of the multiplications per step: computing the step's blocks (the same for every schedule). */
  readonly localMultiplicationsPerStep: number;
  readonly memoryBytes: number;
  readonly memory: { readonly traceBytes: number; readonly historyBytes: number };
}

/** Marginal per-step cost of eliminating the unrolled equation graph (steps T1 < T2, difference / (T2 − T1)). */
function unrolledPerStep(ctx: ModelContext, rule: PreparedRule, kind: 'forward' | 'reverse' | readonly string[]): { muls: number; adds: number } {
  const at = (T: number): { muls: number; adds: number } => {
    const eg = equationGraph(ctx.structure, rule.approx.blocks, T);
    const c = eliminationCost(eg, scheduleOrder(eg, kind));
    return { muls: c.multiplications, adds: c.additions };
  };
  const a = at(4);
  const b = at(8);
  return { muls: (b.muls - a.muls) / 4, adds: (b.adds - a.adds) / 4 };
}

/** What a rule costs per step and in memory, counted by the engine. */
export function ruleCost(ctx: ModelContext, rule: PreparedRule, steps: number): RuleCost {
  const s = rule.spec.schedule;
  const local = ctx.structure.local;
  if (s.kind === 'online') {
    const c = rule.derived.cost;
    // Traces carried between steps, and those materialised within a step.
    const traces = c.carriedBytes + c.transientBytes;
    return {
      schedule: 'online',
      online: true,
      steps,
      multiplicationsPerStep: c.multiplications,
      additionsPerStep: c.additions,
      localMultiplicationsPerStep: c.localMultiplications,
      memoryBytes: traces,
      memory: { traceBytes: traces, historyBytes: 0 },
    };
  }
  const kind = s.kind === 'order' ? s.order.map((o) => o.name) : s.kind;
  const per = unrolledPerStep(ctx, rule, kind);
  if (s.kind === 'reverse') {
    let stateBytes = 0;
    for (const x of ctx.structure.states) stateBytes += 8 * sizeOf(x.shape);
    // Truncated BPTT runs window by window: only K steps are held at once.
    const history = stateBytes * (rule.spec.truncate !== undefined ? Math.min(rule.spec.truncate, steps) : steps);
    return {
      schedule: 'reverse',
      online: false,
      steps,
      multiplicationsPerStep: per.muls + local.multiplications,
      additionsPerStep: per.adds + local.additions,
      localMultiplicationsPerStep: local.multiplications,
      memoryBytes: history,
      memory: { traceBytes: 0, historyBytes: history },
    };
  }
  const eg = equationGraph(ctx.structure, rule.approx.blocks, Math.min(steps, 8));
  const acc = eliminationCost(eg, scheduleOrder(eg, kind)).accumulatedPeakBytes;
  return {
    schedule: s.kind,
    online: false,
    steps,
    multiplicationsPerStep: per.muls + local.multiplications,
    additionsPerStep: per.adds + local.additions,
    localMultiplicationsPerStep: local.multiplications,
    memoryBytes: acc,
    memory: { traceBytes: acc, historyBytes: 0 },
  };
}

// ------------------------------------------------------------ symbolic scaling

/** Degrees in n of the compute per step and of the memory, and whether each grows with T. */
export interface Scaling {
  readonly computeDegree: number;
  readonly memoryDegree: number;
  readonly memoryGrowsWithT: boolean;
  /** e.g. "O(n⁴) per step", "O(n³)", "O(nT)". */
  readonly compute: string;
  readonly perSequence: string;
  readonly memory: string;
}

const SUP = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
export function bigO(degree: number, t = false): string {
  const n =
    degree === 0
      ? ''
      : degree === 1
        ? 'n'
        : `n${String(degree)
            .split('')
            .map((d) => SUP[Number(d)])
            .join('')}`;
  const body = `${n}${t ? 'T' : ''}`;
  return `O(${body || '1'})`;
}

/**
 * The degree in n of each quantity, from the storage forms of the rule's
 * blocks and traces, computed on the model at a sentinel size of n (so that
 * every axis of that size is an n axis).
 */
export function symbolicScaling(text: string, model: string, spec: RuleSpec): Scaling {
  const dim = neuronDim(text, model);
  const N = 1009; // a prime no other dim is likely to equal
  const ctx = modelContext(compile(dim ? resizeModel(text, model, { [dim]: N }) : text), model);
  const rule = prepareRule(ctx, spec);
  const deg = (shape: Shape): number => shape.filter((d) => d === N).length;
  const blocks = new Map(rule.approx.blocks.map((b) => [b.id, b]));
  const p = rule.derived.program;
  // A SnAp-2 trace (top(k)) holds (1 + k)·n of its n × n state–row pairs: one degree less.
  const traceDeg = new Map(p.traces.map((t) => [t.name, deg(t.valueShape) - (t.pattern ? 1 : 0)]));
  const paramDeg = new Map(p.params.map((w) => [w.name, deg(w.shape)]));
  const stateDeg = new Map(p.states.map((s) => [s.name, deg(s.shape)]));
  // The cost of E·G: a dense E [A×B] sums over B for every result value of a dense G; otherwise one product per result value.
  const productDeg = (b: Block, gStorage: string, gDeg: number, param: string, into?: string): number => {
    const A = deg(b.sparsity.outShape);
    const B = deg(b.sparsity.inShape);
    // Into a SnAp-2 trace: each kept entry sums over the k kept entries of a row of the block.
    if (into && p.traces.find((x) => x.name === into)?.pattern) return traceDeg.get(into)!;
    if (b.form !== 'dense') return gStorage === 'shared' && b.form === 'diagonal' ? A + paramDeg.get(param)! - 1 : gDeg;
    return gStorage === 'dense' ? A + B + paramDeg.get(param)! : A + paramDeg.get(param)!;
  };
  let compute = 0;
  const localDeg = Math.max(0, ...rule.approx.blocks.map((b) => deg(b.valueShape)));
  let memory = 0;
  let growsT = false;
  const s = spec.schedule.kind;
  if (s === 'online' || s === 'forward' || s === 'order') {
    // Forward-mode eliminations carry the same sensitivities as the program (all of them, carried or not).
    for (const t of p.traces) {
      for (const term of t.terms) {
        const src = p.traces.find((x) => x.name === term.trace)!;
        compute = Math.max(
          compute,
          term.pulled ? traceDeg.get(src.name)! : productDeg(blocks.get(term.block)!, src.storage, traceDeg.get(src.name)!, t.param, t.name),
        );
      }
      compute = Math.max(compute, traceDeg.get(t.name)!);
      memory = Math.max(memory, traceDeg.get(t.name)!);
    }
    for (const sig of p.signals)
      for (const term of sig.terms) {
        const b = blocks.get(term.block)!;
        compute = Math.max(compute, b.form === 'dense' ? deg(b.sparsity.outShape) + deg(b.sparsity.inShape) : deg(b.sparsity.inShape));
      }
    compute = Math.max(compute, localDeg);
    // Every update touches each entry of its parameter once per step (ΔW += λ ⊗ z̄ is n² even with O(n) traces).
    for (const u of p.updates) compute = Math.max(compute, paramDeg.get(u.param)!);
  } else {
    // BPTT: vector-Jacobian products with every block, per step; the states of every step are stored.
    for (const b of rule.approx.blocks) {
      const d =
        b.wrt.kind === 'param' ? paramDeg.get(b.wrt.name)! : b.form === 'dense' ? deg(b.sparsity.outShape) + deg(b.sparsity.inShape) : deg(b.sparsity.inShape);
      compute = Math.max(compute, d);
    }
    compute = Math.max(compute, localDeg);
    memory = Math.max(0, ...[...stateDeg.values()]);
    // Truncated BPTT holds K steps, not T.
    growsT = spec.truncate === undefined;
  }
  return {
    computeDegree: compute,
    memoryDegree: memory,
    memoryGrowsWithT: growsT,
    compute: `${bigO(compute)} per step`,
    perSequence: bigO(compute, true),
    memory: bigO(memory, growsT),
  };
}

export interface ScalingRow {
  readonly n: number;
  readonly multiplicationsPerStep: number;
  readonly memoryBytes: number;
}

export interface ScalingCheck {
  readonly symbolic: Scaling;
  readonly rows: readonly ScalingRow[];
  /** Log-log slope between the two largest n. */
  readonly measuredComputeExponent: number;
  readonly measuredMemoryExponent: number;
  /** |measured − symbolic| < 0.5 for both: the measured slope rounds to the symbolic degree (lower-order terms bend small n). */
  readonly agrees: boolean;
}

export function slope(x1: number, y1: number, x2: number, y2: number): number {
  return y1 > 0 && y2 > 0 ? Math.log(y2 / y1) / Math.log(x2 / x1) : 0;
}

/** Counts the rule at several n and compares the growth with the symbolic degrees. */
export function scalingCheck(text: string, model: string, spec: RuleSpec, ns: readonly number[], steps: number): ScalingCheck {
  const dim = neuronDim(text, model);
  if (!dim) throw new Error(`model '${model}' has no neuron dim to scale`);
  const rows = ns.map((n) => {
    const ctx = modelContext(compile(resizeModel(text, model, { [dim]: n })), model);
    const c = ruleCost(ctx, prepareRule(ctx, spec), steps);
    return { n, multiplicationsPerStep: c.multiplicationsPerStep, memoryBytes: c.memoryBytes };
  });
  const symbolic = symbolicScaling(text, model, spec);
  const a = rows[rows.length - 2]!;
  const b = rows[rows.length - 1]!;
  const mc = slope(a.n, a.multiplicationsPerStep, b.n, b.multiplicationsPerStep);
  const mm = slope(a.n, a.memoryBytes, b.n, b.memoryBytes);
  return {
    symbolic,
    rows,
    measuredComputeExponent: mc,
    measuredMemoryExponent: mm,
    agrees: Math.abs(mc - symbolic.computeDegree) < 0.5 && Math.abs(mm - symbolic.memoryDegree) < 0.5,
  };
}
