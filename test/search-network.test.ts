// The search's policy/value network (plain-JS inference = TensorFlow.js
// training graph), its file format and fallbacks, self-play learning, the
// vertex names and rule write-back, and the `eligo search` command.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EliminationState } from '../language-server/src/ad/state.js';
import { eliminableVertices } from '../language-server/src/ad/linearize.js';
import { main } from '../language-server/src/cli.js';
import { compile, graphOf } from '../language-server/src/compile.js';
import { Rng } from '../language-server/src/graph/random.js';
import type { Graph } from '../language-server/src/graph/types.js';
import { AgentTrainer } from '../language-server/src/search/agent.js';
import { SearchContext } from '../language-server/src/search/context.js';
import { corpusGraph } from '../language-server/src/search/corpus.js';
import { tokenInput } from '../language-server/src/search/features.js';
import { mcts, type Sample } from '../language-server/src/search/mcts.js';
import { orderFromNames, orderToNames, vertexNames } from '../language-server/src/search/names.js';
import { forward, initialWeights, isUntrained, loadAgent, saveWeights, type Weights } from '../language-server/src/search/network.js';
import { Objective } from '../language-server/src/search/objective.js';
import { ruleOrder, writeRule } from '../language-server/src/search/rule.js';

const EXAMPLES = join(__dirname, '..', 'examples');
const tmp = mkdtempSync(join(tmpdir(), 'eligo-search-'));

function example(name: string): { text: string; graph: Graph } {
  const text = readFileSync(join(EXAMPLES, `${name}.eligo`), 'utf8');
  const c = compile(text);
  return {
    text,
    graph: graphOf(
      c,
      c.items.find((i) => i.kind !== 'rule')!,
    ),
  };
}

/** A network whose every weight is nonzero (the output layers of a fresh one are zero). */
function randomWeights(seed: number): Weights {
  const w = initialWeights(undefined, seed);
  const r = new Rng(seed + 1);
  for (const t of Object.values(w.tensors)) for (let k = 0; k < t.length; k++) if (t[k] === 0) t[k] = 0.2 * r.normal();
  return w;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = (s: string) => {
    out.push(String(s));
    return true;
  };
  process.stderr.write = (s: string) => {
    err.push(String(s));
    return true;
  };
  try {
    const code = await main(args);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

describe('search network: inference, training, files', () => {
  it('the plain-JS forward pass equals the TensorFlow.js one the trainer uses', async () => {
    const w = randomWeights(3);
    const g = example('roeflux_1d').graph;
    const s = EliminationState.of(g);
    const inputs = [];
    for (const v of eliminableVertices(g).slice(0, 30)) {
      if (inputs.length < 4 || v % 7 === 0) inputs.push(tokenInput(s));
      s.eliminate(v);
    }
    const t = await AgentTrainer.create(w);
    const p = t.predict(inputs.map((input) => ({ input })));
    inputs.forEach((inp, k) => {
      const o = forward(w, inp);
      assert.ok(Math.abs(o.value - p.values[k]!) < 1e-4, `value ${o.value} vs ${p.values[k]}`);
      for (let q = 0; q < inp.n; q++) {
        if (inp.mask[q]) assert.ok(Math.abs(o.logits[q]! - p.logits[k]![q]!) < 1e-4);
        else assert.equal(o.logits[q], -Infinity);
      }
    });
    t.dispose();
  });

  it('an untrained network is exactly the greedy prior', () => {
    const w = initialWeights();
    assert.ok(isUntrained(w));
    const inp = tokenInput(EliminationState.of(example('heart_dipole').graph));
    const o = forward(w, inp);
    assert.equal(o.value, 0);
    for (let q = 0; q < inp.n; q++) assert.equal(o.logits[q], inp.mask[q] ? inp.prior[q] : -Infinity);
  });

  it('self-play training on a graph lowers the loss on its own episodes', async function () {
    this.timeout(30_000);
    const g = corpusGraph(4, { minVertices: 30, maxVertices: 30 });
    const w = initialWeights(undefined, 2);
    const ctx = new SearchContext(g, new Objective({ kind: 'multiplications' }), { budgetMs: 60_000, seed: 2 });
    const samples: Sample[] = mcts(ctx, { weights: w, simulationsPerMove: 16, maxEpisodes: 2 }).flatMap((e) => e.samples);
    assert.ok(samples.length > 10);
    const t = await AgentTrainer.create(w, { learningRate: 3e-3 });
    const rng = new Rng(1);
    const first = t.step(samples.slice(0, 16));
    t.train(samples, 30, 16, rng);
    const last = t.step(samples.slice(0, 16));
    t.dispose();
    assert.ok(last.total < first.total, `loss ${first.total} → ${last.total}`);
    assert.ok(!isUntrained(w), 'training writes the weights the search reads');
  });

  it('saves and loads weights; a missing or corrupt file falls back to the untrained prior and says why', () => {
    const w = randomWeights(5);
    const path = join(tmp, 'agent.json');
    saveWeights(path, w, { note: 'test' });
    const back = loadAgent(path);
    assert.equal(back.source, 'file');
    for (const [k, v] of Object.entries(w.tensors)) assert.deepEqual(Array.from(back.weights.tensors[k]!), Array.from(v));

    const missing = loadAgent(join(tmp, 'nope.json'));
    assert.equal(missing.source, 'prior');
    assert.match(missing.message, /does not exist; using the untrained prior/);

    const cases: [string, RegExp][] = [
      ['{ not json', /is corrupt: it is not valid JSON/],
      ['[]', /is corrupt: its format is 'undefined'/],
      [JSON.stringify({ format: 'eligo-agent', version: 99 }), /version 99/],
    ];
    const good = JSON.parse(readFileSync(path, 'utf8')) as { tensors: Record<string, { shape: number[]; data: string }> };
    const badShape = structuredClone(good);
    badShape.tensors['embed.w']!.shape = [1, 2];
    cases.push([JSON.stringify(badShape), /tensor 'embed.w' has shape \[1,2\]/]);
    const truncated = structuredClone(good);
    truncated.tensors['mp0.w']!.data = truncated.tensors['mp0.w']!.data.slice(0, 40);
    cases.push([JSON.stringify(truncated), /tensor 'mp0.w' does not hold/]);
    const nan = structuredClone(good);
    nan.tensors['value.b2']!.data = Buffer.from(new Float32Array([NaN]).buffer).toString('base64');
    cases.push([JSON.stringify(nan), /non-finite/]);
    for (const [text, why] of cases) {
      const p = join(tmp, 'bad.json');
      writeFileSync(p, text);
      const a = loadAgent(p);
      assert.equal(a.source, 'prior');
      assert.match(a.message, why);
      assert.match(a.message, /untrained prior/);
      assert.ok(isUntrained(a.weights));
    }
  });
});

describe('search: vertex names and rules', () => {
  it('names every vertex uniquely (user names when unique, _ID otherwise) and reads them back', () => {
    const g = example('roeflux_1d').graph;
    const names = vertexNames(g);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.includes('vl'));
    const order = eliminableVertices(g).reverse();
    assert.deepEqual(orderFromNames(g, orderToNames(g, order)), order);
    assert.deepEqual(
      orderFromNames(
        g,
        order.map((v) => `%${v}`),
      ),
      order,
    );
    assert.throws(() => orderFromNames(g, ['vl', 'VL2']), /order position 1: 'VL2' names no vertex/);
  });

  it('writes an order as a rule that reads back to the same order, and replaces it in place', () => {
    const { text, graph } = example('heart_dipole');
    const order = eliminableVertices(graph).reverse();
    const names = orderToNames(graph, order);
    const once = writeRule(compile(text), 'fast', 'heart_dipole', names);
    assert.ok(once.startsWith(text));
    assert.match(once, /rule fast for heart_dipole \{\n {2}schedule order \[/);
    assert.deepEqual(ruleOrder(compile(once), 'fast', graph), order);
    const other = eliminableVertices(graph);
    const twice = writeRule(compile(once), 'fast', 'heart_dipole', orderToNames(graph, other));
    assert.equal(twice.match(/rule fast/g)!.length, 1);
    assert.deepEqual(ruleOrder(compile(twice), 'fast', graph), other);
  });
});

describe('eligo search (CLI)', function () {
  this.timeout(30_000);
  const file = join(EXAMPLES, 'black_scholes.eligo');

  it('--json prints exactly item, objective, best and the three baselines', async () => {
    const r = await cli(['search', file, '--json', '--budget', '800ms', '--method', 'anneal', '--threads', '0']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    assert.deepEqual(Object.keys(j), ['item', 'objective', 'best', 'baselines']);
    const best = j.best as Record<string, unknown>;
    assert.deepEqual(Object.keys(best), ['method', 'order', 'multiplications', 'peakMemoryBytes', 'seconds']);
    assert.deepEqual(Object.keys(j.baselines as object), ['forward', 'reverse', 'markowitz']);
    const base = j.baselines as Record<string, { multiplications: number }>;
    assert.ok((best.multiplications as number) <= Math.min(base.forward!.multiplications, base.reverse!.multiplications, base.markowitz!.multiplications));
    assert.ok((best.order as string[]).every((n) => typeof n === 'string'));
  });

  it('prints a table comparing forward, reverse, Markowitz and the order found', async () => {
    const r = await cli(['search', file, '--budget', '500ms', '--method', 'heuristics', '--threads', '0']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /forward\s+\d+/);
    assert.match(r.out, /reverse\s+\d+/);
    assert.match(r.out, /markowitz\s+\d+/);
    assert.match(r.out, /found \(/);
  });

  it('refuses bad budgets, objectives, methods and limits with one clear line', async () => {
    for (const [args, why] of [
      [['--budget', '0s'], /budget '0s' must be positive/],
      [['--budget=-3s'], /must be positive/],
      [['--budget', '9999999h'], /absurdly long/],
      [['--budget', 'forever'], /cannot read budget 'forever'/],
      [['--objective', 'speed'], /unknown objective 'speed'/],
      [['--method', 'magic'], /--method must be mcts, anneal, beam, exact, heuristics or all, got 'magic'/],
      [['--limit-memory', 'lots'], /cannot read memory 'lots'/],
      [['--seed', 'x'], /--seed must be an integer/],
      [['--agent', join(tmp, 'missing.json')], /--agent: cannot open '.*missing\.json': no such file/],
    ] as [string[], RegExp][]) {
      const r = await cli(['search', file, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, why);
    }
  });

  it('says when no order can meet a memory limit, with the least memory any order needs', async () => {
    const r = await cli(['search', file, '--limit-memory', '16B', '--budget', '500ms', '--method', 'heuristics', '--threads', '0']);
    assert.equal(r.code, 1);
    assert.match(r.err, /no elimination order can stay within 16 B: .* the smallest peak memory found is/);
  });

  it('refuses a corrupt --agent file the user named (one line, exit 2) rather than searching with the untrained prior', async () => {
    const bad = join(tmp, 'corrupt.json');
    writeFileSync(bad, '{"format":"eligo-agent"');
    const r = await cli(['search', file, '--agent', bad, '--method', 'mcts', '--budget', '800ms', '--threads', '0']);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.match(r.err, /--agent '.*corrupt\.json' is not a network Eligo can use: it is not valid JSON/);
    assert.equal(r.out, '');
  });

  it('writes the order back into the file as a rule that reads back', async () => {
    const copy = join(tmp, 'bs.eligo');
    writeFileSync(copy, readFileSync(file, 'utf8'));
    const r = await cli([
      'search',
      copy,
      '--budget',
      '500ms',
      '--method',
      'heuristics',
      '--threads',
      '0',
      '--write-rule',
      'found',
      '--out',
      join(tmp, 'order.json'),
    ]);
    assert.equal(r.code, 0, r.err);
    const text = readFileSync(copy, 'utf8');
    assert.match(text, /rule found for black_scholes \{\n {2}schedule order \[/);
    const saved = JSON.parse(readFileSync(join(tmp, 'order.json'), 'utf8')) as { order: string[] };
    const c = compile(text);
    const g = graphOf(
      c,
      c.items.find((i) => i.name === 'black_scholes')!,
    );
    assert.deepEqual(ruleOrder(c, 'found', g), orderFromNames(g, saved.order));
  });
});
