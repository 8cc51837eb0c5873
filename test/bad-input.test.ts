// Malformed files: each must yield located diagnostics (never an exception),
// and the good item after it must still be checked and buildable.

import assert from 'node:assert/strict';
import { compile, findItem, graphOf } from '../language-server/src/compile.js';

const GOOD = '\nfunction good(a, b) {\n  let s = sin(a * b)\n  return log(s) + b\n}\n';

const CASES: Record<string, string> = {
  'empty body of a function': 'function f() {\n}\n',
  'truncated function header': 'function f(a, b',
  'truncated function body': 'function f(a) {\n  let x = a +\n',
  'missing closing brace': 'function f(a) {\n  return a\n',
  'stray token at top level': ')))\n',
  'stray token inside a body': 'function f(a) {\n  let x = a ) * 2\n  return x\n}\n',
  'unknown name': 'function f(a) {\n  return a + bb\n}\n',
  'unknown function': 'function f(a) {\n  return sinn(a)\n}\n',
  'wrong arity': 'function f(a) {\n  return atan2(a)\n}\n',
  'unknown named argument': 'function f(x: [3]) {\n  return sum(x, axes = 0)\n}\n',
  'axis out of range': 'function f(x: [3]) {\n  return sum(x, axis = 2)\n}\n',
  'shape mismatch in add': 'function f(x: [3], y: [4]) {\n  return sum(x + y)\n}\n',
  'shape mismatch in matmul': 'function f(W: [3, 4], x: [3]) {\n  return sum(W @ x)\n}\n',
  'matmul of scalars': 'function f(a, b) {\n  return a @ b\n}\n',
  'index out of range': 'function f(x: [3]) {\n  return x[5]\n}\n',
  'empty slice': 'function f(x: [3]) {\n  return sum(x[2:1])\n}\n',
  'bad reshape': 'function f(x: [6]) {\n  return sum(reshape(x, [4, 2]))\n}\n',
  'bad permutation': 'function f(x: [2, 3]) {\n  return sum(transpose(x, [0, 0]))\n}\n',
  'let used before definition': 'function f(a) {\n  let y = z + a\n  let z = a\n  return y\n}\n',
  'duplicate let': 'function f(a) {\n  let y = a\n  let y = a * 2\n  return y\n}\n',
  'duplicate items': 'function f(a) {\n  return a\n}\nfunction f(b) {\n  return b\n}\n',
  'function without return': 'function f(a) {\n  let y = a\n}\n',
  'huge dim': 'dim n = 10^12\nfunction f(x: [n]) {\n  return sum(x)\n}\n',
  'huge tensor': 'dim n = 100000\nfunction f(W: [n, n]) {\n  return sum(W)\n}\n',
  'non-integer dim': 'dim n = 2.5\nfunction f(x: [n]) {\n  return sum(x)\n}\n',
  'zero dim': 'dim n = 0\nfunction f(x: [n]) {\n  return sum(x)\n}\n',
  'deeply nested expression': `function f(a) {\n  return ${'('.repeat(5000)}a${')'.repeat(5000)}\n}\n`,
  'long chain': `function f(a) {\n  return ${Array.from({ length: 3000 }, () => 'a').join(' + ')} + q\n}\n`,
  'binary junk': '\u0000\u0001\u0002\u00ff\ufffd\u0007function\u0000 f(',
  'unicode junk': 'function f(a) {\n  return a ∂ a\n}\n',
  'time index outside a model': 'function f(a) {\n  return a[t+1]\n}\n',
  'same-step cycle': 'model m {\n  state u: [2] = 0\n  state z: [2] = 0\n  u[t+1] = z[t+1]\n  z[t+1] = u[t+1]\n}\n',
  'spike without surrogate': 'model m {\n  state u: [2] = 0\n  state z: [2] = 0\n  u[t+1] = 0.9 * u + z\n  z[t+1] = spike(u[t+1] - 1)\n}\n',
  'update of a param': 'model m {\n  param W: [2, 2]\n  W[t+1] = W\n}\n',
  'two equations for a state': 'model m {\n  state u: [2] = 0\n  u[t+1] = u\n  u[t+1] = 2 * u\n}\n',
  'input read in the future': 'model m {\n  input x: [2]\n  state u: [2] = 0\n  u[t+1] = u + x[t+2]\n}\n',
  'delay that is not a positive constant': 'model m {\n  state u: [2] = 0\n  u[t+1] = 0.5 * u + u[t-0.5]\n}\n',
  'delay by a state': 'model m {\n  state u: [2] = 0\n  state k: [] = 1\n  u[t+1] = 0.5 * u + u[t-k]\n}\n',
  'unknown surrogate name': 'model m {\n  surrogate fast = fast_sigmoid(slope = 10)\n  state u: [2] = 0\n  u[t+1] = fsat(u)\n}\n',
  'surrogate scale not positive': 'model m {\n  surrogate spike = triangle(width = 1, scale = -0.3)\n  state u: [2] = 0\n  u[t+1] = spike(u)\n}\n',
  'surrogate named like a builtin': 'model m {\n  surrogate exp = triangle(width = 1)\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n}\n',
  'duplicate surrogate line':
    'model m {\n  surrogate spike = triangle(width = 1)\n  surrogate spike = fast_sigmoid(slope = 10)\n  state u: [2] = 0\n  u[t+1] = spike(u)\n}\n',
  'loss window of zero steps': 'model m {\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n  loss = sum(u[t+1]) for last 0\n}\n',
  'loss window by a state': 'model m {\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n  loss = sum(u[t+1]) after u\n}\n',
  'loss clause misspelt': 'model m {\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n  loss = sum(u[t+1]) at end\n}\n',
  'readout outside a model': 'function f(a: [2]) {\n  return sum(max_over_time(a))\n}\n',
  'ode without dt': 'model m {\n  state u: [2] = 0\n  du/dt = -u\n}\n',
  'loss not scalar': 'model m {\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n  loss = u[t+1]\n}\n',
  'unknown initialiser': 'model m {\n  param W: [2, 2] ~ gaussian(0, 1)\n  state u: [2] = 0\n  u[t+1] = W @ u\n}\n',
  'unknown surrogate': 'model m {\n  surrogate spike = fast_sigmod(slope = 10)\n  state u: [2] = 0\n  u[t+1] = spike(u)\n}\n',
  'rule for unknown model': 'rule r for nothing {\n  schedule online\n}\n',
  'rule for a function': 'function h(a) {\n  return a\n}\nrule r for h {\n  schedule online\n}\n',
  'rule for a model without loss': 'model m {\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n}\nrule r for m {\n  schedule reverse\n}\n',
  'rule with unknown approximation kind':
    'model m {\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n  loss = sum(u[t+1])\n}\nrule r for m {\n  approximate d(u[t+1])/d(u) = sparse\n}\n',
  'rule approximating a missing block':
    'model m {\n  param W: [2, 2]\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n  loss = sum(W @ u[t+1])\n}\nrule r for m {\n  approximate d(u[t+1])/d(W) = 0\n}\n',
  'unknown schedule': 'model m {\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n  loss = sum(u[t+1])\n}\nrule r for m {\n  schedule sideways\n}\n',
  'bad memory unit': 'model m {\n  state u: [2] = 0\n  u[t+1] = 0.5 * u\n  loss = sum(u[t+1])\n}\nrule r for m {\n  limit memory 128 parsecs\n}\n',
  'grad of unknown function': 'let g = grad(nothing)\n',
  'grad of a vector function': 'function v(x: [3]) {\n  return x\n}\nlet g = grad(v)\n',
  'only a keyword': 'model',
  'unterminated list': 'function f(x: [3, \n  return x\n}\n',
};

describe('bad input', () => {
  it(`covers at least 40 malformed files (has ${Object.keys(CASES).length})`, () => {
    assert.ok(Object.keys(CASES).length >= 40);
  });

  for (const [name, bad] of Object.entries(CASES)) {
    it(`${name}: located diagnostics, and the next item still checks`, () => {
      const text = bad + GOOD;
      const c = compile(text);
      const errors = c.diagnostics.filter((d) => d.severity === 'error');
      assert.ok(errors.length >= 1, `no error for: ${name}`);
      for (const d of c.diagnostics) {
        assert.ok(d.range.start >= 0 && d.range.end <= text.length && d.range.start <= d.range.end, `range out of text: ${JSON.stringify(d)}`);
        assert.ok(d.message.length > 10, `message too short: ${d.message}`);
        assert.ok(d.code.length > 0);
      }
      // The good function after the bad input is still found and buildable,
      // unless the bad input swallowed it syntactically (an unclosed item).
      const good = c.items.find((i) => i.name === 'good');
      if (good && !good.hasErrors) assert.equal(graphOf(c, findItem(c, 'good')).outputs.length, 1);
    });
  }

  it('a file of only errors in one item leaves every other item error-free', () => {
    const c = compile(`${CASES['shape mismatch in add']}${GOOD}${CASES['unknown name']!.replace('f(', 'f2(')}`);
    assert.equal(c.items.find((i) => i.name === 'good')!.hasErrors, false);
  });
});
