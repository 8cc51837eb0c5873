// `eligo train`: train a model of a file with one of its rules (or exact
// BPTT) on a task, with a live progress line on a terminal and a final table;
// `--json` prints one JSON object at the end.
//
// The run happens in a worker thread, so Ctrl-C is seen at once even while
// a BPTT batch runs synchronously (its forward loop polls a shared flag):
// the worker stops within a time step and keeps the last checkpoint.

import { paramValuesOf } from './interop.js';
import { writeTrainingHtml } from './trainHtml.js';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { CancelFlag, WorkerThread } from '../util/worker.js';
import { choiceOption, CliError, formatNumber, intOption, numberOption, readSource, str, table, type Command } from './common.js';
import { formatBytes as fmtBytes } from '../util/units.js';
import { resolveTaskSpec, TaskError, TASKS } from '../train/tasks/index.js';
import { train, TrainError, type TrainEvent, type TrainOptions, type TrainReport } from '../train/train.js';
import type { Schedule } from '../train/optim.js';

type WorkerOptions = Omit<TrainOptions, 'signal' | 'isCancelled' | 'onProgress'>;
type FromTrainWorker =
  | { readonly type: 'event'; readonly event: TrainEvent }
  | { readonly type: 'done'; readonly report: TrainReport }
  | { readonly type: 'error'; readonly message: string; readonly estimateBytes?: number; readonly user: boolean; readonly stack?: string };

/** Runs train() in a worker thread (util/worker.ts); setting `cancel` stops it between time steps. */
function trainInWorker(opts: WorkerOptions, cancel: CancelFlag, onProgress: (e: TrainEvent) => void): Promise<TrainReport> {
  const t = WorkerThread.start({ entry: __filename, workerData: { eligoTrain: { opts, cancel: cancel.buffer } }, cancel });
  return new Promise<TrainReport>((resolve, reject) => {
    t.worker.on('message', (m: FromTrainWorker) => {
      if (m.type === 'event') onProgress(m.event);
      else if (m.type === 'done') resolve(m.report);
      else if (m.user) reject(new TrainError(m.message, m.estimateBytes));
      else reject(Object.assign(new Error(m.message), { stack: m.stack }));
    });
    t.worker.on('error', reject);
    void t.exited.then((code) => reject(new Error(`the training worker exited (code ${code})`)));
  }).finally(() => {
    void t.terminate();
  });
}

if (!isMainThread && (workerData as { eligoTrain?: unknown } | null)?.eligoTrain) {
  const { opts, cancel } = (workerData as { eligoTrain: { opts: WorkerOptions; cancel: SharedArrayBuffer } }).eligoTrain;
  const flag = new CancelFlag(cancel);
  const post = (m: FromTrainWorker): void => parentPort!.postMessage(m);
  train({ ...opts, isCancelled: () => flag.isSet, onProgress: (event) => post({ type: 'event', event }) }).then(
    (report) => post({ type: 'done', report }),
    (e: unknown) =>
      post({
        type: 'error',
        message: (e as Error).message,
        user: e instanceof TrainError,
        ...(e instanceof TrainError && e.estimateBytes !== undefined ? { estimateBytes: e.estimateBytes } : {}),
        ...(e instanceof Error && e.stack ? { stack: e.stack } : {}),
      }),
  );
}

const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Proves `dir` can hold files by writing one: permissions say little (root ignores them), a write says all. */
function probeWritable(dir: string, option: string, what: string): void {
  const probe = join(dir, `.eligo-probe-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (e) {
    throw new CliError(`--${option} ${what}: cannot write in '${dir}' (${code(e)}); nothing was trained`);
  }
}

/** --checkpoint DIR: a folder that exists or can be made, and can be written, before any training. */
export function checkCheckpointDir(dir: string): void {
  try {
    if (!statSync(dir).isDirectory())
      throw new CliError(`--checkpoint '${dir}' is a file, not a folder; give a folder for the checkpoints (nothing was trained)`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e2) {
      throw new CliError(`--checkpoint '${dir}': cannot make the folder (${code(e2)}); nothing was trained`);
    }
  }
  probeWritable(dir, 'checkpoint', `'${dir}'`);
}

/** --metrics FILE: not a folder, in a folder that exists and can be written, before any training. */
export function checkMetricsPath(path: string): void {
  try {
    if (statSync(path).isDirectory()) throw new CliError(`--metrics '${path}' is a folder; give a file name such as metrics.json (nothing was trained)`);
  } catch (e) {
    if (e instanceof CliError) throw e;
  }
  const dir = dirname(resolve(path));
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw new CliError(
      `--metrics '${path}': its folder ${dir} ${code(e) === 'ENOENT' ? 'does not exist' : `cannot be used (${code(e)})`}; nothing was trained`,
    );
  }
  if (!st.isDirectory()) throw new CliError(`--metrics '${path}': ${dir} is not a folder; nothing was trained`);
  probeWritable(dir, 'metrics', `'${path}'`);
}

/** --task NAME[:key=value,…]: a task of the registry and settings it takes, checked before the worker starts. */
function checkTask(spec: string, extra: Record<string, string>): void {
  try {
    resolveTaskSpec(spec, extra);
  } catch (e) {
    if (e instanceof TaskError) throw new CliError(`--task: ${e.message}`);
    throw e;
  }
}

function pct(x: number | null): string {
  return x === null ? '—' : `${(100 * x).toFixed(1)} %`;
}

/** The summary object `--json` ends with (issue: task, model, rule, backend, final, stepsPerSecond, peakMemoryBytes, seconds). */
export function jsonSummary(r: TrainReport): Record<string, unknown> {
  return {
    task: r.task,
    model: r.model,
    rule: r.rule,
    backend: r.backend,
    engine: r.engine,
    final: { trainAccuracy: r.final.trainAccuracy, testAccuracy: r.final.testAccuracy, loss: r.final.loss },
    stepsPerSecond: r.stepsPerSecond,
    peakMemoryBytes: r.peakMemoryBytes,
    seconds: r.seconds,
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
    '--engine compiled (default: the step compiled to fused float32 code, split over --threads) or tfjs (the TensorFlow.js path, kept to compare).',
  ].join('\n'),
  usage:
    'eligo train FILE --task TASK [--model NAME] [--rule NAME] [--steps N | --epochs E] [--batch B] [--seed S] [--checkpoint DIR] [--metrics FILE] [--engine compiled|tfjs] [--threads N] [--html OUT.html] [--json]',
  options: {
    model: { type: 'string', value: 'NAME', defaultText: "the file's first model", example: 'lif', description: 'The model to train.' },
    rule: {
      type: 'string',
      value: 'NAME',
      defaultText: 'exact BPTT',
      example: 'eprop',
      description: "A 'rule NAME for MODEL' item of the file (bptt: exact BPTT).",
    },
    task: {
      type: 'string',
      value: 'TASK',
      required: true,
      example: 'evidence:T=200',
      description: `The task, NAME[:key=value,…]: ${TASKS.map((t) => t.name).join(', ')} ('--tasks' lists their settings).`,
    },
    steps: { type: 'string', value: 'N', defaultText: '--epochs passes over the training set', example: '200', description: 'Optimizer updates.' },
    epochs: { type: 'string', value: 'E', default: '1', example: '3', description: 'Passes over the training set (when --steps is not given).' },
    batch: { type: 'string', value: 'B', default: '32', example: '16', description: 'Sequences per update.' },
    seed: { type: 'string', value: 'S', default: '0', example: '7', description: 'Seed of the initialisation, the data and their order.' },
    json: { type: 'boolean', description: 'Print one JSON summary at the end instead of the progress and the table.' },
    checkpoint: {
      type: 'string',
      value: 'DIR',
      defaultText: 'no checkpoints',
      example: 'runs/lif-eprop',
      description: 'Save checkpoints in this folder and resume from the last one (checked before training).',
    },
    length: { type: 'string', value: 'T', defaultText: "the task's", example: '500', description: 'Sequence length: the same as the task setting T.' },
    data: { type: 'string', value: 'PATH', defaultText: 'none', example: 'train.csv', description: 'Data file of the idx (images) and csv (path) tasks.' },
    lr: { type: 'string', value: 'RATE', defaultText: '0.005 for adam, 0.05 for sgd', example: '0.001', description: 'Learning rate.' },
    optimizer: { type: 'string', value: 'NAME', default: 'adam', example: 'sgd', description: 'adam or sgd.' },
    schedule: {
      type: 'string',
      value: 'NAME',
      default: 'constant',
      example: 'cosine',
      description: 'Learning-rate schedule: constant, or cosine (to 5 % of the rate).',
    },
    clip: { type: 'string', value: 'NORM', defaultText: 'no clipping', example: '1', description: 'Clip the gradient norm of an update at NORM.' },
    'eval-every': {
      type: 'string',
      value: 'N',
      defaultText: 'about 10 evaluations per run',
      example: '50',
      description: 'Updates between evaluations on held-out data.',
    },
    metrics: {
      type: 'string',
      value: 'FILE',
      defaultText: 'not written',
      example: 'metrics.json',
      description: 'Write the curves and the report as JSON when the run ends (checked before training).',
    },
    fresh: { type: 'boolean', description: 'Start afresh even when --checkpoint holds a checkpoint.' },
    'no-alignment': { type: 'boolean', description: "Skip measuring an online rule's alignment with BPTT at each evaluation." },
    tasks: { type: 'boolean', description: 'List the tasks and their settings, and exit.' },
    engine: {
      type: 'string',
      value: 'NAME',
      default: 'compiled',
      example: 'tfjs',
      description: 'compiled (the step compiled to fused float32 code) or tfjs (the TensorFlow.js path, kept for one release to compare).',
    },
    threads: {
      type: 'string',
      value: 'N',
      defaultText: 'two when the batch holds enough work, else one',
      example: '1',
      description: 'Worker threads of the compiled engine (the batch is split over them).',
    },
    html: {
      type: 'string',
      value: 'FILE',
      defaultText: 'not written',
      example: 'run.html',
      description: 'Write a standalone page with the learning curve, a spike raster and neuron traces of one test sequence.',
    },
  },
  examples: [
    'eligo train examples/lif.eligo --model lif --rule eprop --task correlated --steps 200',
    'eligo train examples/alif.eligo --rule eprop --task store-recall:T=200 --checkpoint runs/alif --metrics alif.json',
    'eligo train --tasks',
  ],
  async run({ values, positionals }) {
    if (values.tasks) {
      process.stdout.write(
        `${table(
          ['task', 'settings', 'what'],
          TASKS.map((t) => [t.name, t.settings.join(', '), t.description]),
        )}\n`,
      );
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
    const engine = choiceOption(values.engine, 'engine', ['compiled', 'tfjs'] as const);
    const threads = values.threads !== undefined ? intOption(values.threads, 'threads', 1, 1, 64) : undefined;
    const optimizer = choiceOption(values.optimizer, 'optimizer', ['adam', 'sgd'] as const);
    const schedule: Schedule | undefined =
      choiceOption(values.schedule, 'schedule', ['constant', 'cosine'] as const) === 'cosine' ? { kind: 'cosine', floor: 0.05 } : undefined;
    const length = values.length !== undefined ? intOption(values.length, 'length', 0, 1, 1000000) : undefined;
    checkTask(task, length !== undefined ? { T: String(length) } : {});
    const model = str(values.model);
    const rule = str(values.rule);
    const json = values.json === true;
    const tty = process.stderr.isTTY === true && !json;
    // Every number and path is checked here, before the model is read or a thread started:
    // a typo must not cost a run, nor a run's results be lost at the end to an unwritable path.
    const steps = values.steps !== undefined ? intOption(values.steps, 'steps', 0, 1, 1e7) : undefined;
    const epochs = values.steps === undefined ? numberOption(values.epochs, 'epochs', 0.001, 1e5) : undefined;
    const batch = intOption(values.batch, 'batch', 32, 1, 65536);
    const seed = intOption(values.seed, 'seed', 0, 0, 2 ** 31);
    const learningRate = numberOption(values.lr, 'lr', 1e-9, 10);
    const clip = numberOption(values.clip, 'clip', 1e-9, 1e9);
    const evalEvery = values['eval-every'] !== undefined ? intOption(values['eval-every'], 'eval-every', 0, 1, 1e7) : undefined;
    const checkpointDir = str(values.checkpoint);
    const metricsPath = str(values.metrics);
    if (checkpointDir !== undefined) checkCheckpointDir(checkpointDir);
    if (metricsPath !== undefined) checkMetricsPath(metricsPath);
    const text = readSource(file);
    // `param … = data("…")` values are read here, next to the file, and passed to the worker.
    const paramValues = await paramValuesOf(file);

    const cancel = new CancelFlag();
    let interrupts = 0;
    const onSigint = (): void => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      process.stderr.write('\nstopping (Ctrl-C again to quit at once)…\n');
      cancel.set();
    };
    process.on('SIGINT', onSigint);
    let lastLine = 0;
    let lastEval = 0;
    const progress = (e: TrainEvent): void => {
      if (e.type === 'start') {
        const i = e.info;
        if (json) return;
        process.stderr.write(
          `${i.model} · ${i.rule} (${i.method === 'online' ? 'online rule' : i.rule === 'bptt' ? 'exact gradient' : 'reverse mode'}) · ${i.task} · engine ${i.engineSummary}\n`,
        );
        process.stderr.write(`data: ${i.encoding}\n`);
        process.stderr.write(
          `${formatNumber(i.parameters)} parameters · batch ${i.batch} × T ${i.sequenceLength} · ${formatNumber(i.total)} update${i.total === 1 ? '' : 's'} · memory estimate ${fmtBytes(i.memory.bytes)} of ${fmtBytes(i.memory.available)}\n`,
        );
        for (const n of i.notes) process.stderr.write(`note: ${n}\n`);
      } else if (e.type === 'update' && tty) {
        const now = Date.now();
        if (now - lastLine < 100 && e.step !== e.total) return;
        lastLine = now;
        process.stderr.write(
          `\r\x1b[2Kupdate ${e.step}/${e.total} · loss ${formatNumber(e.loss)}${e.accuracy !== null ? ` · acc ${pct(e.accuracy)}` : ''} · ${formatNumber(Math.round(e.stepsPerSecond))} steps/s · ${e.seconds.toFixed(1)} s`,
        );
      } else if (e.type === 'work' && !json) {
        const line = `update ${e.step}/${e.total}: ${e.done} of ${e.of} sequences · ${e.seconds.toFixed(0)} s`;
        process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      } else if (e.type === 'eval' && !json) {
        const p = e.point;
        // the train accuracy of a curve point is over the training batches since the previous evaluation (the weights moved meanwhile)
        const since = p.step - lastEval;
        lastEval = p.step;
        process.stderr.write(
          `${tty ? '\r\x1b[2K' : ''}eval @ ${p.step}: test loss ${formatNumber(p.testLoss)}${p.testAccuracy !== null ? ` · test acc ${pct(p.testAccuracy)}` : ''}${p.trainAccuracy !== null ? ` · train acc ${pct(p.trainAccuracy)} (batches of the last ${since} update${since === 1 ? '' : 's'})` : ''}${p.alignment !== null ? ` · alignment with BPTT ${p.alignment.toFixed(3)}` : ''}\n`,
        );
      }
    };
    let report: TrainReport;
    try {
      report = await trainInWorker(
        {
          text,
          file,
          ...(paramValues.size ? { paramValues } : {}),
          ...(model !== undefined ? { model } : {}),
          ...(rule !== undefined ? { rule } : {}),
          task,
          ...(length !== undefined ? { taskSettings: { T: String(length) } } : {}),
          ...(steps !== undefined ? { steps } : {}),
          ...(epochs !== undefined ? { epochs } : {}),
          batch,
          seed,
          ...(optimizer ? { optimizer } : {}),
          ...(learningRate !== undefined ? { learningRate } : {}),
          ...(schedule ? { schedule } : {}),
          ...(clip !== undefined ? { clip } : {}),
          ...(evalEvery !== undefined ? { evalEvery } : {}),
          ...(checkpointDir !== undefined ? { checkpointDir } : {}),
          ...(metricsPath !== undefined ? { metricsPath } : {}),
          resume: values.fresh !== true,
          ...(engine ? { engine } : {}),
          ...(threads !== undefined ? { threads } : {}),
          alignment: values['no-alignment'] !== true,
        },
        cancel,
        progress,
      );
    } catch (e) {
      if (e instanceof TrainError) throw new CliError(`eligo train: ${e.message}`, 1);
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
      if (tty) process.stderr.write('\r\x1b[2K');
    }
    const html = str(values.html);
    if (html !== undefined) {
      try {
        const path = await writeTrainingHtml(html, text, file, report);
        process.stderr.write(`wrote ${path}: the graph view with this run in its Training tab (learning curve, spike raster and traces of test sequence 0)\n`);
      } catch (e) {
        throw new CliError(`eligo train --html ${html}: ${(e as Error).message}`);
      }
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(jsonSummary(report))}\n`);
    } else {
      const f = report.final;
      const acc = report.info.memory;
      process.stdout.write(`${report.model} · ${report.rule} · ${report.task} · engine ${report.info.engineSummary}\n`);
      process.stdout.write(
        `${table(
          ['', 'train', 'test'],
          [
            ['accuracy', pct(f.trainAccuracy), pct(f.testAccuracy)],
            ['loss', f.loss, f.testLoss],
          ],
        )}\n`,
      );
      const last = report.metrics.curve[report.metrics.curve.length - 1];
      process.stdout.write(
        `${formatNumber(report.updates)} update${report.updates === 1 ? '' : 's'} · ${formatNumber(Math.round(report.stepsPerSecond))} steps/s · peak tensor memory ${fmtBytes(report.peakMemoryBytes)} (estimate ${fmtBytes(acc.bytes)}) · ${report.seconds.toFixed(1)} s${last?.alignment !== null && last?.alignment !== undefined && report.method === 'online' ? ` · alignment with BPTT ${last.alignment.toFixed(3)}` : ''}\n`,
      );
      if (report.checkpoint) process.stdout.write(`checkpoint: ${report.checkpoint}\n`);
      if (report.message) process.stderr.write(`${report.message}\n`);
    }
    return report.stopped === 'diverged' ? 1 : report.stopped === 'cancelled' ? 130 : 0;
  },
};
