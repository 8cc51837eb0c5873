import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compile, findItem, graphOf } from '../language-server/src/compile.js';
import { evaluate } from '../language-server/src/graph/evaluate.js';
import { evalComment, inputsFromJson } from '../language-server/src/graph/inputs.js';
import type { Graph, Tensor } from '../language-server/src/graph/types.js';

/** Central differences of the scalar output of `f` w.r.t. every input value. */
function numericGradient(f: Graph, point: Map<number, Tensor>, h = 1e-6): number[][] {
  const out = f.outputs[0]!;
  return f.inputs.map((id) => {
    const base = point.get(id)!;
    return Array.from(base.data, (_, k) => {
      const at = (d: number): number => {
        const data = Float64Array.from(base.data);
        data[k]! += d;
        const p = new Map(point).set(id, { shape: base.shape, data });
        return evaluate(f, p)[out]!.data[0]!;
      };
      return (at(h) - at(-h)) / (2 * h);
    });
  });
}

function checkGrad(text: string, fname: string, gname: string, json: string): void {
  const c = compile(text);
  assert.deepEqual(
    c.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const f = graphOf(c, findItem(c, fname));
  const g = graphOf(c, findItem(c, gname));
  const pf = inputsFromJson(f, json);
  const pg = inputsFromJson(g, json);
  const expected = numericGradient(f, pf);
  const values = evaluate(g, pg);
  g.outputs.forEach((o, i) => {
    Array.from(values[o]!.data).forEach((v, k) => {
      const e = expected[i]![k]!;
      assert.ok(Math.abs(v - e) <= 1e-6 * Math.max(1, Math.abs(e)), `${g.vertices[o]!.name}[${k}]: ${v} vs finite differences ${e}`);
    });
  });
}

describe('grad(f) as a graph', () => {
  it('builds the gradient of Black-Scholes V, equal to finite differences (first-order Greeks)', () => {
    const text = readFileSync('examples/black_scholes.eligo', 'utf8');
    checkGrad(text, 'black_scholes', 'black_scholes_grad', evalComment(text, 0)!);
  });

  it('differentiates tensor code: matmul, broadcast scalars, sums along an axis, transpose', () => {
    const text = `function f(W: [3, 2], x: [2], a) {
  let h = tanh(W @ x + a)
  let M = transpose(W) @ W
  return sum(h * h) + sum(sum(M, axis = 0) / a) + atan2(a, 2) + pow(a, 1.5)
}
let g = grad(f)
`;
    checkGrad(text, 'f', 'g', '{"W": [[0.1, -0.4], [0.3, 0.2], [-0.5, 0.7]], "x": [0.6, -0.2], "a": 0.8}');
  });

  it('refuses grad of a function with several outputs, with the reason', () => {
    const c = compile('function f(a, b) {\n  return a, b\n}\nlet g = grad(f)\n');
    const d = c.diagnostics.find((x) => x.code === 'grad.not-scalar');
    assert.ok(d);
    assert.match(d.message, /one scalar output/);
  });
});
