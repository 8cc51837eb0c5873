// A task kind: the unit of work Eligo can run anywhere — in this thread, in
// a worker thread, or on another machine through the queue. A kind is a
// name, a payload schema, a result schema and a pure run function of the
// payload; the engines hand payloads to an executor and get results back in
// the order they asked, whatever ran them:
//
//   const results = await executor.map(ruleCandidateTask, payloads, { onResult });
//
// `InProcessExecutor` runs them one after another here (what a local run
// does); `QueueExecutor` (executor.ts) makes them the child jobs of a BullMQ
// flow and `eligo worker` processes run them (worker.ts). Both validate the
// payload with the kind's schema before running it, so a bad payload fails
// the same way in both, with the schema's reason.
//
// Payloads carry data only — model text, seeds, weights — never a path a
// worker would read (the worker reads no file named by a payload).

import type { z } from 'zod';
import { EligoError } from '../../util/errors.js';

export interface TaskProgress {
  readonly message?: string;
  /** 0–100. */
  readonly percentage?: number;
}

export interface TaskContext {
  /** Aborted when the run is cancelled (Ctrl-C, a cancelled request): return or throw soon. */
  readonly signal: AbortSignal;
  /** Throttled by the executor; a worker forwards it as the job's progress. */
  progress(p: TaskProgress): void;
}

export interface TaskKind<P = unknown, R = unknown> {
  /** The job name in the queue: `rule-candidate`, `search-restart`, `selfplay-episodes`, … */
  readonly name: string;
  /** One line for logs: "align one candidate rule with BPTT". */
  readonly title: string;
  readonly payload: z.ZodType<P>;
  readonly result: z.ZodType<R>;
  /** Short description of one payload for a worker's log ("rule_3 for lif (online)"); never secrets. */
  describe?(payload: P): string;
  run(payload: P, ctx: TaskContext): R | Promise<R>;
}

/** A payload (or a result) that its schema rejects: not retried, reported with the schema's reason. */
export class TaskInvalid extends EligoError {
  constructor(message: string) {
    super('queue.payload', message);
  }
}

/** A task that failed for good (its retries used up, or it cannot succeed): the run fails with this message. */
export class TaskFailed extends EligoError {
  constructor(
    readonly kind: string,
    readonly index: number,
    readonly reason: string,
  ) {
    super('queue.task', `task ${index + 1} (${kind}) failed: ${reason}`);
  }
}

/** The run was cancelled before every task finished. */
export class TaskCancelled extends EligoError {
  constructor() {
    super('queue.cancelled', 'cancelled');
  }
}

/** One line per issue, with the path to the field: `spec.schedule.kind: Invalid option: expected one of "online"|"reverse"`. */
export function schemaMessage(e: z.ZodError): string {
  return (
    e.issues
      .slice(0, 4)
      .map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`)
      .join('; ') + (e.issues.length > 4 ? ` (and ${e.issues.length - 4} more)` : '')
  );
}

/** Validates a payload against its kind; throws TaskInvalid with the schema's reason. */
export function parsePayload<P>(kind: TaskKind<P, unknown>, payload: unknown): P {
  const r = kind.payload.safeParse(payload);
  if (!r.success) throw new TaskInvalid(`invalid ${kind.name} payload: ${schemaMessage(r.error)}`);
  return r.data;
}

export function parseResult<R>(kind: TaskKind<unknown, R>, result: unknown): R {
  const r = kind.result.safeParse(result);
  if (!r.success) throw new TaskInvalid(`invalid ${kind.name} result: ${schemaMessage(r.error)}`);
  return r.data;
}

export interface MapOptions<R> {
  readonly signal?: AbortSignal;
  /** Called as each result arrives (in any order on a queue; in order here). */
  readonly onResult?: (index: number, result: R) => void;
  /** A task's progress, or a worker starting it ("task 3 on host-b"). */
  readonly onEvent?: (index: number, message: string) => void;
  /** What the run is, for the queue's records and the workers' logs: "find-rule lif". */
  readonly label?: string;
}

export interface MapResult<R> {
  /** Per payload, in order; undefined where the run was cancelled first. */
  readonly results: (R | undefined)[];
  readonly cancelled: boolean;
}

export interface TaskExecutor {
  /** "in this process" or "queue redis://host:6379 (3 workers)". */
  readonly description: string;
  /** How many tasks it runs at once (engines size their batches by it). */
  readonly parallelism: number;
  /**
   * Runs every payload, resolves with the results in payload order. A task
   * that fails for good rejects with TaskFailed; a cancel resolves with what
   * finished (`cancelled: true`).
   */
  map<P, R>(kind: TaskKind<P, R>, payloads: readonly P[], opts?: MapOptions<R>): Promise<MapResult<R>>;
  close(): Promise<void>;
}

/** Runs tasks one after another in this thread, as a local run always has. */
export class InProcessExecutor implements TaskExecutor {
  readonly description = 'in this process';
  readonly parallelism = 1;

  async map<P, R>(kind: TaskKind<P, R>, payloads: readonly P[], opts: MapOptions<R> = {}): Promise<MapResult<R>> {
    const results: (R | undefined)[] = payloads.map(() => undefined);
    const signal = opts.signal ?? new AbortController().signal;
    for (let k = 0; k < payloads.length; k++) {
      if (signal.aborted) return { results, cancelled: true };
      // Validate as a worker would: the same payload fails the same way in both executors.
      let p: P;
      try {
        p = parsePayload(kind, payloads[k]);
      } catch (e) {
        throw new TaskFailed(kind.name, k, (e as Error).message);
      }
      let r: R;
      try {
        r = await kind.run(p, {
          signal,
          progress: (pr) => {
            if (pr.message) opts.onEvent?.(k, pr.message);
          },
        });
      } catch (e) {
        if (signal.aborted) return { results, cancelled: true };
        throw new TaskFailed(kind.name, k, (e as Error).message);
      }
      results[k] = r;
      opts.onResult?.(k, r);
      // Let timers and signals through between tasks.
      await new Promise<void>((res) => setImmediate(res));
    }
    return { results, cancelled: false };
  }

  async close(): Promise<void> {}
}
