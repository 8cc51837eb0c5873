// Runs ELK with a time limit. ELK is synchronous inside (GWT-compiled Java):
// on the main thread a big layout would block the language server and could
// not be stopped. So it runs in a worker thread that is terminated when the
// time is up; the worker is kept for the next layout. Where no worker can be
// started (ELK's file not found next to a bundle), it runs in-process and
// only the up-front size limit protects the caller.

import type { Worker } from 'node:worker_threads';
import { WorkerThread } from '../util/worker.js';
import type { ElkNode } from 'elkjs/lib/elk-api.js';
import ELK from 'elkjs/lib/elk.bundled.js';
import { EligoError } from '../util/errors.js';

/** The layout did not finish in time, or the graph is refused up front. */
export class LayoutTooBigError extends EligoError {
  constructor(message: string) {
    super('layout.too-big', message);
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ELK = require(workerData.elkPath);
const elk = new ELK();
parentPort.on('message', (msg) => {
  elk.layout(msg.graph).then(
    (result) => parentPort.postMessage({ id: msg.id, result }),
    (e) => parentPort.postMessage({ id: msg.id, error: String((e && e.message) || e) }),
  );
});
`;

interface Pending {
  resolve(n: ElkNode): void;
  reject(e: Error): void;
}

function elkPath(): string | undefined {
  try {
    return require.resolve('elkjs/lib/elk.bundled.js');
  } catch {
    return undefined;
  }
}

class ElkWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private broken = false;

  available(): boolean {
    return !this.broken && elkPath() !== undefined;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = WorkerThread.start({ code: WORKER_SOURCE, workerData: { elkPath: elkPath() }, unref: true }).worker;
    w.on('message', (m: { id: number; result?: ElkNode; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`ELK: ${m.error}`));
      else p.resolve(m.result!);
      if (this.pending.size === 0) w.unref();
    });
    w.on('error', (e) => {
      if (this.worker !== w) return;
      this.broken = true;
      this.fail(e);
    });
    w.on('exit', () => {
      // A worker ended on a timeout was replaced already: its exit concerns no one.
      if (this.worker !== w) return;
      this.worker = undefined;
      this.fail(new Error('ELK worker exited'));
    });
    this.worker = w;
    return w;
  }

  private fail(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  layout(graph: ElkNode, timeoutMs: number, describe: () => string): Promise<ElkNode> {
    const w = this.start();
    w.ref();
    const id = this.nextId++;
    return new Promise<ElkNode>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        // The only way to stop ELK mid-layout: end its thread. The next layout starts a fresh one.
        this.fail(new LayoutTooBigError(`layout cancelled with the one it was queued behind (${describe()})`));
        this.worker = undefined;
        void w.terminate();
        reject(new LayoutTooBigError(`the layout of ${describe()} did not finish within ${(timeoutMs / 1000).toFixed(timeoutMs < 10000 ? 1 : 0)} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (n) => {
          clearTimeout(timer);
          resolve(n);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      w.postMessage({ id, graph });
    });
  }

  /** Ends the worker (tests, shutdown). */
  dispose(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.fail(new Error('ELK worker disposed'));
    return w ? w.terminate().then(() => undefined) : Promise.resolve();
  }
}

const shared = new ElkWorker();
let inProcess: InstanceType<typeof ELK> | undefined;

/**
 * Lays out `graph` with ELK, in the worker when possible. Rejects with
 * LayoutTooBigError after `timeoutMs`.
 */
export async function runElk(graph: ElkNode, timeoutMs: number, describe: () => string): Promise<ElkNode> {
  if (shared.available()) {
    try {
      return await shared.layout(graph, timeoutMs, describe);
    } catch (e) {
      if (e instanceof LayoutTooBigError || shared.available()) throw e;
      // The worker could not start: fall through to in-process.
    }
  }
  inProcess ??= new ELK();
  return inProcess.layout(graph);
}

/** Stops the layout worker (it is unref'd, so a process may also just exit). */
export function disposeLayoutWorker(): Promise<void> {
  return shared.dispose();
}
