// The approximation kinds beyond keep/diagonal/drop (lang/approximations.ts,
// rules/kinds.ts, rules/topk.ts): the language reads and checks them; each
// is derived into the online program and run by the Float64 executor, and
// checked against an independent reference — a factored scalar filter
// against the unfactored program and exact BPTT (it is exact), random
// feedback against the same rule on a model whose readout matrix is the
// random one, truncation against BPTT of each window run as its own
// sequence, quantisation against its definition — with costs against hand
// counts, and find-rule's front carrying them.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../language-server/src/compile.js';
import { approximate, BlockEvaluator, type Approximation } from '../language-server/src/rules/blocks.js';
import { modelContextOf, prepareRule, ruleGradient, sampleInput, type ModelContext } from '../language-server/src/rules/model.js';
import type { RuleSpec } from '../language-server/src/rules/rule.js';
import { ruleText } from '../language-server/src/rules/rule.js';
import { ruleCost } from '../language-server/src/rules/cost.js';
import { checkHardware, LOIHI2 } from '../language-server/src/rules/hardware.js';
import { ruleCredit } from '../language-server/src/rules/credit.js';
import { feedbackMatrix, quantizeTrace } from '../language-server/src/rules/kinds.js';
import { findLearningRule } from '../language-server/src/rules/find.js';
import { resizeModel } from '../language-server/src/rules/variants.js';
import { ruleDiagnostics } from '../language-server/src/rules/diagnostics.js';
import type { Tensor } from '../language-server/src/graph/types.js';

const EX = join(__dirname, '..', 'examples');
const read = (f: string): string => readFileSync(join(EX, f), 'utf8');
const A = (of: string, wrt: string, kind: Approximation['kind'], wrtOffset: 0 | 1 = 0, args?: Record<string, number>): Approximation => ({
  of,
  wrt,
  wrtOffset,
  kind,
  ...(args ? { args } : {}),
});
const rule = (model: string, approximations: Approximation[], extra: Partial<RuleSpec> = {}): RuleSpec => ({
  name: 'r',
  model,
  approximations,
  schedule: { kind: 'online' },
  objectives: [],
  ...extra,
});

function maxRel(a: ReadonlyMap<string, Float64Array>, b: ReadonlyMap<string, Float64Array>): number {
  let worst = 0;
  for (const [k, x] of b) {
    const y = a.get(k)!;
    let s = 0;
    let e = 0;
    for (let i = 0; i < x.length; i++) {
      s = Math.max(s, Math.abs(x[i]!));
      e = Math.max(e, Math.abs(x[i]! - y[i]!));
    }
    worst = Math.max(worst, s ? e / s : e);
  }
  return worst;
}

describe('rules: approximation kinds', () => {
  describe('the language', () => {
    it('parses the kinds with their arguments and the rule-wide statements, and writes them back', () => {
      const text = `${read('lif.eligo')}
rule k for lif {
  approximate d(u[t+1])/d(z) = 0
  approximate d(u[t+1])/d(u) = filter
  approximate d(loss)/d(z[t+1]) = random(scale = 0.2, seed = 3)
  truncate 25
  quantize traces 7 bits stochastic seed 4
}`;
      const c = compile(text);
      assert.deepEqual(
        c.diagnostics.filter((d) => d.severity === 'error'),
        [],
      );
      const item = c.items.find((i) => i.name === 'k')!;
      const ctx = modelContextOf(text, 'lif');
      const diags = ruleDiagnostics(c, { steps: 10 });
      assert.deepEqual(
        diags.filter((d) => d.severity === 'error'),
        [],
      );
      assert.ok(item);
      const spec = prepareRule(ctx, {
        ...rule('lif', [A('u', 'z', 'zero'), A('u', 'u', 'filter'), A('loss', 'z', 'random', 1, { scale: 0.2, seed: 3 })]),
        truncate: 25,
        quantize: { bits: 7, rounding: 'stochastic', seed: 4 },
      }).spec;
      const written = ruleText(spec, 'k');
      assert.match(written, /random\(scale = 0\.2, seed = 3\)/);
      assert.match(written, /truncate 25/);
      assert.match(written, /quantize traces 7 bits stochastic seed 4/);
    });

    it('refuses wrong arguments, ranges and kinds where they cannot apply, with a location', () => {
      const text = `${read('lif.eligo')}
rule bad for lif {
  approximate d(u[t+1])/d(z) = top(k = 0)
  approximate d(loss)/d(z[t+1]) = random(sale = 2)
  approximate d(u[t+1])/d(u) = diagonal(3)
  truncate 0
  quantize traces 1 bits
}
rule bad2 for lif {
  approximate d(u[t+1])/d(z) = filter
  approximate d(loss)/d(W_out) = random
  approximate d(u[t+1])/d(u) = top(2)
}
rule bad3 for lif {
  approximate d(u[t+1])/d(z) = top(2)
  schedule reverse
}`;
      const c = compile(text);
      const msgs = c.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
      assert.ok(
        msgs.some((m) => /'k' of 'top' must be a whole number ≥ 1, got 0/.test(m)),
        msgs.join('\n'),
      );
      assert.ok(msgs.some((m) => /'random' has no argument 'sale'/.test(m)));
      assert.ok(msgs.some((m) => /'diagonal' takes no arguments/.test(m)));
      assert.ok(msgs.some((m) => /truncate needs a whole number of steps ≥ 1/.test(m)));
      assert.ok(msgs.some((m) => /quantize traces needs 2 to 24 bits/.test(m)));
      const rd = ruleDiagnostics(c, { steps: 10 });
      const codes = rd.map((d) => `${d.code}: ${d.message}`);
      assert.ok(
        codes.some((m) => m.startsWith('rule.not-filter')),
        codes.join('\n'),
      );
      assert.ok(codes.some((m) => m.startsWith('rule.no-feedback')));
      assert.ok(codes.some((m) => m.startsWith('rule.top-range')));
      assert.ok(codes.some((m) => m.startsWith('rule.kind-schedule') && /'top' needs 'schedule online'/.test(m)));
      for (const d of rd) assert.ok(d.range.end > d.range.start, `${d.code} is located`);
    });
  });

  describe('factored scalar filters (F_κ)', () => {
    it('LIF e-prop: the same update as the unfactored program (1e-12), presynaptic traces instead of per-synapse ones', () => {
      const ctx = modelContextOf(read('lif.eligo'), 'lif');
      const plain = prepareRule(ctx, rule('lif', [A('u', 'z', 'zero'), A('u', 'u', 'diagonal')]));
      const fact = prepareRule(ctx, rule('lif', [A('u', 'z', 'zero'), A('u', 'u', 'filter')]));
      const inp = sampleInput(ctx, 40, 3);
      assert.ok(maxRel(ruleGradient(ctx, fact, inp).gradient, ruleGradient(ctx, plain, inp).gradient) < 1e-12);
      // Hand count: e-prop's traces are z̄ (64 for W_rec) and x̄ (20 for W_in), 8 bytes each, instead of 64×64 + 64×20.
      assert.equal(ruleCost(ctx, fact, 20).memoryBytes, 8 * (64 + 20));
      assert.equal(ruleCost(ctx, plain, 20).memoryBytes, 8 * (64 * 64 + 64 * 20));
      assert.ok(checkHardware(LOIHI2, true, fact.derived.program).fits, 'factored LIF e-prop fits Loihi 2');
    });

    it('a zenke-style readout (F, O filtered) with nothing else approximated equals BPTT (1e-9), with traces one output smaller', () => {
      const text = resizeModel(read('zenke_lif.eligo'), 'zenke_lif', { n: 5, n_in: 3 }).replace(
        'loss = cross_entropy(max_over_time(O[t+1]), y[t+1]) at last',
        'loss = cross_entropy(O[t+1], y[t+1])',
      );
      const ctx = modelContextOf(text, 'zenke_lif');
      const ep = [A('I', 'S_delay1', 'zero'), A('I', 'I', 'diagonal')];
      const fact = prepareRule(ctx, rule('zenke_lif', [A('I', 'S_delay1', 'zero'), A('I', 'I', 'filter'), A('F', 'F', 'filter'), A('O', 'O', 'filter')]));
      const plain = prepareRule(ctx, rule('zenke_lif', ep));
      const inp = sampleInput(ctx, 30, 2);
      assert.ok(maxRel(ruleGradient(ctx, fact, inp).gradient, ruleGradient(ctx, plain, inp).gradient) < 1e-12);
      const t = fact.derived.program.traces.filter((x) => x.filtered);
      assert.deepEqual(t.map((x) => x.filtered!.of).sort(), ['F', 'F', 'O', 'O']);
      assert.ok(
        t.every((x) => x.state === 'S' && x.storage === 'row'),
        "G(F,W) = W2·H with H shaped like the spikes' trace",
      );
      assert.ok(ruleCost(ctx, fact, 20).memoryBytes < ruleCost(ctx, plain, 20).memoryBytes);
      // Exact: the filters alone (RTRL otherwise) give BPTT's gradient.
      const exactF = prepareRule(ctx, rule('zenke_lif', [A('F', 'F', 'filter'), A('O', 'O', 'filter')]));
      const bptt = prepareRule(ctx, rule('zenke_lif', [], { schedule: { kind: 'reverse' } }));
      assert.ok(maxRel(ruleGradient(ctx, exactF, inp).gradient, ruleGradient(ctx, bptt, inp).gradient) < 1e-9);
    });

    it("ALIF e-prop: 4 → 3 words of learning state per synapse, the same update; still more than Loihi 2's 2", () => {
      const ctx = modelContextOf(read('alif.eligo'), 'alif');
      const plain = prepareRule(ctx, rule('alif', [A('v', 'z', 'zero'), A('v', 'v', 'diagonal')]));
      const fact = prepareRule(ctx, rule('alif', [A('v', 'z', 'zero'), A('v', 'v', 'filter'), A('a', 'a', 'filter'), A('zbar', 'zbar', 'filter')]));
      const inp = sampleInput(ctx, 25, 4);
      assert.ok(maxRel(ruleGradient(ctx, fact, inp).gradient, ruleGradient(ctx, plain, inp).gradient) < 1e-12);
      assert.equal(checkHardware(LOIHI2, true, plain.derived.program).perSynapseWords, 4);
      const hw = checkHardware(LOIHI2, true, fact.derived.program);
      assert.equal(hw.perSynapseWords, 3);
      assert.equal(hw.fits, false);
      assert.equal(
        ruleCost(ctx, plain, 20).memoryBytes - ruleCost(ctx, fact, 20).memoryBytes,
        8 * (100 * 40 + 100 * 100 - 40 - 100),
        'G(v,·) is x̄ and z̄, not one copy per neuron',
      );
    });
  });

  it('random feedback: the learning signal is Bᵀe instead of W_outᵀe, B the seeded matrix (one step, by hand)', () => {
    const text = resizeModel(read('lif.eligo'), 'lif', { n: 6, n_in: 3 });
    const ctx = modelContextOf(text, 'lif');
    const ep = [A('u', 'z', 'zero'), A('u', 'u', 'diagonal')];
    const rnd = prepareRule(ctx, rule('lif', [...ep, A('loss', 'z', 'random', 1, { scale: 0.3, seed: 7 })]));
    const inp = sampleInput(ctx, 30, 5);
    const got = ruleGradient(ctx, rnd, inp).gradient;
    const B = feedbackMatrix(rnd.derived.program.blocks.find((b) => b.feedback)!.feedback!.matrices[0]!.seed, [2, 6], 0.3);
    const one = ruleGradient(ctx, rnd, { ...inp, steps: 1 }).gradient.get('W_in')!;
    const ref = ruleGradient(ctx, prepareRule(ctx, rule('lif', ep)), { ...inp, steps: 1 }).gradient.get('W_in')!;
    // One step: ΔW_in[j, i] = λ_j ψ_j x_i, so row j of the two rules differs by (Bᵀe)_j / (W_outᵀe)_j, e = ŷ − y.
    const p = inp.params.get('W_out')!.data;
    const e = [0, 1].map(() => 0);
    // The error e = ŷ − y at step 1 (mse/2 over 2 outputs: ∂loss/∂ŷ = (ŷ − y)).
    const x = inp.data.get('x')![0]!.data;
    const W = inp.params.get('W_in')!.data;
    const u = Array.from({ length: 6 }, (_, j) => Array.from({ length: 3 }, (_, i) => W[j * 3 + i]! * x[i]!).reduce((a, b) => a + b, 0));
    const z = u.map((v) => (v - 1 >= 0 ? 1 : 0));
    const y = inp.data.get('y')![0]!.data;
    for (let k = 0; k < 2; k++) e[k] = Array.from({ length: 6 }, (_, j) => p[k * 6 + j]! * z[j]!).reduce((a, b) => a + b, 0) - y[k]!;
    for (let j = 0; j < 6; j++) {
      const lb = B[j]! * e[0]! + B[6 + j]! * e[1]!;
      const lw = p[j]! * e[0]! + p[6 + j]! * e[1]!;
      for (let i = 0; i < 3; i++) {
        if (Math.abs(ref[j * 3 + i]!) < 1e-12) continue;
        assert.ok(Math.abs(one[j * 3 + i]! / ref[j * 3 + i]! - lb / lw) < 1e-9, `row ${j}: ${one[j * 3 + i]! / ref[j * 3 + i]!} vs ${lb / lw}`);
      }
    }
    assert.ok(got.get('W_in')!.some((v) => v !== 0));
    assert.equal(ruleCredit(ctx.structure, rnd).paths.W_in, 'feedback');
  });

  it('truncation: online (traces restart every K steps) and reverse both equal BPTT of each window run as its own sequence', () => {
    const ctx = modelContextOf(resizeModel(read('alif.eligo'), 'alif', { n: 5, n_in: 3 }), 'alif');
    const K = 7;
    const T = 30;
    const inp = sampleInput(ctx, T, 9);
    const online = ruleGradient(ctx, prepareRule(ctx, rule('alif', [], { truncate: K })), inp).gradient;
    const reverse = ruleGradient(ctx, prepareRule(ctx, rule('alif', [], { schedule: { kind: 'reverse' }, truncate: K })), inp).gradient;
    // Reference: the states of the full run at the window starts, then exact BPTT of each window on its own.
    const bptt = prepareRule(ctx, rule('alif', [], { schedule: { kind: 'reverse' } }));
    const ref = new Map<string, Float64Array>();
    let states: ReadonlyMap<string, Tensor> = inp.initial;
    for (let t0 = 0; t0 < T; t0 += K) {
      const steps = Math.min(K, T - t0);
      const data = new Map([...inp.data].map(([k, seq]) => [k, seq.slice(t0, t0 + steps)]));
      const g = ruleGradient(ctx, bptt, { steps, params: inp.params, data, initial: new Map(states) }).gradient;
      for (const [k, v] of g)
        ref.set(
          k,
          (ref.get(k) ?? new Float64Array(v.length)).map((x, i) => x + v[i]!),
        );
      states = advance(ctx, inp.params, data, states, steps);
    }
    assert.ok(maxRel(online, ref) < 1e-9, `online ${maxRel(online, ref)}`);
    assert.ok(maxRel(reverse, ref) < 1e-9, `reverse ${maxRel(reverse, ref)}`);
    const full = ruleGradient(ctx, bptt, inp).gradient;
    assert.ok(maxRel(online, full) > 1e-3, 'and it is not the full gradient');
    // Memory: K stored steps, not T.
    const c = ruleCost(ctx, prepareRule(ctx, rule('alif', [], { schedule: { kind: 'reverse' }, truncate: K })), T);
    assert.equal(c.memory.historyBytes, 8 * 5 * 5 * K);
  });

  it('quantised traces: B-bit multiples of one power-of-two scale; nearest and stochastic as defined', () => {
    const v = Float64Array.from([0.3, -0.71, 0.05, 0.999, -0.0004]);
    const q = Float64Array.from(v);
    quantizeTrace(q, 4, false, 1, 0, 0);
    // max |v| = 0.999 → scale 2^0, quantum 2^(0 − 3) = 1/8, levels ±7.
    assert.deepEqual(Array.from(q), [0.25, -0.75, 0, 0.875, -0]);
    const s = Float64Array.from(v);
    quantizeTrace(s, 4, true, 1, 0, 0);
    s.forEach((x, i) => {
      assert.ok(Number.isInteger(x * 8), `${x} is a multiple of 1/8`);
      assert.ok(Math.abs(x - v[i]!) < 1 / 8 + 1e-12, 'within one quantum');
    });
    // Stochastic rounding is unbiased: the mean over many steps tends to the value.
    let acc = 0;
    for (let t = 0; t < 4000; t++) {
      const w = Float64Array.from([0.3, 1]);
      quantizeTrace(w, 4, true, 2, t, 0);
      acc += w[0]!;
    }
    assert.ok(Math.abs(acc / 4000 - 0.3) < 0.01, `mean ${acc / 4000}`);
    const ctx = modelContextOf(read('lif.eligo'), 'lif');
    const r = prepareRule(ctx, rule('lif', [A('u', 'z', 'zero'), A('u', 'u', 'filter')], { quantize: { bits: 7, rounding: 'nearest', seed: 1 } }));
    assert.equal(ruleCost(ctx, r, 20).memoryBytes, Math.ceil((84 * 7) / 8), '84 trace values at 7 bits');
  });

  it('top(k): k entries per row kept, chosen on data, the SnAp-2 pattern I ∪ M, its memory counted by hand', () => {
    const ctx = modelContextOf(resizeModel(read('lif.eligo'), 'lif', { n: 8, n_in: 3 }), 'lif');
    const r = prepareRule(ctx, rule('lif', [A('u', 'z', 'top', 0, { k: 2 })]), [sampleInput(ctx, 20, 1)]);
    const b = r.approx.blocks.find((x) => x.top)!;
    assert.equal(b.mask!.length, 8 * 2);
    const t = r.derived.program.traces.find((x) => x.name === 'G_u_W_rec')!;
    const diag = new Set(Array.from({ length: 8 }, (_, j) => j * 8 + j));
    const pattern = new Set([...diag, ...b.mask!]);
    assert.deepEqual(
      t.pattern,
      [...pattern].sort((x, y) => x - y),
    );
    // Memory: every trace of W_rec (u and z) and W_in holds |I ∪ M| × R values.
    const mem = ruleCost(ctx, r, 20).memoryBytes;
    assert.equal(mem, 8 * pattern.size * (8 + 3) * 2);
    const inp = sampleInput(ctx, 20, 3);
    const g = ruleGradient(ctx, r, inp).gradient;
    const exact = ruleGradient(ctx, prepareRule(ctx, rule('lif', [], { schedule: { kind: 'reverse' } })), inp).gradient;
    assert.ok(maxRel(g, exact) > 0, 'an approximation');
    // With k = n the pattern is everything and the block is exact: RTRL's (= BPTT's) gradient.
    const full = prepareRule(ctx, rule('lif', [A('u', 'z', 'top', 0, { k: 8 })]), [sampleInput(ctx, 20, 1)]);
    assert.ok(maxRel(ruleGradient(ctx, full, inp).gradient, exact) < 1e-9);
  });

  it('layer-local e-prop on two layers: the first layer learns from the output error through its own random matrix, no credit across layers', () => {
    const ctx = modelContextOf(resizeModel(read('two_layer.eligo'), 'two_layer', { n1: 6, n2: 5, n_in: 4 }), 'two_layer');
    const r = prepareRule(ctx, rule('two_layer', [A('I2', 'S1_delay2', 'local')]));
    assert.deepEqual(r.approx.problems, []);
    const sig = r.derived.program.signals.find((s) => s.state === 'S1')!;
    assert.equal(sig.terms.length, 1);
    assert.equal(sig.terms[0]!.block, 'feedback mean_over_time1→S1');
    const credit = ruleCredit(ctx.structure, r);
    assert.equal(credit.paths.W1, 'feedback');
    assert.deepEqual(credit.untrained, []);
    const cut = prepareRule(ctx, rule('two_layer', [A('I2', 'S1_delay2', 'zero')]));
    assert.ok(cut.derived.program.untrained.includes('W1'), 'without the feedback the first layer learns nothing');
  });

  it('find-rule puts the kinds on the front, named after the rule they extend, and factored LIF e-prop fits Loihi 2', async function () {
    this.timeout(60000);
    const ctx: ModelContext = modelContextOf(resizeModel(read('lif.eligo'), 'lif', { n: 10, n_in: 4 }), 'lif');
    const r = await findLearningRule(ctx, { budgetMs: 15000, steps: 12, samples: 1, seed: 1, hardware: LOIHI2 });
    const names = r.evaluated.map((c) => c.known);
    for (const n of ['e-prop (factored filters)', 'random e-prop', 'truncated BPTT (3 steps)', 'SnAp-2 (top-k)', 'e-prop (7-bit traces)'])
      assert.ok(names.includes(n), `${n} among ${names.join(', ')}`);
    assert.ok(
      r.front.some((c) => c.spec.approximations.some((a) => a.kind === 'filter')),
      'a factored rule is on the Loihi 2 front',
    );
    const rnd = r.evaluated.find((c) => c.known === 'random e-prop')!;
    assert.match(rnd.text, /random/);
    assert.match(rnd.credit.summary, /random feedback/);
  });
});

/** The states after `steps` steps from `initial` (the model's forward pass, via the rules engine's evaluator). */
function advance(
  ctx: ModelContext,
  params: ReadonlyMap<string, Tensor>,
  data: ReadonlyMap<string, readonly Tensor[]>,
  initial: ReadonlyMap<string, Tensor>,
  steps: number,
): Map<string, Tensor> {
  const ev = new BlockEvaluator(ctx.structure, approximate(ctx.structure, []).blocks);
  let s = new Map(initial);
  for (let t = 0; t < steps; t++) s = ev.step({ t, states: s, params, data: new Map([...data].map(([k, seq]) => [k, seq[t]!])) }).next;
  return s;
}
