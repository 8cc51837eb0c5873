// The compiled training step runs the approximation kinds beyond keep,
// diagonal and drop (rules/kinds.ts, rules/topk.ts, train/compiled/
// approximations.ts) as the Float64 executor does: factored scalar filters,
// random feedback, layer-local feedback, top(k) with SnAp-2 patterns,
// truncation (online and BPTT) and quantised traces — in float64 storage to
// 1e-9 (the same algorithm) and in float32 to 1e-5 (what training runs), with
// the JavaScript loops and with the WebAssembly SIMD ones (the models' rows
// have 4 or 8 values, so the SIMD loops run; each case says which
// parameters' fused loops run as WebAssembly beside the kind, and which run
// on approximations.ts's JavaScript loops instead).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Approximation } from '../language-server/src/rules/blocks.js';
import { BlockEvaluator } from '../language-server/src/rules/blocks.js';
import { runOnline } from '../language-server/src/rules/execute.js';
import { modelContextOf, prepareRule, sampleInput, type ModelContext, type PreparedRule } from '../language-server/src/rules/model.js';
import type { RuleSpec } from '../language-server/src/rules/rule.js';
import { runReverse } from '../language-server/src/rules/schedules.js';
import { resizeModel } from '../language-server/src/rules/variants.js';
import { sizeOf, type Tensor } from '../language-server/src/graph/types.js';
import { modelSpec, type ModelSpec } from '../language-server/src/train/model.js';
import { StepKernel } from '../language-server/src/train/compiled/kernel.js';
import { compileStep, type CompileStepOptions, type KernelSource } from '../language-server/src/train/compiled/program.js';
import { REFINEMENTS, type Refinement } from '../language-server/src/train/compiled/fused.js';
import type { Batch } from '../language-server/src/train/tasks/types.js';
import { LOSS_WEIGHT } from '../language-server/src/lang/lossWindow.js';

const EXAMPLES = join(__dirname, '..', 'examples');
interface Setup {
  ctx: ModelContext;
  spec: ModelSpec;
}

function setup(file: string, model: string, dims: Record<string, number>, edit: (t: string) => string = (t) => t): Setup {
  const text = edit(resizeModel(readFileSync(join(EXAMPLES, file), 'utf8'), model, dims));
  const ctx = modelContextOf(text, model);
  return { ctx, spec: modelSpec(ctx.graph, ctx.scope) };
}

function params(ctx: ModelContext, seed = 5): ReadonlyMap<string, Tensor> {
  const p = sampleInput(ctx, 1, seed).params;
  for (const t of p.values()) t.data.set(Float32Array.from(t.data));
  return p;
}

function sequences(s: Setup, T: number, B: number, seed = 11): { batch: Batch; inputs: ReturnType<typeof sampleInput>[] } {
  const inputs = Array.from({ length: B }, (_, b) => sampleInput(s.ctx, T, seed + b));
  for (const inp of inputs) for (const seq of inp.data.values()) for (const x of seq) x.data.set(Float32Array.from(x.data));
  const nIn = sizeOf(s.spec.input.shape);
  const nOut = sizeOf(s.spec.target.shape);
  const x = new Float32Array(T * B * nIn);
  const y = new Float32Array(T * B * nOut);
  inputs.forEach((inp, b) => {
    for (let t = 0; t < T; t++) {
      x.set(inp.data.get(s.spec.input.name)![t]!.data, (t * B + b) * nIn);
      y.set(inp.data.get(s.spec.target.name)![t]!.data, (t * B + b) * nOut);
    }
  });
  // A windowed loss (`at last`) reads its per-step weight as data: the compiled step takes it as the batch's weights.
  const weight = new Float32Array(T * B).fill(1);
  inputs.forEach((inp, b) => {
    const w = inp.data.get(LOSS_WEIGHT);
    if (w) for (let t = 0; t < T; t++) weight[t * B + b] = w[t]!.data[0]!;
  });
  return { batch: { size: B, steps: T, x, y, weight }, inputs };
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel: number): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  let err = 0;
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    const d = Math.abs(actual[i]! - expected[i]!);
    if (d > err) {
      err = d;
      at = i;
    }
  }
  if (scale === 0) {
    assert.ok(err === 0, `${what}: the reference is zero, the compiled step gives ${actual[at]} at ${at}`);
    return;
  }
  assert.ok(err <= rel * scale, `${what}[${at}]: ${actual[at]} vs ${expected[at]} (relative ${(err / scale).toExponential(2)} of ${scale.toExponential(3)})`);
}

/**
 * Where the loops run. wasm: parameters whose fused trace-and-update loop runs as WebAssembly; js: parameters
 * with no fused loop (approximations.ts's loops, JavaScript in both backends).
 */
interface Where {
  readonly wasm: readonly string[];
  readonly js?: readonly string[];
}

const fusedLoopOf = (loops: KernelSource['loops'], param: string): KernelSource['loops'][number] | undefined =>
  loops.find((l) => l.what.includes(` and Δ${param} +=`));

function compiled(
  s: Setup,
  p: ReadonlyMap<string, Tensor>,
  batch: Batch,
  mode: 'online' | 'bptt',
  opts: CompileStepOptions,
  precision: 'float32' | 'float64',
  where?: Where,
): Float64Array[] {
  const src = compileStep(s.spec, mode, opts);
  for (const l of src.loops) {
    // Asked for WebAssembly, every loop and matrix kernel whose SIMD axis fits 4 lanes runs there.
    if (opts.backend === 'wasm') assert.ok(l.backend === 'wasm' || /multiple of 4/.test(l.why ?? ''), `${l.what}: ${l.backend} (${l.why ?? ''})`);
    else if (opts.backend === 'js') assert.equal(l.backend, 'js', l.what);
  }
  if (opts.backend === 'wasm')
    assert.ok(
      src.loops.some((l) => l.backend === 'wasm'),
      'some loop runs as WebAssembly',
    );
  for (const q of where?.wasm ?? []) assert.equal(fusedLoopOf(src.loops, q)?.backend, opts.backend === 'wasm' ? 'wasm' : 'js', `${q}'s fused loop`);
  for (const q of where?.js ?? []) assert.equal(fusedLoopOf(src.loops, q), undefined, `${q} has no fused loop (approximations.ts)`);
  const k = new StepKernel(
    src,
    s.spec.params.map((q) => Float32Array.from(p.get(q.name)!.data)),
    undefined,
    undefined,
    precision,
  );
  k.setBatch(batch.x, batch.y, batch.weight, batch.size, batch.steps, new Float32Array(batch.steps * batch.size * sizeOf(s.spec.target.shape)));
  const r = k.runRange(0, batch.size, new Float64Array(batch.size));
  assert.equal(r.cancelled, false);
  assert.equal(r.nonFinite, undefined);
  return k.D;
}

function reference(s: Setup, rule: PreparedRule, p: ReadonlyMap<string, Tensor>, inputs: readonly ReturnType<typeof sampleInput>[]): Map<string, Float64Array> {
  const mean = new Map<string, Float64Array>();
  for (const inp of inputs) {
    const ev = new BlockEvaluator(s.ctx.structure, rule.approx.blocks);
    const r =
      rule.spec.schedule.kind === 'online'
        ? runOnline(rule.derived.program, ev, { ...inp, params: p })
        : runReverse(ev, rule.approx.blocks, { ...inp, params: p, ...(rule.spec.truncate !== undefined ? { truncate: rule.spec.truncate } : {}) });
    for (const [k, g] of r.gradient) {
      const acc = mean.get(k) ?? new Float64Array(g.length);
      g.forEach((v, i) => {
        acc[i] = acc[i]! + v / inputs.length;
      });
      mean.set(k, acc);
    }
  }
  return mean;
}

const A = (of: string, wrt: string, kind: Approximation['kind'], wrtOffset: 0 | 1 = 0, args?: Record<string, number>): Approximation => ({
  of,
  wrt,
  wrtOffset,
  kind,
  ...(args ? { args } : {}),
});

function compare(s: Setup, spec: Omit<RuleSpec, 'objectives'>, T: number, what: string, where: Where, rel32 = 1e-5, refine?: ReadonlySet<Refinement>): void {
  const rule = prepareRule(s.ctx, { ...spec, objectives: [] });
  assert.deepEqual(
    rule.approx.problems.filter((x) => x.severity === 'error'),
    [],
    what,
  );
  const p = params(s.ctx);
  const { batch, inputs } = sequences(s, T, 2);
  const online = spec.schedule.kind === 'online';
  const want = reference(s, rule, p, inputs);
  const o: CompileStepOptions = {
    ...(online ? { program: rule.derived.program, blocks: rule.approx.blocks } : spec.truncate !== undefined ? { truncate: spec.truncate } : {}),
    ...(refine ? { refine } : {}),
  };
  for (const [precision, rel, backend] of [
    ['float64', 1e-9, 'js'],
    ['float32', rel32, 'js'],
    ['float32', rel32, 'wasm'],
  ] as const) {
    const got = compiled(s, p, batch, online ? 'online' : 'bptt', { ...o, backend }, precision, where);
    s.spec.params.forEach((q, i) => {
      if (online && rule.derived.program.untrained.includes(q.name)) return;
      close(got[i]!, want.get(q.name)!, `${what} (${precision}, ${backend}) Δ${q.name}`, rel);
    });
  }
}

describe('train: the compiled step runs the approximation kinds', () => {
  const lif = setup('lif.eligo', 'lif', { n: 8, n_in: 4 });
  const eprop = [A('u', 'z', 'zero'), A('u', 'u', 'diagonal')];
  it('LIF e-prop with a factored scalar filter (shared presynaptic traces)', () =>
    compare(lif, { name: 'f', model: 'lif', approximations: [A('u', 'z', 'zero'), A('u', 'u', 'filter')], schedule: { kind: 'online' } }, 30, 'lif filter', {
      wasm: ['W_in', 'W_rec'],
    }));
  it('LIF e-prop with random feedback', () =>
    compare(
      lif,
      { name: 'r', model: 'lif', approximations: [...eprop, A('loss', 'z', 'random', 1, { scale: 0.3, seed: 4 })], schedule: { kind: 'online' } },
      30,
      'lif random',
      { wasm: ['W_in', 'W_rec'] },
    ));
  it('LIF e-prop truncated to 6 steps, online', () =>
    compare(lif, { name: 't', model: 'lif', approximations: eprop, schedule: { kind: 'online' }, truncate: 6 }, 30, 'lif truncate', {
      wasm: ['W_in', 'W_rec'],
    }));
  it('LIF BPTT truncated to 6 steps (reverse)', () =>
    compare(lif, { name: 'tb', model: 'lif', approximations: [], schedule: { kind: 'reverse' }, truncate: 6 }, 30, 'lif tbptt', { wasm: [] }));
  it('LIF RTRL with top(2) of the recurrent block (SnAp-2 pattern)', () =>
    compare(lif, { name: 'k', model: 'lif', approximations: [A('u', 'z', 'top', 0, { k: 2 })], schedule: { kind: 'online' } }, 20, 'lif top', {
      wasm: [],
      js: ['W_rec'],
    }));
  it('LIF e-prop with traces quantised to 7 bits, nearest and stochastic (float64 storage: the same rounding; float32 in both backends)', () => {
    for (const rounding of ['nearest', 'stochastic'] as const) {
      const spec = {
        name: 'q',
        model: 'lif',
        approximations: eprop,
        schedule: { kind: 'online' as const },
        quantize: { bits: 7, rounding, seed: 3 },
        objectives: [],
      };
      const rule = prepareRule(lif.ctx, spec);
      const p = params(lif.ctx);
      const { batch, inputs } = sequences(lif, 25, 2);
      const want = reference(lif, rule, p, inputs);
      const got = compiled(lif, p, batch, 'online', { program: rule.derived.program, blocks: rule.approx.blocks, backend: 'js' }, 'float64', {
        wasm: [],
        js: ['W_in', 'W_rec'],
      });
      lif.spec.params.forEach((q, i) => close(got[i]!, want.get(q.name)!, `quantize ${rounding} Δ${q.name}`, 1e-9));
      // In float32 too, every parameter on approximations.ts's loops and the matrix kernels in WebAssembly: the
      // quantised values are exact in float32 (B-bit multiples of a power of two), and on these sequences no value
      // before rounding lies within float32's error of a quantum's edge.
      for (const backend of ['js', 'wasm'] as const) {
        const g32 = compiled(lif, p, batch, 'online', { program: rule.derived.program, blocks: rule.approx.blocks, backend }, 'float32', {
          wasm: [],
          js: ['W_in', 'W_rec'],
        });
        lif.spec.params.forEach((q, i) => close(g32[i]!, want.get(q.name)!, `quantize ${rounding} (float32, ${backend}) Δ${q.name}`, 1e-5));
      }
    }
  });
  const alif = setup('alif.eligo', 'alif', { n: 8, n_in: 4 });
  // The example's ALIF, and ALIF with Bellec et al.'s leaky readout o[t+1] = κ·o + W_out @ z[t+1] (its dense trace factored, F_κ).
  const alifLeaky = setup('alif.eligo', 'alif', { n: 8, n_in: 4 }, (t) =>
    t
      .replace('state  zbar: [n] = 0', 'state  o: [n_out] = 0')
      .replace('zbar[t+1] = kappa * zbar + (1 - kappa) * z[t+1]', 'o[t+1] = kappa * o + W_out @ z[t+1]')
      .replace('loss = cross_entropy(W_out @ zbar[t+1], y[t+1])', 'loss = cross_entropy(o[t+1], y[t+1])'),
  );
  for (const [s, what, rewrites] of [
    [alif, 'ALIF', ['columns', 'derived']],
    [alifLeaky, 'ALIF with a leaky readout', ['columns', 'factored', 'derived']],
  ] as const) {
    it(`${what}: e-prop truncated to 6 steps under every refinement (${rewrites.join(', ')} restart with the traces they stand for)`, () => {
      const spec = {
        name: 'at',
        model: 'alif',
        approximations: [A('v', 'z', 'zero'), A('v', 'v', 'diagonal')],
        schedule: { kind: 'online' as const },
        truncate: 6,
      };
      const rule = prepareRule(s.ctx, { ...spec, objectives: [] });
      const all = new Set(REFINEMENTS);
      const refined = compileStep(s.spec, 'online', { program: rule.derived.program, blocks: rule.approx.blocks, refine: all }).loops.flatMap((l) =>
        Object.values(l.refined ?? {}),
      );
      for (const r of rewrites) assert.ok(refined.includes(r), `the ${r} rewrite applies: ${refined.join(', ')}`);
      for (const refine of [undefined, all])
        compare(s, spec, 30, `${what} truncate (${refine ? 'every refinement' : 'default refinements'})`, { wasm: ['W_in', 'W_rec'] }, 1e-5, refine);
    });
  }
  it('ALIF e-prop with filters on v, a and zbar and random feedback to zbar', () =>
    compare(
      alif,
      {
        name: 'af',
        model: 'alif',
        approximations: [A('v', 'z', 'zero'), A('v', 'v', 'filter'), A('a', 'a', 'filter'), A('zbar', 'zbar', 'filter'), A('loss', 'zbar', 'random', 1)],
        schedule: { kind: 'online' },
      },
      30,
      'alif filter random',
      { wasm: ['W_in', 'W_rec'] },
    ));
  // SpyTorch's readout (F, O) scored at every step: the readout's traces factored through W2.
  const zenke = setup('zenke_lif.eligo', 'zenke_lif', { n: 4, n_in: 4 }, (t) =>
    t.replace('loss = cross_entropy(max_over_time(O[t+1]), y[t+1]) at last', 'loss = cross_entropy(O[t+1], y[t+1])'),
  );
  it('a zenke-style readout factored (G(O,W) = W2·H)', () =>
    compare(
      zenke,
      {
        name: 'zf',
        model: 'zenke_lif',
        approximations: [A('I', 'S_delay1', 'zero'), A('I', 'I', 'filter'), A('F', 'F', 'filter'), A('O', 'O', 'filter')],
        schedule: { kind: 'online' },
      },
      30,
      'zenke filter',
      { wasm: ['W2'], js: ['W1', 'V1'] },
    ));
  it('a zenke-style readout with random feedback through F', () =>
    compare(
      zenke,
      {
        name: 'zr',
        model: 'zenke_lif',
        approximations: [A('I', 'S_delay1', 'zero'), A('I', 'I', 'diagonal'), A('F', 'S', 'random')],
        schedule: { kind: 'online' },
      },
      30,
      'zenke random',
      { wasm: ['W1', 'V1', 'W2'] },
    ));
  const two = setup('two_layer.eligo', 'two_layer', { n1: 8, n2: 4, n_in: 4 });
  it("two layers, layer-local e-prop (the first layer's signal from the output error through its own random matrix)", () =>
    compare(
      two,
      {
        name: 'll',
        model: 'two_layer',
        approximations: [A('I2', 'S1_delay2', 'local'), A('F', 'F', 'filter'), A('O', 'O', 'filter'), A('mean_over_time1', 'mean_over_time1', 'filter')],
        schedule: { kind: 'online' },
      },
      30,
      'two_layer local',
      { wasm: ['W1', 'W3'], js: ['W2'] },
    ));
});
