// Simulated annealing over elimination orders, with random restarts from the
// best order (Kirkpatrick et al. 1983; for elimination orders cf. Naumann's
// and Griewank & Walther's local searches).
//
// Every permutation of the eliminable vertices is a valid order (vertex
// elimination has no precedence constraints), so moves are plain permutation
// moves and always keep validity: swap two positions, move one vertex to
// another position, reverse a segment, or swap neighbours.
//
// A move changes the order from some position on; the state before that
// position is restored from a checkpoint (one every `stride` positions) and
// only the rest is eliminated again, which halves the cost of a move on
// average.

import type { EliminationState } from '../ad/state.js';
import type { SearchContext } from './context.js';

export interface AnnealOptions {
  /** Start orders (the best heuristic orders); the best becomes the first current order. */
  readonly starts: readonly (readonly number[])[];
  /** Stop when this fraction of the context's budget is used (default 1). */
  readonly untilFraction?: number;
  /** Moves between restarts from the best order (default: scaled to the graph). */
  readonly restartEvery?: number;
  readonly method?: string;
}

/** Runs annealing until the context stops; offers every improvement. Returns the best order it saw. */
export function anneal(ctx: SearchContext, opts: AnnealOptions): number[] {
  ctx.phase = opts.method ?? 'anneal';
  const method = opts.method ?? 'anneal';
  const until = opts.untilFraction ?? 1;
  const n = ctx.problem.eliminable.length;
  const rng = ctx.rng;
  if (n < 2 || opts.starts.length === 0) return [...(opts.starts[0] ?? ctx.problem.eliminable)];
  const stride = Math.max(4, Math.round(Math.sqrt(n) * 1.5));
  const nCk = Math.floor((n - 1) / stride) + 1;
  // Checkpoints of the current order: ck[c] = state after the first c·stride eliminations.
  const ck: EliminationState[] = Array.from({ length: nCk }, () => ctx.state());
  const ckNew: EliminationState[] = Array.from({ length: nCk }, () => ctx.state());
  const work = ctx.state();

  let cur = Int32Array.from(opts.starts[0]!);
  let curScore: number;
  const cand = new Int32Array(n);
  let best = Int32Array.from(cur);
  let bestScore = Infinity;

  // Evaluates `order` from position `from` on, using ck; writes checkpoints past `from` into ckNew.
  const evalFrom = (order: Int32Array, from: number): number => {
    const c = Math.floor(from / stride);
    work.copyFrom(ck[c]!);
    for (let k = c * stride; k < n; k++) {
      if (k % stride === 0 && k > c * stride) ckNew[k / stride]!.copyFrom(work);
      work.eliminate(order[k]!);
    }
    ctx.evaluations++;
    return ctx.scoreOf(work);
  };
  const accept = (order: Int32Array, from: number): void => {
    const c = Math.floor(from / stride);
    for (let m = c + 1; m < nCk; m++) {
      const t = ck[m]!;
      ck[m] = ckNew[m]!;
      ckNew[m] = t;
    }
    cur.set(order);
  };
  const loadCurrent = (order: ArrayLike<number>): number => {
    cur = Int32Array.from(order);
    ck[0]!.reset();
    const s = work.copyFrom(ck[0]!);
    for (let k = 0; k < n; k++) {
      if (k % stride === 0 && k > 0) ck[k / stride]!.copyFrom(s);
      s.eliminate(cur[k]!);
    }
    ctx.evaluations++;
    ctx.offer(cur, s, method);
    return ctx.scoreOf(s);
  };

  // The best start.
  for (const st of opts.starts) {
    const sc = loadCurrent(st);
    if (sc < bestScore) {
      bestScore = sc;
      best = Int32Array.from(cur);
    }
  }
  curScore = loadCurrent(best);

  // Temperature: from the typical size of a worsening move, geometric down to ~0.
  let t0: number;
  {
    let sum = 0;
    let cnt = 0;
    for (let k = 0; k < 40; k++) {
      cand.set(cur);
      const from = propose(cand, n, rng);
      const d = evalFrom(cand, from) - curScore;
      if (d > 0 && d < 1e12) {
        sum += d;
        cnt++;
      }
    }
    // A low start (a tenth of a typical worsening move) worked best on the AD
    // benchmarks: the heuristic start orders are already good.
    t0 = cnt > 0 ? (sum / cnt) * 0.1 : Math.max(1, curScore * 0.01);
  }
  const tEnd = Math.max(1e-3, t0 * 1e-3);
  const restartEvery = opts.restartEvery ?? Math.max(2000, n * 200);
  const startFraction = ctx.fractionUsed();
  const span = Math.max(1e-6, until - startFraction);
  let sinceRestart = 0;
  let round = 0;
  const roundLen = 0.5;
  while (!ctx.stopped()) {
    const f = ctx.fractionUsed();
    if (f >= until) break;
    // Each round anneals from t0 to tEnd; rounds restart from the best order.
    const inRound = ((f - startFraction) / span / roundLen) % 1;
    const T = t0 * Math.pow(tEnd / t0, inRound);
    cand.set(cur);
    const from = propose(cand, n, rng);
    const sc = evalFrom(cand, from);
    const d = sc - curScore;
    if (d <= 0 || rng.next() < Math.exp(-d / T)) {
      accept(cand, from);
      curScore = sc;
      if (sc < bestScore) {
        bestScore = sc;
        best.set(cur);
        ctx.offer(cur, work, method);
        sinceRestart = 0;
      }
    }
    if (++sinceRestart >= restartEvery || Math.floor((f - startFraction) / span / roundLen) !== round) {
      round = Math.floor((f - startFraction) / span / roundLen);
      sinceRestart = 0;
      curScore = loadCurrent(best);
    }
  }
  return Array.from(best);
}

/** Applies a random permutation move to `o` in place; returns the first position it changed. */
export function propose(o: Int32Array, n: number, rng: { next(): number }): number {
  const r = rng.next();
  let i = Math.floor(rng.next() * n);
  let j = Math.floor(rng.next() * n);
  if (i === j) j = (j + 1) % n;
  if (i > j) {
    const t = i;
    i = j;
    j = t;
  }
  if (r < 0.3) {
    // swap two neighbours
    j = i + 1 < n ? i + 1 : i - 1;
    if (j < i) {
      const t = i;
      i = j;
      j = t;
    }
    const t = o[i]!;
    o[i] = o[j]!;
    o[j] = t;
    return i;
  }
  if (r < 0.55) {
    const t = o[i]!;
    o[i] = o[j]!;
    o[j] = t;
    return i;
  }
  if (r < 0.85) {
    // move: take the vertex at one end of [i, j] to the other end
    if (rng.next() < 0.5) {
      const x = o[j]!;
      o.copyWithin(i + 1, i, j);
      o[i] = x;
    } else {
      const x = o[i]!;
      o.copyWithin(i, i + 1, j + 1);
      o[j] = x;
    }
    return i;
  }
  // reverse a short segment
  const len = Math.min(j - i + 1, 2 + Math.floor(rng.next() * 8));
  for (let a = i, b = i + len - 1; a < b; a++, b--) {
    const t = o[a]!;
    o[a] = o[b]!;
    o[b] = t;
  }
  return i;
}
