// Playing an elimination order: which vertices are gone after k steps, which
// edges the engine holds then (its initial edges, minus those each step
// deleted, plus its fill-in), and the counter — the engine's running totals,
// read from the trace, never recounted here.

import type { EliminationView, GraphViewModel, OrderTrace } from '../../language-server/src/layout/viewmodel.js';
import { key } from './render/types.js';

export interface StepState {
  readonly eliminated: ReadonlySet<number>;
  readonly current?: number;
  readonly live: ReadonlySet<string>;
  readonly updated: ReadonlySet<string>;
  readonly fill: readonly (readonly [number, number])[];
  readonly fresh: ReadonlySet<string>;
}

export interface Counter {
  readonly step: number;
  readonly steps: number;
  readonly vertex?: number;
  /** Cumulative multiplications / additions after `step` steps (the engine's). */
  readonly multiplications: number;
  readonly additions: number;
  /** Multiplications of the last step alone. */
  readonly stepMultiplications: number;
  /** Live edge memory after `step` steps and the order's peak (the engine's). */
  readonly memoryBytes: number;
  readonly peakMemoryBytes: number;
  readonly totalMultiplications: number;
}

export class Stepper {
  readonly engineEdges: ReadonlySet<string>;
  private readonly drawnPairs: ReadonlySet<string>;
  private readonly initial: readonly (readonly [number, number])[];

  constructor(
    vm: GraphViewModel,
    private readonly elimination: EliminationView | undefined,
  ) {
    this.initial = elimination?.initialEdges ?? [];
    this.engineEdges = new Set(this.initial.map(([a, b]) => key(a, b)));
    const drawn = new Set<string>();
    for (const e of vm.edges) for (const [a, b] of e.pairs) drawn.add(key(a, b));
    // Pairs inside a collapsed group are not drawn but are not fill-in either.
    for (const n of vm.nodes) {
      if (!n.members) continue;
      const inside = new Set(n.members);
      for (const [a, b] of this.initial) if (inside.has(a) && inside.has(b)) drawn.add(key(a, b));
    }
    this.drawnPairs = drawn;
  }

  get orders(): readonly OrderTrace[] {
    return this.elimination?.orders ?? [];
  }

  stateAt(trace: OrderTrace, k: number): StepState {
    const n = Math.max(0, Math.min(k, trace.steps.length));
    const live = new Map<string, readonly [number, number]>();
    for (const p of this.initial) live.set(key(p[0], p[1]), p);
    const eliminated = new Set<number>();
    for (let i = 0; i < n; i++) {
      const st = trace.steps[i]!;
      eliminated.add(st.vertex);
      for (const [a, b] of st.removed) live.delete(key(a, b));
      for (const p of st.added) live.set(key(p[0], p[1]), p);
    }
    const last = n > 0 ? trace.steps[n - 1]! : undefined;
    const fill = [...live.entries()].filter(([k2]) => !this.drawnPairs.has(k2)).map(([, p]) => p);
    return {
      eliminated,
      ...(last ? { current: last.vertex } : {}),
      live: new Set(live.keys()),
      updated: new Set((last?.updated ?? []).map(([a, b]) => key(a, b))),
      fill,
      fresh: new Set((last?.added ?? []).map(([a, b]) => key(a, b))),
    };
  }

  counterAt(trace: OrderTrace, k: number): Counter {
    const n = Math.max(0, Math.min(k, trace.steps.length));
    const last = n > 0 ? trace.steps[n - 1]! : undefined;
    return {
      step: n,
      steps: trace.steps.length,
      ...(last ? { vertex: last.vertex } : {}),
      multiplications: last?.cumulativeMultiplications ?? 0,
      additions: last?.cumulativeAdditions ?? 0,
      stepMultiplications: last?.multiplications ?? 0,
      memoryBytes: last?.memoryBytes ?? trace.initialMemoryBytes,
      peakMemoryBytes: trace.totals.peakMemoryBytes,
      totalMultiplications: trace.totals.multiplications,
    };
  }
}
