// Schedules are elimination orders of the unrolled equation graph: with
// nothing approximated, BPTT (reverse), RTRL (online), forward and explicit
// orders give the same gradient, and it equals finite differences (of the
// model's smooth twin, whose derivative is the surrogate gradient).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { simulate } from '../language-server/src/graph/simulate.js';
import { evaluate } from '../language-server/src/graph/evaluate.js';
import type { ModelStepGraph } from '../language-server/src/graph/build.js';
import type { Tensor } from '../language-server/src/graph/types.js';
import { Rng } from '../language-server/src/graph/random.js';
import { modelContextOf, prepareRule, ruleGradient, sampleInput, type ModelContext } from '../language-server/src/rules/model.js';
import type { RuleSpec, ScheduleSpec } from '../language-server/src/rules/rule.js';
import { resizeModel, smoothTwin } from '../language-server/src/rules/variants.js';

// `perturb` is the parameter whose every entry is checked by finite differences;
// `steps` the sequence lengths of the schedule comparison (all of 1…50 for the
// small models; a spread for the larger ones, to keep the suite quick).
const SOME_STEPS = [1, 2, 3, 4, 7, 12, 25, 40];
const MODELS: readonly {
  file: string;
  model: string;
  dims: Record<string, number>;
  scale: number;
  perturb: string;
  steps?: readonly number[];
  twin?: (t: string) => string;
}[] = [
  { file: 'lif', model: 'lif', dims: { n: 5, n_in: 3 }, scale: 4, perturb: 'W_rec' },
  { file: 'alif', model: 'alif', dims: { n: 5, n_in: 3 }, scale: 3, perturb: 'W_rec', steps: SOME_STEPS },
  { file: 'rnn', model: 'rnn', dims: { n: 5, n_in: 3 }, scale: 1.5, perturb: 'W_rec' },
  // A delay S[t-1], SuperSpike with slope 100, max over time, loss at the last step.
  { file: 'zenke_lif', model: 'zenke_lif', dims: { n: 5, n_in: 3 }, scale: 8, perturb: 'V1', steps: SOME_STEPS },
  // A delay of two steps between layers, two surrogates (one with scale 0.5), mean over time.
  { file: 'two_layer', model: 'two_layer', dims: { n1: 5, n2: 4, n_in: 3 }, scale: 8, perturb: 'W2', steps: SOME_STEPS },
];

function small(file: string, model: string, dims: Record<string, number>, smooth = false, twin?: (t: string) => string): ModelContext {
  let text = resizeModel(readFileSync(`examples/${file}.eligo`, 'utf8'), model, dims);
  if (smooth) text = smoothTwin(twin ? twin(text) : text, model);
  return modelContextOf(text, model);
}

/**
 * stop(e) means "differentiate as if e were a constant": finite differences
 * honour it when every stop vertex is replaced by a data leaf that replays its
 * values at the unperturbed point (a reset `1 − stop(S)`, a refractory counter).
 */
function freezeStops(
  graph: ModelStepGraph,
  params: Map<string, Tensor>,
  data: Map<string, Tensor[]>,
  T: number,
  initial: Map<string, Tensor>,
): { graph: ModelStepGraph; data: Map<string, Tensor[]> } {
  const stops = graph.vertices.filter((v) => v.op === 'stop').map((v) => v.id);
  if (!stops.length) return { graph, data };
  const recorded = new Map<string, Tensor[]>(stops.map((id) => [`stop${id}`, []]));
  let states = new Map(initial);
  for (let t = 0; t < T; t++) {
    const leaves = new Map<number, Tensor>();
    for (const s of graph.model.states) leaves.set(s.leaf, states.get(s.name)!);
    for (const p of graph.model.params) leaves.set(p.leaf, params.get(p.name)!);
    for (const d of graph.model.data) leaves.set(d.leaf, data.get(d.name)![t]!);
    const values = evaluate(graph, leaves);
    for (const id of stops) recorded.get(`stop${id}`)!.push(values[id]!);
    states = new Map(graph.model.states.map((s) => [s.name, values[s.next]!]));
  }
  const vertices = graph.vertices.map((v) => (v.op === 'stop' ? { ...v, op: 'input' as const, inputs: [], role: 'input' as const } : v));
  const model = { ...graph.model, data: [...graph.model.data, ...stops.map((id) => ({ name: `stop${id}`, leaf: id, role: 'input' as const }))] };
  return { graph: { ...graph, vertices, model }, data: new Map([...data, ...recorded]) };
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
        { kind: 'online' },
        { kind: 'forward' },
        { kind: 'order', order: [...eqs].reverse().map((name) => ({ name })) },
        { kind: 'order', order: [{ name: 'loss' }, { name: eqs[0]! }] },
      ];
      const rules = [spec(m.model, { kind: 'reverse' }), ...schedules.map((s) => spec(m.model, s))].map((s) => prepareRule(ctx, s));
      let nonzero = 0;
      for (const T of m.steps ?? Array.from({ length: 50 }, (_, k) => k + 1)) {
        const inp = input(ctx, T, m.scale, T);
        const ref = ruleGradient(ctx, rules[0]!, inp).gradient;
        for (const g of ref.values()) nonzero += g.some((x) => x !== 0) ? 1 : 0;
        for (const r of rules.slice(1)) {
          const e = maxRel(ruleGradient(ctx, r, inp).gradient, ref);
          assert.ok(
            e <= 1e-8,
            `${m.model}, T = ${T}, schedule ${r.spec.schedule.kind}${r.spec.schedule.kind === 'order' ? ` [${r.spec.schedule.order.map((o) => o.name).join(', ')}]` : ''}: relative difference ${e}`,
          );
        }
      }
      assert.ok(nonzero > (m.steps ? m.steps.length : 50), 'the gradients should not all be zero');
    });

    it(`${m.model}: the gradient equals central finite differences of the smooth twin (T = 1, 10, 50)`, () => {
      const ctx = small(m.file, m.model, m.dims, true, m.twin);
      const bptt = prepareRule(ctx, spec(m.model, { kind: 'reverse' }));
      const rtrl = prepareRule(ctx, spec(m.model, { kind: 'online' }));
      for (const T of [1, 10, 50]) {
        const inp = input(ctx, T, m.scale);
        const g = ruleGradient(ctx, bptt, inp).gradient;
        assert.ok(maxRel(ruleGradient(ctx, rtrl, inp).gradient, g) < 1e-8);
        const frozen = freezeStops(ctx.graph, inp.params as Map<string, Tensor>, inp.data as Map<string, Tensor[]>, T, inp.initial);
        const loss = (): number => simulate(frozen.graph, inp.params as Map<string, Tensor>, frozen.data, T, inp.initial).totalLoss;
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
        const W = inp.params.get(m.perturb)!;
        let moved = 0;
        for (let i = 0; i < W.data.length; i++) {
          const old = W.data[i]!;
          W.data[i] = old + 1e-6;
          const lp = loss();
          W.data[i] = old - 1e-6;
          const lm = loss();
          W.data[i] = old;
          const fd = (lp - lm) / 2e-6;
          assert.ok(
            Math.abs(fd - g.get(m.perturb)![i]!) <= 1e-5 * Math.max(1, Math.abs(fd)),
            `T = ${T}, ${m.perturb}[${i}]: finite difference ${fd}, gradient ${g.get(m.perturb)![i]}`,
          );
          if (fd !== 0) moved++;
        }
        if (T > 1) assert.ok(moved > 0, `T = ${T}: no entry of ${m.perturb} moves the loss: the check would be empty`);
      }
    });
  }
});
