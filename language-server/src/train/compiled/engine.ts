// The compiled training engine: a model's step with its learning rule (an
// online program or BPTT), exact BPTT for the alignment measurement, and the
// forward pass for evaluation, each compiled once (program.ts) and run over
// a batch of sequences on this thread or split over worker threads
// (threads.ts). It takes parameters and batches as typed arrays and returns
// the loss, the summed gradient estimate, the predictions and where a run
// went non-finite; the optimiser and the scoring stay with the caller.

import { availableParallelism } from 'node:os';
import type { Block } from '../../rules/blocks.js';
import type { OnlineProgram } from '../../rules/program.js';
import { sizeOf } from '../../graph/types.js';
import type { ModelSpec } from '../model.js';
import type { Batch } from '../tasks/types.js';
import { StepKernel, type NonFiniteAt } from './kernel.js';
import type { Refinement } from './fused.js';
import { compileStep, type KernelSource } from './program.js';
import { StepThreads } from './threads.js';

export type KernelName = 'grad' | 'exact' | 'forward';

export interface EngineSpec {
  /** The rule's gradient: an online program, or BPTT (optionally of a graph with dropped blocks). */
  readonly method:
    | { readonly kind: 'online'; readonly program: OnlineProgram; readonly blocks: readonly Block[] }
    | { readonly kind: 'bptt'; readonly stopped?: ReadonlySet<string>; readonly truncate?: number };
  /** Also compile exact BPTT (the alignment's reference). */
  readonly exact?: boolean;
}

export interface EngineOptions {
  /** Threads to split a batch over (default: what pays, up to the cores; 1 runs on this thread). */
  readonly threads?: number;
  /** The fused loops' code (program.ts CompileStepOptions.backend; default 'auto'). */
  readonly backend?: 'js' | 'wasm' | 'auto';
  /** Exact refinements of the fused loops (fused.ts; measurements). */
  readonly refine?: ReadonlySet<Refinement>;
}

export interface EngineResult {
  /** The batch loss: mean over sequences of their weighted losses. */
  readonly loss: number;
  /** Summed over the batch (the weights carry 1/B), per parameter in model order; undefined for a forward run. */
  readonly grads?: Float64Array[];
  /** [T, B, nOut] (the model's prediction at every step; zeros without one). */
  readonly predictions: Float32Array;
  readonly cancelled: boolean;
  readonly nonFinite?: NonFiniteAt;
}

/** Multiply-adds per sequence step of a kernel, counted from its graph and program sizes (for the thread decision and the time estimate). */
export function stepWork(spec: ModelSpec): number {
  let n = 0;
  for (const v of spec.graph.vertices) {
    if (v.op === 'matmul') {
      const a = spec.graph.vertices[v.inputs[0]!]!.shape;
      const c = spec.graph.vertices[v.inputs[1]!]!.shape;
      n += (a.length === 2 ? a[0]! : 1) * a[a.length - 1]! * (c.length === 2 ? c[1]! : 1);
    } else n += sizeOf(v.shape);
  }
  return n;
}

export class CompiledEngine {
  readonly spec: ModelSpec;
  readonly sources: Readonly<Record<KernelName, KernelSource | undefined>>;
  private readonly order: KernelName[];
  private readonly paramBufs: SharedArrayBuffer[];
  readonly params: Float32Array[];
  private readonly cancelBuf = new SharedArrayBuffer(4);
  private readonly cancel = new Int32Array(this.cancelBuf);
  private readonly progressBuf = new SharedArrayBuffer(4);
  private readonly progress = new Int32Array(this.progressBuf);
  private local: Map<KernelName, StepKernel> | null = null;
  private threads: StepThreads | null = null;
  private readonly threadCount: number;
  private data: { x: SharedArrayBuffer; y: SharedArrayBuffer; w: SharedArrayBuffer; p: SharedArrayBuffer; l: SharedArrayBuffer } | null = null;
  /** Why the engine runs on this many threads. */
  readonly threadNote: string;

  private constructor(spec: ModelSpec, sources: Record<KernelName, KernelSource | undefined>, threads: number, note: string) {
    this.spec = spec;
    this.sources = sources;
    this.order = (['grad', 'exact', 'forward'] as const).filter((k) => sources[k]);
    this.paramBufs = spec.params.map((p) => new SharedArrayBuffer(4 * Math.max(1, sizeOf(p.shape))));
    this.params = this.paramBufs.map((b, i) => new Float32Array(b, 0, sizeOf(spec.params[i]!.shape)));
    this.threadCount = threads;
    this.threadNote = note;
  }

  /** Compiles the kernels; starts the threads on the first run that uses them. */
  static create(spec: ModelSpec, es: EngineSpec, opts: EngineOptions = {}, typical?: { batch: number; steps: number }): CompiledEngine {
    const backend = { ...(opts.backend ? { backend: opts.backend } : {}), ...(opts.refine ? { refine: opts.refine } : {}) };
    const grad =
      es.method.kind === 'online'
        ? compileStep(spec, 'online', { program: es.method.program, blocks: es.method.blocks, ...backend })
        : compileStep(spec, 'bptt', {
            ...(es.method.stopped?.size ? { stopped: es.method.stopped } : {}),
            ...(es.method.truncate !== undefined ? { truncate: es.method.truncate } : {}),
            ...backend,
          });
    const exact = es.exact
      ? es.method.kind === 'bptt' && !es.method.stopped?.size && es.method.truncate === undefined
        ? grad
        : compileStep(spec, 'bptt')
      : undefined;
    const forward = compileStep(spec, 'forward');
    const cores = Math.max(1, availableParallelism());
    let threads = opts.threads ?? 0;
    let note: string;
    if (opts.threads !== undefined) note = `${threads} thread${threads === 1 ? '' : 's'} (as asked)`;
    else {
      // Threads pay when a batch holds enough work to hide the ~1 ms of messages per batch.
      const work = (typical?.batch ?? 1) * (typical?.steps ?? 1) * stepWork(spec) * (es.method.kind === 'online' ? 4 : 3);
      threads = work >= 2e6 && (typical?.batch ?? 1) >= 2 ? Math.min(cores, 2, typical?.batch ?? 1) : 1;
      note = threads > 1 ? `${threads} threads (the batch split over ${Math.min(cores, 2)} cores)` : 'one thread (too little work per batch to split)';
    }
    threads = Math.max(1, Math.min(threads, 64));
    return new CompiledEngine(spec, { grad, exact: exact === grad ? undefined : exact, forward }, threads, note);
  }

  get threadsUsed(): number {
    return this.threadCount;
  }

  /** Where the gradient kernel's loops run, in words (e.g. 'WebAssembly SIMD for 6 of 8 loops'). */
  get loopsNote(): string {
    const loops = this.sources.grad?.loops ?? [];
    const w = loops.filter((l) => l.backend === 'wasm').length;
    if (!loops.length) return 'JavaScript';
    if (!w) return `JavaScript loops (${loops[0]!.why ?? 'no loop fits 4 lanes'})`;
    return `WebAssembly SIMD for ${w} of ${loops.length} loops`;
  }

  setParams(values: readonly ArrayLike<number>[]): void {
    values.forEach((v, i) => this.params[i]!.set(v));
  }

  /** Bytes held: every thread's kernel buffers, the shared parameters and data. */
  bytes(batch: number, steps: number): number {
    const perThread = this.order.reduce((a, k) => a + this.sources[k]!.bytesPerThread + this.sources[k]!.tapeBytesPerStep * steps, 0);
    const shared =
      this.params.reduce((a, p) => a + 4 * p.length, 0) + 4 * batch * steps * (sizeOf(this.spec.input.shape) + 2 * sizeOf(this.spec.target.shape) + 1);
    return perThread * this.threadCount + shared;
  }

  /** Sequences finished in the run in progress (read while it runs). */
  sequencesDone(): number {
    return Atomics.load(this.progress, 0);
  }

  private ensureData(batch: Batch): { x: Float32Array; y: Float32Array; w: Float32Array; p: Float32Array; l: Float64Array } {
    const B = batch.size;
    const T = batch.steps;
    const nOut = sizeOf(this.spec.target.shape);
    const need = { x: batch.x.length * 4, y: batch.y.length * 4, w: batch.weight.length * 4, p: T * B * nOut * 4, l: B * 8 };
    const d = this.data;
    if (!d || d.x.byteLength < need.x || d.y.byteLength < need.y || d.w.byteLength < need.w || d.p.byteLength < need.p || d.l.byteLength < need.l) {
      this.data = {
        x: new SharedArrayBuffer(Math.max(4, need.x)),
        y: new SharedArrayBuffer(Math.max(4, need.y)),
        w: new SharedArrayBuffer(Math.max(4, need.w)),
        p: new SharedArrayBuffer(Math.max(4, need.p)),
        l: new SharedArrayBuffer(Math.max(8, need.l)),
      };
    }
    const s = this.data!;
    const x = new Float32Array(s.x, 0, batch.x.length);
    const y = new Float32Array(s.y, 0, batch.y.length);
    const w = new Float32Array(s.w, 0, batch.weight.length);
    x.set(batch.x);
    y.set(batch.y);
    w.set(batch.weight);
    const p = new Float32Array(s.p, 0, T * B * nOut);
    p.fill(0);
    return { x, y, w, p, l: new Float64Array(s.l, 0, B) };
  }

  /**
   * Runs kernel `name` over the batch with the current parameters.
   * `shouldStop` is polled every time step (on this thread) or every 10 ms
   * (threads, which then stop within their current step).
   */
  async run(name: KernelName, batch: Batch, shouldStop: () => boolean = () => false): Promise<EngineResult> {
    const src = this.sources[name] ?? (name === 'exact' && this.sources.grad?.mode === 'bptt' ? this.sources.grad : undefined);
    if (!src) throw new Error(`internal: no '${name}' kernel`);
    const which = this.sources[name] ? name : 'grad';
    const B = batch.size;
    const T = batch.steps;
    const d = this.ensureData(batch);
    Atomics.store(this.cancel, 0, 0);
    Atomics.store(this.progress, 0, 0);
    const threads = Math.min(this.threadCount, B);
    let cancelled = false;
    let nonFinite: NonFiniteAt | undefined;
    let grads: Float64Array[] | undefined;
    if (threads <= 1) {
      const k = this.kernel(which);
      k.zeroGradients();
      k.setBatch(d.x, d.y, d.w, B, T, d.p);
      // Sequence by sequence, yielding to the event loop every ~20 ms so an AbortSignal's timers run
      // (a shared flag is seen within a step: `shouldStop` is polled every step).
      let last = performance.now();
      for (let b = 0; b < B && !cancelled && !nonFinite; b++) {
        const r = k.runRange(b, b + 1, d.l, () => Atomics.add(this.progress, 0, 1), shouldStop, 0);
        cancelled = r.cancelled;
        nonFinite = r.nonFinite;
        if (performance.now() - last > 20 && b + 1 < B) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          last = performance.now();
          if (shouldStop()) cancelled = true;
        }
      }
      grads = k.D.map((g) => g.slice());
    } else {
      const pool = await this.pool();
      const ranges: [number, number][] = [];
      for (let w = 0; w < threads; w++) ranges.push([Math.floor((w * B) / threads), Math.floor(((w + 1) * B) / threads)]);
      const timer = setInterval(() => {
        if (shouldStop()) Atomics.store(this.cancel, 0, 1);
      }, 10);
      let res;
      try {
        res = await pool.run(
          { kernel: this.order.indexOf(which), x: this.data!.x, y: this.data!.y, weight: this.data!.w, predictions: this.data!.p, losses: this.data!.l, B, T },
          ranges,
        );
      } finally {
        clearInterval(timer);
      }
      cancelled = res.some((r) => r.cancelled) || Atomics.load(this.cancel, 0) !== 0;
      nonFinite = res.find((r) => r.nonFinite)?.nonFinite;
      grads = this.spec.params.map((p) => new Float64Array(sizeOf(p.shape)));
      for (let w = 0; w < threads; w++) {
        pool.gradsOf(w, this.order.indexOf(which)).forEach((g, i) => {
          const into = grads![i]!;
          for (let q = 0; q < into.length; q++) into[q] = into[q]! + g[q]!;
        });
      }
    }
    let loss = 0;
    for (let b = 0; b < B; b++) loss += d.l[b]!;
    return {
      loss,
      predictions: d.p.slice(),
      cancelled,
      ...(nonFinite ? { nonFinite } : {}),
      ...(src.mode !== 'forward' ? { grads } : {}),
    };
  }

  /** Which parameters the kernel's gradient covers (an online rule leaves some untrained). */
  trained(name: KernelName = 'grad'): boolean[] {
    return (this.sources[name] ?? this.sources.grad)!.params.map((p) => p.trained);
  }

  private kernel(name: KernelName): StepKernel {
    this.local ??= new Map();
    let k = this.local.get(name);
    if (!k) {
      k = new StepKernel(this.sources[name]!, this.params, this.cancel);
      this.local.set(name, k);
    }
    return k;
  }

  private async pool(): Promise<StepThreads> {
    this.threads ??= await StepThreads.start(
      this.threadCount,
      this.order.map((k) => this.sources[k]!),
      this.paramBufs,
      this.cancelBuf,
      this.progressBuf,
    );
    return this.threads;
  }

  async dispose(): Promise<void> {
    await this.threads?.dispose();
    this.threads = null;
    this.local = null;
  }
}
