// Schedules are elimination orders of the unrolled equation graph: with
// nothing approximated, BPTT (reverse), RTRL (online), forward and explicit
// orders give the same gradient, and it equals finite differences (of the
// model's smooth twin, whose derivative is the surrogate gradient).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { simulate } from '../language-server/src/graph/simulate.js';
import type { Tensor } from '../language-server/src/graph/types.js';
import { Rng } from '../language-server/src/graph/random.js';
import { modelContextOf, prepareRule, ruleGradient, sampleInput, type ModelContext } from '../language-server/src/rules/model.js';
import type { RuleSpec, ScheduleSpec } from '../language-server/src/rules/rule.js';
import { resizeModel, smoothTwin } from '../language-server/src/rules/variants.js';

const MODELS = [
  { file: 'lif', model: 'lif', dims: { n: 5, n_in: 3 }, scale: 4 },
  { file: 'alif', model: 'alif', dims: { n: 5, n_in: 3 }, scale: 1.5 },
  { file: 'rnn', model: 'rnn', dims: { n: 5, n_in: 3 }, scale: 1.5 },
] as const;

function small(file: string, model: string, dims: Record<string, number>, smooth = false): ModelContext {
  let text = resizeModel(readFileSync(`examples/${file}.eligo`, 'utf8'), model, dims);
  if (smooth) text = smoothTwin(text, model);
  return modelContextOf(text, model);
}

function spec(model: string, schedule: ScheduleSpec): RuleSpec {
  return { name: schedule.kind, model, approximations: [], schedule, objectives: [] };
}

function input(ctx: ModelContext, T: number, scale: number, seed = 5) {
  const s = sampleInput(ctx, T, seed);
  for (const t of s.params.values()) for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! * scale;
  return s;
}

function maxRel(a: Map<string, Float64Array>, b: Map<string, Float64Array>): number {
  let num = 0;
  let den = 0;
  for (const [k, x] of b) {
    const y = a.get(k)!;
    for (let i = 0; i < x.length; i++) {
      num = Math.max(num, Math.abs(y[i]! - x[i]!));
      den = Math.max(den, Math.abs(x[i]!));
    }
  }
  return den === 0 ? num : num / den;
}

describe('rules: schedules give the same gradient when nothing is approximated', function () {
  this.timeout(120000);
  for (const m of MODELS) {
    it(`${m.model}: BPTT = RTRL = forward = explicit orders to 1e-8 for T = 1…50`, () => {
      const ctx = small(m.file, m.model, m.dims);
      const eqs = [...ctx.structure.updated.map((s) => s.name), 'loss'];
      const schedules: ScheduleSpec[] = [
        { kind: 'online' }, { kind: 'forward' },
        { kind: 'order', order: [...eqs].reverse().map((name) => ({ name })) },
        { kind: 'order', order: [{ name: 'loss' }, { name: eqs[0]! }] },
      ];
      const rules = [spec(m.model, { kind: 'reverse' }), ...schedules.map((s) => spec(m.model, s))].map((s) => prepareRule(ctx, s));
      let nonzero = 0;
      for (let T = 1; T <= 50; T++) {
        const inp = input(ctx, T, m.scale, T);
        const ref = ruleGradient(ctx, rules[0]!, inp).gradient;
        for (const g of ref.values()) nonzero += g.some((x) => x !== 0) ? 1 : 0;
        for (const r of rules.slice(1)) {
          const e = maxRel(ruleGradient(ctx, r, inp).gradient, ref);
          assert.ok(e <= 1e-8, `${m.model}, T = ${T}, schedule ${r.spec.schedule.kind}${r.spec.schedule.kind === 'order' ? ` [${r.spec.schedule.order.map((o) => o.name)}]` : ''}: relative difference ${e}`);
        }
      }
      assert.ok(nonzero > 50, 'the gradients should not all be zero');
    });

    it(`${m.model}: the gradient equals central finite differences of the smooth twin (T = 1, 10, 50)`, () => {
      const ctx = small(m.file, m.model, m.dims, true);
      const bptt = prepareRule(ctx, spec(m.model, { kind: 'reverse' }));
      const rtrl = prepareRule(ctx, spec(m.model, { kind: 'online' }));
      for (const T of [1, 10, 50]) {
        const inp = input(ctx, T, m.scale);
        const g = ruleGradient(ctx, bptt, inp).gradient;
        assert.ok(maxRel(ruleGradient(ctx, rtrl, inp).gradient, g) < 1e-8);
        const loss = (): number => simulate(ctx.graph, inp.params as Map<string, Tensor>, inp.data as Map<string, Tensor[]>, T, inp.initial).totalLoss;
        // Directional derivatives along random directions, and every entry of one parameter.
        const rng = new Rng(T);
        for (let k = 0; k < 3; k++) {
          const dir = new Map([...inp.params].map(([p, t]) => [p, Float64Array.from(t.data, () => rng.normal())]));
          const move = (h: number): void => {
            for (const [p, t] of inp.params) for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! + h * dir.get(p)![i]!;
          };
          // Small steps: the triangle surrogate's primitive has kinks in its second derivative.
          const h = 1e-6;
          move(h);
          const lp = loss();
          move(-2 * h);
          const lm = loss();
          move(h);
          const fd = (lp - lm) / (2 * h);
          let an = 0;
          for (const [p, d] of dir) for (let i = 0; i < d.length; i++) an += d[i]! * g.get(p)![i]!;
          assert.ok(Math.abs(fd - an) <= 1e-5 * Math.max(1, Math.abs(an)), `T = ${T}: finite difference ${fd}, gradient ${an}`);
        }
        const W = inp.params.get('W_rec')!;
        for (let i = 0; i < W.data.length; i++) {
          const old = W.data[i]!;
          W.data[i] = old + 1e-6;
          const lp = loss();
          W.data[i] = old - 1e-6;
          const lm = loss();
          W.data[i] = old;
          const fd = (lp - lm) / 2e-6;
          assert.ok(Math.abs(fd - g.get('W_rec')![i]!) <= 1e-5 * Math.max(1, Math.abs(fd)), `T = ${T}, W_rec[${i}]: finite difference ${fd}, gradient ${g.get('W_rec')![i]}`);
        }
      }
    });
  }
});
