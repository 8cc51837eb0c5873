// Training runs end to end: a small LIF learns a generated task with e-prop;
// the backend is chosen without tfjs-node; divergence, memory, cancellation,
// checkpoints and bad input each end in a clear message with nothing lost.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTf, orderFromEnv, selectBackend, type Tf } from '../language-server/src/train/backend.js';
import { CHECKPOINT_JSON, loadCheckpoint, WEIGHTS_BIN } from '../language-server/src/train/checkpoint.js';
import { batchIndices, train, TrainError, type TrainEvent } from '../language-server/src/train/train.js';
import { trainJobKind } from '../language-server/src/train/job.js';
import { JobRefused, type JobContext, type JobReport } from '../language-server/src/jobs/types.js';
import type { EligoSettings } from '../language-server/src/protocol.js';

/** A small LIF layer with a leaky readout (Bellec et al. 2020's LIF network), and e-prop for it. */
const LIF = `
model lif {
  dim n_in = 8, n = 24, n_out = 2
  const alpha = exp(-1 / 20), kappa = exp(-1 / 10), theta = 1.0
  input  x: [n_in]
  target y: [n_out]
  param  W_in:  [n, n_in]  ~ normal(0, 0.3)
  param  W_rec: [n, n]     ~ normal(0, 0.05)
  param  W_out: [n_out, n] ~ normal(0, 0.1)
  state  u: [n] = 0
  state  z: [n] = 0
  state  o: [n_out] = 0
  surrogate spike = fast_sigmoid(slope = 10)
  u[t+1] = alpha * u + W_rec @ z + W_in @ x[t+1] - theta * z
  z[t+1] = spike(u[t+1] - theta)
  o[t+1] = kappa * o + W_out @ z[t+1]
  loss = mse(o[t+1], y[t+1])
}

rule eprop for lif {
  approximate d(u[t+1])/d(z) = 0
  approximate d(u[t+1])/d(u) = diagonal
  schedule online
}

model other {
  input  x: [2]
  target y: [2]
  param  W: [2, 2] ~ normal(0, 0.5)
  state  h: [2] = 0
  h[t+1] = tanh(W @ h + x[t+1])
  loss = mse(h[t+1], y[t+1])
}

rule other_rule for other {
  approximate d(h[t+1])/d(h) = diagonal
  schedule online
}
`;

/** A model whose gradient is NaN from the first update: d/dw sqrt(|w|) at w = 0 is 0 · ∞. */
const NAN = `
model bad {
  input  x: [2]
  target y: [2]
  param  w: [2] ~ zeros
  state  s: [2] = 0
  s[t+1] = sqrt(abs(w)) * x[t+1]
  loss = mse(s[t+1], y[t+1])
}
`;

const FAST = { batch: 16, evalSamples: 64, finalSamples: 256, alignment: false } as const;

describe('train: runs', () => {
  let tf: Tf;
  let dir: string;
  before(async () => {
    tf = await loadTf();
    dir = mkdtempSync(join(tmpdir(), 'eligo-train-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a small LIF trained with e-prop on correlated inputs reaches clearly better than chance (> 65 %)', async function () {
    this.timeout(120000);
    const events: TrainEvent['type'][] = [];
    const r = await train({
      text: LIF,
      model: 'lif',
      rule: 'eprop',
      task: 'correlated:T=30,correlation=1,train=512,test=256',
      steps: 32,
      seed: 1,
      learningRate: 0.01,
      evalEvery: 16,
      ...FAST,
      onProgress: (e) => events.push(e.type),
    });
    assert.equal(r.method, 'online');
    assert.equal(r.rule, 'eprop');
    assert.equal(r.stopped, null);
    assert.ok(r.final.testAccuracy! > 0.65, `test accuracy ${r.final.testAccuracy} (chance 0.5)`);
    assert.ok(r.stepsPerSecond > 0 && r.peakMemoryBytes > 0);
    assert.deepEqual([events[0], events[events.length - 1]], ['start', 'done']);
    assert.equal(events.filter((e) => e === 'update').length, 32);
    assert.equal(events.filter((e) => e === 'eval').length, 2);
  });

  it("measures the rule's alignment with BPTT along the run (e-prop: high, not 1)", async () => {
    const r = await train({
      text: LIF,
      model: 'lif',
      rule: 'eprop',
      task: 'correlated:T=20,train=64,test=32',
      steps: 2,
      evalEvery: 1,
      batch: 8,
      evalSamples: 16,
      finalSamples: 16,
    });
    assert.equal(r.metrics.curve.length, 2);
    for (const p of r.metrics.curve) {
      assert.ok(p.alignment! > 0.5 && p.alignment! < 1 - 1e-6, `alignment ${p.alignment}`);
      assert.ok(Math.abs(p.alignmentByParam!.W_out! - 1) < 1e-4, 'the readout gets the exact gradient');
    }
  });

  it('selects wasm when tfjs-node is not installed, and falls back past a backend that fails to load', async () => {
    const missing = Object.assign(new Error("Cannot find module '@tensorflow/tfjs-node'"), { code: 'MODULE_NOT_FOUND' });
    const load =
      (broken: string[]) =>
      (id: string): unknown => {
        if (id === '@tensorflow/tfjs-node') throw missing;
        if (broken.includes(id)) throw new Error(`${id}: cannot load its binary`);
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- stands in for backend.ts's run-time require of a module named at run time
        return require(id);
      };
    try {
      const a = await selectBackend({ load: load([]) });
      assert.equal(a.info.name, 'wasm');
      assert.deepEqual(a.info.skipped, [{ name: 'tensorflow', reason: 'not installed' }]);
      assert.match(a.info.summary, /wasm \(tfjs-node: not installed\)/);
      const b = await selectBackend({ load: load(['@tensorflow/tfjs-backend-wasm']) });
      assert.equal(b.info.name, 'cpu');
      assert.match(b.info.skipped[1]!.reason, /cannot load its binary/);
      await assert.rejects(selectBackend({ order: ['tensorflow'], load: load([]) }), /no TensorFlow\.js backend could be loaded: tensorflow: not installed/);
      assert.deepEqual(orderFromEnv('wasm,cpu'), ['wasm', 'cpu']);
      assert.throws(() => orderFromEnv('gpu'), /unknown backend 'gpu'/);
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('stops on NaN at the first bad update, naming the update and the parameter', async () => {
    const ck = join(dir, 'nan');
    const r = await train({ text: NAN, task: 'pattern:T=10', steps: 5, checkpointDir: ck, ...FAST });
    assert.equal(r.stopped, 'diverged');
    assert.match(r.message!, /training diverged at update 1 of 5: the gradient of 'w' is NaN/);
    assert.match(r.message!, /lower the learning rate|Lower the learning rate/);
    assert.equal(r.updates, 0);
    assert.ok(!existsSync(join(ck, WEIGHTS_BIN)), 'no checkpoint of NaN parameters is written');
  });

  it('resumes from a checkpoint: 2 + 2 updates give the same weights as 4', async () => {
    const opts = {
      text: LIF,
      model: 'lif',
      rule: 'eprop',
      task: 'correlated:T=12,train=64,test=32',
      seed: 3,
      batch: 8,
      evalSamples: 16,
      finalSamples: 16,
      alignment: false,
    } as const;
    const straight = join(dir, 'straight');
    const split = join(dir, 'split');
    await train({ ...opts, steps: 4, checkpointDir: straight });
    await train({ ...opts, steps: 2, checkpointDir: split });
    const ck2 = loadCheckpoint(split)!;
    assert.equal(ck2.meta.step, 2);
    const resumed = await train({ ...opts, steps: 4, checkpointDir: split });
    assert.match(resumed.info.notes.join('\n'), /resumed from .* at update 2/);
    assert.equal(resumed.updates, 2);
    const a = loadCheckpoint(straight)!;
    const b = loadCheckpoint(split)!;
    assert.equal(b.meta.step, 4);
    for (const [name, t] of a.params) assert.deepEqual(Array.from(b.params.get(name)!.data), Array.from(t.data), name);
    assert.equal(b.meta.weightsSha256, a.meta.weightsSha256);
    assert.equal((b.meta.metrics as { updates: unknown[] }).updates.length, 4, 'the resumed run continues the curves');
  });

  it('refuses a damaged or foreign checkpoint with a message', async () => {
    const ck = join(dir, 'damaged');
    await train({ text: LIF, model: 'lif', rule: 'eprop', task: 'correlated:T=8,train=16,test=16', steps: 1, checkpointDir: ck, ...FAST });
    await assert.rejects(
      train({ text: LIF, model: 'lif', task: 'correlated:T=8,train=16,test=16', steps: 1, checkpointDir: ck, ...FAST }),
      /is from another run \(rule 'eprop'\)/,
    );
    const bin = readFileSync(join(ck, WEIGHTS_BIN));
    bin[0] = bin[0]! ^ 0xff;
    writeFileSync(join(ck, WEIGHTS_BIN), bin);
    await assert.rejects(
      train({ text: LIF, model: 'lif', rule: 'eprop', task: 'correlated:T=8,train=16,test=16', steps: 2, checkpointDir: ck, ...FAST }),
      /weights\.bin does not match .*checkpoint\.json/,
    );
    writeFileSync(join(ck, CHECKPOINT_JSON), '{ not json');
    await assert.rejects(
      train({ text: LIF, model: 'lif', rule: 'eprop', task: 'correlated:T=8,train=16,test=16', steps: 2, checkpointDir: ck, ...FAST }),
      /is not valid JSON/,
    );
  });

  it('cancels within a second, keeping a checkpoint of the last completed update', async function () {
    this.timeout(60000);
    const ck = join(dir, 'cancel');
    const abort = new AbortController();
    let abortedAt = 0;
    const r = await train({
      text: LIF,
      model: 'lif',
      rule: 'eprop',
      task: 'correlated:T=400,train=64,test=16',
      steps: 50,
      checkpointDir: ck,
      ...FAST,
      batch: 8,
      signal: abort.signal,
      onProgress: (e) => {
        if (e.type === 'update' && e.step === 1) {
          abortedAt = performance.now();
          // Abort from a timer while the next batch (400 steps) runs.
          setTimeout(() => {
            abortedAt = performance.now();
            abort.abort();
          }, 200);
        }
      },
    });
    const latency = performance.now() - abortedAt;
    assert.equal(r.stopped, 'cancelled');
    assert.ok(latency < 1000, `stopped ${latency.toFixed(0)} ms after the abort`);
    const ck1 = loadCheckpoint(ck)!;
    assert.ok(ck1.meta.step >= 1 && ck1.meta.step === r.updates, `checkpoint at ${ck1.meta.step}, ${r.updates} updates`);
  });

  it('refuses up front a run whose memory estimate exceeds what is available, with the estimate', async () => {
    await assert.rejects(
      train({ text: LIF, model: 'lif', task: 'correlated:T=2000', steps: 1, batch: 64, maxBytes: 8 * 1024 * 1024, engine: 'tfjs' }),
      (e: unknown) =>
        e instanceof TrainError &&
        /would need about [\d.]+ MiB \(.*BPTT: 2000 steps/.test(e.message) &&
        e.estimateBytes! > 8 * 1024 * 1024 &&
        /online rule/.test(e.message),
    );
    // The compiled engine keeps the stored steps of the sequences in flight only (one per thread): less, still linear in T.
    await assert.rejects(
      train({ text: LIF, model: 'lif', task: 'correlated:T=20000', steps: 1, batch: 64, maxBytes: 8 * 1024 * 1024 }),
      (e: unknown) =>
        e instanceof TrainError &&
        /would need about [\d.]+ MiB \(.*BPTT: 20000 steps of stored values/.test(e.message) &&
        e.estimateBytes! > 8 * 1024 * 1024 &&
        /online rule/.test(e.message),
    );
  });

  it('says what to change for bad input: a rule for another model, data shapes, unknown tasks and settings, a missing data set', async () => {
    await assert.rejects(
      train({ text: LIF, model: 'lif', rule: 'other_rule', task: 'correlated', steps: 1 }),
      /rule 'other_rule' is for model 'other', not 'lif'/,
    );
    await assert.rejects(
      train({ text: LIF, model: 'lif', rule: 'nope', task: 'correlated', steps: 1 }),
      /no rule named 'nope' in the file \(rules for 'lif': eprop/,
    );
    await assert.rejects(
      train({ text: LIF, model: 'lif', task: 'fashion-rows', steps: 1 }),
      /fashion-rows feeds one 28-pixel image row per step; model 'lif' has input x: \[8\]: declare x: \[28\]/,
    );
    await assert.rejects(
      train({ text: LIF, model: 'other', task: 'copy', steps: 1 }),
      /copy needs at least 3 input channels \(2 symbol channels \(one per output\) and a recall cue\); model 'other' has input x: \[2\]/,
    );
    await assert.rejects(train({ text: LIF, model: 'lif', task: 'adding', steps: 1 }), /adding regresses one number; model 'lif' has target y: \[2\]/);
    await assert.rejects(train({ text: LIF, model: 'lif', task: 'sudoku', steps: 1 }), /unknown task 'sudoku' \(tasks: correlated, store-recall, evidence/);
    await assert.rejects(train({ text: LIF, model: 'lif', task: 'evidence:cues=8', steps: 1 }), /cues must be odd/);
    await assert.rejects(train({ text: LIF, model: 'lif', task: 'evidence:Tee=8', steps: 1 }), /unknown setting 'Tee' \(it takes: T, cues/);
    const old = process.env.ELIGO_FASHION_MNIST;
    process.env.ELIGO_FASHION_MNIST = join(dir, 'no-such-folder');
    try {
      await assert.rejects(
        train({ text: LIF.replace('n_in = 8', 'n_in = 28'), model: 'lif', task: 'fashion-rows', steps: 1 }),
        /Fashion-MNIST is not installed: .*missing\. On Debian or Ubuntu install it with 'sudo apt-get install dataset-fashion-mnist'/,
      );
    } finally {
      if (old === undefined) delete process.env.ELIGO_FASHION_MNIST;
      else process.env.ELIGO_FASHION_MNIST = old;
    }
    await assert.rejects(
      train({ text: 'model m { input x: [2]\n target y: [2]\n state h: [2] = 0\n h[t+1] = x[t+1]\n }', task: 'correlated', steps: 1 }),
      /has no loss/,
    );
    await assert.rejects(
      train({ text: LIF.replace('W_in @ x[t+1]', 'W_in @ q[t+1]'), file: 'm.eligo', model: 'lif', task: 'correlated', steps: 1 }),
      /'lif' has errors; fix them first \(eligo check\):\n {2}m\.eligo:\d+:\d+: .*'q'/,
    );
    // Exact RTRL on the 64-neuron example: n⁴-ish work per step, refused with the count and what to do.
    const lif64 = readFileSync(join(__dirname, '..', 'examples', 'lif.eligo'), 'utf8') + '\nrule rtrl for lif {\n  schedule online\n}\n';
    await assert.rejects(
      train({ text: lif64, rule: 'rtrl', task: 'correlated', steps: 1 }),
      /rule 'rtrl' carries dense sensitivities \(RTRL-like\): [\d.e+]+ multiplications per time step .*practical up to n ≈ 30/,
    );
  });

  it("runs as the language server's `train` job: settings as defaults, progress and chart points, refusals as JobRefused", async () => {
    const settings = {
      train: { task: 'correlated:T=10,train=32,test=32', steps: 2, epochs: 1, learningRate: 0.01, batchSize: 8, seed: 2 },
    } as unknown as EligoSettings;
    const input = { text: LIF, item: 'lif', settings, params: { rule: 'eprop' } };
    const p = trainJobKind.parse(input);
    assert.deepEqual(p, { task: 'correlated:T=10,train=32,test=32', steps: 2, learningRate: 0.01, batchSize: 8, seed: 2, rule: 'eprop' });
    const reports: JobReport[] = [];
    const ctx = {
      cancelled: false,
      overBudget: false,
      shouldStop: false,
      signal: new AbortController().signal,
      remainingMs: Infinity,
      report: (r: JobReport) => reports.push(r),
      yield: async () => {},
    } as JobContext;
    const r = await trainJobKind.run(input, p, ctx);
    assert.equal(r.steps, 2);
    assert.ok(typeof r.accuracy === 'number' && typeof r.alignment === 'number');
    assert.ok(reports.some((q) => q.point && 'testLoss' in q.point.y));
    assert.throws(
      () => trainJobKind.parse({ ...input, params: { steps: -1 } }),
      (e: unknown) => e instanceof JobRefused && /'steps': Too small: expected number to be >=1/.test(e.message),
    );
    await assert.rejects(
      Promise.resolve().then(() => trainJobKind.run(input, { ...p, task: 'nope' }, ctx as never)),
      (e: unknown) => e instanceof JobRefused && /unknown task 'nope'/.test(e.message),
    );
  });

  it('carries a state without an update unchanged (online and BPTT)', async () => {
    const text = `model m {
  dim n = 4
  input  x: [n]
  target y: [2]
  param  W: [2, n] ~ normal(0, 0.5)
  param  V: [n, n] ~ normal(0, 0.3)
  state  h: [n] = 0
  state  c: [n] = 1
  h[t+1] = tanh(V @ h + x[t+1] * c)
  loss = mse(W @ h[t+1], y[t+1])
}
rule snap for m {
  approximate d(h[t+1])/d(h) = diagonal
  schedule online
}`;
    for (const rule of ['snap', undefined]) {
      const r = await train({ text, ...(rule !== undefined ? { rule } : {}), task: 'correlated:T=10,train=32,test=32', steps: 2, ...FAST, batch: 8 });
      assert.ok(Number.isFinite(r.final.loss), `${rule}: loss ${r.final.loss}`);
    }
  });

  it('draws batches as a seeded shuffle per epoch: every sample once per epoch, the same order for the same seed', () => {
    const epoch = [0, 1, 2, 3].flatMap((k) => batchIndices(7, 32, 8, k));
    assert.deepEqual(
      [...epoch].sort((a, b) => a - b),
      Array.from({ length: 32 }, (_, i) => i),
    );
    assert.deepEqual(batchIndices(7, 32, 8, 5), batchIndices(7, 32, 8, 5));
    assert.notDeepEqual(batchIndices(7, 32, 8, 4), batchIndices(7, 32, 8, 0));
  });
});
