// AlphaZero-style Monte-Carlo tree search over elimination orders
// (Silver et al. 2018; AlphaGrad, vertex-elimination.md §3): the state is the
// graph after the eliminations so far, an action eliminates one vertex, and
// the return is minus the objective of the complete order.
//
// An episode plays the order move by move. Before each move it runs a number
// of simulations from the current root with PUCT selection,
//
//   a* = argmax  q̃(a) + c · P(a) · √N / (1 + N(a)),
//
// where P is the network's policy (greedy prior + learned correction) and q̃
// the mean total cost of the simulations through a, min-max normalised over
// the episode (as MuZero, since costs have no fixed scale). A new leaf is
// valued by completing its order greedily (fewest multiplications first): an
// exact, if pessimistic, total, and a complete order offered as a candidate,
// so the search never returns worse than its rollouts. With a trained network
// the leaf value mixes in the network's estimate (`valueWeight`). Dirichlet
// noise at the root explores. The move played is the most visited action; the
// visit counts are the policy target for training, the episode's real cost
// from each state on the value target (agent.ts).
//
// Safe pre-eliminations (Markowitz degree 0, heuristics.ts) are played without
// search. Everything random draws from the context's seeded generator.

import type { EliminationState } from '../ad/state.js';
import type { Rng } from '../graph/random.js';
import type { SearchContext } from './context.js';
import { tokenInput, type TokenInput } from './features.js';
import { greedyComplete, safePreeliminations } from './heuristics.js';
import { forward, softmaxMasked, type Weights } from './network.js';

export interface MctsOptions {
  readonly weights: Weights;
  /** Simulations per move; default adapts to the budget (at least 8, at most 400). */
  readonly simulationsPerMove?: number;
  readonly cPuct?: number;
  /** Weight of the network's value against the greedy rollout's exact total (0: rollout only). */
  readonly valueWeight?: number;
  /** Root exploration noise (default α 0.3, fraction 0.25; fraction 0 turns it off). */
  readonly dirichletAlpha?: number;
  readonly dirichletFraction?: number;
  /** Stop at this fraction of the context's budget (default 1). */
  readonly untilFraction?: number;
  /** At most this many episodes (default unlimited). */
  readonly maxEpisodes?: number;
  /** Called after each episode with its training samples (may change `weights` in place). */
  readonly onEpisode?: (e: Episode) => void;
  readonly method?: string;
}

export interface Sample {
  readonly input: TokenInput;
  /** Visit distribution over the input's tokens. */
  readonly policy: Float32Array;
  /** Objective units still to come from this state in the episode played (set at its end). */
  remaining: number;
}

export interface Episode {
  readonly order: number[];
  readonly score: number;
  readonly multiplications: number;
  readonly samples: Sample[];
  readonly simulations: number;
}

class Node {
  readonly actions: Int32Array;
  readonly tokens: Int32Array;
  readonly prior: Float64Array;
  readonly n: Int32Array;
  readonly w: Float64Array;
  readonly child: (Node | null)[];
  visits = 0;
  wSum = 0;
  input: TokenInput | null;
  /** Network value estimate of the total, or NaN. */
  readonly netTotal: number;

  constructor(input: TokenInput, prior: Float64Array, netTotal: number) {
    const acts: number[] = [];
    const toks: number[] = [];
    const pr: number[] = [];
    for (let t = 0; t < input.n; t++) {
      if (input.mask[t] !== 1) continue;
      acts.push(input.vertex[t]!);
      toks.push(t);
      pr.push(prior[t]!);
    }
    this.actions = Int32Array.from(acts);
    this.tokens = Int32Array.from(toks);
    this.prior = Float64Array.from(pr);
    this.n = new Int32Array(acts.length);
    this.w = new Float64Array(acts.length);
    this.child = new Array<Node | null>(acts.length).fill(null);
    this.input = input;
    this.netTotal = netTotal;
  }
}

/** Runs episodes until the budget (or maxEpisodes) ends. Returns the episodes played. */
export function mcts(ctx: SearchContext, opts: MctsOptions): Episode[] {
  const method = opts.method ?? 'mcts';
  ctx.phase = method;
  const until = opts.untilFraction ?? 1;
  const c = opts.cPuct ?? 1.25;
  const lambda = opts.valueWeight ?? 0;
  const alpha = opts.dirichletAlpha ?? 0.3;
  const frac = opts.dirichletFraction ?? 0.25;
  const obj = ctx.objective;
  const episodes: Episode[] = [];
  const scratch = ctx.state();
  const roll = ctx.state();
  const look = ctx.state();
  let minT = Infinity;
  let maxT = -Infinity;
  let simMs = 0.5;

  const expand = (s: EliminationState): Node => {
    const inp = tokenInput(s);
    const out = forward(opts.weights, inp);
    const p = softmaxMasked(out.logits);
    const remaining = Math.max(0, inp.scale * Math.exp(out.value) - 1);
    const netTotal = lambda > 0 ? obj.score(s.multiplications + remaining, s.peakBytes, s.additions) : NaN;
    return new Node(inp, p, netTotal);
  };

  while (!ctx.checkNow() && ctx.fractionUsed() < until && (opts.maxEpisodes === undefined || episodes.length < opts.maxEpisodes)) {
    const episodeStart = performance.now();
    const rootState = ctx.state();
    const prefix = safePreeliminations(rootState);
    minT = Infinity;
    maxT = -Infinity;
    let root = expand(rootState);
    const samples: Sample[] = [];
    const sampleMults: number[] = [];
    let sims = 0;
    let stopped = false;
    while (!rootState.complete) {
      if (root.actions.length > 1) {
        addNoise(root, ctx.rng, alpha, frac);
        const k = simsThisMove(rootState.remaining, episodeStart);
        for (let i = 0; i < k; i++) {
          if (ctx.stopped()) {
            stopped = true;
            break;
          }
          const t0 = performance.now();
          runSimulation(root, rootState, prefix);
          simMs = 0.9 * simMs + 0.1 * (performance.now() - t0);
          sims++;
          ctx.simulations++;
        }
        if (stopped) break;
      }
      // Play the most visited action (the prior breaks ties).
      let best = 0;
      for (let a = 1; a < root.actions.length; a++) {
        if (root.n[a]! > root.n[best]! || (root.n[a] === root.n[best] && root.prior[a]! > root.prior[best]!)) best = a;
      }
      if (root.actions.length > 1 && root.input) {
        const pol = new Float32Array(root.input.n);
        const total = root.visits || 1;
        for (let a = 0; a < root.actions.length; a++) pol[root.tokens[a]!] = root.n[a]! / total;
        samples.push({ input: root.input, policy: pol, remaining: 0 });
        sampleMults.push(obj.score(rootState.multiplications, rootState.peakBytes, rootState.additions));
      }
      const v = root.actions[best]!;
      rootState.eliminate(v);
      prefix.push(v);
      let next = root.child[best] ?? null;
      const pre = safePreeliminations(rootState);
      if (pre.length > 0) {
        prefix.push(...pre);
        next = null;
      }
      root.input = null;
      root = next ?? expand(rootState);
    }
    if (stopped) break;
    const score = ctx.scoreOf(rootState);
    ctx.evaluations++;
    ctx.offer(prefix, rootState, method);
    for (let k = 0; k < samples.length; k++) samples[k]!.remaining = Math.max(0, score - sampleMults[k]!);
    const ep: Episode = { order: prefix.slice(), score, multiplications: rootState.multiplications, samples, simulations: sims };
    episodes.push(ep);
    opts.onEpisode?.(ep);
  }
  return episodes;

  /** Simulations for this move: fixed, or adapted so an episode takes about a third of the remaining budget. */
  function simsThisMove(remainingMoves: number, episodeStart: number): number {
    if (opts.simulationsPerMove !== undefined) return opts.simulationsPerMove;
    if (ctx.deterministic) return 64;
    const leftMs = Math.max(0, (until - ctx.fractionUsed()) * (ctx.deadline - ctx.started));
    const episodeMs = Math.max(leftMs / 3, Math.min(leftMs, 200));
    const spent = performance.now() - episodeStart;
    const perMove = Math.max(0, episodeMs - spent) / Math.max(1, remainingMoves);
    return Math.max(8, Math.min(400, Math.floor(perMove / Math.max(simMs, 0.02))));
  }

  function runSimulation(root: Node, rootState: EliminationState, prefix: readonly number[]): void {
    scratch.copyFrom(rootState);
    const pathNodes: Node[] = [];
    const pathActs: number[] = [];
    let node = root;
    let total: number;
    for (;;) {
      if (node.actions.length === 0) {
        total = ctx.scoreOf(scratch);
        break;
      }
      const a = select(node);
      pathNodes.push(node);
      pathActs.push(a);
      scratch.eliminate(node.actions[a]!);
      const child = node.child[a];
      if (child) {
        node = child;
        continue;
      }
      const leaf = expand(scratch);
      node.child[a] = leaf;
      // Greedy completion: an exact total and a candidate order.
      roll.copyFrom(scratch);
      const rest = leaf.actions.length > 0 ? greedyComplete(roll, { key: 'multiplications', tie: 'high-id' }, ctx, look) : [];
      ctx.evaluations++;
      const rollTotal = ctx.scoreOf(roll);
      if (ctx.best === null || rollTotal < ctx.best.score) {
        const order = prefix.concat(
          pathNodes.map((nd, k) => nd.actions[pathActs[k]!]!),
          rest,
        );
        ctx.offer(order, roll, method);
      }
      total = lambda > 0 && Number.isFinite(leaf.netTotal) ? lambda * leaf.netTotal + (1 - lambda) * rollTotal : rollTotal;
      break;
    }
    if (total < minT) minT = total;
    if (total > maxT) maxT = total;
    for (let k = 0; k < pathNodes.length; k++) {
      const nd = pathNodes[k]!;
      const a = pathActs[k]!;
      nd.n[a]!++;
      nd.w[a]! += total;
      nd.visits++;
      nd.wSum += total;
    }
    if (pathNodes.length === 0) {
      root.visits++;
      root.wSum += total;
    }
  }

  function select(node: Node): number {
    const range = maxT - minT;
    const norm = (t: number): number => (range > 0 ? (maxT - t) / range : 0.5);
    const fpu = node.visits > 0 ? norm(node.wSum / node.visits) : 0.5;
    const sq = Math.sqrt(Math.max(1, node.visits));
    let best = 0;
    let bestU = -Infinity;
    for (let a = 0; a < node.actions.length; a++) {
      const na = node.n[a]!;
      const q = na > 0 ? norm(node.w[a]! / na) : fpu;
      const u = q + (c * node.prior[a]! * sq) / (1 + na);
      if (u > bestU) {
        bestU = u;
        best = a;
      }
    }
    return best;
  }
}

/** Mixes Dirichlet(α) noise into a root's priors (once per root). */
const noised = new WeakSet<Node>();
function addNoise(node: Node, rng: Rng, alpha: number, frac: number): void {
  if (frac <= 0 || noised.has(node) || node.actions.length < 2) return;
  noised.add(node);
  const g = new Float64Array(node.actions.length);
  let sum = 0;
  for (let a = 0; a < g.length; a++) {
    g[a] = gamma(rng, alpha);
    sum += g[a]!;
  }
  for (let a = 0; a < g.length; a++) node.prior[a] = (1 - frac) * node.prior[a]! + frac * (sum > 0 ? g[a]! / sum : 1 / g.length);
}

/** A Gamma(k, 1) variate (Marsaglia & Tsang 2000; k < 1 by the boost U^(1/k)). */
export function gamma(rng: Rng, k: number): number {
  if (k < 1) return gamma(rng, k + 1) * Math.pow(Math.max(rng.next(), 1e-300), 1 / k);
  const d = k - 1 / 3;
  const cc = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + cc * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Completes `s` in place by always eliminating the network's most likely vertex (no search); returns the vertices eliminated. */
export function policyRollout(s: EliminationState, weights: Weights): number[] {
  const order: number[] = [];
  while (!s.complete) {
    const inp = tokenInput(s);
    const out = forward(weights, inp);
    let best = -1;
    for (let t = 0; t < inp.n; t++) if (inp.mask[t] === 1 && (best < 0 || out.logits[t]! > out.logits[best]!)) best = t;
    const v = inp.vertex[best]!;
    s.eliminate(v);
    order.push(v);
  }
  return order;
}
