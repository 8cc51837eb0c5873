// The PyTorch export against the Float64 executor: the exported module's
// online update (e-prop) and its autograd BPTT gradient equal Eligo's
// (rules/execute.ts runOnline, rules/schedules.ts runReverse) to 1e-5 on the
// LIF and ALIF examples, run by Debian's /usr/bin/python3 with torch. And the
// Lava export of LIF e-prop: the Loihi 2 rule strings, traces and coefficients.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportLava, LavaExportError, quantise } from '../language-server/src/interop/lava.js';
import { torchModule } from '../language-server/src/interop/torch.js';
import { modelContextOf, prepareRule, ruleGradient, sampleInput } from '../language-server/src/rules/model.js';
import { ruleSpec } from '../language-server/src/rules/rule.js';

const tmp = mkdtempSync(join(tmpdir(), 'eligo-torch-'));

function prepared(example: string, model: string, rule: string) {
  const ctx = modelContextOf(readFileSync(`examples/${example}.eligo`, 'utf8'), model);
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
    out[case['module']] = {'loss': loss, 'grad': {k: v.reshape(-1).tolist() for k, v in g.items()}}
print(json.dumps(out))
`;

describe('PyTorch export (python3 + torch)', function () {
  this.timeout(180000);

  it('the exported updates equal the Float64 executor to 1e-5: e-prop and BPTT on LIF and ALIF', () => {
    const cases: Record<string, unknown>[] = [];
    const expected = new Map<string, { grad: Map<string, Float64Array>; loss: number }>();
    for (const [example, model] of [['lif', 'lif'], ['alif', 'alif']] as const) {
      for (const ruleName of ['eprop', 'bptt']) {
        const { ctx, spec, rule } = prepared(example, model, ruleName);
        const online = spec.schedule.kind === 'online';
        const text = torchModule({ compiled: ctx.compiled, scope: ctx.scope, graph: ctx.graph, model, rule: ruleName, program: online ? rule.derived.program : null });
        const name = `${model}_${ruleName}`;
        const path = join(tmp, `${name}.py`);
        writeFileSync(path, text);
        const steps = 12;
        const input = sampleInput(ctx, steps, 5);
        const g = ruleGradient(ctx, rule, input);
        expected.set(name, { grad: g.gradient, loss: g.totalLoss });
        cases.push({
          module: name, path, online, steps,
          params: Object.fromEntries([...input.params].map(([k, v]) => [k, { shape: v.shape, data: Array.from(v.data) }])),
          data: Object.fromEntries([...input.data].map(([k, seq]) => [k, seq.map((t) => Array.from(t.data))])),
        });
      }
    }
    const json = join(tmp, 'cases.json');
    writeFileSync(json, JSON.stringify(cases));
    const r = spawnSync('/usr/bin/python3', ['-c', HARNESS, json], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, { loss: number; grad: Record<string, number[]> }>;
    for (const [name, exp] of expected) {
      const mine = got[name]!;
      assert.ok(Math.abs(mine.loss - exp.loss) <= 1e-9 * Math.max(1, Math.abs(exp.loss)), `${name}: loss ${mine.loss} vs ${exp.loss}`);
      for (const [param, ref] of exp.grad) {
        const v = mine.grad[param]!;
        assert.equal(v.length, ref.length, `${name}.${param}`);
        const scale = Math.max(1e-12, ...Array.from(ref, Math.abs));
        let worst = 0;
        for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i]! - ref[i]!) / scale);
        assert.ok(worst <= 1e-5, `${name}.${param}: largest difference ${worst} of the largest entry`);
        assert.ok(scale > 1e-8, `${name}.${param} has a nonzero update`);
      }
    }
  });

  it('the module trains from its __main__ on random data', () => {
    const { ctx, rule } = prepared('lif', 'lif', 'eprop');
    const path = join(tmp, 'lif_main.py');
    writeFileSync(path, torchModule({ compiled: ctx.compiled, scope: ctx.scope, graph: ctx.graph, model: 'lif', rule: 'eprop', program: rule.derived.program }));
    const r = spawnSync('/usr/bin/python3', [path, '--iterations', '2', '--steps', '5'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /iteration 1\/2: loss \d+\.\d+\niteration 2\/2: loss \d+\.\d+/);
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

  it('ALIF e-prop does not fit and says which limit it breaks', () => {
    const { ctx, rule } = prepared('alif', 'alif', 'eprop');
    assert.throws(() => exportLava(ctx.compiled, ctx.scope, rule.derived.program, 'eprop', { learningRate: 0.01 }), (e: unknown) => {
      assert.ok(e instanceof LavaExportError);
      assert.match(e.message, /does not fit Loihi 2: .*learning-state words per synapse of W_in, more than the 2 the chip has/);
      return true;
    });
  });
});
