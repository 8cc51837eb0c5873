// The `eligo` command line, run as a real process on the bundled CLI.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../language-server/src/analyze.js';
import { readFileSync } from 'node:fs';

function eligo(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), 'eligo-cli-'));
const write = (name: string, text: string): string => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

describe('eligo CLI', () => {
  before(function () {
    this.timeout(60000);
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  });

  it('check prints file:line:col: severity: message and exits 1 on errors', () => {
    const f = write('bad.eligo', 'function f(a) {\n  return a + bb\n}\n');
    const r = eligo('check', f);
    assert.equal(r.code, 1);
    assert.equal(r.out.trim(), `${f}:2:14: error: unknown name 'bb' [name.unknown]`);
  });

  it('check exits 0 on every example', () => {
    const r = eligo('check', ...['lif', 'alif', 'rnn', 'roeflux_1d', 'transformer'].map((e) => `examples/${e}.eligo`));
    assert.equal(r.code, 0, r.out + r.err);
  });

  it('a missing or unreadable file is one clear line and exit 2', () => {
    for (const cmd of ['check', 'graph', 'eval', 'analyze']) {
      const r = eligo(cmd, join(tmp, 'nope.eligo'));
      assert.equal(r.code, 2, cmd);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, /cannot open .*nope\.eligo.*no such file/);
    }
    const dir = eligo('check', tmp);
    assert.equal(dir.code, 2);
    assert.match(dir.err, /is a directory/);
  });

  it('--help works on every command', () => {
    for (const cmd of ['check', 'graph', 'eval', 'analyze']) {
      const r = eligo(cmd, '--help');
      assert.equal(r.code, 0);
      assert.match(r.out, new RegExp(`eligo ${cmd}`));
    }
  });

  it('eligo --help lists every command with its first sentence whole (it cut summaries at the end of their first source line)', () => {
    const r = eligo('--help');
    assert.equal(r.code, 0);
    const lines = r.out.split('\n');
    assert.ok(
      lines.every((l) => l.length <= 100),
      'lines fit in 100 columns',
    );
    // the summary of search runs over three lines of the help and ends where its sentence ends
    const search = r.out.slice(r.out.indexOf('  search'), r.out.indexOf('  rules')).replace(/\s+/g, ' ');
    assert.match(
      search,
      /exact optimum for small graphs, MCTS with a policy\/value network\) on both cores within a time budget, and compare it with forward, reverse and Markowitz $/,
    );
    for (const l of lines.filter((l) => /^ {2}[a-z-]+ {2,}/.test(l)))
      assert.doesNotMatch(l, /\b(the|of|and|a|an|to|with|its),?$/, `a summary ends mid-sentence: ${l}`);
  });

  it('graph --json lists vertices with shapes and source ranges, and operand edges', () => {
    const r = eligo('graph', 'examples/lif.eligo', '--item', 'lif', '--json');
    assert.equal(r.code, 0, r.err);
    const g = JSON.parse(r.out) as {
      vertices: { op: string; shape: number[]; role: string; range: { start: { line: number } } }[];
      edges: { source: number; target: number; operand: number }[];
    };
    assert.ok(g.vertices.some((v) => v.op === 'spike' && v.role === 'state-next'));
    assert.ok(g.vertices.every((v) => Array.isArray(v.shape) && v.range.start.line >= 0));
    assert.ok(g.edges.every((e) => e.source < e.target));
  });

  it('eval evaluates a function at given inputs, and reports shape errors in the inputs', () => {
    const f = write('f.eligo', 'function f(a, c: [2]) {\n  return a * sum(c)\n}\n');
    const ok = eligo('eval', f, '--item', 'f', '--inputs', '{"a": 2, "c": [1, 3]}', '--json');
    assert.equal(ok.code, 0, ok.err);
    assert.equal((JSON.parse(ok.out) as { outputs: { value: number }[] }).outputs[0]!.value, 8);
    const bad = eligo('eval', f, '--item', 'f', '--inputs', '{"a": 2, "c": [1, 3, 4]}');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /input 'c' has shape \[2\].*\[3\]/);
  });

  it('analyze --json follows the contract and equals analyze() for the language server', () => {
    const r = eligo('analyze', 'examples/roeflux_1d.eligo', '--json', '--verify');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as {
      items: {
        name: string;
        kind: string;
        costs: Record<string, { multiplications: number; additions: number; fillIn: number; peakMemoryBytes: number }>;
        verify: { maxAbsError: number; maxRelativeError: number };
      }[];
    };
    const item = j.items[0]!;
    assert.equal(item.name, 'roeflux_1d');
    const a = analyze(readFileSync('examples/roeflux_1d.eligo', 'utf8')).items[0]!;
    for (const o of ['forward', 'reverse', 'markowitz'] as const) assert.deepEqual(item.costs[o], a.costs![o]);
    assert.ok(item.verify.maxRelativeError < 1e-6, `verify error ${item.verify.maxRelativeError}`);
  });

  it('analyze accepts an explicit order and rejects a bad one with the vertex named', () => {
    const f = write('w.eligo', 'function f(x1, x2) {\n  let v1 = x1 * x2\n  let v2 = sin(v1)\n  return log(v2), v1 + v2\n}\n');
    const good = eligo('analyze', f, '--order', write('o.json', '["v2", "v1"]'), '--json');
    assert.equal(good.code, 0, good.err);
    assert.equal((JSON.parse(good.out) as { items: { costs: { given: { multiplications: number } } }[] }).items[0]!.costs.given.multiplications, 6);
    const dup = eligo('analyze', f, '--order', write('d.json', '["v1", "v1"]'));
    assert.equal(dup.code, 1);
    assert.match(dup.err, /v1|%2/);
    const unknown = eligo('analyze', f, '--order', write('u.json', '["v9"]'));
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /'v9' is not a vertex/);
  });
});
