// The tasks by name — the one registry of task names and their settings, which
// the CLI (`eligo train --task`, `--tasks`), the language server
// (`eligo/trainTasks`) and the editor's task picker read — and
// `--task NAME[:key=value,…]` parsing. A task's settings are checked here
// against its entry, so a typo is refused before any data is made.

import { didYouMean } from '../../lang/suggest.js';
import { fashionTask, csvTask, idxTask } from './data.js';
import { addingTask, copyTask, correlatedTask, evidenceTask, patternTask, storeRecallTask, type TaskParams } from './generated.js';
import { TaskError, type Task, type TaskContext } from './types.js';

/** Every task name, in the order they are listed. */
export const TASK_NAMES = ['correlated', 'store-recall', 'evidence', 'pattern', 'adding', 'copy', 'fashion-rows', 'fashion-permuted', 'idx', 'csv'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** The task the editor offers first (the `eligo.train.task` setting's default). */
export const DEFAULT_TASK: TaskName = 'correlated';

export { TaskError } from './types.js';
export type { Batch, Task, TaskContext } from './types.js';

export interface TaskInfo {
  readonly name: TaskName;
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
  {
    name: 'correlated',
    description: 'two groups of Poisson inputs, one internally correlated; which one? (tunable correlation and delay)',
    settings: ['T', 'correlation', 'delay', 'rate', 'window', 'train', 'test'],
    make: correlatedTask,
  },
  {
    name: 'store-recall',
    description: 'remember the bit shown with the store command, answer at recall (Bellec et al. 2020)',
    settings: ['T', 'period', 'rate', 'noise', 'train', 'test'],
    make: storeRecallTask,
  },
  {
    name: 'evidence',
    description: 'evidence accumulation: which side had more of 7 cues, after a delay (Bellec et al. 2020)',
    settings: ['T', 'cues', 'rate', 'noise', 'train', 'test'],
    make: evidenceTask,
  },
  {
    name: 'pattern',
    description: 'pattern generation: regress sums of sinusoids from frozen Poisson noise',
    settings: ['T', 'components', 'rate'],
    make: patternTask,
  },
  {
    name: 'adding',
    description: 'adding task: the sum of two marked values at the end (Hochreiter & Schmidhuber 1997)',
    settings: ['T', 'train', 'test'],
    make: addingTask,
  },
  { name: 'copy', description: 'copy task: reproduce a symbol sequence after a delay', settings: ['length', 'delay', 'train', 'test'], make: copyTask },
  {
    name: 'fashion-rows',
    description: 'row-by-row sequential Fashion-MNIST (28 steps of 28 pixels, 10 classes)',
    settings: ['T', 'window', 'train', 'test'],
    dataset: 'dataset-fashion-mnist',
    make: (c, p) => fashionTask(c, p, 'rows'),
  },
  {
    name: 'fashion-permuted',
    description: 'permuted sequential Fashion-MNIST (pixels in a fixed random order, n_in per step)',
    settings: ['T', 'window', 'train', 'test'],
    dataset: 'dataset-fashion-mnist',
    make: (c, p) => fashionTask(c, p, 'permuted'),
  },
  {
    name: 'idx',
    description: 'your IDX images + labels (MNIST format), row-by-row or permuted',
    settings: ['images', 'labels', 'test-images', 'test-labels', 'order', 'T', 'window', 'train', 'test'],
    userData: true,
    make: idxTask,
  },
  {
    name: 'csv',
    description: 'your CSV: features then a class label per row, fed n_in features per step',
    settings: ['path', 'test', 'label', 'T', 'window', 'train', 'test'],
    userData: true,
    make: csvTask,
  },
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

const BY_NAME: ReadonlyMap<string, TaskInfo> = new Map(TASKS.map((t) => [t.name, t]));

/** The registry entry of `name`, or undefined. */
export function findTask(name: string): TaskInfo | undefined {
  return BY_NAME.get(name);
}

/** The entry of a task and its settings, after checking the name and every key against the registry. */
export function resolveTaskSpec(spec: string, extra: Readonly<Record<string, string>> = {}): { info: TaskInfo; params: Record<string, string> } {
  const { name, params } = parseTaskSpec(spec);
  const info = findTask(name);
  if (!info) {
    const hint = didYouMean(name, TASK_NAMES);
    throw new TaskError(`unknown task '${name}'${hint ? ` — did you mean '${hint}'?` : ''} (tasks: ${TASK_NAMES.join(', ')})`);
  }
  const all = { ...extra, ...params };
  const bad = Object.keys(all).filter((k) => !info.settings.includes(k));
  if (bad.length) {
    const hint = bad.length === 1 ? didYouMean(bad[0]!, info.settings) : undefined;
    throw new TaskError(
      `${name}: unknown setting${bad.length > 1 ? 's' : ''} ${bad.map((b) => `'${b}'`).join(', ')}${hint ? ` — did you mean '${hint}'?` : ''} (it takes: ${info.settings.join(', ')})`,
    );
  }
  return { info, params: all };
}

/** Builds a task for a model from `--task` text. */
export function makeTask(spec: string, ctx: TaskContext, extra: Record<string, string> = {}): Task {
  const { info, params } = resolveTaskSpec(spec, extra);
  return info.make(ctx, params);
}
