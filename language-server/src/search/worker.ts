// The search thread. A worker is started by pool.ts with code that requires
// this module's file (the source under tsx, the bundle in dist/), and this
// module's top level, seeing the worker data, runs the job. In the main
// thread, importing it does nothing.

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Candidate, Progress } from './context.js';
import { runJob, type Job, type JobResult } from './plan.js';
import { createEpisodeTrainer } from './selfplay.js';

/** The file a worker requires: this module (or the bundle that contains it). */
export const WORKER_ENTRY: string = __filename;

export interface WorkerData {
  readonly eligoSearchWorker: true;
  readonly job: Job;
  /** Int32Array[1] over it: nonzero asks the job to stop. */
  readonly stop: SharedArrayBuffer;
  /** Absolute deadline (Date.now() milliseconds): the job's budget counts from the search's start, not the thread's. */
  readonly deadline: number;
}

export type WorkerMessage =
  | { readonly type: 'improve'; readonly candidate: Candidate }
  | { readonly type: 'progress'; readonly progress: Progress }
  | { readonly type: 'note'; readonly note: string }
  | { readonly type: 'done'; readonly result: JobResult }
  | { readonly type: 'error'; readonly message: string };

async function serve(d: WorkerData): Promise<void> {
  const port = parentPort!;
  const post = (m: WorkerMessage): void => port.postMessage(m);
  // Improvements are posted at most every 50 ms (the last one with each progress report).
  let pending: Candidate | null = null;
  let lastPost = 0;
  const flush = (): void => {
    if (pending) post({ type: 'improve', candidate: pending });
    pending = null;
    lastPost = performance.now();
  };
  try {
    const budgetMs = Math.max(1, d.deadline - Date.now());
    const result = await runJob(
      { ...d.job, budgetMs },
      {
        stopFlag: new Int32Array(d.stop),
        onImprove: (c) => {
          pending = c;
          if (performance.now() - lastPost >= 50) flush();
        },
        onProgress: (p) => {
          flush();
          post({ type: 'progress', progress: p });
        },
        onNote: (note) => post({ type: 'note', note }),
        trainer: (w) => createEpisodeTrainer(w, { seed: d.job.seed }),
      },
    );
    flush();
    post({ type: 'done', result });
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? `${e.message}` : String(e) });
  }
}

const data = workerData as Partial<WorkerData> | undefined;
if (!isMainThread && data?.eligoSearchWorker === true && parentPort) void serve(data as WorkerData);

export type { JobResult };
