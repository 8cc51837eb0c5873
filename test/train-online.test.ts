// The TensorFlow.js executor of online rules computes the rule's program:
// its weight updates equal the Float64 program executor (rules/execute.ts)
// for e-prop (LIF, ALIF), SnAp-1 and RTRL; and a rule with no approximation
// (RTRL, full learning signal) equals exact BPTT on TF.js autodiff.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Variable } from '@tensorflow/tfjs';
import type { RuleItem } from '../language-server/src/lang/ast.js';
import { BlockEvaluator } from '../language-server/src/rules/blocks.js';
import { runOnline } from '../language-server/src/rules/execute.js';
import { modelContextOf, prepareRule, sampleInput, type ModelContext, type PreparedRule } from '../language-server/src/rules/model.js';
import { ruleSpec } from '../language-server/src/rules/rule.js';
import { resizeModel } from '../language-server/src/rules/variants.js';
import { sizeOf, type Tensor } from '../language-server/src/graph/types.js';
import { loadTf, type Tf } from '../language-server/src/train/backend.js';
import { modelSpec, StepModel, toTensor, type ModelSpec } from '../language-server/src/train/model.js';
import { OnlineExecutor } from '../language-server/src/train/online.js';
import { bpttBatch, onlineBatch } from '../language-server/src/train/sequence.js';
import { resolveRule } from '../language-server/src/train/rule.js';
import type { Batch, Task } from '../language-server/src/train/tasks/types.js';

const EXAMPLES = join(__dirname, '..', 'examples');
const REGRESSION = { kind: 'regression', scoring: 'sequence', nOut: 1 } as unknown as Task;

function setup(
  file: string,
  model: string,
  rule: string,
  dims: Record<string, number>,
  extra = '',
): { ctx: ModelContext; rule: PreparedRule; spec: ModelSpec } {
  const text = resizeModel(readFileSync(join(EXAMPLES, file), 'utf8'), model, dims) + extra;
  const ctx = modelContextOf(text, model);
  const item = ctx.compiled.checked.program.items.find((i): i is RuleItem => i.kind === 'rule' && i.name.name === rule)!;
  return { ctx, rule: prepareRule(ctx, ruleSpec(item)), spec: modelSpec(ctx.graph, ctx.scope) };
}

/** B random sequences (the rules engine's sampleInput, one seed each) as one batch, loss weight 1 per step. */
function sequences(ctx: ModelContext, spec: ModelSpec, T: number, B: number): { batch: Batch; inputs: ReturnType<typeof sampleInput>[] } {
  const inputs = Array.from({ length: B }, (_, b) => sampleInput(ctx, T, 11 + b));
  const nIn = sizeOf(spec.input.shape);
  const nOut = sizeOf(spec.target.shape);
  const x = new Float32Array(T * B * nIn);
  const y = new Float32Array(T * B * nOut);
  inputs.forEach((inp, b) => {
    for (let t = 0; t < T; t++) {
      x.set(inp.data.get(spec.input.name)![t]!.data, (t * B + b) * nIn);
      y.set(inp.data.get(spec.target.name)![t]!.data, (t * B + b) * nOut);
    }
  });
  return { batch: { size: B, steps: T, x, y, weight: new Float32Array(T * B).fill(1) }, inputs };
}

/** Parameters drawn by the model's initialisers, rounded to float32 so both executors see the same numbers. */
function params(ctx: ModelContext): ReadonlyMap<string, Tensor> {
  const p = sampleInput(ctx, 1, 5).params;
  for (const t of p.values()) t.data.set(Float32Array.from(t.data));
  return p;
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  assert.ok(scale > 0, `${what}: the reference is all zeros (nothing to compare)`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= rel * scale + 1e-7, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (scale ${scale})`);
  }
}

describe('train: online rules on TF.js', () => {
  let tf: Tf;
  before(async () => {
    tf = await loadTf();
  });

  const cases: [string, string, string, Record<string, number>][] = [
    ['lif.eligo', 'lif', 'eprop', { n: 16, n_in: 6 }],
    ['alif.eligo', 'alif', 'eprop', { n: 12, n_in: 6 }],
    ['rnn.eligo', 'rnn', 'snap1', { n: 8 }],
    ['rnn.eligo', 'rnn', 'rtrl', { n: 8 }],
  ];
  for (const [file, model, rule, dims] of cases) {
    it(`${model} ${rule}: the weight updates of a batch of 2 equal the Float64 program executor's (mean of the 2 sequences)`, async () => {
      const { ctx, rule: pr, spec } = setup(file, model, rule, dims);
      const T = 20;
      const B = 2;
      const p = params(ctx);
      const { batch, inputs } = sequences(ctx, spec, T, B);
      const expected = new Map<string, Float64Array>();
      for (const inp of inputs) {
        const ref = runOnline(pr.derived.program, new BlockEvaluator(ctx.structure, pr.approx.blocks), { ...inp, params: p });
        for (const [k, g] of ref.gradient) {
          const acc = expected.get(k) ?? new Float64Array(g.length);
          g.forEach((v, i) => {
            acc[i]! += v / B;
          });
          expected.set(k, acc);
        }
      }
      const m = new StepModel(tf, spec);
      const ex = new OnlineExecutor(m, pr.derived.program, pr.approx.blocks);
      const ps = spec.params.map((q) => toTensor(tf, p.get(q.name)!));
      try {
        const r = await onlineBatch(ex, ps, batch, REGRESSION);
        spec.params.forEach((q, i) => {
          const g = r.grads![i];
          if (pr.derived.program.untrained.includes(q.name)) return;
          close(g!.dataSync(), expected.get(q.name)!, `${model} ${rule} Δ${q.name}`);
        });
        for (const g of r.grads!) g?.dispose();
      } finally {
        m.dispose();
        for (const t of ps) t.dispose();
      }
    });
  }

  const exact: [string, string, string, Record<string, number>, string][] = [
    ['rnn.eligo', 'rnn', 'rtrl', { n: 8 }, ''],
    ['lif.eligo', 'lif', 'rtrl', { n: 8, n_in: 5 }, '\nrule rtrl for lif {\n  schedule online\n}\n'],
    ['alif.eligo', 'alif', 'rtrl', { n: 6, n_in: 5 }, '\nrule rtrl for alif {\n  schedule online\n}\n'],
  ];
  for (const [file, model, rule, dims, extra] of exact) {
    it(`${model}: an online rule with nothing approximated (RTRL, full learning signal) equals BPTT by TF.js autodiff`, async () => {
      const { ctx, rule: pr, spec } = setup(file, model, rule, dims, extra);
      assert.equal(pr.derived.program.dropped.length, 0);
      const p = params(ctx);
      const { batch } = sequences(ctx, spec, 15, 3);
      const m = new StepModel(tf, spec);
      const ex = new OnlineExecutor(m, pr.derived.program, pr.approx.blocks);
      const vars: Variable[] = spec.params.map((q) => tf.variable(toTensor(tf, p.get(q.name)!)));
      try {
        const online = await onlineBatch(ex, vars, batch, REGRESSION);
        const bptt = bpttBatch(m, vars, batch, REGRESSION);
        assert.ok(Math.abs(online.loss - bptt.loss) <= 1e-5 * Math.abs(bptt.loss), `loss ${online.loss} vs ${bptt.loss}`);
        spec.params.forEach((q, i) => close(online.grads![i]!.dataSync(), bptt.grads![i]!.dataSync(), `${model} d/d${q.name}`, 2e-4));
        for (const g of [...online.grads!, ...bptt.grads!]) g?.dispose();
      } finally {
        m.dispose();
        for (const v of vars) v.dispose();
      }
    });
  }

  it("a reverse schedule with e-prop's dropped blocks (stop-gradients in the compiled step) gives e-prop's update on LIF", async () => {
    // In the approximated LIF graph a spike reaches the loss only through the same step's readout,
    // so the reverse-mode gradient of that graph is exactly the online e-prop update.
    const extra = '\nrule eprop_rev for lif {\n  approximate d(u[t+1])/d(z) = 0\n  schedule reverse\n}\n';
    const { ctx, rule: pr, spec } = setup('lif.eligo', 'lif', 'eprop', { n: 12, n_in: 5 }, extra);
    const rev = resolveRule(ctx.compiled, spec, 'eprop_rev');
    assert.equal(rev.method.kind, 'bptt');
    assert.ok(rev.method.kind === 'bptt' && rev.method.stopped.size > 0);
    const p = params(ctx);
    const { batch } = sequences(ctx, spec, 15, 2);
    const stoppedModel = new StepModel(tf, spec, { stopped: rev.method.kind === 'bptt' ? rev.method.stopped : new Set() });
    const m = new StepModel(tf, spec);
    const ex = new OnlineExecutor(m, pr.derived.program, pr.approx.blocks);
    const vars: Variable[] = spec.params.map((q) => tf.variable(toTensor(tf, p.get(q.name)!)));
    try {
      const online = await onlineBatch(ex, vars, batch, REGRESSION);
      const reverse = bpttBatch(stoppedModel, vars, batch, REGRESSION);
      const exact = bpttBatch(m, vars, batch, REGRESSION);
      spec.params.forEach((q, i) => close(reverse.grads![i]!.dataSync(), online.grads![i]!.dataSync(), `d/d${q.name}`, 2e-4));
      const w = spec.params.findIndex((q) => q.name === 'W_rec');
      const a = exact.grads![w]!.dataSync();
      const b = reverse.grads![w]!.dataSync();
      assert.ok(
        a.some((v, k) => Math.abs(v - b[k]!) > 1e-4 * Math.max(...Array.from(a, Math.abs))),
        'the stops change the gradient',
      );
      for (const g of [...online.grads!, ...reverse.grads!, ...exact.grads!]) g?.dispose();
    } finally {
      m.dispose();
      stoppedModel.dispose();
      for (const v of vars) v.dispose();
    }
  });

  it('keeps no history: tensor memory after 40 steps equals memory after 10 (traces only)', async () => {
    const { ctx, rule: pr, spec } = setup('lif.eligo', 'lif', 'eprop', { n: 16, n_in: 6 });
    const p = params(ctx);
    const m = new StepModel(tf, spec);
    const ex = new OnlineExecutor(m, pr.derived.program, pr.approx.blocks);
    const ps = spec.params.map((q) => toTensor(tf, p.get(q.name)!));
    try {
      const peaks: number[] = [];
      // (a first run warms the caches of shared zeros and transposes)
      // Peaks are counted above what is allocated before the batch: tensors other suites left alive are not this run's.
      for (const T of [5, 10, 40]) {
        const before = tf.memory().numBytes;
        const r = await onlineBatch(ex, ps, sequences(ctx, spec, T, 2).batch, REGRESSION);
        peaks.push(r.peakBytes - before);
        for (const g of r.grads!) g?.dispose();
      }
      assert.equal(peaks[2], peaks[1]);
      const vars = ps.map((t) => tf.variable(t));
      const bptt = (T: number): number => {
        const before = tf.memory().numBytes;
        const r = bpttBatch(m, vars, sequences(ctx, spec, T, 2).batch, REGRESSION);
        for (const g of r.grads!) g?.dispose();
        return r.peakBytes - before;
      };
      const b10 = bptt(10);
      const b40 = bptt(40);
      for (const v of vars) v.dispose();
      assert.ok(b40 > b10 * 2, `BPTT keeps every step: ${b10} → ${b40} bytes above the start`);
    } finally {
      m.dispose();
      for (const t of ps) t.dispose();
    }
  });
});
