// Runs search jobs in worker threads (one per core, two on this machine), so
// the language server's main loop keeps serving while a search runs, and
// stops them within a fraction of a second of a cancel.
//
// Stopping: a shared Int32Array flag that every method polls; a thread that
// has not answered `graceMs` after the flag is set is terminated, and its last
// reported best order is used. Improvements stream to this thread as they are
// found, so a terminated thread loses nothing but its last 50 ms.
//
// Where threads cannot start (no worker support, a loader that cannot load
// the module), the jobs run one after another in this thread, and a note says
// so.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Candidate, Progress } from './context.js';
import { runJob, type Job, type JobResult } from './plan.js';
import { createEpisodeTrainer } from './selfplay.js';
import { CancelFlag, WorkerThread } from '../util/worker.js';
import { WORKER_ENTRY, type WorkerData, type WorkerMessage } from './worker.js';

export interface PoolOptions {
  /** 0 runs the jobs in this thread (blocking it). */
  readonly threads: number;
  /** Absolute deadline, Date.now() milliseconds. */
  readonly deadline: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (threads: readonly (Progress | null)[], best: Candidate | null) => void;
  /** How long a stopped thread may take to answer before it is terminated (default 120 ms). */
  readonly graceMs?: number;
  /** Override the file workers load (default: this module's bundle or source). */
  readonly workerEntry?: string;
}

export interface PoolResult {
  /** Per job: its result, or null when it was terminated or failed. */
  readonly results: (JobResult | null)[];
  /** Per job: the best order it reported (also for terminated jobs). */
  readonly bests: (Candidate | null)[];
  readonly notes: string[];
  readonly errors: string[];
  readonly cancelled: boolean;
  readonly threads: number;
}

export async function runPool(jobs: readonly Job[], o: PoolOptions): Promise<PoolResult> {
  if (o.threads <= 0) return runHere(jobs, o, []);
  // One flag for every thread of the search: the first stop reason stops them all.
  const flag = new CancelFlag();
  const stop = flag.buffer;
  const results: (JobResult | null)[] = jobs.map(() => null);
  const bests: (Candidate | null)[] = jobs.map(() => null);
  const progress: (Progress | null)[] = jobs.map(() => null);
  const notes: string[] = [];
  const errors: string[] = [];
  let cancelled = false;
  let startFailed = false;
  const better = (a: Candidate | null, b: Candidate | null): Candidate | null => (a === null ? b : b === null ? a : b.score < a.score ? b : a);
  const overall = (): Candidate | null => bests.reduce<Candidate | null>((acc, c) => better(acc, c), null);

  await new Promise<void>((resolveAll) => {
    let open = jobs.length;
    const workers: (WorkerThread | null)[] = [];
    let killTimer: NodeJS.Timeout | undefined;
    const finish = (k: number): void => {
      if (workers[k] === null) return;
      const w = workers[k]!;
      workers[k] = null;
      void w.terminate();
      if (--open === 0) {
        if (killTimer) clearTimeout(killTimer);
        clearTimeout(hardStop);
        o.signal?.removeEventListener('abort', onAbort);
        resolveAll();
      }
    };
    const stopAll = (): void => {
      flag.set();
      killTimer ??= setTimeout(() => workers.forEach((_, k) => finish(k)), o.graceMs ?? 120);
    };
    const onAbort = (): void => {
      cancelled = true;
      stopAll();
    };
    // A thread that overruns its deadline (it should not) is stopped too.
    const hardStop = setTimeout(stopAll, Math.max(0, o.deadline - Date.now()) + 250);
    o.signal?.addEventListener('abort', onAbort);
    jobs.forEach((job, k) => {
      const data: WorkerData = { eligoSearchWorker: true, job, stop, deadline: o.deadline };
      let t: WorkerThread;
      try {
        // stdout dropped: tfjs and wasm print banners; the search's output is the result only.
        t = WorkerThread.start({ entry: o.workerEntry ?? defaultEntry(), workerData: data, stdout: 'ignore', stderr: 'capture', cancel: flag });
      } catch (e) {
        errors.push(`thread ${k}: ${(e as Error).message}`);
        startFailed = true;
        workers.push(null);
        open--;
        return;
      }
      workers.push(t);
      const w = t.worker;
      let heard = false;
      w.on('message', (m: WorkerMessage) => {
        heard = true;
        switch (m.type) {
          case 'improve':
            bests[k] = better(bests[k]!, m.candidate);
            break;
          case 'progress':
            progress[k] = m.progress;
            o.onProgress?.(progress, overall());
            break;
          case 'note':
            if (!notes.includes(m.note)) notes.push(m.note);
            break;
          case 'done':
            results[k] = m.result;
            bests[k] = better(bests[k]!, m.result.best);
            for (const n of m.result.notes) if (!notes.includes(n)) notes.push(n);
            finish(k);
            break;
          case 'error':
            errors.push(`thread ${k}: ${m.message}`);
            finish(k);
            break;
        }
      });
      w.on('error', (e) => {
        if (!heard) startFailed = true;
        const err = t.stderrTail();
        errors.push(`thread ${k}: ${e.message.split('\n')[0]}${err ? ` (${err})` : ''}`);
        finish(k);
      });
      w.on('exit', () => finish(k));
    });
    if (open === 0) resolveAll();
    if (o.signal?.aborted) onAbort();
  });
  if (startFailed && results.every((r) => r === null) && !cancelled && Date.now() < o.deadline) {
    return runHere(jobs, o, [`search threads could not start (${errors[0] ?? 'unknown error'}); searching in this thread`]);
  }
  return { results, bests, notes, errors, cancelled, threads: jobs.length };
}

/**
 * The module a worker loads: a dedicated `search-worker.js` bundle beside the
 * running bundle when the build makes one (small, quick to start), else the
 * running bundle itself, or this source file under tsx.
 */
function defaultEntry(): string {
  if (WORKER_ENTRY.endsWith('.js')) {
    const small = join(dirname(WORKER_ENTRY), 'search-worker.js');
    if (existsSync(small)) return small;
  }
  return WORKER_ENTRY;
}

/** The jobs in this thread, one after another, splitting the time left. */
async function runHere(jobs: readonly Job[], o: PoolOptions, notes: string[]): Promise<PoolResult> {
  const results: (JobResult | null)[] = [];
  const bests: (Candidate | null)[] = [];
  const stop = new Int32Array(new SharedArrayBuffer(4));
  for (let k = 0; k < jobs.length; k++) {
    const left = Math.max(1, o.deadline - Date.now());
    const budgetMs = left / (jobs.length - k);
    const r = await runJob(
      { ...jobs[k]!, budgetMs },
      {
        stopFlag: stop,
        ...(o.signal ? { signal: o.signal } : {}),
        onProgress: (p) => o.onProgress?.([p], r0()),
        trainer: (w) => createEpisodeTrainer(w, { seed: jobs[k]!.seed }),
      },
    );
    results.push(r);
    bests.push(r.best);
    for (const n of r.notes) if (!notes.includes(n)) notes.push(n);
    if (o.signal?.aborted) break;
  }
  function r0(): Candidate | null {
    return bests.reduce<Candidate | null>((a, c) => (a === null || (c !== null && c.score < a.score) ? c : a), null);
  }
  return { results, bests, notes, errors: [], cancelled: o.signal?.aborted ?? false, threads: 0 };
}
