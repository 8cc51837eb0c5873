// The peer benchmark of training (issue 13): Eligo's compiled engine (the
// online rule e-prop and exact BPTT), the previous TensorFlow.js path, and a
// plain PyTorch BPTT of the same model (bench/peer/torch_bptt.py, Debian's
// python3-torch) on the same parameters and data, interleaved round by round
// in one session so the machine's load hits all of them alike. Figures: the
// median time per update (one batch's gradient), steps per second (batch × T
// over that time), memory, and each one's ratio to PyTorch BPTT measured in
// the same rounds. The benchmark installs nothing; without python3 + torch it
// says so and measures Eligo alone.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { compile, findItem, modelStep } from '../language-server/src/compile.js';
import { initialParams } from '../language-server/src/graph/simulate.js';
import { resizeModel } from '../language-server/src/rules/variants.js';
import { loadTf } from '../language-server/src/train/backend.js';
import { CompiledEngine } from '../language-server/src/train/compiled/engine.js';
import { modelSpec, StepModel, toTensor } from '../language-server/src/train/model.js';
import { OnlineExecutor } from '../language-server/src/train/online.js';
import { resolveRule } from '../language-server/src/train/rule.js';
import { bpttBatch, onlineBatch } from '../language-server/src/train/sequence.js';
import { makeTask } from '../language-server/src/train/tasks/index.js';
import { measureFloorRate, type FloorRate } from './floor.js';

export const PYTHON = '/usr/bin/python3';

export interface PeerConfig {
  readonly model: 'lif' | 'alif';
  readonly n: number;
  readonly T: number;
  readonly batch: number;
  /** Measured rounds (after one warm-up round). */
  readonly rounds: number;
  /** Include the TF.js path (slow: minutes per update at n = 256, T = 1000). */
  readonly tfjs: boolean;
}

export interface PeerRow {
  readonly model: string;
  readonly n: number;
  readonly T: number;
  readonly batch: number;
  readonly engine: string;
  /** What ran the loops: 'wasm' (the compiled engine's WebAssembly SIMD loops, JavaScript elsewhere), 'js' (JavaScript only), 'tfjs', 'torch'. */
  readonly backend: 'wasm' | 'js' | 'tfjs' | 'torch';
  readonly threads: number;
  readonly medianSeconds: number | null;
  readonly minSeconds: number | null;
  readonly stepsPerSecond: number | null;
  /** Bytes the engine holds for the update (compiled: its buffers on every thread; tfjs: peak tensor memory; PyTorch: the process's peak RSS). */
  readonly memoryBytes: number | null;
  readonly memoryWhat: string;
  /** medianSeconds / PyTorch BPTT's (same rounds). */
  readonly ratioToTorch: number | null;
  readonly note?: string;
}

export interface PeerResult {
  readonly rows: PeerRow[];
  /** PyTorch's version and its single-thread float32 matrix-product rate (for reference), or why it is missing. */
  readonly torch: { readonly version: string; readonly sgemmGflops: number } | { readonly missing: string };
  /** The machine's single-thread rate measured by bench/floor.ts (best over the session): WebAssembly f32x4 and JavaScript multiply-adds. */
  readonly rate: FloorRate;
  /**
   * The floating-point floor of one e-prop update per configuration: the program's multiplications and additions
   * per step (the rules engine's count) × batch × T, over the WebAssembly rate on one thread; ratio: the
   * one-thread WebAssembly e-prop median over it.
   */
  readonly floors: {
    readonly model: string;
    readonly n: number;
    readonly T: number;
    readonly flops: number;
    readonly seconds: number;
    readonly ratio: number | null;
  }[];
  /** Per configuration, where each loop of the e-prop and BPTT kernels ran (program.ts KernelSource.loops). */
  readonly loops: {
    readonly model: string;
    readonly n: number;
    readonly T: number;
    readonly rule: string;
    readonly loops: readonly { readonly what: string; readonly backend: string; readonly why?: string }[];
  }[];
  /** Gradient agreement: compiled BPTT against PyTorch BPTT (norms of W_rec). */
  readonly agreement: {
    readonly model: string;
    readonly n: number;
    readonly T: number;
    readonly eligo: number;
    readonly torch: number;
    readonly relative: number;
  }[];
  readonly loadAverage: readonly number[];
}

/** Whether the peer can run: python3 with torch (nothing is installed). */
export function torchAvailable(): { ok: true; version: string } | { ok: false; why: string } {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `${PYTHON} not found (${r.error.message})` };
  if (r.status !== 0) return { ok: false, why: `${PYTHON} has no torch/numpy (apt-get install python3-torch): ${r.stderr.trim().split('\n').pop()}` };
  return { ok: true, version: r.stdout.trim() };
}

/** Single-thread float32 matrix products per second in PyTorch (1024², best of 5): the machine's peak for the floor. */
function sgemmRate(): number {
  const code =
    'import torch,time\ntorch.set_num_threads(1)\na=torch.randn(1024,1024);b=torch.randn(1024,1024)\nbest=1e9\nfor _ in range(6):\n t=time.perf_counter();c=a@b;best=min(best,time.perf_counter()-t)\nprint(2*1024**3/best/1e9)';
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : NaN;
}

class Peer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterableIterator<string>;

  constructor() {
    this.proc = spawn(PYTHON, [join(__dirname, 'peer', 'torch_bptt.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  async ask(m: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.proc.stdin.write(`${JSON.stringify(m)}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error('the PyTorch peer exited');
    // Python's json writes a non-finite float as NaN or Infinity (ALIF's exact gradient overflows float32 at T = 1000): read them as null.
    return JSON.parse(r.value.replace(/-?\bInfinity\b|\bNaN\b/g, 'null')) as Record<string, unknown>;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function peerBenchmark(configs: readonly PeerConfig[], log: (s: string) => void): Promise<PeerResult> {
  const tf = await loadTf();
  const avail = torchAvailable();
  const gflops = avail.ok ? sgemmRate() : NaN;
  if (!avail.ok) log(`PyTorch peer missing: ${avail.why}; measuring Eligo alone`);
  const rows: PeerRow[] = [];
  let rate = measureFloorRate();
  const floors: PeerResult['floors'][number][] = [];
  const loopRecords: PeerResult['loops'][number][] = [];
  const agreement: PeerResult['agreement'][number][] = [];
  const loads: number[] = [];
  for (const c of configs) {
    const text = resizeModel(readFileSync(join(__dirname, '..', 'examples', `${c.model}.eligo`), 'utf8'), c.model, { n: c.n, n_in: 20, n_out: 2 });
    const comp = compile(text);
    const { scope, graph } = modelStep(comp, findItem(comp, c.model, ['model']));
    const spec = modelSpec(graph, scope);
    const eprop = resolveRule(comp, spec, 'eprop');
    if (eprop.method.kind !== 'online') throw new Error('e-prop is an online rule');
    const task = makeTask(`evidence:T=${c.T}`, { model: c.model, nIn: 20, nOut: 2, inputName: 'x', targetName: 'y', seed: 1 });
    const batch = task.batch(
      'train',
      Array.from({ length: c.batch }, (_, i) => i),
    );
    const init = initialParams(scope, 1);
    const values = spec.params.map((p) => Float32Array.from(init.get(p.name)!.data));
    const dir = mkdtempSync(join(tmpdir(), 'eligo-peer-'));
    spec.params.forEach((p, i) => writeFileSync(join(dir, `${p.name}.f32`), Buffer.from(values[i]!.buffer)));
    writeFileSync(join(dir, 'x.f32'), Buffer.from(batch.x.buffer, batch.x.byteOffset, batch.x.byteLength));
    writeFileSync(join(dir, 'y.f32'), Buffer.from(batch.y.buffer, batch.y.byteOffset, batch.y.byteLength));
    writeFileSync(join(dir, 'weight.f32'), Buffer.from(batch.weight.buffer, batch.weight.byteOffset, batch.weight.byteLength));

    type Runner = {
      engine: string;
      backend: PeerRow['backend'];
      threads: number;
      run: () => Promise<number>;
      memory: () => number;
      memoryWhat: string;
      times: number[];
      note?: string;
      done?: () => Promise<void>;
    };
    const runners: Runner[] = [];
    // The compiled engine as it runs by default (WebAssembly SIMD loops, the threads it picks), on one thread,
    // and with JavaScript loops only (one thread): JavaScript against WebAssembly, one thread against two.
    const epropMethod = { kind: 'online' as const, program: eprop.method.program, blocks: eprop.method.blocks };
    const typical = { batch: c.batch, steps: c.T };
    const engines: { name: string; rule: 'e-prop' | 'BPTT'; backend: 'wasm' | 'js'; e: CompiledEngine }[] = [];
    for (const [rule, method] of [
      ['e-prop', epropMethod],
      ['BPTT', { kind: 'bptt' as const }],
    ] as const) {
      const auto = CompiledEngine.create(spec, { method }, {}, typical);
      engines.push({ name: `Eligo ${rule} (compiled)`, rule, backend: 'wasm', e: auto });
      engines.push({
        name: `Eligo ${rule} (compiled)`,
        rule,
        backend: 'wasm',
        e: CompiledEngine.create(spec, { method }, { threads: auto.threadsUsed > 1 ? 1 : 2 }, typical),
      });
      engines.push({
        name: `Eligo ${rule} (compiled)`,
        rule,
        backend: 'js',
        e: CompiledEngine.create(spec, { method }, { threads: 1, backend: 'js' }, typical),
      });
      loopRecords.push({
        model: c.model,
        n: c.n,
        T: c.T,
        rule,
        loops: auto.sources.grad!.loops.map((l) => ({ what: l.what, backend: l.backend, ...(l.why ? { why: l.why } : {}) })),
      });
    }
    const bpttEngine = engines.find((x) => x.rule === 'BPTT')!.e;
    let bpttGrad: Float64Array[] = [];
    for (const { name, backend, e } of engines) {
      e.setParams(values);
      runners.push({
        engine: name,
        backend,
        threads: e.threadsUsed,
        times: [],
        memoryWhat: 'buffers on every thread (arenas, traces, the BPTT tape) and the parameters, without the batch data',
        run: async () => {
          const t0 = performance.now();
          const r = await e.run('grad', batch);
          const dt = (performance.now() - t0) / 1000;
          if (e === bpttEngine) bpttGrad = r.grads!;
          return dt;
        },
        // The engine's own buffers: without the batch's data (inputs, targets, weights, predictions), which every engine holds and which grows with T.
        memory: () => e.bytes(c.batch, c.T) - 4 * c.batch * c.T * (20 + 2 * 2 + 1),
        done: () => e.dispose(),
      });
    }
    if (c.tfjs) {
      const m = new StepModel(tf, spec);
      const vars = spec.params.map((p, i) => tf.variable(toTensor(tf, { shape: p.shape, data: Float64Array.from(values[i]!) })));
      const exec = new OnlineExecutor(m, eprop.method.program, eprop.method.blocks);
      let peakE = 0;
      let peakB = 0;
      runners.push({
        engine: 'Eligo e-prop (TF.js)',
        backend: 'tfjs',
        threads: 1,
        times: [],
        memoryWhat: 'peak tensor memory',
        run: async () => {
          const t0 = performance.now();
          const r = await onlineBatch(exec, vars, batch, task);
          const dt = (performance.now() - t0) / 1000;
          peakE = Math.max(peakE, r.peakBytes);
          for (const g of r.grads!) g?.dispose();
          return dt;
        },
        memory: () => peakE,
      });
      runners.push({
        engine: 'Eligo BPTT (TF.js)',
        backend: 'tfjs',
        threads: 1,
        times: [],
        memoryWhat: 'peak tensor memory',
        run: () => {
          const t0 = performance.now();
          const r = bpttBatch(m, vars, batch, task);
          const dt = (performance.now() - t0) / 1000;
          peakB = Math.max(peakB, r.peakBytes);
          for (const g of r.grads!) g?.dispose();
          return Promise.resolve(dt);
        },
        memory: () => peakB,
        done: () => {
          m.dispose();
          for (const v of vars) v.dispose();
          return Promise.resolve();
        },
      });
    }
    let peer: Peer | undefined;
    let torchNorm = NaN;
    if (avail.ok) {
      peer = new Peer();
      await peer.ask({ cmd: 'load', dir, model: c.model, n: c.n, nIn: 20, nOut: 2, T: c.T, B: c.batch, threads: 1 });
      runners.push({
        engine: 'PyTorch BPTT',
        backend: 'torch',
        threads: 1,
        times: [],
        memoryWhat: 'peak RSS of the PyTorch process',
        run: async () => {
          const r = await peer!.ask({ cmd: 'step' });
          torchNorm = (r.grads as Record<string, (number | null)[]>).W_rec![0] ?? Infinity;
          return r.seconds as number;
        },
        memory: () => 0,
      });
    }
    // A warm-up round (the JIT, the caches) where a round is short; at T = 1000 the first sequences warm the code.
    for (let round = c.T >= 1000 ? 1 : 0; round <= c.rounds; round++) {
      for (const r of runners) {
        const s = await r.run();
        if (round > 0) r.times.push(s);
      }
      loads.push(loadavg()[0]!);
      // The calibration kernel once a round too: the floor's rate is the best seen in the session.
      const rr = measureFloorRate(3);
      rate = { wasmGflops: Math.max(rate.wasmGflops, rr.wasmGflops), jsGflops: Math.max(rate.jsGflops, rr.jsGflops) };
      log(
        `  ${c.model} n=${c.n} T=${c.T} round ${round}${round === 0 ? ' (warm-up)' : ''}: ${runners.map((r) => `${r.engine} ${r.backend} ${r.threads}t ${r.times.length ? r.times[r.times.length - 1]!.toFixed(3) : '-'} s`).join(' · ')}`,
      );
    }
    let torchRss = 0;
    if (peer) torchRss = (await peer.ask({ cmd: 'quit' })).maxRssBytes as number;
    const torchMedian = runners.find((r) => r.engine === 'PyTorch BPTT') ? median(runners.find((r) => r.engine === 'PyTorch BPTT')!.times) : null;
    for (const r of runners) {
      const med = median(r.times);
      rows.push({
        model: c.model,
        n: c.n,
        T: c.T,
        batch: c.batch,
        engine: r.engine,
        backend: r.backend,
        threads: r.threads,
        medianSeconds: med,
        minSeconds: Math.min(...r.times),
        stepsPerSecond: (c.batch * c.T) / med,
        memoryBytes: r.engine === 'PyTorch BPTT' ? torchRss : r.memory(),
        memoryWhat: r.memoryWhat,
        ratioToTorch: torchMedian ? med / torchMedian : null,
      });
      await r.done?.();
    }
    if (!c.tfjs)
      rows.push({
        model: c.model,
        n: c.n,
        T: c.T,
        batch: c.batch,
        engine: 'Eligo e-prop (TF.js)',
        backend: 'tfjs',
        threads: 1,
        medianSeconds: null,
        minSeconds: null,
        stepsPerSecond: null,
        memoryBytes: null,
        memoryWhat: '',
        ratioToTorch: null,
        note: 'not run at this size (ELIGO_BENCH_FULL=1 runs it)',
      });
    const wrec = spec.params.findIndex((p) => p.name === 'W_rec');
    const eligoNorm = Math.sqrt(bpttGrad[wrec]!.reduce((a, v) => a + v * v, 0));
    if (Number.isFinite(torchNorm))
      agreement.push({ model: c.model, n: c.n, T: c.T, eligo: eligoNorm, torch: torchNorm, relative: Math.abs(eligoNorm - torchNorm) / torchNorm });
    const flops = (eprop.method.cost.multiplications + eprop.method.cost.additions) * c.batch * c.T;
    const ep = rows.find(
      (r) => r.model === c.model && r.n === c.n && r.T === c.T && r.engine === 'Eligo e-prop (compiled)' && r.backend === 'wasm' && r.threads === 1,
    );
    floors.push({
      model: c.model,
      n: c.n,
      T: c.T,
      flops,
      seconds: flops / (rate.wasmGflops * 1e9),
      ratio: ep?.medianSeconds ? ep.medianSeconds / (flops / (rate.wasmGflops * 1e9)) : null,
    });
    rmSync(dir, { recursive: true, force: true });
  }
  // The floors at the session's best rate (measured again every round).
  const best = floors.map((f) => {
    const ep = rows.find(
      (r) => r.model === f.model && r.n === f.n && r.T === f.T && r.engine === 'Eligo e-prop (compiled)' && r.backend === 'wasm' && r.threads === 1,
    );
    const seconds = f.flops / (rate.wasmGflops * 1e9);
    return { ...f, seconds, ratio: ep?.medianSeconds ? ep.medianSeconds / seconds : null };
  });
  return {
    rows,
    torch: avail.ok ? { version: avail.version, sgemmGflops: gflops } : { missing: avail.why },
    rate,
    floors: best,
    loops: loopRecords,
    agreement,
    loadAverage: loads,
  };
}
