// The main-thread side of the job runner: one worker thread per job (a
// spare is kept warm), at most `maxConcurrent` at once (the rest queue),
// progress streamed back, and a stop that always answers within `graceMs`:
// cancelling sets a shared flag and messages the worker; a job that has not
// returned its best by then is terminated and the best it last reported is
// returned instead. The same happens at the time budget. A worker that runs
// out of its memory limit fails that job only.

import type { Worker } from 'node:worker_threads';
import { CancelFlag, WorkerThread } from '../util/worker.js';
import type { JobStatus } from '../protocol.js';
import { CANCEL_INDEX, MAX_TIMER_MS, type FromWorker, type JobInput, type JobReport, type ToWorker } from './types.js';

/** How far past its budget a job may run to hand back its result. */
export const BUDGET_OVERRUN_MS = 1000;

export interface JobOutcome {
  readonly jobId: number;
  readonly kind: string;
  readonly status: JobStatus;
  readonly result?: unknown;
  readonly message?: string;
  /** For the log only (a failure's stack): never shown to the user. */
  readonly detail?: string;
  readonly elapsedMs: number;
}

export interface JobHandle {
  readonly jobId: number;
  readonly done: Promise<JobOutcome>;
  /** Ask the job to stop; `done` resolves within graceMs with the best so far. */
  cancel(): void;
}

export interface RunnerOptions {
  /** Path of the bundled worker entry (dist/worker.js). */
  readonly workerPath: string;
  readonly maxConcurrent: number;
  /** How long a stopped job may take to hand back its best before it is terminated. */
  readonly graceMs: number;
  /** Heap limit of one job's worker. */
  readonly maxBytes: number;
  /** Minimum time between two progress messages of one job. */
  readonly throttleMs: number;
  /** Keep one idle worker started, so a job does not wait for a thread to boot. */
  readonly prewarm: boolean;
}

export interface StartOptions {
  /** Wall-clock budget; the job is stopped (status `budget`) when it is spent. */
  readonly budgetMs?: number;
  /** This job's grace instead of the runner's (an engine that stops its own threads needs a little longer). */
  readonly graceMs?: number;
  readonly onProgress?: (r: JobReport, jobId: number) => void;
}

interface Running {
  readonly jobId: number;
  readonly kind: string;
  readonly input: JobInput;
  readonly opts: StartOptions;
  readonly flag: CancelFlag;
  readonly t0: number;
  worker?: Worker;
  lastBest?: unknown;
  settled: boolean;
  resolve(o: JobOutcome): void;
  timers: NodeJS.Timeout[];
}

export class JobRunner {
  private nextId = 1;
  private readonly queue: Running[] = [];
  private readonly running = new Set<Running>();
  private spare: Worker | undefined;
  private disposed = false;

  constructor(private readonly options: RunnerOptions) {}

  get activeJobs(): number {
    return this.running.size;
  }

  get queuedJobs(): number {
    return this.queue.length;
  }

  start(kind: string, input: JobInput, opts: StartOptions = {}): JobHandle {
    const jobId = this.nextId++;
    let resolve!: (o: JobOutcome) => void;
    const done = new Promise<JobOutcome>((r) => {
      resolve = r;
    });
    const job: Running = {
      jobId,
      kind,
      input,
      opts,
      flag: new CancelFlag(undefined, CANCEL_INDEX),
      t0: performance.now(),
      settled: false,
      resolve,
      timers: [],
    };
    this.queue.push(job);
    this.pump();
    return { jobId, done, cancel: () => this.cancel(job) };
  }

  /** Stops every job and the spare worker (server shutdown). */
  dispose(): void {
    this.disposed = true;
    for (const j of [...this.queue, ...this.running]) this.finish(j, { status: 'cancelled', message: 'the server is shutting down' });
    void this.spare?.terminate();
    this.spare = undefined;
  }

  private pump(): void {
    while (!this.disposed && this.running.size < this.options.maxConcurrent && this.queue.length > 0) {
      const job = this.queue.shift()!;
      if (job.settled) continue;
      this.launch(job);
    }
  }

  private newWorker(): Worker {
    // Each job brings its own cancel flag (a spare thread is started before its job is known).
    return WorkerThread.start({ entry: this.options.workerPath, maxHeapBytes: this.options.maxBytes, unref: true }).worker;
  }

  private takeWorker(): Worker {
    const w = this.spare ?? this.newWorker();
    this.spare = undefined;
    if (this.options.prewarm) {
      setImmediate(() => {
        if (!this.disposed && !this.spare) {
          this.spare = this.newWorker();
          // A spare that dies (it should not) is simply replaced next time.
          this.spare.once('exit', () => {
            this.spare = undefined;
          });
          this.spare.on('error', () => undefined);
        }
      });
    }
    w.removeAllListeners('exit');
    w.removeAllListeners('error');
    return w;
  }

  private launch(job: Running): void {
    this.running.add(job);
    const w = this.takeWorker();
    job.worker = w;
    const budget = job.opts.budgetMs;
    const deadline = budget !== undefined && Number.isFinite(budget) ? Date.now() + budget : Infinity;
    w.on('message', (m: FromWorker) => {
      if (m.jobId !== job.jobId || job.settled) return;
      switch (m.type) {
        case 'progress':
          if (m.report.best !== undefined) job.lastBest = m.report.best;
          job.opts.onProgress?.(m.report, job.jobId);
          break;
        case 'done':
          this.finish(job, { status: m.stopped ?? 'done', result: m.result });
          break;
        case 'refused':
        case 'unavailable':
          this.finish(job, { status: m.type, message: m.message });
          break;
        case 'failed':
          this.finish(job, { status: 'failed', message: m.message, ...(m.detail !== undefined ? { detail: m.detail } : {}) });
          break;
        default: {
          const never: never = m;
          void never;
        }
      }
    });
    w.on('error', (e: Error & { code?: string }) => {
      const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.finish(job, {
        status: 'failed',
        message: oom ? `the job ran out of memory (its limit is ${Math.round(this.options.maxBytes / 2 ** 20)} MiB)` : `the job's worker failed: ${e.message}`,
        ...(job.lastBest !== undefined ? { result: job.lastBest } : {}),
      });
    });
    w.on('exit', (code) => {
      if (!job.settled) this.finish(job, { status: 'failed', message: `the job's worker exited (code ${code})` });
    });
    if (Number.isFinite(deadline)) {
      // The job should stop itself at the deadline; an engine finishing the step in hand may
      // overrun a little (a second at most) before it is stopped and its last best returned.
      job.timers.push(
        setTimeout(() => this.stop(job, 'budget'), Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now()) + Math.max(this.grace(job), BUDGET_OVERRUN_MS))),
      );
    }
    const msg: ToWorker = {
      type: 'start',
      jobId: job.jobId,
      kind: job.kind,
      input: job.input,
      cancel: job.flag.buffer,
      deadline,
      maxBytes: this.options.maxBytes,
      throttleMs: this.options.throttleMs,
    };
    w.postMessage(msg);
  }

  private cancel(job: Running): void {
    if (job.settled) return;
    if (!job.worker) {
      // Still queued.
      this.finish(job, { status: 'cancelled', message: 'cancelled before it started' });
      return;
    }
    job.flag.set();
    job.worker.postMessage({ type: 'cancel', jobId: job.jobId } satisfies ToWorker);
    job.timers.push(setTimeout(() => this.stop(job, 'cancelled'), this.grace(job)));
  }

  private grace(job: Running): number {
    return job.opts.graceMs ?? this.options.graceMs;
  }

  /** The job did not hand back its result in time: terminate it and return the best it reported. */
  private stop(job: Running, status: 'cancelled' | 'budget'): void {
    if (job.settled) return;
    this.finish(job, {
      status,
      ...(job.lastBest !== undefined ? { result: job.lastBest } : {}),
      message: status === 'cancelled' ? 'stopped on request' : 'stopped at the time budget',
    });
  }

  private finish(job: Running, o: Omit<JobOutcome, 'jobId' | 'kind' | 'elapsedMs'>): void {
    if (job.settled) return;
    job.settled = true;
    for (const t of job.timers) clearTimeout(t);
    const result = o.result ?? (o.status === 'cancelled' || o.status === 'budget' ? job.lastBest : undefined);
    job.resolve({ jobId: job.jobId, kind: job.kind, ...o, ...(result !== undefined ? { result } : {}), elapsedMs: performance.now() - job.t0 });
    if (job.worker) {
      const w = job.worker;
      w.removeAllListeners('message');
      w.removeAllListeners('exit');
      w.on('error', () => undefined);
      void w.terminate();
    }
    this.running.delete(job);
    const qi = this.queue.indexOf(job);
    if (qi >= 0) this.queue.splice(qi, 1);
    this.pump();
  }
}
