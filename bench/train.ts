// Training benchmark: e-prop against exact BPTT (and RTRL where it is
// practical, n = 16) on the LIF and ALIF examples at n = 100, on
// store-recall, evidence accumulation and row-by-row sequential
// Fashion-MNIST. Two parts:
//
//   accuracy  T = 100: train, then the final test accuracy, wall and CPU
//             time, throughput and peak tensor memory of each run;
//   gradients at the initial parameters, one batch of store-recall at
//             T = 20, 50, 100: the norms of e-prop's update and of the BPTT
//             gradient for W_in and W_rec, and their cosine;
//   scaling   T = 100 and T = 1000, a few updates each: time and peak tensor
//             memory per update (an online rule keeps only its traces, so its
//             memory is flat in T; BPTT keeps every step, so its memory grows
//             linearly), plus the test accuracy after those few updates.
//
// `npm run bench -- train` runs a short version (two updates per run, one for
// the scaling part; a few minutes);
// ELIGO_BENCH_FULL=1 runs the full one (the numbers in docs/results.md).
// ELIGO_BENCH_JOBS=k runs k configurations at a time in worker threads.
// Throughput is reported per wall second and per CPU second of the run's
// thread (the CPU figure is what the run costs; the wall figure depends on
// what else the machine runs — the load average is recorded).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { resizeModel } from '../language-server/src/rules/variants.js';
import { formatBytes, table } from '../language-server/src/cli/common.js';
import { compile, findItem, modelStep } from '../language-server/src/compile.js';
import { backendInfo, loadTf } from '../language-server/src/train/backend.js';
import { initialVariables, modelSpec, StepModel } from '../language-server/src/train/model.js';
import { OnlineExecutor } from '../language-server/src/train/online.js';
import { resolveRule } from '../language-server/src/train/rule.js';
import { bpttBatch, onlineBatch } from '../language-server/src/train/sequence.js';
import { makeTask } from '../language-server/src/train/tasks/index.js';
import { sizeOf } from '../language-server/src/graph/types.js';
import { train } from '../language-server/src/train/train.js';
import { writeResult } from './util.js';
import { peerBenchmark, type PeerConfig, type PeerResult, type PeerRow } from './peer.js';

export interface Config {
  readonly part: 'accuracy' | 'scaling';
  readonly model: 'lif' | 'alif';
  readonly n: number;
  /** 'eprop', 'bptt' or 'rtrl'. */
  readonly rule: string;
  readonly task: string;
  readonly T: number;
  readonly steps: number;
  readonly batch: number;
  readonly learningRate: number;
}

export interface Row extends Config {
  readonly taskName: string;
  readonly testAccuracy: number | null;
  readonly trainAccuracy: number | null;
  readonly loss: number;
  readonly chance: number | null;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  /** Training time steps (batch × T per update) per wall second. */
  readonly stepsPerSecond: number;
  /** … per CPU second of the run's thread. */
  readonly stepsPerCpuSecond: number;
  readonly peakMemoryBytes: number;
  readonly alignment: number | null;
  /** Per parameter, at the last evaluation. */
  readonly alignmentByParam: Readonly<Record<string, number>> | null;
  /** Overall alignment at every evaluation. */
  readonly alignmentCurve: readonly { readonly step: number; readonly alignment: number | null }[];
  readonly backend: string;
  /** 1-minute load average of the machine during the run (start and end, averaged). */
  readonly loadAverage: number;
  readonly error?: string;
}

const RULE_TEXT: Record<string, Record<string, string>> = {
  lif: { rtrl: '\nrule rtrl for lif {\n  schedule online\n}\n' },
  alif: { rtrl: '\nrule rtrl for alif {\n  schedule online\n}\n' },
};

function modelText(c: Config): string {
  const file = join(__dirname, '..', 'examples', `${c.model}.eligo`);
  const dims: Record<string, number> = { n: c.n };
  if (c.task.startsWith('fashion')) Object.assign(dims, { n_in: 28, n_out: 10 });
  return resizeModel(readFileSync(file, 'utf8'), c.model, dims) + (RULE_TEXT[c.model]![c.rule] ?? '');
}

/**
 * CPU seconds of the calling thread (a configuration runs in its own worker
 * thread, so process.cpuUsage() would count the others): Linux's
 * /proc/thread-self/stat utime + stime, in clock ticks of 1/100 s; the
 * process's usage where that file does not exist.
 */
export function threadCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3 (state): utime is field 14, stime 15.
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
}

export async function runConfig(c: Config): Promise<Row> {
  const cpu0 = threadCpuSeconds();
  const load0 = loadavg()[0]!;
  const t0 = performance.now();
  try {
    const r = await train({
      text: modelText(c),
      model: c.model,
      ...(c.rule === 'bptt' ? {} : { rule: c.rule }),
      task: c.task,
      taskSettings: { T: String(c.T) },
      steps: c.steps,
      batch: c.batch,
      seed: 1,
      learningRate: c.learningRate,
      evalEvery: c.part === 'accuracy' ? Math.max(1, Math.ceil(c.steps / 4)) : c.steps,
      evalSamples: 128,
      finalSamples: c.part === 'accuracy' ? 1000 : 256,
      alignment: c.part === 'accuracy' && c.rule !== 'bptt',
    });
    const cpuSeconds = threadCpuSeconds() - cpu0;
    const last = r.metrics.curve[r.metrics.curve.length - 1];
    const trainSteps = r.updates * r.info.batch * r.info.sequenceLength;
    return {
      ...c,
      taskName: r.task,
      testAccuracy: r.final.testAccuracy,
      trainAccuracy: r.final.trainAccuracy,
      loss: r.final.testLoss,
      chance: r.task.startsWith('fashion') ? 0.1 : 0.5,
      wallSeconds: r.seconds,
      cpuSeconds,
      stepsPerSecond: r.stepsPerSecond,
      // CPU seconds of the training updates are not separated from evaluation: this is a lower bound.
      stepsPerCpuSecond: trainSteps / cpuSeconds,
      peakMemoryBytes: r.peakMemoryBytes,
      alignment: last?.alignment ?? null,
      alignmentByParam: last?.alignmentByParam ?? null,
      alignmentCurve: r.metrics.curve.map((q) => ({ step: q.step, alignment: q.alignment })),
      backend: backendInfo()?.summary ?? r.backend,
      loadAverage: (load0 + loadavg()[0]!) / 2,
    };
  } catch (e) {
    return {
      ...c,
      taskName: c.task,
      testAccuracy: null,
      trainAccuracy: null,
      loss: NaN,
      chance: null,
      wallSeconds: (performance.now() - t0) / 1000,
      cpuSeconds: 0,
      stepsPerSecond: 0,
      stepsPerCpuSecond: 0,
      peakMemoryBytes: 0,
      alignment: null,
      alignmentByParam: null,
      alignmentCurve: [],
      backend: backendInfo()?.summary ?? '',
      loadAverage: loadavg()[0]!,
      error: (e as Error).message,
    };
  }
}

export interface GradientRow {
  readonly model: 'lif' | 'alif';
  readonly n: number;
  readonly T: number;
  readonly param: string;
  readonly bpttNorm: number;
  readonly epropNorm: number;
  readonly cosine: number;
}

/** e-prop's update against the BPTT gradient at the initial parameters (seed 1), one batch of 32. */
export async function gradientRows(): Promise<GradientRow[]> {
  const tf = await loadTf();
  const rows: GradientRow[] = [];
  for (const model of ['lif', 'alif'] as const) {
    for (const T of [20, 50, 100]) {
      const text = resizeModel(readFileSync(join(__dirname, '..', 'examples', `${model}.eligo`), 'utf8'), model, { n: 100 });
      const c = compile(text);
      const { scope, graph } = modelStep(c, findItem(c, model, ['model']));
      const spec = modelSpec(graph, scope);
      const rule = resolveRule(c, spec, 'eprop');
      if (rule.method.kind !== 'online') throw new Error('e-prop is an online rule');
      const task = makeTask(`store-recall:T=${T}`, {
        model,
        nIn: sizeOf(spec.input.shape),
        nOut: sizeOf(spec.target.shape),
        inputName: spec.input.name,
        targetName: spec.target.name,
        seed: 1,
      });
      const vars = initialVariables(tf, spec, 1);
      const m = new StepModel(tf, spec);
      const batch = task.batch(
        'train',
        Array.from({ length: 32 }, (_, i) => i),
      );
      const bptt = bpttBatch(m, vars, batch, task);
      const eprop = await onlineBatch(new OnlineExecutor(m, rule.method.program, rule.method.blocks), vars, batch, task);
      spec.params.forEach((p, i) => {
        if (p.name !== 'W_in' && p.name !== 'W_rec') return;
        const a = bptt.grads![i]!.dataSync();
        const e = eprop.grads![i]!.dataSync();
        let na = 0;
        let ne = 0;
        let d = 0;
        for (let k = 0; k < a.length; k++) {
          na += a[k]! * a[k]!;
          ne += e[k]! * e[k]!;
          d += a[k]! * e[k]!;
        }
        rows.push({ model, n: 100, T, param: p.name, bpttNorm: Math.sqrt(na), epropNorm: Math.sqrt(ne), cosine: d / Math.sqrt(na * ne) });
      });
      for (const g of [...bptt.grads!, ...eprop.grads!]) g?.dispose();
      for (const v of vars) v.dispose();
      m.dispose();
    }
  }
  return rows;
}

export function configs(full: boolean): Config[] {
  const out: Config[] = [];
  const tasks = ['store-recall', 'evidence', `fashion-rows:train=${full ? 3000 : 256},test=${full ? 1000 : 128}`];
  const acc = full ? 80 : 2;
  for (const model of ['lif', 'alif'] as const) {
    for (const task of tasks) {
      for (const rule of ['eprop', 'bptt']) out.push({ part: 'accuracy', model, n: 100, rule, task, T: 100, steps: acc, batch: 32, learningRate: 0.005 });
      if (!task.startsWith('fashion')) out.push({ part: 'accuracy', model, n: 16, rule: 'rtrl', task, T: 100, steps: acc, batch: 32, learningRate: 0.005 });
    }
  }
  const few = full ? 3 : 1;
  for (const model of ['lif', 'alif'] as const) {
    for (const T of [100, 1000]) {
      for (const rule of ['eprop', 'bptt'])
        out.push({ part: 'scaling', model, n: 100, rule, task: 'store-recall', T, steps: few, batch: 16, learningRate: 0.005 });
      out.push({ part: 'scaling', model, n: 16, rule: 'rtrl', task: 'store-recall', T, steps: few, batch: 16, learningRate: 0.005 });
    }
  }
  return out;
}

const pct = (x: number | null): string => (x === null ? '—' : `${(100 * x).toFixed(1)} %`);
const mib = formatBytes;
const ruleName = (r: string): string => (r === 'eprop' ? 'e-prop' : r === 'bptt' ? 'BPTT' : 'RTRL');
const taskShort = (t: string): string => t.split(':')[0]!;

/** The markdown tables of docs/results.md, from the rows. */
export function markdown(
  rows: readonly Row[],
  grads: readonly GradientRow[],
  meta: { generatedAt: string; full: boolean; jobs: number; load: number[]; cpus: number; backend: string; node: string },
): string {
  const head = (cols: string[]): string => `| ${cols.join(' | ')} |\n|${cols.map(() => ' --- ').join('|')}|`;
  const acc = rows.filter((r) => r.part === 'accuracy');
  const sc = rows.filter((r) => r.part === 'scaling');
  const lines: string[] = [];
  const loads = rows.map((r) => r.loadAverage);
  lines.push(
    `Measured by \`ELIGO_BENCH_FULL=${meta.full ? 1 : 0} ELIGO_BENCH_JOBS=${meta.jobs} npm run bench -- train\` (bench/train.ts) on ${meta.generatedAt.slice(0, 10)}: ${meta.backend}, Node ${meta.node}, ${meta.cpus} cores shared with other work (1-minute load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the runs; ${meta.jobs} configuration${meta.jobs === 1 ? '' : 's'} at a time, each in its own thread). Wall times depend on that load; CPU seconds are those of the run's own thread. Raw numbers: bench/results/train.json.`,
  );
  lines.push('');
  lines.push(
    "**Accuracy at T = 100.** Batch 32, Adam (learning rate 0.005), seed 1; final accuracy on 1,000 held-out sequences (test) and 1,000 training sequences; chance is 50 % (store-recall, evidence) and 10 % (Fashion-MNIST). Alignment: cosine between the rule's update and the BPTT gradient on the same batch and parameters at the last evaluation, over all parameters, then for W_in and W_rec alone (the readout's W_out gets the exact gradient from every rule here).",
  );
  lines.push('');
  lines.push(
    head([
      'model',
      'n',
      'task',
      'rule',
      'updates',
      'test acc',
      'train acc',
      'alignment (W_in, W_rec)',
      'wall s',
      'CPU s',
      'steps/s (wall)',
      'steps/CPU s',
      'peak tensor memory',
    ]),
  );
  for (const r of acc) {
    const f2 = (x: number | undefined): string => (x === undefined ? '?' : (Math.abs(x) < 0.005 ? 0 : x).toFixed(2));
    const al =
      r.rule === 'bptt' ? '1 (exact)' : r.alignment === null ? '—' : `${f2(r.alignment)} (${f2(r.alignmentByParam?.W_in)}, ${f2(r.alignmentByParam?.W_rec)})`;
    lines.push(
      `| ${r.model.toUpperCase()} | ${r.n} | ${taskShort(r.task)} | ${ruleName(r.rule)} | ${r.steps} | ${r.error ? `error: ${r.error.slice(0, 80)}` : pct(r.testAccuracy)} | ${pct(r.trainAccuracy)} | ${al} | ${r.wallSeconds.toFixed(0)} | ${r.cpuSeconds.toFixed(0)} | ${Math.round(r.stepsPerSecond).toLocaleString('en-US')} | ${Math.round(r.stepsPerCpuSecond).toLocaleString('en-US')} | ${mib(r.peakMemoryBytes)} |`,
    );
  }
  lines.push('');
  // What the tables say, computed from them.
  const ratio = (rule: string): string => {
    const rs = sc
      .filter((r) => r.rule === rule && r.T === 1000)
      .map((r) => {
        const b = sc.find((q) => q.model === r.model && q.rule === r.rule && q.n === r.n && q.T === 100);
        return b && b.peakMemoryBytes > 0 ? r.peakMemoryBytes / b.peakMemoryBytes : NaN;
      });
    return rs.map((x) => `${x.toFixed(2)}×`).join(' and ');
  };
  const ga = (model: string, T: number, param: string): GradientRow | undefined => grads.find((g) => g.model === model && g.T === T && g.param === param);
  const a20 = ga('alif', 20, 'W_rec');
  const a100 = ga('alif', 100, 'W_rec');
  const accOf = (model: string, task: string, rule: string): string =>
    pct(acc.find((r) => r.model === model && taskShort(r.task) === task && r.rule === rule)?.testAccuracy ?? null);
  lines.push(
    `Reading: from T = 100 to T = 1000 the peak tensor memory of e-prop changes by ${ratio('eprop')} and that of RTRL by ${ratio('rtrl')} (LIF and ALIF): online rules keep only their traces. BPTT's grows by ${ratio('bptt')}: it keeps every step. ` +
      (a20 && a100
        ? `On ALIF, the BPTT gradient of W_rec grows with the sequence (norm ${a20.bpttNorm.toPrecision(3)} at T = 20, ${a100.bpttNorm.toPrecision(3)} at T = 100, at the initial parameters) while e-prop's update stays bounded (${a20.epropNorm.toPrecision(3)}, ${a100.epropNorm.toPrecision(3)}); their cosine falls from ${a20.cosine.toFixed(2)} to ${a100.cosine.toFixed(2)}. This is why the overall alignment of ALIF e-prop is near 0 in the first table, and with the same learning rate and number of updates e-prop reaches ${accOf('alif', 'store-recall', 'eprop')} on store-recall where BPTT reaches ${accOf('alif', 'store-recall', 'bptt')} (no gradient clipping in these runs). On LIF, e-prop's update stays aligned with the gradient (cosine ${ga('lif', 100, 'W_rec')?.cosine.toFixed(2) ?? '?'} for W_rec at T = 100).`
        : ''),
  );
  lines.push('');
  lines.push(
    "**e-prop against the BPTT gradient at the initial parameters.** One batch of 32 store-recall sequences, seed 1: the norm of each rule's update for W_in and W_rec and the cosine between them, for growing T.",
  );
  lines.push('');
  lines.push(head(['model', 'n', 'T', 'parameter', '‖BPTT gradient‖', '‖e-prop update‖', 'cosine']));
  for (const g of grads)
    lines.push(
      `| ${g.model.toUpperCase()} | ${g.n} | ${g.T} | ${g.param} | ${g.bpttNorm.toPrecision(3)} | ${g.epropNorm.toPrecision(3)} | ${g.cosine.toFixed(2)} |`,
    );
  lines.push('');
  lines.push(
    `**Memory and time against T.** Store-recall, batch 16, ${sc[0]?.steps ?? 0} update${sc[0]?.steps === 1 ? '' : 's'} per run (test accuracy after so few updates is near chance and only shows the run is sound). Peak tensor memory is TF.js's largest \`tf.memory().numBytes\` during the updates (parameters, optimizer state, traces or the BPTT tape, data tensors).`,
  );
  lines.push('');
  lines.push(head(['model', 'n', 'rule', 'T', 'peak tensor memory', 'T=1000 / T=100', 'wall s / update', 'steps/s (wall)', 'steps/CPU s']));
  for (const r of sc) {
    const base = sc.find((q) => q.model === r.model && q.rule === r.rule && q.n === r.n && q.T === 100);
    const ratio = r.T === 1000 && base && base.peakMemoryBytes > 0 ? `${(r.peakMemoryBytes / base.peakMemoryBytes).toFixed(2)}×` : '';
    lines.push(
      `| ${r.model.toUpperCase()} | ${r.n} | ${ruleName(r.rule)} | ${r.T} | ${r.error ? `error: ${r.error.slice(0, 80)}` : mib(r.peakMemoryBytes)} | ${ratio} | ${(r.wallSeconds / r.steps).toFixed(1)} | ${Math.round(r.stepsPerSecond).toLocaleString('en-US')} | ${Math.round(r.stepsPerCpuSecond).toLocaleString('en-US')} |`,
    );
  }
  return lines.join('\n');
}

const BEGIN = '<!-- bench/train.ts: begin -->';
const END = '<!-- bench/train.ts: end -->';

/** Puts the tables into docs/results.md between this benchmark's markers (other sections stay). */
export function writeResultsDoc(md: string): string {
  const path = join(__dirname, '..', 'docs', 'results.md');
  const section = `${BEGIN}\n## Training: e-prop, BPTT and RTRL on TensorFlow.js\n\n${md}\n${END}`;
  let text = existsSync(path)
    ? readFileSync(path, 'utf8')
    : '# Results\n\nEvery number here is measured by a benchmark in bench/ (`npm run bench`); each section names its command.\n';
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  text = a >= 0 && b > a ? `${text.slice(0, a)}${section}${text.slice(b + END.length)}` : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, text);
  return path;
}

async function pool(list: readonly Config[], jobs: number, onRow: (r: Row, i: number) => void): Promise<Row[]> {
  const rows: Row[] = new Array<Row>(list.length);
  if (jobs <= 1) {
    for (const [i, c] of list.entries()) onRow((rows[i] = await runConfig(c)), i);
    return rows;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const i = next++;
      // The worker compiles this TypeScript file with tsx's CommonJS hook (a worker does not inherit --import).
      const w = new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, { eval: true, workerData: { config: list[i] } });
      rows[i] = await new Promise<Row>((resolve, reject) => {
        w.once('message', (m: Row) => resolve(m));
        w.once('error', reject);
      });
      await w.terminate();
      onRow(rows[i], i);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return rows;
}

/** The peer benchmark's configurations: LIF and ALIF at n = 100 and 256, T = 100 and 1000, batch 32. */
export function peerConfigs(full: boolean): PeerConfig[] {
  const out: PeerConfig[] = [];
  for (const T of [100, 1000]) {
    for (const n of [100, 256]) {
      // TF.js at T = 100 (both sizes); at T = 1000 only with ELIGO_BENCH_FULL=1 (its ALIF e-prop took 1.9 s an update at n = 100, T = 100, and
      // grows with T: five rounds at T = 1000 do not fit a session's budget).
      for (const model of ['lif', 'alif'] as const) out.push({ model, n, T, batch: 32, rounds: T >= 1000 ? 5 : 7, tfjs: full || T === 100 });
    }
  }
  return out;
}

const fmtS = (x: number | null): string => (x === null ? '—' : x < 0.1 ? `${(x * 1000).toFixed(1)} ms` : `${x.toFixed(3)} s`);

/** The peer table (docs/results.md), from the peer benchmark's result. */
export function peerMarkdown(p: PeerResult, meta: { generatedAt: string; node: string; cpus: number }): string {
  const lines: string[] = [];
  const torch = 'version' in p.torch ? `PyTorch ${p.torch.version} (1 thread)` : `no PyTorch peer (${p.torch.missing})`;
  lines.push(
    `Measured by \`npm run bench -- train\` (bench/train.ts, bench/peer.ts, bench/peer/torch_bptt.py, bench/floor.ts) on ${meta.generatedAt.slice(0, 10)}, Node ${meta.node}, ${meta.cpus} cores shared with other work (1-minute load average ${Math.min(...p.loadAverage).toFixed(1)}–${Math.max(...p.loadAverage).toFixed(1)} over the rounds); ${torch}. Every row of a configuration ran in the same rounds, one update of each engine after the other; the median over the rounds is shown, and its ratio to PyTorch BPTT's median in those rounds. Data: one batch of 32 \`evidence\` sequences, the examples' LIF and ALIF at n neurons (20 inputs, 2 outputs), parameters from seed 1. Loops: where the compiled engine's fused trace loops and matrix kernels ran (WebAssembly SIMD where a loop's axis fits 4 lanes, JavaScript for the rest of the step; or JavaScript only). Memory: the compiled engine's buffers on all its threads (arenas, traces, the BPTT tape) and the parameters, without the batch's data (4·B·T·(n_in + 2·n_out + 1) bytes, which every engine holds); TF.js's peak tensor memory; the PyTorch process's peak RSS (with the interpreter and torch itself).`,
  );
  lines.push('');
  lines.push('| model | n | T | engine | loops | threads | median / update | steps/s | memory | ÷ PyTorch BPTT |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const mib = (b: number | null): string => (b === null ? '—' : b >= 1024 ** 2 ? `${(b / 1024 ** 2).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);
  const loops: Record<string, string> = { wasm: 'WebAssembly SIMD', js: 'JavaScript', tfjs: 'TF.js (wasm)', torch: '—' };
  for (const r of p.rows) {
    lines.push(
      `| ${r.model.toUpperCase()} | ${r.n} | ${r.T} | ${r.engine} | ${loops[r.backend] ?? r.backend} | ${r.medianSeconds === null ? '' : r.threads} | ${r.note ?? fmtS(r.medianSeconds)} | ${r.stepsPerSecond === null ? '—' : Math.round(r.stepsPerSecond).toLocaleString('en-US')} | ${mib(r.memoryBytes)} | ${r.ratioToTorch === null ? '—' : `${r.ratioToTorch.toFixed(2)}×`} |`,
    );
  }
  // The targets of issue 13, read from the rows: the default compiled engine (WebAssembly, the threads it picks).
  const def = (r: PeerRow): boolean =>
    r.backend === 'wasm' &&
    r.threads ===
      Math.max(
        ...p.rows.filter((q) => q.model === r.model && q.n === r.n && q.T === r.T && q.engine === r.engine && q.backend === 'wasm').map((q) => q.threads),
      );
  const cfgs = [...new Set(p.rows.map((r) => `${r.model}|${r.n}|${r.T}`))];
  const reading = cfgs
    .map((k) => {
      const [model, n, T] = k.split('|');
      const at = (engine: string): PeerRow | undefined =>
        p.rows.find((r) => r.model === model && String(r.n) === n && String(r.T) === T && r.engine === engine && def(r));
      const e = at('Eligo e-prop (compiled)');
      const b = at('Eligo BPTT (compiled)');
      if (!e?.medianSeconds || !b?.medianSeconds) return null;
      const er = e.ratioToTorch;
      const br = b.ratioToTorch;
      return `${model!.toUpperCase()} n=${n} T=${T}: e-prop ${er === null ? '—' : `${er.toFixed(2)}×`} PyTorch (target ≤ 0.5×: ${er !== null && er <= 0.5 ? 'met' : 'not met'}), BPTT ${br === null ? '—' : `${br.toFixed(2)}×`} (≤ 1×: ${br !== null && br <= 1 ? 'met' : 'not met'}), e-prop ÷ Eligo BPTT ${(e.medianSeconds / b.medianSeconds).toFixed(2)}× (≤ 1×: ${e.medianSeconds <= b.medianSeconds ? 'met' : 'not met'})`;
    })
    .filter((x): x is string => x !== null);
  lines.push('');
  lines.push(`**Targets** (the default engine: WebAssembly loops, the threads it picks). ${reading.join('; ')}.`);
  lines.push('');
  lines.push(
    `**Floor.** The floating-point floor of one e-prop update: the program's multiplications and additions per step as the rules engine counts them (blocks, learning signals, traces, update; before the compiled engine's exact rewrites, which do fewer) × batch × T, at the machine's rate on one thread measured by our own kernel (bench/floor.ts: eight independent chains of multiply-adds in registers, best over the session): ${p.rate.wasmGflops.toFixed(1)} GFLOP/s as WebAssembly f32x4, ${p.rate.jsGflops.toFixed(1)} GFLOP/s as JavaScript float64 scalars. The floor uses the WebAssembly rate; the ratio is the one-thread WebAssembly e-prop median over it.`,
  );
  lines.push('');
  lines.push('| model | n | T | flops / update | floor (1 thread) | e-prop (1 thread) ÷ floor |');
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const f of p.floors)
    lines.push(
      `| ${f.model.toUpperCase()} | ${f.n} | ${f.T} | ${f.flops.toExponential(2)} | ${fmtS(f.seconds)} | ${f.ratio === null ? '—' : `${f.ratio.toFixed(1)}×`} |`,
    );
  if (p.agreement.length) {
    lines.push('');
    lines.push(
      `Same model, same gradient: ‖∂L/∂W_rec‖ of compiled BPTT against PyTorch's: ${p.agreement.map((a) => `${a.model.toUpperCase()} n=${a.n} T=${a.T}: ${a.eligo.toPrecision(5)} vs ${a.torch.toPrecision(5)}`).join('; ')}.`,
    );
  }
  return lines.join('\n');
}

const PEER_BEGIN = '<!-- bench/train.ts peer: begin -->';
const PEER_END = '<!-- bench/train.ts peer: end -->';

export function writePeerDoc(md: string): string {
  const path = join(__dirname, '..', 'docs', 'results.md');
  const section = `${PEER_BEGIN}\n## Training speed: the compiled engine against PyTorch BPTT\n\n${md}\n${PEER_END}`;
  let text = readFileSync(path, 'utf8');
  const a = text.indexOf(PEER_BEGIN);
  const b = text.indexOf(PEER_END);
  text = a >= 0 && b > a ? `${text.slice(0, a)}${section}${text.slice(b + PEER_END.length)}` : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, text);
  return path;
}

export async function benchTrain(): Promise<unknown> {
  const full = process.env.ELIGO_BENCH_FULL === '1';
  // The peer benchmark (issue 13) always; the accuracy runs of the TF.js era with ELIGO_BENCH_ACCURACY=1.
  const peerStarted = Date.now();
  const only = process.env.ELIGO_BENCH_PEER;
  const pcs = peerConfigs(full).filter((c) => !only || only.split(',').includes(`${c.model}-${c.n}-${c.T}`));
  const peer = await peerBenchmark(pcs, (s) => process.stderr.write(`${s}\n`));
  const pmeta = { generatedAt: new Date().toISOString(), node: process.version, cpus: cpus().length };
  console.log(
    table(
      ['model', 'n', 'T', 'engine', 'loops', 'threads', 'median s', 'steps/s', 'memory MiB', '÷ torch'],
      peer.rows.map((r) => [
        r.model,
        r.n,
        r.T,
        r.engine,
        r.backend,
        r.threads,
        r.medianSeconds === null ? '—' : Number(r.medianSeconds.toFixed(4)),
        r.stepsPerSecond === null ? '—' : Math.round(r.stepsPerSecond),
        r.memoryBytes === null ? '—' : Number((r.memoryBytes / 1024 ** 2).toFixed(1)),
        r.ratioToTorch === null ? '—' : Number(r.ratioToTorch.toFixed(2)),
      ]),
    ),
  );
  console.log(`wrote ${writePeerDoc(peerMarkdown(peer, pmeta))}`);
  if (process.env.ELIGO_BENCH_ACCURACY !== '1') {
    const path = writeResult('train', { ...pmeta, seconds: (Date.now() - peerStarted) / 1000, peer });
    console.log(`wrote ${path}`);
    return peer;
  }
  const jobs = Math.max(1, Number(process.env.ELIGO_BENCH_JOBS ?? 1));
  const list = configs(full);
  const started = Date.now();
  const rows = await pool(list, jobs, (r, i) => {
    process.stderr.write(
      `[${i + 1}/${list.length}] ${r.part} ${r.model} n=${r.n} ${ruleName(r.rule)} ${taskShort(r.task)} T=${r.T}: ${r.error ? `error: ${r.error}` : `test ${pct(r.testAccuracy)}, ${r.wallSeconds.toFixed(0)} s, ${mib(r.peakMemoryBytes)}`}\n`,
    );
  });
  const grads = await gradientRows();
  const backend = rows.find((r) => r.backend)?.backend ?? '';
  const meta = { generatedAt: new Date().toISOString(), full, jobs, load: loadavg(), cpus: cpus().length, backend, node: process.version };
  const path = writeResult('train', { ...meta, seconds: (Date.now() - started) / 1000, rows, gradients: grads, peer });
  console.log(
    table(
      ['part', 'model', 'n', 'rule', 'task', 'T', 'upd', 'test acc', 'wall s', 'steps/s', 'peak mem'],
      rows.map((r) => [
        r.part,
        r.model,
        r.n,
        ruleName(r.rule),
        taskShort(r.task),
        r.T,
        r.steps,
        r.error ? 'error' : pct(r.testAccuracy),
        Number(r.wallSeconds.toFixed(1)),
        Math.round(r.stepsPerSecond),
        mib(r.peakMemoryBytes),
      ]),
    ),
  );
  console.log(`wrote ${path}`);
  console.log(
    table(
      ['model', 'T', 'param', '|BPTT|', '|e-prop|', 'cosine'],
      grads.map((g) => [g.model, g.T, g.param, Number(g.bpttNorm.toPrecision(3)), Number(g.epropNorm.toPrecision(3)), Number(g.cosine.toFixed(3))]),
    ),
  );
  if (full) console.log(`wrote ${writeResultsDoc(markdown(rows, grads, meta))}`);
  return rows;
}

// Worker thread: run one configuration and post its row.
const spawnedWith = workerData as { config?: Config } | null;
if (!isMainThread && spawnedWith?.config) {
  void runConfig(spawnedWith.config).then((r) => parentPort!.postMessage(r));
}
