// The two training engines run the same training: for every rule of every
// model example (shrunk), a few updates on the compiled engine and on the
// TensorFlow.js path give the same losses, gradient norms, evaluation curve
// and final accuracy. This catches what equality of one gradient does not:
// evaluation with stale parameters, a data leaf (a windowed loss's w_t) read
// from the wrong place, a window that only one engine applies.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resizeModel } from '../language-server/src/rules/variants.js';
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
        const run = (engine: 'compiled' | 'tfjs'): Promise<TrainReport> => train({
          text, model, rule, engine, threads: 1, task: 'evidence:T=24,train=48,test=32', steps: 3, batch: 8, seed: 3,
          evalEvery: 1, evalSamples: 32, finalSamples: 32, alignment: false,
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
          close(cu[k]!.gradNorm ?? null, tu[k]!.gradNorm ?? null, 1e-3, `update ${k + 1} gradient norm`);
        }
        assert.ok(cu[0]!.loss > 0, 'the loss of a windowed model is not zero');
        assert.equal(c.metrics.curve.length, t.metrics.curve.length);
        c.metrics.curve.forEach((e, k) => close(e.testLoss, t.metrics.curve[k]!.testLoss, 1e-3, `evaluation ${k + 1} test loss`));
        close(c.final.loss, t.final.loss, 1e-3, 'final loss');
        close(c.final.testAccuracy, t.final.testAccuracy, 1e-9, 'final test accuracy');
      });
    }
  }
});
