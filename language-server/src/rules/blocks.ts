// The equation-level Jacobian blocks of one model step, and the rule's
// approximations applied to them.
//
// A rule speaks about blocks ∂A/∂B: equation A (a state's update a[t+1], or
// the loss) with respect to an operand B it reads directly, through lets
// (LANGUAGE.md §3). On the linearized step graph these are the edges left
// after eliminating every interior vertex except the states' t+1 values
// ("phase 1"): then every edge runs from a state at t, a parameter or a state
// at t+1 into a state at t+1 or the loss. The elimination engine (ad/) does
// that, symbolically for the structure and costs, numerically for values at
// each step; this file only picks the blocks out, classifies their storage
// (program.ts) and applies approximations.

import type { Range } from '../lang/ast.js';
import type { ModelScope } from '../lang/symbols.js';
import type { ModelStepGraph } from '../graph/build.js';
import { evaluate, isBinary, isUnary, LEAF_OPS } from '../graph/evaluate.js';
import { sizeOf, type Graph, type Shape, type Tensor } from '../graph/types.js';
import { Eliminator } from '../ad/eliminate.js';
import { linearize, type LinearEdge, type LinearizedGraph } from '../ad/linearize.js';
import { partialJacobian } from '../ad/rules.js';
import {
  addJacobians, diagonalSparsity, entryAt, shapesEqual, toDense,
  type Sparsity, type SparseJacobian,
} from '../ad/sparsity.js';
import type { BlockApproximation, BlockForm, FeedbackSpec, Operand } from './program.js';
import { defaultFeedbackScale, feedbackMatrix, feedbackProducts, pathVertices, sharedParamBlock, uniformPath } from './kinds.js';
import { scaledIdentitySparsity } from '../ad/sparsity.js';

// ------------------------------------------------------------ structure

export interface StateInfo {
  readonly name: string;
  readonly shape: Shape;
  readonly leaf: number;
  /** The vertex of s[t+1]; null for a state without an update (it stays at its initial value). */
  readonly next: number | null;
}

/** An exact equation-level block, before approximation. */
export interface RawBlock {
  /** State name (its update) or 'loss'. */
  readonly of: string;
  readonly wrt: Operand;
  readonly src: number;
  readonly dst: number;
  readonly sparsity: Sparsity;
  /** Its values depend on parameters and constants only (the same at every step). */
  readonly constant: boolean;
}

/** The equation-level view of one model step. */
export interface StepStructure {
  readonly model: string;
  readonly scope: ModelScope;
  readonly graph: ModelStepGraph;
  /** Every state, in declaration order. */
  readonly states: readonly StateInfo[];
  /** States with an update, in the equations' evaluation order. */
  readonly updated: readonly StateInfo[];
  readonly params: readonly { readonly name: string; readonly shape: Shape; readonly leaf: number }[];
  readonly loss: number | null;
  /** Phase 1: the interior vertices eliminated to get the blocks, ascending (forward). */
  readonly interior: readonly number[];
  readonly blocks: readonly RawBlock[];
  /** Cost of phase 1 (per step), counted by the engine. */
  readonly local: { readonly multiplications: number; readonly additions: number; readonly fillIn: number };
}

export function blockId(of: string, wrt: Operand): string {
  const a = of === 'loss' ? 'loss' : `${of}[t+1]`;
  const b = wrt.kind === 'param' ? wrt.name : `${wrt.name}[${wrt.offset === 1 ? 't+1' : 't'}]`;
  return `d ${a}/d ${b}`;
}

/**
 * Which vertices' values change from step to step: those that depend on a
 * state or on data (inputs, targets). Parameters and constants do not.
 */
function timeVarying(graph: ModelStepGraph): Uint8Array {
  const tv = new Uint8Array(graph.vertices.length);
  for (const v of graph.vertices) {
    if (v.op === 'state' || v.op === 'input' || v.op === 'target') tv[v.id] = 1;
    else if (!LEAF_OPS.has(v.op)) tv[v.id] = v.inputs.some((u) => tv[u] === 1) ? 1 : 0;
  }
  return tv;
}

/** Whether the partial ∂v/∂(operand k) changes from step to step (it is a function of the operands' values). */
function partialVaries(graph: Graph, tv: Uint8Array, id: number, k: number): boolean {
  const v = graph.vertices[id]!;
  const ins = v.inputs;
  const any = (): boolean => ins.some((u) => tv[u] === 1);
  switch (v.op) {
    case 'add': case 'sub': case 'sum': case 'broadcast': case 'transpose': case 'reshape': case 'slice': case 'concat': case 'neg': case 'stop':
      return false;
    case 'mul': case 'matmul':
      return tv[ins[1 - k]!] === 1;
    case 'div':
      return k === 0 ? tv[ins[1]!] === 1 : any();
    default:
      if (isUnary(v.op) || isBinary(v.op)) return any();
      return any();
  }
}

/** The structure of a model step: states, parameters, phase-1 blocks and which are constant. */
export function stepStructure(scope: ModelScope, graph: ModelStepGraph): StepStructure {
  const info = graph.model;
  const states: StateInfo[] = info.states.map((s) => ({
    name: s.name, shape: graph.vertices[s.leaf]!.shape, leaf: s.leaf, next: s.next === s.leaf ? null : s.next,
  }));
  const updated = states.filter((s) => s.next !== null).sort((a, b) => a.next! - b.next!);
  const params = info.params.map((p) => ({ name: p.name, shape: graph.vertices[p.leaf]!.shape, leaf: p.leaf }));
  const loss = info.loss ?? null;
  const nexts = new Set(updated.map((s) => s.next!));
  const lin = linearize(graph);
  const interior = lin.eliminable.filter((v) => !nexts.has(v) && v !== loss);
  const el = Eliminator.symbolic(graph);
  for (const v of interior) el.eliminate(v);

  // Which operand each remaining source is.
  const operandOf = new Map<number, Operand>();
  for (const s of states) operandOf.set(s.leaf, { name: s.name, kind: 'state', offset: 0 });
  for (const s of updated) operandOf.set(s.next!, { name: s.name, kind: 'state', offset: 1 });
  for (const p of params) operandOf.set(p.leaf, { name: p.name, kind: 'param', offset: 0 });

  // Constant blocks: no partial on any path src ⇝ dst (through eliminated vertices) varies in time.
  const tv = timeVarying(graph);
  const eliminated = new Uint8Array(graph.vertices.length);
  for (const v of interior) eliminated[v] = 1;
  const varyingFrom = (src: number): Uint8Array => {
    // reach[v]: 1 reached by constant partials only, 2 through a varying one.
    const reach = new Uint8Array(graph.vertices.length);
    reach[src] = 1;
    for (const e of lin.edges) {
      // Edges are ordered by dst, and dst ids are topological: one pass suffices.
      if (reach[e.src] === 0) continue;
      if (e.src !== src && !eliminated[e.src]) continue;
      const varies = reach[e.src] === 2 || graph.vertices[e.dst]!.inputs.some((u, k) => u === e.src && partialVaries(graph, tv, e.dst, k));
      const r = varies ? 2 : 1;
      if (r > reach[e.dst]!) reach[e.dst] = r;
    }
    return reach;
  };

  const blocks: RawBlock[] = [];
  const dsts: { of: string; vertex: number }[] = [...updated.map((s) => ({ of: s.name, vertex: s.next! })), ...(loss !== null ? [{ of: 'loss', vertex: loss }] : [])];
  const reachCache = new Map<number, Uint8Array>();
  for (const d of dsts) {
    for (const e of el.inEdges(d.vertex)) {
      const wrt = operandOf.get(e.src);
      if (!wrt) throw new Error(`internal: block source ${e.src} of ${d.of} is not a state, parameter or state[t+1]`);
      if (e.sparsity.form === 'zero') continue;
      let reach = reachCache.get(e.src);
      if (!reach) reachCache.set(e.src, (reach = varyingFrom(e.src)));
      blocks.push({ of: d.of, wrt, src: e.src, dst: d.vertex, sparsity: e.sparsity, constant: reach[d.vertex] !== 2 });
    }
  }
  // Sources in a stable order: states at t, states at t+1, parameters (declaration order).
  const rank = (o: Operand): number => (o.kind === 'param' ? 2e6 + params.findIndex((p) => p.name === o.name) : (o.offset === 1 ? 1e6 : 0) + states.findIndex((s) => s.name === o.name));
  const eqRank = (of: string): number => (of === 'loss' ? 1e9 : updated.findIndex((s) => s.name === of));
  blocks.sort((a, b) => eqRank(a.of) - eqRank(b.of) || rank(a.wrt) - rank(b.wrt));
  return {
    model: graph.name, scope, graph, states, updated, params, loss, interior, blocks,
    local: { multiplications: el.multiplications, additions: el.additions, fillIn: el.fillIn },
  };
}

// ------------------------------------------------------------ approximations

export type { ApproxKind } from '../lang/approximations.js';
import type { ApproxKind } from '../lang/approximations.js';

/** One `approximate d(A)/d(B) = kind` line, resolved to names. */
export interface Approximation {
  /** State name or 'loss'. */
  readonly of: string;
  readonly wrt: string;
  /** 0: B[t] (or a parameter), 1: B[t+1]. */
  readonly wrtOffset: 0 | 1;
  readonly kind: ApproxKind;
  /** The kind's arguments as written (`random(scale = 0.1)`), by name. */
  readonly args?: Readonly<Record<string, number>>;
  /**
   * `top(k)`: the pattern as chosen on data (flat indices row·n + column, k per row, ascending; rules/topk.ts),
   * when it was chosen elsewhere — find-rule chooses it while planning and sends it with the rule to a worker.
   * Not written in rule text: a rule's text chooses its pattern on the data it runs on.
   */
  readonly mask?: readonly number[];
  readonly range?: Range;
}

/** A block as the program uses it: after approximation, with its storage form. */
export interface Block {
  readonly id: string;
  readonly of: string;
  readonly wrt: Operand;
  readonly src: number;
  readonly dst: number;
  /** The exact block's sparsity. */
  readonly exact: Sparsity;
  /** The sparsity after approximation (what costs and trace structures are computed from). */
  readonly sparsity: Sparsity;
  readonly approximation: BlockApproximation;
  readonly form: BlockForm;
  readonly valueShape: Shape;
  readonly constant: boolean;
  /** `random`: the fixed matrices used in place of W at the block's `W @ operand` products. */
  readonly feedback?: FeedbackSpec;
  /** `top(k)`: entries kept per row; `mask` (chosen from data, rules/topk.ts) the kept flat indices. */
  readonly top?: number;
  readonly mask?: readonly number[];
}

/** A learning signal the rule adds (`local`): λ^{to} += λ^{from} · R, R a fixed random [size(from) × size(to)] matrix. */
export interface FeedbackBlock {
  readonly id: string;
  /** The output state whose learning signal is fed back. */
  readonly from: string;
  /** The layer's state that receives it (the operand of the `local` block, through delay registers). */
  readonly to: string;
  readonly shape: Shape;
  readonly feedback: FeedbackSpec;
}

export interface ApproximatedBlocks {
  readonly blocks: readonly Block[];
  readonly dropped: readonly { readonly of: string; readonly wrt: Operand; readonly approximation: 'zero' | 'stop' | 'local'; readonly src: number; readonly dst: number }[];
  /** Approximations that could not be applied (located when the approximation has a range). */
  readonly problems: readonly ApproxProblem[];
  /** States marked `filter` (their self block is a scalar decay). */
  readonly filters?: ReadonlySet<string>;
  /** Learning signals added by `local` blocks. */
  readonly feedback?: readonly FeedbackBlock[];
}

/** An approximation that cannot apply (error) or does nothing (warning); codes and severities as the catalogue (util/codes.ts) has them. */
export type ApproxProblem = { readonly approximation: Approximation; readonly message: string } & (
  | { readonly severity: 'error'; readonly code: 'rule.no-block' | 'rule.data-block' | 'rule.not-square' | 'rule.not-filter' | 'rule.no-feedback' | 'rule.not-local' | 'rule.top-range' }
  | { readonly severity: 'warning'; readonly code: 'rule.zero-block' | 'rule.duplicate-approximation' }
);

/** The storage form of a sparsity (program.ts table), and the shape of its stored values. */
export function classify(s: Sparsity): { form: BlockForm; valueShape: number[] } {
  const out = s.outShape;
  const inn = s.inShape;
  if (shapesEqual(out, inn) && (out.length === 0 || s.form === 'flat')) return { form: 'scalar', valueShape: [1] };
  if (s.form === 'tensor') {
    const identityPairs = shapesEqual(out, inn) && s.pairs.length === out.length
      && s.pairs.every((p) => p.out === p.in && p.offset === 0 && p.lo === 0 && p.hi === out[p.out]);
    if (identityPairs) {
      return s.pairs.some((p) => p.stored) ? { form: 'diagonal', valueShape: [...out] } : { form: 'scalar', valueShape: [1] };
    }
    const p = s.pairs[0];
    if (out.length === 1 && inn.length >= 1 && s.pairs.length === 1 && p && p.out === 0 && p.in === 0 && p.offset === 0
      && p.lo === 0 && p.hi === out[0] && out[0] === inn[0] && s.in.slice(1).every((d) => d.kind === 'dense' || d.kind === 'replicated')) {
      return p.stored ? { form: 'row', valueShape: [out[0]!, ...inn.slice(1)] } : { form: 'shared', valueShape: inn.slice(1) };
    }
  }
  return { form: 'dense', valueShape: [...out, ...inn] };
}

function sameOperand(a: Operand, name: string, offset: 0 | 1): boolean {
  return a.name === name && (a.kind === 'param' || a.offset === offset);
}

/** Applies approximations to the exact blocks. Unknown or inapplicable ones become problems, never exceptions. */
export function approximate(structure: StepStructure, approximations: readonly Approximation[]): ApproximatedBlocks {
  const problems: ApproxProblem[] = [];
  const interior = interiorMask(structure);
  const chosen = new Map<RawBlock, Approximation>();
  const scope = structure.scope;
  for (const a of approximations) {
    const label = `d(${a.of === 'loss' ? 'loss' : `${a.of}[t+1]`})/d(${a.wrt}${a.wrtOffset === 1 ? '[t+1]' : ''})`;
    const sym = scope.symbols.get(a.wrt);
    if (sym && (sym.kind === 'input' || sym.kind === 'target')) {
      problems.push({ approximation: a, code: 'rule.data-block', severity: 'error', message: `the block ${label} does not exist: '${a.wrt}' is ${sym.kind === 'input' ? 'an input' : 'a target'} (data), which has no gradient to approximate` });
      continue;
    }
    const raw = structure.blocks.find((b) => b.of === a.of && sameOperand(b.wrt, a.wrt, a.wrtOffset));
    if (!raw) {
      const reads = scope.reads.get(a.of);
      const readsIt = reads && [...reads].some((r) => r === `${a.wrt}@${sym?.kind === 'param' ? 0 : a.wrtOffset}`);
      const has = structure.blocks.filter((b) => b.of === a.of).map((b) => (b.wrt.kind === 'param' || b.wrt.offset === 0 ? b.wrt.name : `${b.wrt.name}[t+1]`));
      problems.push(readsIt
        ? { approximation: a, code: 'rule.zero-block', severity: 'warning', message: `the block ${label} is zero already (no gradient flows there, e.g. through stop() or a constant); the approximation changes nothing` }
        : { approximation: a, code: 'rule.no-block', severity: 'error', message: `the block ${label} does not exist${has.length ? `: its blocks are with respect to ${has.join(', ')}` : ''}` });
      continue;
    }
    if (chosen.has(raw)) {
      problems.push({ approximation: a, code: 'rule.duplicate-approximation', severity: 'warning', message: `the block ${label} is approximated twice; the last line wins` });
    }
    if (a.kind === 'diagonal' && !shapesEqual(raw.sparsity.outShape, raw.sparsity.inShape)) {
      problems.push({ approximation: a, code: 'rule.not-square', severity: 'error', message: `the block ${label} is [${raw.sparsity.outShape}]×[${raw.sparsity.inShape}], not square: it has no diagonal to keep` });
      continue;
    }
    const why = kindProblem(structure, raw, a, label, interior);
    if (why) {
      problems.push(why);
      continue;
    }
    chosen.set(raw, a);
  }
  const filters = new Set([...chosen].filter(([, a]) => a.kind === 'filter').map(([raw]) => raw.of));
  const feedback: FeedbackBlock[] = [];
  const blocks: Block[] = [];
  const dropped: ApproximatedBlocks['dropped'][number][] = [];
  for (const raw of structure.blocks) {
    const a = chosen.get(raw);
    if (a && (a.kind === 'zero' || a.kind === 'stop' || a.kind === 'local')) {
      dropped.push({ of: raw.of, wrt: raw.wrt, approximation: a.kind, src: raw.src, dst: raw.dst });
      if (a.kind === 'local') feedback.push(...localFeedback(structure, raw, a, feedback.length));
      continue;
    }
    let sparsity = raw.sparsity;
    let approximation: BlockApproximation = 'exact';
    let extra: Pick<Block, 'feedback' | 'top'> = {};
    if (a?.kind === 'dense') approximation = 'dense';
    if (filters.has(raw.of) && raw.of !== 'loss') {
      // A scalar filter's blocks, read as the structure guarantees (exact): c·I where every partial on the
      // way is one (the decay κ, a sum's ±1), the shared vector δ(j = j')·v[r] of a parameter read only as W @ v.
      const f = filterSparsity(structure, raw, interior);
      if (f) {
        sparsity = f;
        approximation = 'filter';
      }
    }
    if (a?.kind === 'random') {
      approximation = 'random';
      extra = { feedback: randomFeedback(structure, raw, a, interior) };
    }
    if (a?.kind === 'top') {
      approximation = 'top';
      extra = { top: a.args?.k ?? 1, ...(a.mask ? { mask: a.mask } : {}) };
    }
    if (a?.kind === 'diagonal') {
      // A block that is diagonal already stays exact.
      const c = classify(raw.sparsity).form;
      if (c !== 'scalar' && c !== 'diagonal') {
        approximation = 'diagonal';
        sparsity = diagonalSparsity(raw.sparsity.outShape);
      }
    }
    let { form, valueShape } = classify(sparsity);
    // Between states only scalar, diagonal and dense blocks are used by the executors.
    if (raw.wrt.kind === 'state' && (form === 'shared' || form === 'row')) {
      form = 'dense';
      valueShape = [...sparsity.outShape, ...sparsity.inShape];
    }
    blocks.push({
      id: blockId(raw.of, raw.wrt), of: raw.of, wrt: raw.wrt, src: raw.src, dst: raw.dst, exact: raw.sparsity, sparsity,
      approximation, form, valueShape, constant: raw.constant, ...extra,
    });
  }
  return { blocks, dropped, problems, ...(filters.size ? { filters } : {}), ...(feedback.length ? { feedback } : {}) };
}

function interiorMask(structure: StepStructure): Uint8Array {
  const m = new Uint8Array(structure.graph.vertices.length);
  for (const v of structure.interior) m[v] = 1;
  return m;
}

/** Why a `filter`, `random`, `local` or `top` line cannot apply to its block (null: it can). */
function kindProblem(structure: StepStructure, raw: RawBlock, a: Approximation, label: string, interior: Uint8Array): ApproxProblem | null {
  const g = structure.graph;
  const err = (code: Extract<ApproxProblem, { severity: 'error' }>['code'], message: string): ApproxProblem => ({ approximation: a, code, severity: 'error', message });
  switch (a.kind) {
    case 'filter':
      if (raw.of === 'loss' || raw.wrt.kind !== 'state' || raw.wrt.name !== raw.of || raw.wrt.offset !== 0) {
        return err('rule.not-filter', `'filter' names a state's decay, d(o[t+1])/d(o) for a filter o[t+1] = κ·o + …; ${label} is not a state's dependence on itself`);
      }
      if (!uniformPath(g, interior, raw.src, raw.dst)) {
        return err('rule.not-filter', `${label} is not a scalar decay κ·I (every path from ${raw.of} to ${raw.of}[t+1] must be a sum or a product with one scalar): the eligibility trace cannot be filtered in place of one trace per element`);
      }
      return null;
    case 'random': {
      if (raw.wrt.kind !== 'state') return err('rule.no-feedback', `random feedback replaces the matrix through which a learning signal reaches a state; ${label} is with respect to a parameter`);
      const p = feedbackProducts(g, interior, raw.src, raw.dst);
      if (typeof p === 'string') return err('rule.no-feedback', `random feedback cannot replace ${label}: ${p}`);
      return null;
    }
    case 'local': {
      if (raw.of === 'loss' || raw.wrt.kind !== 'state') return err('rule.not-local', `'local' cuts the credit from one layer's state to another's (d(I2[t+1])/d(S1)); ${label} is ${raw.of === 'loss' ? 'the loss' : 'a parameter block'}`);
      const src = sourceState(structure, raw.wrt.name);
      const outs = outputStates(structure);
      if (!outs.length) return err('rule.not-local', `the loss reads no state at t+1, so there is no output error to feed back to ${src}; use 'random' on the loss's block instead`);
      const order = structure.updated.map((x) => x.name);
      const late = outs.filter((o) => order.indexOf(o) <= order.indexOf(src));
      if (outs.includes(src)) return err('rule.not-local', `${src} is an output state the loss reads: it has its learning signal already`);
      if (late.length) return err('rule.not-local', `the output state${late.length === 1 ? '' : 's'} ${late.join(', ')} ${late.length === 1 ? 'is' : 'are'} computed before ${src} in a step: its learning signal cannot feed back to ${src} within the step`);
      return null;
    }
    case 'top': {
      const f = classify(raw.sparsity).form;
      const k = a.args?.k ?? 0;
      if (f !== 'dense' || raw.wrt.kind !== 'state' || raw.wrt.offset !== 0 || raw.of === 'loss') {
        return err('rule.top-range', `top(k) sparsifies a dense block between states across a step (d(u[t+1])/d(z)); ${label} is ${raw.of === 'loss' ? 'a loss block' : raw.wrt.kind === 'param' ? 'a parameter block' : raw.wrt.offset === 1 ? 'within the step' : f}`);
      }
      const row = sizeOf(raw.sparsity.inShape);
      if (!(k >= 1) || k > row) return err('rule.top-range', `top(${k}) of ${label}: k must be between 1 and its row length ${row}`);
      if (a.mask) {
        // A pattern that came with the rule (from another process): k ascending columns in every row.
        const rows = sizeOf(raw.sparsity.outShape);
        const m = a.mask;
        const ok = m.length === rows * k && m.every((i, n) => Number.isInteger(i) && Math.floor(i / row) === Math.floor(n / k) && (n % k === 0 || i > m[n - 1]!));
        if (!ok) return err('rule.top-range', `top(${k}) of ${label}: the given pattern is not ${k} ascending columns in each of its ${rows} rows (${rows * row} entries)`);
      }
      return null;
    }
    default:
      return null;
  }
}

/** The state a delay register holds (z_delay2 → z), or the state itself. */
export function sourceState(structure: StepStructure, name: string): string {
  const h = structure.scope.hidden.find((x) => x.name === name);
  return h?.kind === 'delay' && h.sourceRole === 'state' ? sourceState(structure, h.source) : name;
}

/** The states the loss reads at t+1: the network's output, whose learning signal is the output error. */
export function outputStates(structure: StepStructure): string[] {
  return [...new Set(structure.blocks.filter((b) => b.of === 'loss' && b.wrt.kind === 'state' && b.wrt.offset === 1).map((b) => b.wrt.name))];
}

/** A scalar filter's block as its structure guarantees it: c·I, or the shared vector of a parameter block; null: as it is. */
function filterSparsity(structure: StepStructure, raw: RawBlock, interior: Uint8Array): Sparsity | null {
  const g = structure.graph;
  const { outShape, inShape } = raw.sparsity;
  if (raw.wrt.kind === 'state') return shapesEqual(outShape, inShape) && uniformPath(g, interior, raw.src, raw.dst) ? scaledIdentitySparsity(outShape) : null;
  return sharedParamBlock(g, interior, raw.src, raw.dst, outShape, inShape);
}

function randomFeedback(structure: StepStructure, raw: RawBlock, a: Approximation, interior: Uint8Array): FeedbackSpec {
  const g = structure.graph;
  const products = feedbackProducts(g, interior, raw.src, raw.dst) as { matmul: number; param: number }[];
  const seed = a.args?.seed ?? 1;
  const scale = a.args?.scale ?? defaultFeedbackScale(sizeOf(g.vertices[raw.src]!.shape));
  return {
    seed, scale,
    matrices: products.map((p, k) => ({ param: g.vertices[p.param]!.name ?? null, matmul: p.matmul, shape: g.vertices[p.param]!.shape, seed: seed + k })),
  };
}

function localFeedback(structure: StepStructure, raw: RawBlock, a: Approximation, counter: number): FeedbackBlock[] {
  const to = sourceState(structure, raw.wrt.name);
  const size = sizeOf(structure.states.find((x) => x.name === to)!.shape);
  const seed = a.args?.seed ?? 1;
  const scale = a.args?.scale ?? defaultFeedbackScale(size);
  return outputStates(structure).map((from, k) => {
    const shape = [sizeOf(structure.states.find((x) => x.name === from)!.shape), size];
    return {
      id: `feedback ${from}→${to}`, from, to, shape,
      feedback: { seed, scale, matrices: [{ param: null, matmul: -1, shape, seed: seed + 101 * (counter + k) }] },
    };
  });
}

// ------------------------------------------------------------ values

/** Extracts a block's stored values (program.ts layouts) from a numeric Jacobian. */
export function blockValues(j: SparseJacobian, form: BlockForm, valueShape: Shape): Float64Array {
  const fast = storedInLayout(j, form, valueShape);
  if (fast) return fast;
  const s = j.sparsity;
  const out = s.outShape;
  const inn = s.inShape;
  const n = sizeOf(valueShape);
  const values = new Float64Array(n);
  const o = new Int32Array(out.length);
  const p = new Int32Array(inn.length);
  const unflat = (f: number, shape: Shape, into: Int32Array, from = 0): void => {
    for (let k = shape.length - 1; k >= from; k--) {
      into[k] = f % shape[k]!;
      f = Math.floor(f / shape[k]!);
    }
  };
  switch (form) {
    case 'scalar':
      values[0] = entryAt(j, o, p);
      return values;
    case 'diagonal':
      for (let f = 0; f < n; f++) {
        unflat(f, out, o);
        p.set(o);
        values[f] = entryAt(j, o, p);
      }
      return values;
    case 'shared': {
      const rest = inn.slice(1);
      for (let f = 0; f < n; f++) {
        o[0] = 0;
        p[0] = 0;
        unflat(f, [0, ...rest], p, 1);
        values[f] = entryAt(j, o, p);
      }
      return values;
    }
    case 'row': {
      const rest = inn.slice(1);
      const m = sizeOf(rest);
      for (let f = 0; f < n; f++) {
        const row = Math.floor(f / m);
        o[0] = row;
        p[0] = row;
        unflat(f % m, [0, ...rest], p, 1);
        values[f] = entryAt(j, o, p);
      }
      return values;
    }
    case 'dense':
      return toDense(j);
  }
}

/**
 * The engine stores values over the dense and diagonal axes in the order
 * out then in (ad/sparsity.ts); where those are exactly the program layout's
 * axes, the stored values are the block's values as they are.
 */
function storedInLayout(j: SparseJacobian, form: BlockForm, valueShape: Shape): Float64Array | null {
  const s = j.sparsity;
  if (!j.values || s.form !== 'tensor' || s.valueCount !== sizeOf(valueShape)) return null;
  const stored = (d: (typeof s.out)[number]): boolean => d.kind === 'pair' && s.pairs[d.pair]!.stored;
  switch (form) {
    case 'scalar':
      return s.valueCount === 1 ? j.values : null;
    case 'diagonal':
      return s.out.every(stored) ? j.values : null;
    case 'shared': case 'row':
      return s.in.slice(1).every((d) => d.kind === 'dense') && (form === 'row') === stored(s.out[0]!) ? j.values : null;
    case 'dense':
      return s.out.every((d) => d.kind === 'dense') && s.in.every((d) => d.kind === 'dense') ? j.values : null;
  }
}

/** Values of all states, params and one step's data, by name. */
export interface StepPoint {
  /** The step's index in its sequence (0-based): a recorded tape replays by it. */
  readonly t?: number;
  readonly states: ReadonlyMap<string, Tensor>;
  readonly params: ReadonlyMap<string, Tensor>;
  /** Input and target values for this step (x[t+1], y[t+1]). */
  readonly data: ReadonlyMap<string, Tensor>;
}

export interface StepResult {
  /** The states at t+1 (states without an update keep their value). */
  readonly next: Map<string, Tensor>;
  readonly loss: number;
  /** Block values in program layouts, keyed by block id. */
  readonly values: Map<string, Float64Array>;
  /** The same blocks as the engine's sparse Jacobians (approximations applied). */
  readonly jacobians: Map<string, SparseJacobian>;
  /** Every vertex's value at this step (absent when replayed from a tape). */
  readonly vertexValues?: readonly Tensor[];
}

/** What executors step through: a model step with its (approximated) blocks. */
export interface StepEvaluator {
  readonly structure: StepStructure;
  step(point: StepPoint): StepResult;
}

/** The approximated blocks' values and Jacobians from the exact blocks' Jacobians. */
export function approximateValues(blocks: readonly Block[], exact: ReadonlyMap<string, SparseJacobian>): { values: Map<string, Float64Array>; jacobians: Map<string, SparseJacobian> } {
  const values = new Map<string, Float64Array>();
  const jacobians = new Map<string, SparseJacobian>();
  for (const b of blocks) {
    const j = exact.get(b.id);
    let v: Float64Array;
    let jac: SparseJacobian;
    if (!j || j.sparsity.form === 'zero') {
      v = new Float64Array(sizeOf(b.valueShape));
      jac = { sparsity: b.sparsity, values: b.sparsity.hasValues ? new Float64Array(b.sparsity.valueCount) : null };
    } else {
      if (b.feedback) throw new Error(`internal: the random feedback block ${b.id} cannot be replayed from the exact blocks`);
      v = blockValues(j, b.form, b.valueShape);
      if (b.mask) v = masked(v, b.mask);
      // A diagonal kept from a fuller block: the engine's diagonal sparsity stores exactly these values.
      jac = b.sparsity === b.exact && !b.mask ? j : { sparsity: b.sparsity, values: b.sparsity.hasValues ? (b.form === 'scalar' ? new Float64Array(b.sparsity.valueCount).fill(v[0]!) : v) : null };
    }
    values.set(b.id, v);
    jacobians.set(b.id, jac);
  }
  return { values, jacobians };
}

/** A copy of dense block values with only the masked entries kept (top(k)). */
export function masked(v: Float64Array, mask: readonly number[]): Float64Array {
  const out = new Float64Array(v.length);
  for (const i of mask) out[i] = v[i]!;
  return out;
}

/** Whether a tape of exact blocks can stand in for a rule's blocks (random feedback blocks are computed with other matrices). */
export function replayable(blocks: readonly Block[]): boolean {
  return blocks.every((b) => !b.feedback);
}

/**
 * A random feedback block's value: the block's cone eliminated again with the partial of every
 * `W @ operand` product taken with the fixed matrix R in place of W (rules/kinds.ts feedbackMatrix).
 */
export function feedbackJacobian(structure: StepStructure, b: Block, values: readonly Tensor[]): SparseJacobian | null {
  const g = structure.graph;
  const interior = new Uint8Array(g.vertices.length);
  for (const v of structure.interior) interior[v] = 1;
  const on = pathVertices(g, interior, b.src, b.dst);
  const swap = new Map(b.feedback!.matrices.map((m) => [m.matmul, { shape: m.shape, data: feedbackMatrix(m.seed, m.shape, b.feedback!.scale) } as Tensor]));
  const edges: LinearEdge[] = [];
  for (const id of [...on].sort((x, y) => x - y)) {
    if (id === b.src) continue;
    const v = g.vertices[id]!;
    const seen = new Set<number>();
    for (const u of v.inputs) {
      if (!on.has(u) || seen.has(u)) continue;
      seen.add(u);
      let acc: SparseJacobian | null = null;
      v.inputs.forEach((w, k) => {
        if (w !== u) return;
        const ins = v.inputs.map((x) => values[x]!);
        const r = swap.get(id);
        if (r && k === 1) ins[0] = r;
        const j = partialJacobian(v, k, ins, values[id]!);
        if (!j || j.sparsity.form === 'zero') return;
        acc = acc === null ? j : sumJ(acc, j);
      });
      if (acc) edges.push({ src: u, dst: id, jacobian: acc });
    }
  }
  edges.sort((x, y) => x.dst - y.dst || x.src - y.src);
  const base = linearize(g);
  const el = Eliminator.of({ graph: g, edges, eliminable: base.eliminable, feedingOutputs: base.feedingOutputs, active: base.active, numeric: true });
  for (const v of structure.interior) if (on.has(v)) el.eliminate(v);
  return el.edge(b.src, b.dst) ?? null;
}

/** Estimated bytes of a tape of `steps` steps: the time-varying blocks' values. */
export function tapeBytes(structure: StepStructure, steps: number): number {
  let perStep = 0;
  for (const b of structure.blocks) if (!b.constant) perStep += 8 * b.sparsity.valueCount;
  return perStep * steps;
}

/**
 * The exact blocks of every step of one sequence, recorded once: the
 * trajectory does not depend on the rule, so every rule evaluated on the
 * sequence replays it (find-rule evaluates dozens).
 */
export class BlockTape implements StepEvaluator {
  readonly structure: StepStructure;
  private readonly steps: { next: Map<string, Tensor>; loss: number; exact: Map<string, SparseJacobian> }[] = [];
  private readonly views = new WeakMap<readonly Block[], Map<number, StepResult>>();
  private readonly exactBlocks: readonly Block[];
  /** Bytes of the recorded Jacobian values. */
  readonly bytes: number;

  constructor(structure: StepStructure, input: { readonly steps: number; readonly params: ReadonlyMap<string, Tensor>; readonly data: ReadonlyMap<string, readonly Tensor[]>; readonly initial?: ReadonlyMap<string, Tensor> }) {
    this.structure = structure;
    const exact = approximate(structure, []).blocks;
    this.exactBlocks = exact;
    const ev = new BlockEvaluator(structure, exact);
    let states = new Map(input.initial ?? new Map(structure.states.map((s) => [s.name, { shape: s.shape, data: new Float64Array(sizeOf(s.shape)) }])));
    let bytes = 0;
    const seen = new Set<Float64Array>();
    for (let t = 0; t < input.steps; t++) {
      const data = new Map<string, Tensor>();
      for (const [k, seq] of input.data) data.set(k, seq[t]!);
      const r = ev.step({ t, states, params: input.params, data });
      this.steps.push({ next: r.next, loss: r.loss, exact: r.jacobians });
      for (const j of r.jacobians.values()) if (j.values && !seen.has(j.values)) { seen.add(j.values); bytes += 8 * j.values.length; }
      states = r.next;
    }
    this.bytes = bytes;
  }

  get length(): number {
    return this.steps.length;
  }

  /** An evaluator of these blocks (a rule's approximation) that replays the tape. */
  replay(blocks: readonly Block[]): StepEvaluator {
    let cache = this.views.get(blocks);
    if (!cache) this.views.set(blocks, (cache = new Map()));
    const memo = cache;
    return {
      structure: this.structure,
      step: (point: StepPoint): StepResult => {
        const t = point.t;
        if (t === undefined || t < 0 || t >= this.steps.length) throw new Error(`the tape has no step ${t}`);
        const hit = memo.get(t);
        if (hit) return hit;
        const s = this.steps[t]!;
        const { values, jacobians } = approximateValues(blocks, s.exact);
        const r: StepResult = { next: s.next, loss: s.loss, values, jacobians };
        // Keep only a few replayed steps: BPTT asks for each twice, far apart.
        if (memo.size > 4) memo.delete(memo.keys().next().value!);
        memo.set(t, r);
        return r;
      },
    };
  }

  step(point: StepPoint): StepResult {
    return this.replay(this.exactBlocks).step(point);
  }
}

/**
 * Evaluates one step and its approximated blocks numerically. Constant
 * blocks are computed at the first step and reused; later steps linearize
 * and eliminate only the edges on paths of time-varying blocks.
 */
export class BlockEvaluator implements StepEvaluator {
  private constantValues: Map<string, Float64Array> | null = null;
  private constantJacobians = new Map<string, SparseJacobian>();
  private readonly varyingEdges: Set<string>;
  private base: LinearizedGraph | null = null;
  readonly structure: StepStructure;
  readonly blocks: readonly Block[];

  constructor(structure: StepStructure, blocks: readonly Block[]) {
    this.structure = structure;
    this.blocks = blocks;
    this.varyingEdges = this.edgesOnPaths(blocks.filter((b) => !b.constant));
  }

  /** Edges (src→dst keys) that lie on a path of one of these blocks through interior vertices. */
  private edgesOnPaths(blocks: readonly Block[]): Set<string> {
    const g = this.structure.graph;
    const n = g.vertices.length;
    const interior = new Uint8Array(n);
    for (const v of this.structure.interior) interior[v] = 1;
    const keep = new Set<string>();
    for (const b of blocks) {
      const fwd = new Uint8Array(n);
      fwd[b.src] = 1;
      for (let v = b.src + 1; v <= b.dst; v++) {
        if (v !== b.dst && !interior[v]) continue;
        if (g.vertices[v]!.inputs.some((u) => fwd[u] === 1 && (u === b.src || interior[u] === 1))) fwd[v] = 1;
      }
      const bwd = new Uint8Array(n);
      bwd[b.dst] = 1;
      for (let v = b.dst; v >= b.src; v--) {
        if (!bwd[v] || !fwd[v]) continue;
        if (v === b.src) continue;
        for (const u of g.vertices[v]!.inputs) {
          if (fwd[u] === 1) {
            bwd[u] = 1;
            keep.add(`${u}>${v}`);
          }
        }
      }
    }
    return keep;
  }

  step(point: StepPoint): StepResult {
    const s = this.structure;
    const g = s.graph;
    const leaves = new Map<number, Tensor>();
    for (const st of s.states) {
      const t = point.states.get(st.name);
      if (!t) throw new Error(`no value for state '${st.name}'`);
      leaves.set(st.leaf, t);
    }
    for (const p of s.params) {
      const t = point.params.get(p.name);
      if (!t) throw new Error(`no value for parameter '${p.name}'`);
      leaves.set(p.leaf, t);
    }
    for (const d of g.model.data) {
      const t = point.data.get(d.name);
      if (!t) throw new Error(`no data for '${d.name}'`);
      leaves.set(d.leaf, t);
    }
    const values = evaluate(g, leaves);
    const first = this.constantValues === null;
    const lin = first ? linearize(g, values) : this.partialLinearization(values);
    const el = Eliminator.of(lin);
    for (const v of s.interior) el.eliminate(v);
    const out = new Map<string, Float64Array>();
    const jacobians = new Map<string, SparseJacobian>();
    const consts = first ? new Map<string, Float64Array>() : this.constantValues!;
    for (const b of this.blocks) {
      if (!first && b.constant) {
        out.set(b.id, consts.get(b.id)!);
        jacobians.set(b.id, this.constantJacobians.get(b.id)!);
        continue;
      }
      const j = b.feedback ? feedbackJacobian(s, b, values) : el.edge(b.src, b.dst);
      let v: Float64Array;
      let jac: SparseJacobian;
      if (!j || j.sparsity.form === 'zero') {
        v = new Float64Array(sizeOf(b.valueShape));
        jac = { sparsity: b.sparsity, values: b.sparsity.hasValues ? new Float64Array(b.sparsity.valueCount) : null };
      } else if (b.mask) {
        v = masked(blockValues(j, b.form, b.valueShape), b.mask);
        jac = { sparsity: b.sparsity, values: v };
      } else {
        v = blockValues(j, b.form, b.valueShape);
        // A diagonal kept from a fuller block: the engine's diagonal sparsity stores exactly these values.
        jac = b.sparsity === b.exact ? j : { sparsity: b.sparsity, values: b.sparsity.hasValues ? (b.form === 'scalar' ? new Float64Array(b.sparsity.valueCount).fill(v[0]!) : v) : null };
      }
      out.set(b.id, v);
      jacobians.set(b.id, jac);
      if (first && b.constant) {
        consts.set(b.id, v);
        this.constantJacobians.set(b.id, jac);
      }
    }
    if (first) this.constantValues = consts;
    const next = new Map<string, Tensor>();
    for (const st of s.states) next.set(st.name, st.next === null ? point.states.get(st.name)! : values[st.next]!);
    return { next, loss: s.loss !== null ? values[s.loss]!.data[0]! : 0, values: out, jacobians, vertexValues: values };
  }

  private partialLinearization(values: readonly Tensor[]): LinearizedGraph {
    const g = this.structure.graph;
    const edges: LinearEdge[] = [];
    for (const key of this.varyingEdges) {
      const [src, dst] = key.split('>').map(Number) as [number, number];
      const v = g.vertices[dst]!;
      let acc: SparseJacobian | null = null;
      v.inputs.forEach((u, k) => {
        if (u !== src) return;
        const j = partialJacobian(v, k, v.inputs.map((w) => values[w]!), values[dst]!);
        if (!j || j.sparsity.form === 'zero') return;
        acc = acc === null ? j : sumJ(acc, j);
      });
      if (acc) edges.push({ src, dst, jacobian: acc });
    }
    edges.sort((a, b) => a.dst - b.dst || a.src - b.src);
    const base = (this.base ??= linearize(g));
    return { graph: g, edges, eliminable: base.eliminable, feedingOutputs: base.feedingOutputs, active: base.active, numeric: true };
  }
}

function sumJ(a: SparseJacobian, b: SparseJacobian): SparseJacobian {
  return addJacobians(a, b).jacobian;
}
