// Optimisers, learning-rate schedules and gradient clipping, on tf.Variables,
// with their state exposed by name so checkpoints can save and restore it.
//
// SGD (with optional momentum) and Adam (Kingma & Ba 2015, with bias
// correction; β1 = 0.9, β2 = 0.999, ε = 1e-8 by default). Clipping rescales
// the whole gradient to a maximum global L2 norm (Pascanu et al. 2013).

import type { Variable } from '@tensorflow/tfjs';
import type { Tf } from './backend.js';
import type { T } from './compileGraph.js';

export type OptimizerKind = 'sgd' | 'adam';

export type Schedule =
  | { readonly kind: 'constant' }
  /** Cosine decay from the learning rate to `floor` × it over the run (Loshchilov & Hutter 2017, no restarts). */
  | { readonly kind: 'cosine'; readonly floor?: number }
  /** Multiply by `factor` every `every` updates. */
  | { readonly kind: 'step'; readonly every: number; readonly factor: number };

export interface OptimizerOptions {
  readonly kind: OptimizerKind;
  readonly learningRate: number;
  readonly schedule?: Schedule;
  /** Linear warm-up over this many updates. */
  readonly warmup?: number;
  /** Maximum global gradient norm (none when absent). */
  readonly clip?: number;
  /** SGD momentum (0: plain SGD). */
  readonly momentum?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
}

/** The learning rate at update `step` (0-based) of `total`. */
export function learningRateAt(o: OptimizerOptions, step: number, total: number): number {
  let lr = o.learningRate;
  const s = o.schedule ?? { kind: 'constant' };
  if (s.kind === 'cosine') {
    const floor = s.floor ?? 0;
    const p = total > 1 ? Math.min(1, step / (total - 1)) : 0;
    lr *= floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * p));
  } else if (s.kind === 'step') {
    lr *= Math.pow(s.factor, Math.floor(step / s.every));
  }
  if (o.warmup && step < o.warmup) lr *= (step + 1) / o.warmup;
  return lr;
}

export interface UpdateInfo {
  readonly learningRate: number;
  /** Global L2 norm of the gradient before clipping. */
  readonly gradNorm: number;
  readonly clipped: boolean;
}

export class Optimizer {
  /** Updates applied so far (Adam's bias correction uses it). */
  step = 0;
  private readonly slots = new Map<string, T>();

  constructor(
    private readonly tf: Tf,
    readonly options: OptimizerOptions,
    private readonly vars: readonly Variable[],
    private readonly names: readonly string[],
  ) {
    if (!(options.learningRate > 0) || !Number.isFinite(options.learningRate))
      throw new Error(`the learning rate must be a positive number, got ${options.learningRate}`);
    if (options.clip !== undefined && !(options.clip > 0)) throw new Error(`--clip must be a positive number, got ${options.clip}`);
  }

  /**
   * Applies one update with `grads` (in the variables' order; undefined for
   * a parameter the rule does not train). `total` is the run's length (for schedules).
   */
  apply(grads: readonly (T | undefined)[], total: number): UpdateInfo {
    const tf = this.tf;
    const o = this.options;
    const lr = learningRateAt(o, this.step, total);
    const present = grads.filter((g): g is T => g !== undefined);
    let norm = 0;
    if (present.length) {
      const sq = tf.tidy(() => tf.addN(present.map((g) => tf.sum(tf.square(g)))));
      norm = Math.sqrt(sq.dataSync()[0]!);
      sq.dispose();
    }
    const scale = o.clip !== undefined && norm > o.clip ? o.clip / norm : 1;
    this.step++;
    const t = this.step;
    tf.tidy(() => {
      this.vars.forEach((v, i) => {
        const g0 = grads[i];
        if (!g0) return;
        const g = scale === 1 ? g0 : tf.mul(g0, scale);
        const name = this.names[i]!;
        if (o.kind === 'sgd') {
          const mu = o.momentum ?? 0;
          if (mu > 0) {
            const m = this.slot(`${name}.momentum`, v);
            const m1 = tf.add(tf.mul(m, mu), g);
            this.setSlot(`${name}.momentum`, m1);
            v.assign(tf.sub(v, tf.mul(m1, lr)));
          } else {
            v.assign(tf.sub(v, tf.mul(g, lr)));
          }
        } else {
          const b1 = o.beta1 ?? 0.9;
          const b2 = o.beta2 ?? 0.999;
          const eps = o.epsilon ?? 1e-8;
          const m = tf.add(tf.mul(this.slot(`${name}.m`, v), b1), tf.mul(g, 1 - b1));
          const s = tf.add(tf.mul(this.slot(`${name}.v`, v), b2), tf.mul(tf.square(g), 1 - b2));
          this.setSlot(`${name}.m`, m);
          this.setSlot(`${name}.v`, s);
          const mHat = tf.div(m, 1 - Math.pow(b1, t));
          const vHat = tf.div(s, 1 - Math.pow(b2, t));
          v.assign(tf.sub(v, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), eps)), lr)));
        }
      });
    });
    return { learningRate: lr, gradNorm: norm, clipped: scale !== 1 };
  }

  private slot(name: string, like: T): T {
    let s = this.slots.get(name);
    if (!s) {
      s = this.tf.keep(this.tf.zerosLike(like));
      this.slots.set(name, s);
    }
    return s;
  }

  private setSlot(name: string, value: T): void {
    const old = this.slots.get(name);
    this.slots.set(name, this.tf.keep(value));
    old?.dispose();
  }

  /** The state by name (for checkpoints), as float32 values. */
  state(): { name: string; shape: number[]; data: Float32Array }[] {
    return [...this.slots].map(([name, t]) => ({ name, shape: [...t.shape], data: t.dataSync() as Float32Array }));
  }

  /** Restores state saved by `state()`. */
  restore(step: number, slots: readonly { name: string; shape: readonly number[]; data: Float32Array }[]): void {
    this.step = step;
    for (const s of slots) this.setSlot(s.name, this.tf.tensor(s.data, [...s.shape], 'float32'));
  }

  /** Bytes of optimizer state per parameter value (float32). */
  static slotsPerValue(o: OptimizerOptions): number {
    return o.kind === 'adam' ? 2 : (o.momentum ?? 0) > 0 ? 1 : 0;
  }

  dispose(): void {
    for (const t of this.slots.values()) t.dispose();
    this.slots.clear();
  }
}
