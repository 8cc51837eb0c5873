// The order search (language-server/src/search/): the fast state against the
// cost model, the exact optimum against brute force, every heuristic against
// the optimum, MCTS reaching it, objectives and limits, determinism, and
// cancellation.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { costOf } from '../language-server/src/ad/costs.js';
import { eliminableVertices } from '../language-server/src/ad/linearize.js';
import { EliminationState } from '../language-server/src/ad/state.js';
import { compile, graphOf } from '../language-server/src/compile.js';
import type { Graph } from '../language-server/src/graph/types.js';
import { anneal } from '../language-server/src/search/anneal.js';
import { beamSearch } from '../language-server/src/search/beam.js';
import { SearchContext } from '../language-server/src/search/context.js';
import { exactSearch } from '../language-server/src/search/exact.js';
import { greedyComplete, HEURISTICS, heuristicOrder, runHeuristics, safePreeliminations } from '../language-server/src/search/heuristics.js';
import { mcts } from '../language-server/src/search/mcts.js';
import { initialWeights } from '../language-server/src/search/network.js';
import { Objective, parseBudget, parseBytes, parseObjective, SearchOptionError, type ObjectiveSpec } from '../language-server/src/search/objective.js';
import { impossibleLimit, search } from '../language-server/src/search/search.js';
import { randomMixedGraph, randomScalarGraph, shuffle, rng } from './helpers/randomGraphs.js';

const EXAMPLES = join(__dirname, '..', 'examples');
function example(name: string, item?: string): Graph {
  const c = compile(readFileSync(join(EXAMPLES, `${name}.eligo`), 'utf8'));
  return graphOf(
    c,
    c.items.find((i) => i.kind !== 'rule' && (item === undefined || i.name === item))!,
  );
}

const MULTS: ObjectiveSpec = { kind: 'multiplications' };
function ctxOf(g: Graph, spec: ObjectiveSpec = MULTS, seed = 1, budgetMs = 60_000, maxEvaluations?: number): SearchContext {
  return new SearchContext(g, new Objective(spec), { budgetMs, seed, ...(maxEvaluations ? { maxEvaluations } : {}) });
}

/** Small random graphs: scalar graphs shaped like the benchmarks, and graphs mixing tensors. */
function smallGraph(seed: number): Graph {
  return seed % 3 === 0 ? randomMixedGraph(seed, 12).graph : randomScalarGraph(seed, 14 + (seed % 4), 2 + (seed % 3), 2);
}

function optimum(g: Graph, spec: ObjectiveSpec = MULTS): { score: number; order: number[] } {
  const ctx = ctxOf(g, spec);
  const r = exactSearch(ctx, { maxVertices: 20 });
  assert.equal(r.status, 'optimal', r.message);
  return { score: ctx.best!.score, order: [...ctx.best!.order] };
}

function permutations(xs: number[]): number[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

describe('search: the fast elimination state (ad/state.ts)', () => {
  it('costs random orders of every AD benchmark exactly as costOf does', () => {
    const r = rng(11);
    for (const name of ['roeflux_1d', 'roeflux_3d', 'random_f', 'mlp', 'transformer', 'black_scholes']) {
      const g = example(name);
      const s = EliminationState.of(g);
      for (let k = 0; k < 4; k++) {
        const order = shuffle(eliminableVertices(g), r);
        const c = costOf(g, order);
        s.run(order);
        assert.deepEqual([s.multiplications, s.additions, s.fillIn, s.peakBytes], [c.multiplications, c.additions, c.fillIn, c.peakMemoryBytes], name);
      }
    }
  });

  it('agrees with costOf on random graphs with tensors, and peek predicts each step (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 1000 }), (seed, perm) => {
        const g = randomMixedGraph(seed, 14).graph;
        const order = shuffle(eliminableVertices(g), rng(perm));
        const s = EliminationState.of(g);
        for (const v of order) {
          const p = s.peekDetail(v);
          const before = s.multiplications;
          assert.equal(s.peek(v), p.multiplications);
          s.eliminate(v);
          assert.equal(s.multiplications - before, p.multiplications);
          assert.equal(s.liveBytes, p.bytesAfter);
          assert.ok(s.peakBytes >= p.bytesAtPeak);
        }
        const c = costOf(g, order);
        assert.deepEqual([s.multiplications, s.peakBytes, s.additions], [c.multiplications, c.peakMemoryBytes, c.additions]);
      }),
      { numRuns: 60 },
    );
  });

  it('copyFrom restores a state and clone() is independent of its source', () => {
    const g = example('roeflux_1d');
    const a = EliminationState.of(g);
    const [v, w] = eliminableVertices(g);
    a.eliminate(v!);
    const b = a.clone();
    b.eliminate(w!);
    assert.equal(a.remaining, b.remaining + 1);
    const c = EliminationState.of(g).copyFrom(a);
    assert.equal(c.multiplications, a.multiplications);
    assert.equal(c.canEliminate(v!), false);
    assert.equal(c.canEliminate(w!), true);
  });
});

describe('search: exact optimum by dynamic programming over eliminated sets', () => {
  it('equals brute force over every order on graphs with up to 7 eliminable vertices', () => {
    let checked = 0;
    for (let seed = 1; checked < 12 && seed < 200; seed++) {
      const g = randomScalarGraph(seed, 9, 2, 2);
      const elim = eliminableVertices(g);
      if (elim.length > 7 || elim.length < 3) continue;
      checked++;
      const s = EliminationState.of(g);
      let best = Infinity;
      for (const p of permutations(elim)) best = Math.min(best, s.run(p));
      assert.equal(costOf(g, optimum(g).order).multiplications, best, `seed ${seed}`);
    }
    assert.ok(checked >= 10);
  });

  it('every heuristic, beam search and annealing is at least the optimum (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), (seed) => {
        const g = smallGraph(seed);
        const opt = optimum(g).score;
        const ctx = ctxOf(g);
        for (const h of HEURISTICS) assert.ok(ctx.scoreOf(heuristicOrder(ctx, h).state) >= opt - 1e-9, h.name);
        const found = runHeuristics(ctx);
        beamSearch(ctxOf(g, MULTS, seed, 60_000, 300));
        const a = ctxOf(g, MULTS, seed, 60_000, 2000);
        anneal(a, { starts: [found[0]!.order] });
        assert.ok(found[0]!.score >= opt - 1e-9);
        assert.ok(a.best!.score >= opt - 1e-9);
        return true;
      }),
      { numRuns: 25 },
    );
  });

  it("Markowitz-degree-0 pre-eliminations keep the optimum; AlphaGrad's degree ≤ 1 can lose it", () => {
    for (let seed = 1; seed <= 15; seed++) {
      const g = smallGraph(seed);
      const without = exactSearch(ctxOf(g), { preeliminate: false, maxVertices: 20 });
      const ctx0 = ctxOf(g);
      exactSearch(ctx0, { preeliminate: 0, maxVertices: 20 });
      const ctxN = ctxOf(g);
      exactSearch(ctxN, { preeliminate: false, maxVertices: 20 });
      assert.equal(without.status, 'optimal');
      assert.equal(ctx0.best!.multiplications, ctxN.best!.multiplications, `seed ${seed}`);
    }
    // A scalar graph where eliminating the degree-1 vertices first costs one multiplication more than the optimum.
    const g = randomScalarGraph(16, 16, 4, 2);
    const free = ctxOf(g);
    exactSearch(free, { preeliminate: false });
    const pre1 = ctxOf(g);
    exactSearch(pre1, { preeliminate: 1 });
    assert.ok(pre1.best!.multiplications > free.best!.multiplications, `${pre1.best!.multiplications} vs ${free.best!.multiplications}`);
  });

  it('minimises peak memory (max over steps) and respects a memory limit', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const g = randomScalarGraph(seed, 12, 3, 2);
      const elim = eliminableVertices(g);
      const mem = optimum(g, { kind: 'memory' });
      const s = EliminationState.of(g);
      // No random order needs less memory than the exact optimum.
      const r = rng(seed);
      for (let k = 0; k < 200; k++) {
        s.run(shuffle(elim, r));
        assert.ok(s.peakBytes >= costOf(g, mem.order).peakMemoryBytes);
      }
      // Under a limit at the smallest peak, the best order meets it and costs no less than the unconstrained optimum.
      const limit = costOf(g, mem.order).peakMemoryBytes;
      const lim = optimum(g, { kind: 'multiplications', limitBytes: limit });
      assert.ok(costOf(g, lim.order).peakMemoryBytes <= limit);
      assert.ok(costOf(g, lim.order).multiplications >= costOf(g, optimum(g).order).multiplications);
    }
  });

  it('declines graphs with more vertices than it can enumerate, saying how many', () => {
    const ctx = ctxOf(example('roeflux_1d'));
    const r = exactSearch(ctx);
    assert.equal(r.status, 'too-large');
    assert.match(r.message, /at most 22 eliminable vertices .* this one has 96/);
  });
});

describe('search: MCTS with the policy/value network', () => {
  it('reaches the exact optimum on small random graphs', function () {
    this.timeout(30_000);
    for (let seed = 1; seed <= 12; seed++) {
      const g = randomScalarGraph(seed * 7 + 3, 17, 2, 2);
      const opt = optimum(g).score;
      const ctx = ctxOf(g, MULTS, seed);
      mcts(ctx, { weights: initialWeights(), simulationsPerMove: 64, maxEpisodes: 4 });
      assert.equal(ctx.best!.score, opt, `graph ${seed * 7 + 3}`);
    }
  });

  it('plays the same episodes with the same seed', () => {
    const g = randomScalarGraph(5, 30, 3, 2);
    const run = (seed: number): string => {
      const ctx = ctxOf(g, MULTS, seed);
      return mcts(ctx, { weights: initialWeights(), simulationsPerMove: 16, maxEpisodes: 2 })
        .map((e) => e.order.join(','))
        .join('|');
    };
    assert.equal(run(3), run(3));
  });
});

describe('search: objectives, limits and options', () => {
  it('reads objectives, budgets and memory sizes, and rejects bad ones with a clear message', () => {
    assert.deepEqual(parseObjective('mults'), { kind: 'multiplications' });
    assert.deepEqual(parseObjective('memory'), { kind: 'memory' });
    assert.deepEqual(parseObjective('time'), { kind: 'time' });
    assert.deepEqual(parseObjective('mults+0.5*memory'), { kind: 'weighted', weights: { multiplications: 1, memory: 0.5 } });
    assert.throws(() => parseObjective('speed'), /unknown objective 'speed'.*mults, memory, time/);
    assert.throws(() => parseObjective('mults+x*memory'), SearchOptionError);
    assert.equal(parseBudget('60s'), 60_000);
    assert.equal(parseBudget('500ms'), 500);
    assert.equal(parseBudget('2m'), 120_000);
    assert.equal(parseBudget('1.5'), 1500);
    assert.throws(() => parseBudget('0s'), /must be positive/);
    assert.throws(() => parseBudget('-5s'), /must be positive/);
    assert.throws(() => parseBudget('1e9s'), /absurdly long/);
    assert.throws(() => parseBudget('soon'), /cannot read budget/);
    assert.throws(() => parseBudget('NaN'), /cannot read budget/);
    assert.equal(parseBytes('128KiB'), 131072);
    assert.equal(parseBytes('128 KiB'), 131072);
    assert.equal(parseBytes('1.5MB'), 1.5e6);
    assert.throws(() => parseBytes('0KiB'), /positive/);
    assert.throws(() => parseBytes('12 parsecs'), /cannot read memory/);
  });

  it('a weighted objective trades multiplications against memory', () => {
    const g = example('mlp');
    const o = new Objective({ kind: 'weighted', weights: { multiplications: 1, memory: 0.01 } });
    assert.equal(o.score(100, 1000), 110);
    assert.throws(() => new Objective({ kind: 'weighted', weights: { multiplications: 0, memory: 0 } }), /not both zero/);
    const fwd = costOf(g, 'forward');
    assert.ok(o.score(fwd.multiplications, fwd.peakMemoryBytes) > fwd.multiplications);
  });

  it('an order above the memory limit is infeasible: scored above every feasible order', () => {
    const o = new Objective({ kind: 'multiplications', limitBytes: 1000 });
    assert.ok(o.score(1e9, 1000) < o.score(1, 1001));
    assert.ok(o.score(1, 1001) < o.score(1, 2000));
    assert.equal(o.feasible(1001), false);
  });

  it('a limit below the memory of the initial graph is reported as impossible, with the least any order needs', async () => {
    const g = example('roeflux_1d');
    const imp = impossibleLimit(g, 100);
    assert.ok(imp);
    assert.match(imp.message, /no elimination order can stay within 100 B/);
    const r = await search(g, { limitBytes: 100, method: 'heuristics', budgetMs: 300, threads: 0, measure: false });
    assert.ok(r.infeasible);
    assert.match(r.infeasible.message, /no elimination order can stay within 100 B.*the smallest peak memory found is/);
    assert.ok(r.infeasible.smallestPeakBytes >= r.infeasible.lowerBoundBytes);
  });

  it('a reachable limit is met when the search can meet it', async () => {
    const g = example('roeflux_1d');
    const mem = await search(g, { objective: 'memory', method: 'heuristics', budgetMs: 500, threads: 0, measure: false });
    const limit = mem.best.peakMemoryBytes;
    const r = await search(g, { limitBytes: limit, method: 'anneal', budgetMs: 800, threads: 0, measure: false });
    assert.ok(!r.infeasible);
    assert.ok(r.best.peakMemoryBytes <= limit);
  });

  it('rejects unknown methods, non-positive budgets and bad seeds before searching', async () => {
    const g = example('black_scholes');
    await assert.rejects(search(g, { method: 'magic' as never }), /unknown method 'magic'/);
    await assert.rejects(search(g, { budgetMs: 0 }), /must be positive/);
    await assert.rejects(search(g, { budgetMs: -1 }), /must be positive/);
    await assert.rejects(search(g, { budgetMs: Infinity }), /not a finite time/);
    await assert.rejects(search(g, { seed: -3 }), /seed must be/);
    await assert.rejects(search(g, { objective: 'speed' }), /unknown objective/);
  });

  it('times orders for the time objective and picks the fastest measured one', async () => {
    const g = example('black_scholes');
    const r = await search(g, { objective: 'time', method: 'heuristics', budgetMs: 1500, threads: 0 });
    assert.ok(r.best.seconds !== null && r.best.seconds > 0);
    for (const b of Object.values(r.baselines)) assert.ok(b.seconds !== null);
  });
});

describe('search(): threads, determinism, progress and cancellation', () => {
  it('gives the same order with the same seed and an evaluation budget, on two threads', async function () {
    this.timeout(30_000);
    const g = example('propane');
    const opts = { method: 'anneal' as const, budgetMs: 20_000, maxEvaluations: 3000, seed: 42, threads: 2, measure: false };
    const a = await search(g, opts);
    const b = await search(g, opts);
    assert.equal(a.threads, 2);
    assert.deepEqual(a.best.order, b.best.order);
    assert.equal(a.best.multiplications, b.best.multiplications);
    assert.equal(a.stoppedBy, 'evaluations');
  });

  it('reports progress and stops within 200 ms of a cancel with the best order so far', async function () {
    this.timeout(30_000);
    const g = example('roeflux_1d');
    const ac = new AbortController();
    let reports = 0;
    let firstBest = Infinity;
    let abortedAt = 0;
    const p = search(g, {
      method: 'all',
      budgetMs: 20_000,
      threads: 2,
      signal: ac.signal,
      measure: false,
      onProgress: (pr) => {
        reports++;
        if (Number.isFinite(pr.bestScore) && firstBest === Infinity) {
          firstBest = pr.bestScore;
          setTimeout(() => {
            abortedAt = performance.now();
            ac.abort();
          }, 1500);
        }
      },
    });
    const r = await p;
    const latency = performance.now() - abortedAt;
    assert.ok(abortedAt > 0, 'the search ended before the cancel');
    assert.ok(latency < 200, `stopped ${latency.toFixed(0)} ms after the cancel`);
    assert.equal(r.stoppedBy, 'cancel');
    assert.ok(reports > 0);
    assert.ok(r.best.multiplications <= Math.min(r.baselines.reverse.multiplications, r.baselines.markowitz.multiplications));
  });

  it('beats reverse mode and Markowitz on RoeFlux_1d within a short budget', async function () {
    this.timeout(30_000);
    const r = await search(example('roeflux_1d'), { method: 'anneal', budgetMs: 3000, measure: false });
    assert.ok(r.best.multiplications < r.baselines.reverse.multiplications);
    assert.ok(r.best.multiplications < r.baselines.markowitz.multiplications);
  });
});

describe('search: greedy completion and pre-eliminations', () => {
  it('greedy completion leaves nothing to eliminate and pre-eliminations take only degree-0 vertices', () => {
    const g = example('heart_dipole');
    const s = EliminationState.of(g);
    const pre = safePreeliminations(s);
    for (const v of pre) assert.ok(v >= 0);
    const rest = greedyComplete(s, { key: 'multiplications' });
    assert.equal(s.remaining, 0);
    assert.equal(pre.length + rest.length, eliminableVertices(g).length);
  });
});
