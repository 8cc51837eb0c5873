// The main thread's handle on the analysis worker (analysisHost.ts). One
// worker computes items; a spare is kept started. When the document changes
// while the worker is still busy with an older version, the busy worker is
// terminated and the spare takes over at once, so analysis always works on
// the newest text; items it finished before are kept by the caller's cache.
// Without a worker (none could be started) the same code runs inline.

import type { Worker } from 'node:worker_threads';
import { WorkerThread } from '../util/worker.js';
import type { AnalyzeSettings } from '../analysis/settings.js';
import { analyzeItems, jacobiansAt, type FromAnalysis, type ToAnalysis } from './analysisHost.js';
import type { ItemEntry } from '../analysis/itemAnalysis.js';
import type { EquationJacobians } from '../analysis/jacobians.js';

interface Pending {
  readonly message: ToAnalysis;
  onItem?(key: string, entry: ItemEntry): void;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export interface AnalysisRun {
  readonly done: Promise<void>;
  /** Stop: the run resolves at once; a worker still busy with it is replaced. */
  abort(): void;
}

export class AnalysisWorker {
  private worker: Worker | undefined;
  private spare: Worker | undefined;
  private inline = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;

  constructor(
    private readonly workerPath: string | undefined,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    if (!workerPath) this.inline = true;
  }

  private spawn(): Worker | undefined {
    try {
      const w = WorkerThread.start({ entry: this.workerPath!, unref: true }).worker;
      w.on('message', (m: FromAnalysis) => this.receive(w, m));
      w.on('error', (e) => this.lost(w, e));
      w.on('exit', () => this.lost(w, new Error('the analysis worker exited')));
      return w;
    } catch (e) {
      this.log(`eligo: no analysis worker (${(e as Error).message}); analysing on the main thread`);
      this.inline = true;
      return undefined;
    }
  }

  private current(): Worker | undefined {
    if (this.inline || this.disposed) return undefined;
    if (!this.worker) {
      this.worker = this.spare ?? this.spawn();
      this.spare = undefined;
    }
    if (!this.spare && !this.inline) this.spare = this.spawn();
    return this.worker;
  }

  private receive(w: Worker, m: FromAnalysis): void {
    if (w !== this.worker) return;
    const p = this.pending.get(m.id);
    if (!p) return;
    switch (m.type) {
      case 'item':
        p.onItem?.(m.key, m.entry);
        return;
      case 'analyzed':
        this.pending.delete(m.id);
        p.resolve(undefined);
        return;
      case 'jacobians':
        this.pending.delete(m.id);
        p.resolve(m.result ?? undefined);
        return;
      case 'analysisError':
        this.pending.delete(m.id);
        p.reject(new Error(m.message));
        return;
      default: {
        // Exhaustive: a new message kind must be handled here.
        const never: never = m;
        void never;
      }
    }
  }

  /** A worker died: its requests go to the next one. */
  private lost(w: Worker, e: Error): void {
    if (w === this.spare) {
      this.spare = undefined;
      return;
    }
    if (w !== this.worker) return;
    this.worker = undefined;
    if (this.disposed) return;
    this.log(`eligo: analysis worker lost (${e.message}); restarting`);
    this.resend();
  }

  private resend(): void {
    const next = this.current();
    for (const p of this.pending.values()) {
      if (next) next.postMessage(p.message);
      else p.reject(new Error('no analysis worker'));
    }
  }

  analyze(
    text: string,
    settings: AnalyzeSettings,
    items: readonly { index: number; key: string }[],
    onItem: (key: string, entry: ItemEntry) => void,
  ): AnalysisRun {
    const w = this.current();
    if (!w) {
      let stop = false;
      return {
        done: analyzeItems(text, settings, items, onItem, () => stop, true),
        abort: () => {
          stop = true;
        },
      };
    }
    const id = this.nextId++;
    const message: ToAnalysis = { type: 'analyze', id, text, settings, items };
    const done = new Promise<void>((resolve, reject) => {
      this.pending.set(id, { message, onItem, resolve: () => resolve(), reject });
    });
    w.postMessage(message);
    return {
      done,
      abort: () => {
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        p.resolve(undefined);
        // Busy with stale work: hand over to the spare; requests still pending move with it.
        const old = this.worker;
        this.worker = undefined;
        if (old) {
          old.removeAllListeners('exit');
          old.removeAllListeners('error');
          old.on('error', () => undefined);
          void old.terminate();
        }
        this.resend();
      },
    };
  }

  jacobians(text: string, offset: number, steps: number): Promise<EquationJacobians | undefined> {
    const w = this.current();
    if (!w) return Promise.resolve(jacobiansAt(text, offset, steps));
    const id = this.nextId++;
    const message: ToAnalysis = { type: 'jacobians', id, text, offset, steps };
    const p = new Promise<EquationJacobians | undefined>((resolve, reject) => {
      this.pending.set(id, { message, resolve: (v) => resolve(v as EquationJacobians | undefined), reject });
    });
    w.postMessage(message);
    return p;
  }

  dispose(): void {
    this.disposed = true;
    for (const w of [this.worker, this.spare]) void w?.terminate();
    this.worker = this.spare = undefined;
    for (const p of this.pending.values()) p.reject(new Error('the server is shutting down'));
    this.pending.clear();
  }
}
