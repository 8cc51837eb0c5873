// The tasks by name, and `--task NAME[:key=value,…]` parsing.

import { fashionTask, csvTask, idxTask } from './data.js';
import { addingTask, copyTask, correlatedTask, evidenceTask, patternTask, storeRecallTask, type TaskParams } from './generated.js';
import { TaskError, type Task, type TaskContext } from './types.js';

export { TaskError } from './types.js';
export type { Batch, Task, TaskContext } from './types.js';

export interface TaskInfo {
  readonly name: string;
  readonly description: string;
  /** Settings it takes (`key=value`). */
  readonly settings: readonly string[];
  /** Reads the user's files (the editor asks for workspace trust first). */
  readonly userData?: boolean;
  /** Reads a system data set. */
  readonly dataset?: string;
  make(ctx: TaskContext, p: TaskParams): Task;
}

export const TASKS: readonly TaskInfo[] = [
  { name: 'correlated', description: 'two groups of Poisson inputs, one internally correlated; which one? (tunable correlation and delay)', settings: ['T', 'correlation', 'delay', 'rate', 'window', 'train', 'test'], make: correlatedTask },
  { name: 'store-recall', description: 'remember the bit shown with the store command, answer at recall (Bellec et al. 2020)', settings: ['T', 'period', 'rate', 'noise', 'train', 'test'], make: storeRecallTask },
  { name: 'evidence', description: 'evidence accumulation: which side had more of 7 cues, after a delay (Bellec et al. 2020)', settings: ['T', 'cues', 'rate', 'noise', 'train', 'test'], make: evidenceTask },
  { name: 'pattern', description: 'pattern generation: regress sums of sinusoids from frozen Poisson noise', settings: ['T', 'components', 'rate'], make: patternTask },
  { name: 'adding', description: 'adding task: the sum of two marked values at the end (Hochreiter & Schmidhuber 1997)', settings: ['T', 'train', 'test'], make: addingTask },
  { name: 'copy', description: 'copy task: reproduce a symbol sequence after a delay', settings: ['length', 'delay', 'train', 'test'], make: copyTask },
  { name: 'fashion-rows', description: 'row-by-row sequential Fashion-MNIST (28 steps of 28 pixels, 10 classes)', settings: ['T', 'window', 'train', 'test'], dataset: 'dataset-fashion-mnist', make: (c, p) => fashionTask(c, p, 'rows') },
  { name: 'fashion-permuted', description: 'permuted sequential Fashion-MNIST (pixels in a fixed random order, n_in per step)', settings: ['T', 'window', 'train', 'test'], dataset: 'dataset-fashion-mnist', make: (c, p) => fashionTask(c, p, 'permuted') },
  { name: 'idx', description: 'your IDX images + labels (MNIST format), row-by-row or permuted', settings: ['images', 'labels', 'test-images', 'test-labels', 'order', 'T', 'window', 'train', 'test'], userData: true, make: idxTask },
  { name: 'csv', description: 'your CSV: features then a class label per row, fed n_in features per step', settings: ['path', 'test', 'label', 'T', 'window', 'train', 'test'], userData: true, make: csvTask },
];

/** `name:key=value,key=value` → name and settings. Values may hold ':' (paths) but not ','. */
export function parseTaskSpec(spec: string): { name: string; params: Record<string, string> } {
  const colon = spec.indexOf(':');
  const name = (colon < 0 ? spec : spec.slice(0, colon)).trim();
  const params: Record<string, string> = {};
  if (colon >= 0) {
    for (const part of spec.slice(colon + 1).split(',')) {
      if (!part.trim()) continue;
      const eq = part.indexOf('=');
      if (eq <= 0) throw new TaskError(`task '${name}': settings are key=value, got '${part}' (e.g. --task ${name}:T=200)`);
      params[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
  }
  return { name, params };
}

/** Builds a task for a model from `--task` text. */
export function makeTask(spec: string, ctx: TaskContext, extra: Record<string, string> = {}): Task {
  const { name, params } = parseTaskSpec(spec);
  const info = TASKS.find((t) => t.name === name);
  if (!info) throw new TaskError(`unknown task '${name}' (tasks: ${TASKS.map((t) => t.name).join(', ')})`);
  return info.make(ctx, { ...extra, ...params });
}
