// Beam search over partial elimination orders.
//
// A beam holds `width` partial orders. Each step expands every one by every
// remaining vertex, ranks the children by cost so far plus the cost of the
// step, keeps the `2·width` cheapest, completes each greedily (fewest
// multiplications first, the strongest cheap heuristic) to score it by a real
// complete order, and keeps the `width` children whose completion is best.
// Every completion is offered as a candidate, so the beam never returns worse
// than the greedy order it starts from. Widths double while budget remains
// (iterative widening), so a short budget still returns a result.

import type { EliminationState } from '../ad/state.js';
import type { SearchContext } from './context.js';
import { greedyComplete, type GreedyOptions } from './heuristics.js';

export interface BeamOptions {
  /** First width (default 2); doubled each pass up to maxWidth. */
  readonly width?: number;
  readonly maxWidth?: number;
  /** Stop when this fraction of the budget is used (default 1). */
  readonly untilFraction?: number;
  /** Completion heuristic (default fewest multiplications, high id on ties). */
  readonly completion?: GreedyOptions;
}

interface Node {
  state: EliminationState;
  order: number[];
  /** Score of the greedy completion from this node. */
  estimate: number;
}

export function beamSearch(ctx: SearchContext, opts: BeamOptions = {}): void {
  ctx.phase = 'beam';
  const until = opts.untilFraction ?? 1;
  const completion: GreedyOptions = opts.completion ?? { key: 'multiplications', tie: 'high-id' };
  const scratch = ctx.state();
  const look = ctx.state();
  const maxWidth = opts.maxWidth ?? 256;
  for (let width = opts.width ?? 2; width <= maxWidth; width *= 2) {
    if (!pass(width)) return;
  }

  /** One beam pass; false when the budget ran out. */
  function pass(width: number): boolean {
    let beam: Node[] = [{ state: ctx.state(), order: [], estimate: Infinity }];
    const n = ctx.problem.eliminable.length;
    for (let depth = 0; depth < n; depth++) {
      // Children ranked by cost so far + this step.
      const kids: { parent: Node; v: number; g: number }[] = [];
      for (const node of beam) {
        const s = node.state;
        for (const v of ctx.problem.eliminable) {
          if (s.done[v] === 1) continue;
          const p = s.peekDetail(v);
          kids.push({
            parent: node,
            v,
            g: ctx.objective.score(s.multiplications + p.multiplications, Math.max(s.peakBytes, p.bytesAtPeak), s.additions + p.additions),
          });
        }
      }
      kids.sort((a, b) => a.g - b.g || a.v - b.v);
      const next: Node[] = [];
      const seen = new Set<string>();
      for (const k of kids) {
        if (next.length >= 2 * width) break;
        // The same set of eliminated vertices is the same graph: keep the cheapest path to it.
        const key = setKey(k.parent.order, k.v);
        if (seen.has(key)) continue;
        seen.add(key);
        const st = k.parent.state.clone();
        st.eliminate(k.v);
        const order = [...k.parent.order, k.v];
        look.copyFrom(st);
        const rest = greedyComplete(look, completion, ctx, scratch);
        ctx.evaluations++;
        const full = order.concat(rest);
        ctx.offer(full, look, `beam-${width}`);
        next.push({ state: st, order, estimate: ctx.scoreOf(look) });
        if (ctx.stopped() || ctx.fractionUsed() >= until) return false;
      }
      next.sort((a, b) => a.estimate - b.estimate);
      beam = next.slice(0, width);
    }
    return true;
  }
}

function setKey(prefix: readonly number[], v: number): string {
  const a = [...prefix, v].sort((x, y) => x - y);
  return a.join(',');
}
