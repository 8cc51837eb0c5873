// Per-step loss weights for the rules engine's executors: the gradient of
// Σ_t w_t · loss_t instead of Σ_t loss_t (a training task counts only some
// steps, e.g. a recall window). Scaling every block of the loss equation by
// w_t (∂(w_t·loss_t)/∂· = w_t · ∂loss_t/∂·) does it for every executor that
// reads the loss through those blocks: the online program (signals' ℓ, ℓ^W,
// the loss-previous terms) and the reverse adjoint recursion.

import type { StepEvaluator, StepPoint, StepResult } from './blocks.js';

/**
 * An evaluator whose loss equation is weighted by the task: loss blocks and
 * the loss value at step t are multiplied by weights[t].
 */
export function weightedEvaluator(ev: StepEvaluator, weights: Float64Array): StepEvaluator {
  const cache = new Map<number, StepResult>();
  return {
    structure: ev.structure,
    step(point: StepPoint): StepResult {
      const r = ev.step(point);
      const t = point.t;
      if (t === undefined) throw new Error('a weighted evaluator needs the step index');
      const w = weights[t] ?? 0;
      if (w === 1) return r;
      const hit = cache.get(t);
      if (hit && hit.next === r.next) return hit;
      const values = new Map(r.values);
      for (const [id, v] of r.values) {
        if (!id.startsWith('d loss/')) continue;
        const scaled = new Float64Array(v.length);
        for (let k = 0; k < v.length; k++) scaled[k] = w * v[k]!;
        values.set(id, scaled);
      }
      // (the engine's sparse Jacobians are used by the forward and order schedules only, which find-rule does not run)
      const out: StepResult = { next: r.next, loss: w * r.loss, values, jacobians: r.jacobians };
      if (cache.size > 4) cache.delete(cache.keys().next().value!);
      cache.set(t, out);
      return out;
    },
  };
}
