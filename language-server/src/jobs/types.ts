// Long jobs (search, learning-rule discovery, training) run in worker
// threads, off the language server's main loop. A job kind is a plain
// object: it validates its parameters (they cross a thread as `unknown`),
// may refuse up front with a memory estimate, and runs, reporting progress
// and a best-so-far through its context and stopping when asked.
//
// Engines plug in by adding a kind to `kinds.ts`; nothing else changes.

import type { EligoSettings } from '../protocol.js';
import type { FileAccessPolicy } from '../train/tasks/files.js';
import { EligoError } from '../util/errors.js';

/** What every job gets: the document text (compiled again in the worker), the item and the settings. */
export interface JobInput {
  readonly uri?: string;
  readonly text?: string;
  readonly item?: string;
  readonly settings: EligoSettings;
  /** The request's own parameters (overrides of the settings, strategy, seed, …), validated by the kind. */
  readonly params: unknown;
  /** Which data files the job may read: the workspace's trust and folders (train/tasks/files.ts); absent: none. */
  readonly files?: FileAccessPolicy;
  /** `eligo.queue.redis` (with its password): the kinds that can, run on the job queue's workers. */
  readonly queueUrl?: string;
}

export interface JobReport<B = unknown> {
  readonly message?: string;
  /** 0–100. */
  readonly percentage?: number;
  /** Best result so far, in the kind's result type: returned if the job is stopped. */
  readonly best?: B;
  /** A chart point for the webview. */
  readonly point?: { readonly x: number; readonly y: Readonly<Record<string, number>> };
}

export interface JobContext<B = unknown> {
  /** True once the job was asked to stop (cancel) — check it often in loops. */
  readonly cancelled: boolean;
  /** True once the time budget is spent. */
  readonly overBudget: boolean;
  /** cancelled || overBudget: return the best so far. */
  readonly shouldStop: boolean;
  /** Aborted on cancel and at the budget: for async work (tfjs, timers). */
  readonly signal: AbortSignal;
  /** Milliseconds left of the budget (Infinity without one). */
  readonly remainingMs: number;
  /** Report progress; throttled, the last best is always delivered. */
  report(r: JobReport<B>): void;
  /** Let the worker's event loop run (messages, timers); await it in long async loops. */
  yield(): Promise<void>;
}

export interface JobKind<P = unknown, R = unknown> {
  readonly kind: string;
  /** One line for the progress title: "Searching elimination orders". */
  readonly title: string;
  /** Validate the request parameters; throw JobRefused with a clear message. */
  parse(input: JobInput): P;
  /** Bytes the job would need, checked against the memory limit before it starts. */
  estimateBytes?(input: JobInput, params: P): number;
  run(input: JobInput, params: P, ctx: JobContext<R>): R | Promise<R>;
}

/** The job will not start: bad parameters, an item with errors, too much memory. */
export class JobRefused extends EligoError {
  constructor(
    message: string,
    readonly estimateBytes?: number,
  ) {
    super('job.refused', message);
  }
}

/** The engine behind the job kind is not built (yet). */
export class JobUnavailable extends EligoError {
  constructor(message: string) {
    super('job.unavailable', message);
  }
}

// ---------------------------------------------------------------- thread messages

export type ToWorker =
  | {
      readonly type: 'start';
      readonly jobId: number;
      readonly kind: string;
      readonly input: JobInput;
      readonly cancel: SharedArrayBuffer;
      readonly deadline: number;
      readonly maxBytes: number;
      readonly throttleMs: number;
    }
  | { readonly type: 'cancel'; readonly jobId: number };

export type FromWorker =
  | { readonly type: 'progress'; readonly jobId: number; readonly report: JobReport }
  | { readonly type: 'done'; readonly jobId: number; readonly result: unknown; readonly stopped: 'cancelled' | 'budget' | null }
  | { readonly type: 'refused' | 'unavailable'; readonly jobId: number; readonly message: string }
  /** `message` is for the user (no stack); `detail` (the stack) goes to the server's log only. */
  | { readonly type: 'failed'; readonly jobId: number; readonly message: string; readonly detail?: string };

/** The longest delay a Node timer can wait (2³¹ − 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Cancel flag layout: Int32 at index 0, 1 = cancel requested. */
export const CANCEL_INDEX = 0;
