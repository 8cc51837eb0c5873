// The training engine as a job of the language server's runner (jobs/): the
// `train` kind's parse and run, ready to be re-exported by jobs/train.ts.
// Progress goes to the job context (message, percentage, a chart point per
// evaluation, the result so far), cancellation comes from its shared flag,
// and a run the memory check refuses becomes JobRefused with the estimate.

import { fileURLToPath } from 'node:url';
import type { TrainParams, TrainResult, TrainRuleParams } from '../protocol.js';
import { JobRefused, type JobKind } from '../jobs/types.js';
import { train, TrainError, type TrainReport } from './train.js';

export interface TrainJobParams {
  readonly task: string;
  readonly steps: number;
  readonly epochs?: number;
  readonly learningRate: number;
  readonly batch: number;
  readonly seed: number;
  readonly rule?: string;
}

function num(v: unknown, name: string, min: number, max: number, integer: boolean): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new JobRefused(`'${name}' must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The result the panel shows, from a report (also the best-so-far while running). */
export function trainResult(r: TrainReport): TrainResult {
  const last = r.metrics.curve[r.metrics.curve.length - 1];
  return {
    task: r.task, steps: r.updates, ...(r.final.testAccuracy !== null ? { accuracy: r.final.testAccuracy } : {}),
    ...(last?.alignment !== null && last?.alignment !== undefined ? { alignment: last.alignment } : {}),
    loss: r.final.testLoss, model: r.model, rule: r.rule, backend: r.info.backendInfo.summary, method: r.method,
    trainAccuracy: r.final.trainAccuracy, stepsPerSecond: r.stepsPerSecond, peakMemoryBytes: r.peakMemoryBytes, seconds: r.seconds,
    stopped: r.stopped, ...(r.message ? { message: r.message } : {}), curve: r.metrics.curve, encoding: r.info.encoding,
    computeBackend: r.info.backendInfo.name === 'tensorflow' ? 'tfjs-node' : r.info.backendInfo.name, engine: r.engine,
    ...(r.activity ? { activity: r.activity } : {}),
  };
}

export const trainJobKind: JobKind<TrainJobParams, TrainResult> = {
  kind: 'train',
  title: 'Training',
  parse(input) {
    const p = (input.params ?? {}) as Partial<TrainParams & TrainRuleParams> & { batch?: unknown };
    if (typeof p !== 'object') throw new JobRefused('the training request has no parameters');
    const s = input.settings.train;
    let task = typeof p.task === 'string' && p.task ? p.task : s.task;
    if (p.dataUri !== undefined) {
      if (typeof p.dataUri !== 'string') throw new JobRefused("'dataUri' must be a file URI");
      const name = task.split(':')[0];
      const key = name === 'idx' ? 'images' : name === 'csv' ? 'path' : undefined;
      if (!key) throw new JobRefused(`a data file is for the idx and csv tasks, not '${name}'`);
      task = `${task}${task.includes(':') ? ',' : ':'}${key}=${fileURLToPath(p.dataUri)}`;
    }
    if (p.rule !== undefined && typeof p.rule !== 'string') throw new JobRefused("'rule' must be a rule name");
    const epochs = num(p.epochs, 'epochs', 0.001, 1e5, false);
    return {
      task,
      steps: num(p.steps, 'steps', 1, 1e7, true) ?? s.steps,
      ...(epochs !== undefined ? { epochs } : {}),
      learningRate: num(p.learningRate, 'learningRate', 1e-9, 10, false) ?? s.learningRate,
      batch: num(p.batch, 'batch', 1, 65536, true) ?? s.batchSize,
      seed: num(p.seed, 'seed', 0, 2 ** 31, true) ?? s.seed,
      ...(p.rule ? { rule: p.rule } : {}),
    };
  },
  async run(input, p, ctx) {
    if (!input.text) throw new JobRefused('no document text to train');
    let best: TrainResult | undefined;
    try {
      const report = await train({
        text: input.text, ...(input.uri ? { file: input.uri } : {}), ...(input.item ? { model: input.item } : {}), ...(p.rule ? { rule: p.rule } : {}),
        task: p.task, steps: p.steps, ...(p.epochs !== undefined ? { epochs: p.epochs } : {}), learningRate: p.learningRate, batch: p.batch, seed: p.seed,
        signal: ctx.signal, isCancelled: () => ctx.shouldStop,
        onProgress: (e) => {
          if (e.type === 'start') ctx.report({ message: `${e.info.model} · ${e.info.rule} · ${e.info.task} · ${e.info.backendInfo.summary}`, percentage: 0 });
          else if (e.type === 'update') ctx.report({ message: `update ${e.step}/${e.total} · loss ${e.loss.toPrecision(3)}`, percentage: (100 * e.step) / e.total });
          else if (e.type === 'eval') {
            const q = e.point;
            const y: Record<string, number> = { trainLoss: q.trainLoss, testLoss: q.testLoss };
            if (q.trainAccuracy !== null) y.trainAccuracy = q.trainAccuracy;
            if (q.testAccuracy !== null) y.testAccuracy = q.testAccuracy;
            if (q.alignment !== null) y.alignment = q.alignment;
            best = { task: p.task, steps: q.step, loss: q.testLoss, ...(q.testAccuracy !== null ? { accuracy: q.testAccuracy } : {}), ...(q.alignment !== null ? { alignment: q.alignment } : {}) };
            ctx.report({ point: { x: q.step, y }, best });
          }
        },
      });
      return trainResult(report);
    } catch (e) {
      if (e instanceof TrainError) throw new JobRefused(e.message, e.estimateBytes);
      throw e;
    }
  },
};
