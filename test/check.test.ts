import assert from 'node:assert/strict';
import { compile, findItem, graphOf, modelStep, unrolled } from '../language-server/src/compile.js';
import { EPROP_RULE, LIF_MODEL } from './helpers/models.js';

const LIF = `\n${LIF_MODEL}${EPROP_RULE}`;

function errors(text: string): { code: string; message: string; at: string }[] {
  const c = compile(text);
  return c.diagnostics.filter((d) => d.severity === 'error').map((d) => ({ code: d.code, message: d.message, at: text.slice(d.range.start, d.range.end) }));
}

describe('checker', () => {
  it('accepts the LIF model and its e-prop rule of LANGUAGE.md', () => {
    assert.deepEqual(errors(LIF), []);
  });

  it('reports an unknown name with a did-you-mean and the exact range', () => {
    const e = errors(LIF.replace('- theta * z', '- thetta * z'));
    assert.equal(e.length, 1);
    assert.equal(e[0]!.code, 'name.unknown');
    assert.equal(e[0]!.at, 'thetta');
    assert.match(e[0]!.message, /did you mean 'theta'/);
  });

  it('names both shapes in a shape mismatch', () => {
    const e = errors(LIF.replace('state  u: [n] = 0', 'state  u: [32] = 0'));
    assert.ok(
      e.some((d) => d.code === 'shape.mismatch' && /\[64\]/.test(d.message) && /\[32\]/.test(d.message)),
      JSON.stringify(e),
    );
  });

  it('reports a same-step cycle with the loop named', () => {
    const e = errors(LIF.replace('u[t+1] = alpha * u', 'u[t+1] = alpha * z[t+1] + alpha * u'));
    const cyc = e.find((d) => d.code === 'equation.cycle');
    assert.ok(cyc, JSON.stringify(e));
    assert.match(cyc.message, /u\[t\+1\] → z\[t\+1\] → u\[t\+1\]|z\[t\+1\] → u\[t\+1\] → z\[t\+1\]/);
  });

  it('asks for a surrogate when spike has none, with the line to add', () => {
    const e = errors(LIF.replace('surrogate spike = fast_sigmoid(slope = 10)', ''));
    assert.deepEqual(
      e.map((d) => d.code),
      ['spike.no-surrogate'],
    );
    assert.equal(e[0]!.message, "'spike' needs a surrogate: add 'surrogate spike = fast_sigmoid(slope = 10)'");
  });

  it('reports a rule for an unknown model and an approximation of a block that does not exist', () => {
    assert.deepEqual(
      errors(LIF.replace('rule eprop for lif', 'rule eprop for lyf')).map((d) => d.code),
      ['rule.unknown-model'],
    );
    const e = errors(LIF.replace('approximate d(u[t+1])/d(z) = 0', 'approximate d(u[t+1])/d(W_out) = 0'));
    assert.deepEqual(
      e.map((d) => d.code),
      ['rule.no-block'],
    );
    assert.match(e[0]!.message, /u\[t\+1\] does not read W_out/);
  });

  it('reports duplicates with related information pointing at the first declaration', () => {
    const c = compile(LIF.replace('state  z: [n] = 0', 'state  z: [n] = 0\n  state  u: [n] = 0'));
    const d = c.diagnostics.find((x) => x.code === 'name.duplicate');
    assert.ok(d);
    assert.equal(d.related?.length, 1);
    assert.equal(c.text.slice(d.related[0]!.range.start, d.related[0]!.range.end), 'u');
    assert.ok(d.related[0]!.range.start < d.range.start);
  });

  it('refuses absurd sizes with the estimate', () => {
    const e = errors('dim n = 10^6\nfunction f(x: [n, n]) {\n  return sum(x)\n}\n');
    assert.equal(e[0]?.code, 'shape.too-large');
    assert.match(e[0].message, /7\.28 TiB|TiB/);
  });

  it('keeps checking the other items of a file after an error', () => {
    const c = compile(`function f(a) {\n  return a + nope\n}\nfunction g(a, b) {\n  return a * b\n}\n`);
    const f = findItem(c, 'f');
    const g = findItem(c, 'g');
    assert.equal(f.hasErrors, true);
    assert.equal(g.hasErrors, false);
    assert.equal(graphOf(c, g).outputs.length, 1);
  });
});

describe('graph builder', () => {
  it('builds one vertex per elemental operation of the worked example', () => {
    const c = compile('function f(x1, x2) {\n  let v1 = x1 * x2\n  let v2 = sin(v1)\n  return log(v2), v1 + v2\n}\n');
    const g = graphOf(c, findItem(c, 'f'));
    assert.deepEqual(
      g.vertices.map((v) => v.op),
      ['input', 'input', 'mul', 'sin', 'log', 'add'],
    );
    assert.deepEqual(g.outputs, [4, 5]);
    assert.deepEqual(g.vertices[5]!.inputs, [2, 3]);
    assert.equal(c.text.slice(g.vertices[3]!.range.start, g.vertices[3]!.range.end), 'sin(v1)');
  });

  it('keeps operand order so a - b is not b - a', () => {
    const c = compile('function f(a, b) {\n  return b - a\n}\n');
    const g = graphOf(c, findItem(c, 'f'));
    const sub = g.vertices.find((v) => v.op === 'sub')!;
    assert.deepEqual(
      sub.inputs.map((i) => g.vertices[i]!.name),
      ['b', 'a'],
    );
  });

  it('marks the roles of a model step: states, params, data, next states and loss', () => {
    const c = compile(LIF);
    const { graph } = modelStep(c, findItem(c, 'lif'));
    const roles = (r: string): string[] => graph.vertices.filter((v) => v.role === r).map((v) => v.name!);
    assert.deepEqual(roles('state'), ['u', 'z']);
    assert.deepEqual(roles('param'), ['W_in', 'W_rec', 'W_out']);
    assert.deepEqual(roles('state-next'), ['u[t+1]', 'z[t+1]']);
    assert.deepEqual(roles('loss'), ['loss']);
    assert.deepEqual(
      graph.outputs.map((o) => graph.vertices[o]!.name),
      ['u[t+1]', 'z[t+1]', 'loss'],
    );
    const spike = graph.vertices.find((v) => v.op === 'spike')!;
    assert.deepEqual(spike.attrs.surrogate, { kind: 'fast_sigmoid', slope: 10, scale: 1, name: 'spike' });
  });

  it('unrolls a model over T steps with states linking the steps', () => {
    const c = compile(LIF);
    const { graph } = unrolled(c, findItem(c, 'lif'), 3);
    assert.equal(graph.perStep.length, 3);
    // u[t+1] of step 0 is read by the update of step 1.
    const u0 = graph.perStep[0]!.states.find((s) => s.name === 'u')!.next;
    const users = graph.vertices.filter((v) => v.inputs.includes(u0) && v.step === 1);
    assert.ok(users.length > 0);
    assert.equal(graph.vertices.filter((v) => v.op === 'param').length, 3);
    assert.equal(graph.outputs.length, 1);
  });

  it('discretises a linear ODE exactly into the graph of the hand-written update', () => {
    const ode = compile('model m {\n  const dt = 1, tau = 20\n  input I: [3]\n  state u: [3] = 0\n  du/dt = (-u + I) / tau\n}\n');
    const discrete = compile('model m {\n  const alpha = exp(-1 / 20)\n  input I: [3]\n  state u: [3] = 0\n  u[t+1] = alpha * u + (1 - alpha) * I\n}\n');
    const a = modelStep(ode, findItem(ode, 'm')).graph;
    const b = modelStep(discrete, findItem(discrete, 'm')).graph;
    assert.deepEqual(
      a.vertices.map((v) => v.op),
      b.vertices.map((v) => v.op),
    );
    const consts = (g: typeof a): number[] =>
      g.vertices
        .filter((v) => v.op === 'const')
        .map((v) => v.attrs.value![0]!)
        .sort();
    const [ca, cb] = [consts(a), consts(b)];
    ca.forEach((v, i) => assert.ok(Math.abs(v - cb[i]!) < 1e-15, `${v} vs ${cb[i]}`));
  });

  it('discretises a nonlinear ODE by forward Euler', () => {
    const c = compile('model m {\n  const dt = 0.5\n  state u: [2] = 1\n  du/dt = -u * u\n}\n');
    const g = modelStep(c, findItem(c, 'm')).graph;
    assert.deepEqual(
      g.vertices.filter((v) => v.role === 'op' || v.role === 'state-next').map((v) => v.op),
      ['neg', 'mul', 'mul', 'add'],
    );
  });
});
