// The training engine as a job of the language server's runner (jobs/): the
// `train` kind's parse and run, ready to be re-exported by jobs/train.ts.
// Progress goes to the job context (message, percentage, a chart point per
// evaluation, the result so far), cancellation comes from its shared flag,
// and a run the memory check refuses becomes JobRefused with the estimate.

import { fileURLToPath } from 'node:url';
import { compile, findItem, ItemError } from '../compile.js';
import { TrainJobParamsSchema, validate, type TrainResult, type TrainRun } from '../protocol.js';
import type { FileAccessPolicy } from './tasks/files.js';
import { JobRefused, type JobKind } from '../jobs/types.js';
import { jobParamValues } from '../jobs/paramData.js';
import { train, TrainError, type TrainReport } from './train.js';

/**
 * The run's parameters after defaults: what it trained with, echoed in the result as `run` (the protocol's
 * type), and the file the user picked in a dialog (`dataUri`) for the idx and csv tasks, which is not echoed.
 */
export type TrainRunParams = TrainRun & { readonly dataPath?: string };

/** The idx or csv task with the picked file as its data (`images=` or `path=`). */
function withDataFile(task: string, path: string): string {
  const name = task.split(':')[0]!;
  const key = name === 'idx' ? 'images' : name === 'csv' ? 'path' : undefined;
  if (!key) throw new JobRefused(`a data file is for the idx and csv tasks, not '${name}'`);
  if (path.includes(',')) throw new JobRefused(`the data file's path holds a ',', which task settings cannot: rename '${path}'`);
  return `${task}${task.includes(':') ? ',' : ':'}${key}=${path}`;
}

/**
 * Refuses a rule the document does not have for the model, naming the ones it
 * has, before TensorFlow.js is loaded (`bptt` without such a rule is the exact gradient).
 */
function checkRule(text: string, model: string | undefined, rule: string): void {
  const c = compile(text);
  let m: string;
  try {
    m = findItem(c, model, ['model']).name;
  } catch (e) {
    if (e instanceof ItemError) throw new JobRefused(e.message);
    throw e;
  }
  const rules = c.items.filter((i) => i.kind === 'rule');
  const forModel = rules.filter((r) => r.scope?.kind === 'rule' && r.scope.item.model.name === m).map((r) => r.name);
  const named = rules.find((r) => r.name === rule);
  if (!named && rule === 'bptt') return;
  if (!named) {
    throw new JobRefused(
      `no rule named '${rule}' for model '${m}' in the file (it has ${forModel.length ? forModel.map((n) => `'${n}'`).join(', ') : 'none'}; without a rule the exact gradient, BPTT, is used)`,
    );
  }
  if (!forModel.includes(rule)) throw new JobRefused(`rule '${rule}' is not a rule for model '${m}' (rules for '${m}': ${forModel.join(', ') || 'none'})`);
}

/** The result the panel shows, from a report (also the best-so-far while running). */
export function trainResult(r: TrainReport, run?: TrainRun): TrainResult {
  const last = r.metrics.curve[r.metrics.curve.length - 1];
  return {
    task: r.task,
    steps: r.updates,
    ...(r.final.testAccuracy !== null ? { accuracy: r.final.testAccuracy } : {}),
    ...(last?.alignment !== null && last?.alignment !== undefined ? { alignment: last.alignment } : {}),
    loss: r.final.testLoss,
    model: r.model,
    rule: r.rule,
    backend: r.info.backendInfo.summary,
    method: r.method,
    trainAccuracy: r.final.trainAccuracy,
    stepsPerSecond: r.stepsPerSecond,
    peakMemoryBytes: r.peakMemoryBytes,
    seconds: r.seconds,
    stopped: r.stopped,
    ...(r.message ? { message: r.message } : {}),
    curve: r.metrics.curve,
    encoding: r.info.encoding,
    computeBackend: r.info.backendInfo.name === 'tensorflow' ? 'tfjs-node' : r.info.backendInfo.name,
    engine: r.engine,
    ...(r.activity ? { activity: r.activity } : {}),
    ...(run ? { run } : {}),
  };
}

export const trainJobKind: JobKind<TrainRunParams, TrainResult> = {
  kind: 'train',
  title: 'Training',
  parse(input) {
    const r = validate(TrainJobParamsSchema, input.params ?? {});
    if (!r.ok) throw new JobRefused(`invalid training parameters: ${r.message}`);
    const p = r.value;
    const s = input.settings.train;
    let dataPath: string | undefined;
    if (p.dataUri !== undefined) {
      if (!p.dataUri.startsWith('file:')) throw new JobRefused(`'dataUri' must be a file URI, got '${p.dataUri.slice(0, 80)}'`);
      try {
        dataPath = fileURLToPath(p.dataUri);
      } catch (e) {
        throw new JobRefused(`'dataUri' is not a file URI: ${(e as Error).message}`);
      }
    }
    if (p.rule !== undefined && input.text !== undefined) checkRule(input.text, input.item, p.rule);
    // Updates: the request's, else its epochs, else the setting's.
    const steps = p.steps ?? (p.epochs === undefined ? s.steps : undefined);
    return {
      task: p.task ?? s.task,
      learningRate: p.learningRate ?? s.learningRate,
      batchSize: p.batchSize ?? s.batchSize,
      seed: p.seed ?? s.seed,
      ...(steps !== undefined ? { steps } : {}),
      ...(p.epochs !== undefined ? { epochs: p.epochs } : {}),
      ...(p.rule !== undefined ? { rule: p.rule } : {}),
      ...(dataPath !== undefined ? { dataPath } : {}),
    };
  },
  async run(input, p, ctx) {
    if (!input.text) throw new JobRefused('no document text to train');
    let best: TrainResult | undefined;
    // A job reads only what its policy allows; without one (a client that said nothing), nothing.
    const policy = input.files ?? { trusted: false };
    const files: FileAccessPolicy = p.dataPath !== undefined ? { ...policy, picked: [...(policy.picked ?? []), p.dataPath] } : policy;
    const task = p.dataPath !== undefined ? withDataFile(p.task, p.dataPath) : p.task;
    // The model's data(…) params, read here under the workspace's trust and folders (refused, saying why, otherwise).
    const paramValues = await jobParamValues(input.text, input.uri, input.item, policy);
    const run: TrainRun = {
      task: p.task,
      learningRate: p.learningRate,
      batchSize: p.batchSize,
      seed: p.seed,
      ...(p.steps !== undefined ? { steps: p.steps } : {}),
      ...(p.epochs !== undefined ? { epochs: p.epochs } : {}),
      ...(p.rule !== undefined ? { rule: p.rule } : {}),
    };
    try {
      const report = await train({
        text: input.text,
        ...(input.uri ? { file: input.uri } : {}),
        ...(input.item ? { model: input.item } : {}),
        ...(p.rule ? { rule: p.rule } : {}),
        task,
        ...(p.steps !== undefined ? { steps: p.steps } : {}),
        ...(p.epochs !== undefined ? { epochs: p.epochs } : {}),
        learningRate: p.learningRate,
        batch: p.batchSize,
        seed: p.seed,
        files,
        ...(paramValues.size ? { paramValues } : {}),
        signal: ctx.signal,
        isCancelled: () => ctx.shouldStop,
        onProgress: (e) => {
          if (e.type === 'start') ctx.report({ message: `${e.info.model} · ${e.info.rule} · ${e.info.task} · ${e.info.backendInfo.summary}`, percentage: 0 });
          else if (e.type === 'update')
            ctx.report({ message: `update ${e.step}/${e.total} · loss ${e.loss.toPrecision(3)}`, percentage: (100 * e.step) / e.total });
          else if (e.type === 'eval') {
            const q = e.point;
            const y: Record<string, number> = { trainLoss: q.trainLoss, testLoss: q.testLoss };
            if (q.trainAccuracy !== null) y.trainAccuracy = q.trainAccuracy;
            if (q.testAccuracy !== null) y.testAccuracy = q.testAccuracy;
            if (q.alignment !== null) y.alignment = q.alignment;
            best = {
              task: p.task,
              steps: q.step,
              run,
              loss: q.testLoss,
              ...(q.testAccuracy !== null ? { accuracy: q.testAccuracy } : {}),
              ...(q.alignment !== null ? { alignment: q.alignment } : {}),
            };
            ctx.report({ point: { x: q.step, y }, best });
          }
        },
      });
      return trainResult(report, run);
    } catch (e) {
      if (e instanceof TrainError) throw new JobRefused(e.message, e.estimateBytes);
      throw e;
    }
  },
};
