// Alignment on the task's data: sequences of a training task as inputs of
// the Float64 rules engine, with the task's per-step loss weights.
//
// The trainer minimises Σ_t w_t · loss_t (train/tasks/types.ts: each
// sample's weights sum to 1 over the steps that count, e.g. the recall
// window), so the exact gradient the rules engine compares with must be of
// that weighted sum, not of Σ_t loss_t over every step: a rule that is
// aligned on steps the task ignores is not aligned on the task. The samples
// carry the weights (`lossWeights`), which rules/weighted.ts applies.
//
// A model with a loss window (`at last`, `for last K`, …) has a
// `loss_weight` leaf; the task given here is already narrowed to that window
// (taskFor wraps it in withLossWindow, as the trainer does), so the leaf is
// fed ones — the window is in `lossWeights` once, not twice — exactly as
// the compiled trainer feeds it (train/compiled/codegen.ts).

import { sizeOf, type Tensor } from '../graph/types.js';
import type { RunInput } from '../rules/execute.js';
import type { ModelContext } from '../rules/model.js';
import type { Task } from '../train/tasks/index.js';
import { LOSS_WEIGHT } from '../lang/lossWindow.js';

/** A task sequence as a rules-engine input, with the loss weight of each step. */
export interface TaskSample extends RunInput {
  readonly lossWeights: Float64Array;
}

/** Names and shapes of the model's input and target (the tasks feed exactly one of each). */
function dataLeaves(ctx: ModelContext): { input: { name: string; shape: readonly number[] }; target: { name: string; shape: readonly number[] } } {
  const data = ctx.graph.model.data;
  const input = data.find((d) => ctx.scope.symbols.get(d.name)?.kind === 'input');
  const target = data.find((d) => ctx.scope.symbols.get(d.name)?.kind === 'target');
  if (!input || !target) throw new Error(`model '${ctx.name}' needs one input and one target to be trained on a task`);
  const shape = (leaf: number): readonly number[] => ctx.graph.vertices[leaf]!.shape;
  return { input: { name: input.name, shape: shape(input.leaf) }, target: { name: target.name, shape: shape(target.leaf) } };
}

/**
 * `count` training sequences of the task (indices `first`, `first + 1`, …),
 * with the model's declared initial states; parameters are set by the caller.
 */
export function taskSamples(
  ctx: ModelContext,
  task: Task,
  count: number,
  params: ReadonlyMap<string, Tensor>,
  initial: ReadonlyMap<string, Tensor>,
  first = 0,
): TaskSample[] {
  const { input, target } = dataLeaves(ctx);
  const n = Math.min(count, task.trainSize);
  const b = task.batch(
    'train',
    Array.from({ length: n }, (_, k) => (first + k) % task.trainSize),
  );
  const nIn = sizeOf(input.shape);
  const nOut = sizeOf(target.shape);
  const windowed = ctx.graph.model.data.some((d) => d.name === LOSS_WEIGHT);
  const out: TaskSample[] = [];
  for (let s = 0; s < b.size; s++) {
    const xs: Tensor[] = [];
    const ys: Tensor[] = [];
    const lossWeights = new Float64Array(b.steps);
    for (let t = 0; t < b.steps; t++) {
      const xo = (t * b.size + s) * nIn;
      const yo = (t * b.size + s) * nOut;
      xs.push({ shape: input.shape, data: Float64Array.from(b.x.subarray(xo, xo + nIn)) });
      ys.push({ shape: target.shape, data: Float64Array.from(b.y.subarray(yo, yo + nOut)) });
      lossWeights[t] = b.weight[t * b.size + s]!;
    }
    const data = new Map([
      [input.name, xs],
      [target.name, ys],
    ]);
    if (windowed)
      data.set(
        LOSS_WEIGHT,
        Array.from({ length: b.steps }, () => ({ shape: [], data: Float64Array.of(1) })),
      );
    out.push({ steps: b.steps, params, initial, data, lossWeights });
  }
  return out;
}

/** The same sample at other parameters. */
export function withParams(s: TaskSample, params: ReadonlyMap<string, Tensor>): TaskSample {
  return { ...s, params };
}
