// Find learning rule with accuracy (issue 14): honest credit labels,
// alignment on a task's data along a BPTT run (with the task's loss
// weights, checked against finite differences), successive halving through
// train(), the CLI's --json, and the bad input of the issue.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialParams, initialStates, simulate } from '../language-server/src/graph/simulate.js';
import { compile, findItem, modelStep } from '../language-server/src/compile.js';
import { CompiledEngine } from '../language-server/src/train/compiled/engine.js';
import { modelSpec } from '../language-server/src/train/model.js';
import { groupReasons } from '../language-server/src/cli/rules.js';
import { Rng } from '../language-server/src/graph/random.js';
import type { Tensor } from '../language-server/src/graph/types.js';
import { ruleCredit } from '../language-server/src/rules/credit.js';
import { findLearningRule, searchSpace, specOf } from '../language-server/src/rules/find.js';
import { modelContextOf, prepareRule, ruleGradient, sampleInput, type ModelContext } from '../language-server/src/rules/model.js';
import type { RuleSpec } from '../language-server/src/rules/rule.js';
import { resizeModel, smoothTwin } from '../language-server/src/rules/variants.js';
import { parsePayload, PayloadError, trainCandidate, type CandidatePayload } from '../language-server/src/discovery/candidate.js';
import { accuracyFront, DiscoverError, discoverRules, reachable, taskFor } from '../language-server/src/discovery/find.js';
import { referenceRun } from '../language-server/src/discovery/reference.js';
import { taskSamples } from '../language-server/src/discovery/taskSamples.js';

const LIF = readFileSync('examples/lif.eligo', 'utf8');
const ALIF = readFileSync('examples/alif.eligo', 'utf8');

/** A LIF layer whose leaky readout reads the spikes one step late: dropping that temporal block leaves only W_out reachable. */
const LATE = `model late {
  dim n_in = 4, n = 6, n_out = 2
  const alpha = exp(-1 / 20), kappa = exp(-1 / 10), theta = 1.0
  input  x: [n_in]
  target y: [n_out]
  param  W_in:  [n, n_in]  ~ normal(0, 0.5)
  param  W_rec: [n, n]     ~ normal(0, 0.2)
  param  W_out: [n_out, n] ~ normal(0, 0.3)
  state  u: [n] = 0
  state  z: [n] = 0
  state  o: [n_out] = 0
  surrogate spike = fast_sigmoid(slope = 10)
  u[t+1] = alpha * u + W_rec @ z + W_in @ x[t+1] - theta * z
  z[t+1] = spike(u[t+1] - theta)
  o[t+1] = kappa * o + W_out @ z
  loss = mse(o, y[t+1])
}
`;

/** The loss reads a copy of the readout one step later still: with every temporal block dropped nothing is updated. */
const LATER = LATE.replace('model late', 'model later')
  .replace('state  o: [n_out] = 0', 'state  o: [n_out] = 0\n  state  p: [n_out] = 0')
  .replace('loss = mse(o, y[t+1])', 'p[t+1] = o\n  loss = mse(p, y[t+1])');

const spec = (model: string, schedule: 'online' | 'reverse', approximations: RuleSpec['approximations'] = []): RuleSpec => ({
  name: null,
  model,
  approximations,
  schedule: { kind: schedule },
  objectives: [],
});

describe('find-rule: which parameters a rule updates, and how', () => {
  it('LIF: e-prop updates W_in, W_rec by eligibility × learning signal and W_out exactly; RTRL by full sensitivities; BPTT through time', () => {
    const ctx = modelContextOf(LIF, 'lif');
    const eprop = ruleCredit(
      ctx.structure,
      prepareRule(
        ctx,
        spec('lif', 'online', [
          { of: 'u', wrt: 'z', wrtOffset: 0, kind: 'zero' },
          { of: 'u', wrt: 'u', wrtOffset: 0, kind: 'diagonal' },
        ]),
      ),
    );
    assert.deepEqual(eprop.updatedParams, ['W_in', 'W_rec', 'W_out']);
    assert.equal(eprop.summary, 'W_in, W_rec: eligibility × learning signal; W_out: exact');
    assert.equal(eprop.kind, 'full');
    assert.deepEqual(eprop.readoutParams, ['W_out']);
    const rtrl = ruleCredit(ctx.structure, prepareRule(ctx, spec('lif', 'online')));
    assert.equal(rtrl.paths.W_rec, 'sensitivity');
    const bptt = ruleCredit(ctx.structure, prepareRule(ctx, spec('lif', 'reverse')));
    assert.equal(bptt.summary, 'W_in, W_rec: backpropagation through time; W_out: exact');
    const none = ruleCredit(
      ctx.structure,
      prepareRule(
        ctx,
        spec('lif', 'online', [
          { of: 'u', wrt: 'u', wrtOffset: 0, kind: 'zero' },
          { of: 'u', wrt: 'z', wrtOffset: 0, kind: 'zero' },
        ]),
      ),
    );
    assert.equal(none.paths.W_rec, 'within-step');
  });

  it('ALIF: the leaky readout o is not hidden, so W_out is a readout parameter', () => {
    const ctx = modelContextOf(ALIF.replace('n = 100', 'n = 8'), 'alif');
    assert.deepEqual(reachable(ctx).readoutParams, ['W_out']);
  });

  it('a model the tests have not seen: the rule with no recurrent credit updates only the readout, is labelled, and is not called "no recurrent credit"', async () => {
    const ctx = modelContextOf(LATE, 'late');
    const space = searchSpace(ctx);
    const dropped = prepareRule(
      ctx,
      specOf(
        ctx,
        space,
        space.map(() => 'zero'),
        'online',
      ),
    );
    const c = ruleCredit(ctx.structure, dropped);
    assert.equal(c.kind, 'readout-only');
    assert.deepEqual(c.updatedParams, ['W_out']);
    assert.match(c.warnings[0]!, /updates only the readout \(W_out\): it cannot learn W_in, W_rec/);
    const r = await findLearningRule(ctx, { budgetMs: 60000, steps: 12, samples: 1, seed: 1 });
    const labelled = r.evaluated.filter((x) => x.credit.kind === 'readout-only');
    assert.ok(labelled.length > 0);
    for (const x of labelled) {
      assert.equal(x.known, null);
      assert.match(x.ruleName, /^readout_only_\d+$/);
    }
    const lookalike = labelled.find((x) => x.lookalike === 'no recurrent credit')!;
    assert.match(lookalike.text, /^# readout only: has the approximations of no recurrent credit, but on this model they leave only W_out to learn/);
    assert.match(lookalike.text, /# warning: updates only the readout/);
    // Rules that do learn the hidden weights keep their names.
    assert.ok(r.evaluated.some((x) => x.known === 'e-prop' && x.credit.kind === 'full'));
  });

  it('a rule that updates nothing says so', () => {
    const ctx = modelContextOf(LATER, 'later');
    const space = searchSpace(ctx);
    const c = ruleCredit(
      ctx.structure,
      prepareRule(
        ctx,
        specOf(
          ctx,
          space,
          space.map(() => 'zero'),
          'online',
        ),
      ),
    );
    assert.equal(c.kind, 'none');
    assert.deepEqual(c.updatedParams, []);
    assert.equal(c.summary, 'updates no parameter');
  });
});

describe("find-rule: alignment on the task's data", function () {
  this.timeout(120000);

  it("the gradient with the task's per-step loss weights equals finite differences of Σ w_t·loss_t (smooth twin), online and reverse", () => {
    const ctx = modelContextOf(smoothTwin(resizeModel(LIF, 'lif', { n: 5, n_in: 3 }), 'lif'), 'lif');
    const T = 12;
    const inp = sampleInput(ctx, T, 3);
    for (const t of inp.params.values()) for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! * 4;
    const rng = new Rng(9);
    const lossWeights = Float64Array.from({ length: T }, (_, t) => (t < 4 ? 0 : rng.next()));
    const weighted = { ...inp, lossWeights };
    const bptt = ruleGradient(ctx, prepareRule(ctx, spec('lif', 'reverse')), weighted).gradient;
    const rtrl = ruleGradient(ctx, prepareRule(ctx, spec('lif', 'online')), weighted).gradient;
    const plain = ruleGradient(ctx, prepareRule(ctx, spec('lif', 'reverse')), inp).gradient;
    const loss = (): number =>
      simulate(ctx.graph, inp.params as Map<string, Tensor>, inp.data as Map<string, Tensor[]>, T, inp.initial).losses.reduce(
        (a, l, t) => a + lossWeights[t]! * l,
        0,
      );
    let differs = 0;
    for (const p of ['W_in', 'W_rec', 'W_out']) {
      const W = inp.params.get(p)!;
      for (let i = 0; i < W.data.length; i++) {
        const old = W.data[i]!;
        W.data[i] = old + 1e-6;
        const lp = loss();
        W.data[i] = old - 1e-6;
        const lm = loss();
        W.data[i] = old;
        const fd = (lp - lm) / 2e-6;
        assert.ok(Math.abs(fd - bptt.get(p)![i]!) <= 1e-5 * Math.max(1, Math.abs(fd)), `${p}[${i}]: finite difference ${fd}, weighted BPTT ${bptt.get(p)![i]}`);
        assert.ok(Math.abs(rtrl.get(p)![i]! - bptt.get(p)![i]!) <= 1e-8 * Math.max(1, Math.abs(fd)));
        if (Math.abs(plain.get(p)![i]! - bptt.get(p)![i]!) > 1e-6) differs++;
      }
    }
    assert.ok(differs > 10, 'the weights should change the gradient');
  });

  it("task samples carry the task's inputs and loss weights (evidence: the recall window only)", () => {
    const ctx = modelContextOf(LIF.replace('n = 64', 'n = 8'), 'lif');
    const task = taskFor(ctx, 'evidence:T=40', 1);
    const s = taskSamples(ctx, task, 3, new Map(), new Map());
    assert.equal(s.length, 3);
    for (const x of s) {
      assert.equal(x.steps, 40);
      assert.equal(x.data.get('x')!.length, 40);
      assert.deepEqual(x.data.get('x')![0]!.shape, [20]);
      assert.ok(Math.abs(x.lossWeights.reduce((a, b) => a + b, 0) - 1) < 1e-6);
      assert.equal(x.lossWeights[0], 0);
      assert.ok(x.lossWeights[39]! > 0);
    }
    assert.ok(s.some((x) => x.data.get('x')!.some((v) => v.data.some((e) => e !== 0))));
  });

  it("a windowed loss (`for last 6`): samples are weighted on the window only, and the rules engine's BPTT gradient on them equals the compiled trainer's", async () => {
    // Failed before: taskFor ignored the window and the samples had no data for the loss_weight leaf ("no data for 'loss_weight'").
    const text = LIF.replace('n = 64', 'n = 6').replace('loss = mse(W_out @ z[t+1], y[t+1])', 'loss = mse(W_out @ z[t+1], y[t+1]) for last 6');
    assert.notEqual(text, LIF.replace('n = 64', 'n = 6'), "the example's loss line changed");
    const ctx = modelContextOf(text, 'lif');
    const task = taskFor(ctx, 'evidence:T=24', 1);
    assert.match(task.name, /loss for last 6/);
    const params = initialParams(ctx.scope, 1);
    // larger weights so the six neurons spike and W_rec gets credit
    for (const t of params.values()) for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! * 4;
    const [sample] = taskSamples(ctx, task, 1, params, initialStates(ctx.scope));
    assert.ok(sample);
    assert.ok(Math.abs(sample.lossWeights.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    for (let t = 0; t < 18; t++) assert.equal(sample.lossWeights[t], 0, `step ${t} is outside the window`);
    const rules = ruleGradient(ctx, prepareRule(ctx, spec('lif', 'reverse')), sample).gradient;
    const c = compile(text);
    const { scope, graph } = modelStep(c, findItem(c, 'lif', ['model']));
    const mspec = modelSpec(graph, scope);
    const engine = CompiledEngine.create(mspec, { method: { kind: 'bptt' } }, { threads: 1 }, { batch: 1, steps: 24 });
    try {
      engine.setParams(mspec.params.map((p) => Float32Array.from(params.get(p.name)!.data)));
      const r = await engine.run('grad', task.batch('train', [0]));
      mspec.params.forEach((p, i) => {
        const a = rules.get(p.name)!;
        const b = r.grads![i]!;
        const scale = Math.max(...Array.from(a, Math.abs));
        assert.ok(scale > 0, `${p.name} gets a gradient`);
        for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k]! - b[k]!) <= 1e-4 * scale, `${p.name}[${k}]: rules engine ${a[k]}, compiled ${b[k]}`);
      });
    } finally {
      await engine.dispose();
    }
  });

  it('the BPTT reference run gives the parameters at 0, half and all of its updates', async () => {
    const text = LIF.replace('n = 64', 'n = 8');
    const ctx = modelContextOf(text, 'lif');
    const r = await referenceRun(ctx, {
      text,
      model: 'lif',
      task: 'evidence:T=24',
      updates: 6,
      batch: 8,
      seed: 2,
      learningRate: 0.01,
      deadline: Date.now() + 60000,
    });
    assert.deepEqual(
      r.snapshots.map((s) => [s.label, s.updates]),
      [
        ['initial', 0],
        ['50 %', 3],
        ['trained', 6],
      ],
    );
    const w = r.snapshots.map((s) => s.params.get('W_rec')!.data);
    assert.ok(
      w[0]!.some((v, i) => Math.abs(v - w[2]![i]!) > 1e-6),
      'training should move W_rec',
    );
    assert.ok(w[1]!.some((v, i) => Math.abs(v - w[2]![i]!) > 1e-7));
  });
});

describe('find-rule: accuracy in the loop', function () {
  this.timeout(300000);

  it('a candidate payload is checked field by field, and resuming from a checkpoint trains to the same result', async () => {
    assert.throws(() => parsePayload({ version: 1 }), PayloadError);
    assert.throws(() => parsePayload('x'), /JSON object/);
    const text = `${LIF.replace('n = 64', 'n = 6')}`;
    const p = parsePayload(
      JSON.parse(
        JSON.stringify({
          version: 1,
          text,
          model: 'lif',
          rule: 'eprop',
          task: 'evidence:T=24',
          updates: 4,
          batch: 4,
          seed: 3,
          learningRate: 0.01,
          evalSamples: 32,
        } satisfies CandidatePayload),
      ),
    );
    assert.throws(() => parsePayload({ ...p, updates: 0 }), /payload\.updates must be an integer ≥ 1/);
    const dir = mkdtempSync(join(tmpdir(), 'eligo-cand-'));
    try {
      const fresh = await trainCandidate(p);
      await trainCandidate({ ...p, updates: 2, checkpointDir: dir });
      const resumed = await trainCandidate({ ...p, checkpointDir: dir });
      assert.equal(resumed.updates, 4);
      assert.equal(fresh.updates, 4);
      assert.equal(resumed.testLoss, fresh.testLoss);
      assert.equal(resumed.test, fresh.test);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with a task, the front is cost against test accuracy measured in the run; survivors train longer', async () => {
    const ctx = modelContextOf(LIF.replace('n = 64', 'n = 8'), 'lif');
    const r = await discoverRules(ctx, {
      budgetMs: 90000,
      steps: 20,
      samples: 1,
      seed: 1,
      task: 'evidence:T=24',
      referenceUpdates: 4,
      batch: 8,
      minUpdates: 2,
      maxTrained: 4,
      rungs: 2,
      evalSamples: 64,
    });
    assert.equal(r.frontBasis, 'accuracy');
    assert.ok(r.trained >= 2, `${r.trained} trained`);
    assert.equal(r.task, 'evidence(T=24, cues=7)');
    assert.deepEqual(
      r.reference!.snapshots.map((s) => s.updates),
      [0, 2, 4],
    );
    for (const f of r.front) {
      assert.ok(f.accuracy);
      assert.equal(f.accuracy.task, 'evidence(T=24, cues=7)');
      assert.ok(f.accuracy.updates >= 2);
      assert.ok(f.alignmentOnTask && f.alignmentOnTask.mean === f.alignmentMean);
    }
    // Rung 2 trains the best of rung 1 three times longer.
    assert.ok(r.evaluated.some((e) => e.trainings.length === 2 && e.trainings[1]!.updates === 6));
    assert.deepEqual(accuracyFront(r.front).length, r.front.length);
  });

  it('a budget too short to train anything returns the alignment-only front, labelled', async () => {
    const ctx = modelContextOf(LIF.replace('n = 64', 'n = 8'), 'lif');
    const r = await discoverRules(ctx, {
      budgetMs: 4000,
      steps: 20,
      samples: 1,
      seed: 1,
      task: 'evidence:T=24',
      referenceUpdates: 2,
      batch: 4,
      minUpdates: 100000,
      maxUpdates: 1e6,
      shares: { reference: 0.2, search: 0.6 },
    });
    assert.equal(r.frontBasis, 'alignment');
    assert.match(r.frontWhy!, /budget was too short to train any rule/);
    assert.ok(r.front.length > 0);
    for (const f of r.front) {
      assert.equal(f.accuracy, null);
      assert.match(f.accuracyWhy!, /budget ran out/);
    }
  });

  it('refuses a task that does not fit the model and a model whose parameters no online rule reaches', () => {
    const one = modelContextOf(LIF.replace('n_out = 2', 'n_out = 1'), 'lif');
    assert.throws(
      () => taskFor(one, 'evidence', 1),
      (e: Error) => e instanceof DiscoverError && /--task evidence does not fit model 'lif': .*2 classes/.test(e.message),
    );
    const dead = modelContextOf(
      `model dead {
  dim n = 3
  input x: [n]
  target y: [n]
  param W: [n, n]
  state h: [n] = 0
  state g: [n] = 0
  h[t+1] = tanh(W @ h + x[t+1])
  g[t+1] = 0.5 * g + x[t+1]
  loss = mse(g, y[t+1])
}`,
      'dead',
    );
    return assert.rejects(
      discoverRules(dead, { budgetMs: 1000, steps: 5, samples: 1, seed: 1 }),
      /no online rule can reach the parameters of model 'dead' \(W\)/,
    );
  });
});

describe('find-rule: the skipped rules, said once per reason', () => {
  it('reasons that differ only in their figures are grouped with the range and a count', () => {
    assert.equal(
      groupReasons([
        'its alignment would take about 892 s, more than the budget left',
        'its alignment would take about 1 s, more than the budget left',
        'its memory 3.5 GiB is over the limit',
        'its alignment would take about 36 s, more than the budget left',
      ]),
      'its alignment would take about 1–892 s, more than the budget left (3 rules); its memory 3.5 GiB is over the limit',
    );
  });
});

describe('eligo find-rule --task (CLI)', function () {
  this.timeout(300000);
  const tmp = mkdtempSync(join(tmpdir(), 'eligo-discover-'));
  const eligo = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8' });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  before(function () {
    this.timeout(60000);
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  });

  it("--json keeps today's keys and adds accuracy, updatedParams, alignmentOnTask; method, evaluations and trained at the top", () => {
    const f = join(tmp, 'lif8.eligo');
    writeFileSync(f, LIF.replace('n = 64', 'n = 8'));
    const r = eligo(
      'find-rule',
      f,
      '--model',
      'lif',
      '--task',
      'evidence:T=24',
      '--budget',
      '80s',
      '--batch',
      '8',
      '--min-updates',
      '2',
      '--reference-updates',
      '4',
      '--max-trained',
      '3',
      '--rungs',
      '1',
      '--samples',
      '1',
      '--method',
      'anneal',
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as Record<string, unknown> & { front: Record<string, unknown>[] };
    assert.equal(j.model, 'lif');
    assert.equal(j.method, 'enumeration');
    assert.equal(typeof j.evaluations, 'number');
    assert.ok((j.trained as number) >= 1);
    for (const x of j.front) {
      for (const k of [
        'name',
        'rule',
        'online',
        'multiplicationsPerStep',
        'memoryBytes',
        'alignment',
        'hardware',
        'accuracy',
        'updatedParams',
        'alignmentOnTask',
      ])
        assert.ok(k in x, k);
      const a = x.accuracy as { test: number; train: number; task: string; updates: number };
      assert.deepEqual(Object.keys(a), ['test', 'train', 'task', 'updates']);
      assert.equal(a.task, 'evidence(T=24, cues=7)');
      assert.deepEqual(Object.keys(x.alignmentOnTask as object), ['initial', 'trained', 'mean']);
      assert.ok(Array.isArray(x.updatedParams));
      assert.match(x.rule as string, /# accuracy on evidence\(T=24, cues=7\): test [\d.]+ %, train [\d.]+ % after \d+ updates/);
    }
  });

  it('bad input: a task that does not fit, a bad --method, a hardware profile nothing fits', () => {
    const f = join(tmp, 'one.eligo');
    writeFileSync(f, LIF.replace('n = 64', 'n = 8').replace('n_out = 2', 'n_out = 1'));
    const a = eligo('find-rule', f, '--model', 'lif', '--task', 'store-recall');
    assert.equal(a.code, 1);
    assert.match(a.err, /one\.eligo:\d+:7: error: --task store-recall does not fit model 'lif'/);
    assert.match(eligo('find-rule', f, '--model', 'lif', '--method', 'genetic').err, /--method must be anneal, mcts or auto, got 'genetic'/);
    const prof = join(tmp, 'tiny.json');
    writeFileSync(prof, JSON.stringify({ id: 'tiny', name: 'a tiny chip', memoryPerCoreBytes: 16, requiresOnline: true }));
    const g = join(tmp, 'lif8.eligo');
    writeFileSync(g, LIF.replace('n = 64', 'n = 8'));
    const h = eligo('find-rule', g, '--model', 'lif', '--hardware', prof, '--budget', '20s', '--steps', '10', '--samples', '1');
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, /note: no evaluated rule fits a tiny chip: .*needs [\d.]+ (B|KiB) per core for weights and traces/);
    assert.match(h.out, /Pareto front \(0\)/);
  });
});

export type { ModelContext };

describe('find-rule: MCTS over approximation choices', function () {
  this.timeout(120000);

  it("the network's TF.js forward pass (training) equals the typed-array one (search), and training moves it toward the targets", async () => {
    const { initialRuleNet, ruleNetForward, RULE_FEATURES } = await import('../language-server/src/discovery/ruleNet.js');
    const { fitRuleNet, tfForward } = await import('../language-server/src/discovery/ruleAgent.js');
    const rng = new Rng(4);
    let w = initialRuleNet(undefined, 3);
    // Random output layers too, so the comparison is not of zeros.
    for (const k of ['p', 'pb', 'v', 'vb']) w.tensors[k] = Float32Array.from(w.tensors[k]!, () => rng.normal() * 0.3);
    const xs = Array.from({ length: 5 }, () => Float32Array.from({ length: RULE_FEATURES }, () => rng.next()));
    const allowed = xs.map((_, k) => [true, k % 2 === 0, true]);
    const tfo = await tfForward(w, xs, allowed);
    xs.forEach((x, k) => {
      const o = ruleNetForward(w, x, allowed[k]!);
      assert.ok(Math.abs(o.value - tfo.value[k]!) < 1e-5);
      for (let a = 0; a < 3; a++) if (allowed[k]![a]) assert.ok(Math.abs(o.logits[a]! - tfo.logits[k]![a]!) < 1e-4);
    });
    const examples = xs.map((x, k) => ({ x, allowed: allowed[k]!, pi: Float64Array.from([1, 0, 0]), z: 0.5 }));
    const before = examples.reduce((a, e) => a + (ruleNetForward(w, e.x, e.allowed).value - 0.5) ** 2, 0);
    w = (await fitRuleNet(w, examples, { steps: 60, batch: 5 })).weights;
    const after = examples.reduce((a, e) => a + (ruleNetForward(w, e.x, e.allowed).value - 0.5) ** 2, 0);
    assert.ok(after < before / 2, `value error ${before} → ${after}`);
  });

  it('the shipped network loads; a corrupt file falls back to the untrained network with a message', async () => {
    const { shippedRuleNet } = await import('../language-server/src/discovery/ruleNet.js');
    const s = shippedRuleNet();
    assert.match(s.source, /models\/agent\/rule-agent\.json$/);
    const dir = mkdtempSync(join(tmpdir(), 'eligo-agent-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ format: 'eligo-rule-agent', version: 1, arch: { features: 13, hidden: 32 }, tensors: { w1: 'AAAAAA==' } }));
    const b = shippedRuleNet(bad);
    assert.equal(b.source, 'untrained');
    assert.match(b.note!, /tensor 'w1' has 1 values, expected 416/);
    // and find-rule says so (it searched on the uniform prior without a word)
    const { mctsSearch } = await import('../language-server/src/discovery/mcts.js');
    const search = mctsSearch({ agentPath: bad });
    assert.match(search.note!, /^MCTS: .*tensor 'w1' has 1 values, expected 416 \(13×32\); using the untrained network/);
    assert.equal(mctsSearch().note, undefined);
    const r = await discoverRules(modelContextOf(LATE, 'late'), { budgetMs: 3000, steps: 5, samples: 1, seed: 1, search });
    assert.ok(r.notes.includes(search.note!), r.notes.join('\n'));
    rmSync(dir, { recursive: true, force: true });
  });

  it('MCTS searches a space too large to enumerate (two ALIF layers: 2,304 rules) and puts what it evaluates on the front', async () => {
    const { stackedAlif } = await import('../language-server/src/discovery/corpus.js');
    const { mctsSearch } = await import('../language-server/src/discovery/mcts.js');
    const ctx = modelContextOf(stackedAlif(2, 4, 4), 'alif2');
    const r = await findLearningRule(ctx, { budgetMs: 60000, steps: 10, samples: 1, seed: 1, search: mctsSearch({ episodes: 2, simulations: 6 }) });
    assert.equal(r.method, 'mcts');
    assert.equal(r.spaceSize, 2304);
    assert.ok(r.evaluated.length > 6, `${r.evaluated.length} evaluated`);
    assert.ok(r.front.length >= 2);
  });
});
