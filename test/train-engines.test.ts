// The two training engines run the same training: for every rule of every
// model example (shrunk), a few updates on the compiled engine and on the
// TensorFlow.js path give the same losses, gradient norms, evaluation curve
// and final accuracy. This catches what equality of one gradient does not:
// evaluation with stale parameters, a data leaf (a windowed loss's w_t) read
// from the wrong place, a window that only one engine applies.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuleItem } from '../language-server/src/lang/ast.js';
import { initialParams, initialStates } from '../language-server/src/graph/simulate.js';
import { sizeOf, type Tensor } from '../language-server/src/graph/types.js';
import { modelContextOf, prepareRule, ruleGradient } from '../language-server/src/rules/model.js';
import { ruleSpec } from '../language-server/src/rules/rule.js';
import { resizeModel } from '../language-server/src/rules/variants.js';
import { loadTf, type Tf } from '../language-server/src/train/backend.js';
import { CompiledEngine } from '../language-server/src/train/compiled/engine.js';
import { modelSpec, StepModel } from '../language-server/src/train/model.js';
import { OnlineExecutor } from '../language-server/src/train/online.js';
import { resolveRule } from '../language-server/src/train/rule.js';
import { bpttBatch, onlineBatch } from '../language-server/src/train/sequence.js';
import { makeTask } from '../language-server/src/train/tasks/index.js';
import { withLossWindow } from '../language-server/src/train/tasks/window.js';
import { train, type TrainReport } from '../language-server/src/train/train.js';

const EXAMPLES = join(__dirname, '..', 'examples');
const CASES: readonly [file: string, model: string, dims: Record<string, number>][] = [
  ['lif.eligo', 'lif', { n: 8, n_in: 6 }],
  ['alif.eligo', 'alif', { n: 8, n_in: 8 }],
  ['zenke_lif.eligo', 'zenke_lif', { n: 8, n_in: 8 }],
  ['two_layer.eligo', 'two_layer', { n1: 8, n2: 6, n_in: 8 }],
  ['rnn.eligo', 'rnn', { n: 6 }],
];

function rulesOf(text: string, model: string): string[] {
  return [...text.matchAll(new RegExp(`^rule (\\w+) for ${model}\\b`, 'gm'))].map((m) => m[1]!);
}

function close(a: number | null, b: number | null, tol: number, what: string): void {
  if (a === null || b === null) return assert.equal(a, b, what);
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: compiled ${a} vs tfjs ${b}`);
}

describe('training engines: compiled and TF.js run the same training', function () {
  this.timeout(120_000);
  for (const [file, model, dims] of CASES) {
    const text = resizeModel(readFileSync(join(EXAMPLES, file), 'utf8'), model, dims);
    for (const rule of rulesOf(text, model)) {
      it(`${model} · ${rule}: the same losses, evaluations and final accuracy`, async () => {
        const run = (engine: 'compiled' | 'tfjs'): Promise<TrainReport> =>
          train({
            text,
            model,
            rule,
            engine,
            threads: 1,
            task: 'evidence:T=24,train=48,test=32',
            steps: 3,
            batch: 8,
            seed: 3,
            evalEvery: 1,
            evalSamples: 32,
            finalSamples: 32,
            alignment: false,
          });
        const c = await run('compiled');
        const t = await run('tfjs');
        assert.equal(c.engine, 'compiled');
        assert.equal(t.engine, 'tfjs');
        const cu = c.metrics.updates;
        const tu = t.metrics.updates;
        assert.equal(cu.length, 3);
        assert.equal(tu.length, 3);
        for (let k = 0; k < 3; k++) {
          close(cu[k]!.loss, tu[k]!.loss, 1e-4, `update ${k + 1} loss`);
          close(cu[k]!.gradNorm ?? null, tu[k]!.gradNorm ?? null, 1e-4, `update ${k + 1} gradient norm`);
        }
        assert.ok(cu[0]!.loss > 0, 'the loss of a windowed model is not zero');
        assert.equal(c.metrics.curve.length, t.metrics.curve.length);
        c.metrics.curve.forEach((e, k) => close(e.testLoss, t.metrics.curve[k]!.testLoss, 1e-4, `evaluation ${k + 1} test loss`));
        close(c.final.loss, t.final.loss, 1e-4, 'final loss');
        close(c.final.testAccuracy, t.final.testAccuracy, 1e-9, 'final test accuracy');
      });
    }
  }
});

// Equal gradient norms do not make equal gradients: zenke_lif's max-over-time readout at rest ties with its
// running maximum at every step, and TF.js's Maximum gave the whole gradient to one operand where the Float64
// engine (ad/rules.ts, as JAX) splits it; the norm agreed to 1e-7 while small entries of W1 had the wrong sign,
// which Adam's first step (±lr per entry) turned into a 1 % different test loss. So here each engine's update on a
// task batch (the trainer's windowed weights) is compared entry by entry with the Float64 executor's.
describe('training engines: each update equals the Float64 executor entry by entry', function () {
  this.timeout(120_000);
  let tf: Tf;
  before(async () => {
    tf = await loadTf();
  });
  const VARIANTS: readonly [what: string, file: string, model: string, dims: Record<string, number>, edit: [string, string][]][] = [
    ['zenke_lif (max over time, at last, S[t-1], stop(S))', 'zenke_lif.eligo', 'zenke_lif', { n: 8, n_in: 8 }, []],
    ['two_layer (mean over time, at last, S1[t-2], two surrogates)', 'two_layer.eligo', 'two_layer', { n1: 8, n2: 6, n_in: 8 }, []],
    ['alif (refractoriness through stop(min(…)), scaled triangle)', 'alif.eligo', 'alif', { n: 8, n_in: 8 }, []],
    [
      'lif with delays (z[t-2], x[t-1]) and a loss for the last 5 steps',
      'lif.eligo',
      'lif',
      { n: 8, n_in: 6 },
      [
        ['W_rec @ z + W_in @ x[t+1]', 'W_rec @ z[t-2] + W_in @ x[t-1]'],
        ['~ normal(0, 0.1)', '~ normal(0, 1.5)'], // (input weights that make the 8 neurons spike on the task's sparse inputs)
        ['approximate d(u[t+1])/d(z) = 0 ', 'approximate d(u[t+1])/d(z_delay2) = 0\n  approximate d(u[t+1])/d(z) = 0 '],
        ['y[t+1])   # summed over time steps', 'y[t+1]) for last 5'],
        ['rule bptt for lif {', 'rule rtrl for lif {\n  schedule online\n}\n\nrule bptt for lif {'],
      ],
    ],
  ];
  for (const [what, file, model, dims, edits] of VARIANTS) {
    let text = resizeModel(readFileSync(join(EXAMPLES, file), 'utf8'), model, dims);
    for (const [from, to] of edits) {
      assert.ok(text.includes(from), `${file} has '${from}'`);
      text = text.replace(from, to);
    }
    for (const rule of rulesOf(text, model)) {
      it(`${what} · ${rule}: compiled and TF.js updates equal the Float64 executor's`, async () => {
        const ctx = modelContextOf(text, model);
        const spec = modelSpec(ctx.graph, ctx.scope);
        const item = ctx.compiled.checked.program.items.find((i): i is RuleItem => i.kind === 'rule' && i.name.name === rule)!;
        const prepared = prepareRule(ctx, ruleSpec(item));
        const method = resolveRule(ctx.compiled, spec, rule).method;
        const nIn = sizeOf(spec.input.shape);
        const nOut = sizeOf(spec.target.shape);
        const task = withLossWindow(
          makeTask('evidence:T=24,train=8,test=8', { model, nIn, nOut, inputName: spec.input.name, targetName: spec.target.name, seed: 3 }),
          ctx.scope.lossWindow,
          model,
        );
        const b = task.batch('train', [0, 1, 2, 3]);
        const B = b.size;
        const T = b.steps;
        const init = initialParams(ctx.scope, 3);
        const p32 = spec.params.map((q) => Float32Array.from(init.get(q.name)!.data));
        const params = new Map(spec.params.map((q, i) => [q.name, { shape: q.shape, data: Float64Array.from(p32[i]!) }]));
        // The Float64 reference: each sample on its own, the task's step weights (which carry 1/B) as loss weights.
        const want = spec.params.map((q) => new Float64Array(sizeOf(q.shape)));
        for (let s = 0; s < B; s++) {
          const seq = (name: string, shape: readonly number[], src: Float32Array, n: number): Tensor[] =>
            Array.from({ length: T }, (_, t) => ({ shape, data: Float64Array.from(src.subarray((t * B + s) * n, (t * B + s + 1) * n)) }));
          const data = new Map<string, Tensor[]>([
            [spec.input.name, seq(spec.input.name, spec.input.shape, b.x, nIn)],
            [spec.target.name, seq(spec.target.name, spec.target.shape, b.y, nOut)],
          ]);
          if (spec.weight)
            data.set(
              spec.weight.name,
              Array.from({ length: T }, () => ({ shape: [], data: Float64Array.of(1) })),
            );
          const lossWeights = Float64Array.from({ length: T }, (_, t) => b.weight[t * B + s]! / B);
          const r = ruleGradient(ctx, prepared, { steps: T, params, data, initial: initialStates(ctx.scope), lossWeights });
          spec.params.forEach((q, i) =>
            r.gradient.get(q.name)?.forEach((v, k) => {
              want[i]![k]! += v;
            }),
          );
        }
        const engine = CompiledEngine.create(
          spec,
          { method: method.kind === 'online' ? { kind: 'online', program: method.program, blocks: method.blocks } : { kind: 'bptt', stopped: method.stopped } },
          { threads: 1 },
        );
        const model32 = new StepModel(tf, spec, method.kind === 'bptt' ? { stopped: method.stopped } : {});
        const vars = spec.params.map((q, i) => tf.variable(tf.tensor(p32[i]!, [...q.shape], 'float32')));
        try {
          engine.setParams(p32);
          const c = await engine.run('grad', b);
          const exec = method.kind === 'online' ? new OnlineExecutor(model32, method.program, method.blocks) : undefined;
          const t = exec ? await onlineBatch(exec, vars, b, task) : bpttBatch(model32, vars, b, task);
          const trained = engine.trained('grad');
          spec.params.forEach((q, i) => {
            if (!trained[i]) return;
            const tj = t.grads![i]!.dataSync();
            entrywise(c.grads![i]!, want[i]!, `compiled Δ${q.name}`);
            entrywise(tj, want[i]!, `TF.js Δ${q.name}`);
          });
          for (const g of t.grads ?? []) g?.dispose();
        } finally {
          await engine.dispose();
          model32.dispose();
          for (const v of vars) v.dispose();
        }
      });
    }
  }
});

/** Max |a − e| ≤ 1e-4 · max |e| (float32 over T = 24 steps against Float64), and a non-zero reference. */
function entrywise(actual: ArrayLike<number>, expected: Float64Array, what: string): void {
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
  if (scale === 0) return assert.ok(err === 0, `${what}: the reference is zero, the engine gives ${actual[at]} at ${at}`);
  assert.ok(
    err <= 1e-4 * scale,
    `${what}[${at}]: ${actual[at]} vs Float64 ${expected[at]} (relative ${(err / scale).toExponential(2)} of the largest entry ${scale.toExponential(3)})`,
  );
}
