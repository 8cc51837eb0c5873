// Training one candidate rule on a task: a pure function of a serialisable
// payload (the model file's text with the rule appended, the task, the
// number of updates, the seeds), so that a job queue can run it on another
// machine (issue 17). It goes through the trainer's public `train()` — the
// engine that trains is the trainer's choice (TF.js today, the compiled
// step when it lands), not this module's.
//
// `checkpointDir` is a cache only: successive halving trains the survivors
// of a rung further, and resuming from the rung's checkpoint gives the same
// parameters as training from the start (the batches are a function of the
// seed and the update index, train.ts batchIndices; the optimizer state is
// saved with the weights). A payload without it, or on a machine without the
// folder, trains from the start to the same result.

import type { FileAccessPolicy } from '../train/tasks/files.js';
import { train, TrainError, type TrainReport } from '../train/train.js';
import { EligoError } from '../util/errors.js';

export interface CandidatePayload {
  readonly version: 1;
  /** The .eligo text: the model and the candidate's `rule` item. */
  readonly text: string;
  readonly model: string;
  /** The rule item's name; 'bptt' with no such item trains with the exact gradient. */
  readonly rule: string;
  /** `--task` syntax (train/tasks). */
  readonly task: string;
  /** Optimizer updates in total (a resumed run continues to this count). */
  readonly updates: number;
  readonly batch: number;
  readonly seed: number;
  readonly learningRate: number;
  /** Samples of the final evaluation on each split. */
  readonly evalSamples: number;
  /** A folder to resume from and save to (a cache; see the header). */
  readonly checkpointDir?: string;
}

export interface CandidateResult {
  /** Test and train accuracy (null for a regression task or a model whose loss scores none), loss on the test split. */
  readonly test: number | null;
  readonly train: number | null;
  readonly testLoss: number;
  readonly task: string;
  readonly updates: number;
  readonly seconds: number;
  /** Sequence steps per second of training (the trainer's figure). */
  readonly stepsPerSecond: number;
  readonly engine: string;
  readonly stopped: TrainReport['stopped'];
  readonly message?: string;
}

export class PayloadError extends EligoError {
  constructor(message: string) {
    super('discovery.payload', message);
  }
}

/** A payload read from JSON (a queue, a file): every field checked, named when wrong. */
export function parsePayload(value: unknown): CandidatePayload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PayloadError('a candidate payload is a JSON object');
  const o = value as Record<string, unknown>;
  const str = (k: string): string => {
    if (typeof o[k] !== 'string' || (o[k] as string).length === 0) throw new PayloadError(`payload.${k} must be a non-empty string`);
    return o[k] as string;
  };
  const int = (k: string, min: number): number => {
    const v = o[k];
    if (!Number.isInteger(v) || (v as number) < min) throw new PayloadError(`payload.${k} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  if (o.version !== 1) throw new PayloadError(`payload.version must be 1, got ${JSON.stringify(o.version)}`);
  const lr = o.learningRate;
  if (typeof lr !== 'number' || !(lr > 0) || !Number.isFinite(lr)) throw new PayloadError(`payload.learningRate must be a positive number, got ${JSON.stringify(lr)}`);
  if (o.checkpointDir !== undefined && typeof o.checkpointDir !== 'string') throw new PayloadError('payload.checkpointDir must be a string when given');
  return {
    version: 1, text: str('text'), model: str('model'), rule: str('rule'), task: str('task'), updates: int('updates', 1), batch: int('batch', 1),
    seed: int('seed', 0), learningRate: lr, evalSamples: int('evalSamples', 1), ...(typeof o.checkpointDir === 'string' ? { checkpointDir: o.checkpointDir } : {}),
  };
}

/** Trains the payload's rule; a run the trainer refuses (too big, diverged) is a TrainError the caller records. */
export async function trainCandidate(
  p: CandidatePayload,
  ctl: { readonly isCancelled?: () => boolean; readonly files?: FileAccessPolicy; readonly paramValues?: ReadonlyMap<string, Float64Array> } = {},
): Promise<CandidateResult> {
  const r = await train({
    text: p.text, model: p.model, rule: p.rule, task: p.task, steps: p.updates, batch: p.batch, seed: p.seed, learningRate: p.learningRate,
    // One evaluation, at the end (the final one below is the figure); no alignment (measured by find-rule itself).
    evalEvery: p.updates, evalSamples: Math.min(32, p.evalSamples), finalSamples: p.evalSamples, alignment: false,
    ...(p.checkpointDir ? { checkpointDir: p.checkpointDir, checkpointEvery: p.updates } : {}),
    ...(ctl.isCancelled ? { isCancelled: ctl.isCancelled } : {}),
    // The local caller's data-file policy (the server's workspace trust); a queued job reads what its worker may.
    ...(ctl.files ? { files: ctl.files } : {}),
    // The model's data(…) params as the caller loaded them (the text is compiled again here).
    ...(ctl.paramValues?.size ? { paramValues: ctl.paramValues } : {}),
  });
  return {
    test: r.final.testAccuracy, train: r.final.trainAccuracy, testLoss: r.final.testLoss, task: r.task, updates: r.updates + r.info.startStep,
    seconds: r.seconds, stepsPerSecond: r.stepsPerSecond, engine: r.backend, stopped: r.stopped, ...(r.message ? { message: r.message } : {}),
  };
}

export { TrainError };
