// What a training task hands the trainer: batches of sequences already shaped
// for the model's `input` and `target` (time-major float32), a loss weight per
// step (which steps count), and labels where the task is a classification.

import type { FileAccessPolicy } from './files.js';
import { EligoError } from '../../util/errors.js';

/** One batch, time-major: element (t, b, i) of x is x[(t * size + b) * nIn + i]. */
export interface Batch {
  /** B: sequences in the batch. */
  readonly size: number;
  /** T: time steps. */
  readonly steps: number;
  /** [T, B, nIn] input values. */
  readonly x: Float32Array;
  /** [T, B, nOut] target values (anything where the weight is 0). */
  readonly y: Float32Array;
  /**
   * [T, B] weight of each step's loss; each sample's weights sum to 1, so the
   * batch loss is the mean over samples of each sample's mean loss over the
   * steps that count.
   */
  readonly weight: Float32Array;
  /** [T, B] class label at each step (-1: no label): classification tasks only. */
  readonly labels?: Int32Array;
}

export type TaskKind = 'classification' | 'regression';

export interface Task {
  /** The task's name with its settings, e.g. `evidence(T=100, cues=7)`. */
  readonly name: string;
  readonly kind: TaskKind;
  /** Number of classes (classification). */
  readonly classes?: number;
  /**
   * How accuracy is scored: 'sequence' sums the prediction over a sample's
   * labelled steps and compares its arg-max with the sample's one label;
   * 'step' scores every labelled step on its own (copy task).
   */
  readonly scoring: 'sequence' | 'step';
  readonly steps: number;
  readonly nIn: number;
  readonly nOut: number;
  readonly trainSize: number;
  readonly testSize: number;
  /** How the data reach the model's input and target, in a sentence or two (CLI and docs show it). */
  readonly encoding: string;
  /** Chance-level accuracy (classification). */
  readonly chance?: number;
  /** Samples `indices` of a split, as one batch. Deterministic in (task settings, split, index). */
  batch(split: 'train' | 'test', indices: readonly number[]): Batch;
}

/** The model's data shapes a task must produce, and the run's settings. */
export interface TaskContext {
  readonly model: string;
  /** Size of the model's input per step (x: [nIn]). */
  readonly nIn: number;
  /** Size of the model's target per step (y: [nOut]). */
  readonly nOut: number;
  /** Names of the input and target (for messages). */
  readonly inputName: string;
  readonly targetName: string;
  /** Seed of the data (generated tasks) and of any subset choice. */
  readonly seed: number;
  /** Which data files the task may read (files.ts); absent: the CLI's, anywhere. */
  readonly files?: FileAccessPolicy;
}

/** A task that cannot be built for this model or these settings; the message says what to change. */
export class TaskError extends EligoError {
  constructor(message: string) {
    super('train.task', message);
  }
}

/** A batch being filled: helpers shared by the tasks. */
export class BatchBuilder {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly weight: Float32Array;
  readonly labels: Int32Array | undefined;

  constructor(
    readonly size: number,
    readonly steps: number,
    readonly nIn: number,
    readonly nOut: number,
    classification: boolean,
  ) {
    this.x = new Float32Array(steps * size * nIn);
    this.y = new Float32Array(steps * size * nOut);
    this.weight = new Float32Array(steps * size);
    this.labels = classification ? new Int32Array(steps * size).fill(-1) : undefined;
  }

  setX(t: number, b: number, i: number, v: number): void {
    this.x[(t * this.size + b) * this.nIn + i] = v;
  }

  addX(t: number, b: number, i: number, v: number): void {
    this.x[(t * this.size + b) * this.nIn + i]! += v;
  }

  setY(t: number, b: number, k: number, v: number): void {
    this.y[(t * this.size + b) * this.nOut + k] = v;
  }

  /** Label `label` (one-hot target) at steps [from, to) of sample b, each weighted 1/(to − from). */
  labelWindow(b: number, from: number, to: number, label: number): void {
    const w = 1 / (to - from);
    for (let t = from; t < to; t++) {
      this.setY(t, b, label, 1);
      this.weight[t * this.size + b] = w;
      this.labels![t * this.size + b] = label;
    }
  }

  /** Steps [from, to) of sample b count for the loss, equally. */
  weightWindow(b: number, from: number, to: number): void {
    const w = 1 / (to - from);
    for (let t = from; t < to; t++) this.weight[t * this.size + b] = w;
  }

  build(): Batch {
    return { size: this.size, steps: this.steps, x: this.x, y: this.y, weight: this.weight, ...(this.labels ? { labels: this.labels } : {}) };
  }
}

/** A 32-bit seed for sample `index` of `split` of a task seeded with `seed` (murmur3's finaliser). */
export function sampleSeed(seed: number, split: 'train' | 'test', index: number): number {
  let h = (seed ^ (split === 'train' ? 0x2c1b3c6d : 0x297a2d39)) >>> 0;
  h = Math.imul(h ^ index, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0 || 1;
}

/** Requires the model's target to hold `classes` one-hot classes. */
export function needClasses(ctx: TaskContext, task: string, classes: number): void {
  if (ctx.nOut < classes) {
    throw new TaskError(
      `${task} has ${classes} classes, scored one-hot on the target; model '${ctx.model}' has target ${ctx.targetName}: [${ctx.nOut}]: give it ${classes} outputs (e.g. 'dim n_out = ${classes}')`,
    );
  }
}
