// Tasks generated in code: the benchmarks the field uses to judge online
// learning rules on recurrent (spiking) networks (shared/reference/
// learning-rules.md §2.4): correlated-input classification, store-recall and
// evidence accumulation (Bellec et al. 2020, Nat. Commun. 11:3625), pattern
// generation (sums of sinusoids from frozen noise), the adding task (Hochreiter
// & Schmidhuber 1997) and the copy task. Every sample is drawn from its own
// seeded generator, so sample i of a split is the same in every run, batch
// order and resume.

import { Rng } from '../../graph/random.js';
import { BatchBuilder, needClasses, sampleSeed, TaskError, type Batch, type Task, type TaskContext } from './types.js';

export type TaskParams = Readonly<Record<string, string>>;

/** A numeric task setting: `key=value` from `--task name:key=value,…`, checked against its range. */
export function param(p: TaskParams, task: string, key: string, def: number, min: number, max: number, integer = true): number {
  const raw = p[key];
  if (raw === undefined) return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    throw new TaskError(`${task}: ${key} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got '${raw}'`);
  }
  return v;
}

/** "inputs 3–7" or "input 3" for the channels [lo, hi). */
function chans([lo, hi]: [number, number]): string {
  return hi - lo === 1 ? `input ${lo}` : `inputs ${lo}–${hi - 1}`;
}

/** Splits channels [0, n) into `k` groups of ⌊n/k⌋ (the remainder goes to the last group). */
function groups(n: number, k: number): [number, number][] {
  const size = Math.floor(n / k);
  return Array.from({ length: k }, (_, g) => [g * size, g === k - 1 ? n : (g + 1) * size] as [number, number]);
}

function needInputs(ctx: TaskContext, task: string, min: number, why: string): void {
  if (ctx.nIn < min)
    throw new TaskError(`${task} needs at least ${min} input channels (${why}); model '${ctx.model}' has input ${ctx.inputName}: [${ctx.nIn}]`);
}

function sizes(p: TaskParams, task: string, train = 2000, test = 500): { trainSize: number; testSize: number } {
  return { trainSize: param(p, task, 'train', train, 1, 1e7), testSize: param(p, task, 'test', test, 1, 1e7) };
}

/** A task whose samples are drawn one at a time by `fill(builder, b, rng)`. */
function generated(
  ctx: TaskContext,
  base: Omit<Task, 'batch' | 'nIn' | 'nOut'>,
  fill: (bb: BatchBuilder, b: number, rng: Rng) => void,
  seedOf: (split: 'train' | 'test', index: number) => number = (split, i) => sampleSeed(ctx.seed, split, i),
): Task {
  return {
    ...base,
    nIn: ctx.nIn,
    nOut: ctx.nOut,
    batch(split, indices): Batch {
      const bb = new BatchBuilder(indices.length, base.steps, ctx.nIn, ctx.nOut, base.kind === 'classification');
      indices.forEach((i, b) => fill(bb, b, new Rng(seedOf(split, i))));
      return bb.build();
    },
  };
}

// ------------------------------------------------------------ correlated inputs

/**
 * Two groups of Poisson channels with the same rate; in one of them the
 * channels share a common source (each copies it with probability
 * `correlation`), and the label says which group is the correlated one. After
 * the cue, `delay` silent steps, then a decision window: the rule must carry
 * credit across the delay (the "does credit cross a gap of Δ steps" test of
 * §2.4). Coincidence detection is what a LIF layer can do; chance is 50 %.
 */
export function correlatedTask(ctx: TaskContext, p: TaskParams): Task {
  const name = 'correlated';
  needInputs(ctx, name, 2, 'two groups of channels');
  needClasses(ctx, name, 2);
  const T = param(p, name, 'T', 50, 4, 100000);
  const correlation = param(p, name, 'correlation', 0.8, 0, 1, false);
  const delay = param(p, name, 'delay', 0, 0, T - 3);
  const rate = param(p, name, 'rate', 0.2, 0.001, 1, false);
  const window = param(p, name, 'window', Math.max(1, Math.round(T / 5)), 1, T - delay - 2);
  // Without a delay the answer is asked for during the last steps of the cue; with one, after it.
  const cue = delay > 0 ? T - delay - window : T;
  if (cue < 2) throw new TaskError(`${name}: T = ${T} leaves ${cue} cue steps after delay ${delay} and window ${window}; make T larger`);
  const [A, B] = groups(ctx.nIn, 2);
  return generated(
    ctx,
    {
      name: `correlated(T=${T}, correlation=${correlation}, delay=${delay})`,
      kind: 'classification',
      classes: 2,
      scoring: 'sequence',
      steps: T,
      ...sizes(p, name),
      chance: 0.5,
      encoding: `${chans(A!)} and ${chans(B!).replace(/^inputs? /, '')} are two groups of Poisson spike trains (rate ${rate} per step) for ${cue} steps; in the group named by the label (0: the first) the channels copy a common source with probability ${correlation}; ${delay > 0 ? `then ${delay} silent steps; ` : ''}outputs 0/1 are scored one-hot over the last ${window} steps`,
    },
    (bb, b, rng) => {
      const label = rng.int(2);
      const [cLo, cHi] = label === 0 ? A! : B!;
      const [iLo, iHi] = label === 0 ? B! : A!;
      for (let t = 0; t < cue; t++) {
        const common = rng.next() < rate;
        for (let i = cLo; i < cHi; i++) {
          const s = rng.next() < correlation ? common : rng.next() < rate;
          if (s) bb.setX(t, b, i, 1);
        }
        for (let i = iLo; i < iHi; i++) if (rng.next() < rate) bb.setX(t, b, i, 1);
      }
      bb.labelWindow(b, T - window, T, label);
    },
  );
}

// ------------------------------------------------------------ store-recall

/**
 * Store-recall (Bellec et al. 2020): four groups of input channels — store,
 * recall, value 0, value 1. The sequence is cut into periods; every period
 * shows a random bit on its value group; one period early on also carries the
 * store command, and the last period the recall command: the answer is the bit
 * shown with the store command. Needs memory over up to ~T steps (ALIF's
 * adaptation, τ_a = 200 steps, holds it; plain LIF, τ_m = 20, does not).
 */
export function storeRecallTask(ctx: TaskContext, p: TaskParams): Task {
  const name = 'store-recall';
  needInputs(ctx, name, 4, 'store, recall, value 0 and value 1 groups');
  needClasses(ctx, name, 2);
  const T = param(p, name, 'T', 100, 8, 100000);
  const period = param(p, name, 'period', Math.max(2, Math.round(T / 10)), 1, Math.floor(T / 4));
  const rate = param(p, name, 'rate', 0.5, 0.01, 1, false);
  const noise = param(p, name, 'noise', 0.01, 0, 1, false);
  const periods = Math.floor(T / period);
  const [S, R, V0, V1] = groups(ctx.nIn, 4);
  const fire = (bb: BatchBuilder, b: number, rng: Rng, [lo, hi]: [number, number], from: number, to: number): void => {
    for (let t = from; t < to; t++) for (let i = lo; i < hi; i++) if (rng.next() < rate) bb.setX(t, b, i, 1);
  };
  return generated(
    ctx,
    {
      name: `store-recall(T=${T}, period=${period})`,
      kind: 'classification',
      classes: 2,
      scoring: 'sequence',
      steps: T,
      ...sizes(p, name),
      chance: 0.5,
      encoding: `${chans(S!)} store, ${chans(R!)} recall, ${chans(V0!)} value 0, ${chans(V1!)} value 1: Poisson spikes (rate ${rate}) during ${period}-step periods, background rate ${noise}; a random bit every period, store in one of the first ${Math.max(1, Math.floor(periods / 2))} periods, recall in the last; outputs 0/1 are scored one-hot during the recall period`,
    },
    (bb, b, rng) => {
      const store = rng.int(Math.max(1, Math.floor(periods / 2)));
      const last = periods - 1;
      let label = 0;
      for (let k = 0; k < last; k++) {
        const bit = rng.int(2);
        if (k === store) {
          label = bit;
          fire(bb, b, rng, S!, k * period, (k + 1) * period);
        }
        fire(bb, b, rng, bit ? V1! : V0!, k * period, (k + 1) * period);
      }
      fire(bb, b, rng, R!, last * period, T);
      if (noise > 0) for (let t = 0; t < T; t++) for (let i = 0; i < ctx.nIn; i++) if (rng.next() < noise) bb.setX(t, b, i, 1);
      bb.labelWindow(b, last * period, T, label);
    },
  );
}

// ------------------------------------------------------------ evidence accumulation

/**
 * Evidence (cue) accumulation (Bellec et al. 2020, after Morcos & Harvey
 * 2016): `cues` bursts on the left or the right group of channels, a delay,
 * then a recall cue; the answer is the side that had more cues. Four groups:
 * left, right, recall, background noise.
 */
export function evidenceTask(ctx: TaskContext, p: TaskParams): Task {
  const name = 'evidence';
  needInputs(ctx, name, 4, 'left, right, recall and noise groups');
  needClasses(ctx, name, 2);
  const T = param(p, name, 'T', 100, 20, 100000);
  const cues = param(p, name, 'cues', 7, 1, 99);
  if (cues % 2 === 0) throw new TaskError(`${name}: cues must be odd (the majority decides), got ${cues}`);
  const rate = param(p, name, 'rate', 0.4, 0.01, 1, false);
  const noise = param(p, name, 'noise', 0.05, 0, 1, false);
  const slot = Math.floor((0.6 * T) / cues);
  if (slot < 2) throw new TaskError(`${name}: T = ${T} is too short for ${cues} cues (each needs 2 steps in the first 60 % of the sequence)`);
  const on = Math.max(1, Math.ceil((2 * slot) / 3));
  const recall = Math.max(2, Math.round(T / 10));
  const [L, Rt, Rc, N] = groups(ctx.nIn, 4);
  return generated(
    ctx,
    {
      name: `evidence(T=${T}, cues=${cues})`,
      kind: 'classification',
      classes: 2,
      scoring: 'sequence',
      steps: T,
      ...sizes(p, name),
      chance: 0.5,
      encoding: `${chans(L!)} left cues, ${chans(Rt!)} right cues, ${chans(Rc!)} recall, ${chans(N!)} noise (rate ${noise}); ${cues} cues of ${on} steps (Poisson rate ${rate}) every ${slot} steps, a delay, then the recall cue for the last ${recall} steps; outputs 0 (left) / 1 (right) are scored one-hot during the recall`,
    },
    (bb, b, rng) => {
      let left = 0;
      for (let c = 0; c < cues; c++) {
        const side = rng.int(2);
        if (side === 0) left++;
        const [lo, hi] = side === 0 ? L! : Rt!;
        for (let t = c * slot; t < c * slot + on; t++) for (let i = lo; i < hi; i++) if (rng.next() < rate) bb.setX(t, b, i, 1);
      }
      for (let t = T - recall; t < T; t++) for (let i = Rc![0]; i < Rc![1]; i++) if (rng.next() < rate) bb.setX(t, b, i, 1);
      for (let t = 0; t < T; t++) for (let i = N![0]; i < N![1]; i++) if (rng.next() < noise) bb.setX(t, b, i, 1);
      bb.labelWindow(b, T - recall, T, left > cues / 2 ? 0 : 1);
    },
  );
}

// ------------------------------------------------------------ pattern generation

/**
 * Pattern generation (Bellec et al. 2020): from one frozen Poisson input,
 * regress each output onto a fixed sum of sinusoids over the whole sequence.
 * The train and test "sets" are that one sequence (the task is to fit it);
 * the loss is the mean squared error over all steps.
 */
export function patternTask(ctx: TaskContext, p: TaskParams): Task {
  const name = 'pattern';
  const T = param(p, name, 'T', 100, 2, 100000);
  const components = param(p, name, 'components', 4, 1, 16);
  const rate = param(p, name, 'rate', 0.05, 0, 1, false);
  const rng = new Rng(sampleSeed(ctx.seed, 'train', 0x7fffffff));
  const freqs = [1, 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47];
  const target = new Float32Array(T * ctx.nOut);
  for (let k = 0; k < ctx.nOut; k++) {
    const terms = Array.from({ length: components }, (_, c) => ({ f: freqs[c]!, a: rng.uniform(0.5, 2) / components, phi: rng.uniform(0, 2 * Math.PI) }));
    for (let t = 0; t < T; t++) target[t * ctx.nOut + k] = terms.reduce((s, q) => s + q.a * Math.sin((2 * Math.PI * q.f * t) / T + q.phi), 0);
  }
  const input = new Float32Array(T * ctx.nIn);
  for (let i = 0; i < input.length; i++) input[i] = rng.next() < rate ? 1 : 0;
  return {
    name: `pattern(T=${T}, components=${components})`,
    kind: 'regression',
    scoring: 'sequence',
    steps: T,
    nIn: ctx.nIn,
    nOut: ctx.nOut,
    trainSize: 1,
    testSize: 1,
    encoding: `one frozen Poisson input (rate ${rate} per step on all ${ctx.nIn} channels); each of the ${ctx.nOut} outputs regresses a fixed sum of ${components} sinusoids (1, 2, 3, 5, … cycles per sequence) at every step`,
    batch(_split, indices) {
      const bb = new BatchBuilder(indices.length, T, ctx.nIn, ctx.nOut, false);
      for (let b = 0; b < indices.length; b++) {
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < ctx.nIn; i++) bb.setX(t, b, i, input[t * ctx.nIn + i]!);
          for (let k = 0; k < ctx.nOut; k++) bb.setY(t, b, k, target[t * ctx.nOut + k]!);
        }
        bb.weightWindow(b, 0, T);
      }
      return bb.build();
    },
  };
}

// ------------------------------------------------------------ adding and copy

/**
 * The adding task (Hochreiter & Schmidhuber 1997): random values in [0, 1]
 * on the value channels, a marker on two steps (one in each half); the output
 * at the last step regresses the sum of the two marked values.
 */
export function addingTask(ctx: TaskContext, p: TaskParams): Task {
  const name = 'adding';
  needInputs(ctx, name, 2, 'a value channel and a marker channel');
  if (ctx.nOut !== 1)
    throw new TaskError(`${name} regresses one number; model '${ctx.model}' has target ${ctx.targetName}: [${ctx.nOut}]: give it one output ('dim n_out = 1')`);
  const T = param(p, name, 'T', 50, 4, 100000);
  const [V, M] = groups(ctx.nIn, 2);
  return generated(
    ctx,
    {
      name: `adding(T=${T})`,
      kind: 'regression',
      scoring: 'sequence',
      steps: T,
      ...sizes(p, name),
      encoding: `${chans(V!)} carry the value (uniform in [0, 1]) of each step, ${chans(M!)} the marker (1 on two steps, one in each half); the output regresses the sum of the marked values at the last step`,
    },
    (bb, b, rng) => {
      const m1 = rng.int(Math.floor(T / 2));
      const m2 = Math.floor(T / 2) + rng.int(T - Math.floor(T / 2) - 1);
      let sum = 0;
      for (let t = 0; t < T; t++) {
        const v = rng.next();
        for (let i = V![0]; i < V![1]; i++) bb.setX(t, b, i, v);
        if (t === m1 || t === m2) {
          sum += v;
          for (let i = M![0]; i < M![1]; i++) bb.setX(t, b, i, 1);
        }
      }
      bb.setY(T - 1, b, 0, sum);
      bb.weightWindow(b, T - 1, T);
    },
  );
}

/**
 * The copy task: `length` symbols (one-hot on the symbol channels), a delay,
 * a recall cue, then the same symbols must come out one per step. Symbols =
 * the model's outputs; every recall step is scored on its own.
 */
export function copyTask(ctx: TaskContext, p: TaskParams): Task {
  const name = 'copy';
  const symbols = ctx.nOut;
  if (symbols < 2)
    throw new TaskError(`${name}: the symbols are the model's outputs; model '${ctx.model}' has target ${ctx.targetName}: [${ctx.nOut}]: give it at least 2`);
  needInputs(ctx, name, symbols + 1, `${symbols} symbol channels (one per output) and a recall cue`);
  const length = param(p, name, 'length', 5, 1, 1000);
  const delay = param(p, name, 'delay', 10, 0, 100000);
  const T = 2 * length + delay + 1;
  return generated(
    ctx,
    {
      name: `copy(length=${length}, delay=${delay})`,
      kind: 'classification',
      classes: symbols,
      scoring: 'step',
      steps: T,
      ...sizes(p, name),
      chance: 1 / symbols,
      encoding: `${chans([0, symbols])} show ${length} random symbols one-hot, one per step; after ${delay} blank steps input ${symbols} is the recall cue; the next ${length} steps are scored one-hot on outputs 0–${symbols - 1}${ctx.nIn > symbols + 1 ? `; ${chans([symbols + 1, ctx.nIn])} stay${ctx.nIn - symbols - 1 === 1 ? 's' : ''} 0` : ''}`,
    },
    (bb, b, rng) => {
      const seq = Array.from({ length }, () => rng.int(symbols));
      seq.forEach((s, t) => bb.setX(t, b, s, 1));
      const cue = length + delay;
      bb.setX(cue, b, symbols, 1);
      const w = 1 / length;
      seq.forEach((s, k) => {
        const t = cue + 1 + k;
        bb.setY(t, b, s, 1);
        bb.weight[t * bb.size + b] = w;
        bb.labels![t * bb.size + b] = s;
      });
    },
  );
}
