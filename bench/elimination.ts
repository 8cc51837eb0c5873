// `npm run bench -- elimination`: the elimination engine's speed.
//
//  (a) complete elimination orders scored per second (symbolic costs) on
//      RoeFlux_1d and the Transformer example, random valid orders and the
//      Markowitz order, by the symbolic `Eliminator` and the search's
//      `EliminationState`;
//  (b) the numeric Jacobian of every AD benchmark task at batch 1 and 512:
//      the Jacobian program (ad/program.ts) in the best of forward, reverse
//      and Markowitz order, evaluation included, against the same full
//      Jacobian by TensorFlow.js autodiff in this process (one vjp per output
//      element with a batched one-hot cotangent, as jacrev does row by row),
//      and against TF.js with all rows in one vjp (the batch replicated once
//      per output element: vmap of vjp, TF at its best);
//  (c) bench/results/elimination.json and a table.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor as TfTensor } from '@tensorflow/tfjs';
import { compile, findItem, graphOf } from '../language-server/src/compile.js';
import { table } from '../language-server/src/cli/common.js';
import { Eliminator } from '../language-server/src/ad/eliminate.js';
import { costOf } from '../language-server/src/ad/costs.js';
import { jacobian } from '../language-server/src/ad/jacobian.js';
import { eliminableVertices } from '../language-server/src/ad/linearize.js';
import { markowitzOrder, namedOrder, type OrderName } from '../language-server/src/ad/orders.js';
import { compileJacobianProgram, type BatchJacobian, type PhaseTimings } from '../language-server/src/ad/program.js';
import { EliminationState } from '../language-server/src/ad/state.js';
import { evaluateBatch } from '../language-server/src/graph/evaluate.js';
import { evaluationPoint } from '../language-server/src/graph/point.js';
import { sizeOf, type Graph, type Tensor } from '../language-server/src/graph/types.js';
import { selectBackend, type Tf } from '../language-server/src/train/backend.js';
import { compileGraph, type CompiledGraph, type Value } from '../language-server/src/train/compileGraph.js';
import { ms, stats, writeResult, type Stats } from './util.js';

const EXAMPLES = join(__dirname, '..', 'examples');

/** The AD benchmark tasks (shared/reference/vertex-elimination.md §2) and the example items that are them. */
export const AD_TASKS = [
  { task: 'RoeFlux_1d', file: 'roeflux_1d.eligo', item: 'roeflux_1d' },
  { task: 'RoeFlux_3d', file: 'roeflux_3d.eligo', item: 'roeflux_3d' },
  { task: 'RobotArm_6DOF', file: 'robot_arm.eligo', item: 'robot_arm' },
  { task: 'HumanHeartDipole', file: 'heart_dipole.eligo', item: 'heart_dipole' },
  { task: 'PropaneCombustion', file: 'propane.eligo', item: 'propane' },
  { task: 'BlackScholes_Jacobian', file: 'black_scholes.eligo', item: 'black_scholes_grad' },
  { task: 'random f', file: 'random_f.eligo', item: 'random_f' },
  { task: 'random g', file: 'random_g.eligo', item: 'random_g' },
  { task: '2-layer MLP', file: 'mlp.eligo', item: 'mlp' },
  { task: 'Transformer encoder', file: 'transformer.eligo', item: 'transformer' },
] as const;

export interface Example {
  readonly graph: Graph;
  readonly leaves: Map<number, Tensor>;
}

export function loadExample(file: string, item: string): Example {
  const c = compile(readFileSync(join(EXAMPLES, file), 'utf8'));
  const it = findItem(c, item);
  const graph = graphOf(c, it);
  return { graph, leaves: evaluationPoint(c, it, graph).leaves };
}

/**
 * `batch` points: sample b scales every independent input by (1 + spread·sin(b + q)), sample 0 is
 * the point itself; other leaves (data, weights of a model step) are shared. Rounded to float32
 * when asked, so that TF.js and the Float64 engine differentiate at the same point.
 */
export function batchPoints(graph: Graph, leaves: ReadonlyMap<number, Tensor>, batch: number, spread = 0.01, float32 = false): Map<number, Tensor> {
  const inputs = new Set(graph.inputs);
  const round = float32 ? Math.fround : (x: number): number => x;
  const out = new Map<number, Tensor>();
  for (const [id, t] of leaves) {
    if (!inputs.has(id)) {
      out.set(id, { shape: t.shape, data: t.data.map(round) });
      continue;
    }
    const n = t.data.length;
    const data = new Float64Array(n * batch);
    for (let b = 0; b < batch; b++) for (let q = 0; q < n; q++) data[b * n + q] = round(t.data[q]! * (1 + spread * Math.sin(b + q)));
    out.set(id, { shape: t.shape, data });
  }
  return out;
}

// ------------------------------------------------------------ TF.js Jacobians

/**
 * The full Jacobian of every output w.r.t. every input by TF.js autodiff, for
 * a batch of points (leaves as for evaluateBatch: independent inputs hold
 * `batch` samples, other leaves are shared). `rows` (the default) runs one
 * vjp per output element e with the cotangent one-hot at e for every sample:
 * row e of every sample's Jacobian. `stacked` replicates the batch once per
 * output element and runs one vjp with all those cotangents at once. Blocks
 * are laid out as the Jacobian program's (batch × rows × cols).
 */
export function tfJacobian(
  tf: Tf,
  cg: CompiledGraph,
  graph: Graph,
  leaves: ReadonlyMap<number, Tensor>,
  batch: number,
  mode: 'rows' | 'stacked' = 'rows',
): BatchJacobian {
  const ids = graph.inputs;
  const isInput = new Set(ids);
  const outSizes = graph.outputs.map((o) => sizeOf(graph.vertices[o]!.shape));
  const inSizes = ids.map((i) => sizeOf(graph.vertices[i]!.shape));
  const total = outSizes.reduce((a, b) => a + b, 0);
  const B = batch;
  const blocks = graph.outputs.map((o, k) =>
    ids.map((i, l) => ({
      output: o,
      input: i,
      rows: outSizes[k]!,
      cols: inSizes[l]!,
      batch: B,
      data: new Float64Array(B * outSizes[k]! * inSizes[l]!),
    })),
  );
  // Output element e → (output k, row r).
  const rowOf: [number, number][] = [];
  outSizes.forEach((n, k) => {
    for (let r = 0; r < n; r++) rowOf.push([k, r]);
  });
  const R = mode === 'stacked' ? total : 1; // replicas of the batch in one call
  tf.tidy(() => {
    const fixed = new Map<number, Value>();
    for (const [id, t] of leaves) {
      if (!isInput.has(id)) fixed.set(id, { t: tf.tensor(Float32Array.from(t.data), [...t.shape], 'float32'), batched: false });
    }
    const xs = ids.map((id, l) => {
      const shape = graph.vertices[id]!.shape;
      const t = leaves.get(id)!;
      const x =
        t.data.length === inSizes[l]! * B
          ? tf.tensor(Float32Array.from(t.data), [B, ...shape], 'float32')
          : tf.broadcastTo(tf.tensor(Float32Array.from(t.data), [...shape], 'float32'), [B, ...shape]);
      return R === 1 ? x : tf.tile(x, [R, ...shape.map(() => 1)]);
    });
    const f = (...args: TfTensor[]): TfTensor => {
      const m = new Map(fixed);
      ids.forEach((id, l) => m.set(id, { t: args[l]!, batched: true }));
      const vals = cg.run(m, R * B, graph.outputs);
      const parts = graph.outputs.map((o, k) => {
        const v = vals[o]!;
        const shape = graph.vertices[o]!.shape;
        const t = v.batched ? v.t : tf.broadcastTo(v.t, [R * B, ...shape]);
        return tf.reshape(t, [R * B, outSizes[k]!]);
      });
      return parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
    };
    const grads = tf.grads(f);
    const write = (e: number, g: Float32Array, l: number, replica: number): void => {
      const [k, r] = rowOf[e]!;
      const bl = blocks[k]![l]!;
      const cols = bl.cols;
      const size = bl.rows * cols;
      for (let b = 0; b < B; b++) {
        const src = (replica * B + b) * cols;
        const dst = b * size + r * cols;
        for (let c = 0; c < cols; c++) bl.data[dst + c] = g[src + c]!;
      }
    };
    if (R === 1) {
      for (let e = 0; e < total; e++) {
        tf.tidy(() => {
          const hot = new Float32Array(B * total);
          for (let b = 0; b < B; b++) hot[b * total + e] = 1;
          grads(xs, tf.tensor2d(hot, [B, total])).forEach((g, l) => write(e, g.dataSync() as Float32Array, l, 0));
        });
      }
    } else {
      // Replica e of the batch carries the cotangent one-hot at e.
      const hot = new Float32Array(total * B * total);
      for (let e = 0; e < total; e++) for (let b = 0; b < B; b++) hot[(e * B + b) * total + e] = 1;
      grads(xs, tf.tensor2d(hot, [total * B, total])).forEach((g, l) => {
        const d = g.dataSync() as Float32Array;
        for (let e = 0; e < total; e++) write(e, d, l, e);
      });
    }
  });
  return { batch: B, blocks };
}

/**
 * Largest error of `got` against `want` per output element: max over entries
 * of |got − want| / max(max |want| of that Jacobian row of that sample, floor).
 */
export function rowRelativeError(got: BatchJacobian, want: BatchJacobian, floor = 1e-12): number {
  let worst = 0;
  want.blocks.forEach((row, k) => {
    const rows = row[0]!.rows;
    for (let b = 0; b < want.batch; b++) {
      for (let r = 0; r < rows; r++) {
        let scale = floor;
        for (const bl of row) for (let c = 0; c < bl.cols; c++) scale = Math.max(scale, Math.abs(bl.data[b * bl.rows * bl.cols + r * bl.cols + c]!));
        row.forEach((bl, l) => {
          const g = got.blocks[k]![l]!;
          for (let c = 0; c < bl.cols; c++) {
            const q = b * bl.rows * bl.cols + r * bl.cols + c;
            worst = Math.max(worst, Math.abs(g.data[q]! - bl.data[q]!) / scale);
          }
        });
      }
    }
  });
  return worst;
}

// ------------------------------------------------------------ (a) orders per second

interface Throughput {
  readonly graph: string;
  readonly eliminable: number;
  readonly engine: 'Eliminator' | 'EliminationState';
  readonly orders: 'random' | 'markowitz';
  /** Median over 10 windows, and the best window (the machine is shared: the best is the least disturbed). */
  readonly ordersPerSecond: number;
  readonly bestOrdersPerSecond: number;
}

/** Orders scored per second over `windows` windows of `seconds`/`windows` each: the median window and the best. */
function ordersPerSecond(run: (o: Int32Array) => void, orders: readonly Int32Array[], seconds: number, windows = 10): { median: number; best: number } {
  for (const o of orders) run(o); // warm up, and fill the product caches
  const rates: number[] = [];
  for (let w = 0; w < windows; w++) {
    let n = 0;
    const t0 = performance.now();
    let dt: number;
    while ((dt = performance.now() - t0) < (seconds * 1000) / windows)
      for (const o of orders) {
        run(o);
        n++;
      }
    rates.push(n / (dt / 1000));
  }
  rates.sort((x, y) => x - y);
  return { median: rates[Math.floor(rates.length / 2)]!, best: rates[rates.length - 1]! };
}

function shuffled(items: readonly number[], seed: number): Int32Array {
  let s = seed >>> 0;
  const r = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return Int32Array.from(a);
}

function benchThroughput(seconds: number): Throughput[] {
  const out: Throughput[] = [];
  for (const [label, file, item] of [
    ['RoeFlux_1d', 'roeflux_1d.eligo', 'roeflux_1d'],
    ['Transformer', 'transformer.eligo', 'transformer'],
  ] as const) {
    const { graph } = loadExample(file, item);
    const elim = eliminableVertices(graph);
    const random = Array.from({ length: 200 }, (_, k) => shuffled(elim, k + 1));
    const mk = [Int32Array.from(markowitzOrder(graph))];
    const el = Eliminator.symbolic(graph);
    const st = EliminationState.of(graph);
    for (const [orders, set] of [
      ['random', random],
      ['markowitz', mk],
    ] as const) {
      for (const [engine, run] of [
        ['Eliminator', (o: Int32Array) => el.run(o)],
        ['EliminationState', (o: Int32Array) => st.run(o)],
      ] as const) {
        const r = ordersPerSecond(run, set, seconds);
        out.push({ graph: label, eliminable: elim.length, engine, orders, ordersPerSecond: r.median, bestOrdersPerSecond: r.best });
      }
    }
  }
  return out;
}

// ------------------------------------------------------------ (b) numeric Jacobians

interface NumericRow {
  readonly task: string;
  readonly item: string;
  readonly inputs: number;
  readonly outputs: number;
  readonly order: OrderName;
  readonly multiplications: number;
  readonly batch: number;
  /** evaluateBatch + program.run. */
  readonly programMs: Stats;
  /** program.run alone, and its phases (medians). */
  readonly programOnlyMs: Stats;
  readonly phasesMs: PhaseTimings;
  /** jacobian() (value by value), batch 1 only. */
  readonly valueByValueMs?: Stats;
  readonly tfRowsMs: Stats;
  readonly tfStackedMs: Stats;
  /** tfRows / program (least disturbed runs, min), and against the faster TF route; the same from medians. */
  readonly ratio: number;
  readonly ratioBestTf: number;
  readonly medianRatio: number;
  readonly medianRatioBestTf: number;
  /** Largest row-relative difference between TF.js (float32) and the program (float64) at this batch. */
  readonly tfDifference: number;
}

/**
 * Interleaved timing, ms per call: every round times each contender once
 * (`reps` calls each, sized so a round takes about targetMs / rounds per
 * contender), so that bursts of load on a shared machine hit all of them alike.
 */
function interleaved(fns: readonly (() => void)[], targetMs: number, rounds = 12): Stats[] {
  const reps = fns.map((fn) => {
    fn();
    const t0 = performance.now();
    fn();
    const once = Math.max(performance.now() - t0, 1e-3);
    return Math.max(1, Math.min(5000, Math.round(targetMs / rounds / once)));
  });
  fns.forEach((fn, k) => {
    for (let i = 0; i < Math.min(reps[k]!, 20); i++) fn();
  });
  const samples: number[][] = fns.map(() => []);
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, k) => {
      const t0 = performance.now();
      for (let i = 0; i < reps[k]!; i++) fn();
      samples[k]!.push((performance.now() - t0) / reps[k]!);
    });
  }
  return samples.map(stats);
}

async function benchNumeric(batches: readonly number[], targetMs: number): Promise<{ rows: NumericRow[]; backend: string }> {
  const { tf, info } = await selectBackend();
  const rows: NumericRow[] = [];
  for (const t of AD_TASKS) {
    const ex = loadExample(t.file, t.item);
    const g = ex.graph;
    const names: OrderName[] = ['forward', 'reverse', 'markowitz'];
    const costs = names.map((o) => costOf(g, o).multiplications);
    const best = names[costs.indexOf(Math.min(...costs))]!;
    const program = compileJacobianProgram(g, namedOrder(g, best));
    const cg = compileGraph(tf, g);
    try {
      for (const B of batches) {
        const leaves = batchPoints(g, ex.leaves, B, 0.01, true);
        const values = evaluateBatch(g, leaves, B);
        const contenders: (() => void)[] = [
          () => {
            program.run(evaluateBatch(g, leaves, B), B);
          },
          () => {
            program.run(values, B);
          },
          () => {
            tfJacobian(tf, cg, g, leaves, B, 'rows');
          },
          () => {
            tfJacobian(tf, cg, g, leaves, B, 'stacked');
          },
        ];
        if (B === 1)
          contenders.push(() => {
            jacobian(g, leaves, best);
          });
        const [ours, only, tfRows, tfStacked, valueByValue] = interleaved(contenders, targetMs) as [Stats, Stats, Stats, Stats, Stats | undefined];
        const phases: PhaseTimings = { partials: 0, program: 0, scatter: 0 };
        const reps = 20;
        for (let k = 0; k < reps; k++) program.run(values, B, { timings: phases });
        phases.partials /= reps;
        phases.program /= reps;
        phases.scatter /= reps;
        const ref = program.run(values, B);
        const diff = Math.max(
          rowRelativeError(tfJacobian(tf, cg, g, leaves, B, 'rows'), ref),
          rowRelativeError(tfJacobian(tf, cg, g, leaves, B, 'stacked'), ref),
        );
        rows.push({
          task: t.task,
          item: t.item,
          inputs: g.inputs.reduce((a, i) => a + sizeOf(g.vertices[i]!.shape), 0),
          outputs: g.outputs.reduce((a, o) => a + sizeOf(g.vertices[o]!.shape), 0),
          order: best,
          multiplications: Math.min(...costs),
          batch: B,
          programMs: ours,
          programOnlyMs: only,
          phasesMs: phases,
          ...(valueByValue ? { valueByValueMs: valueByValue } : {}),
          tfRowsMs: tfRows,
          tfStackedMs: tfStacked,
          ratio: tfRows.min / ours.min,
          ratioBestTf: Math.min(tfRows.min, tfStacked.min) / ours.min,
          medianRatio: tfRows.median / ours.median,
          medianRatioBestTf: Math.min(tfRows.median, tfStacked.median) / ours.median,
          tfDifference: diff,
        });
      }
    } finally {
      cg.dispose();
    }
  }
  return { rows, backend: info.summary };
}

// ------------------------------------------------------------ (c) report

const rate = (x: number): string => `${Math.round(x).toLocaleString('en-US')}/s`;
const times = (x: number): string => (x >= 100 ? `${Math.round(x)}×` : `${x.toPrecision(3)}×`);

export async function benchElimination(): Promise<unknown> {
  const quick = process.env.ELIGO_BENCH_QUICK === '1';
  const throughput = benchThroughput(quick ? 0.3 : 1);
  console.log('\nComplete elimination orders scored per second (symbolic costs: multiplications, additions, fill-in, memory)');
  console.log('  median of 10 windows (best window)');
  const cell = (t: Throughput): string => `${rate(t.ordersPerSecond)} (${rate(t.bestOrdersPerSecond)})`;
  console.log(
    table(
      ['graph', 'eliminable', 'orders', 'Eliminator', 'EliminationState'],
      ['RoeFlux_1d', 'Transformer'].flatMap((gname) =>
        (['random', 'markowitz'] as const).map((o) => {
          const pick = (e: string): Throughput => throughput.find((x) => x.graph === gname && x.orders === o && x.engine === e)!;
          return [gname, pick('Eliminator').eliminable, o, cell(pick('Eliminator')), cell(pick('EliminationState'))];
        }),
      ),
    ),
  );

  const { rows, backend } = await benchNumeric([1, 512], quick ? 150 : 600);
  console.log(
    `\nFull numeric Jacobian, ms per call (least disturbed of 12 interleaved rounds): Jacobian program (evaluateBatch + run, best of forward/reverse/Markowitz) vs TF.js autodiff (${backend})`,
  );
  console.log(
    '  run only = program.run on evaluated values; value-by-value = jacobian(); tf rows = one vjp per output element with a batched one-hot cotangent;',
  );
  console.log(
    '  tf stacked = one vjp over the batch replicated per output element; (medians) = tf rows / program from medians; tf vs f64 = largest row-relative difference',
  );
  console.log(
    table(
      [
        'task',
        'in→out',
        'order',
        'mults',
        'batch',
        'program',
        'run only',
        'value-by-value',
        'tf rows',
        'tf stacked',
        'tf rows / program',
        'best tf / program',
        '(medians)',
        'tf vs f64',
      ],
      rows.map((r) => [
        r.task,
        `${r.inputs}→${r.outputs}`,
        r.order,
        r.multiplications,
        r.batch,
        ms(r.programMs.min),
        ms(r.programOnlyMs.min),
        r.valueByValueMs ? ms(r.valueByValueMs.min) : '—',
        ms(r.tfRowsMs.min),
        ms(r.tfStackedMs.min),
        times(r.ratio),
        times(r.ratioBestTf),
        times(r.medianRatio),
        r.tfDifference.toExponential(1),
      ]),
    ),
  );
  const geo = (b: number, key: 'ratio' | 'ratioBestTf' | 'medianRatio'): number => {
    const rs = rows.filter((r) => r.batch === b).map((r) => r[key]);
    return Math.exp(rs.reduce((a, x) => a + Math.log(x), 0) / rs.length);
  };
  const summary = {
    batch1: { geomeanRatio: geo(1, 'ratio'), geomeanRatioBestTf: geo(1, 'ratioBestTf'), geomeanMedianRatio: geo(1, 'medianRatio') },
    batch512: { geomeanRatio: geo(512, 'ratio'), geomeanRatioBestTf: geo(512, 'ratioBestTf'), geomeanMedianRatio: geo(512, 'medianRatio') },
  };
  console.log(
    `geometric mean of tf rows / program: ${times(summary.batch1.geomeanRatio)} at batch 1, ${times(summary.batch512.geomeanRatio)} at batch 512; against the faster TF route: ${times(summary.batch1.geomeanRatioBestTf)} and ${times(summary.batch512.geomeanRatioBestTf)}`,
  );
  const result = { throughput, numeric: rows, summary, tfBackend: backend, quick };
  const path = writeResult('elimination', result);
  console.log(`(written to ${path})`);
  return result;
}
