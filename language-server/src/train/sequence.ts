// One batch of sequences through a model, three ways: forward only
// (evaluation), exact BPTT (TF.js autodiff over the unrolled loop,
// tf.variableGrads), and an online rule (online.ts, no history). All three
// score predictions the same way and report the peak of tensor memory.

import type { Variable } from '@tensorflow/tfjs';
import type { Tf } from './backend.js';
import type { T } from './compileGraph.js';
import type { StepModel } from './model.js';
import type { OnlineExecutor } from './online.js';
import type { Batch, Task } from './tasks/types.js';
import { EligoError } from '../util/errors.js';

/** Thrown from inside a batch when the run is cancelled; the batch's work is discarded. */
export class Cancelled extends EligoError {
  constructor() {
    super('train.cancelled', 'cancelled');
  }
}

export interface BatchResult {
  /** Mean over the batch of each sample's weighted loss. */
  readonly loss: number;
  /** Correctly classified (samples or labelled steps, by the task's scoring) and how many were scored. */
  readonly correct: number;
  readonly scored: number;
  /** The gradient estimate per parameter (model order; undefined = untrained), kept: the caller disposes. */
  readonly grads?: (T | undefined)[];
  /** Largest tensor memory seen during the batch. */
  readonly peakBytes: number;
}

export interface RunControl {
  /** Polled between time steps; true stops the batch (throws Cancelled). */
  readonly shouldStop?: () => boolean;
}

/** Step t's input [B, …inShape], target [B, …outShape] and loss weight / B ([B]), built from the batch arrays. */
export function stepTensors(tf: Tf, batch: Batch, t: number, inShape: readonly number[], outShape: readonly number[]): { x: T; y: T; w: T } {
  const B = batch.size;
  const nIn = batch.x.length / (batch.steps * B);
  const nOut = batch.y.length / (batch.steps * B);
  const x = tf.tensor(batch.x.subarray(t * B * nIn, (t + 1) * B * nIn), [B, ...inShape], 'float32');
  const y = tf.tensor(batch.y.subarray(t * B * nOut, (t + 1) * B * nOut), [B, ...outShape], 'float32');
  const w = tf.tensor(
    batch.weight.subarray(t * B, (t + 1) * B).map((v) => v / B),
    [B],
    'float32',
  );
  return { x, y, w };
}

/** Accumulates predictions into accuracy, on the CPU (predictions are [B, nOut] and few steps carry labels). */
export class Scorer {
  private readonly sums: Float64Array | undefined;
  private readonly label: Int32Array;
  private correct = 0;
  private scored = 0;

  constructor(
    private readonly task: Task,
    private readonly batch: Batch,
  ) {
    this.sums = task.kind === 'classification' && task.scoring === 'sequence' ? new Float64Array(batch.size * task.nOut) : undefined;
    this.label = new Int32Array(batch.size).fill(-1);
  }

  /** Whether step t has any label (so its prediction is worth reading). */
  wants(t: number): boolean {
    const labels = this.batch.labels;
    if (!labels || this.task.kind !== 'classification') return false;
    const B = this.batch.size;
    for (let b = 0; b < B; b++) if (labels[t * B + b]! >= 0) return true;
    return false;
  }

  add(t: number, prediction: T | undefined): void {
    if (!prediction || !this.wants(t)) return;
    this.addValues(t, prediction.dataSync());
  }

  /** Step t's predictions as values [B, nOut] (`offset` into a longer array). */
  addValues(t: number, p: ArrayLike<number>, offset = 0): void {
    if (!this.wants(t)) return;
    if (offset) p = Array.prototype.slice.call(p, offset, offset + this.batch.size * this.task.nOut) as number[];
    const B = this.batch.size;
    const n = this.task.nOut;
    const classes = this.task.classes ?? n;
    const labels = this.batch.labels!;
    for (let b = 0; b < B; b++) {
      const l = labels[t * B + b]!;
      if (l < 0) continue;
      if (this.sums) {
        const w = this.batch.weight[t * B + b]!;
        for (let k = 0; k < n; k++) this.sums[b * n + k]! += w * p[b * n + k]!;
        this.label[b] = l;
      } else {
        if (argmax(p, b * n, classes) === l) this.correct++;
        this.scored++;
      }
    }
  }

  result(): { correct: number; scored: number } {
    if (!this.sums) return { correct: this.correct, scored: this.scored };
    const n = this.task.nOut;
    const classes = this.task.classes ?? n;
    let correct = 0;
    let scored = 0;
    this.label.forEach((l, b) => {
      if (l < 0) return;
      scored++;
      if (argmax(this.sums!, b * n, classes) === l) correct++;
    });
    return { correct, scored };
  }
}

function argmax(p: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (p[off + k]! > p[off + best]!) best = k;
  return best;
}

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Forward only (evaluation): loss and accuracy; yields to the event loop every ~50 ms so a cancel is seen. */
export async function forwardBatch(model: StepModel, params: readonly T[], batch: Batch, task: Task, ctl: RunControl = {}): Promise<BatchResult> {
  const tf = model.tf;
  const spec = model.spec;
  const scorer = new Scorer(task, batch);
  let states = model.initialStates(batch.size);
  let loss = 0;
  let peak = 0;
  let last = performance.now();
  try {
    for (let t = 0; t < batch.steps; t++) {
      if (ctl.shouldStop?.()) throw new Cancelled();
      const out = tf.tidy(() => {
        const d = stepTensors(tf, batch, t, spec.input.shape, spec.target.shape);
        const r = model.step(states, params, d.x, d.y);
        // (a copy: the prediction may be a state, ALIF's readout o)
        return { next: r.next, l: tf.sum(tf.mul(r.loss, d.w)), p: r.prediction ? tf.clone(r.prediction) : tf.zeros([0]) };
      });
      // (a state without an update is carried as is: not disposed)
      for (const s of states) if (!out.next.includes(s)) s.dispose();
      states = out.next;
      loss += out.l.dataSync()[0]!;
      scorer.add(t, out.p.size ? out.p : undefined);
      out.l.dispose();
      out.p.dispose();
      peak = Math.max(peak, tf.memory().numBytes);
      if (performance.now() - last > 50) {
        await yieldNow();
        last = performance.now();
      }
    }
  } finally {
    for (const s of states) s.dispose();
  }
  return { loss, ...scorer.result(), peakBytes: peak };
}

/**
 * Exact BPTT: the loss summed over the unrolled sequence, differentiated by
 * tf.variableGrads (the tape holds every step's activations: memory linear in T).
 */
export function bpttBatch(model: StepModel, vars: readonly Variable[], batch: Batch, task: Task, ctl: RunControl = {}): BatchResult {
  const tf = model.tf;
  const spec = model.spec;
  const scorer = new Scorer(task, batch);
  let peak = 0;
  const { value, grads } = tf.variableGrads(() => {
    let states = model.initialStates(batch.size);
    const terms: T[] = [];
    for (let t = 0; t < batch.steps; t++) {
      if (ctl.shouldStop?.()) throw new Cancelled();
      const d = stepTensors(tf, batch, t, spec.input.shape, spec.target.shape);
      const r = model.step(states, vars, d.x, d.y);
      terms.push(tf.sum(tf.mul(r.loss, d.w)));
      scorer.add(t, r.prediction);
      states = r.next;
    }
    peak = Math.max(peak, tf.memory().numBytes);
    return tf.addN(terms) as unknown as import('@tensorflow/tfjs').Scalar;
  }, [...vars]);
  peak = Math.max(peak, tf.memory().numBytes);
  const loss = value.dataSync()[0]!;
  value.dispose();
  return { loss, ...scorer.result(), grads: vars.map((v) => grads[v.name]), peakBytes: peak };
}

/** An online rule over the batch, step by step, no history; yields to the event loop every ~50 ms. */
export async function onlineBatch(exec: OnlineExecutor, params: readonly T[], batch: Batch, task: Task, ctl: RunControl = {}): Promise<BatchResult> {
  const tf = exec.model.tf;
  const spec = exec.model.spec;
  const scorer = new Scorer(task, batch);
  let loss = 0;
  let peak = 0;
  let last = performance.now();
  exec.begin(batch.size);
  try {
    for (let t = 0; t < batch.steps; t++) {
      if (ctl.shouldStop?.()) throw new Cancelled();
      const d = stepTensors(tf, batch, t, spec.input.shape, spec.target.shape);
      try {
        const r = exec.step(params, d);
        const l = tf.tidy(() => tf.sum(tf.mul(r.loss, d.w)));
        loss += l.dataSync()[0]!;
        l.dispose();
        scorer.add(t, r.prediction);
        r.loss.dispose();
        r.prediction?.dispose();
      } finally {
        d.x.dispose();
        d.y.dispose();
        d.w.dispose();
      }
      peak = Math.max(peak, exec.stepPeakBytes, tf.memory().numBytes);
      if (performance.now() - last > 50) {
        await yieldNow();
        last = performance.now();
      }
    }
    const grads = exec.gradients().map((g) => (g ? tf.keep(tf.clone(g)) : undefined));
    return { loss, ...scorer.result(), grads, peakBytes: peak };
  } finally {
    exec.dispose();
  }
}
