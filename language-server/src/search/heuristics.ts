// Greedy elimination heuristics (Griewank & Walther ch. 10; AlphaGrad's
// `minimal_markowitz` and `safe_preeliminations`, vertexgame/transforms.py):
//
//  - minimal Markowitz degree (Σ predecessor sizes × Σ successor sizes), with a
//    choice of tie-breaking (lowest id as AlphaGrad, highest id, fewest
//    multiplications now, random);
//  - fewest multiplications now (the true cost of the step under the tensor
//    cost model, which Markowitz only approximates for structured Jacobians);
//  - minimal fill-in (fewest new edges);
//  - least memory after the step;
//  - one-step lookahead: the step's cost plus the cheapest next step;
//  - safe pre-eliminations: vertices of Markowitz degree 0 or 1 first.
//
// Each is a complete order from any state; `runHeuristics` offers them all.

import type { EliminationState, Peek } from '../ad/state.js';
import type { Rng } from '../graph/random.js';
import type { SearchContext } from './context.js';

export type GreedyKey = 'markowitz' | 'multiplications' | 'fill-in' | 'memory' | 'score';
export type TieBreak = 'low-id' | 'high-id' | 'multiplications' | 'random';

export interface GreedyOptions {
  readonly key: GreedyKey;
  readonly tie?: TieBreak;
  /** Look one step ahead: key(v) + min over w of key(w) after v. */
  readonly lookahead?: boolean;
  /** For tie 'random', and for `noise`. */
  readonly rng?: Rng;
  /** Multiply each key by (1 + noise·U[0,1)): randomised greedy for restarts. */
  readonly noise?: number;
}

const peekBuf: Peek = { multiplications: 0, additions: 0, fillIn: 0, bytesAtPeak: 0, bytesAfter: 0 };

/** The greedy key of eliminating v now. */
export function keyOf(s: EliminationState, v: number, key: GreedyKey, ctx?: SearchContext): number {
  switch (key) {
    case 'markowitz':
      return s.markowitz(v);
    case 'multiplications':
      return s.peek(v);
    case 'fill-in':
      return s.peekDetail(v, peekBuf).fillIn;
    case 'memory':
      return s.peekDetail(v, peekBuf).bytesAfter;
    case 'score': {
      const p = s.peekDetail(v, peekBuf);
      if (!ctx) return p.multiplications;
      return (
        ctx.objective.score(s.multiplications + p.multiplications, Math.max(s.peakBytes, p.bytesAtPeak), s.additions + p.additions) -
        ctx.objective.score(s.multiplications, s.peakBytes, s.additions)
      );
    }
  }
}

/**
 * Completes the elimination of `s` greedily (in place) and returns the
 * vertices eliminated, in order.
 */
export function greedyComplete(s: EliminationState, opts: GreedyOptions, ctx?: SearchContext, scratch?: EliminationState): number[] {
  const left = s.remainingVertices();
  const order: number[] = [];
  const tie = opts.tie ?? 'low-id';
  const rng = opts.rng;
  const noise = opts.noise ?? 0;
  const look: EliminationState | undefined = opts.lookahead ? (scratch ?? s.clone()) : undefined;
  const keys = new Float64Array(left.length);
  const idx: number[] = [];
  while (left.length > 0) {
    for (let k = 0; k < left.length; k++) {
      let key = keyOf(s, left[k]!, opts.key, ctx);
      if (noise > 0 && rng) key *= 1 + noise * rng.next();
      keys[k] = key;
    }
    if (look && left.length > 1) {
      // Look ahead from the LOOKAHEAD cheapest candidates only: key(v) + the cheapest key after v.
      idx.length = 0;
      for (let k = 0; k < left.length; k++) idx.push(k);
      idx.sort((a, b) => keys[a]! - keys[b]! || left[a]! - left[b]!);
      const cut = Math.min(idx.length, LOOKAHEAD);
      for (let q = 0; q < idx.length; q++) {
        const k = idx[q]!;
        if (q >= cut) {
          keys[k] = Infinity;
          continue;
        }
        look.copyFrom(s);
        look.eliminate(left[k]!);
        let next = Infinity;
        for (const w of left) if (w !== left[k]) next = Math.min(next, keyOf(look, w, opts.key, ctx));
        keys[k] = keys[k]! + next;
      }
    }
    let best = -1;
    let bestKey = Infinity;
    let bestTie = Infinity;
    for (let k = 0; k < left.length; k++) {
      const key = keys[k]!;
      if (key > bestKey) continue;
      const v = left[k]!;
      let t: number;
      switch (tie) {
        case 'low-id':
          t = v;
          break;
        case 'high-id':
          t = -v;
          break;
        case 'multiplications':
          t = s.peek(v) * 1e6 + v;
          break;
        case 'random':
          t = rng ? rng.next() : v;
          break;
      }
      if (key < bestKey || t < bestTie || best < 0) {
        best = k;
        bestKey = key;
        bestTie = t;
      }
    }
    const v = left[best]!;
    left.splice(best, 1);
    s.eliminate(v);
    order.push(v);
  }
  return order;
}

/** Candidates a lookahead heuristic looks ahead from at each step (the cheapest by the key). */
export const LOOKAHEAD = 8;

/**
 * AlphaGrad's "safe" pre-eliminations: while some vertex has Markowitz degree
 * at most `maxDegree`, eliminate it (lowest id first). Degree 0 (no
 * predecessors or no successors left) is truly safe: such a vertex never gains
 * edges on its empty side, eliminating it costs nothing, and every product
 * through it later would be wasted. Degree 1 (AlphaGrad's default) costs one
 * scalar product and is NOT optimality-preserving under the tensor cost model
 * (copies and identities multiply for free, so waiting can be cheaper; the
 * exact search finds small graphs where it loses), so it is a heuristic here.
 * Returns the vertices eliminated (in place on `s`).
 */
export function safePreeliminations(s: EliminationState, maxDegree = 0): number[] {
  const out: number[] = [];
  for (let changed = true; changed;) {
    changed = false;
    for (const v of s.p.eliminable) {
      if (s.done[v] === 0 && s.markowitz(v) <= maxDegree) {
        s.eliminate(v);
        out.push(v);
        changed = true;
      }
    }
  }
  return out;
}

export interface NamedHeuristic {
  readonly name: string;
  readonly opts: GreedyOptions;
  /** Pre-eliminate vertices of Markowitz degree ≤ pre first (0: safe; 1: AlphaGrad's). */
  readonly pre?: number;
}

/** The deterministic heuristics `runHeuristics` tries, cheapest first. */
export const HEURISTICS: readonly NamedHeuristic[] = [
  { name: 'markowitz', opts: { key: 'markowitz', tie: 'low-id' } },
  { name: 'markowitz-high-id', opts: { key: 'markowitz', tie: 'high-id' } },
  { name: 'markowitz-mults-tie', opts: { key: 'markowitz', tie: 'multiplications' } },
  { name: 'min-multiplications', opts: { key: 'multiplications', tie: 'high-id' } },
  { name: 'min-fill-in', opts: { key: 'fill-in', tie: 'multiplications' } },
  { name: 'min-memory', opts: { key: 'memory', tie: 'multiplications' } },
  { name: 'min-score', opts: { key: 'score', tie: 'high-id' } },
  { name: 'pre1+markowitz', pre: 1, opts: { key: 'markowitz', tie: 'multiplications' } },
  { name: 'pre1+min-multiplications', pre: 1, opts: { key: 'multiplications', tie: 'high-id' } },
  { name: 'markowitz-lookahead', opts: { key: 'markowitz', tie: 'multiplications', lookahead: true } },
  { name: 'min-multiplications-lookahead', opts: { key: 'multiplications', tie: 'high-id', lookahead: true } },
  { name: 'min-score-lookahead', opts: { key: 'score', tie: 'high-id', lookahead: true } },
];

/** One named heuristic as a complete order from the initial graph. */
export function heuristicOrder(ctx: SearchContext, h: NamedHeuristic): { order: number[]; state: EliminationState } {
  const s = ctx.state();
  const pre = h.pre !== undefined ? safePreeliminations(s, h.pre) : [];
  const rest = greedyComplete(s, h.opts, ctx);
  return { order: [...pre, ...rest], state: s };
}

/**
 * Forward, reverse and every heuristic of HEURISTICS, offered to the context;
 * then randomised greedy restarts until `untilFraction` of the budget. Returns
 * the orders found, best first.
 */
export function runHeuristics(ctx: SearchContext, untilFraction = 0): { name: string; order: number[]; score: number }[] {
  ctx.phase = 'heuristics';
  const found: { name: string; order: number[]; score: number }[] = [];
  const add = (name: string, order: number[], s: EliminationState): void => {
    ctx.evaluations++;
    ctx.offer(order, s, name);
    found.push({ name, order, score: ctx.scoreOf(s) });
  };
  const fwd = [...ctx.problem.eliminable];
  const scratch = ctx.state();
  scratch.run(fwd);
  add('forward', fwd, scratch);
  const rev = fwd.slice().reverse();
  const s2 = ctx.state();
  s2.run(rev);
  add('reverse', rev, s2);
  for (const h of HEURISTICS) {
    // Lookahead variants cost n× more; skip them when the budget is short.
    if (h.opts.lookahead && (ctx.checkNow() || ctx.fractionUsed() > 0.1)) continue;
    const { order, state } = heuristicOrder(ctx, h);
    add(h.name, order, state);
  }
  // Randomised greedy (GRASP-like) restarts around the best keys.
  const keys: GreedyKey[] = ['markowitz', 'multiplications', 'score'];
  let k = 0;
  while (ctx.fractionUsed() < untilFraction && !ctx.checkNow()) {
    const s = ctx.state();
    const key = keys[k++ % keys.length]!;
    const order = greedyComplete(s, { key, tie: 'random', rng: ctx.rng, noise: 0.3 }, ctx);
    add(`randomised-${key}`, order, s);
  }
  found.sort((a, b) => a.score - b.score);
  return found;
}
