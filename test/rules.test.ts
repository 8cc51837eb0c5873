// Rules: the derived online program, costs and their symbolic scaling,
// alignment, hardware profiles, bad input, find-rule and the CLI.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../language-server/src/compile.js';
import { bigO, scalingCheck, symbolicScaling, ruleCost } from '../language-server/src/rules/cost.js';
import { ruleDiagnostics } from '../language-server/src/rules/diagnostics.js';
import { findLearningRule, knownRule, paretoFront, searchSpace } from '../language-server/src/rules/find.js';
import { BRAINSCALES2, checkHardware, LOIHI2, profileFromJson, ProfileError, SPINNAKER2 } from '../language-server/src/rules/hardware.js';
import { modelContext, modelContextOf, prepareRule, ruleGradient, type ModelContext } from '../language-server/src/rules/model.js';
import { BlockTape } from '../language-server/src/rules/blocks.js';
import { ruleSignature, ruleSpec, ruleText, type RuleSpec } from '../language-server/src/rules/rule.js';
import { alignmentSamples, compareGradients, exactGradients, ruleAlignment } from '../language-server/src/rules/alignment.js';
import type { Approximation } from '../language-server/src/rules/blocks.js';

const LIF = readFileSync('examples/lif.eligo', 'utf8');
const ALIF = readFileSync('examples/alif.eligo', 'utf8');
const RNN = readFileSync('examples/rnn.eligo', 'utf8');

function rulesOf(text: string): Map<string, RuleSpec> {
  const c = compile(text);
  const out = new Map<string, RuleSpec>();
  for (const [name, s] of c.checked.items) if (s.kind === 'rule') out.set(name, ruleSpec(s.item));
  return out;
}

const spec = (model: string, schedule: 'online' | 'reverse' | 'forward', approximations: Approximation[] = []): RuleSpec => ({
  name: null,
  model,
  approximations,
  schedule: { kind: schedule },
  objectives: [],
});
const EPROP: Approximation[] = [
  { of: 'u', wrt: 'z', wrtOffset: 0, kind: 'zero' },
  { of: 'u', wrt: 'u', wrtOffset: 0, kind: 'diagonal' },
];

describe('rules: the online update program', () => {
  it('e-prop for LIF: row traces like W, carried; three-factor updates learning signal × ψ × presynaptic trace', () => {
    const ctx = modelContextOf(LIF, 'lif');
    const p = prepareRule(ctx, rulesOf(LIF).get('eprop')!).derived.program;
    assert.deepEqual(
      p.traces.map((t) => [t.name, t.storage, t.valueShape, t.carried]),
      [
        ['G_u_W_in', 'row', [64, 20], true],
        ['G_u_W_rec', 'row', [64, 64], true],
      ],
    );
    assert.deepEqual(
      p.dropped.map((d) => `${d.of}<-${d.wrt.name}:${d.approximation}`),
      ['u<-z:zero'],
    );
    const rec = p.updates.find((u) => u.param === 'W_rec')!;
    assert.equal(rec.threeFactor.length, 1);
    assert.equal(rec.threeFactor[0]!.learningSignal, 'z');
    assert.deepEqual(rec.threeFactor[0]!.post, ['d z[t+1]/d u[t+1]']);
    assert.equal(rec.threeFactor[0]!.pre, 'G_u_W_rec');
    assert.ok(p.equations.text.includes('G(u,W_rec)[t+1] = ∂u[t+1]/∂u[t] · G(u,W_rec)[t] + ∂u[t+1]/∂W_rec    [row 64×64, carried]'));
    assert.ok(p.equations.latex.some((l) => l.startsWith('G^{u,W_{\\mathrm{rec}}}_{t+1} = \\frac{\\partial u_{t+1}}{\\partial u_{t}}')));
    assert.deepEqual(p.untrained, []);
    // Plain data: it survives JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
  });

  it('RTRL for LIF: dense traces of both states, each carried', () => {
    const ctx = modelContextOf(LIF, 'lif');
    const p = prepareRule(ctx, spec('lif', 'online')).derived.program;
    assert.deepEqual(
      p.traces.map((t) => [t.name, t.storage, t.carried]),
      [
        ['G_u_W_in', 'dense', true],
        ['G_z_W_in', 'dense', true],
        ['G_u_W_rec', 'dense', true],
        ['G_z_W_rec', 'dense', true],
      ],
    );
  });

  it('a parameter whose only block is dropped is not trained', () => {
    const ctx = modelContextOf(LIF, 'lif');
    const p = prepareRule(ctx, spec('lif', 'online', [{ of: 'u', wrt: 'W_in', wrtOffset: 0, kind: 'stop' }])).derived.program;
    assert.deepEqual(p.untrained, ['W_in']);
  });

  it('rule text round-trips through the parser', () => {
    const s = spec('lif', 'online', EPROP);
    const text = `${LIF}\n${ruleText(s, 'again', ['a comment'])}\n`;
    const again = rulesOf(text).get('again')!;
    assert.deepEqual(
      again.approximations.map((a) => [a.of, a.wrt, a.wrtOffset, a.kind]),
      EPROP.map((a) => [a.of, a.wrt, a.wrtOffset, a.kind]),
    );
    assert.equal(again.schedule.kind, 'online');
  });
});

describe('rules: cost and memory, counted and symbolic', function () {
  this.timeout(60000);
  const cases: [string, RuleSpec, number, number, boolean][] = [
    ['BPTT', spec('lif', 'reverse'), 2, 1, true],
    ['RTRL', spec('lif', 'online'), 4, 3, false],
    ['forward', spec('lif', 'forward'), 4, 3, false],
    ['e-prop', spec('lif', 'online', EPROP), 2, 2, false],
  ];
  for (const [name, s, cd, md, t] of cases) {
    it(`${name} for LIF: symbolic O(n^${cd}) per step and O(n^${md}${t ? 'T' : ''}) memory agree with counts at n = 32…256`, () => {
      const sym = symbolicScaling(LIF, 'lif', s);
      assert.equal(sym.computeDegree, cd);
      assert.equal(sym.memoryDegree, md);
      assert.equal(sym.memoryGrowsWithT, t);
      const check = scalingCheck(LIF, 'lif', s, [32, 64, 128, 256], 100);
      assert.ok(check.agrees, `measured ${check.measuredComputeExponent.toFixed(2)} / ${check.measuredMemoryExponent.toFixed(2)}`);
      // Counts grow monotonically with n.
      for (let k = 1; k < check.rows.length; k++) assert.ok(check.rows[k]!.multiplicationsPerStep > check.rows[k - 1]!.multiplicationsPerStep);
    });
  }

  it('BPTT memory is linear in T; online memory does not depend on T', () => {
    const ctx = modelContextOf(LIF, 'lif');
    const bptt = prepareRule(ctx, spec('lif', 'reverse'));
    const eprop = prepareRule(ctx, spec('lif', 'online', EPROP));
    assert.equal(ruleCost(ctx, bptt, 1000).memoryBytes, 10 * ruleCost(ctx, bptt, 100).memoryBytes);
    assert.equal(ruleCost(ctx, eprop, 1000).memoryBytes, ruleCost(ctx, eprop, 100).memoryBytes);
    assert.equal(ruleCost(ctx, bptt, 100).memoryBytes, 100 * 2 * 64 * 8);
  });

  it('bigO writes degrees with superscripts', () => {
    assert.equal(bigO(4), 'O(n⁴)');
    assert.equal(bigO(1, true), 'O(nT)');
    assert.equal(bigO(0), 'O(1)');
  });
});

describe('rules: alignment with BPTT', function () {
  this.timeout(60000);
  it('exact rules align perfectly; e-prop and SnAp-1 partly, per parameter', () => {
    const ctx = modelContextOf(RNN, 'rnn');
    const samples = alignmentSamples(ctx, { steps: 30, samples: 2, seed: 3 });
    const exact = exactGradients(ctx, samples);
    const rtrl = ruleAlignment(ctx, prepareRule(ctx, rulesOf(RNN).get('rtrl')!), samples, exact);
    assert.ok(Math.abs(rtrl.cosine - 1) < 1e-12 && rtrl.relativeError < 1e-10 && rtrl.signAgreement === 1);
    const snap = ruleAlignment(ctx, prepareRule(ctx, rulesOf(RNN).get('snap1')!), samples, exact);
    assert.ok(snap.cosine < 0.999 && snap.cosine > 0.2, `cosine ${snap.cosine}`);
    assert.equal(snap.perParameter.W_out!.cosine, 1); // the readout's gradient needs no credit through time
    assert.ok(snap.perParameter.W_rec!.cosine < 0.99);
  });

  it("replaying recorded blocks (find-rule's tapes) gives the same gradients as computing them", () => {
    const ctx = modelContextOf(ALIF.replace('n = 100', 'n = 12'), 'alif');
    const [s] = alignmentSamples(ctx, { steps: 25, samples: 1, seed: 9 });
    const tape = new BlockTape(ctx.structure, s!);
    for (const r of [...rulesOf(ALIF).values(), spec('alif', 'online'), spec('alif', 'forward', [{ of: 'v', wrt: 'z', wrtOffset: 0, kind: 'diagonal' }])]) {
      const rule = prepareRule(ctx, r);
      const a = ruleGradient(ctx, rule, s!).gradient;
      const b = ruleGradient(ctx, rule, s!, tape).gradient;
      for (const [k, x] of a) assert.deepEqual(Array.from(b.get(k)!), Array.from(x), `${r.name ?? r.schedule.kind} ${k}`);
    }
  });

  it('compareGradients: cosine, relative error and sign agreement', () => {
    const a = new Map([['w', Float64Array.from([1, 0, -1])]]);
    const b = new Map([['w', Float64Array.from([1, 1, -1])]]);
    const r = compareGradients(a, b);
    assert.ok(Math.abs(r.cosine - 2 / Math.sqrt(6)) < 1e-12);
    assert.ok(Math.abs(r.relativeError - 1 / Math.sqrt(3)) < 1e-12);
    assert.ok(Math.abs(r.signAgreement - 2 / 3) < 1e-12);
  });
});

describe('rules: hardware profiles', () => {
  const ctx = modelContextOf(LIF, 'lif');
  it('LIF e-prop fits Loihi 2 (one word per synapse, one postsynaptic factor) and SpiNNaker 2; BPTT does not (not online)', () => {
    const p = prepareRule(ctx, spec('lif', 'online', EPROP)).derived.program;
    const l = checkHardware(LOIHI2, true, p);
    assert.ok(l.fits, l.reasons.join('; '));
    assert.equal(l.perSynapseWords, 1);
    assert.equal(l.postTraces, 1);
    assert.ok(checkHardware(SPINNAKER2, true, p).fits);
    const b = checkHardware(LOIHI2, false, null);
    assert.equal(b.fits, false);
    assert.match(b.reasons[0]!, /must be online/);
  });

  it('RTRL needs full sensitivities: not a sum of products on Loihi 2, too much memory per SpiNNaker 2 core', () => {
    const p = prepareRule(ctx, spec('lif', 'online')).derived.program;
    const l = checkHardware(LOIHI2, true, p);
    assert.equal(l.fits, false);
    assert.ok(l.reasons.some((r) => /full sensitivities/.test(r)));
    const s = checkHardware(SPINNAKER2, true, p);
    assert.equal(s.fits, false);
    assert.ok(s.reasons.some((r) => /per core/.test(r)));
  });

  it('ALIF e-prop needs more per-synapse state than BrainScaleS-2 has', () => {
    const a = modelContextOf(ALIF, 'alif');
    const p = prepareRule(a, rulesOf(ALIF).get('eprop')!).derived.program;
    const f = checkHardware(BRAINSCALES2, true, p);
    assert.equal(f.fits, false);
  });

  it('user-defined profiles from JSON, with located errors', () => {
    const p = profileFromJson({ id: 'lab', memoryPerCoreBytes: 65536, maxPreTraces: 1, requiresOnline: true }, 'lab.json');
    assert.equal(p.memoryPerCoreBytes, 65536);
    assert.equal(p.maxPostTraces, null);
    assert.throws(
      () => profileFromJson({ memoryPerCoreBytes: 'lots' }, 'x.json'),
      (e: Error) => e instanceof ProfileError && /'memoryPerCoreBytes' must be a non-negative number/.test(e.message),
    );
    assert.throws(() => profileFromJson({ memory: 1 }, 'x.json'), /unknown field 'memory'/);
    assert.throws(() => profileFromJson([], 'x.json'), /JSON object/);
  });
});

describe('rules: bad input gives located diagnostics', () => {
  const diags = (text: string, settings = { steps: 10 }) => {
    const c = compile(text);
    return { c, d: ruleDiagnostics(c, settings) };
  };
  const at = (text: string, range: { start: number; end: number }): string => text.slice(range.start, range.end);

  it('diagonal of a non-square block', () => {
    const text = `${ALIF}\nrule r for alif {\n  approximate d(loss)/d(zbar[t+1]) = diagonal\n  schedule online\n}\n`;
    const { d } = diags(text);
    const e = d.find((x) => x.code === 'rule.not-square')!;
    assert.ok(e, JSON.stringify(d));
    assert.match(e.message, /not square/);
    assert.match(at(text, e.range), /^approximate d\(loss\)/);
  });

  it('a block of data has no gradient to approximate', () => {
    const text = `${LIF}\nrule r for lif {\n  approximate d(u[t+1])/d(x) = 0\n  schedule online\n}\n`;
    const { d } = diags(text);
    const e = d.find((x) => x.code === 'rule.data-block');
    assert.ok(e, JSON.stringify(d));
    assert.match(e.message, /'x' is an input/);
  });

  it('a non-online schedule under a profile that learns on chip', () => {
    const { c, d } = diags(LIF, { steps: 10, hardwareProfile: 'loihi2' } as never);
    const e = d.find((x) => x.code === 'rule.not-online')!;
    assert.ok(e);
    assert.equal(at(c.text, e.range), 'schedule reverse');
  });

  it('n and T that need more memory than available are refused with the estimate', () => {
    const text = `${LIF.replace('n = 64', 'n = 256')}\nrule rtrl for lif {\n  schedule online\n}\n`;
    const { d } = diags(text, { steps: 10, maxMemoryBytes: 64 * 1024 ** 2 } as never);
    const e = d.find((x) => x.code === 'rule.too-much-memory')!;
    assert.ok(e, JSON.stringify(d));
    assert.match(e.message, /would need about 2\d\d MiB .* more than the 64\.0 MiB available/);
    assert.equal(at(text, e.range), 'rtrl');
    const bptt = diags(LIF, { steps: 100000, maxMemoryBytes: 64 * 1024 ** 2 } as never).d.find((x) => x.code === 'rule.too-much-memory')!;
    assert.match(bptt.message, /for T = 100000/);
  });

  it('an explicit order naming no equation', () => {
    const text = `${LIF}\nrule r for lif {\n  schedule order [u, zz]\n}\n`;
    const { d } = diags(text);
    const e = d.find((x) => x.code === 'rule.order-unknown')!;
    assert.ok(e, JSON.stringify(d));
    assert.equal(at(text, e.range), 'zz');
  });

  it('a model without a loss: the checker reports it at the rule, and rules add nothing that throws', () => {
    const text = 'model m {\n  dim n = 3\n  param W: [n, n]\n  state h: [n] = 0\n  h[t+1] = tanh(W @ h)\n}\nrule r for m {\n  schedule online\n}\n';
    const { c, d } = diags(text);
    assert.ok(c.diagnostics.some((x) => x.code === 'rule.no-loss'));
    assert.deepEqual(d, []);
  });
});

describe('rules: find learning rule', function () {
  this.timeout(120000);
  it('names known rules from their choices', () => {
    const ctx = modelContextOf(LIF, 'lif');
    const space = searchSpace(ctx);
    assert.deepEqual(
      space.map((s) => `${s.block.of}<-${s.block.wrt.name}:${s.choices.join('/')}`),
      ['u<-u:keep/zero', 'u<-z:keep/diagonal/zero'],
    );
    assert.equal(knownRule(space, ['keep', 'keep'], 'reverse'), 'BPTT');
    assert.equal(knownRule(space, ['keep', 'keep'], 'online'), 'RTRL');
    assert.equal(knownRule(space, ['keep', 'zero'], 'online'), 'e-prop');
    assert.equal(knownRule(space, ['keep', 'diagonal'], 'online'), 'SnAp-1 (diagonal RTRL)');
    assert.equal(knownRule(space, ['zero', 'zero'], 'online'), 'no recurrent credit');
    assert.equal(knownRule(space, ['zero', 'keep'], 'online'), null);
    assert.equal(knownRule(space, ['keep', 'zero'], 'reverse'), 'e-prop (reverse)');
    assert.equal(knownRule(space, ['keep', 'diagonal'], 'reverse'), 'SnAp-1 (reverse)');
  });

  it('on a small LIF the front holds BPTT and e-prop, each as rule text with its figures; progress is reported', async () => {
    const ctx = modelContextOf(LIF.replace('n = 64', 'n = 16'), 'lif');
    const progress: string[] = [];
    const r = await findLearningRule(ctx, { budgetMs: 60000, steps: 40, samples: 2, seed: 1, onProgress: (p) => progress.push(p.message) });
    const names = r.front.map((f) => f.known);
    // e-prop with factored filters (Bellec et al. 2020's F_κ) is e-prop's update from presynaptic traces: it dominates plain e-prop.
    assert.ok(names.includes('BPTT') && names.includes('e-prop (factored filters)'), names.join(', '));
    const plain = r.evaluated.find((f) => f.known === 'e-prop')!;
    const eprop = r.front.find((f) => f.known === 'e-prop (factored filters)')!;
    assert.ok(Math.abs(plain.alignmentMean - eprop.alignmentMean) < 1e-9, `${plain.alignmentMean} vs ${eprop.alignmentMean}`);
    assert.ok(eprop.cost.memoryBytes < plain.cost.memoryBytes && !r.front.includes(plain));
    assert.equal(r.method, 'enumeration');
    // The 12 choice vectors × schedules, and the variants that change them; no rule twice.
    assert.equal(r.evaluated.filter((c) => Object.keys(c.variant).length === 0).length, 12);
    assert.ok(r.evaluated.length > 12);
    assert.equal(new Set(r.evaluated.map((c) => ruleSignature(c.spec))).size, r.evaluated.length);
    assert.match(eprop.text, /^# e-prop \(factored filters\) — found by eligo find-rule\n# [\d,]+ multiplications per step/);
    assert.ok(rulesOf(`${LIF}\n${eprop.text}\n`).has('e_prop_factored_filters'));
    assert.ok(rulesOf(`${LIF}\n${plain.text.replace('rule eprop ', 'rule eprop_plain ')}\n`).has('eprop_plain'));
    assert.ok(progress.length >= r.evaluated.length);
    // The front is non-dominated.
    assert.deepEqual(paretoFront(r.front).length, r.front.length);
  });

  it('stops when cancelled, with what it has', async () => {
    const ctx = modelContextOf(ALIF.replace('n = 100', 'n = 16'), 'alif');
    const ac = new AbortController();
    let seen = 0;
    const r = await findLearningRule(ctx, {
      budgetMs: 60000,
      steps: 20,
      samples: 1,
      seed: 1,
      signal: ac.signal,
      onProgress: () => {
        if (++seen === 3) ac.abort();
      },
    });
    assert.equal(r.stopped, 'cancelled');
    assert.ok(r.evaluated.length >= 3 && r.evaluated.length < 20);
  });

  it('anneals over choice vectors when the space is larger than the enumeration limit', async () => {
    const ctx = modelContextOf(ALIF.replace('n = 100', 'n = 8'), 'alif');
    const r = await findLearningRule(ctx, { budgetMs: 4000, steps: 15, samples: 1, seed: 2, maxExhaustive: 8 });
    assert.equal(r.method, 'annealing');
    assert.equal(r.stopped, 'budget');
    assert.ok(r.evaluated.length > 10, `${r.evaluated.length} evaluated`);
    assert.ok(r.front.some((f) => f.known === 'BPTT'));
  });

  it('under Loihi 2 only rules that fit are on the front', async () => {
    const ctx = modelContextOf(LIF.replace('n = 64', 'n = 16'), 'lif');
    const r = await findLearningRule(ctx, { budgetMs: 60000, steps: 20, samples: 1, seed: 1, hardware: LOIHI2 });
    assert.ok(r.front.length > 0);
    assert.ok(r.front.every((f) => f.hardware?.fits));
    assert.ok(
      r.front.some((f) => f.known === 'e-prop (factored filters)'),
      r.front.map((f) => f.known).join(', '),
    );
    assert.ok(!r.front.some((f) => f.known === 'BPTT'));
  });
});

describe('eligo rules / find-rule (CLI)', function () {
  this.timeout(180000);
  const tmp = mkdtempSync(join(tmpdir(), 'eligo-rules-'));
  const eligo = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8' });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  before(function () {
    this.timeout(60000);
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  });

  it('rules --json has the shape of the issue', () => {
    const r = eligo('rules', 'examples/rnn.eligo', '--model', 'rnn', '--steps', '20', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { model: string; rules: Record<string, unknown>[] };
    assert.equal(j.model, 'rnn');
    assert.deepEqual(
      j.rules.map((x) => x.name),
      ['rtrl', 'snap1', 'bptt'],
    );
    for (const x of j.rules) {
      assert.deepEqual(Object.keys(x), ['name', 'online', 'multiplicationsPerStep', 'memoryBytes', 'alignment']);
      assert.deepEqual(Object.keys(x.alignment as object), ['cosine', 'relativeError']);
    }
    assert.equal((j.rules[2]!.alignment as { cosine: number }).cosine, 1);
  });

  it('rules prints a table and the program; errors are located', () => {
    const r = eligo('rules', 'examples/lif.eligo', '--model', 'lif', '--steps', '20', '--program');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /eprop\s+online/);
    assert.match(r.out, /three-factor: ΔW_rec \+= \[∂loss\/∂z\[t\+1\]\] ⊙ \[∂z\[t\+1\]\/∂u\[t\+1\]\] ⊗ G\(u,W_rec\)\[t\+1\]/);
    const f = join(tmp, 'bad.eligo');
    writeFileSync(f, `${LIF}\nrule r for lif {\n  approximate d(u[t+1])/d(x) = 0\n}\n`);
    const b = eligo('rules', f, '--model', 'lif', '--steps', '10');
    assert.equal(b.code, 1);
    assert.match(
      b.err,
      new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:3: error: the block d\\(u\\[t\\+1\\]\\)/d\\(x\\) does not exist: 'x' is an input`),
    );
    const nl = join(tmp, 'noloss.eligo');
    writeFileSync(nl, 'model m {\n  dim n = 3\n  param W: [n, n]\n  state h: [n] = 0\n  h[t+1] = tanh(W @ h)\n}\n');
    const c = eligo('rules', nl, '--model', 'm');
    assert.equal(c.code, 1);
    assert.match(c.err, /noloss\.eligo:1:7: error: model 'm' has no loss/);
  });

  it('find-rule --json and --write on a small LIF', () => {
    const f = join(tmp, 'lif16.eligo');
    writeFileSync(f, LIF.replace('n = 64', 'n = 16'));
    const r = eligo('find-rule', f, '--model', 'lif', '--budget', '60s', '--steps', '30', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { model: string; front: Record<string, unknown>[] };
    assert.equal(j.model, 'lif');
    // Today's keys first, then the accuracy fields (null without --task, with why).
    for (const x of j.front) {
      assert.deepEqual(Object.keys(x).slice(0, 7), ['name', 'rule', 'online', 'multiplicationsPerStep', 'memoryBytes', 'alignment', 'hardware']);
      assert.equal(x.accuracy, null);
      assert.match(x.why as string, /no --task given/);
    }
    const names = j.front.map((x) => x.name);
    assert.ok(names.includes('e-prop (factored filters)') && names.includes('BPTT'), names.join(', '));
    const w = eligo('find-rule', f, '--model', 'lif', '--budget', '30s', '--steps', '20', '--hardware', 'loihi2', '--write');
    assert.equal(w.code, 0, w.err);
    assert.match(w.out, /appended \d+ rules? to/);
    const after = compile(readFileSync(f, 'utf8'));
    assert.deepEqual(
      after.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    assert.ok(
      after.items.some((i) => i.name === 'e_prop_factored_filters'),
      after.items.map((i) => i.name).join(', '),
    );
  });

  it('find-rule refuses a bad budget and an unknown profile', () => {
    assert.match(eligo('find-rule', 'examples/lif.eligo', '--model', 'lif', '--budget', 'soon').err, /cannot read --budget 'soon': write a time such as 60s/);
    assert.match(
      eligo('find-rule', 'examples/lif.eligo', '--model', 'lif', '--hardware', 'tpu').err,
      /--hardware 'tpu' is neither a profile \(loihi2, spinnaker2, brainscales2\) nor a JSON file/,
    );
  });
});

export type { ModelContext };
void modelContext;
