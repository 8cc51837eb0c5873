// The optimal elimination order of a small graph, by dynamic programming over
// the set of eliminated vertices.
//
// The graph after eliminating a set S does not depend on the order within S
// (the fill-in edges are the paths through S, their Jacobians the sums of path
// products), so the best cost of reaching S is
//
//   g(S) = min over v in S of  g(S \ {v}) ⊕ c(v | graph after S \ {v})
//
// with ⊕ = + for multiplications (and additions, for the `time` surrogate) and
// ⊕ = max for peak memory (then c is the live bytes at the step's peak). Sets
// are bit masks over the m eliminable vertices left after safe
// pre-eliminations; every proper subset of a mask is a smaller number, so one
// pass over masks in increasing order relaxes every set before it is expanded
// (push style). The graph after S is built from the graph after S without its
// lowest set bit, kept on a stack of states indexed by depth, so consecutive
// masks cost about one elimination each. Sets whose cost already reaches the
// best known order (an upper bound from the heuristics) are pruned.
//
// Memory: 9 bytes per mask (17 with a memory objective or limit); m is
// allowed up to 25 (about 300 MiB), the default cap is 22 (36 MiB).

import type { EliminationState } from '../ad/state.js';
import type { SearchContext } from './context.js';
import { safePreeliminations } from './heuristics.js';

export const EXACT_DEFAULT_MAX = 22;
export const EXACT_HARD_MAX = 25;

export interface ExactResult {
  /** 'optimal': the order is optimal; 'stopped': the budget ran out; 'too-large': not attempted. */
  readonly status: 'optimal' | 'stopped' | 'too-large' | 'unsupported';
  readonly order: number[] | null;
  /** Eliminable vertices left after safe pre-eliminations. */
  readonly vertices: number;
  readonly message: string;
}

export interface ExactOptions {
  readonly maxVertices?: number;
  /** A known order's score: sets at or above it are pruned (default: none). */
  readonly upperBound?: number;
  /**
   * Pre-eliminate vertices of Markowitz degree ≤ this first (default 0, which
   * keeps the optimum; false for none; 1 is AlphaGrad's, which can lose it).
   */
  readonly preeliminate?: boolean | number;
}

/** How many eliminable vertices exact search would face (after safe pre-eliminations). */
export function exactSize(ctx: SearchContext, preeliminate = true): number {
  const s = ctx.state();
  if (preeliminate) safePreeliminations(s);
  return s.remaining;
}

export function exactSearch(ctx: SearchContext, opts: ExactOptions = {}): ExactResult {
  ctx.phase = 'exact';
  const obj = ctx.objective;
  const mode: 'sum' | 'max' | null = obj.kind === 'memory' ? 'max' : obj.kind === 'weighted' && obj.wMem > 0 ? null : 'sum';
  const root = ctx.state();
  const pre =
    opts.preeliminate === false ? [] : safePreeliminations(root, opts.preeliminate === true || opts.preeliminate === undefined ? 0 : opts.preeliminate);
  const verts = root.remainingVertices();
  const m = verts.length;
  if (mode === null) {
    return {
      status: 'unsupported',
      order: null,
      vertices: m,
      message: 'exact search handles multiplications, memory and time (as multiplications + additions), not weighted sums of multiplications and memory',
    };
  }
  const cap = Math.min(opts.maxVertices ?? EXACT_DEFAULT_MAX, EXACT_HARD_MAX);
  if (m > cap) {
    return {
      status: 'too-large',
      order: null,
      vertices: m,
      message: `exact search is for graphs with at most ${cap} eliminable vertices after safe pre-eliminations; this one has ${m}`,
    };
  }
  const full = m === 0 ? 0 : 2 ** m - 1;
  const limit = obj.limitBytes;
  const wAdd = obj.wAdd;
  // g[S]: best cost to reach S (sum mode: weighted multiplications + additions of the steps in S; max mode: peak bytes).
  const g = new Float64Array(full + 1).fill(Infinity);
  const choice = new Uint8Array(full + 1);
  // Max mode also needs the peak so far for the limit; sum mode tracks the peak of the chosen path per set.
  const needPeak = mode === 'max' || Number.isFinite(obj.limitBytes);
  const peak = new Float64Array(needPeak ? full + 1 : 1);
  g[0] = mode === 'max' ? root.peakBytes : 0;
  peak[0] = root.peakBytes;
  const ub = opts.upperBound ?? Infinity;
  // Upper bound in g's units: for sum mode the objective's score minus the pre-eliminations' share.
  const preCost = root.multiplications * obj.wMul + root.additions * wAdd;
  const bound = mode === 'sum' ? (ub - preCost) / Math.max(obj.wMul, 1e-300) : ub;
  // Stack of states: level d holds the graph after the d highest set bits of the current prefix.
  const stack: EliminationState[] = Array.from({ length: m + 1 }, () => root.clone());
  const stackMask = new Float64Array(m + 1).fill(-1);
  stackMask[0] = 0;
  const peekBuf = { multiplications: 0, additions: 0, fillIn: 0, bytesAtPeak: 0, bytesAfter: 0 };
  let work = 0;
  for (let S = 0; S <= full; S++) {
    const gs = g[S]!;
    if (gs === Infinity || gs > bound + 1e-9) continue;
    if (S === full) break;
    if ((++work & 1023) === 0 && ctx.checkNow()) {
      return { status: 'stopped', order: null, vertices: m, message: `exact search stopped by the budget after ${S} of ${full + 1} sets` };
    }
    const st = stateOf(S);
    for (let b = 0; b < m; b++) {
      const bit = 2 ** b;
      if ((S & bit) !== 0) continue;
      const T = S + bit;
      let cost: number;
      let pk: number;
      if (!needPeak && wAdd === 0) {
        cost = gs + st.peek(verts[b]!);
        pk = 0;
      } else {
        const p = st.peekDetail(verts[b]!, peekBuf);
        pk = needPeak ? Math.max(peak[S]!, p.bytesAtPeak) : 0;
        if (pk > limit) continue;
        cost = mode === 'max' ? pk : gs + p.multiplications + (wAdd / Math.max(obj.wMul, 1e-300)) * p.additions;
      }
      if (cost < g[T]!) {
        g[T] = cost;
        choice[T] = b;
        if (needPeak) peak[T] = pk;
      }
    }
  }
  if (g[full] === Infinity) {
    return {
      status: 'optimal',
      order: null,
      vertices: m,
      message: Number.isFinite(limit) ? 'no order meets the memory limit' : 'no order beats the upper bound',
    };
  }
  const rest: number[] = [];
  for (let S = full; S !== 0;) {
    const b = choice[S]!;
    rest.push(verts[b]!);
    S -= 2 ** b;
  }
  rest.reverse();
  const order = [...pre, ...rest];
  const s = ctx.state();
  s.run(order);
  ctx.evaluations++;
  ctx.offer(order, s, 'exact');
  return { status: 'optimal', order, vertices: m, message: `optimal over ${m} vertices${pre.length ? ` after ${pre.length} safe pre-eliminations` : ''}` };

  // The state after S: reuse the deepest stack level whose prefix (highest bits first) matches S.
  function stateOf(S: number): EliminationState {
    const bits: number[] = [];
    for (let b = m - 1; b >= 0; b--) if ((S & (2 ** b)) !== 0) bits.push(b);
    let d = 0;
    let prefix = 0;
    while (d < bits.length) {
      const next = prefix + 2 ** bits[d]!;
      if (stackMask[d + 1] !== next) break;
      prefix = next;
      d++;
    }
    for (; d < bits.length; d++) {
      prefix += 2 ** bits[d]!;
      stack[d + 1]!.copyFrom(stack[d]!).eliminate(verts[bits[d]!]!);
      stackMask[d + 1] = prefix;
      for (let e = d + 2; e <= m; e++)
        if (stackMask[e] === -1) break;
        else stackMask[e] = -1;
    }
    return stack[bits.length]!;
  }
}
