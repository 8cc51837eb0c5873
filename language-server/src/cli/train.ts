// `eligo train`: train a model of a file with one of its rules (or exact
// BPTT) on a task, with a live progress line on a terminal and a final table;
// `--json` prints one JSON object at the end.
//
// The run happens in a worker thread, so Ctrl-C is seen at once even while
// a BPTT batch runs synchronously (its forward loop polls a shared flag):
// the worker stops within a time step and keeps the last checkpoint.

import { paramValuesOf } from './interop.js';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CliError, formatNumber, intOption, readSource, str, table, type Command } from './common.js';
import { fmtBytes } from '../train/memory.js';
import { TASKS } from '../train/tasks/index.js';
import { train, TrainError, type TrainEvent, type TrainOptions, type TrainReport } from '../train/train.js';
import type { OptimizerKind, Schedule } from '../train/optim.js';

type WorkerOptions = Omit<TrainOptions, 'signal' | 'isCancelled' | 'onProgress'>;
type FromTrainWorker =
  | { readonly type: 'event'; readonly event: TrainEvent }
  | { readonly type: 'done'; readonly report: TrainReport }
  | { readonly type: 'error'; readonly message: string; readonly estimateBytes?: number; readonly user: boolean; readonly stack?: string };

/** Runs train() in a worker thread; `cancel` (Int32 0 → 1) stops it between time steps. */
function trainInWorker(opts: WorkerOptions, cancel: SharedArrayBuffer, onProgress: (e: TrainEvent) => void): Promise<TrainReport> {
  // Under tsx (tests, bench) this file is TypeScript: the worker registers tsx's CommonJS hook first.
  const code = `${__filename.endsWith('.ts') ? "require('tsx/cjs');" : ''} require(${JSON.stringify(__filename)});`;
  const w = new Worker(code, { eval: true, workerData: { eligoTrain: { opts, cancel } } });
  return new Promise<TrainReport>((resolve, reject) => {
    w.on('message', (m: FromTrainWorker) => {
      if (m.type === 'event') onProgress(m.event);
      else if (m.type === 'done') resolve(m.report);
      else if (m.user) reject(new TrainError(m.message, m.estimateBytes));
      else reject(Object.assign(new Error(m.message), { stack: m.stack }));
    });
    w.on('error', reject);
    w.on('exit', (code) => reject(new Error(`the training worker exited (code ${code})`)));
  }).finally(() => { void w.terminate(); });
}

if (!isMainThread && (workerData as { eligoTrain?: unknown } | null)?.eligoTrain) {
  const { opts, cancel } = (workerData as { eligoTrain: { opts: WorkerOptions; cancel: SharedArrayBuffer } }).eligoTrain;
  const flag = new Int32Array(cancel);
  const post = (m: FromTrainWorker): void => parentPort!.postMessage(m);
  train({ ...opts, isCancelled: () => Atomics.load(flag, 0) === 1, onProgress: (event) => post({ type: 'event', event }) }).then(
    (report) => post({ type: 'done', report }),
    (e: unknown) => post({
      type: 'error', message: (e as Error).message, user: e instanceof TrainError,
      ...(e instanceof TrainError && e.estimateBytes !== undefined ? { estimateBytes: e.estimateBytes } : {}),
      ...(e instanceof Error && e.stack ? { stack: e.stack } : {}),
    }),
  );
}

function numberOption(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new CliError(`--${name} must be a number between ${min} and ${max}, got '${String(v)}'`);
  return n;
}

function pct(x: number | null): string {
  return x === null ? '—' : `${(100 * x).toFixed(1)} %`;
}

/** The summary object `--json` ends with (issue: task, model, rule, backend, final, stepsPerSecond, peakMemoryBytes, seconds). */
export function jsonSummary(r: TrainReport): Record<string, unknown> {
  return {
    task: r.task, model: r.model, rule: r.rule, backend: r.backend,
    final: { trainAccuracy: r.final.trainAccuracy, testAccuracy: r.final.testAccuracy, loss: r.final.loss },
    stepsPerSecond: r.stepsPerSecond, peakMemoryBytes: r.peakMemoryBytes, seconds: r.seconds,
    ...(r.stopped ? { stopped: r.stopped, message: r.message } : {}),
  };
}

export const trainCommand: Command = {
  name: 'train',
  summary: [
    "Train a model with a learning rule on a task. --rule names a 'rule … for MODEL' item of the file (an online",
    'rule runs its update program step by step, keeping only traces); without it the exact gradient (BPTT) is used.',
    `Tasks: ${TASKS.map((t) => t.name).join(', ')}; settings as --task NAME:key=value,… (e.g. evidence:T=200).`,
    'Data files: --task idx:images=PATH or --task csv:path=PATH (or --data PATH). --checkpoint DIR saves and resumes.',
  ].join('\n'),
  usage: 'eligo train FILE --model NAME --rule NAME --task TASK [--steps N] [--epochs E] [--batch B] [--seed S] [--json] [--checkpoint DIR]',
  options: {
    model: { type: 'string' }, rule: { type: 'string' }, task: { type: 'string' },
    steps: { type: 'string' }, epochs: { type: 'string' }, batch: { type: 'string' }, seed: { type: 'string' },
    json: { type: 'boolean' }, checkpoint: { type: 'string' },
    length: { type: 'string' }, data: { type: 'string' }, lr: { type: 'string' }, optimizer: { type: 'string' },
    schedule: { type: 'string' }, clip: { type: 'string' }, 'eval-every': { type: 'string' }, metrics: { type: 'string' },
    fresh: { type: 'boolean' }, 'no-alignment': { type: 'boolean' }, tasks: { type: 'boolean' },
  },
  async run({ values, positionals }) {
    if (values.tasks) {
      process.stdout.write(`${table(['task', 'settings', 'what'], TASKS.map((t) => [t.name, t.settings.join(', '), t.description]))}\n`);
      return 0;
    }
    const file = positionals[0];
    if (!file) throw new CliError("eligo train: give a FILE (see 'eligo train --help')");
    let task = str(values.task);
    if (!task) throw new CliError(`eligo train: give a --task (${TASKS.map((t) => t.name).join(', ')}; 'eligo train --tasks' lists their settings)`);
    const data = str(values.data);
    if (data) {
      const name = task.split(':')[0];
      const key = name === 'idx' ? 'images' : name === 'csv' ? 'path' : undefined;
      if (!key) throw new CliError(`eligo train: --data is for the idx and csv tasks, not '${name}'`);
      task = `${task}${task.includes(':') ? ',' : ':'}${key}=${data}`;
    }
    const optimizer = str(values.optimizer);
    if (optimizer !== undefined && optimizer !== 'adam' && optimizer !== 'sgd') throw new CliError(`--optimizer must be adam or sgd, got '${optimizer}'`);
    const scheduleName = str(values.schedule);
    let schedule: Schedule | undefined;
    if (scheduleName === 'cosine') schedule = { kind: 'cosine', floor: 0.05 };
    else if (scheduleName === 'constant' || scheduleName === undefined) schedule = undefined;
    else throw new CliError(`--schedule must be constant or cosine, got '${scheduleName}'`);
    const length = values.length !== undefined ? intOption(values.length, 'length', 0, 1, 1000000) : undefined;
    const model = str(values.model);
    const rule = str(values.rule);
    const json = values.json === true;
    const tty = process.stderr.isTTY === true && !json;
    const text = readSource(file);
    // `param … = data("…")` values are read here, next to the file, and passed to the worker.
    const paramValues = await paramValuesOf(file);

    const cancel = new SharedArrayBuffer(4);
    let interrupts = 0;
    const onSigint = (): void => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      process.stderr.write('\nstopping (Ctrl-C again to quit at once)…\n');
      Atomics.store(new Int32Array(cancel), 0, 1);
    };
    process.on('SIGINT', onSigint);
    let lastLine = 0;
    const progress = (e: TrainEvent): void => {
      if (e.type === 'start') {
        const i = e.info;
        if (json) return;
        process.stderr.write(`${i.model} · ${i.rule} (${i.method === 'online' ? 'online rule' : i.rule === 'bptt' ? 'exact gradient' : 'reverse mode'}) · ${i.task} · ${i.backendInfo.summary}\n`);
        process.stderr.write(`data: ${i.encoding}\n`);
        process.stderr.write(`${formatNumber(i.parameters)} parameters · batch ${i.batch} × T ${i.sequenceLength} · ${formatNumber(i.total)} update${i.total === 1 ? '' : 's'} · memory estimate ${fmtBytes(i.memory.bytes)} of ${fmtBytes(i.memory.available)}\n`);
        for (const n of i.notes) process.stderr.write(`note: ${n}\n`);
      } else if (e.type === 'update' && tty) {
        const now = Date.now();
        if (now - lastLine < 100 && e.step !== e.total) return;
        lastLine = now;
        process.stderr.write(`\r\x1b[2Kupdate ${e.step}/${e.total} · loss ${formatNumber(e.loss)}${e.accuracy !== null ? ` · acc ${pct(e.accuracy)}` : ''} · ${formatNumber(Math.round(e.stepsPerSecond))} steps/s · ${e.seconds.toFixed(1)} s`);
      } else if (e.type === 'eval' && !json) {
        const p = e.point;
        process.stderr.write(`${tty ? '\r\x1b[2K' : ''}eval @ ${p.step}: test loss ${formatNumber(p.testLoss)}${p.testAccuracy !== null ? ` · test acc ${pct(p.testAccuracy)}` : ''} · train acc ${pct(p.trainAccuracy)}${p.alignment !== null ? ` · alignment with BPTT ${p.alignment.toFixed(3)}` : ''}\n`);
      }
    };
    let report: TrainReport;
    try {
      report = await trainInWorker({
        text, file,
        ...(paramValues.size ? { paramValues } : {}),
        ...(model !== undefined ? { model } : {}),
        ...(rule !== undefined ? { rule } : {}),
        task,
        ...(length !== undefined ? { taskSettings: { T: String(length) } } : {}),
        ...(values.steps !== undefined ? { steps: intOption(values.steps, 'steps', 0, 1, 1e7) } : {}),
        ...(values.epochs !== undefined ? { epochs: numberOption(values.epochs, 'epochs', 0.001, 1e5)! } : {}),
        batch: intOption(values.batch, 'batch', 32, 1, 65536),
        seed: intOption(values.seed, 'seed', 0, 0, 2 ** 31),
        ...(optimizer ? { optimizer: optimizer as OptimizerKind } : {}),
        ...(values.lr !== undefined ? { learningRate: numberOption(values.lr, 'lr', 1e-9, 10)! } : {}),
        ...(schedule ? { schedule } : {}),
        ...(values.clip !== undefined ? { clip: numberOption(values.clip, 'clip', 1e-9, 1e9)! } : {}),
        ...(values['eval-every'] !== undefined ? { evalEvery: intOption(values['eval-every'], 'eval-every', 0, 1, 1e7) } : {}),
        ...(str(values.checkpoint) ? { checkpointDir: str(values.checkpoint)! } : {}),
        ...(str(values.metrics) ? { metricsPath: str(values.metrics)! } : {}),
        resume: values.fresh !== true,
        alignment: values['no-alignment'] !== true,
      }, cancel, progress);
    } catch (e) {
      if (e instanceof TrainError) throw new CliError(`eligo train: ${e.message}`, 1);
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
      if (tty) process.stderr.write('\r\x1b[2K');
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(jsonSummary(report))}\n`);
    } else {
      const f = report.final;
      const acc = report.info.memory;
      process.stdout.write(`${report.model} · ${report.rule} · ${report.task} · backend ${report.info.backendInfo.summary}\n`);
      process.stdout.write(`${table(['', 'train', 'test'], [
        ['accuracy', pct(f.trainAccuracy), pct(f.testAccuracy)],
        ['loss', f.loss, f.testLoss],
      ])}\n`);
      const last = report.metrics.curve[report.metrics.curve.length - 1];
      process.stdout.write(`${formatNumber(report.updates)} update${report.updates === 1 ? '' : 's'} · ${formatNumber(Math.round(report.stepsPerSecond))} steps/s · peak tensor memory ${fmtBytes(report.peakMemoryBytes)} (estimate ${fmtBytes(acc.bytes)}) · ${report.seconds.toFixed(1)} s${last?.alignment !== null && last?.alignment !== undefined && report.method === 'online' ? ` · alignment with BPTT ${last.alignment.toFixed(3)}` : ''}\n`);
      if (report.checkpoint) process.stdout.write(`checkpoint: ${report.checkpoint}\n`);
      if (report.message) process.stderr.write(`${report.message}\n`);
    }
    return report.stopped === 'diverged' ? 1 : report.stopped === 'cancelled' ? 130 : 0;
  },
};
