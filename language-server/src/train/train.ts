// A training run: a model of an .eligo file, a learning rule (an online
// update program, or exact BPTT), a task; optimiser, schedule, clipping,
// seeds; periodic evaluation on held-out data and the rule's alignment with
// the exact gradient; early stop on NaN; checkpoints that resume;
// cancellation. Progress is streamed through a callback and the whole
// record can be written as JSON. The engine knows nothing of how it is
// shown (CLI, language server): it returns data.

import { writeFileSync } from 'node:fs';
import type { Variable } from '@tensorflow/tfjs';
import { compile, findItem, ItemError, modelStep } from '../compile.js';
import { Rng } from '../graph/random.js';
import { attachParamValues } from '../graph/simulate.js';
import { BuildError } from '../graph/build.js';
import { formatShape, sizeOf } from '../graph/types.js';
import { backendInfo, loadTf, type BackendInfo, type Tf } from './backend.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { CompileError, releaseTransposes, type T } from './compileGraph.js';
import { availableBytes, estimateBytes, fmtBytes, type MemoryEstimate } from './memory.js';
import { initialVariables, ModelError, modelSpec, StepModel, type ModelSpec } from './model.js';
import { OnlineError, OnlineExecutor } from './online.js';
import { Optimizer, type OptimizerKind, type Schedule } from './optim.js';
import { resolveRule, RuleError, type Method } from './rule.js';
import { bpttBatch, Cancelled, forwardBatch, onlineBatch, Scorer, type BatchResult } from './sequence.js';
import { CompiledEngine, stepWork } from './compiled/engine.js';
import { usesExtendedKinds } from '../rules/program.js';
import { taskSamples } from '../discovery/taskSamples.js';
import { initialParams, initialStates } from '../graph/simulate.js';
import type { NonFiniteAt } from './compiled/kernel.js';
import type { Batch } from './tasks/types.js';
import { makeTask, TaskError, type Task } from './tasks/index.js';
import type { FileAccessPolicy } from './tasks/files.js';
import { withLossWindow } from './tasks/window.js';
import { sequenceActivity } from './activity.js';
import type { TrainActivity } from '../protocol.js';
import { EligoError } from '../util/errors.js';

export interface TrainOptions {
  /** The .eligo source. */
  readonly text: string;
  /** Its path, for messages. */
  readonly file?: string;
  /** Model name (default: the file's first model). */
  readonly model?: string;
  /** Rule name (a `rule … for MODEL` item); default: exact BPTT. */
  readonly rule?: string;
  /** Task: `name[:key=value,…]` (tasks/index.ts). */
  readonly task: string;
  /** Extra task settings (e.g. `{ T: '1000' }` from --length). */
  readonly taskSettings?: Readonly<Record<string, string>>;
  /** Which data files the task may read (tasks/files.ts); absent: anywhere (the CLI). */
  readonly files?: FileAccessPolicy;
  /** Optimizer updates; default: `epochs` passes over the training set. */
  readonly steps?: number;
  readonly epochs?: number;
  readonly batch?: number;
  readonly seed?: number;
  readonly optimizer?: OptimizerKind;
  readonly learningRate?: number;
  readonly schedule?: Schedule;
  readonly warmup?: number;
  readonly clip?: number;
  readonly momentum?: number;
  /** Updates between evaluations on held-out data (default: about 10 per run). */
  readonly evalEvery?: number;
  /** Held-out samples per periodic evaluation (default 256). */
  readonly evalSamples?: number;
  /** Samples of the final evaluation on each split (default 2000; the whole test set when smaller). */
  readonly finalSamples?: number;
  /** Measure the rule's alignment with BPTT at every evaluation (online rules; default true). */
  readonly alignment?: boolean;
  readonly checkpointDir?: string;
  /** Updates between checkpoints (default: every evaluation). */
  readonly checkpointEvery?: number;
  /** Resume from a checkpoint in checkpointDir (default true). */
  readonly resume?: boolean;
  /** Write the metrics as JSON here when the run ends. */
  readonly metricsPath?: string;
  readonly signal?: AbortSignal;
  /** A synchronous cancel flag (a worker's shared flag), polled between time steps. */
  readonly isCancelled?: () => boolean;
  readonly onProgress?: (e: TrainEvent) => void;
  /** Memory the run may use; default: availableBytes() of the backend. */
  readonly maxBytes?: number;
  /**
   * 'compiled' (default): the step and the rule compiled to one fused float32 function per sequence
   * (train/compiled/), the batch split over threads where that pays; 'tfjs': the TensorFlow.js path
   * (autodiff per step), kept for one release to compare.
   */
  readonly engine?: EngineName;
  /** Threads of the compiled engine (default: what pays, up to two). */
  readonly threads?: number;
  /** Values of the model's `data(…)` params, by name (loaded by the caller: interop/paramData.ts). */
  readonly paramValues?: ReadonlyMap<string, Float64Array>;
}

export type EngineName = 'compiled' | 'tfjs';

/**
 * Multiply-adds per second one thread of the compiled engine sustains, for time estimates before a run: an online
 * rule's count (the rules engine's, which the engine's exact rewrites undercut) and BPTT's three passes. From
 * `npm run bench -- train` (docs/results.md: about 2.5·10¹⁰ and 4–7·10⁹ on an idle core), rounded down for load.
 */
export const COMPILED_RATE = 1e10;
export const COMPILED_BPTT_RATE = 3e9;

export interface CurvePoint {
  /** Updates done. */
  readonly step: number;
  /** Mean loss of the training batches since the previous evaluation (the parameters moved over them). */
  readonly trainLoss: number;
  /** Accuracy over the training batches since the previous evaluation, so it depends on --eval-every; the final train accuracy is measured at the final parameters. */
  readonly trainAccuracy: number | null;
  readonly testLoss: number;
  readonly testAccuracy: number | null;
  /** Cosine between the rule's update and the BPTT gradient on the same batch (online rules). */
  readonly alignment: number | null;
  /** Per parameter. */
  readonly alignmentByParam: Readonly<Record<string, number>> | null;
  readonly seconds: number;
}

export interface TrainMetrics {
  /** Per update: loss and accuracy of the training batch. */
  readonly updates: { step: number; loss: number; accuracy: number | null; learningRate: number; gradNorm: number }[];
  /** Per evaluation. */
  readonly curve: CurvePoint[];
}

export type TrainEvent =
  | { readonly type: 'start'; readonly info: RunInfo }
  | {
      readonly type: 'update';
      readonly step: number;
      readonly total: number;
      readonly loss: number;
      readonly accuracy: number | null;
      readonly learningRate: number;
      readonly stepsPerSecond: number;
      readonly seconds: number;
    }
  | { readonly type: 'eval'; readonly point: CurvePoint }
  | { readonly type: 'checkpoint'; readonly step: number; readonly path: string }
  /** Within an update: sequences of the batch done so far (long updates, large models). */
  | { readonly type: 'work'; readonly step: number; readonly total: number; readonly done: number; readonly of: number; readonly seconds: number }
  | { readonly type: 'done'; readonly report: TrainReport };

export interface RunInfo {
  readonly model: string;
  readonly rule: string;
  readonly method: 'bptt' | 'online';
  readonly task: string;
  readonly encoding: string;
  readonly backend: string;
  readonly backendInfo: BackendInfo;
  /** Which engine runs the steps. */
  readonly engine: EngineName;
  /** The engine in words (threads, why). */
  readonly engineSummary: string;
  /** Estimated seconds per update before the first one ran (compiled engine; null for tfjs). */
  readonly secondsPerUpdateEstimate: number | null;
  readonly batch: number;
  readonly sequenceLength: number;
  readonly total: number;
  readonly startStep: number;
  readonly parameters: number;
  readonly memory: MemoryEstimate & { readonly available: number; readonly availableWhy: string };
  readonly notes: readonly string[];
}

export interface TrainReport {
  readonly task: string;
  readonly model: string;
  readonly rule: string;
  readonly backend: string;
  readonly engine: EngineName;
  readonly method: 'bptt' | 'online';
  readonly final: { readonly trainAccuracy: number | null; readonly testAccuracy: number | null; readonly loss: number; readonly testLoss: number };
  /** Sequence time steps per second of training: batch × T per update over the updates' wall time. */
  readonly stepsPerSecond: number;
  readonly updates: number;
  /** Largest tensor memory during training (bytes). */
  readonly peakMemoryBytes: number;
  /** Largest resident set of the process (bytes). */
  readonly peakRssBytes: number;
  readonly seconds: number;
  /** null: ran to the end; 'cancelled'; 'diverged' (NaN, see `message`). */
  readonly stopped: null | 'cancelled' | 'diverged';
  readonly message?: string;
  readonly checkpoint?: string;
  readonly info: RunInfo;
  readonly metrics: TrainMetrics;
  /** Spikes and traces of test sequence 0 with the final parameters (absent when the run stopped early). */
  readonly activity?: TrainActivity;
}

/** A run that cannot start or must stop; the message says what to change. */
export class TrainError extends EligoError {
  constructor(
    message: string,
    readonly estimateBytes?: number,
  ) {
    super('train.refused', message);
  }
}

/** Wraps the engines' user-facing errors into TrainError. */
function userError(e: unknown, where: string): never {
  if (e instanceof TrainError) throw e;
  if (
    e instanceof TaskError ||
    e instanceof RuleError ||
    e instanceof ModelError ||
    e instanceof ItemError ||
    e instanceof BuildError ||
    e instanceof CompileError ||
    e instanceof OnlineError ||
    e instanceof CheckpointError
  ) {
    throw new TrainError(`${where}${e.message}`);
  }
  throw e;
}

/** The batch of update `k`: a seeded shuffle of the training set per epoch, full batches only. */
export function batchIndices(seed: number, trainSize: number, batch: number, k: number): number[] {
  const B = Math.min(batch, trainSize);
  const perEpoch = Math.max(1, Math.floor(trainSize / B));
  const epoch = Math.floor(k / perEpoch);
  const pos = k % perEpoch;
  const rng = new Rng((seed * 0x9e3779b1 + epoch * 0x85ebca6b + 1) >>> 0);
  const perm = Int32Array.from({ length: trainSize }, (_, i) => i);
  for (let i = trainSize - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return Array.from(perm.subarray(pos * B, pos * B + B));
}

function cosine(a: readonly (T | undefined)[], b: readonly (T | undefined)[], names: readonly string[]): { all: number; byParam: Record<string, number> } {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const byParam: Record<string, number> = {};
  a.forEach((ga, i) => {
    const gb = b[i];
    if (!ga || !gb) return;
    const x = ga.dataSync();
    const y = gb.dataSync();
    let d = 0;
    let p = 0;
    let q = 0;
    for (let k = 0; k < x.length; k++) {
      d += x[k]! * y[k]!;
      p += x[k]! * x[k]!;
      q += y[k]! * y[k]!;
    }
    byParam[names[i]!] = p > 0 && q > 0 ? d / Math.sqrt(p * q) : 0;
    dot += d;
    na += p;
    nb += q;
  });
  return { all: na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0, byParam };
}

/** The first non-finite value among the loss and gradients, named; undefined when all are finite. */
function nonFinite(tf: Tf, loss: number, grads: readonly (T | undefined)[], names: readonly string[]): string | undefined {
  if (!Number.isFinite(loss)) return `the loss is ${loss}`;
  for (let i = 0; i < grads.length; i++) {
    const g = grads[i];
    if (!g) continue;
    const st = tf.tidy(() => tf.sum(tf.abs(g)));
    const s = st.dataSync()[0]!;
    st.dispose();
    if (!Number.isFinite(s)) {
      const d = g.dataSync();
      const k = d.findIndex((v) => !Number.isFinite(v));
      return `the gradient of '${names[i]}' is ${d[k]} (entry ${k} of ${d.length})`;
    }
  }
  return undefined;
}

/** Mean loss and accuracy over `count` samples of a split, in batches. */
async function evaluate(
  model: StepModel,
  params: readonly T[],
  task: Task,
  split: 'train' | 'test',
  count: number,
  batch: number,
  ctl: { shouldStop: () => boolean },
): Promise<{ loss: number; accuracy: number | null }> {
  const n = Math.min(count, split === 'train' ? task.trainSize : task.testSize);
  let loss = 0;
  let correct = 0;
  let scored = 0;
  const B = Math.max(1, Math.min(n, batch * 4));
  for (let i = 0; i < n; i += B) {
    const idx = Array.from({ length: Math.min(B, n - i) }, (_, k) => i + k);
    const r = await forwardBatch(model, params, task.batch(split, idx), task, ctl);
    loss += r.loss * idx.length;
    correct += r.correct;
    scored += r.scored;
  }
  return { loss: loss / n, accuracy: task.kind === 'classification' && scored > 0 ? correct / scored : null };
}

/** The compiled engine's forward pass over `count` samples of a split: mean loss and accuracy. */
async function evaluateCompiled(
  engine: CompiledEngine,
  task: Task,
  split: 'train' | 'test',
  count: number,
  batch: number,
  ctl: { shouldStop: () => boolean },
): Promise<{ loss: number; accuracy: number | null }> {
  const n = Math.min(count, split === 'train' ? task.trainSize : task.testSize);
  let loss = 0;
  let correct = 0;
  let scored = 0;
  const B = Math.max(1, Math.min(n, batch * 4));
  for (let i = 0; i < n; i += B) {
    const idx = Array.from({ length: Math.min(B, n - i) }, (_, k) => i + k);
    const b = task.batch(split, idx);
    const r = await engine.run('forward', b, ctl.shouldStop);
    if (r.cancelled) throw new Cancelled();
    const s = scoreCompiled(task, b, r.predictions);
    loss += r.loss * idx.length;
    correct += s.correct;
    scored += s.scored;
  }
  return { loss: loss / n, accuracy: task.kind === 'classification' && scored > 0 ? correct / scored : null };
}

/** Accuracy from the compiled engine's predictions [T, B, nOut] (the Scorer's rules). */
function scoreCompiled(task: Task, b: Batch, predictions: Float32Array): { correct: number; scored: number } {
  const scorer = new Scorer(task, b);
  const m = b.size * task.nOut;
  for (let t = 0; t < b.steps; t++) scorer.addValues(t, predictions.subarray(t * m, (t + 1) * m));
  return scorer.result();
}

/** Where a compiled run went non-finite, in words: the parameter and entry, the time step and sequence. */
function describeNonFinite(nf: NonFiniteAt, spec: ModelSpec): string {
  const where = `first at time step ${nf.step + 1} of sequence ${nf.sample + 1} of the batch${nf.phase === 'backward' ? ' (in the backward pass)' : ''}`;
  if (nf.param !== undefined) {
    const p = spec.params.find((q) => q.name === nf.param);
    return `the gradient of '${nf.param}' is ${nf.value} (entry ${nf.entry ?? 0} of ${p ? sizeOf(p.shape) : '?'}), ${where}`;
  }
  return `a value of the step is ${nf.value}, ${where}`;
}

/** Memory of a compiled run: parameters with gradients and optimizer state (tensors), and the engine's buffers on every thread. */
function compiledEstimate(spec: ModelSpec, engine: CompiledEngine, batch: number, steps: number, optimizerSlots: number): MemoryEstimate {
  const P = spec.params.reduce((a, p) => a + sizeOf(p.shape), 0);
  const parts = [
    {
      what: `parameters, gradients and optimizer state (${P.toLocaleString('en-US')} values)`,
      bytes: 4 * P * (3 + optimizerSlots) + 8 * P * engine.threadsUsed,
    },
    {
      what: `compiled step on ${engine.threadsUsed} thread${engine.threadsUsed === 1 ? '' : 's'}: per-sequence values${engine.sources.grad?.mode === 'online' ? ', eligibility traces' : ''}${engine.sources.grad?.mode === 'bptt' || engine.sources.exact ? `, BPTT: ${steps} steps of stored values per sequence in flight` : ''}, and the batch`,
      bytes: engine.bytes(batch, steps),
    },
  ];
  return { bytes: parts.reduce((a, p) => a + p.bytes, 0), parts };
}

function fmtSeconds(s: number): string {
  if (s < 1) return `${(s * 1000).toPrecision(2)} ms`;
  if (s < 120) return `${s.toPrecision(2)} s`;
  if (s < 7200) return `${(s / 60).toPrecision(2)} min`;
  return `${(s / 3600).toPrecision(2)} h`;
}

/** Runs a training job to the end, a cancel, or a divergence. */
export async function train(opts: TrainOptions): Promise<TrainReport> {
  const t0 = performance.now();
  const tf = await loadTf();
  const backend = backendInfo()!;
  const where = opts.file ? `${opts.file}: ` : '';

  // ---- model, rule, task
  const c = compile(opts.text);
  if (opts.paramValues) attachParamValues(c.checked.items.values(), opts.paramValues);
  let spec: ModelSpec;
  let method: Method;
  let ruleName: string;
  let task: Task;
  const notes: string[] = [];
  try {
    const item = findItem(c, opts.model, ['model']);
    const { scope, graph } = modelStep(c, item);
    spec = modelSpec(graph, scope);
    task = makeTask(
      opts.task,
      {
        model: spec.name,
        nIn: sizeOf(spec.input.shape),
        nOut: sizeOf(spec.target.shape),
        inputName: spec.input.name,
        targetName: spec.target.name,
        seed: opts.seed ?? 0,
        ...(opts.files ? { files: opts.files } : {}),
      },
      opts.taskSettings,
    );
    task = withLossWindow(task, scope.lossWindow, spec.name);
    // top(k) patterns are chosen on the task's data: its first training sequences at the initial parameters.
    const t0task = task;
    const resolved = resolveRule(c, spec, opts.rule, (ctx) => taskSamples(ctx, t0task, 4, initialParams(scope, opts.seed ?? 0), initialStates(scope)));
    method = resolved.method;
    ruleName = resolved.name;
    if (method.kind === 'bptt' && method.note) notes.push(method.note);
  } catch (e) {
    if (e instanceof ItemError) {
      // Say which errors: the first few diagnostics of the file, located.
      const errs = c.diagnostics
        .filter((d) => d.severity === 'error')
        .slice(0, 3)
        .map((d) => {
          const p = c.lines.positionAt(d.range.start);
          return `${opts.file ?? 'line'}:${p.line + 1}:${p.character + 1}: ${d.message}`;
        });
      if (errs.length) throw new TrainError(`${where}${e.message}:\n  ${errs.join('\n  ')}`);
    }
    userError(e, where);
  }
  for (const [name, init] of spec.scope.initialisers) {
    if (init.kind === 'data' && !init.values)
      throw new TrainError(
        `${where}param '${name}' takes its values from data("${init.file}", "${init.dataset}"), which were not loaded (eligo train reads them next to the .eligo file)`,
      );
  }
  if (task.kind === 'classification' && spec.prediction === undefined) {
    notes.push(`the loss of '${spec.name}' does not compare a prediction with '${spec.target.name}' directly, so no accuracy can be scored (loss only)`);
  }

  // ---- sizes and the memory check
  const batch = opts.batch ?? 32;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(batch) || batch < 1) throw new TrainError(`the batch size must be a positive integer, got ${batch}`);
  const B = Math.min(batch, task.trainSize);
  const perEpoch = Math.max(1, Math.floor(task.trainSize / B));
  const total = opts.steps ?? Math.max(1, Math.round((opts.epochs ?? 1) * perEpoch));
  if (!Number.isInteger(total) || total < 1) throw new TrainError(`the number of updates must be a positive integer, got ${total}`);
  const evalEvery = opts.evalEvery ?? Math.max(1, Math.ceil(total / 10));
  const optimizerOptions = {
    kind: opts.optimizer ?? 'adam',
    learningRate: opts.learningRate ?? (opts.optimizer === 'sgd' ? 0.05 : 0.005),
    ...(opts.schedule ? { schedule: opts.schedule } : {}),
    ...(opts.warmup ? { warmup: opts.warmup } : {}),
    ...(opts.clip !== undefined ? { clip: opts.clip } : {}),
    ...(opts.momentum !== undefined ? { momentum: opts.momentum } : {}),
  } as const;
  const wantAlignment = method.kind === 'online' && opts.alignment !== false;
  const engineName: EngineName = opts.engine ?? 'compiled';
  const stoppedEdges = method.kind === 'bptt' ? method.stopped : new Set<string>();
  // The TF.js path runs keep/diagonal/drop rules; the kinds of rules/kinds.ts run on the compiled engine.
  if (engineName === 'tfjs' && ((method.kind === 'online' && usesExtendedKinds(method.program)) || (method.kind === 'bptt' && method.truncate !== undefined))) {
    throw new TrainError(
      `${where}rule '${ruleName}' uses ${method.kind === 'bptt' ? 'truncate' : 'filter, random, local, top, truncate or quantize'}, which the TF.js engine does not run; train it with the compiled engine (--engine compiled, the default)`,
    );
  }
  let engine: CompiledEngine | undefined;
  let secondsPerUpdateEstimate: number | null = null;
  if (engineName === 'compiled') {
    try {
      engine = CompiledEngine.create(
        spec,
        {
          method:
            method.kind === 'online'
              ? { kind: 'online', program: method.program, blocks: method.blocks }
              : { kind: 'bptt', stopped: stoppedEdges, ...(method.truncate !== undefined ? { truncate: method.truncate } : {}) },
          exact: wantAlignment || stoppedEdges.size > 0 || (method.kind === 'bptt' && method.truncate !== undefined),
        },
        opts.threads !== undefined ? { threads: opts.threads } : {},
        { batch: B, steps: task.steps },
      );
    } catch (e) {
      throw new TrainError(`${where}the compiled engine cannot run model '${spec.name}': ${(e as Error).message}; run it with --engine tfjs`);
    }
    // Multiply-adds of one update: the rule's per-step count (the rules engine's cost) or BPTT's forward and backward passes.
    const perStep = method.kind === 'online' ? method.cost.multiplications + stepWork(spec) : 3 * stepWork(spec);
    secondsPerUpdateEstimate = (perStep * B * task.steps) / ((method.kind === 'online' ? COMPILED_RATE : COMPILED_BPTT_RATE) * engine.threadsUsed);
    notes.push(
      `compiled engine: ${engine.threadNote}; estimated ${fmtSeconds(secondsPerUpdateEstimate)} per update (${(perStep * B * task.steps).toExponential(2)} multiply-adds)`,
    );
  }
  if (method.kind === 'online') {
    // Dense (RTRL-like) programs cost n⁴-ish per step: refuse what would take far too long.
    const perStep = method.cost.multiplications * B;
    const limit = 4e8;
    if (perStep > limit) {
      void engine?.dispose();
      const time = secondsPerUpdateEstimate !== null ? ` (about ${fmtSeconds(secondsPerUpdateEstimate)} per update)` : '';
      throw new TrainError(
        `rule '${ruleName}' carries dense sensitivities (RTRL-like): ${perStep.toExponential(1)} multiplications per time step for a batch of ${B}${time} (${method.cost.multiplications.toExponential(1)} per sequence), more than this trainer runs (${limit.toExponential(0)}); make the model smaller (exact RTRL is practical up to n ≈ 30 neurons), use a smaller --batch, or approximate the recurrent block ('approximate d(…)/d(…) = diagonal')`,
      );
    }
  }
  const est = engine
    ? compiledEstimate(spec, engine, B, task.steps, Optimizer.slotsPerValue(optimizerOptions))
    : estimateBytes(spec, method, B, task.steps, Optimizer.slotsPerValue(optimizerOptions), wantAlignment);
  const avail = opts.maxBytes !== undefined ? { bytes: opts.maxBytes, why: 'the given limit' } : availableBytes(backend.name);
  if (est.bytes > avail.bytes * 0.8) {
    void engine?.dispose();
    throw new TrainError(
      `this run would need about ${fmtBytes(est.bytes)} (${est.parts.map((p) => `${p.what}: ${fmtBytes(p.bytes)}`).join('; ')}), ` +
        `more than 80 % of ${fmtBytes(avail.bytes)} (${avail.why}); use a smaller --batch or shorter sequences${method.kind === 'bptt' ? ', or an online rule (its memory does not grow with T)' : ''}`,
      est.bytes,
    );
  }

  // ---- state: parameters, optimizer, resume
  const names = spec.params.map((p) => p.name);
  const vars: Variable[] = initialVariables(tf, spec, seed);
  const optimizer = new Optimizer(tf, optimizerOptions, vars, names);
  const metrics: TrainMetrics = { updates: [], curve: [] };
  let startStep = 0;
  if (opts.checkpointDir && opts.resume !== false) {
    let ck;
    try {
      ck = loadCheckpoint(opts.checkpointDir);
    } catch (e) {
      userError(e, '');
    }
    if (ck) {
      const m = ck.meta;
      const mismatch =
        m.model !== spec.name
          ? `model '${m.model}'`
          : m.rule !== ruleName
            ? `rule '${m.rule}'`
            : m.task !== task.name
              ? `task ${m.task}`
              : m.seed !== seed
                ? `seed ${m.seed}`
                : m.batch !== B
                  ? `batch ${m.batch}`
                  : undefined;
      if (mismatch)
        throw new TrainError(
          `the checkpoint in ${opts.checkpointDir} is from another run (${mismatch}); resume it with the same settings, or choose another --checkpoint folder`,
        );
      for (const [i, p] of spec.params.entries()) {
        const saved = ck.params.get(p.name);
        if (!saved || saved.shape.length !== p.shape.length || saved.shape.some((d, k) => d !== p.shape[k])) {
          throw new TrainError(
            `the checkpoint in ${opts.checkpointDir} has ${saved ? `'${p.name}' of shape ${formatShape(saved.shape)}` : `no '${p.name}'`}, the model ${formatShape(p.shape)}: the model changed since; choose another --checkpoint folder`,
          );
        }
        vars[i]!.assign(tf.tensor(saved.data, [...p.shape], 'float32'));
      }
      optimizer.restore(m.step, ck.slots);
      startStep = m.step;
      const saved = m.metrics as TrainMetrics | undefined;
      if (saved && Array.isArray(saved.updates) && Array.isArray(saved.curve)) {
        metrics.updates.push(...saved.updates);
        metrics.curve.push(...saved.curve);
      }
      notes.push(`resumed from ${opts.checkpointDir} at update ${m.step}`);
    }
  }

  const info: RunInfo = {
    model: spec.name,
    rule: ruleName,
    method: method.kind,
    task: task.name,
    encoding: task.encoding,
    backend: backend.name,
    backendInfo: backend,
    engine: engineName,
    engineSummary: engine ? `compiled (generated float32 code, ${engine.threadNote}, ${engine.loopsNote})` : `tfjs (${backend.summary})`,
    secondsPerUpdateEstimate,
    batch: B,
    sequenceLength: task.steps,
    total,
    startStep,
    parameters: vars.reduce((a, v) => a + v.size, 0),
    memory: { ...est, available: avail.bytes, availableWhy: avail.why },
    notes,
  };
  opts.onProgress?.({ type: 'start', info });

  // ---- compiled models
  const stopped = stoppedEdges;
  const model = engine ? undefined : new StepModel(tf, spec, { stopped });
  const exact = engine ? undefined : wantAlignment || stopped.size ? new StepModel(tf, spec) : model;
  const exec = model && method.kind === 'online' ? new OnlineExecutor(model, method.program, method.blocks) : undefined;
  const trainedByRule = engine?.trained('grad');
  /** One update's gradient on a batch, by the engine in use. */
  const gradient = async (b: Batch, k: number): Promise<BatchResult & { diverged?: string }> => {
    if (!engine) return method.kind === 'online' ? onlineBatch(exec!, vars, b, task, { shouldStop }) : bpttBatch(model!, vars, b, task, { shouldStop });
    engine.setParams(vars.map((v) => v.dataSync() as Float32Array));
    const timer =
      opts.onProgress && secondsPerUpdateEstimate !== null && secondsPerUpdateEstimate > 2
        ? setInterval(
            () => opts.onProgress!({ type: 'work', step: k, total, done: engine.sequencesDone(), of: b.size, seconds: (performance.now() - t0) / 1000 }),
            500,
          )
        : undefined;
    let r;
    try {
      r = await engine.run('grad', b, shouldStop);
    } finally {
      if (timer) clearInterval(timer);
    }
    if (r.cancelled) throw new Cancelled();
    const s = scoreCompiled(task, b, r.predictions);
    const grads = r.grads!.map((g, i) => (trainedByRule![i] ? tf.tensor(Float32Array.from(g), [...spec.params[i]!.shape], 'float32') : undefined));
    return {
      loss: r.loss,
      correct: s.correct,
      scored: s.scored,
      grads,
      peakBytes: engine.bytes(b.size, b.steps) + tf.memory().numBytes,
      ...(r.nonFinite ? { diverged: describeNonFinite(r.nonFinite, spec) } : {}),
    };
  };
  const referenceGradient = async (b: Batch): Promise<(T | undefined)[]> => {
    if (!engine) return bpttBatch(exact!, vars, b, task, { shouldStop }).grads ?? [];
    const r = await engine.run('exact', b, shouldStop);
    if (r.cancelled) throw new Cancelled();
    return r.grads!.map((g, i) => tf.tensor(Float32Array.from(g), [...spec.params[i]!.shape], 'float32'));
  };
  const evaluateOn = (split: 'train' | 'test', count: number, ctl: { shouldStop: () => boolean }): Promise<{ loss: number; accuracy: number | null }> => {
    if (!engine) return evaluate(model!, vars, task, split, count, B, ctl);
    // The engine holds a copy of the parameters from the last gradient; the optimizer has changed them since.
    engine.setParams(vars.map((v) => v.dataSync() as Float32Array));
    return evaluateCompiled(engine, task, split, count, B, ctl);
  };

  let cancelled = false;
  const onAbort = (): void => {
    cancelled = true;
  };
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) cancelled = true;
  const shouldStop = (): boolean => cancelled || (opts.isCancelled?.() ?? false);

  let stoppedBy: TrainReport['stopped'] = null;
  let message: string | undefined;
  let checkpoint: string | undefined;
  let peak = 0;
  let peakRss = process.memoryUsage().rss;
  let trainSeconds = 0;
  let trainSteps = 0;
  let step = startStep;
  let savedStep: number | undefined = startStep > 0 ? startStep : undefined;
  const saveAt = (k: number): void => {
    if (!opts.checkpointDir) return;
    savedStep = k;
    checkpoint = saveCheckpoint(
      opts.checkpointDir,
      {
        model: spec.name,
        rule: ruleName,
        task: task.name,
        seed,
        batch: B,
        step: k,
        total,
        optimizer: optimizerOptions,
        metrics,
      },
      vars.map((v, i) => ({ name: names[i]!, shape: v.shape, data: v.dataSync() as Float32Array })),
      optimizer.state(),
    );
    opts.onProgress?.({ type: 'checkpoint', step: k, path: checkpoint });
  };
  const window: { loss: number; correct: number; scored: number }[] = [];

  try {
    while (step < total) {
      if (shouldStop()) throw new Cancelled();
      const b = task.batch('train', batchIndices(seed, task.trainSize, B, step));
      const tb = performance.now();
      let res: BatchResult & { diverged?: string };
      try {
        res = await gradient(b, step + 1);
      } catch (e) {
        userError(e, where);
      }
      const grads = res.grads ?? [];
      try {
        const bad = res.diverged ?? nonFinite(tf, res.loss, grads, names);
        if (bad) {
          stoppedBy = 'diverged';
          message = `training diverged at update ${step + 1} of ${total}: ${bad}. Nothing was applied from this update${opts.checkpointDir ? (savedStep !== undefined ? `; the last checkpoint (update ${savedStep}) is kept` : '; no checkpoint was written') : ''}. Lower the learning rate (now ${optimizerOptions.learningRate}) or clip the gradient norm (--clip 1)`;
          break;
        }
        const evalNow = (step + 1) % evalEvery === 0 || step + 1 === total;
        let align: { all: number; byParam: Record<string, number> } | undefined;
        if (evalNow && wantAlignment) {
          const ref = await referenceGradient(b);
          align = cosine(grads, ref, names);
          // (its memory is the measurement's, not the rule's: not counted in the peak)
          for (const g of ref) g?.dispose();
        }
        const u = optimizer.apply(grads, total);
        releaseTransposes();
        // The update is applied: from here on it counts (a cancel during the evaluation keeps it).
        step++;
        trainSeconds += (performance.now() - tb) / 1000;
        trainSteps += b.size * b.steps;
        peak = Math.max(peak, res.peakBytes);
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        const acc = res.scored > 0 ? res.correct / res.scored : null;
        metrics.updates.push({ step, loss: res.loss, accuracy: acc, learningRate: u.learningRate, gradNorm: u.gradNorm });
        window.push({ loss: res.loss, correct: res.correct, scored: res.scored });
        opts.onProgress?.({
          type: 'update',
          step,
          total,
          loss: res.loss,
          accuracy: acc,
          learningRate: u.learningRate,
          stepsPerSecond: trainSeconds > 0 ? trainSteps / trainSeconds : 0,
          seconds: (performance.now() - t0) / 1000,
        });
        if (evalNow) {
          const te = await evaluateOn('test', opts.evalSamples ?? 256, { shouldStop });
          const wl = window.reduce((a, w) => a + w.loss, 0) / window.length;
          const wc = window.reduce((a, w) => a + w.correct, 0);
          const ws = window.reduce((a, w) => a + w.scored, 0);
          window.length = 0;
          const point: CurvePoint = {
            step,
            trainLoss: wl,
            trainAccuracy: task.kind === 'classification' && ws > 0 ? wc / ws : null,
            testLoss: te.loss,
            testAccuracy: te.accuracy,
            alignment: align?.all ?? (method.kind === 'bptt' && !stopped.size ? 1 : null),
            alignmentByParam: align?.byParam ?? null,
            seconds: (performance.now() - t0) / 1000,
          };
          metrics.curve.push(point);
          opts.onProgress?.({ type: 'eval', point });
        }
        if (opts.checkpointDir && (step % (opts.checkpointEvery ?? evalEvery) === 0 || step === total)) saveAt(step);
      } finally {
        for (const g of grads) g?.dispose();
      }
    }
  } catch (e) {
    if (!(e instanceof Cancelled)) throw e;
    stoppedBy = 'cancelled';
    message = `cancelled after ${step} of ${total} updates${opts.checkpointDir && step > startStep ? `; checkpoint of update ${step} saved` : ''}`;
    // Keep what was done: a checkpoint of the last completed update.
    if (opts.checkpointDir && step > startStep) saveAt(step);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }

  // ---- final evaluation (skipped when cancelled: it must stop within a second)
  let final: TrainReport['final'];
  let activity: TrainActivity | undefined;
  const ctl = { shouldStop: () => false };
  try {
    if (stoppedBy === 'cancelled') {
      const last = metrics.curve[metrics.curve.length - 1];
      final = {
        trainAccuracy: last?.trainAccuracy ?? null,
        testAccuracy: last?.testAccuracy ?? null,
        loss: last?.trainLoss ?? NaN,
        testLoss: last?.testLoss ?? NaN,
      };
    } else {
      const n = opts.finalSamples ?? 2000;
      const tr = await evaluateOn('train', n, ctl);
      const te = await evaluateOn('test', n, ctl);
      final = { trainAccuracy: tr.accuracy, testAccuracy: te.accuracy, loss: tr.loss, testLoss: te.loss };
      if (stoppedBy === null) {
        // The compiled engine has no TF.js step model; one test sequence is replayed on a temporary one.
        const replay = model ?? new StepModel(tf, spec);
        try {
          activity = sequenceActivity(replay, vars, task);
        } finally {
          if (replay !== model) replay.dispose();
        }
      }
    }
  } finally {
    model?.dispose();
    if (exact !== model) exact?.dispose();
    exec?.dispose();
    await engine?.dispose();
    optimizer.dispose();
    for (const v of vars) v.dispose();
    releaseTransposes();
  }

  const report: TrainReport = {
    task: task.name,
    model: spec.name,
    rule: ruleName,
    backend: backend.name,
    engine: engineName,
    method: method.kind,
    final,
    stepsPerSecond: trainSeconds > 0 ? trainSteps / trainSeconds : 0,
    updates: step - startStep,
    peakMemoryBytes: peak,
    peakRssBytes: peakRss,
    seconds: (performance.now() - t0) / 1000,
    stopped: stoppedBy,
    ...(message ? { message } : {}),
    ...(checkpoint ? { checkpoint } : {}),
    info,
    metrics,
    ...(activity ? { activity } : {}),
  };
  if (opts.metricsPath) writeFileSync(opts.metricsPath, `${JSON.stringify(report, null, 1)}\n`);
  opts.onProgress?.({ type: 'done', report });
  return report;
}
