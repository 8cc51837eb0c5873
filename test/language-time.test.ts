// The constructs of issue 15 through the front end: named surrogates with a
// scale, delays z[t-k] / x[t+1-k] (shift-register states in the graph), loss
// windows and readouts over time, and the modeller's warnings — each mistake
// one located diagnostic with a code, no cascades.

import assert from 'node:assert/strict';
import { compile, findItem, modelStep, unrolled } from '../language-server/src/compile.js';
import { lossWeights, LossWindowError } from '../language-server/src/lang/lossWindow.js';
import type { ModelScope } from '../language-server/src/lang/symbols.js';
import { simulate, initialStates, randomData, initialParams } from '../language-server/src/graph/simulate.js';
import { withLossWindow } from '../language-server/src/train/tasks/window.js';
import { makeTask } from '../language-server/src/train/tasks/index.js';

const codes = (text: string): string[] => compile(text).diagnostics.map((d) => `${d.severity}:${d.code}`);
const errorCodes = (text: string): string[] => codes(text).filter((c) => c.startsWith('error:'));
const scopeOf = (text: string, name = 'm'): ModelScope => compile(text).checked.items.get(name) as ModelScope;

const BASE = (body: string, extra = ''): string => `model m {
  dim n = 3, n_in = 2
  input x: [n_in]
  target y: [n]
  param W: [n, n_in] ~ normal(0, 0.5)
  state u: [n] = 0
  state z: [n] = 0
  ${extra}
  ${body}
}
`;

describe('named surrogates with a scale', () => {
  it('several per model, each called by name; spike stays the default', () => {
    const text = BASE(
      `u[t+1] = 0.9 * u + W @ x[t+1]\n  z[t+1] = fast(u[t+1] - 1) + spike(u[t+1] - 2)\n  loss = mse(z[t+1], y[t+1])`,
      'surrogate spike = triangle(width = 1, scale = 0.3)\n  surrogate fast = fast_sigmoid(slope = 25, scale = 2)',
    );
    assert.deepEqual(codes(text), []);
    const c = compile(text);
    const { graph } = modelStep(c, findItem(c, 'm'));
    const spikes = graph.vertices.filter((v) => v.op === 'spike').map((v) => v.attrs.surrogate);
    assert.deepEqual(spikes, [
      { kind: 'fast_sigmoid', slope: 25, scale: 2, name: 'fast' },
      { kind: 'triangle', width: 1, scale: 0.3, name: 'spike' },
    ]);
  });

  it('bad surrogates: one diagnostic each, and their calls are not reported again', () => {
    const text = BASE(
      `u[t+1] = 0.9 * u + W @ x[t+1]\n  z[t+1] = fast(u[t+1]) + slow(u)\n  loss = mse(z[t+1], y[t+1])`,
      'surrogate fast = fast_sigmoid(slope = 25, scale = 0)\n  surrogate slow = triangle(widht = 1)',
    );
    assert.deepEqual(codes(text), ['error:surrogate.param-range', 'error:surrogate.param']);
  });

  it('an unknown surrogate name suggests the declared one', () => {
    const c = compile(BASE(`u[t+1] = 0.9 * u + fastt(W @ x[t+1])\n  z[t+1] = u[t+1]`, 'surrogate fast = fast_sigmoid(slope = 25)'));
    const d = c.diagnostics.find((x) => x.code === 'surrogate.unknown-name')!;
    assert.match(d.message, /did you mean the surrogate 'fast'/);
    assert.equal(c.text.slice(d.range.start, d.range.end), 'fastt');
  });

  it('a duplicate surrogate line is an error pointing at both', () => {
    const c = compile(BASE('u[t+1] = 0.9 * u', 'surrogate spike = triangle(width = 1)\n  surrogate spike = fast_sigmoid(slope = 10)'));
    const d = c.diagnostics.find((x) => x.code === 'surrogate.duplicate')!;
    assert.equal(d.related?.length, 1);
  });
});

describe('delays', () => {
  const text = BASE(`u[t+1] = 0.9 * u + W @ x[t] + z[t-2]\n  z[t+1] = u[t+1] - 1\n  loss = mse(z[t+1], y[t+1])`);

  it('z[t-k] and x[t] become shift-register states the graph shows', () => {
    assert.deepEqual(codes(text), []);
    const s = scopeOf(text);
    assert.deepEqual(
      s.hidden.map((h) => h.name),
      ['x_delay1', 'z_delay1', 'z_delay2'],
    );
    const c = compile(text);
    const { graph } = modelStep(c, findItem(c, 'm'));
    const states = graph.model.states.map((x) => x.name);
    assert.deepEqual(states, ['u', 'z', 'x_delay1', 'z_delay1', 'z_delay2']);
    const next = (n: string): string => graph.vertices[graph.model.states.find((x) => x.name === n)!.next]!.group!;
    assert.equal(next('z_delay2'), 'delay z');
  });

  it('reads the value k steps back, with the source initial value before the start', () => {
    const c = compile(text);
    const { scope, graph } = modelStep(c, findItem(c, 'm'));
    const T = 6;
    const data = randomData(scope, T, 3);
    const tr = simulate(graph, initialParams(scope, 1), data, T, initialStates(scope));
    // z_delay2 after step t holds z after step t − 2.
    for (let t = 2; t < T; t++) assert.deepEqual(tr.states[t]!.get('z_delay2')!.data, tr.states[t - 2]!.get('z')!.data);
    assert.deepEqual(Array.from(tr.states[0]!.get('z_delay2')!.data), [0, 0, 0]);
    // x_delay1 after step t holds the input of step t (x[t+1] of that step).
    for (let t = 0; t < T; t++) assert.deepEqual(tr.states[t]!.get('x_delay1')!.data, data.get('x')![t]!.data);
  });

  it('any other time index says which exist; a delay must be a positive integer constant', () => {
    const c = compile(BASE('u[t+1] = 0.9 * u + u[t+2] + u[t*2] + u[t-1.5] + u[t-0]'));
    const msgs = c.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${c.text.slice(d.range.start, d.range.end)}`);
    assert.deepEqual(msgs, ['time.index u[t+2]', 'time.index u[t*2]', 'time.delay 1.5', 'time.delay 0']);
    assert.match(c.diagnostics.find((d) => d.code === 'time.index')!.message, /u\[t\] \(this step\), u\[t\+1\] .* u\[t-k\] \/ u\[t\+1-k\]/);
  });
});

describe('loss over time', () => {
  it('at last, for last K and after K weight the steps', () => {
    const w = (clause: string, T: number): number[] =>
      Array.from(lossWeights(scopeOf(BASE(`u[t+1] = 0.9 * u + W @ x[t+1]\n  loss = sum(u[t+1]) ${clause}`)).lossWindow, T));
    assert.deepEqual(w('', 4), [1, 1, 1, 1]);
    assert.deepEqual(w('at last', 4), [0, 0, 0, 1]);
    assert.deepEqual(w('for last 2', 4), [0, 0, 1, 1]);
    assert.deepEqual(w('after 1', 4), [0, 1, 1, 1]);
    assert.throws(
      () => w('for last 5', 4),
      (e: Error) => e instanceof LossWindowError && /the last 5 steps .* the sequence has 4/.test(e.message),
    );
  });

  it('the unrolled graph sums only the counted steps; the step graph carries w_t as data', () => {
    const text = BASE(`u[t+1] = 0.9 * u + W @ x[t+1]\n  loss = sum(u[t+1]) for last 2`);
    const c = compile(text);
    const item = findItem(c, 'm');
    const { graph } = unrolled(c, item, 5);
    assert.equal(graph.vertices.filter((v) => v.role === 'loss').length, 2);
    const step = modelStep(c, item).graph;
    assert.deepEqual(
      step.model.data.map((d) => `${d.name}:${d.role}`),
      ['x:input', 'y:target', 'loss_weight:weight'],
    );
    const { scope } = modelStep(c, item);
    const T = 5;
    const data = randomData(scope, T, 2);
    const tr = simulate(step, initialParams(scope, 1), data, T, initialStates(scope));
    assert.deepEqual(tr.losses.slice(0, 3), [0, 0, 0]);
    assert.ok(tr.losses[3] !== 0 && tr.losses[4] !== 0);
  });

  it('readouts over time: the running max and mean are states', () => {
    const text = BASE(`u[t+1] = 0.9 * u + W @ x[t+1]\n  loss = sum(max_over_time(u[t+1])) + sum(mean_over_time(u[t+1])) at last`);
    assert.deepEqual(errorCodes(text), []);
    const c = compile(text);
    const { scope, graph } = modelStep(c, findItem(c, 'm'));
    const T = 7;
    const data = randomData(scope, T, 4);
    const tr = simulate(graph, initialParams(scope, 1), data, T, initialStates(scope));
    const us = tr.states.map((s) => Array.from(s.get('u')!.data));
    for (let i = 0; i < 3; i++) {
      const col = us.map((u) => u[i]!);
      assert.equal(tr.states[T - 1]!.get('max_over_time1')!.data[i], Math.max(...col));
      assert.ok(Math.abs(tr.states[T - 1]!.get('mean_over_time1')!.data[i]! - col.reduce((a, b) => a + b, 0) / T) < 1e-12);
    }
  });

  it('training: the task scores its window, the model narrows it; each sample still weighs 1', () => {
    const text = BASE(`u[t+1] = 0.9 * u + W @ x[t+1]\n  loss = mse(u[t+1], y[t+1]) at last`).replace('dim n = 3, n_in = 2', 'dim n = 2, n_in = 8');
    const s = scopeOf(text);
    const task = makeTask('evidence:T=40,train=4,test=4', { model: 'm', nIn: 8, nOut: 2, inputName: 'x', targetName: 'y', seed: 1 });
    const b = withLossWindow(task, s.lossWindow, 'm').batch('train', [0, 1]);
    for (let k = 0; k < 2; k++) {
      const w = Array.from({ length: 40 }, (_, t) => b.weight[t * 2 + k]!);
      assert.deepEqual(
        w.map((x, t) => (x > 0 ? t : -1)).filter((t) => t >= 0),
        [39],
      );
      assert.equal(w[39], 1);
      assert.equal(b.labels![38 * 2 + k], -1, 'labels outside the window are dropped');
    }
    const early = BASE(`u[t+1] = 0.9 * u\n  loss = mse(u[t+1], y[t+1]) for last 50`).replace('dim n = 3, n_in = 2', 'dim n = 2, n_in = 8');
    assert.throws(() => withLossWindow(task, scopeOf(early).lossWindow, 'm'), /last 50 steps .* has 40/);
  });
});

describe('modeller warnings, one root error per mistake', () => {
  it('an unstable decay, a negative time constant and a target in the dynamics are warned about', () => {
    const c = compile(BASE(`u[t+1] = alpha * u + W @ x[t+1] + y[t+1]\n  z[t+1] = u[t+1]\n  loss = mse(z[t+1], y[t+1])`, 'const alpha = 1.05, tau_m = -20'));
    assert.deepEqual(
      c.diagnostics.map((d) => `${d.severity}:${d.code}`),
      ['warning:const.time-constant', 'warning:state.unstable', 'warning:target.in-dynamics'],
    );
    assert.match(c.diagnostics[1]!.message, /1\.05/);
    const leak = c.diagnostics[2]!;
    assert.equal(c.text.slice(leak.range.start, leak.range.end), 'y[t+1]');
  });

  it('an ODE with a positive rate is unstable; a leak is not', () => {
    assert.deepEqual(
      codes('model m {\n  const dt = 1\n  state u: [2] = 1\n  du/dt = u / 10\n}\n').filter((x) => x.includes('unstable')),
      ['warning:state.unstable'],
    );
    assert.deepEqual(codes('model m {\n  const dt = 1\n  state u: [2] = 1\n  du/dt = -u / 10\n}\n'), []);
  });

  it('n = 0 is one error, not a cascade; so is a dimension too large', () => {
    const model = (dim: string): string =>
      `model m {\n  dim n = ${dim}, n_in = 3\n  input x: [n_in]\n  target y: [n]\n  param W_in: [n, n_in]\n  param W_rec: [n, n]\n  state u: [n] = 0\n  state z: [n] = 0\n  surrogate spike = fast_sigmoid(slope = 10)\n  u[t+1] = 0.9 * u + W_rec @ z + W_in @ x[t+1]\n  z[t+1] = spike(u[t+1] - 1)\n  loss = mse(z[t+1], y[t+1])\n}\nrule r for m {\n  approximate d(u[t+1])/d(z) = 0\n}\n`;
    assert.deepEqual(codes(model('0')), ['error:dim.invalid']);
    assert.deepEqual(codes(model('10^12')), ['error:dim.too-large']);
  });
});
