// A model's loss window applied to a task's batches. The task says which
// steps it scores (its mask: store-recall's recall period, evidence's
// decision window — where its targets are defined); the model's loss clause
// (`at last`, `for last K`, `after K`) narrows that to the steps the model's
// loss counts. Each sample's weights are renormalised to sum to 1 over what
// is left, and labels outside it are dropped, so the loss and the accuracy
// are computed over the same steps.

import { describeLossWindow, lossWeights, lossWindowProblem } from '../../lang/lossWindow.js';
import type { LossWindow } from '../../lang/symbols.js';
import { TaskError, type Batch, type Task } from './types.js';

export function withLossWindow(task: Task, window: LossWindow, model: string): Task {
  if (window.kind === 'every') return task;
  const problem = lossWindowProblem(window, task.steps);
  if (problem) throw new TaskError(`model '${model}': ${problem} (task ${task.name})`);
  const w = lossWeights(window, task.steps);
  return {
    ...task,
    name: `${task.name} · loss ${describeLossWindow(window)}`,
    batch(split, indices): Batch {
      const b = task.batch(split, indices);
      const B = b.size;
      const weight = new Float32Array(b.weight.length);
      const labels = b.labels ? Int32Array.from(b.labels) : undefined;
      for (let s = 0; s < B; s++) {
        let sum = 0;
        for (let t = 0; t < b.steps; t++) sum += b.weight[t * B + s]! * w[t]!;
        if (!(sum > 0)) {
          throw new TaskError(
            `model '${model}': its loss counts ${describeLossWindow(window)}, but task ${task.name} scores none of those steps for sample ${indices[s]} of the ${split} split; use a window that overlaps the task's (e.g. no clause, or 'at last' for tasks scored at the end)`,
          );
        }
        for (let t = 0; t < b.steps; t++) {
          const k = t * B + s;
          weight[k] = (b.weight[k]! * w[t]!) / sum;
          if (labels && weight[k] === 0) labels[k] = -1;
        }
      }
      return { ...b, weight, ...(labels ? { labels } : {}) };
    },
  };
}
