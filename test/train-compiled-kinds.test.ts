// The compiled training step runs the approximation kinds beyond keep,
// diagonal and drop (rules/kinds.ts, rules/topk.ts, train/compiled/
// approximations.ts) as the Float64 executor does: factored scalar filters,
// random feedback, layer-local feedback, top(k) with SnAp-2 patterns,
// truncation (online and BPTT) and quantised traces — in float64 storage to
// 1e-9 (the same algorithm) and in float32 to 1e-5 (what training runs).

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
import { compileStep, type CompileStepOptions } from '../language-server/src/train/compiled/program.js';
import type { Batch } from '../language-server/src/train/tasks/types.js';
import { LOSS_WEIGHT } from '../language-server/src/lang/lossWindow.js';

const EXAMPLES = join(__dirname, '..', 'examples');
interface Setup { ctx: ModelContext; spec: ModelSpec }

function setup(file: string, model: string, dims: Record<string, number>, edit: (t: string) => string = (t) => t): Setup {
  const text = edit(resizeModel(readFileSync(join(EXAMPLES, file), 'utf8'), model, dims));
  const ctx = modelContextOf(text, model);
  return { ctx, spec: modelSpec(ctx.graph, ctx.scope) };
}

function params(ctx: ModelContext, seed = 5): ReadonlyMap<string, Tensor> {
  const p = sampleInput(ctx, 1, seed).params;
  for (const t of p.values()) (t.data as Float64Array).set(Float32Array.from(t.data));
  return p;
}

function sequences(s: Setup, T: number, B: number, seed = 11): { batch: Batch; inputs: ReturnType<typeof sampleInput>[] } {
  const inputs = Array.from({ length: B }, (_, b) => sampleInput(s.ctx, T, seed + b));
  for (const inp of inputs) for (const seq of inp.data.values()) for (const x of seq) (x.data as Float64Array).set(Float32Array.from(x.data));
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
    if (d > err) { err = d; at = i; }
  }
  if (scale === 0) {
    assert.ok(err === 0, `${what}: the reference is zero, the compiled step gives ${actual[at]} at ${at}`);
    return;
  }
  assert.ok(err <= rel * scale, `${what}[${at}]: ${actual[at]} vs ${expected[at]} (relative ${(err / scale).toExponential(2)} of ${scale.toExponential(3)})`);
}

function compiled(s: Setup, p: ReadonlyMap<string, Tensor>, batch: Batch, mode: 'online' | 'bptt', opts: CompileStepOptions, precision: 'float32' | 'float64'): Float64Array[] {
  const k = new StepKernel(compileStep(s.spec, mode, opts), s.spec.params.map((q) => Float32Array.from(p.get(q.name)!.data)), undefined, undefined, precision);
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
    const r = rule.spec.schedule.kind === 'online'
      ? runOnline(rule.derived.program, ev, { ...inp, params: p })
      : runReverse(ev, rule.approx.blocks, { ...inp, params: p, ...(rule.spec.truncate !== undefined ? { truncate: rule.spec.truncate } : {}) });
    for (const [k, g] of r.gradient) {
      const acc = mean.get(k) ?? new Float64Array(g.length);
      g.forEach((v, i) => { acc[i] = acc[i]! + v / inputs.length; });
      mean.set(k, acc);
    }
  }
  return mean;
}

const A = (of: string, wrt: string, kind: Approximation['kind'], wrtOffset: 0 | 1 = 0, args?: Record<string, number>): Approximation => ({ of, wrt, wrtOffset, kind, ...(args ? { args } : {}) });

function compare(s: Setup, spec: Omit<RuleSpec, 'objectives'>, T: number, what: string, rel32 = 1e-5): void {
  const rule = prepareRule(s.ctx, { ...spec, objectives: [] });
  assert.deepEqual(rule.approx.problems.filter((x) => x.severity === 'error'), [], what);
  const p = params(s.ctx);
  const { batch, inputs } = sequences(s, T, 2);
  const online = spec.schedule.kind === 'online';
  const want = reference(s, rule, p, inputs);
  const o: CompileStepOptions = online ? { program: rule.derived.program, blocks: rule.approx.blocks } : { ...(spec.truncate !== undefined ? { truncate: spec.truncate } : {}) };
  for (const [precision, rel] of [['float64', 1e-9], ['float32', rel32]] as const) {
    const got = compiled(s, p, batch, online ? 'online' : 'bptt', o, precision);
    s.spec.params.forEach((q, i) => {
      if (online && rule.derived.program.untrained.includes(q.name)) return;
      close(got[i]!, want.get(q.name)!, `${what} (${precision}) Δ${q.name}`, rel);
    });
  }
}

describe('train: the compiled step runs the approximation kinds', () => {
  const lif = setup('lif.eligo', 'lif', { n: 7, n_in: 4 });
  const eprop = [A('u', 'z', 'zero'), A('u', 'u', 'diagonal')];
  it('LIF e-prop with a factored scalar filter (shared presynaptic traces)', () => compare(lif, { name: 'f', model: 'lif', approximations: [A('u', 'z', 'zero'), A('u', 'u', 'filter')], schedule: { kind: 'online' } }, 30, 'lif filter'));
  it('LIF e-prop with random feedback', () => compare(lif, { name: 'r', model: 'lif', approximations: [...eprop, A('loss', 'z', 'random', 1, { scale: 0.3, seed: 4 })], schedule: { kind: 'online' } }, 30, 'lif random'));
  it('LIF e-prop truncated to 6 steps, online', () => compare(lif, { name: 't', model: 'lif', approximations: eprop, schedule: { kind: 'online' }, truncate: 6 }, 30, 'lif truncate'));
  it('LIF BPTT truncated to 6 steps (reverse)', () => compare(lif, { name: 'tb', model: 'lif', approximations: [], schedule: { kind: 'reverse' }, truncate: 6 }, 30, 'lif tbptt'));
  it('LIF RTRL with top(2) of the recurrent block (SnAp-2 pattern)', () => compare(lif, { name: 'k', model: 'lif', approximations: [A('u', 'z', 'top', 0, { k: 2 })], schedule: { kind: 'online' } }, 20, 'lif top'));
  it('LIF e-prop with traces quantised to 7 bits, nearest and stochastic (float64 storage: the same rounding)', () => {
    for (const rounding of ['nearest', 'stochastic'] as const) {
      const spec = { name: 'q', model: 'lif', approximations: eprop, schedule: { kind: 'online' as const }, quantize: { bits: 7, rounding, seed: 3 }, objectives: [] };
      const rule = prepareRule(lif.ctx, spec);
      const p = params(lif.ctx);
      const { batch, inputs } = sequences(lif, 25, 2);
      const want = reference(lif, rule, p, inputs);
      const got = compiled(lif, p, batch, 'online', { program: rule.derived.program, blocks: rule.approx.blocks }, 'float64');
      lif.spec.params.forEach((q, i) => close(got[i]!, want.get(q.name)!, `quantize ${rounding} Δ${q.name}`, 1e-9));
    }
  });
  const alif = setup('alif.eligo', 'alif', { n: 6, n_in: 4 });
  it('ALIF e-prop with filters on v, a and zbar and random feedback to zbar', () => compare(alif, {
    name: 'af', model: 'alif', approximations: [A('v', 'z', 'zero'), A('v', 'v', 'filter'), A('a', 'a', 'filter'), A('zbar', 'zbar', 'filter'), A('loss', 'zbar', 'random', 1)], schedule: { kind: 'online' },
  }, 30, 'alif filter random'));
  // SpyTorch's readout (F, O) scored at every step: the readout's traces factored through W2.
  const zenke = setup('zenke_lif.eligo', 'zenke_lif', { n: 6, n_in: 4 }, (t) => t.replace('loss = cross_entropy(max_over_time(O[t+1]), y[t+1]) at last', 'loss = cross_entropy(O[t+1], y[t+1])'));
  it('a zenke-style readout factored (G(O,W) = W2·H)', () => compare(zenke, {
    name: 'zf', model: 'zenke_lif', approximations: [A('I', 'S_delay1', 'zero'), A('I', 'I', 'filter'), A('F', 'F', 'filter'), A('O', 'O', 'filter')], schedule: { kind: 'online' },
  }, 30, 'zenke filter'));
  it('a zenke-style readout with random feedback through F', () => compare(zenke, {
    name: 'zr', model: 'zenke_lif', approximations: [A('I', 'S_delay1', 'zero'), A('I', 'I', 'diagonal'), A('F', 'S', 'random')], schedule: { kind: 'online' },
  }, 30, 'zenke random'));
  const two = setup('two_layer.eligo', 'two_layer', { n1: 6, n2: 5, n_in: 4 });
  it('two layers, layer-local e-prop (the first layer\'s signal from the output error through its own random matrix)', () => compare(two, {
    name: 'll', model: 'two_layer', approximations: [A('I2', 'S1_delay2', 'local'), A('F', 'F', 'filter'), A('O', 'O', 'filter'), A('mean_over_time1', 'mean_over_time1', 'filter')], schedule: { kind: 'online' },
  }, 30, 'two_layer local'));
});
