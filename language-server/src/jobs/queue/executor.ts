// The queued executor: one `map()` is one BullMQ flow — a parent job (the
// run, in queue `runs`) whose children are the tasks (queue `tasks`), one
// per payload, with job ids `<run>.<index>`. `eligo worker` processes run
// the children; results stream back through QueueEvents as they finish and
// are put in payload order, so the engine sees what the in-process executor
// would have given it.
//
// Counting: a result is taken once per job id, so a task retried after its
// worker died (stalled) or after an error is counted once. Waiting: events
// can be missed across a Redis restart, so the pending tasks are also polled;
// a poll that cannot reach Redis for `unreachableMs` fails the run with a
// clear message, and a task that vanished (Redis restarted without
// persistence) fails it too: a run never hangs on Redis. Cancel: a flag and
// a message to the workers (worker.ts), which stop the run's running tasks
// and fail its waiting ones at once.

import { randomBytes } from 'node:crypto';
import { FlowProducer, Job, Queue, QueueEvents } from 'bullmq';
import { checkRedis, parseRedisUrl, QUEUE_PREFIX, redisClient, RUN_QUEUE, scrub, TASK_QUEUE, withTimeout, type QueueConnection } from './connection.js';
import { parseResult, TaskFailed, type MapOptions, type MapResult, type TaskExecutor, type TaskKind } from './kind.js';
import { cancelKey, CANCEL_CHANNEL, listWorkers, type TaskJobData, type WorkerInfo } from './worker.js';
import { decodeWire, encodeWire } from './wire.js';

export interface QueueExecutorOptions {
  readonly url: string;
  /** Fail the run when Redis cannot be reached for this long (default 30 s). */
  readonly unreachableMs?: number;
  /** Attempts per task (default 3): a task that throws is retried with exponential backoff. */
  readonly attempts?: number;
  /** How often pending tasks are polled besides the events (default 2 s). */
  readonly pollMs?: number;
  /** Said when something worth knowing happens (no worker yet, a task retried, Redis back). */
  readonly onNote?: (note: string) => void;
}

export class QueueExecutor implements TaskExecutor {
  readonly connection: QueueConnection;
  private redis: ReturnType<typeof redisClient> | undefined;
  private flow: FlowProducer | undefined;
  private queue: Queue | undefined;
  private events: QueueEvents | undefined;
  private workers: WorkerInfo[] = [];
  private lastError = '';
  private readonly listeners = new Set<(e: QueueEvent) => void>();

  private constructor(private readonly o: QueueExecutorOptions) {
    this.connection = parseRedisUrl(o.url);
  }

  /** Connects (a clear error within seconds when Redis is not there or refuses the password) and reads who is working. */
  static async connect(o: QueueExecutorOptions): Promise<QueueExecutor> {
    const x = new QueueExecutor(o);
    await checkRedis(x.connection);
    const c = x.connection;
    const note = (m: string): void => {
      x.lastError = scrub(c, m);
    };
    x.redis = redisClient(c, note);
    x.flow = new FlowProducer({ connection: c.options, prefix: QUEUE_PREFIX });
    x.flow.on('error', (e) => note(e.message));
    x.queue = new Queue(TASK_QUEUE, { connection: c.options, prefix: QUEUE_PREFIX });
    x.queue.on('error', (e) => note(e.message));
    x.events = new QueueEvents(TASK_QUEUE, { connection: c.options, prefix: QUEUE_PREFIX });
    x.events.on('error', (e) => note(e.message));
    for (const type of ['completed', 'failed', 'progress', 'stalled', 'active'] as const) {
      x.events.on(type, (args: Record<string, unknown>) => {
        const jobId = String(args.jobId);
        for (const l of x.listeners) l({ type, jobId, args });
      });
    }
    await withTimeout(x.events.waitUntilReady(), 10_000, `cannot use Redis at ${c.shown}: no answer to the event stream within 10 s`);
    await x.refreshWorkers();
    return x;
  }

  get parallelism(): number {
    return Math.max(
      1,
      this.workers.reduce((a, w) => a + w.concurrency, 0),
    );
  }

  get description(): string {
    const n = this.workers.length;
    return `queue ${this.connection.shown} (${n} worker${n === 1 ? '' : 's'}, ${this.parallelism} task${this.parallelism === 1 ? '' : 's'} at a time)`;
  }

  /** The workers heard from in the last seconds. */
  async refreshWorkers(): Promise<WorkerInfo[]> {
    this.workers = await withTimeout(listWorkers(this.redis!), 5000, 'timeout').catch(() => this.workers);
    return this.workers;
  }

  async map<P, R>(kind: TaskKind<P, R>, payloads: readonly P[], opts: MapOptions<R> = {}): Promise<MapResult<R>> {
    const results: (R | undefined)[] = payloads.map(() => undefined);
    if (payloads.length === 0) return { results, cancelled: false };
    if (opts.signal?.aborted) return { results, cancelled: true };
    const c = this.connection;
    // A letter first: BullMQ refuses a custom job id that reads as an integer (12 hex digits can be all digits).
    const run = `r${randomBytes(6).toString('hex')}`;
    const label = opts.label ?? kind.name;
    const attempts = this.o.attempts ?? 3;
    const unreachableMs = this.o.unreachableMs ?? 30_000;
    const note = this.o.onNote ?? (() => undefined);
    const id = (k: number): string => `${run}.${k}`;
    const indexOf = (jobId: string): number => (jobId.startsWith(`${run}.`) ? Number(jobId.slice(run.length + 1)) : -1);

    await this.refreshWorkers();
    if (this.workers.length === 0)
      note(`no worker is connected to ${c.shown} yet: the ${payloads.length} tasks wait in the queue until one starts (eligo worker --redis …)`);

    let settle!: (v: MapResult<R>) => void;
    let fail!: (e: Error) => void;
    const done = new Promise<MapResult<R>>((res, rej) => {
      settle = res;
      fail = rej;
    });
    let finished = false;
    let pending = payloads.length;
    const take = (k: number, raw: unknown): void => {
      if (finished || k < 0 || k >= payloads.length || results[k] !== undefined) return; // once per job id
      let r: R;
      try {
        r = parseResult(kind, decodeWire(typeof raw === 'string' ? JSON.parse(raw) : raw));
      } catch (e) {
        finish(new TaskFailed(kind.name, k, (e as Error).message));
        return;
      }
      results[k] = r;
      pending--;
      opts.onResult?.(k, r);
      if (pending === 0) finish();
    };
    const finish = (e?: Error, cancelled = false): void => {
      if (finished) return;
      finished = true;
      this.listeners.delete(listener);
      clearInterval(poller);
      opts.signal?.removeEventListener('abort', onAbort);
      if (e) fail(e);
      else settle({ results, cancelled });
    };
    const failedFor = async (k: number, reason: string): Promise<void> => {
      // A failed event is final unless the job went back for another attempt.
      const job = await withTimeout(Job.fromId(this.queue!, id(k)), 5000, 'timeout').catch(() => undefined);
      const state = job ? await withTimeout(job.getState(), 5000, 'timeout').catch(() => 'unknown') : 'unknown';
      if (state === 'failed') finish(new TaskFailed(kind.name, k, scrub(c, job?.failedReason ?? reason)));
      else if (state !== 'completed') note(`task ${k + 1} failed (${scrub(c, reason)}); retried`);
    };
    const listener = (e: QueueEvent): void => {
      const k = indexOf(e.jobId);
      if (k < 0 || finished) return;
      if (e.type === 'completed') take(k, e.args.returnvalue);
      else if (e.type === 'failed') void failedFor(k, typeof e.args.failedReason === 'string' ? e.args.failedReason : '');
      else if (e.type === 'stalled') note(`task ${k + 1} stalled (its worker stopped answering): it goes to another worker`);
      else if (e.type === 'progress') {
        const d = e.args.data as { worker?: unknown; message?: unknown } | undefined;
        if (d && typeof d.worker === 'string')
          opts.onEvent?.(k, d.message === 'started' ? `task ${k + 1} on ${d.worker}` : `task ${k + 1} on ${d.worker}: ${String(d.message)}`);
      }
    };
    this.listeners.add(listener);

    const onAbort = (): void => {
      void (async () => {
        try {
          await withTimeout(this.redis!.multi().set(cancelKey(run), '1', 'EX', 86_400).publish(CANCEL_CHANNEL, run).exec(), 5000, 'timeout');
        } catch {
          note(`could not tell the workers to stop run ${run} (Redis unreachable): its tasks run to the end`);
        }
      })();
      finish(undefined, true);
    };
    opts.signal?.addEventListener('abort', onAbort);

    // Poll the pending tasks: catches events missed across a reconnect, and notices Redis gone.
    let lastOk = Date.now();
    let polling = false;
    let downSaid = false;
    const poll = async (): Promise<void> => {
      if (polling || finished) return;
      polling = true;
      try {
        const open = results.map((r, k) => (r === undefined ? k : -1)).filter((k) => k >= 0);
        const states = await withTimeout(
          Promise.all(
            open.map(async (k) => {
              const job = await Job.fromId(this.queue!, id(k));
              return { k, job, state: job ? await job.getState() : 'missing' };
            }),
          ),
          5000,
          'timeout',
        );
        if (downSaid) note(`Redis at ${c.shown} answers again`);
        lastOk = Date.now();
        downSaid = false;
        for (const s of states) {
          if (s.state === 'completed') take(s.k, s.job!.returnvalue);
          else if (s.state === 'failed') finish(new TaskFailed(kind.name, s.k, scrub(c, s.job!.failedReason ?? 'failed')));
          else if (s.state === 'missing')
            finish(
              new Error(
                `task ${s.k + 1} of run ${run} is no longer in the queue at ${c.shown} (was Redis restarted without persistence, or the queue emptied?): the run cannot complete`,
              ),
            );
          if (finished) break;
        }
      } catch {
        const down = Date.now() - lastOk;
        if (!downSaid && down > 3000) {
          note(
            `Redis at ${c.shown} does not answer${this.lastError ? ` (${this.lastError})` : ''}; waiting up to ${(unreachableMs / 1000).toFixed(0)} s for it`,
          );
          downSaid = true;
        }
        if (down > unreachableMs)
          finish(
            new Error(
              `lost Redis at ${c.shown}: no answer for ${(down / 1000).toFixed(0)} s${this.lastError ? ` (${this.lastError})` : ''}; ${payloads.length - pending} of ${payloads.length} tasks had finished`,
            ),
          );
      } finally {
        polling = false;
      }
    };
    const poller = setInterval(() => void poll(), this.o.pollMs ?? 2000);

    try {
      await withTimeout(
        this.flow!.add({
          name: 'run',
          queueName: RUN_QUEUE,
          data: { run, label, kind: kind.name, tasks: payloads.length },
          opts: { jobId: run, removeOnComplete: { age: 3600 }, removeOnFail: { age: 86_400 } },
          children: payloads.map((p, k) => ({
            name: kind.name,
            queueName: TASK_QUEUE,
            data: { run, index: k, total: payloads.length, label, payload: encodeWire(p) } satisfies TaskJobData,
            opts: {
              jobId: id(k),
              attempts,
              backoff: { type: 'exponential', delay: 500 },
              removeOnComplete: { age: 3600 },
              removeOnFail: { age: 86_400 },
              failParentOnFailure: true,
            },
          })),
        }),
        unreachableMs,
        `cannot add the run to the queue at ${c.shown}: no answer for ${(unreachableMs / 1000).toFixed(0)} s`,
      );
    } catch (e) {
      finish(new Error(scrub(c, (e as Error).message)));
    }
    return done;
  }

  /**
   * Stops listening; the workers and the jobs stay. With Redis gone, a graceful close would wait
   * for a reconnect that never comes (and keep the process alive): after 3 s the connections are cut.
   */
  async close(): Promise<void> {
    const quiet = (p: Promise<unknown> | undefined): Promise<unknown> => withTimeout(p ?? Promise.resolve(), 3000, 'timeout').catch(() => undefined);
    await Promise.all([quiet(this.events?.close()), quiet(this.flow?.close()), quiet(this.queue?.close())]);
    await Promise.all([quiet(this.events?.disconnect()), quiet(this.flow?.disconnect()), quiet(this.queue?.disconnect())]);
    this.redis?.disconnect();
  }
}

interface QueueEvent {
  readonly type: 'completed' | 'failed' | 'progress' | 'stalled' | 'active';
  readonly jobId: string;
  readonly args: Record<string, unknown>;
}
