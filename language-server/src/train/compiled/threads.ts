// The compiled step on several cores: the batch's sequences are independent
// (the parameters are fixed during a batch), so each thread runs a contiguous
// range of them with its own buffers and gradient accumulators, and the
// partial gradients are summed. Parameters, data, losses and predictions live
// in SharedArrayBuffers; a shared flag stops every thread within one time step.
//
// A worker is started on this module's own file (the source under tsx, the
// bundle in dist/); its top level, seeing the worker data, serves requests.

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { StepKernel, type NonFiniteAt } from './kernel.js';
import type { KernelSource } from './program.js';

/** The file a worker requires: this module (or the bundle that contains it). */
export const STEP_WORKER_ENTRY: string = __filename;

interface WorkerInit {
  readonly eligoCompiledStep: true;
  readonly kernels: readonly KernelSource[];
  /** One SharedArrayBuffer per parameter (float32). */
  readonly params: readonly SharedArrayBuffer[];
  /** Per kernel, per parameter: this thread's gradient accumulators (float64). */
  readonly grads: readonly (readonly SharedArrayBuffer[])[];
  readonly cancel: SharedArrayBuffer;
  /** Int32Array[1]: sequences finished (progress within a batch). */
  readonly progress: SharedArrayBuffer;
}

interface RunRequest {
  readonly kernel: number;
  readonly x: SharedArrayBuffer;
  readonly y: SharedArrayBuffer;
  readonly weight: SharedArrayBuffer;
  readonly predictions: SharedArrayBuffer;
  readonly losses: SharedArrayBuffer;
  readonly B: number;
  readonly T: number;
  readonly b0: number;
  readonly b1: number;
}

type Reply =
  | { readonly ok: true; readonly cancelled: boolean; readonly nonFinite?: NonFiniteAt; readonly bytes: number }
  | { readonly ok: false; readonly message: string };

export interface RangeResult {
  readonly cancelled: boolean;
  readonly nonFinite?: NonFiniteAt;
}

/** Threads that run kernels over ranges of a batch. */
export class StepThreads {
  readonly threads: number;
  private readonly workers: Worker[];
  /** [thread][kernel][parameter]: each thread's gradient accumulators. */
  private readonly gradBufs: SharedArrayBuffer[][][];
  private pending: ((r: Reply) => void)[] = [];
  /** Largest bytes a thread reported holding. */
  threadBytes = 0;

  private constructor(workers: Worker[], gradBufs: SharedArrayBuffer[][][]) {
    this.workers = workers;
    this.threads = workers.length;
    this.gradBufs = gradBufs;
  }

  /** Starts `threads` workers, each holding all the kernels. */
  static async start(
    threads: number,
    kernels: readonly KernelSource[],
    params: readonly SharedArrayBuffer[],
    cancel: SharedArrayBuffer,
    progress: SharedArrayBuffer,
  ): Promise<StepThreads> {
    const code = `${__filename.endsWith('.ts') ? "require('tsx/cjs');" : ''} require(${JSON.stringify(STEP_WORKER_ENTRY)});`;
    const workers: Worker[] = [];
    const gradBufs: SharedArrayBuffer[][][] = [];
    for (let w = 0; w < threads; w++) {
      const g = kernels.map((k) => k.params.map((p) => new SharedArrayBuffer(8 * Math.max(1, p.size))));
      gradBufs.push(g);
      const init: WorkerInit = { eligoCompiledStep: true, kernels, params, grads: g, cancel, progress };
      workers.push(new Worker(code, { eval: true, workerData: init }));
    }
    const t = new StepThreads(workers, gradBufs);
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', (m: Reply) => (m.ok ? resolve() : reject(new Error(m.message))));
              w.once('error', reject);
            }),
        ),
      );
    } catch (e) {
      await t.dispose();
      throw e;
    }
    for (const [i, w] of workers.entries()) {
      w.on('message', (m: Reply) => t.pending[i]?.(m));
      w.on('error', (e) => t.pending[i]?.({ ok: false, message: e instanceof Error ? e.message : String(e) }));
    }
    return t;
  }

  /** Thread w's gradient accumulators of kernel k (float64 views). */
  gradsOf(w: number, k: number): Float64Array[] {
    return this.gradBufs[w]![k]!.map((s) => new Float64Array(s));
  }

  /** Runs kernel `kernel` on ranges of the batch, one per thread. */
  async run(req: Omit<RunRequest, 'b0' | 'b1'>, ranges: readonly (readonly [number, number])[]): Promise<RangeResult[]> {
    const replies = await Promise.all(
      ranges.map(
        ([b0, b1], w) =>
          new Promise<Reply>((resolve) => {
            this.pending[w] = resolve;
            this.workers[w]!.postMessage({ ...req, b0, b1 } satisfies RunRequest);
          }),
      ),
    );
    this.pending = [];
    return replies.map((r) => {
      if (!r.ok) throw new Error(`a training thread failed: ${r.message}`);
      this.threadBytes = Math.max(this.threadBytes, r.bytes);
      return { cancelled: r.cancelled, ...(r.nonFinite ? { nonFinite: r.nonFinite } : {}) };
    });
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// ------------------------------------------------------------ the worker

function serve(init: WorkerInit): void {
  const port = parentPort!;
  const params = init.params.map((s) => new Float32Array(s));
  const cancel = new Int32Array(init.cancel);
  const progress = new Int32Array(init.progress);
  let kernels: StepKernel[];
  try {
    kernels = init.kernels.map(
      (src, k) =>
        new StepKernel(
          src,
          params,
          cancel,
          init.grads[k]!.map((s) => new Float64Array(s)),
        ),
    );
  } catch (e) {
    port.postMessage({ ok: false, message: (e as Error).message } satisfies Reply);
    return;
  }
  port.postMessage({ ok: true, cancelled: false, bytes: 0 } satisfies Reply);
  port.on('message', (r: RunRequest) => {
    try {
      const k = kernels[r.kernel]!;
      k.zeroGradients();
      k.setBatch(new Float32Array(r.x), new Float32Array(r.y), new Float32Array(r.weight), r.B, r.T, new Float32Array(r.predictions));
      const res = k.runRange(r.b0, r.b1, new Float64Array(r.losses), () => Atomics.add(progress, 0, 1));
      port.postMessage({ ok: true, cancelled: res.cancelled, ...(res.nonFinite ? { nonFinite: res.nonFinite } : {}), bytes: k.bytes() } satisfies Reply);
    } catch (e) {
      port.postMessage({ ok: false, message: (e as Error).message } satisfies Reply);
    }
  });
}

if (!isMainThread && (workerData as { eligoCompiledStep?: boolean } | null)?.eligoCompiledStep === true) serve(workerData as WorkerInit);
