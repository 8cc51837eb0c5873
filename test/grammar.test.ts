// The editor assets in media/: the TextMate grammar, the language
// configuration, the snippets and the icon.
//
// Oniguruma is not available here, so the grammar's regexes are compiled
// with JavaScript's RegExp (the grammar keeps to the common subset of the
// two) and run by a small single-line TextMate scanner: at each position the
// leftmost match of the current pattern list wins, ties go to the earlier
// pattern, `begin`/`end` rules open a region, and captures get their scopes
// (or are scanned again with their own patterns).

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';

function repoRoot(): string {
  let dir = process.cwd();
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'media')) && existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('repository root not found');
}
const ROOT = repoRoot();
const readJson = (rel: string): unknown => JSON.parse(readFileSync(join(ROOT, rel), 'utf8'));

interface Capture {
  name?: string;
  patterns?: Rule[];
}
interface Rule {
  include?: string;
  match?: string;
  begin?: string;
  end?: string;
  name?: string;
  comment?: string;
  captures?: Record<string, Capture>;
  beginCaptures?: Record<string, Capture>;
  endCaptures?: Record<string, Capture>;
  patterns?: Rule[];
}
interface Grammar {
  name: string;
  scopeName: string;
  fileTypes?: string[];
  patterns: Rule[];
  repository: Record<string, Rule>;
}

const grammar = readJson('media/eligo.tmLanguage.json') as Grammar;

/** Every rule object in the grammar, with a path for messages. */
function allRules(): Array<[string, Rule]> {
  const out: Array<[string, Rule]> = [];
  const visit = (path: string, r: Rule): void => {
    out.push([path, r]);
    r.patterns?.forEach((p, i) => visit(`${path}.patterns[${i}]`, p));
    for (const key of ['captures', 'beginCaptures', 'endCaptures'] as const) {
      for (const [k, c] of Object.entries(r[key] ?? {})) c.patterns?.forEach((p, i) => visit(`${path}.${key}.${k}[${i}]`, p));
    }
  };
  grammar.patterns.forEach((p, i) => visit(`patterns[${i}]`, p));
  for (const [name, r] of Object.entries(grammar.repository)) visit(`#${name}`, r);
  return out;
}

const compiled = new Map<string, RegExp>();
function re(src: string): RegExp {
  let r = compiled.get(src);
  if (!r) {
    r = new RegExp(src, 'dg');
    compiled.set(src, r);
  }
  return r;
}

/** Expand `include`s and container rules into the list of matchable rules, in order. */
function flatten(patterns: readonly Rule[], seen: Set<string> = new Set()): Rule[] {
  const out: Rule[] = [];
  for (const p of patterns) {
    if (p.include !== undefined) {
      if (p.include === '$self') {
        out.push(...flatten(grammar.patterns, seen));
        continue;
      }
      const name = p.include.replace(/^#/, '');
      if (seen.has(name)) continue; // an include cycle adds nothing new
      const target = grammar.repository[name];
      if (!target) throw new Error(`unknown include ${p.include}`);
      out.push(...flatten([target], new Set([...seen, name])));
    } else if (p.match === undefined && p.begin === undefined) {
      out.push(...flatten(p.patterns ?? [], seen));
    } else {
      out.push(p);
    }
  }
  return out;
}

type Scopes = string[][];

function applyCaptures(line: string, m: RegExpExecArray, caps: Record<string, Capture> | undefined, scopes: Scopes): void {
  if (!caps) return;
  const indices = m.indices!;
  for (const [k, cap] of Object.entries(caps)) {
    const span = indices[Number(k)];
    if (!span) continue;
    const [s, e] = span;
    if (cap.name) for (let i = s; i < e; i++) scopes[i]!.push(cap.name);
    if (cap.patterns) {
      const sub = tokenize(line.slice(s, e), cap.patterns);
      for (let i = s; i < e; i++) scopes[i]!.push(...sub[i - s]!);
    }
  }
}

/** Scan `line[from, to)` with `patterns`; stop at the `end` regex of the enclosing region. Returns where it stopped. */
function scan(line: string, from: number, patterns: readonly Rule[], scopes: Scopes, end?: RegExp): number {
  const rules = flatten(patterns);
  let pos = from;
  while (pos <= line.length) {
    let best: { rule: Rule | null; m: RegExpExecArray } | undefined;
    if (end) {
      end.lastIndex = pos;
      const m = end.exec(line);
      if (m) best = { rule: null, m };
    }
    for (const rule of rules) {
      const r = re(rule.match ?? rule.begin!);
      r.lastIndex = pos;
      const m = r.exec(line);
      if (m && (!best || m.index < best.m.index)) best = { rule, m };
    }
    if (!best) return line.length;
    const { rule, m } = best;
    const start = m.index,
      stop = m.index + m[0].length;
    if (rule === null) return start; // the region ends here
    if (rule.match !== undefined) {
      if (rule.name) for (let i = start; i < stop; i++) scopes[i]!.push(rule.name);
      applyCaptures(line, m, rule.captures, scopes);
      pos = stop > pos ? stop : pos + 1;
      if (stop === start && start >= line.length) return line.length;
    } else {
      applyCaptures(line, m, rule.beginCaptures ?? rule.captures, scopes);
      const inner: Scopes = scopes.map(() => []);
      const endAt = scan(line, stop, rule.patterns ?? [], inner, re(rule.end!));
      let regionEnd = endAt;
      const endRe = re(rule.end!);
      endRe.lastIndex = endAt;
      const em = endRe.exec(line);
      if (em && em.index === endAt) {
        applyCaptures(line, em, rule.endCaptures ?? rule.captures, scopes);
        regionEnd = endAt + em[0].length;
      }
      for (let i = start; i < Math.min(regionEnd, line.length); i++) {
        if (rule.name) scopes[i]!.push(rule.name);
        scopes[i]!.push(...inner[i]!);
      }
      if (regionEnd >= line.length) return line.length;
      pos = regionEnd > pos ? regionEnd : pos + 1;
    }
  }
  return line.length;
}

/** The scopes of every character of one line. */
function tokenize(line: string, patterns: readonly Rule[] = grammar.patterns): Scopes {
  const scopes: Scopes = Array.from({ length: line.length }, () => []);
  scan(line, 0, patterns, scopes);
  return scopes;
}

/** The scopes of the `nth` occurrence of `text` in `line` (every character must carry them). */
function scopesOf(line: string, text: string, nth = 0): string[] {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = line.indexOf(text, at + 1);
    assert.ok(at >= 0, `'${text}' (#${nth}) not in '${line}'`);
  }
  const scopes = tokenize(line);
  const common = scopes[at]!.filter((s) => scopes.slice(at, at + text.length).every((c) => c.includes(s)));
  return common;
}

function expectScope(line: string, text: string, scope: string, nth = 0): void {
  const got = scopesOf(line, text, nth);
  assert.ok(got.includes(scope), `'${text}' in '${line}': expected ${scope}, got [${got.join(', ')}]`);
}

function expectNotScope(line: string, text: string, scope: string, nth = 0): void {
  const got = scopesOf(line, text, nth);
  assert.ok(!got.includes(scope), `'${text}' in '${line}': did not expect ${scope}`);
}

describe('media/eligo.tmLanguage.json', () => {
  it('is a TextMate grammar for source.eligo', () => {
    assert.equal(grammar.scopeName, 'source.eligo');
    assert.equal(grammar.name, 'Eligo');
    assert.deepEqual(grammar.fileTypes, ['eligo']);
    assert.ok(grammar.patterns.length > 0);
  });

  it('compiles every match, begin and end pattern as a RegExp, with captures that exist', () => {
    const rules = allRules();
    let count = 0;
    for (const [path, r] of rules) {
      for (const key of ['match', 'begin', 'end'] as const) {
        const src = r[key];
        if (src === undefined) continue;
        count++;
        assert.doesNotThrow(() => new RegExp(src), `${path}.${key}: ${src}`);
        // Constructs that Oniguruma and RegExp read differently are kept out.
        assert.ok(!/\\[hHAzZG]|\(\?[imx]|\(\?#|\\p\{/.test(src), `${path}.${key} uses an engine-specific construct: ${src}`);
        const groups = new RegExp(`${src}|`).exec('')!.length - 1;
        const caps = key === 'match' ? r.captures : key === 'begin' ? (r.beginCaptures ?? r.captures) : (r.endCaptures ?? r.captures);
        for (const k of Object.keys(caps ?? {})) assert.ok(Number(k) <= groups, `${path}: capture ${k} of ${groups} groups`);
      }
      if (r.begin !== undefined) assert.ok(r.end !== undefined, `${path}: begin without end`);
    }
    assert.ok(count > 30, `only ${count} patterns`);
  });

  it('resolves every include and names every scope with the .eligo suffix', () => {
    for (const [path, r] of allRules()) {
      if (r.include !== undefined && r.include !== '$self') {
        assert.ok(grammar.repository[r.include.replace(/^#/, '')], `${path}: include ${r.include}`);
      }
      const names = [r.name, ...Object.values({ ...r.captures, ...r.beginCaptures, ...r.endCaptures }).map((c) => c.name)];
      for (const n of names) if (n !== undefined) assert.match(n, /^[a-z]+(\.[a-z0-9-]+)*\.eligo$/, `${path}: scope ${n}`);
    }
    // every repository entry is used
    const text = JSON.stringify(grammar);
    for (const name of Object.keys(grammar.repository)) assert.ok(text.includes(`"#${name}"`), `#${name} is never included`);
  });

  describe('scopes of sample lines', () => {
    it('comments, and the @eval annotation', () => {
      const line = '# @eval {"a": 0.5}   # not code: let x = 1';
      expectScope(line, '#', 'punctuation.definition.comment.eligo');
      expectScope(line, '@eval', 'storage.type.annotation.eval.eligo');
      expectScope(line, 'let', 'comment.line.number-sign.eligo');
      expectNotScope(line, 'let', 'storage.type.let.eligo');
      expectScope('  z[t+1] = spike(u)   # trailing', '# trailing', 'comment.line.number-sign.eligo');
    });

    it('item names: function, model, rule ... for ..., grad', () => {
      const fn = 'function heat_flux(a, b, c: [3]) {';
      expectScope(fn, 'function', 'storage.type.function.eligo');
      expectScope(fn, 'heat_flux', 'entity.name.function.eligo');
      expectScope(fn, ':', 'punctuation.separator.colon.eligo');
      expectScope(fn, '3', 'constant.numeric.eligo');
      expectScope(fn, '{', 'punctuation.section.block.begin.eligo');
      expectScope('model lif {', 'lif', 'entity.name.type.model.eligo');
      const rule = 'rule eprop for lif {';
      expectScope(rule, 'rule', 'storage.type.rule.eligo');
      expectScope(rule, 'eprop', 'entity.name.function.rule.eligo');
      expectScope(rule, 'for', 'keyword.other.for.eligo');
      expectScope(rule, 'lif', 'entity.name.type.model.eligo');
      const grad = 'let black_scholes_grad = grad(black_scholes)';
      expectScope(grad, 'black_scholes_grad', 'entity.name.function.eligo');
      expectScope(grad, 'grad', 'support.function.builtin.eligo', 1);
      expectScope(grad, 'black_scholes', 'entity.name.function.eligo', 1);
    });

    it('declarations: dim, const, input, target, param with an initialiser, state, surrogate', () => {
      const dim = '  dim n_in = 20, n = 64, n_out = 2';
      expectScope(dim, 'dim', 'storage.type.eligo');
      expectScope(dim, 'n_in', 'variable.other.constant.eligo');
      expectScope(dim, '20', 'constant.numeric.eligo');
      const cst = '  const alpha = exp(-1 / 20), theta = 1.0';
      expectScope(cst, 'exp', 'support.function.builtin.eligo');
      expectScope(cst, '-', 'keyword.operator.arithmetic.eligo');
      expectScope(cst, '1.0', 'constant.numeric.eligo');
      const param = '  param  W_in:  [n, n_in]  ~ normal(0, 0.1)';
      expectScope(param, 'param', 'storage.modifier.role.eligo');
      expectScope(param, 'W_in', 'variable.other.definition.eligo');
      expectScope(param, '~', 'keyword.operator.initialiser.eligo');
      expectScope(param, 'normal', 'support.function.initialiser.eligo');
      expectScope('  param  b_out: [n_out] ~ zeros', 'zeros', 'support.function.initialiser.eligo');
      expectScope('  input  x: [n_in]', 'input', 'storage.modifier.role.eligo');
      expectScope('  state  u: [n] = 0', 'u', 'variable.other.definition.eligo');
      const sur = '  surrogate spike = fast_sigmoid(slope = 10)';
      expectScope(sur, 'surrogate', 'storage.type.surrogate.eligo');
      expectScope(sur, 'spike', 'entity.name.function.eligo');
      expectScope(sur, 'fast_sigmoid', 'support.function.surrogate.eligo');
      expectScope(sur, 'slope', 'variable.parameter.eligo');
      expectScope(sur, '10', 'constant.numeric.eligo');
    });

    it('model equations: s[t+1] updates, time references, du/dt, loss', () => {
      const u = '  u[t+1] = alpha * u + W_rec @ z + W_in @ x[t+1] - theta * z';
      expectScope(u, 'u', 'variable.other.state.eligo');
      expectScope(u, 't', 'variable.language.time.eligo');
      expectScope(u, '1', 'constant.numeric.eligo');
      expectScope(u, '[', 'punctuation.section.brackets.begin.eligo');
      expectScope(u, '@', 'keyword.operator.matrix.eligo');
      expectScope(u, 'alpha', 'variable.other.eligo');
      expectScope(u, 't', 'variable.language.time.eligo', 1); // the t of x[t+1]
      expectScope(u, 'theta', 'variable.other.eligo');
      const z = '  z[t+1] = spike(u[t+1] - theta)';
      expectScope(z, 'spike', 'support.function.builtin.eligo');
      expectScope(z, 't', 'variable.language.time.eligo', 1);
      expectScope('  a[t] = b', 't', 'variable.language.time.eligo');
      const ode = '  du/dt = (-u + I) / tau';
      expectScope(ode, 'd', 'support.function.derivative.eligo');
      expectScope(ode, 'u', 'variable.other.state.eligo');
      expectScope(ode, 'dt', 'support.function.derivative.eligo');
      const loss = '  loss = mse(W_out @ z[t+1], y[t+1])   # summed over time steps';
      expectScope(loss, 'loss', 'keyword.other.loss.eligo');
      expectScope(loss, 'mse', 'support.function.builtin.eligo');
      // a time index is only t: t1 is a name, x[0:2] a slice
      expectScope('  let c1 = cos(t1)', 't1', 'variable.other.eligo');
      expectNotScope('  let c1 = cos(t1)', 't1', 'variable.language.time.eligo');
      const slice = '  let v41 = v39[3:4, 3:4]';
      expectScope(slice, '3', 'constant.numeric.eligo', 1);
      expectScope(slice, ':', 'punctuation.separator.colon.eligo');
    });

    it('delays, named surrogates with a scale, loss windows and readouts over time (issue 15)', () => {
      const d = '  I[t+1] = alpha * I + V1 @ S[t-1] + W1 @ x[t+1-d]';
      expectScope(d, 't', 'variable.language.time.eligo', 1);
      expectScope(d, '1', 'constant.numeric.delay.eligo', 2); // the 1 of S[t-1] (after t+1 and V1)
      expectScope(d, 'd', 'constant.numeric.delay.eligo');
      const sur = '  surrogate fast = triangle(width = 1, scale = 0.3)';
      expectScope(sur, 'fast', 'entity.name.function.eligo');
      expectScope(sur, 'scale', 'variable.parameter.eligo');
      const last = '  loss = cross_entropy(max_over_time(O[t+1]), y[t+1]) at last';
      expectScope(last, 'max_over_time', 'support.function.builtin.eligo');
      expectScope(last, 'at', 'keyword.other.loss-window.eligo');
      expectScope(last, 'last', 'keyword.other.loss-window.eligo');
      expectScope('  loss = mse(o, y[t+1]) for last 10', 'last', 'keyword.other.loss-window.eligo');
      expectScope('  loss = mse(o, y[t+1]) after 50', 'after', 'keyword.other.loss-window.eligo');
    });

    it('rules: approximate d(...)/d(...) = kind, schedule, objective, limit', () => {
      const ap = '  approximate d(u[t+1])/d(z) = 0       # drop recurrent credit';
      expectScope(ap, 'approximate', 'keyword.other.approximate.eligo');
      expectScope(ap, 'd', 'support.function.derivative.eligo', 1);
      expectScope(ap, '/', 'keyword.operator.derivative.eligo');
      expectScope(ap, 'u', 'variable.other.eligo');
      expectScope(ap, 't', 'variable.language.time.eligo', 1);
      expectScope(ap, '0', 'constant.language.approximation.eligo');
      expectScope(ap, '# drop', 'comment.line.number-sign.eligo');
      expectScope('  approximate d(u[t+1])/d(u) = diagonal', 'diagonal', 'constant.language.approximation.eligo');
      expectScope('  approximate d(loss)/d(W_out) = stop', 'stop', 'constant.language.approximation.eligo');
      expectScope('  schedule online', 'online', 'constant.language.schedule.eligo');
      expectScope('  schedule reverse   # exact', 'reverse', 'constant.language.schedule.eligo');
      const order = '  schedule order [v1, v2, v3]';
      expectScope(order, 'order', 'keyword.other.order.eligo');
      expectScope(order, 'v2', 'variable.other.eligo');
      expectScope('  objective multiplications', 'multiplications', 'constant.language.objective.eligo');
      const limit = '  limit memory 128 KiB';
      expectScope(limit, 'limit', 'keyword.other.limit.eligo');
      expectScope(limit, '128', 'constant.numeric.eligo');
      expectScope(limit, 'KiB', 'keyword.other.unit.eligo');
    });

    it('expressions: builtins as support.function, named arguments, operators, return', () => {
      const y = '  let y = atan2(sqrt(1 - az ^ 2), az)';
      expectScope(y, 'let', 'storage.type.let.eligo');
      expectScope(y, 'y', 'variable.other.definition.eligo');
      expectScope(y, 'atan2', 'support.function.builtin.eligo');
      expectScope(y, 'sqrt', 'support.function.builtin.eligo');
      expectScope(y, '^', 'keyword.operator.power.eligo');
      const ret = '  return -sum(y * log(softmax(o, axis = 0)), axis = 0)';
      expectScope(ret, 'return', 'keyword.control.return.eligo');
      expectScope(ret, 'log', 'support.function.builtin.eligo');
      expectScope(ret, 'softmax', 'support.function.builtin.eligo');
      expectScope(ret, 'axis', 'variable.parameter.eligo');
      expectScope(ret, '*', 'keyword.operator.arithmetic.eligo');
      // a builtin's name without a call is just a name
      expectScope('  let s = sum + exp', 'exp', 'variable.other.eligo');
      expectNotScope('  let s = sum + exp', 'exp', 'support.function.builtin.eligo');
      for (const b of ['log1p', 'logsumexp', 'asinh', 'atanh', 'cross_entropy', 'transpose', 'reshape', 'outer', 'stack', 'stop']) {
        expectScope(`  let q = ${b}(x)`, b, 'support.function.builtin.eligo');
      }
    });

    it('numbers: integers, decimals, exponents, leading dots; digits inside names are not numbers', () => {
      for (const n of ['0', '20', '1.0', '0.000001', '1e-6', '2.5E+3', '.5']) {
        expectScope(`  let q = ${n} * x`, n, 'constant.numeric.eligo');
      }
      expectNotScope('  let q = v15 * x', '15', 'constant.numeric.eligo');
    });
  });

  it('gives a scope to every non-blank character of every example', () => {
    const dir = join(ROOT, 'examples');
    const files = readdirSync(dir).filter((f) => f.endsWith('.eligo'));
    assert.ok(files.length >= 13);
    for (const f of files) {
      readFileSync(join(dir, f), 'utf8')
        .split(/\r?\n/)
        .forEach((line, i) => {
          const scopes = tokenize(line);
          for (let c = 0; c < line.length; c++) {
            if (/\s/.test(line[c]!)) continue;
            assert.ok(scopes[c]!.length > 0, `${f}:${i + 1}:${c + 1}: '${line[c]}' has no scope in '${line}'`);
          }
        });
    }
  });
});

describe('media/language-configuration.json', () => {
  const config = readJson('media/language-configuration.json') as {
    comments: { lineComment: string };
    brackets: string[][];
    autoClosingPairs: Array<{ open: string; close: string }>;
    surroundingPairs: string[][];
    wordPattern: string;
    indentationRules: { increaseIndentPattern: string; decreaseIndentPattern: string };
    folding: { markers: { start: string; end: string } };
  };

  it('uses # for line comments and pairs every bracket', () => {
    assert.equal(config.comments.lineComment, '#');
    assert.deepEqual(config.brackets, [
      ['{', '}'],
      ['[', ']'],
      ['(', ')'],
    ]);
    assert.deepEqual(
      config.autoClosingPairs.map((p) => [p.open, p.close]),
      config.brackets,
    );
    assert.deepEqual(config.surroundingPairs, config.brackets);
  });

  it('indents after an opening brace (not one in a comment) and outdents at a closing one', () => {
    const inc = new RegExp(config.indentationRules.increaseIndentPattern);
    const dec = new RegExp(config.indentationRules.decreaseIndentPattern);
    assert.ok(inc.test('model lif {'));
    assert.ok(inc.test('rule eprop for lif {   # e-prop'));
    assert.ok(inc.test('function f(a, b: [3]) {'));
    assert.ok(!inc.test('# a comment with a brace {'));
    assert.ok(!inc.test('  let x = 1'));
    assert.ok(dec.test('}'));
    assert.ok(dec.test('  }'));
    assert.ok(!dec.test('  let x = 1'));
  });

  it('has a word pattern for names and numbers, and folding markers that compile', () => {
    const word = new RegExp(`^(?:${config.wordPattern})$`);
    for (const w of ['W_rec', 'x1', '_tmp', '0.5', '1e-6', '.5', '20']) assert.ok(word.test(w), w);
    assert.ok(!word.test('a-b'));
    assert.ok(new RegExp(config.folding.markers.start).test('# region inputs'));
    assert.ok(new RegExp(config.folding.markers.end).test('  # endregion'));
  });
});

describe('media/snippets.json', () => {
  const snippets = readJson('media/snippets.json') as Record<string, { prefix: string | string[]; body: string | string[]; description: string }>;

  /** The text a snippet inserts when every placeholder keeps its default (first choice). */
  function expand(body: string | string[]): string {
    let text = (Array.isArray(body) ? body.join('\n') : body).replace(/\t/g, '  ');
    const defaults = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      text = text
        .replace(/\$\{(\d+)\|([^|]*)\|\}/g, (_m, n: string, choices: string) => {
          const v = choices.split(',')[0]!;
          defaults.set(n, v);
          return v;
        })
        .replace(/\$\{(\d+):([^{}$]*)\}/g, (_m, n: string, v: string) => {
          defaults.set(n, v);
          return v;
        });
    }
    return text.replace(/\$(\d+)/g, (_m, n: string) => defaults.get(n) ?? '');
  }

  it('offers the LIF model, ALIF model, function and rule snippets, each with a prefix and a description', () => {
    for (const name of ['LIF model', 'ALIF model', 'function', 'rule']) assert.ok(snippets[name], name);
    const prefixes = new Set<string>();
    for (const [name, s] of Object.entries(snippets)) {
      assert.ok(s.description.length > 10, name);
      for (const p of Array.isArray(s.prefix) ? s.prefix : [s.prefix]) {
        assert.ok(!prefixes.has(p), `prefix ${p} used twice`);
        prefixes.add(p);
      }
    }
  });

  it('expands to balanced text that the grammar scopes completely', () => {
    for (const [name, s] of Object.entries(snippets)) {
      const text = expand(s.body);
      assert.ok(!/\$/.test(text), `${name}: unexpanded ${text}`);
      for (const [open, close] of [
        ['{', '}'],
        ['(', ')'],
        ['[', ']'],
      ] as const) {
        assert.equal(text.split(open).length, text.split(close).length, `${name}: ${open}${close} unbalanced`);
      }
      for (const line of text.split('\n')) {
        const scopes = tokenize(line);
        for (let c = 0; c < line.length; c++) if (!/\s/.test(line[c]!)) assert.ok(scopes[c]!.length > 0, `${name}: '${line}'`);
      }
    }
  });

  it('expands the LIF snippet to the model of examples/lif.eligo', () => {
    const squash = (t: string): string => t.replace(/#.*$/gm, '').replace(/\s+/g, ' ').trim();
    const example = readFileSync(join(ROOT, 'examples/lif.eligo'), 'utf8');
    const model = example.slice(example.indexOf('model lif'), example.indexOf('}', example.indexOf('model lif')) + 1);
    assert.equal(squash(expand(snippets['LIF model']!.body)).replace(/^.*?model/, 'model'), squash(model));
  });
});

describe('media/icon.png', () => {
  it('is a 128×128 RGBA PNG whose pixel data inflates to the right size', () => {
    const png = readFileSync(join(ROOT, 'media/icon.png'));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.toString('ascii', 12, 16), 'IHDR');
    assert.equal(png.readUInt32BE(16), 128);
    assert.equal(png.readUInt32BE(20), 128);
    assert.equal(png[24], 8); // bit depth
    assert.equal(png[25], 6); // RGBA
    const idat: Buffer[] = [];
    for (let at = 8; at < png.length;) {
      const len = png.readUInt32BE(at);
      const type = png.toString('ascii', at + 4, at + 8);
      if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
      at += 12 + len;
    }
    assert.equal(inflateSync(Buffer.concat(idat)).length, 128 * (128 * 4 + 1));
  });
});
