// The PyTorch export against the Float64 executor: the exported module's
// online update (e-prop, RTRL, SnAp-1) and its autograd BPTT gradient equal
// Eligo's (rules/execute.ts runOnline, rules/schedules.ts runReverse) to 1e-5
// for every rule of every model example (lif, alif, zenke_lif, two_layer,
// rnn: named surrogates with scale, refractoriness through stop(), delays,
// loss windows, readouts over time), run by Debian's /usr/bin/python3 with
// torch on the examples shrunk to a few neurons (rules/variants.ts
// resizeModel) and short sequences. And the Lava export of LIF e-prop: the
// Loihi 2 rule strings, traces and coefficients.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportLava, LavaExportError, quantise } from '../language-server/src/interop/lava.js';
import { compile } from '../language-server/src/compile.js';
import { torchModule } from '../language-server/src/interop/torch.js';
import { modelContextOf, prepareRule, ruleGradient, sampleInput } from '../language-server/src/rules/model.js';
import type { Tensor } from '../language-server/src/graph/types.js';
import { LOSS_WEIGHT } from '../language-server/src/lang/lossWindow.js';
import { ruleSpec } from '../language-server/src/rules/rule.js';
import { resizeModel } from '../language-server/src/rules/variants.js';

const tmp = mkdtempSync(join(tmpdir(), 'eligo-torch-'));

// Every model example, shrunk so that the whole comparison (13 rules) runs in seconds.
const EXAMPLES: readonly { example: string; dims: Record<string, number>; steps: number }[] = [
  { example: 'lif', dims: { n: 6 }, steps: 20 },
  { example: 'alif', dims: { n_in: 4, n: 6 }, steps: 12 },
  { example: 'zenke_lif', dims: { n_in: 4, n: 6 }, steps: 14 },
  { example: 'two_layer', dims: { n1: 6, n2: 4 }, steps: 20 },
  { example: 'rnn', dims: { n_in: 3, n: 5 }, steps: 10 },
];

function prepared(example: string, model: string, rule: string, dims?: Record<string, number>) {
  const text = readFileSync(`examples/${example}.eligo`, 'utf8');
  const ctx = modelContextOf(dims ? resizeModel(text, model, dims) : text, model);
  const scope = ctx.compiled.checked.items.get(rule);
  assert.ok(scope && scope.kind === 'rule');
  const spec = ruleSpec(scope.item);
  return { ctx, spec, rule: prepareRule(ctx, spec) };
}

// Loads each exported module, runs it on the given parameters and data, prints its updates as JSON.
const HARNESS = `
import importlib.util, json, sys, torch
cases = json.load(open(sys.argv[1]))
out = {}
for case in cases:
    spec = importlib.util.spec_from_file_location(case['module'], case['path'])
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    shapes = {n: s for n, r, s in mod.DATA}
    params = {k: torch.tensor(v['data'], dtype=torch.float64).reshape(v['shape']) for k, v in case['params'].items()}
    data = {k: torch.tensor(v, dtype=torch.float64).reshape(len(v), *shapes[k]) for k, v in case['data'].items()}
    f = mod.online_update if case['online'] else mod.bptt_gradient
    g, loss = f(params, data, case['steps'])
    out[case['module']] = {'loss': loss, 'grad': {k: v.reshape(-1).tolist() for k, v in g.items()},
                           'initial': {k: v.reshape(-1).tolist() for k, v in mod.initial_states().items()},
                           'random': {k: v.reshape(-1).tolist() for k, v in mod.random_data(case['steps']).items() if k == 'loss_weight'}}
print(json.dumps(out))
`;

describe('PyTorch export (python3 + torch)', function () {
  this.timeout(180000);

  it('the exported updates equal the Float64 executor to 1e-5: every rule of every model example', () => {
    // Every example with a model is here: a new one has to be added (and pass).
    const withModels = readdirSync('examples')
      .filter((f) => f.endsWith('.eligo') && /^model /m.test(readFileSync(`examples/${f}`, 'utf8')))
      .map((f) => f.replace(/\.eligo$/, ''));
    assert.deepEqual(withModels.sort(), EXAMPLES.map((e) => e.example).sort());
    const cases: Record<string, unknown>[] = [];
    const expected = new Map<string, { grad: Map<string, Float64Array>; loss: number; initial: Map<string, Tensor>; weights: number[] | undefined }>();
    for (const { example, dims, steps } of EXAMPLES) {
      const model = example;
      const c = compile(readFileSync(`examples/${example}.eligo`, 'utf8'));
      const rules = [...c.checked.items.values()].filter((s) => s.kind === 'rule' && s.model?.item.name.name === model).map((s) => s.item.name.name);
      assert.ok(rules.length >= 2, `${example}: ${rules.join(', ')}`);
      for (const ruleName of rules) {
        const { ctx, spec, rule } = prepared(example, model, ruleName, dims);
        const online = spec.schedule.kind === 'online';
        const text = torchModule({
          compiled: ctx.compiled,
          scope: ctx.scope,
          graph: ctx.graph,
          model,
          rule: ruleName,
          program: online ? rule.derived.program : null,
        });
        const name = `${model}_${ruleName}`;
        const path = join(tmp, `${name}.py`);
        writeFileSync(path, text);
        const input = sampleInput(ctx, steps, 5);
        const g = ruleGradient(ctx, rule, input);
        const weights = input.data.get(LOSS_WEIGHT)?.map((w) => w.data[0]!);
        expected.set(name, { grad: g.gradient, loss: g.totalLoss, initial: input.initial, weights });
        cases.push({
          module: name,
          path,
          online,
          steps,
          params: Object.fromEntries([...input.params].map(([k, v]) => [k, { shape: v.shape, data: Array.from(v.data) }])),
          data: Object.fromEntries([...input.data].map(([k, seq]) => [k, seq.map((t) => Array.from(t.data))])),
        });
      }
    }
    const json = join(tmp, 'cases.json');
    writeFileSync(json, JSON.stringify(cases));
    const r = spawnSync('/usr/bin/python3', ['-c', HARNESS, json], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<
      string,
      { loss: number; grad: Record<string, number[]>; initial: Record<string, number[]>; random: Record<string, number[]> }
    >;
    const problems: string[] = [];
    for (const [name, exp] of expected) {
      const mine = got[name]!;
      // The states start where Eligo starts them (delay registers, max over time at the lowest float32, …),
      // and the module's own random data carries the loss window's weights.
      assert.deepEqual(Object.keys(mine.initial).sort(), [...exp.initial.keys()].sort(), name);
      for (const [k, v] of exp.initial) assert.deepEqual(mine.initial[k], Array.from(v.data), `${name}: initial ${k}`);
      assert.deepEqual(mine.random['loss_weight'], exp.weights, `${name}: loss weights`);
      if (!(Math.abs(mine.loss - exp.loss) <= 1e-9 * Math.max(1, Math.abs(exp.loss)))) problems.push(`${name}: loss ${mine.loss} vs ${exp.loss}`);
      for (const [param, ref] of exp.grad) {
        const v = mine.grad[param]!;
        assert.equal(v.length, ref.length, `${name}.${param}`);
        const scale = Math.max(1e-12, ...Array.from(ref, Math.abs));
        let worst = 0;
        for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i]! - ref[i]!) / scale);
        if (!(worst <= 1e-5)) problems.push(`${name}.${param}: largest difference ${worst} of the largest entry`);
        if (!(scale > 1e-8)) problems.push(`${name}.${param} has no nonzero update (the comparison would prove nothing)`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('the module trains from its __main__ on random data (LIF; zenke_lif with its delay and loss at last)', () => {
    for (const [example, dims] of [
      ['lif', undefined],
      ['zenke_lif', { n: 8 }],
    ] as const) {
      const { ctx, rule } = prepared(example, example, 'eprop', dims);
      const path = join(tmp, `${example}_main.py`);
      writeFileSync(
        path,
        torchModule({ compiled: ctx.compiled, scope: ctx.scope, graph: ctx.graph, model: example, rule: 'eprop', program: rule.derived.program }),
      );
      const r = spawnSync('/usr/bin/python3', [path, '--iterations', '2', '--steps', '5'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /iteration 1\/2: loss \d+\.\d+\niteration 2\/2: loss \d+\.\d+/);
    }
  });
});

describe('Lava export (Loihi 2 learning rules)', () => {
  it('quantises coefficients to m·2^e with a 4-bit mantissa and reports the error', () => {
    const q = quantise(-0.01 / 1024);
    assert.ok(Math.abs(q.mantissa) <= 15 && Math.abs(q.mantissa) >= 8);
    assert.equal(q.mantissa * 2 ** q.exponent, -10 * 2 ** -20);
    assert.ok(Math.abs(q.relativeError - Math.abs(-10 * 2 ** -20 + 0.01 / 1024) / (0.01 / 1024)) < 1e-12);
    assert.equal(quantise(0.75).text, '12*2^-4');
    assert.equal(quantise(3).relativeError, 0);
  });

  it('e-prop on the LIF example fits Loihi 2: x1 from the membrane decay, y2 the learning signal times ψ', () => {
    const { ctx, rule } = prepared('lif', 'lif', 'eprop');
    const res = exportLava(ctx.compiled, ctx.scope, rule.derived.program, 'eprop', { learningRate: 0.01 });
    const byParam = new Map(res.rules.map((r) => [r.param, r]));
    assert.deepEqual([...byParam.keys()], ['W_in', 'W_rec', 'W_out']);
    const rec = byParam.get('W_rec')!;
    assert.equal(rec.dw, '-10*2^-20 * u0 * x1 * y2');
    // τ = −1/ln α with α = exp(−1/20): 20 steps.
    assert.ok(Math.abs(rec.x1!.tau - 20) < 1e-9);
    assert.equal(rec.x1!.trace, 'G_u_W_rec');
    assert.equal(rec.x1!.source, 'z[t]');
    assert.equal(byParam.get('W_in')!.x1!.source, 'x[t+1]');
    assert.equal(byParam.get('W_out')!.dw, '-10*2^-16 * x0 * y2');
    // Sum-of-products strings over Lava's symbols with m*2^e coefficients.
    for (const r of res.rules) assert.match(r.dw, /^-?\d+\*2\^-?\d+( \* (x0|y0|u0|x1|x2|y1|y2|y3))+$/);
    assert.match(res.text, /W_rec_rule = LoihiLearningRule\(dw="-10\*2\^-20 \* u0 \* x1 \* y2", x1_impulse=16, x1_tau=20, t_epoch=1\)/);
    assert.match(res.text, /Eligo trace G_u_W_rec \(= z\[t\] filtered/);
    const py = spawnSync('/usr/bin/python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: res.text, encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
  });

  it('zenke_lif e-prop does not fit: the leaky readout and max over time need full sensitivities, more learning-state words than the chip has', () => {
    const { ctx, rule } = prepared('zenke_lif', 'zenke_lif', 'eprop');
    assert.throws(
      () => exportLava(ctx.compiled, ctx.scope, rule.derived.program, 'eprop', { learningRate: 0.01 }),
      (e: unknown) => {
        assert.ok(e instanceof LavaExportError);
        assert.match(e.message, /^rule 'eprop' does not fit Loihi 2: /);
        assert.match(e.message, /the update of W1 needs full sensitivities \(G_F_W1, G_O_W1, G_max_over_time1_W1\)/);
        assert.match(e.message, /9 learning-state words per synapse of W1, more than the 2 the chip has/);
        return true;
      },
    );
  });

  it('ALIF e-prop does not fit and says which limit it breaks', () => {
    const { ctx, rule } = prepared('alif', 'alif', 'eprop');
    assert.throws(
      () => exportLava(ctx.compiled, ctx.scope, rule.derived.program, 'eprop', { learningRate: 0.01 }),
      (e: unknown) => {
        assert.ok(e instanceof LavaExportError);
        assert.match(e.message, /does not fit Loihi 2: .*learning-state words per synapse of W_in, more than the 2 the chip has/);
        return true;
      },
    );
  });
});
