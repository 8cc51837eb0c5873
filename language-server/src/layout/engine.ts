// The graph view's one door into the elimination engine (ad/): the sparsity
// of every edge Jacobian, and an elimination order played step by step with
// the engine's own per-step counts. The view model carries these numbers as
// they are; the webview only adds nothing and displays them.

import type { Graph } from '../graph/types.js';
import { costOf } from '../ad/costs.js';
import { Eliminator } from '../ad/eliminate.js';
import { linearize } from '../ad/linearize.js';
import { forwardOrder, markowitzOrder, resolveOrder, reverseOrder } from '../ad/orders.js';
import { bytesOf, describeSparsity, type Sparsity } from '../ad/sparsity.js';
import type { EliminationStepView, OrderTrace, SparsityGlyph } from './viewmodel.js';

export interface EdgeJacobian {
  readonly src: number;
  readonly dst: number;
  readonly glyph: SparsityGlyph;
  readonly sparsity: string;
  readonly bytes: number;
}

/** `src>dst`: the key of a vertex pair. */
export function pairKey(src: number, dst: number): string {
  return `${src}>${dst}`;
}

/** The glyph of a sparsity structure (see SparsityGlyph). */
export function glyphOf(s: Sparsity): SparsityGlyph {
  if (s.form === 'zero') return 'zero';
  if (s.form === 'flat') return 'transform';
  const dims = [...s.out, ...s.in];
  if (dims.length === 0) return 'scalar';
  const dense = dims.some((x) => x.kind === 'dense');
  const replicated = dims.some((x) => x.kind === 'replicated');
  const select = dims.some((x) => x.kind === 'select');
  const stored = s.pairs.some((q) => q.stored);
  const kron = s.pairs.some((q) => !q.stored);
  const plain = s.pairs.every((q) => q.offset === 0 && q.lo === 0 && q.hi === s.outShape[q.out] && q.hi === s.inShape[q.in]);
  if (dense) return s.pairs.length > 0 ? 'kronecker' : 'dense';
  if (replicated) return 'replicated';
  if (stored && !kron && !select) return 'diagonal';
  if (!s.hasValues) return kron && plain && !select && s.out.length === s.in.length ? 'identity' : 'transform';
  // Values but no value axis: a scalar times a Kronecker delta (α·I).
  return s.valueCount === 1 && plain && !select ? 'identity' : 'diagonal';
}

/** The sparsity of every Jacobian edge of the graph, by vertex pair; pairs absent here carry no Jacobian (data). */
export function edgeJacobians(graph: Graph): Map<string, EdgeJacobian> {
  const lin = linearize(graph);
  const out = new Map<string, EdgeJacobian>();
  for (const e of lin.edges) {
    const s = e.jacobian.sparsity;
    out.set(pairKey(e.src, e.dst), { src: e.src, dst: e.dst, glyph: glyphOf(s), sparsity: describeSparsity(s), bytes: bytesOf(s) });
  }
  return out;
}

/** The vertices an order must eliminate. */
export function eliminableSet(graph: Graph): Set<number> {
  return new Set(linearize(graph).eliminable);
}

/** An order to play: a named one, or a given list of vertex ids. */
export type OrderSpec = 'forward' | 'reverse' | 'markowitz' | { readonly id: string; readonly label: string; readonly order: readonly number[] };

const NAMED: Record<'forward' | 'reverse' | 'markowitz', { label: string; order: (g: Graph) => number[] }> = {
  forward: { label: 'Forward', order: forwardOrder },
  reverse: { label: 'Reverse', order: reverseOrder },
  markowitz: { label: 'Markowitz', order: markowitzOrder },
};

/**
 * Plays `spec` on the engine's Eliminator and records, per step, the engine's
 * counts (multiplications, additions, fill-in, live bytes) and which edges the
 * step created, summed into and deleted — read from the eliminator's state
 * before and after, so the picture is the engine's, not a re-derivation.
 */
export function traceOrder(graph: Graph, spec: OrderSpec): OrderTrace {
  const named = typeof spec === 'string' ? NAMED[spec] : undefined;
  const order = resolveOrder(graph, named ? named.order(graph) : (spec as { order: readonly number[] }).order);
  const el = Eliminator.symbolic(graph);
  el.record = [];
  const initialMemoryBytes = el.liveBytes;
  const steps: EliminationStepView[] = [];
  let mults = 0;
  let adds = 0;
  for (const v of order) {
    const ins = el.inEdges(v).map((e) => e.src);
    const outs = el.outEdges(v).map((e) => e.dst);
    const existed = new Set<string>();
    for (const i of ins) for (const j of outs) if (el.edge(i, j)) existed.add(pairKey(i, j));
    el.eliminate(v);
    const rec = el.record[el.record.length - 1]!;
    const added: [number, number][] = [];
    const updated: [number, number][] = [];
    for (const i of ins) {
      for (const j of outs) {
        if (existed.has(pairKey(i, j))) updated.push([i, j]);
        else if (el.edge(i, j)) added.push([i, j]);
      }
    }
    const removed: [number, number][] = outs.map((j) => [v, j]);
    for (const i of ins) if (!el.edge(i, v)) removed.push([i, v]);
    mults += rec.multiplications;
    adds += rec.additions;
    steps.push({
      vertex: v,
      multiplications: rec.multiplications,
      additions: rec.additions,
      fillIn: rec.fillIn,
      cumulativeMultiplications: mults,
      cumulativeAdditions: adds,
      memoryBytes: rec.liveBytes,
      added: dedupe(added),
      updated: dedupe(updated),
      removed: dedupe(removed),
    });
  }
  const id = typeof spec === 'string' ? spec : spec.id;
  const label = named ? named.label : (spec as { label: string }).label;
  return {
    id,
    label,
    order,
    steps,
    initialMemoryBytes,
    totals: { multiplications: el.multiplications, additions: el.additions, fillIn: el.fillIn, peakMemoryBytes: el.peakBytes },
  };
}

function dedupe(pairs: [number, number][]): [number, number][] {
  const seen = new Set<string>();
  return pairs.filter(([a, b]) => {
    const k = pairKey(a, b);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The engine's cost of an order, for checking a trace (tests) — the route the CLI's `analyze` takes. */
export function engineCost(graph: Graph, order: readonly number[]): ReturnType<typeof costOf> {
  return costOf(graph, order);
}
