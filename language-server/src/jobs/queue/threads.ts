// The threads an `eligo worker` runs its tasks in. The worker's main thread
// only talks to Redis: it must renew the locks of its active jobs every few
// seconds, or BullMQ takes them for stalled and hands them to another
// worker. A task's engine loop is synchronous for seconds at a time, so it
// runs here, in a worker thread of its own (one per slot of concurrency,
// kept between tasks so a run's setup is cached), never on the main thread.
//
// Cancelling a task terminates its thread (an engine loop that never yields
// cannot see a message); the slot gets a new thread for the next task.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parentPort, Worker } from 'node:worker_threads';
import { TaskCancelled, TaskInvalid, type TaskKind } from './kind.js';

type ToThread = { readonly type: 'run'; readonly id: string; readonly kind: string; readonly payload: unknown };
type FromThread =
  | { readonly type: 'progress'; readonly id: string; readonly message: string }
  | { readonly type: 'done'; readonly id: string; readonly result: unknown }
  | { readonly type: 'error'; readonly id: string; readonly message: string; readonly invalid: boolean; readonly cancelled: boolean };

/** Marks a worker thread started by TaskThreads (worker.ts serves tasks when it sees it). */
export const TASK_THREAD_FLAG = 'eligoTaskThread';

/** The thread side: runs the tasks it is sent, one at a time. */
export function serveTasks(kinds: ReadonlyMap<string, TaskKind<never, unknown>>): void {
  const port = parentPort!;
  const post = (m: FromThread): void => port.postMessage(m);
  port.on('message', (m: ToThread) => {
    if (m.type !== 'run') return;
    void (async () => {
      const kind = kinds.get(m.kind) as TaskKind<unknown, unknown> | undefined;
      if (!kind) {
        post({ type: 'error', id: m.id, message: `unknown task kind '${m.kind}'`, invalid: true, cancelled: false });
        return;
      }
      let last = 0;
      try {
        const result = await kind.run(m.payload, {
          signal: new AbortController().signal,
          progress: (p) => {
            const now = Date.now();
            if (p.message && now - last >= 250) {
              last = now;
              post({ type: 'progress', id: m.id, message: p.message });
            }
          },
        });
        post({ type: 'done', id: m.id, result });
      } catch (e) {
        post({ type: 'error', id: m.id, message: (e as Error).message ?? String(e), invalid: e instanceof TaskInvalid, cancelled: e instanceof TaskCancelled });
      }
    })();
  });
}

interface Slot {
  worker: Worker | null;
  busy: { id: string; resolve(v: unknown): void; reject(e: Error): void; onProgress?: (m: string) => void } | null;
}

export interface TaskThreadsOptions {
  readonly size: number;
  /** Heap limit of one thread (ELIGO_JOB_MAX_MIB, default 2 GiB: as the language server's jobs). */
  readonly maxMiB?: number;
}

export class TaskThreads {
  private readonly slots: Slot[];
  private readonly waiting: { run: () => void }[] = [];
  private closed = false;

  constructor(private readonly o: TaskThreadsOptions) {
    this.slots = Array.from({ length: o.size }, () => ({ worker: null, busy: null }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Runs a task in a free thread (waits for one); rejects with TaskInvalid, TaskCancelled or Error. */
  run(id: string, kind: string, payload: unknown, onProgress?: (message: string) => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const go = (): void => {
        if (this.closed) return reject(new TaskCancelled());
        const slot = this.slots.find((s) => s.busy === null);
        if (!slot) {
          this.waiting.push({ run: go });
          return;
        }
        slot.busy = { id, resolve, reject, ...(onProgress ? { onProgress } : {}) };
        const w = slot.worker ?? (slot.worker = this.spawn(slot));
        w.postMessage({ type: 'run', id, kind, payload } satisfies ToThread);
      };
      go();
    });
  }

  /** Stops the task `id` now (terminates its thread). */
  cancel(id: string): boolean {
    const slot = this.slots.find((s) => s.busy?.id === id);
    if (!slot) return false;
    this.release(slot, new TaskCancelled(), true);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) if (s.busy) this.release(s, new TaskCancelled(), true);
    await Promise.all(this.slots.flatMap((s) => (s.worker ? [s.worker.terminate()] : [])));
    for (const w of this.waiting.splice(0)) w.run();
  }

  private release(slot: Slot, outcome: Error | { result: unknown }, kill: boolean): void {
    const b = slot.busy;
    slot.busy = null;
    if (kill && slot.worker) {
      const w = slot.worker;
      slot.worker = null;
      w.removeAllListeners();
      w.on('error', () => undefined);
      void w.terminate();
    }
    if (b) {
      if (outcome instanceof Error) b.reject(outcome);
      else b.resolve(outcome.result);
    }
    this.waiting.shift()?.run();
  }

  private spawn(slot: Slot): Worker {
    const maxMiB = this.o.maxMiB ?? (Number(process.env.ELIGO_JOB_MAX_MIB) || 2048);
    const entry = threadEntry();
    const w = new Worker(entry.code, {
      eval: entry.eval,
      workerData: { [TASK_THREAD_FLAG]: true },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, maxMiB) },
    });
    // tfjs and wasm print banners; a task's output is its result only.
    w.stdout.resume();
    let err = '';
    w.stderr.on('data', (b: Buffer) => {
      if (err.length < 2000) err += b.toString();
    });
    w.on('message', (m: FromThread) => {
      const b = slot.busy;
      if (!b || m.id !== b.id) return;
      if (m.type === 'progress') b.onProgress?.(m.message);
      else if (m.type === 'done') this.release(slot, { result: m.result }, false);
      else this.release(slot, m.invalid ? new TaskInvalid(m.message) : m.cancelled ? new TaskCancelled() : new Error(m.message), false);
    });
    w.on('error', (e: Error & { code?: string }) => {
      const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (slot.worker === w) slot.worker = null;
      if (slot.busy)
        this.release(
          slot,
          new Error(
            oom
              ? `the task ran out of memory (a thread may use ${maxMiB} MiB: ELIGO_JOB_MAX_MIB)`
              : `the task's thread failed: ${e.message}${err ? ` (${err.trim().split('\n').slice(-1)[0]})` : ''}`,
          ),
          false,
        );
    });
    w.on('exit', (code) => {
      if (slot.worker === w) slot.worker = null;
      if (slot.busy) this.release(slot, new Error(`the task's thread exited (code ${code})`), false);
    });
    return w;
  }
}

/**
 * What a thread loads: dist/worker.js beside the running bundle, or (under
 * tsx, in tests) the worker entry's source with tsx's require hook first.
 */
function threadEntry(): { code: string; eval: boolean } {
  if (__filename.endsWith('.js')) {
    const bundled = join(dirname(__filename), 'worker.js');
    if (existsSync(bundled)) return { code: bundled, eval: false };
  }
  const src = join(__dirname, '..', '..', 'worker.ts');
  let api: string;
  try {
    api = require.resolve('tsx/cjs/api');
  } catch {
    throw new Error(`the task threads need dist/worker.js (run node esbuild.mjs) or tsx to load ${src}`);
  }
  return { code: `require(${JSON.stringify(api)}).register(); require(${JSON.stringify(src)});`, eval: true };
}
