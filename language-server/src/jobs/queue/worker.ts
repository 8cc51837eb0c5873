// `eligo worker`: takes tasks from Eligo's queue in Redis and runs them with
// the same engines as a local run, `concurrency` at a time, each in a thread
// of its own (threads.ts) so this thread keeps renewing the jobs' locks.
// Start it on as many machines as you like; each says what it runs.
//
// BullMQ gives the fault handling: a worker that dies stops renewing its
// locks, its jobs are found stalled by another worker after `lockDuration`
// and run again there (at most `maxStalledCount` times); a task that throws
// is retried with backoff (`attempts`); a payload its schema rejects, or a
// task of a run that was cancelled, fails at once (UnrecoverableError). The
// client counts each task once, by its job id (executor.ts).
//
// Presence: every few seconds the worker writes a heartbeat (a sorted set of
// worker ids scored by Redis's own clock, and a hash of what it is), which
// the status bar and the client read to say how many workers are there.

import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { parsePayload, TaskCancelled, TaskInvalid, type TaskKind } from './kind.js';
import { parseRedisUrl, QUEUE_PREFIX, redisClient, RUN_QUEUE, scrub, TASK_QUEUE, type QueueConnection } from './connection.js';
import { TaskThreads } from './threads.js';
import { decodeWire, encodeWire } from './wire.js';

export const WORKERS_KEY = `${QUEUE_PREFIX}:workers`;
export const workerKey = (id: string): string => `${QUEUE_PREFIX}:worker:${id}`;
export const CANCEL_CHANNEL = `${QUEUE_PREFIX}:cancel`;
export const cancelKey = (run: string): string => `${QUEUE_PREFIX}:cancel:${run}`;
/** A worker not heard from for this long is gone. */
export const PRESENCE_TTL_MS = 15_000;
const HEARTBEAT_MS = 4000;

/** What a task job carries besides its payload (executor.ts writes it). */
export interface TaskJobData {
  readonly run: string;
  readonly index: number;
  readonly total: number;
  readonly label: string;
  readonly payload: unknown;
}

export interface WorkerOptions {
  readonly url: string;
  readonly concurrency: number;
  /** Shown in logs and in the status bar's tooltip (default host:pid). */
  readonly name?: string;
  /** How long a job's lock lasts without renewal: a killed worker's job is retried about this long after (default 10 s). */
  readonly lockDurationMs?: number;
  readonly log?: (line: string) => void;
  readonly kinds: ReadonlyMap<string, TaskKind<never, unknown>>;
}

export interface RunningWorker {
  readonly id: string;
  readonly name: string;
  readonly connection: QueueConnection;
  /** Stops taking tasks; waits for the running ones unless `force`. */
  close(force?: boolean): Promise<void>;
}

const clock = (): string => new Date().toISOString().slice(11, 23);

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const c = parseRedisUrl(o.url);
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const id = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const log = (line: string): void => (o.log ?? ((l: string) => process.stdout.write(`${l}\n`)))(`${clock()} ${name}: ${scrub(c, line)}`);
  const lockDuration = o.lockDurationMs ?? 10_000;
  const threads = new TaskThreads({ size: o.concurrency });
  const active = new Map<string, string>(); // job id → run id

  // Connection state, said once per change (a Redis restart is a line, not a flood).
  let down = false;
  const onError = (m: string): void => {
    if (!down) log(`Redis at ${c.shown} is unreachable (${m}); reconnecting`);
    down = true;
  };
  const onReady = (): void => {
    if (down) log(`reconnected to Redis at ${c.shown}`);
    down = false;
  };

  const redis = redisClient(c, onError);
  redis.on('ready', onReady);
  const sub = redisClient(c, onError);
  await sub.subscribe(CANCEL_CHANNEL);
  sub.on('message', (_ch: string, run: string) => {
    for (const [jobId, r] of active) {
      if (r === run && threads.cancel(jobId)) log(`cancelled task ${jobId} (its run was cancelled)`);
    }
  });

  const processor = async (job: Job<TaskJobData>): Promise<unknown> => {
    const kind = o.kinds.get(job.name) as TaskKind<unknown, unknown> | undefined;
    const d = job.data;
    const where = `${d.index + 1}/${d.total} of run ${d.run}${d.label ? ` (${d.label})` : ''}`;
    if (!kind)
      throw new UnrecoverableError(`this worker does not know the task kind '${job.name}' (it runs: ${[...o.kinds.keys()].join(', ')}); is it an older Eligo?`);
    if (await redis.exists(cancelKey(d.run))) throw new UnrecoverableError('cancelled: its run was cancelled');
    let payload: unknown;
    try {
      payload = parsePayload(kind, decodeWire(d.payload));
    } catch (e) {
      log(`✗ ${kind.name} ${where}: ${(e as Error).message}`);
      throw new UnrecoverableError((e as Error).message);
    }
    const retry =
      job.attemptsMade > 0 || (job.stalledCounter ?? 0) > 0
        ? ` (again: ${job.attemptsMade} failed attempt${job.attemptsMade === 1 ? '' : 's'}, stalled ${job.stalledCounter ?? 0}×)`
        : '';
    log(`▶ ${kind.name} ${where}: ${kind.describe?.(payload) ?? ''}${retry}`);
    const t0 = Date.now();
    void job.updateProgress({ worker: name, message: 'started' }).catch(() => undefined);
    active.set(job.id!, d.run);
    try {
      const result = await threads.run(job.id!, kind.name, payload, (message) => {
        void job.updateProgress({ worker: name, message }).catch(() => undefined);
      });
      log(`✓ ${kind.name} ${where} in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
      return encodeWire(result);
    } catch (e) {
      const m = (e as Error).message;
      log(`✗ ${kind.name} ${where} after ${((Date.now() - t0) / 1000).toFixed(2)} s: ${m}`);
      if (e instanceof TaskInvalid) throw new UnrecoverableError(m);
      if (e instanceof TaskCancelled) throw new UnrecoverableError('cancelled: its run was cancelled');
      throw e;
    } finally {
      active.delete(job.id!);
    }
  };

  const common = { connection: c.options, prefix: QUEUE_PREFIX, autorun: true } as const;
  const worker = new Worker<TaskJobData>(TASK_QUEUE, processor, {
    ...common,
    concurrency: o.concurrency,
    name,
    lockDuration,
    stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
    maxStalledCount: 2,
  });
  worker.on('error', (e) => onError(scrub(c, e.message)));
  worker.on('stalled', (jobId) => log(`task ${jobId} stalled (its worker stopped answering): back in the queue`));
  // The flows' parents: done when their children are; any worker completes them.
  const runs = new Worker(RUN_QUEUE, (job: Job<{ tasks: number }>) => Promise.resolve({ tasks: job.data.tasks }), {
    ...common,
    concurrency: 4,
    name: `${name} (runs)`,
  });
  runs.on('error', (e) => onError(scrub(c, e.message)));

  const info = {
    name,
    host: hostname(),
    pid: String(process.pid),
    concurrency: String(o.concurrency),
    kinds: [...o.kinds.keys()].join(','),
    started: new Date().toISOString(),
  };
  const beat = async (): Promise<void> => {
    try {
      const [s, us] = await redis.time();
      const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
      await redis
        .multi()
        .zadd(WORKERS_KEY, now, id)
        .hset(workerKey(id), { ...info, running: String(active.size) })
        .pexpire(workerKey(id), PRESENCE_TTL_MS * 2)
        .exec();
    } catch {
      // Reported by the connection's error handler.
    }
  };
  await beat();
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  await worker.waitUntilReady();
  log(
    `eligo worker started: ${o.concurrency} task${o.concurrency === 1 ? '' : 's'} at a time, kinds ${[...o.kinds.keys()].join(', ')}; Redis ${c.shown}; a killed worker's task is retried after ${(lockDuration / 1000).toFixed(1)} s`,
  );

  let closing: Promise<void> | undefined;
  return {
    id,
    name,
    connection: c,
    close(force = false) {
      if (force) void threads.close();
      closing ??= (async () => {
        clearInterval(timer);
        await Promise.all([worker.close(force), runs.close(force)]);
        await threads.close();
        try {
          await redis.multi().zrem(WORKERS_KEY, id).del(workerKey(id)).exec();
        } catch {
          // Redis gone: the heartbeat expires on its own.
        }
        redis.disconnect();
        sub.disconnect();
      })();
      return closing;
    },
  };
}

export interface WorkerInfo {
  readonly id: string;
  readonly name: string;
  readonly host: string;
  readonly concurrency: number;
  readonly running: number;
  readonly kinds: readonly string[];
}

/** The workers heard from within PRESENCE_TTL_MS (by Redis's clock), with what they are. */
export async function listWorkers(redis: ReturnType<typeof redisClient>): Promise<WorkerInfo[]> {
  const [s, us] = await redis.time();
  const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
  await redis.zremrangebyscore(WORKERS_KEY, '-inf', now - PRESENCE_TTL_MS);
  const ids = await redis.zrange(WORKERS_KEY, 0, -1);
  const out: WorkerInfo[] = [];
  for (const wid of ids) {
    const h = await redis.hgetall(workerKey(wid));
    if (!h.name) continue;
    out.push({
      id: wid,
      name: h.name,
      host: h.host ?? '',
      concurrency: Number(h.concurrency) || 1,
      running: Number(h.running) || 0,
      kinds: (h.kinds ?? '').split(',').filter(Boolean),
    });
  }
  return out;
}
