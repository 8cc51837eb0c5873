// Which steps a model's loss counts: the weight w_t of each step's loss in the
// total L = Σ_t w_t · loss_t (LANGUAGE.md, "Loss over time"). Without a clause
// every step counts (w_t = 1); `at last` counts step T only; `for last K` the
// last K steps; `after K` every step after the first K (a burn-in). The
// weights depend on the number of steps T, which is a setting of the run, so
// a window that does not fit in T is an error of the run, said with the
// clause's location.

import type { Range } from './ast.js';
import type { LossWindow } from './symbols.js';
import { EligoError } from '../util/errors.js';

/** The data leaf that carries w_t into a model step graph when the loss has a clause. */
export const LOSS_WEIGHT = 'loss_weight';

export class LossWindowError extends EligoError {
  constructor(
    message: string,
    readonly range?: Range,
  ) {
    super('lang.loss-window', message);
  }
}

/** The clause as written. */
export function describeLossWindow(w: LossWindow): string {
  switch (w.kind) {
    case 'every':
      return 'every step';
    case 'last':
      return 'at last';
    case 'window':
      return w.from === 'end' ? `for last ${w.count}` : `after ${w.count}`;
  }
}

/** A window that leaves no step of a T-step run, as a message; undefined when it fits. */
export function lossWindowProblem(w: LossWindow, steps: number): string | undefined {
  if (w.kind === 'window' && w.from === 'end' && w.count > steps) {
    return `the loss counts the last ${w.count} steps ('${describeLossWindow(w)}') but the sequence has ${steps}: use at least ${w.count} steps or a shorter window`;
  }
  if (w.kind === 'window' && w.from === 'start' && w.count >= steps) {
    return `the loss counts the steps after the first ${w.count} ('${describeLossWindow(w)}') but the sequence has ${steps}: no step is left; use more than ${w.count} steps`;
  }
  return undefined;
}

/** w_t for t = 1…T (index t − 1): 1 where the loss counts, 0 elsewhere. */
export function lossWeights(w: LossWindow, steps: number): Float64Array {
  const problem = lossWindowProblem(w, steps);
  if (problem) throw new LossWindowError(problem, w.kind === 'every' ? undefined : w.range);
  const out = new Float64Array(steps);
  switch (w.kind) {
    case 'every':
      out.fill(1);
      break;
    case 'last':
      out[steps - 1] = 1;
      break;
    case 'window':
      if (w.from === 'end') out.fill(1, steps - w.count);
      else out.fill(1, w.count);
      break;
  }
  return out;
}
