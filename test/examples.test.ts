// Every example, evaluated by the engine, against an independent plain
// TypeScript transcription of the same formulas (test/reference/).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compile, findItem, graphOf, modelStep } from '../language-server/src/compile.js';
import { evaluate } from '../language-server/src/graph/evaluate.js';
import { evalComment, inputsFromJson } from '../language-server/src/graph/inputs.js';
import { simulate } from '../language-server/src/graph/simulate.js';
import type { Tensor } from '../language-server/src/graph/types.js';
import {
  FUNCTION_REFERENCES,
  alifInputs,
  alifParams,
  lifInputs,
  lifParams,
  rnnInputs,
  rnnParams,
  simulateAlif,
  simulateLif,
  simulateRnn,
} from './reference/index.js';

const close = (a: number, b: number, tol = 1e-12): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

function tensor(v: number[] | number[][]): Tensor {
  if (typeof v[0] === 'number') return { shape: [v.length], data: Float64Array.from(v as number[]) };
  const m = v as number[][];
  return { shape: [m.length, m[0]!.length], data: Float64Array.from(m.flat()) };
}

describe('examples against independent transcriptions', () => {
  for (const ref of FUNCTION_REFERENCES) {
    const text = readFileSync(`examples/${ref.example}`, 'utf8');
    for (const [name, expected] of Object.entries(ref.referenceValues())) {
      it(`${ref.example}: ${name} evaluates to the transcription's values at its @eval point`, () => {
        const c = compile(text);
        const item = findItem(c, name);
        const g = graphOf(c, item);
        const values = evaluate(g, inputsFromJson(g, evalComment(text, item.range.start), undefined, false));
        assert.equal(g.outputs.length, expected.length);
        g.outputs.forEach((o, k) => {
          const got = Array.from(values[o]!.data);
          assert.equal(got.length, expected[k]!.length, `output ${k} size`);
          got.forEach((v, i) => assert.ok(close(v, expected[k]![i]!), `${name} output ${k}[${i}]: engine ${v}, transcription ${expected[k]![i]}`));
        });
      });
    }
  }

  const models = [
    {
      file: 'lif.eligo',
      name: 'lif',
      params: lifParams(7),
      inputs: lifInputs(7, 40),
      run: (T: number) => simulateLif(lifParams(7), lifInputs(7, 40), T) as unknown as Record<string, number[][] | number>,
    },
    {
      file: 'alif.eligo',
      name: 'alif',
      params: alifParams(7),
      inputs: alifInputs(7, 40),
      run: (T: number) => simulateAlif(alifParams(7), alifInputs(7, 40), T) as unknown as Record<string, number[][] | number>,
    },
    {
      file: 'rnn.eligo',
      name: 'rnn',
      params: rnnParams(7),
      inputs: rnnInputs(7, 40),
      run: (T: number) => simulateRnn(rnnParams(7), rnnInputs(7, 40), T) as unknown as Record<string, number[][] | number>,
    },
  ];
  for (const m of models) {
    it(`${m.file}: 40 steps of the model equal the transcription's states and summed loss`, () => {
      const c = compile(readFileSync(`examples/${m.file}`, 'utf8'));
      const { graph } = modelStep(c, findItem(c, m.name));
      const params = new Map<string, Tensor>();
      for (const p of graph.model.params) params.set(p.name, tensor((m.params as unknown as Record<string, number[] | number[][]>)[p.name]!));
      const data = new Map<string, Tensor[]>([
        ['x', m.inputs.x.map((v) => tensor(v))],
        ['y', m.inputs.y.map((v) => tensor(v))],
      ]);
      const T = 40;
      const traj = simulate(graph, params, data, T);
      const ref = m.run(T);
      assert.ok(typeof ref.loss === 'number', 'the reference gives a scalar loss');
      assert.ok(close(traj.totalLoss, ref.loss, 1e-10), `loss ${traj.totalLoss} vs ${ref.loss}`);
      for (const s of graph.model.states) {
        const expected = (ref[s.name] as number[][])[T]!;
        const got = Array.from(traj.states[T - 1]!.get(s.name)!.data);
        got.forEach((v, i) => assert.ok(close(v, expected[i]!, 1e-10), `${s.name}[${i}] at T: ${v} vs ${expected[i]}`));
      }
    });
  }
});
