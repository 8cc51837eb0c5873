// One way to run work in a worker thread, for every engine that does (search
// threads, find-rule and training in the CLI, ELK layout, the language
// server's jobs and analysis): start a thread on a module (bundled .js, or
// TypeScript source under tsx in tests and benchmarks), share a cancel flag
// with it, and stop it — set the flag, give it `graceMs` to hand back what it
// has, then terminate it.
//
// Why a shared flag and not a message: a thread deep in a synchronous loop
// (a BPTT batch, an MCTS simulation) does not read its messages until the
// loop ends, but it can poll an Int32Array between steps (Atomics.load costs
// nanoseconds). Terminating is the last resort: the thread loses what it had
// not reported, so the engines stream their best results as they go.

import { Worker, type ResourceLimits } from 'node:worker_threads';

/** A cancel flag shared between threads (one Int32 of a SharedArrayBuffer): 0 runs, 1 stops. */
export class CancelFlag {
  readonly buffer: SharedArrayBuffer;
  private readonly cells: Int32Array;

  /** A new flag, or the worker's view of one it was sent. */
  constructor(
    buffer: SharedArrayBuffer = new SharedArrayBuffer(4),
    readonly index = 0,
  ) {
    this.buffer = buffer;
    this.cells = new Int32Array(buffer);
  }

  set(): void {
    Atomics.store(this.cells, this.index, 1);
  }

  get isSet(): boolean {
    return Atomics.load(this.cells, this.index) === 1;
  }
}

/**
 * The CommonJS source a worker evaluates to load `entry`. Under tsx the entry
 * is TypeScript source, so tsx's require hook is registered first; bundles
 * are plain JavaScript. (Evaluated code rather than the file itself, so the
 * entry's `require.main === module` is false in the thread: a bundle such as
 * dist/cli.js does not run its command line again inside its own worker.)
 */
export function workerSource(entry: string): string {
  if (!/\.[cm]?ts$/.test(entry)) return `require(${JSON.stringify(entry)});`;
  let api: string;
  try {
    api = require.resolve('tsx/cjs/api');
  } catch {
    throw new Error(`the worker is TypeScript source (${entry}) and tsx is not installed to load it`);
  }
  return `require(${JSON.stringify(api)}).register(); require(${JSON.stringify(entry)});`;
}

export interface WorkerSpec {
  /** The module the thread runs (see workerSource). */
  readonly entry?: string;
  /** Or CommonJS source to evaluate instead of a module. */
  readonly code?: string;
  readonly workerData?: unknown;
  /** Heap limit of the thread (old generation). */
  readonly maxHeapBytes?: number;
  /** 'ignore': drop what the thread prints on stdout (libraries print banners); 'inherit' (default): the process's. */
  readonly stdout?: 'ignore' | 'inherit';
  /** 'capture': keep the last few KiB of stderr for error messages (`stderrTail`); 'inherit' (default). */
  readonly stderr?: 'capture' | 'inherit';
  /** The cancel flag to share (several threads may share one); default a new one. */
  readonly cancel?: CancelFlag;
  /** The process may exit while the thread runs. */
  readonly unref?: boolean;
}

export class WorkerThread {
  readonly worker: Worker;
  readonly cancelFlag: CancelFlag;
  /** Resolves with the exit code when the thread has ended (however it ended). */
  readonly exited: Promise<number>;
  private ended = false;
  private stderrText = '';

  private constructor(spec: WorkerSpec) {
    const source = spec.code ?? (spec.entry !== undefined ? workerSource(spec.entry) : undefined);
    if (source === undefined) throw new Error('WorkerThread: give an entry or code');
    const limits: ResourceLimits | undefined =
      spec.maxHeapBytes !== undefined ? { maxOldGenerationSizeMb: Math.max(64, Math.floor(spec.maxHeapBytes / 2 ** 20)) } : undefined;
    this.cancelFlag = spec.cancel ?? new CancelFlag();
    this.worker = new Worker(source, {
      eval: true,
      workerData: spec.workerData,
      stdout: spec.stdout === 'ignore',
      stderr: spec.stderr === 'capture',
      ...(limits ? { resourceLimits: limits } : {}),
    });
    if (spec.stdout === 'ignore') this.worker.stdout.resume();
    if (spec.stderr === 'capture') {
      this.worker.stderr.on('data', (b: Buffer) => {
        this.stderrText = (this.stderrText + b.toString()).slice(-4000);
      });
    }
    if (spec.unref) this.worker.unref();
    this.exited = new Promise<number>((resolve) => {
      this.worker.once('exit', (code) => {
        this.ended = true;
        resolve(code);
      });
    });
  }

  /** Starts a thread; throws when threads cannot start here (the caller may fall back to its own thread). */
  static start(spec: WorkerSpec): WorkerThread {
    return new WorkerThread(spec);
  }

  get running(): boolean {
    return !this.ended;
  }

  /** The last lines the thread wrote to stderr (with `stderr: 'capture'`). */
  stderrTail(): string {
    return this.stderrText.trim().split('\n').slice(-1)[0] ?? '';
  }

  post(message: unknown): void {
    this.worker.postMessage(message);
  }

  /**
   * Asks the thread to stop (sets the shared flag) and terminates it if it
   * has not ended `graceMs` later. Resolves when it has ended.
   */
  async stop(graceMs: number): Promise<void> {
    this.cancelFlag.set();
    if (this.ended) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    const r = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (r === 'late') await this.terminate();
  }

  /** Ends the thread now. */
  async terminate(): Promise<void> {
    if (this.ended) return;
    await this.worker.terminate();
  }
}
