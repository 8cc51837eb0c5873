// The TensorFlow.js step equals the Float64 reference (graph/evaluate.ts,
// graph/simulate.ts) to float32 precision, batched or not, and its autodiff
// equals the elimination engine's Jacobian (spike through its surrogate).

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compile, findItem, graphOf, modelStep } from '../language-server/src/compile.js';
import { jacobian } from '../language-server/src/ad/jacobian.js';
import { evaluate, evaluateBatch } from '../language-server/src/graph/evaluate.js';
import { evalComment, inputsFromJson } from '../language-server/src/graph/inputs.js';
import { initialParams, initialStates, randomData, simulate } from '../language-server/src/graph/simulate.js';
import { Rng } from '../language-server/src/graph/random.js';
import { sizeOf, type Tensor } from '../language-server/src/graph/types.js';
import { loadTf, type Tf } from '../language-server/src/train/backend.js';
import { compileGraph, type Value } from '../language-server/src/train/compileGraph.js';
import { modelSpec, StepModel, toTensor } from '../language-server/src/train/model.js';

const EXAMPLES = join(__dirname, '..', 'examples');

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 2e-4, abs = 2e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= abs + rel * Math.abs(e), `${what}[${i}]: ${a} vs ${e}`);
  }
}

describe('train: graphs compiled to TensorFlow.js', () => {
  let tf: Tf;
  before(async () => {
    tf = await loadTf();
  });

  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.eligo'));
  for (const f of files) {
    const text = readFileSync(join(EXAMPLES, f), 'utf8');
    const c = compile(text);
    for (const item of c.items.filter((i) => i.kind === 'function' && !i.hasErrors)) {
      const json = evalComment(text, item.range.start);
      if (!json) continue;
      it(`${f} ${item.name}: values equal evaluate(), one point and a batch of 3`, () => {
        const graph = graphOf(c, item);
        const leaves = inputsFromJson(graph, json);
        const ref = evaluate(graph, leaves);
        const cg = compileGraph(tf, graph);
        try {
          tf.tidy(() => {
            const one = new Map<number, Value>([...leaves].map(([id, t]) => [id, { t: toTensor(tf, t), batched: false }]));
            const vals = cg.run(one, 1);
            for (const o of graph.outputs) close(vals[o]!.t.dataSync(), ref[o]!.data, `${item.name} output ${o}`);
            // Batched: every leaf repeated 3 times along a leading axis.
            const three = new Map<number, Value>([...leaves].map(([id, t]) => [id, { t: tf.stack([0, 1, 2].map(() => toTensor(tf, t))), batched: true }]));
            const bvals = cg.run(three, 3);
            for (const o of graph.outputs) {
              const d = bvals[o]!.t.dataSync();
              const n = sizeOf(graph.vertices[o]!.shape);
              for (let b = 0; b < 3; b++) close(d.slice(b * n, (b + 1) * n), ref[o]!.data, `${item.name} output ${o} sample ${b}`);
            }
          });
        } finally {
          cg.dispose();
        }
      });
      it(`${f} ${item.name}: TF.js gradients equal the elimination engine's Jacobian`, () => {
        const graph = graphOf(c, item);
        const leaves = inputsFromJson(graph, json);
        const jac = jacobian(graph, leaves);
        const cg = compileGraph(tf, graph);
        try {
          tf.tidy(() => {
            const ids = graph.inputs;
            const fixed = new Map<number, Value>(
              [...leaves].filter(([id]) => !ids.includes(id)).map(([id, t]) => [id, { t: toTensor(tf, t), batched: false }]),
            );
            // Gradient of the sum of all outputs = column sums of the Jacobian.
            const f = (...xs: ReturnType<typeof toTensor>[]): ReturnType<typeof toTensor> => {
              const m = new Map(fixed);
              ids.forEach((id, k) => m.set(id, { t: xs[k]!, batched: false }));
              const vals = cg.run(m, 1, graph.outputs);
              return tf.addN(graph.outputs.map((o) => tf.sum(vals[o]!.t)));
            };
            const grads = tf.grads(f)(ids.map((id) => toTensor(tf, leaves.get(id)!)));
            ids.forEach((id, l) => {
              const cols = sizeOf(graph.vertices[id]!.shape);
              const expected = new Float64Array(cols);
              for (const row of jac.blocks) {
                const b = row[l]!;
                for (let r = 0; r < b.rows; r++) for (let q = 0; q < cols; q++) expected[q]! += b.data[r * cols + q]!;
              }
              close(grads[l]!.dataSync(), expected, `${item.name} d/d input ${id}`, 2e-3, 2e-4);
            });
          });
        } finally {
          cg.dispose();
        }
      });
    }
  }

  it("at kinks TF.js gradients are the Float64 engine's: max/min split a tie ½/½, abs has 0 at 0, max(x)/min(x) share among tied entries", () => {
    // x and y tie in entries 0 and 1 (max and min), x is 0 in entry 0 (abs), max(x) ties in entries 2 and 3, min(y) too;
    // max(x, 1) ties with a broadcast scalar in entry 1.
    // TF.js's own kernels give x all of a max/min tie, −1 for abs at 0, and each tied entry the whole max(x).
    const text = `function kinks(x: [4], y: [4], v: [4]) {
  return sum(v * max(x, y)) + 2 * sum(v * min(x, y)) + 5 * sum(abs(x)) + 7 * max(x) + 11 * min(y) + 13 * sum(max(x, 1))
}`;
    const c = compile(text);
    const item = findItem(c, 'kinks', ['function']);
    const graph = graphOf(c, item);
    const leaves = inputsFromJson(graph, JSON.stringify({ x: [0, 1, 2, 2], y: [0, 1, -1, -1], v: [1, 2, 3, 4] }));
    const jac = jacobian(graph, leaves);
    const cg = compileGraph(tf, graph);
    try {
      tf.tidy(() => {
        const ids = graph.inputs;
        const f = (...xs: ReturnType<typeof toTensor>[]): ReturnType<typeof toTensor> => {
          const vals = cg.run(new Map(ids.map((id, k) => [id, { t: xs[k]!, batched: false }])), 1, graph.outputs);
          return tf.sum(vals[graph.outputs[0]!]!.t);
        };
        const grads = tf.grads(f)(ids.map((id) => toTensor(tf, leaves.get(id)!)));
        const want = ids.map((_, l) => Array.from(jac.blocks[0]![l]!.data));
        // By hand: d/dx = v·[½, ½, 1, 1] + 2v·[½, ½, 0, 0] + 5·sign(x) + 7·[0, 0, ½, ½] + 13·[0, ½, 1, 1]; d/dy = v·[½, ½, 0, 0] + 2v·[½, ½, 1, 1] + 11·[0, 0, ½, ½].
        assert.deepEqual(want[0], [1.5, 14.5, 24.5, 25.5]);
        assert.deepEqual(want[1], [1.5, 3, 11.5, 13.5]);
        ids.forEach((id, l) => close(grads[l]!.dataSync(), want[l]!, `d kinks / d ${graph.vertices[id]!.name ?? id}`, 1e-6, 1e-6));
        // Batched (a leading axis of 2, the constant 1 shared): each sample's gradient is the same.
        const fb = (...xs: ReturnType<typeof toTensor>[]): ReturnType<typeof toTensor> => {
          const vals = cg.run(new Map(ids.map((id, k) => [id, { t: xs[k]!, batched: true }])), 2, graph.outputs);
          return tf.sum(vals[graph.outputs[0]!]!.t);
        };
        const gb = tf.grads(fb)(ids.map((id) => tf.stack([0, 1].map(() => toTensor(tf, leaves.get(id)!)))));
        ids.forEach((id, l) => close(gb[l]!.dataSync(), [...want[l]!, ...want[l]!], `batched d kinks / d ${graph.vertices[id]!.name ?? id}`, 1e-6, 1e-6));
      });
    } finally {
      cg.dispose();
    }
  });

  for (const [file, model] of [
    ['lif.eligo', 'lif'],
    ['alif.eligo', 'alif'],
    ['rnn.eligo', 'rnn'],
  ] as const) {
    it(`${model}: one batched step equals evaluateBatch (states, loss) at random states`, () => {
      const c = compile(readFileSync(join(EXAMPLES, file), 'utf8'));
      const { scope, graph } = modelStep(c, findItem(c, model, ['model']));
      const spec = modelSpec(graph, scope);
      const params = initialParams(scope, 3);
      const rng = new Rng(11);
      const B = 4;
      const rand = (shape: readonly number[], spikes: boolean): Tensor => {
        const data = new Float64Array(B * sizeOf(shape));
        for (let i = 0; i < data.length; i++) data[i] = spikes ? (rng.next() < 0.3 ? 1 : 0) : Math.fround(rng.normal());
        return { shape, data };
      };
      const states = spec.states.map((s) => rand(s.shape, s.name === 'z'));
      const x = rand(spec.input.shape, true);
      const y = rand(spec.target.shape, false);
      const leaves = new Map<number, Tensor>();
      spec.states.forEach((s, i) => leaves.set(s.leaf, states[i]!));
      spec.params.forEach((p) => {
        const t = params.get(p.name)!;
        leaves.set(p.leaf, { shape: t.shape, data: Float64Array.from(Float32Array.from(t.data)) });
      });
      leaves.set(spec.input.leaf, x);
      leaves.set(spec.target.leaf, y);
      const ref = evaluateBatch(graph, leaves, B);
      const m = new StepModel(tf, spec);
      try {
        tf.tidy(() => {
          const bt = (t: Tensor, shape: readonly number[]): ReturnType<typeof toTensor> => tf.tensor(Float32Array.from(t.data), [B, ...shape]);
          const r = m.step(
            states.map((s, i) => bt(s, spec.states[i]!.shape)),
            spec.params.map((p) => toTensor(tf, params.get(p.name)!)),
            bt(x, spec.input.shape),
            bt(y, spec.target.shape),
          );
          spec.states.forEach((s, i) => close(r.next[i]!.dataSync(), ref[s.next]!.data, `${model}.${s.name}[t+1]`));
          close(r.loss.dataSync(), ref[spec.loss]!.data, `${model} loss`);
        });
      } finally {
        m.dispose();
      }
    });

    it(`${model}: 40 steps from the initial state follow graph/simulate.ts`, () => {
      const c = compile(readFileSync(join(EXAMPLES, file), 'utf8'));
      const { scope, graph } = modelStep(c, findItem(c, model, ['model']));
      const spec = modelSpec(graph, scope);
      const T = 40;
      const params = initialParams(scope, 5);
      for (const t of params.values()) t.data.set(Float32Array.from(t.data));
      const data = randomData(scope, T, 5);
      const traj = simulate(graph, params, data, T, initialStates(scope));
      const m = new StepModel(tf, spec);
      try {
        tf.tidy(() => {
          let s = m.initialStates(1);
          const ps = spec.params.map((p) => toTensor(tf, params.get(p.name)!));
          for (let t = 0; t < T; t++) {
            const x = tf.tensor(Float32Array.from(data.get(spec.input.name)![t]!.data), [1, ...spec.input.shape]);
            const y = tf.tensor(Float32Array.from(data.get(spec.target.name)![t]!.data), [1, ...spec.target.shape]);
            const r = m.step(s, ps, x, y);
            s = r.next;
            close(r.loss.dataSync(), [traj.losses[t]!], `${model} loss at step ${t + 1}`, 1e-3, 1e-4);
          }
        });
      } finally {
        m.dispose();
      }
    });
  }
});
