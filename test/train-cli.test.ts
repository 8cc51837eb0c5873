// `eligo train` as a real process on the bundled CLI (dist/cli.js, with
// @tensorflow/* external): the backend loads from node_modules, the --json
// summary has the documented keys, and bad input exits with a message.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MODEL = `
model lif {
  dim n_in = 4, n = 8, n_out = 2
  const alpha = exp(-1 / 20), kappa = exp(-1 / 10)
  input  x: [n_in]
  target y: [n_out]
  param  W_in:  [n, n_in]  ~ normal(0, 0.3)
  param  W_rec: [n, n]     ~ normal(0, 0.05)
  param  W_out: [n_out, n] ~ normal(0, 0.1)
  state  u: [n] = 0
  state  z: [n] = 0
  state  o: [n_out] = 0
  surrogate spike = fast_sigmoid(slope = 10)
  u[t+1] = alpha * u + W_rec @ z + W_in @ x[t+1] - z
  z[t+1] = spike(u[t+1] - 1)
  o[t+1] = kappa * o + W_out @ z[t+1]
  loss = mse(o[t+1], y[t+1])
}
rule eprop for lif {
  approximate d(u[t+1])/d(z) = 0
  approximate d(u[t+1])/d(u) = diagonal
  schedule online
}
`;

function eligo(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', env: { ...process.env, ELIGO_TF_BACKEND: '' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('eligo train (bundled CLI)', () => {
  let dir: string;
  let file: string;
  before(function () {
    this.timeout(60000);
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    dir = mkdtempSync(join(tmpdir(), 'eligo-train-cli-'));
    file = join(dir, 'lif.eligo');
    writeFileSync(file, MODEL);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--json ends with {task, model, rule, backend, engine, final: {trainAccuracy, testAccuracy, loss}, stepsPerSecond, peakMemoryBytes, seconds}', function () {
    this.timeout(60000);
    const r = eligo(
      'train',
      file,
      '--model',
      'lif',
      '--rule',
      'eprop',
      '--task',
      'correlated:T=10,train=32,test=32',
      '--steps',
      '2',
      '--batch',
      '8',
      '--seed',
      '3',
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(summary), ['task', 'model', 'rule', 'backend', 'engine', 'final', 'stepsPerSecond', 'peakMemoryBytes', 'seconds']);
    assert.equal(summary.engine, 'compiled', 'the compiled engine is the default');
    const old = eligo(
      'train',
      file,
      '--model',
      'lif',
      '--rule',
      'eprop',
      '--task',
      'correlated:T=10,train=32,test=32',
      '--steps',
      '2',
      '--batch',
      '8',
      '--seed',
      '3',
      '--json',
      '--engine',
      'tfjs',
    );
    assert.equal(old.code, 0, old.err);
    const prev = JSON.parse(old.out.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(prev.engine, 'tfjs', '--engine tfjs keeps the TensorFlow.js path');
    assert.equal(eligo('train', file, '--model', 'lif', '--task', 'correlated', '--engine', 'gpu').code, 2);
    assert.deepEqual(Object.keys(summary.final as object), ['trainAccuracy', 'testAccuracy', 'loss']);
    assert.equal(summary.backend, 'wasm', 'tfjs-node is not installed here: the wasm binaries load from node_modules');
    assert.equal(summary.rule, 'eprop');
    assert.match(String(summary.task), /^correlated\(T=10/);
  });

  it('prints the backend, the data encoding and a final table; exits 1 with a message on bad input, 2 on usage errors', function () {
    this.timeout(60000);
    const ok = eligo('train', file, '--model', 'lif', '--task', 'correlated:T=10,train=32,test=32', '--steps', '1', '--batch', '8');
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.err, /lif · bptt \(exact gradient\) · correlated\(T=10.* · engine compiled \(generated float32 code, (one thread|\d threads)/);
    assert.match(ok.err, /data: inputs 0–1 and 2–3 are two groups of Poisson spike trains/);
    assert.match(ok.out, /accuracy +\d/);
    assert.match(ok.out, /1 update · .* steps\/s · peak tensor memory/);
    // each evaluation says over which training batches its train accuracy was taken (it depends on --eval-every)
    const evals = eligo('train', file, '--model', 'lif', '--task', 'correlated:T=10,train=32,test=32', '--steps', '6', '--batch', '8', '--eval-every', '3');
    assert.equal(evals.code, 0, evals.err);
    assert.equal((evals.err.match(/eval @ \d+: .* train acc [\d.]+ % \(batches of the last 3 updates\)/g) ?? []).length, 2, evals.err);
    const bad = eligo('train', file, '--model', 'lif', '--task', 'fashion-rows', '--steps', '1');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /fashion-rows feeds one 28-pixel image row per step; model 'lif' has input x: \[4\]/);
    const usage = eligo('train', file, '--model', 'lif');
    assert.equal(usage.code, 2);
    assert.match(usage.err, /give a --task/);
    const tasks = eligo('train', '--tasks');
    assert.equal(tasks.code, 0);
    assert.match(tasks.out, /store-recall +T, period/);
  });

  it('Ctrl-C stops a run inside a long BPTT batch at once (the run is in a worker that polls a shared flag), exit code 130', async function () {
    this.timeout(60000);
    const child = spawn(
      process.execPath,
      ['dist/cli.js', 'train', file, '--model', 'lif', '--task', 'correlated:T=20000,train=16,test=16', '--steps', '5', '--batch', '16'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    const started = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/memory estimate/.test(err)) resolve();
      }),
    );
    await started;
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = performance.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const ms = performance.now() - t0;
    assert.equal(code, 130, err);
    assert.ok(ms < 3000, `exited ${ms.toFixed(0)} ms after Ctrl-C`);
    assert.match(err, /stopping/);
  });
});
