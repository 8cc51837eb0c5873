// The lexer, the recovering parser and LineIndex, read as a specification of
// the syntax in shared/LANGUAGE.md.

import assert from 'node:assert/strict';
import type {
  ApproxStmt,
  Binary,
  Call,
  Diagnostic,
  Expr,
  FunctionItem,
  Index,
  Item,
  LimitStmt,
  ModelItem,
  Node,
  OdeEq,
  Program,
  Range,
  RuleItem,
  ScheduleStmt,
  TimeRef,
  UpdateEq,
  VarDecl,
} from '../language-server/src/lang/ast.js';
import { lex } from '../language-server/src/lang/lexer.js';
import { MAX_DEPTH, parse, parseExpression } from '../language-server/src/lang/parser.js';
import { LineIndex } from '../language-server/src/lang/source.js';

// ------------------------------------------------------------------ helpers

/** An expression as a fully parenthesised string: the tree's shape at a glance. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return e.text;
    case 'name':
      return e.name;
    case 'unary':
      return `(${e.op}${show(e.operand)})`;
    case 'binary':
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case 'call':
      return `${e.callee.name}(${[...e.args.map(show), ...e.named.map((a) => `${a.name.name}=${show(a.value)}`)].join(', ')})`;
    case 'index':
      return `${show(e.target)}[${e.subscripts
        .map((s) => (s.kind === 'at' ? show(s.index) : `${s.start ? show(s.start) : ''}:${s.end ? show(s.end) : ''}`))
        .join(', ')}]`;
    case 'time':
      return e.invalid !== undefined ? `${e.name.name}@?` : e.delay ? `${e.name.name}@${e.offset}-${show(e.delay)}` : `${e.name.name}@${e.offset}`;
    case 'list':
      return `[${e.items.map(show).join(', ')}]`;
    case 'error':
      return '<error>';
  }
}

function expr(text: string): Expr {
  const { expr: e, diagnostics } = parseExpression(text);
  assert.deepEqual(diagnostics, [], `diagnostics for ${JSON.stringify(text)}`);
  return e;
}

function clean(text: string): Program {
  const { program, diagnostics } = parse(text);
  assert.deepEqual(
    diagnostics.map((d) => d.message),
    [],
    'expected no diagnostics',
  );
  return program;
}

function slice(text: string, n: Node | Range): string {
  const r = 'range' in n ? n.range : n;
  return text.slice(r.start, r.end);
}

function item<K extends Item['kind']>(p: Program, kind: K, name: string): Extract<Item, { kind: K }> {
  const it = p.items.find((i) => i.kind === kind && i.name.name === name);
  assert.ok(it, `no ${kind} '${name}' among ${p.items.map((i) => `${i.kind} ${i.name.name}`).join(', ')}`);
  return it as Extract<Item, { kind: K }>;
}

/** Every node's range lies inside the text and inside its parent's range. */
function assertRangesNested(text: string, program: Program): void {
  const stack: { value: unknown; parent: Node }[] = [{ value: program, parent: { range: { start: 0, end: text.length } } }];
  while (stack.length > 0) {
    const { value, parent } = stack.pop()!;
    if (Array.isArray(value)) {
      for (const v of value) stack.push({ value: v, parent });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    let self = parent;
    const r = (value as Partial<Node>).range;
    if (r && typeof r.start === 'number') {
      assert.ok(
        r.start >= parent.range.start && r.start <= r.end && r.end <= parent.range.end,
        `range [${r.start}, ${r.end}) of ${JSON.stringify((value as { kind?: string }).kind ?? 'node')} ` +
          `outside its parent [${parent.range.start}, ${parent.range.end})`,
      );
      self = value as Node;
    }
    for (const [k, v] of Object.entries(value)) if (k !== 'range') stack.push({ value: v, parent: self });
  }
}

function assertDiagnosticsInside(text: string, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    assert.ok(
      d.range.start >= 0 && d.range.start <= d.range.end && d.range.end <= text.length,
      `diagnostic range [${d.range.start}, ${d.range.end}) outside the text of length ${text.length}: ${d.message}`,
    );
    assert.match(d.code, /^syntax\./);
  }
}

// ------------------------------------------------------------------ LANGUAGE.md examples

const HEAT_FLUX = `# Scalar inputs, several outputs: the shape of the AD benchmark tasks.
function heat_flux(a, b, c: [3]) {
  let s = sin(a * b)
  let g = log(s) + sum(c) / b
  return g, a * b + s
}
`;

const LIF = `# Leaky integrate-and-fire layer with a linear readout.
model lif {
  dim n_in = 20, n = 64, n_out = 2
  const alpha = exp(-1 / 20), theta = 1.0

  input  x: [n_in]                 # one value per time step
  target y: [n_out]                # one value per time step
  param  W_in:  [n, n_in]  ~ normal(0, 0.1)
  param  W_rec: [n, n]     ~ normal(0, 0.05)
  param  W_out: [n_out, n] ~ normal(0, 0.1)
  state  u: [n] = 0
  state  z: [n] = 0
  surrogate spike = fast_sigmoid(slope = 10)

  u[t+1] = alpha * u + W_rec @ z + W_in @ x[t+1] - theta * z
  z[t+1] = spike(u[t+1] - theta)
  loss = mse(W_out @ z[t+1], y[t+1])   # summed over time steps
}
`;

const RULES = `rule eprop for lif {
  approximate d(u[t+1])/d(z) = 0       # drop recurrent credit through spikes
  approximate d(u[t+1])/d(u) = diagonal  # keep only the diagonal
  schedule online                     # forward in time: eligibility traces
}

rule bptt for lif {
  schedule reverse                    # exact, stores the whole sequence
}
`;

describe('parser: the LANGUAGE.md examples', () => {
  it('parses the function example into params, lets and a two-value return', () => {
    const p = clean(HEAT_FLUX);
    const f = item(p, 'function', 'heat_flux');
    assert.deepEqual(
      f.params.map((q) => q.name.name),
      ['a', 'b', 'c'],
    );
    assert.equal(f.params[0]!.shape, undefined);
    assert.equal(slice(HEAT_FLUX, f.params[2]!), 'c: [3]');
    assert.equal(slice(HEAT_FLUX, f.params[2]!.shape!), '[3]');
    assert.deepEqual(
      f.body.map((s) => s.kind === 'let' && `${s.name.name} = ${show(s.value)}`),
      ['s = sin((a * b))', 'g = (log(s) + (sum(c) / b))'],
    );
    assert.deepEqual(f.returns!.values.map(show), ['g', '((a * b) + s)']);
    assert.equal(slice(HEAT_FLUX, f.returns!), 'return g, a * b + s');
    assert.ok(slice(HEAT_FLUX, f).startsWith('function heat_flux(') && slice(HEAT_FLUX, f).endsWith('}'));
  });

  it('parses the LIF model: dims, consts, every role, the surrogate, updates and loss', () => {
    const m = item(clean(LIF), 'model', 'lif');
    assert.deepEqual(
      m.body.map((s) => s.kind),
      ['dim', 'dim', 'dim', 'const', 'const', 'var', 'var', 'var', 'var', 'var', 'var', 'var', 'surrogate', 'update', 'update', 'loss'],
    );
    const dims = m.body.filter((s) => s.kind === 'dim');
    assert.deepEqual(
      dims.map((d) => slice(LIF, d)),
      ['n_in = 20', 'n = 64', 'n_out = 2'],
    );
    const consts = m.body.filter((s) => s.kind === 'const');
    assert.deepEqual(
      consts.map((c) => `${c.name.name} = ${show(c.value)}`),
      ['alpha = exp(((-1) / 20))', 'theta = 1.0'],
    );

    const vars = m.body.filter((s): s is VarDecl => s.kind === 'var');
    assert.deepEqual(
      vars.map((v) => `${v.role} ${v.name.name}`),
      ['input x', 'target y', 'param W_in', 'param W_rec', 'param W_out', 'state u', 'state z'],
    );
    const wIn = vars[2]!;
    assert.equal(slice(LIF, wIn), 'param  W_in:  [n, n_in]  ~ normal(0, 0.1)');
    assert.equal(show(wIn.init as Expr), 'normal(0, 0.1)');
    assert.deepEqual(wIn.shape!.dims.map(show), ['n', 'n_in']);
    assert.equal(show(vars[5]!.initial!), '0');
    assert.equal(vars[0]!.init, undefined);

    const sur = m.body.find((s) => s.kind === 'surrogate')!;
    assert.equal(sur.kind === 'surrogate' && show(sur.fn), 'fast_sigmoid(slope=10)');

    const [u, z] = m.body.filter((s): s is UpdateEq => s.kind === 'update');
    assert.equal(u!.target.name, 'u');
    assert.equal(slice(LIF, u!.target), 'u');
    assert.equal(show(u!.value), '((((alpha * u) + (W_rec @ z)) + (W_in @ x@1)) - (theta * z))');
    assert.equal(slice(LIF, u!), 'u[t+1] = alpha * u + W_rec @ z + W_in @ x[t+1] - theta * z');
    assert.equal(show(z!.value), 'spike((u@1 - theta))');
    const loss = m.body.find((s) => s.kind === 'loss')!;
    assert.equal(loss.kind === 'loss' && show(loss.value), 'mse((W_out @ z@1), y@1)');
    assert.equal(loss.kind === 'loss' && slice(LIF, loss.keyword), 'loss');
  });

  it('gives nodes the exact ranges of what was written', () => {
    const m = item(clean(LIF), 'model', 'lif');
    const u = m.body.find((s): s is UpdateEq => s.kind === 'update')!;
    // alpha * u + W_rec @ z + W_in @ x[t+1] - theta * z
    const minus = u.value as Binary;
    const plus2 = minus.left as Binary;
    const wInX = plus2.right as Binary;
    const plus1 = plus2.left as Binary;
    assert.equal(slice(LIF, plus1.right), 'W_rec @ z');
    assert.equal(slice(LIF, wInX), 'W_in @ x[t+1]');
    assert.equal(slice(LIF, wInX.opRange), '@');
    const x = wInX.right as TimeRef;
    assert.equal(x.kind, 'time');
    assert.equal(slice(LIF, x), 'x[t+1]');
    assert.equal(slice(LIF, x.name), 'x');
    assert.equal(slice(LIF, minus.right), 'theta * z');
    assert.equal(slice(LIF, minus.opRange), '-');
    const sur = m.body.find((s) => s.kind === 'surrogate')!;
    assert.equal(sur.kind === 'surrogate' && slice(LIF, sur.fn), 'fast_sigmoid(slope = 10)');
    assert.equal(sur.kind === 'surrogate' && sur.fn.kind === 'call' && slice(LIF, sur.fn.named[0]!), 'slope = 10');
    assert.equal(slice(LIF, m.name), 'lif');
  });

  it('parses both rules, their approximations and schedules', () => {
    const p = clean(RULES);
    const eprop = item(p, 'rule', 'eprop');
    assert.equal(eprop.model.name, 'lif');
    assert.equal(slice(RULES, eprop.model), 'lif');
    const [a1, a2, s] = eprop.body as [ApproxStmt, ApproxStmt, ScheduleStmt];
    assert.deepEqual([a1.of.name, a1.ofOffset, a1.wrt.name, a1.wrtOffset, a1.approx], ['u', 1, 'z', 0, 'zero']);
    assert.equal(slice(RULES, a1), 'approximate d(u[t+1])/d(z) = 0');
    assert.equal(slice(RULES, a1.approxRange), '0');
    assert.deepEqual([a2.of.name, a2.wrt.name, a2.approx], ['u', 'u', 'diagonal']);
    assert.equal(slice(RULES, a2.approxRange), 'diagonal');
    assert.equal(s.schedule.kind, 'online');
    assert.equal(slice(RULES, s.schedule), 'online');
    assert.equal(item(p, 'rule', 'bptt').body[0]!.kind === 'schedule' && (item(p, 'rule', 'bptt').body[0] as ScheduleStmt).schedule.kind, 'reverse');
  });

  it('parses all three examples as one file', () => {
    const p = clean(HEAT_FLUX + LIF + RULES);
    assert.deepEqual(
      p.items.map((i) => `${i.kind} ${i.name.name}`),
      ['function heat_flux', 'model lif', 'rule eprop', 'rule bptt'],
    );
    assertRangesNested(HEAT_FLUX + LIF + RULES, p);
  });
});

// ------------------------------------------------------------------ expressions

describe('parser: expressions and precedence (LANGUAGE.md §4)', () => {
  const cases: [string, string][] = [
    ['a + b * c', '(a + (b * c))'],
    ['a - b - c', '((a - b) - c)'],
    ['a / b / c', '((a / b) / c)'],
    ['a * b @ c', '((a * b) @ c)'],
    ['A @ x + b', '((A @ x) + b)'],
    ['-a * b', '((-a) * b)'],
    ['-a^2', '(-(a ^ 2))'],
    ['a^b^c', '(a ^ (b ^ c))'],
    ['2^-1', '(2 ^ (-1))'],
    ['a^-b^c', '(a ^ (-(b ^ c)))'],
    ['10^12', '(10 ^ 12)'],
    ['- -a', '(-(-a))'],
    ['+a', '(+a)'],
    ['(a + b) * c', '((a + b) * c)'],
    ['f(x)^2', '(f(x) ^ 2)'],
    ['x[0]^2', '(x[0] ^ 2)'],
    ['exp(-dt / tau)', 'exp(((-dt) / tau))'],
    ['sum(x, axis = 0)', 'sum(x, axis=0)'],
    ['softmax(W @ h, axis = 1)', 'softmax((W @ h), axis=1)'],
    ['transpose(x, [1, 0])', 'transpose(x, [1, 0])'],
    ['reshape(x, [4, 1])', 'reshape(x, [4, 1])'],
    ['stack(a, b, c)', 'stack(a, b, c)'],
    ['stop(x) + max(a, b)', '(stop(x) + max(a, b))'],
    ['x[0:2, 1:3]', 'x[0:2, 1:3]'],
    ['x[:2]', 'x[:2]'],
    ['x[1:]', 'x[1:]'],
    ['x[:]', 'x[:]'],
    ['x[i, 0]', 'x[i, 0]'],
    ['s[t]', 's@0'],
    ['s[t+1]', 's@1'],
    ['s[t + 1]', 's@1'],
    ['x[t+1][0]', 'x@1[0]'],
    // Delays: z[t-k] and x[t+1-k] read k steps back (the checker folds k).
    ['x[t-1]', 'x@0-1'],
    ['x[t+1-3]', 'x@1-3'],
    ['z[t-d]', 'z@0-d'],
    ['z[t - 2] + 1', '(z@0-2 + 1)'],
    ['z[t+2]', 'z@?'],
    ['z[t*2]', 'z@?'],
    ['f(\n  a,\n  b\n)', 'f(a, b)'],
  ];
  for (const [src, tree] of cases) {
    it(`${JSON.stringify(src)} is ${tree}`, () => assert.equal(show(expr(src)), tree));
  }

  it('reads numbers as written: ints, decimals, exponents', () => {
    const nums = ['0', '42', '1.0', '0.05', '.5', '1e-6', '2.5E+3', '1e6'];
    for (const n of nums) {
      const e = expr(n);
      assert.equal(e.kind, 'number');
      assert.equal(e.kind === 'number' && e.value, Number(n));
      assert.equal(e.kind === 'number' && e.text, n);
    }
  });

  it('gives a parenthesised node the range including its parentheses', () => {
    const src = 'x * (a + b)';
    const e = expr(src) as Binary;
    assert.equal(slice(src, e.right), '(a + b)');
    assert.equal(slice(src, e), src);
  });

  it('gives calls, indexes, slices and named arguments exact ranges', () => {
    const src = 'sum(W[0:2, :3], axis = 1) + g(y)';
    const e = expr(src) as Binary;
    const call = e.left as Call;
    assert.equal(slice(src, call), 'sum(W[0:2, :3], axis = 1)');
    assert.equal(slice(src, call.callee), 'sum');
    const idx = call.args[0] as Index;
    assert.equal(slice(src, idx), 'W[0:2, :3]');
    assert.deepEqual(
      idx.subscripts.map((s) => slice(src, s)),
      ['0:2', ':3'],
    );
    assert.equal(slice(src, call.named[0]!), 'axis = 1');
    assert.equal(slice(src, call.named[0]!.name), 'axis');
    assert.equal(slice(src, e.right), 'g(y)');
  });
});

// ------------------------------------------------------------------ items and statements

describe('parser: items and statements', () => {
  it('parses an ODE in Brian2 form, with the state as target', () => {
    const src = 'model m {\n  const dt = 1, tau = 20\n  state u = 0\n  du/dt = (-u + I) / tau\n}\n';
    const m = item(clean(src), 'model', 'm');
    const ode = m.body.find((s): s is OdeEq => s.kind === 'ode')!;
    assert.equal(ode.target.name, 'u');
    assert.equal(slice(src, ode.target), 'u');
    assert.equal(show(ode.value), '(((-u) + I) / tau)');
    assert.equal(slice(src, ode), 'du/dt = (-u + I) / tau');
  });

  it('parses every rule statement form', () => {
    const src = `rule r for lif {
  approximate d(u[t+1])/d(z) = 0
  approximate d(u[t+1])/d(u) = diagonal
  approximate d(loss)/d(z[t+1]) = dense
  approximate d(u[t+1])/d(W_in) = stop
  approximate d(u[t+1])/d(z[t]) = 0
  schedule forward
  schedule order [u, z,
                  h]
  objective multiplications
  objective memory
  limit memory 128 KiB
  limit time 1000
}
`;
    const r = item(clean(src), 'rule', 'r');
    const approx = r.body.filter((s): s is ApproxStmt => s.kind === 'approximate');
    assert.deepEqual(
      approx.map((a) => [a.of.name, a.ofOffset, a.wrt.name, a.wrtOffset, a.approx]),
      [
        ['u', 1, 'z', 0, 'zero'],
        ['u', 1, 'u', 0, 'diagonal'],
        ['loss', 0, 'z', 1, 'dense'],
        ['u', 1, 'W_in', 0, 'stop'],
        ['u', 1, 'z', 0, 'zero'],
      ],
    );
    const sch = r.body.filter((s): s is ScheduleStmt => s.kind === 'schedule');
    assert.equal(sch[0]!.schedule.kind, 'forward');
    const order = sch[1]!.schedule;
    assert.equal(order.kind, 'order');
    assert.deepEqual(order.kind === 'order' && order.order.map((i) => i.name), ['u', 'z', 'h']);
    assert.equal(slice(src, order), 'order [u, z,\n                  h]');
    const objectives = r.body.filter((s) => s.kind === 'objective');
    assert.deepEqual(
      objectives.map((o) => o.kind === 'objective' && o.objective.name),
      ['multiplications', 'memory'],
    );
    const limits = r.body.filter((s): s is LimitStmt => s.kind === 'limit');
    assert.deepEqual(
      limits.map((l) => [l.what.name, l.value, l.unit?.name]),
      [
        ['memory', 128, 'KiB'],
        ['time', 1000, undefined],
      ],
    );
    assert.equal(slice(src, limits[0]!), 'limit memory 128 KiB');
  });

  it('parses file-level dim, const and let g = grad(f)', () => {
    const src = 'dim n = 64, m = 3\nconst eps = 1e-6\nfunction f(x: [n, m]) { return sum(x) }\nlet g = grad(f)\n';
    const p = clean(src);
    assert.deepEqual(
      p.items.map((i) => `${i.kind} ${i.name.name}`),
      ['dim n', 'dim m', 'const eps', 'function f', 'grad g'],
    );
    const g = item(p, 'grad', 'g');
    assert.equal(g.of.name, 'f');
    assert.equal(slice(src, g), 'let g = grad(f)');
    assert.equal(slice(src, g.of), 'f');
    const f = item(p, 'function', 'f');
    assert.equal(slice(src, f), 'function f(x: [n, m]) { return sum(x) }');
  });

  it('accepts bare initialisers, dims and consts inside functions, and one-line bodies', () => {
    const src = `model m {
  param W: [3, 3] ~ glorot
  param b: [3] ~ zeros
  state s = 1.5
  let h = W @ s + b
  s[t+1] = h
}
function f(a) { dim k = 2; const c = 3; let y = a * c; return y, k }
`;
    const p = clean(src);
    const m = item(p, 'model', 'm');
    const [w, b, s] = m.body as VarDecl[];
    assert.equal(w!.init!.kind, 'name');
    assert.equal(show(w!.init!), 'glorot');
    assert.equal(show(b!.init!), 'zeros');
    assert.equal(s!.shape, undefined);
    assert.equal(show(s!.initial!), '1.5');
    const f = item(p, 'function', 'f');
    assert.deepEqual(
      f.body.map((x) => `${x.kind} ${x.name.name}`),
      ['dim k', 'const c', 'let y'],
    );
    assert.equal(f.returns!.values.length, 2);
  });

  it('allows keywords that double as names where they are names', () => {
    const src = 'function f(order, dense) {\n  let stop_x = stop(order) + max(dense, 0)\n  return stop_x\n}\n';
    const f = item(clean(src), 'function', 'f');
    assert.deepEqual(
      f.params.map((q) => q.name.name),
      ['order', 'dense'],
    );
  });

  it('parses an empty file, comments only and blank lines to no items and no diagnostics', () => {
    for (const src of ['', '\n\n', '# just a comment\n  # another\n', '   ']) {
      const r = parse(src);
      assert.deepEqual(r.program.items, []);
      assert.deepEqual(r.diagnostics, []);
      assert.deepEqual(r.program.range, { start: 0, end: src.length });
    }
  });

  it('accepts an item brace on the next line', () => {
    const p = clean('function f(a)\n{\n  return a\n}\nmodel m\n{\n  state s = 0\n  s[t+1] = s\n}\nrule r for m\n\n{\n  schedule online\n}\n');
    assert.deepEqual(
      p.items.map((i) => i.kind),
      ['function', 'model', 'rule'],
    );
  });

  it('accepts \\r\\n line endings', () => {
    const p = clean((HEAT_FLUX + LIF + RULES).replace(/\n/g, '\r\n'));
    assert.equal(p.items.length, 4);
  });
});

// ------------------------------------------------------------------ recovery

const GOOD_BEFORE = 'function good_a(x) {\n  return x * 2\n}\n';
const GOOD_AFTER = '\nmodel good_b {\n  state s = 0\n  s[t+1] = s + 1\n  loss = s\n}\n';

/** Malformed snippets; each sits between two good items. `code` is the expected (single) diagnostic. */
const MALFORMED: { name: string; src: string; code: string; at?: string; atEnd?: boolean }[] = [
  { name: 'missing operand', src: 'function f(a) {\n  let s = sin(a *)\n  return s\n}', code: 'syntax.expected', at: ')' },
  { name: 'operator at end of line', src: 'model m {\n  state u = 0\n  u[t+1] = u +\n}', code: 'syntax.expected' },
  { name: 'unclosed call', src: 'function f(a) {\n  let s = sin(a\n  return s\n}', code: 'syntax.unclosed', at: '(' },
  { name: 'unclosed index', src: 'function f(x: [3]) {\n  let s = x[0\n  return s\n}', code: 'syntax.unclosed', at: '[' },
  { name: 'unclosed shape', src: 'function f(x: [3) {\n  return x\n}', code: 'syntax.expected', at: ')' },
  { name: 'extra closing paren', src: 'function f(a) {\n  let x = a ) * 2\n  return x\n}', code: 'syntax.unexpected-token', at: ')' },
  { name: 'two operands without operator', src: 'function f(a, b) {\n  return a b\n}', code: 'syntax.unexpected-token', at: 'b\n' },
  { name: 'missing comma in params', src: 'function f(a b) {\n  return a\n}', code: 'syntax.expected', at: 'b)' },
  { name: 'missing function name', src: 'function (a) {\n  return a\n}', code: 'syntax.expected', at: '(a)' },
  { name: 'missing brace after model name', src: 'model m\n  state u = 0\n  u[t+1] = u\n}', code: 'syntax.expected' },
  { name: 'let without name', src: 'function f(a) {\n  let = a\n  return a\n}', code: 'syntax.expected', at: '= a' },
  { name: 'let without =', src: 'function f(a) {\n  let y a\n  return y\n}', code: 'syntax.expected', at: 'a\n  return' },
  { name: 'binding without let', src: 'model m {\n  state u = 0\n  h = u * 2\n  u[t+1] = h\n}', code: 'syntax.missing-let', at: 'h =' },
  { name: 'update at t', src: 'model m {\n  state u = 0\n  u[t] = u\n}', code: 'syntax.expected', at: '[t]' },
  { name: 'update at a constant index', src: 'model m {\n  state u = 0\n  u[0] = u\n}', code: 'syntax.expected' },
  { name: 'prime derivative', src: "model m {\n  state u = 0\n  u' = -u\n}", code: 'syntax.bad-character', at: "'" },
  { name: 'initialiser on a state', src: 'model m {\n  state u: [3] ~ normal(0, 1)\n}', code: 'syntax.misplaced-init' },
  { name: 'initial value on an input', src: 'model m {\n  input x: [3] = 0\n}', code: 'syntax.misplaced-init' },
  { name: 'missing shape after colon', src: 'model m {\n  param W: ~ normal(0, 1)\n}', code: 'syntax.expected', at: '~' },
  { name: 'missing surrogate function', src: 'model m {\n  surrogate spike =\n}', code: 'syntax.expected' },
  { name: 'return inside a model', src: 'model m {\n  return 1\n}', code: 'syntax.unexpected-token', at: 'return' },
  { name: 'update inside a function', src: 'function f(a) {\n  u[t+1] = a\n  return a\n}', code: 'syntax.unexpected-token', at: 'u[' },
  { name: 'two returns', src: 'function f(a) {\n  return a\n  return a * 2\n}', code: 'syntax.duplicate-return' },
  { name: 'rule without for', src: 'rule r lif {\n  schedule online\n}', code: 'syntax.expected', at: 'lif {' },
  { name: 'unknown approximation', src: 'rule r for lif {\n  approximate d(u[t+1])/d(z) = 0.5\n}', code: 'syntax.expected', at: '0.5' },
  { name: 'approximation without d()', src: 'rule r for lif {\n  approximate u/z = 0\n}', code: 'syntax.expected', at: 'u/' },
  { name: 'unknown schedule', src: 'rule r for lif {\n  schedule sideways\n}', code: 'syntax.expected', at: 'sideways' },
  { name: 'schedule order without list', src: 'rule r for lif {\n  schedule order u, z\n}', code: 'syntax.expected', at: 'u, z' },
  { name: 'limit without number', src: 'rule r for lif {\n  limit memory lots\n}', code: 'syntax.expected', at: 'lots' },
  { name: 'statement that is not a rule statement', src: 'rule r for lif {\n  eliminate u\n}', code: 'syntax.unexpected-token', at: 'eliminate' },
  { name: 'stray closing brace', src: '}', code: 'syntax.unexpected-token', at: '}' },
  { name: 'junk at file level', src: 'this is not eligo ) ( ]', code: 'syntax.unexpected-token', at: 'this' },
  { name: 'file-level let that is not grad', src: 'let g = f + 1', code: 'syntax.expected', at: 'f + 1' },
  { name: 'bad character in an expression', src: 'function f(a) {\n  return a ∂ a\n}', code: 'syntax.bad-character', at: '∂' },
  { name: 'binary junk', src: '\u0000\u0001\u0002\u00ff\ufffd\u0007', code: 'syntax.bad-character' },
  { name: 'malformed exponent', src: 'function f(a) {\n  return a * 1e\n}', code: 'syntax.bad-number', at: '1e' },
  { name: 'a lone dot', src: 'function f(a) {\n  return a . 2\n}', code: 'syntax.bad-character', at: '.' },
  { name: 'keyword as a name', src: 'function f(a) {\n  let model = a\n  return a\n}', code: 'syntax.expected', at: 'model' },
  { name: 'trailing comma in a call', src: 'function f(a) {\n  return max(a, )\n}', code: 'syntax.expected', at: ')' },
  { name: 'empty index', src: 'function f(x: [3]) {\n  return x[]\n}', code: 'syntax.expected', at: ']' },
  { name: 'call of a parenthesised expression', src: 'function f(a) {\n  return (a)(a)\n}', code: 'syntax.unexpected-token', at: '(a)\n' },
];

/** Snippets cut off at the end of the file: the good item comes first. */
const TRUNCATED: string[] = [
  'function',
  'function f',
  'function f(',
  'function f(a,',
  'function f(a) {',
  'function f(a) {\n  let',
  'function f(a) {\n  let y = ',
  'function f(a) {\n  return a +',
  'model',
  'model m {',
  'model m {\n  param W: [3',
  'model m {\n  u[t+',
  'model m {\n  du/dt',
  'rule',
  'rule r for',
  'rule r for m {\n  approximate d(u[t+1])/d(',
  'rule r for m {\n  schedule order [a, b',
  'dim n =',
  'const',
  'let g = grad(',
];

describe('parser: recovery from malformed input', () => {
  it(`has a corpus of at least 25 malformed snippets (${MALFORMED.length})`, () => {
    assert.ok(MALFORMED.length >= 25);
  });

  for (const c of MALFORMED) {
    it(`${c.name}: one located ${c.code}, and the items around it still parse`, () => {
      const text = GOOD_BEFORE + c.src + GOOD_AFTER;
      const { program, diagnostics } = parse(text);
      assertDiagnosticsInside(text, diagnostics);
      assert.equal(diagnostics.length, 1, diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n'));
      const d = diagnostics[0]!;
      assert.equal(d.code, c.code, d.message);
      assert.ok(
        d.range.start >= GOOD_BEFORE.length && d.range.end <= GOOD_BEFORE.length + c.src.length,
        `diagnostic outside the malformed snippet: ${d.message}`,
      );
      if (c.at !== undefined) {
        assert.ok(
          text.startsWith(c.at, d.range.start),
          `diagnostic at ${JSON.stringify(text.slice(d.range.start, d.range.start + 10))}, expected ${JSON.stringify(c.at)}: ${d.message}`,
        );
      }
      assert.ok(d.message.length > 10);
      item(program, 'function', 'good_a');
      const b = item(program, 'model', 'good_b');
      assert.equal(b.body.length, 3);
      assertRangesNested(text, program);
    });
  }

  for (const t of TRUNCATED) {
    it(`truncated ${JSON.stringify(t)}: a diagnostic at or before the end, and the item before it parses`, () => {
      const text = GOOD_BEFORE + t;
      const { program, diagnostics } = parse(text);
      assert.ok(diagnostics.length >= 1);
      assertDiagnosticsInside(text, diagnostics);
      item(program, 'function', 'good_a');
      assertRangesNested(text, program);
    });
  }

  it('reports an unclosed block at its brace and keeps parsing the next item', () => {
    const text = 'model m {\n  state u = 0\n  u[t+1] = u\n\nfunction g(a) {\n  return a\n}\n';
    const { program, diagnostics } = parse(text);
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0]!.code, 'syntax.unclosed');
    assert.equal(slice(text, diagnostics[0]!), '{');
    assert.match(diagnostics[0]!.message, /never closed.*expected '}' before keyword 'function'/);
    assert.equal(item(program, 'model', 'm').body.length, 2);
    item(program, 'function', 'g');
  });

  it('keeps a statement whose value is broken, so its name stays defined', () => {
    const text = 'function f(a) {\n  let y = a * (\n  return y\n}\n';
    const { program, diagnostics } = parse(text);
    assert.equal(diagnostics.length, 1);
    const f = item(program, 'function', 'f');
    assert.equal(f.body[0]!.name.name, 'y');
    assert.ok(f.returns);
  });

  it('says what was expected and what was found', () => {
    const { diagnostics } = parse('function f(a) {\n  let y = a +\n  return y\n}\n');
    assert.equal(diagnostics[0]!.message, 'expected an expression but found end of line');
    const d2 = parse('model m {\n  param W: [3] ~ 5\n}').diagnostics[0]!;
    assert.match(d2.message, /^expected an initialiser such as normal\(0, 0\.1\).* but found '5'$/);
  });

  it('stops 100,000 nested parentheses at the depth limit with one diagnostic, without overflowing', () => {
    const text = `function f(a) {\n  return ${'('.repeat(100_000)}a\n}\n${GOOD_AFTER}`;
    const { program, diagnostics } = parse(text);
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0]!.code, 'syntax.too-deep');
    assert.match(diagnostics[0]!.message, new RegExp(`more than ${MAX_DEPTH}`));
    assertDiagnosticsInside(text, diagnostics);
    item(program, 'function', 'f');
    item(program, 'model', 'good_b');
  });

  it('stops deep unary minus, power chains and list nesting the same way', () => {
    for (const deep of ['-'.repeat(100_000) + 'a', 'a' + '^a'.repeat(100_000), '['.repeat(100_000)]) {
      const text = `function f(a) {\n  return ${deep}\n}\n`;
      const { diagnostics } = parse(text);
      assert.equal(diagnostics.length, 1);
      assert.equal(diagnostics[0]!.code, 'syntax.too-deep');
    }
  });

  it('parses nesting just under the limit without a diagnostic', () => {
    const n = MAX_DEPTH - 5;
    const e = expr('('.repeat(n) + 'a' + ')'.repeat(n));
    assert.equal(show(e), 'a');
  });

  it('reports one diagnostic per run of bad characters and keeps lexing', () => {
    const text = 'function f(a) {\n  let x = a\u00e9\u00e9 + 1\n  let y = x \u2202 \u2202\n  return y\n}\n';
    const { diagnostics } = parse(text);
    assert.deepEqual(
      diagnostics.map((d) => [d.code, slice(text, d)]),
      [
        ['syntax.bad-character', '\u00e9\u00e9'],
        ['syntax.bad-character', '\u2202'],
        ['syntax.bad-character', '\u2202'],
      ],
    );
  });
});

// ------------------------------------------------------------------ lexer

describe('lexer', () => {
  const kinds = (text: string): string[] => lex(text).tokens.map((t) => (t.kind === 'punct' || t.kind === 'ident' || t.kind === 'number' ? t.text : t.kind));

  it('splits du/dt and 10^12 into operators, and keeps exponents inside numbers', () => {
    assert.deepEqual(kinds('du/dt = 10^12 * 1e-6'), ['du', '/', 'dt', '=', '10', '^', '12', '*', '1e-6', 'eof']);
  });

  it('drops comments, merges blank lines into one newline and lexes ; as a newline', () => {
    assert.deepEqual(kinds('a # c\n\n  # d\nb; c\n'), ['a', 'newline', 'b', 'newline', 'c', 'newline', 'eof']);
  });

  it('gives every token its offsets', () => {
    const text = 'let  x1 = [t+1]';
    for (const t of lex(text).tokens) if (t.kind !== 'eof') assert.equal(text.slice(t.start, t.end), t.text);
  });

  it('lexes a 1,000-equation file without diagnostics', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `  let v${i} = alpha * v${i} + W @ z[t+1] - 1e-3`);
    const { tokens, diagnostics } = lex(`model m {\n${lines.join('\n')}\n}\n`);
    assert.deepEqual(diagnostics, []);
    assert.ok(tokens.length > 15_000);
  });
});

// ------------------------------------------------------------------ LineIndex

describe('LineIndex', () => {
  it('maps offsets to 0-based lines and characters and back', () => {
    const text = 'ab\ncde\n\nf';
    const ix = new LineIndex(text);
    assert.equal(ix.lineCount, 4);
    for (let o = 0; o <= text.length; o++) {
      const p = ix.positionAt(o);
      assert.equal(ix.offsetAt(p), o);
    }
    assert.deepEqual(ix.positionAt(0), { line: 0, character: 0 });
    assert.deepEqual(ix.positionAt(3), { line: 1, character: 0 });
    assert.deepEqual(ix.positionAt(5), { line: 1, character: 2 });
    assert.deepEqual(ix.positionAt(8), { line: 3, character: 0 });
    assert.deepEqual(ix.positionAt(9), { line: 3, character: 1 });
  });

  it('treats \\r\\n and a lone \\r as one line break', () => {
    const ix = new LineIndex('a\r\nb\rc');
    assert.deepEqual(ix.positionAt(3), { line: 1, character: 0 });
    assert.deepEqual(ix.positionAt(5), { line: 2, character: 0 });
    assert.equal(ix.offsetAt({ line: 0, character: 99 }), 1);
  });

  it('clamps positions and offsets outside the text', () => {
    const ix = new LineIndex('ab\ncd');
    assert.deepEqual(ix.positionAt(-4), { line: 0, character: 0 });
    assert.deepEqual(ix.positionAt(99), { line: 1, character: 2 });
    assert.equal(ix.offsetAt({ line: 7, character: 0 }), 5);
    assert.equal(ix.offsetAt({ line: -1, character: 3 }), 0);
    assert.equal(ix.offsetAt({ line: 0, character: 10 }), 2);
  });

  it('converts a node range to an LSP range', () => {
    const text = LIF;
    const m = item(clean(text), 'model', 'lif');
    const ix = new LineIndex(text);
    const u = m.body.find((s): s is UpdateEq => s.kind === 'update')!;
    assert.deepEqual(ix.rangeToLsp(u.range), { start: { line: 14, character: 2 }, end: { line: 14, character: 60 } });
    assert.deepEqual(ix.lspToRange(ix.rangeToLsp(u.range)), u.range);
  });
});

// Keep type-only imports used (ModelItem, RuleItem, FunctionItem document the item helpers' results).
export type { FunctionItem, ModelItem, RuleItem };
