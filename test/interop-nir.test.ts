// NIR in and out: a file written by Debian's h5py the way neuromorphs/NIR's
// `nir.write` lays it out is read, imported (and checked against the NIR
// equations), exported again and read back by h5py; bad files give one line
// and write nothing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, modelStep } from '../language-server/src/compile.js';
import { initialParams, initialStates, randomData, simulate } from '../language-server/src/graph/simulate.js';
import { Rng } from '../language-server/src/graph/random.js';
import { checkImport, simulateNir } from '../language-server/src/interop/nir/check.js';
import { exportNir, ExportError } from '../language-server/src/interop/nir/export.js';
import { importNir } from '../language-server/src/interop/nir/import.js';
import { readNir } from '../language-server/src/interop/nir/read.js';
import { tensor, type NirGraph, type NirNode, type NirTensor } from '../language-server/src/interop/nir/types.js';
import { writeNir } from '../language-server/src/interop/nir/write.js';
import { dataPathProblem, loadParamData, writeParamData } from '../language-server/src/interop/paramData.js';
import { exportBridge, exportParams } from '../language-server/src/interop/bridges.js';
import { saveCheckpoint } from '../language-server/src/train/checkpoint.js';

const PY = '/usr/bin/python3';
const tmp = mkdtempSync(join(tmpdir(), 'eligo-nir-'));

function python(code: string, ...args: string[]): string {
  const r = spawnSync(PY, ['-c', code, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `python failed:\n${r.stderr}`);
  return r.stdout;
}

// A recurrent CubaLIF layer (recurrence lif1.lif → lif1.w_rec → lif1.lif, as in NIR's paper/03_rnn),
// an LIF output layer and a Linear between, written as nir.write does: vlen UTF-8 strings, gzip,
// float32 weights, float64 neuron parameters, int64 shapes, edges a list of str pairs.
const WRITER = `
import h5py, numpy as np, json, sys
rng = np.random.default_rng(7)
n_in, n1, n2 = 4, 5, 3
vals = {
  'fc1/weight': rng.normal(0, 1.5, (n1, n_in)).astype(np.float32), 'fc1/bias': rng.normal(0, 0.1, n1).astype(np.float32),
  'lif1.w_rec/weight': rng.normal(0, 0.5, (n1, n1)).astype(np.float32), 'lif1.w_rec/bias': rng.normal(0, 0.1, n1).astype(np.float32),
  'fc2/weight': rng.normal(0, 1.0, (n2, n1)).astype(np.float32),
}
neurons = {
  'lif1.lif': ('CubaLIF', dict(tau_syn=np.full(n1, 2e-3), tau_mem=np.full(n1, 1e-2), r=np.full(n1, 8.0), v_leak=np.zeros(n1),
                               v_threshold=np.full(n1, 1.0), v_reset=np.zeros(n1), w_in=np.full(n1, 1.5))),
  'lif2': ('LIF', dict(tau=np.full(n2, 5e-3), r=np.full(n2, 4.0), v_leak=np.full(n2, 0.1), v_threshold=np.full(n2, 0.8), v_reset=np.full(n2, -0.2))),
}
edges = [('input', 'fc1'), ('fc1', 'lif1.lif'), ('lif1.lif', 'lif1.w_rec'), ('lif1.w_rec', 'lif1.lif'), ('lif1.lif', 'fc2'), ('fc2', 'lif2'), ('lif2', 'output')]
with h5py.File(sys.argv[1], 'w') as f:
  f.create_dataset('version', data='1.0.7', dtype=h5py.string_dtype())
  g = f.create_group('node')
  g.create_dataset('type', data='NIRGraph', dtype=h5py.string_dtype())
  g.create_dataset('edges', data=edges)
  nodes = g.create_group('nodes')
  def node(name, typ, **ds):
    h = nodes.create_group(name)
    h.create_dataset('type', data=typ, dtype=h5py.string_dtype())
    for k, v in ds.items():
      h.create_dataset(k, data=v, dtype=v.dtype, compression='gzip')
  node('input', 'Input', shape=np.array([n_in], dtype=np.int64))
  node('output', 'Output', shape=np.array([n2], dtype=np.int64))
  node('fc1', 'Affine', weight=vals['fc1/weight'], bias=vals['fc1/bias'])
  node('lif1.w_rec', 'Affine', weight=vals['lif1.w_rec/weight'], bias=vals['lif1.w_rec/bias'])
  node('fc2', 'Linear', weight=vals['fc2/weight'])
  for name, (typ, ps) in neurons.items():
    node(name, typ, **ps)
    for k, v in ps.items(): vals[name + '/' + k] = v
print(json.dumps({k: [float(x) for x in np.asarray(v).reshape(-1)] for k, v in vals.items()}))
`;

function writeReference(path: string): Record<string, number[]> {
  return JSON.parse(python(WRITER, path)) as Record<string, number[]>;
}

function param(node: unknown, name: string): NirTensor {
  return (node as Record<string, NirTensor>)[name]!;
}

describe('NIR interop', function () {
  this.timeout(60000);
  const file = join(tmp, 'rnn.nir');
  let values: Record<string, number[]>;
  before(() => {
    values = writeReference(file);
  });

  it('reads a NIR file written by h5py: node types, edges, parameters and dtypes', async () => {
    const nir = await readNir(file);
    assert.equal(nir.version, '1.0.7');
    assert.deepEqual([...nir.graph.nodes.keys()].sort(), ['fc1', 'fc2', 'input', 'lif1.lif', 'lif1.w_rec', 'lif2', 'output']);
    assert.equal(nir.graph.nodes.get('lif1.lif')!.type, 'CubaLIF');
    assert.equal(nir.graph.nodes.get('fc2')!.type, 'Linear');
    assert.deepEqual(
      nir.graph.edges.map((e) => e.join('→')),
      ['input→fc1', 'fc1→lif1.lif', 'lif1.lif→lif1.w_rec', 'lif1.w_rec→lif1.lif', 'lif1.lif→fc2', 'fc2→lif2', 'lif2→output'],
    );
    const w = param(nir.graph.nodes.get('fc1'), 'weight');
    assert.deepEqual(w.shape, [5, 4]);
    assert.equal(w.dtype, 'f32');
    assert.deepEqual(Array.from(w.data), values['fc1/weight']);
    assert.equal(param(nir.graph.nodes.get('lif2'), 'tau').dtype, 'f64');
    assert.deepEqual(Array.from(param(nir.graph.nodes.get('lif2'), 'v_reset').data), values['lif2/v_reset']);
  });

  it('imports to a model that compiles, and the check finds it follows the NIR equations', async () => {
    const nir = await readNir(file);
    const imp = importNir(nir, { dt: 1e-3, dataFile: 'rnn.params.h5', modelName: 'rnn' });
    const c = compile(imp.text);
    assert.deepEqual(
      c.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    assert.match(imp.text, /W_lif1_w_rec @ z_lif1_lif \+ b_lif1_w_rec/, 'the recurrent Affine reads the spikes of the previous step');
    assert.match(imp.text, /param {2}W_fc1: \[5, 4\] = data\("rnn.params.h5", "W_fc1"\)/);
    const res = checkImport(nir, imp, { steps: 150, rate: 0.4 });
    assert.ok(res.spikes > 20, `the check should see spikes (saw ${res.spikes})`);
    assert.ok(res.maxDifference < 1e-9, `largest difference ${res.maxDifference}`);
    assert.equal(res.perState.length, 5); // lif1: i, v, z; lif2: v, z
  });

  it('the check reports a dt mistake (the model stepped at 10× the NIR dt)', async () => {
    const nir = await readNir(file);
    const imp = importNir(nir, { dt: 1e-3, dataFile: 'rnn.params.h5', modelName: 'rnn' });
    const wrong = { ...imp, text: imp.text.replace('const dt = 0.001', 'const dt = 0.01') };
    assert.notEqual(wrong.text, imp.text);
    const res = checkImport(nir, wrong, { steps: 150, rate: 0.4 });
    assert.ok(res.maxDifference > 1e-2, `largest difference ${res.maxDifference}`);
  });

  it('round trip: import then export gives the same node names, types, edges and parameters (1e-6), read back by h5py', async () => {
    const nir = await readNir(file);
    const imp = importNir(nir, { dt: 1e-3, dataFile: 'rnn.params.h5', modelName: 'rnn' });
    const c = compile(imp.text);
    for (const scope of c.checked.items.values()) {
      if (scope.kind === 'model') for (const [name, init] of scope.initialisers) if (init.kind === 'data') init.values = imp.params.get(name)!.data;
    }
    const scope = c.checked.items.get('rnn');
    assert.ok(scope && scope.kind === 'model');
    const out = exportNir(c, 'rnn', { params: initialParams(scope, 0) });
    assert.deepEqual(out.warnings, []);
    const back = join(tmp, 'rnn-back.nir');
    await writeNir(back, out.graph);
    const report = JSON.parse(
      python(
        `
import h5py, json, sys, numpy as np
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
out = {'version': b['version'][()].decode(), 'vlen': b['node/edges'].id.get_type().is_variable_str(), 'edgeShape': list(b['node/edges'].shape)}
out['nodes'] = sorted(b['node/nodes'].keys()) == sorted(a['node/nodes'].keys())
ea = set(tuple(x.decode() for x in e) for e in a['node/edges'][()]); eb = set(tuple(x.decode() for x in e) for e in b['node/edges'][()])
out['edges'] = ea == eb
worst = 0.0; types = {}; dtypes = {}
for n in a['node/nodes']:
  ga, gb = a['node/nodes'][n], b['node/nodes'][n]
  types[n] = [ga['type'][()].decode(), gb['type'][()].decode()]
  for k in ga:
    if k == 'type': continue
    x, y = np.asarray(ga[k][()], dtype=float), np.asarray(gb[k][()], dtype=float)
    worst = max(worst, float(np.max(np.abs(x - y) / np.maximum(1e-12, np.abs(x)))) if x.size else 0.0)
    dtypes[n + '/' + k] = str(gb[k].dtype)
out['worst'] = worst; out['types'] = types; out['dtypes'] = dtypes
print(json.dumps(out))
`,
        file,
        back,
      ),
    ) as {
      version: string;
      vlen: boolean;
      edgeShape: number[];
      nodes: boolean;
      edges: boolean;
      worst: number;
      types: Record<string, [string, string]>;
      dtypes: Record<string, string>;
    };
    assert.equal(report.version, '1.0.7');
    assert.equal(report.vlen, true);
    assert.deepEqual(report.edgeShape, [7, 2]);
    assert.ok(report.nodes, 'same node names');
    assert.ok(report.edges, 'same edges');
    for (const [n, [t1, t2]] of Object.entries(report.types)) assert.equal(t2, t1, `type of ${n}`);
    assert.ok(report.worst < 1e-6, `largest relative parameter difference ${report.worst}`);
    assert.equal(report.dtypes['fc1/weight'], 'float32');
    assert.equal(report.dtypes['lif2/tau'], 'float64');
    assert.equal(report.dtypes['input/shape'], 'int64');
  });

  it('imports Flatten, IF, Scale, LI, Threshold and I nodes, checks them, and exports them back (Flatten and Scale folded)', async () => {
    const v = (n: number, x: number): NirTensor => tensor([n], new Array<number>(n).fill(x));
    const w = (r: number, c: number, seed: number): NirTensor =>
      tensor(
        [r, c],
        Array.from({ length: r * c }, (_, i) => Math.sin(seed + i * 1.7) * 1.2),
        'f32',
      );
    const graph: NirGraph = {
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['in', { type: 'Input', shape: [2, 3] }],
        ['flat', { type: 'Flatten', start_dim: 0, end_dim: -1 }],
        ['lin', { type: 'Linear', weight: w(4, 6, 1) }],
        ['if', { type: 'IF', r: v(4, 50), v_threshold: v(4, 0.5), v_reset: v(4, 0) }],
        ['sc', { type: 'Scale', scale: v(4, 0.7) }],
        ['li', { type: 'LI', tau: v(4, 0.01), r: v(4, 2), v_leak: v(4, 0.1) }],
        ['th', { type: 'Threshold', threshold: v(4, 0.2) }],
        ['lin2', { type: 'Linear', weight: w(3, 4, 2) }],
        ['int', { type: 'I', r: v(3, 10) }],
        ['out', { type: 'Output', shape: [3] }],
      ]),
      edges: [
        ['in', 'flat'],
        ['flat', 'lin'],
        ['lin', 'if'],
        ['if', 'sc'],
        ['sc', 'li'],
        ['li', 'th'],
        ['th', 'lin2'],
        ['lin2', 'int'],
        ['int', 'out'],
      ],
    };
    const path = join(tmp, 'mix.nir');
    await writeNir(path, graph);
    const nir = await readNir(path);
    assert.deepEqual([...nir.graph.nodes].map(([k, n]) => `${k}:${n.type}`).sort(), [...graph.nodes].map(([k, n]) => `${k}:${n.type}`).sort());
    const imp = importNir(nir, { dt: 1e-3, dataFile: 'mix.params.h5', modelName: 'mix' });
    assert.match(imp.text, /v_int\[t\+1\] = v_int \+ dt \* r_int \* \(W_lin2 @ \(spike\(v_li\[t\+1\] - theta_th\)\)\)/);
    assert.match(imp.text, /input {2}x_in: \[6\] {3}# NIR shape \[2, 3\], flattened/);
    const res = checkImport(nir, imp, { steps: 100, rate: 0.5 });
    assert.ok(res.spikes > 0 && res.maxDifference < 1e-9, `difference ${res.maxDifference}, ${res.spikes} spikes`);
    const c = compile(imp.text);
    for (const scope of c.checked.items.values())
      if (scope.kind === 'model') for (const [n, i] of scope.initialisers) if (i.kind === 'data') i.values = imp.params.get(n)!.data;
    const scope = c.checked.items.get('mix');
    assert.ok(scope && scope.kind === 'model');
    const out = exportNir(c, 'mix', { params: initialParams(scope, 0) });
    assert.deepEqual(Object.fromEntries([...out.graph.nodes].map(([k, n]) => [k, n.type])), {
      in: 'Input',
      if: 'IF',
      li: 'LI',
      int: 'I',
      lin: 'Linear',
      th: 'Threshold',
      lin2: 'Linear',
      out: 'Output',
    });
    // The Scale folds into LI's R: (1 − α)·R·0.7·z = (1 − α)·(0.7 R)·z.
    assert.ok(Math.abs(param(out.graph.nodes.get('li'), 'r').data[0]! - 1.4) < 1e-12);
    assert.ok(Math.abs(param(out.graph.nodes.get('int'), 'r').data[0]! - 10) < 1e-9);
    assert.equal(param(out.graph.nodes.get('th'), 'threshold').data[0], 0.2);
  });

  it('a Delay written by h5py as NIR lays it out: read, imported as z[t-k] and x[t], checked, exported back to the same graph', async () => {
    const path = join(tmp, 'delay.nir');
    // input → d_in (1 step) → fc → lif1; lif1 → d_rec (2 steps) → w_rec → lif1 (recurrent); lif1 → d_ax (3 steps) → fc2 → lif2 → output.
    const values = JSON.parse(
      python(
        `
import h5py, numpy as np, json, sys
rng = np.random.default_rng(3)
n_in, n1, n2 = 4, 6, 3
vals = {}
with h5py.File(sys.argv[1], 'w') as f:
  f.create_dataset('version', data='1.0.7', dtype=h5py.string_dtype())
  g = f.create_group('node')
  g.create_dataset('type', data='NIRGraph', dtype=h5py.string_dtype())
  g.create_dataset('edges', data=[('input', 'd_in'), ('d_in', 'fc'), ('fc', 'lif1'), ('lif1', 'd_rec'), ('d_rec', 'w_rec'), ('w_rec', 'lif1'),
                                  ('lif1', 'd_ax'), ('d_ax', 'fc2'), ('fc2', 'lif2'), ('lif2', 'output')])
  nodes = g.create_group('nodes')
  def node(name, typ, **ds):
    h = nodes.create_group(name)
    h.create_dataset('type', data=typ, dtype=h5py.string_dtype())
    for k, v in ds.items():
      h.create_dataset(k, data=v, dtype=v.dtype, compression='gzip')
      vals[name + '/' + k] = [float(x) for x in np.asarray(v).reshape(-1)]
  node('input', 'Input', shape=np.array([n_in], dtype=np.int64))
  node('output', 'Output', shape=np.array([n2], dtype=np.int64))
  node('d_in', 'Delay', delay=np.full(n_in, 1e-3))
  node('fc', 'Affine', weight=rng.normal(0, 1.5, (n1, n_in)).astype(np.float32), bias=rng.normal(0, 0.1, n1).astype(np.float32))
  node('lif1', 'LIF', tau=np.full(n1, 5e-3), r=np.full(n1, 4.0), v_leak=np.zeros(n1), v_threshold=np.full(n1, 0.5), v_reset=np.zeros(n1))
  node('d_rec', 'Delay', delay=np.full(n1, 2e-3))
  node('w_rec', 'Linear', weight=rng.normal(0, 0.6, (n1, n1)).astype(np.float32))
  node('d_ax', 'Delay', delay=np.full(n1, 3e-3))
  node('fc2', 'Linear', weight=rng.normal(0, 1.0, (n2, n1)).astype(np.float32))
  node('lif2', 'CubaLIF', tau_syn=np.full(n2, 2e-3), tau_mem=np.full(n2, 1e-2), r=np.full(n2, 8.0), v_leak=np.zeros(n2),
       v_threshold=np.full(n2, 1.0), v_reset=np.zeros(n2), w_in=np.full(n2, 1.5))
print(json.dumps(vals))
`,
        path,
      ),
    ) as Record<string, number[]>;
    const nir = await readNir(path);
    assert.equal(nir.graph.nodes.get('d_ax')!.type, 'Delay');
    assert.deepEqual(Array.from(param(nir.graph.nodes.get('d_ax'), 'delay').data), values['d_ax/delay']);
    const imp = importNir(nir, { dt: 1e-3, dataFile: 'delay.params.h5', modelName: 'delayed' });
    // The input one step back, the recurrent spikes 1 + 2 steps back (the back edge and d_rec), the axonal delay 3 steps.
    assert.match(imp.text, /W_fc @ x_input\[t\] \+ b_fc/);
    assert.match(imp.text, /W_w_rec @ z_lif1\[t-2\]/);
    assert.match(imp.text, /W_fc2 @ z_lif1\[t-2\]/);
    const c = compile(imp.text);
    assert.deepEqual(
      c.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    const res = checkImport(nir, imp, { steps: 150, rate: 0.4 });
    assert.ok(res.spikes > 20, `the check should see spikes (saw ${res.spikes})`);
    assert.ok(res.maxDifference < 1e-9, `largest difference ${res.maxDifference}`);
    // The check sees a wrong delay: the same model with the axonal delay one step shorter differs.
    const shorter = { ...imp, text: imp.text.replace('W_fc2 @ z_lif1[t-2]', 'W_fc2 @ z_lif1[t-1]') };
    assert.notEqual(shorter.text, imp.text);
    assert.ok(checkImport(nir, shorter, { steps: 150, rate: 0.4 }).maxDifference > 1e-3);

    for (const scope of c.checked.items.values())
      if (scope.kind === 'model') for (const [n, i] of scope.initialisers) if (i.kind === 'data') i.values = imp.params.get(n)!.data;
    const scope = c.checked.items.get('delayed');
    assert.ok(scope && scope.kind === 'model');
    const out = exportNir(c, 'delayed', { params: initialParams(scope, 0) });
    assert.deepEqual(out.warnings, []);
    const back = join(tmp, 'delay-back.nir');
    await writeNir(back, out.graph);
    const report = JSON.parse(
      python(
        `
import h5py, json, sys, numpy as np
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
edges = lambda f: [tuple(x.decode() for x in e) for e in f['node/edges'][()]]
out = {'nodes': sorted(b['node/nodes'].keys()), 'same_nodes': sorted(a['node/nodes'].keys()) == sorted(b['node/nodes'].keys()),
       'edges': edges(a) == edges(b), 'types': {}, 'worst': 0.0, 'delay_dtype': str(b['node/nodes/d_ax/delay'].dtype)}
for n in a['node/nodes']:
  ga, gb = a['node/nodes'][n], b['node/nodes'][n]
  out['types'][n] = [ga['type'][()].decode(), gb['type'][()].decode()]
  for k in ga:
    if k == 'type': continue
    x, y = np.asarray(ga[k][()], dtype=float), np.asarray(gb[k][()], dtype=float)
    out['worst'] = max(out['worst'], float(np.max(np.abs(x - y) / np.maximum(1e-12, np.abs(x)))))
print(json.dumps(out))
`,
        path,
        back,
      ),
    ) as { nodes: string[]; same_nodes: boolean; edges: boolean; types: Record<string, [string, string]>; worst: number; delay_dtype: string };
    assert.ok(report.same_nodes, report.nodes.join(', '));
    assert.ok(report.edges, 'the same edges in the same order');
    for (const [n, [t1, t2]] of Object.entries(report.types)) assert.equal(t2, t1, `type of ${n}`);
    assert.ok(report.worst < 1e-6, `largest relative parameter difference ${report.worst}`);
    assert.equal(report.delay_dtype, 'float64');
  });

  it('a Delay that is not a whole number of steps, or differs across channels, is one line naming the node', () => {
    const v = (n: number, x: number): NirTensor => tensor([n], new Array<number>(n).fill(x));
    const graph = (delay: NirTensor): NirGraph => ({
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['in', { type: 'Input', shape: [2] }],
        ['d', { type: 'Delay', delay }],
        ['li', { type: 'LI', tau: v(2, 0.01), r: v(2, 1), v_leak: v(2, 0) }],
        ['out', { type: 'Output', shape: [2] }],
      ]),
      edges: [
        ['in', 'd'],
        ['d', 'li'],
        ['li', 'out'],
      ],
    });
    assert.throws(
      () => importNir({ version: '1.0.7', graph: graph(v(2, 2.5e-3)) }, { dt: 1e-3, dataFile: 'x.h5' }),
      /^NirError: node 'd' \(Delay\): a delay of 0.0025 is 2.5 steps of dt = 0.001; Eligo delays by whole steps/,
    );
    assert.throws(
      () => importNir({ version: '1.0.7', graph: graph(tensor([2], [1e-3, 2e-3])) }, { dt: 1e-3, dataFile: 'x.h5' }),
      /node 'd' \(Delay\): the delay differs across its 2 channels \(0.001 … 0.002\)/,
    );
  });

  it("a Delay after a weight exports before it (named after its source): NIR's equations give the same states on both graphs", () => {
    const v = (n: number, x: number): NirTensor => tensor([n], new Array<number>(n).fill(x));
    const g: NirGraph = {
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['in', { type: 'Input', shape: [3] }],
        ['fc', { type: 'Affine', weight: tensor([4, 3], [1, -2, 3, 0.5, 1, 1, 2, 2, -1, 1, 1, 1], 'f32'), bias: tensor([4], [0.1, 0.2, 0.3, 0.4], 'f32') }],
        ['d', { type: 'Delay', delay: v(4, 2e-3) }],
        ['lif', { type: 'LIF', tau: v(4, 0.01), r: v(4, 5), v_leak: v(4, 0), v_threshold: v(4, 0.5), v_reset: v(4, 0) }],
        ['out', { type: 'Output', shape: [4] }],
      ]),
      edges: [
        ['in', 'fc'],
        ['fc', 'd'],
        ['d', 'lif'],
        ['lif', 'out'],
      ],
    };
    const imp = importNir({ version: '1.0.7', graph: g }, { dt: 1e-3, dataFile: 'd.h5', modelName: 'm' });
    assert.match(imp.text, /W_fc @ x_in\[t-1\] \+ b_fc/);
    const c = compile(imp.text);
    for (const scope of c.checked.items.values())
      if (scope.kind === 'model') for (const [n, i] of scope.initialisers) if (i.kind === 'data') i.values = imp.params.get(n)!.data;
    const out = exportNir(c, 'm', { params: initialParams(c.checked.items.get('m') as Parameters<typeof initialParams>[0], 0) });
    assert.deepEqual(
      out.graph.edges.map((e) => e.join('→')),
      ['in→in_delay2', 'in_delay2→fc', 'fc→lif', 'lif→out'],
    );
    const xs = Array.from({ length: 60 }, (_, t) => Float64Array.from([t % 3 === 0 ? 1 : 0, t % 5 === 0 ? 1 : 0, t % 2]));
    const a = simulateNir({ version: '1.0.7', graph: g }, 1e-3, 'exact', new Map([['in', xs]]), 60).get('lif')!;
    const b = simulateNir({ version: '1.0.7', graph: out.graph }, 1e-3, 'exact', new Map([['in', xs]]), 60).get('lif')!;
    let spikes = 0;
    for (const k of ['v', 'z'])
      a.get(k)!.forEach((ref, t) =>
        ref.forEach((x, j) => {
          assert.equal(b.get(k)![t]![j], x, `${k}[${t}][${j}]`);
          if (k === 'z') spikes += x;
        }),
      );
    assert.ok(spikes > 20, `spikes ${spikes}`);
  });

  it("Zenke's current-based LIF and the two-layer network export as CubaLIF/CubaLI with Delay nodes; the NIR equations run the same network", async () => {
    for (const example of ['zenke_lif', 'two_layer'] as const) {
      const faithful = readFileSync(`examples/${example}.eligo`, 'utf8');
      // NIR's neurons reset the membrane only; the examples' (β·U + I)·(1 − S) also clears the step's input.
      // The same network with the input kept after a spike is what NIR can say exactly.
      const nirForm = faithful.replace(
        /U(\d?)\[t\+1\] = \(beta \* U(\d?) \+ I(\d?)\) \* \(1 - stop\(S(\d?)\)\)/g,
        'U$1[t+1] = beta * U$2 * (1 - stop(S$4)) + I$3',
      );
      assert.notEqual(nirForm, faithful);
      for (const [text, exact] of [
        [faithful, false],
        [nirForm, true],
      ] as const) {
        const c = compile(text);
        const item = c.items.find((i) => i.name === example)!;
        const { scope, graph } = modelStep(c, item);
        const params = initialParams(scope, 3);
        const out = exportNir(c, example, { params, dt: 1e-3 });
        const types = [...out.graph.nodes.values()].map((n) => n.type).sort();
        assert.deepEqual(
          types,
          example === 'zenke_lif'
            ? ['CubaLI', 'CubaLIF', 'Delay', 'Delay', 'Input', 'Linear', 'Linear', 'Linear', 'Output']
            : ['CubaLI', 'CubaLIF', 'CubaLIF', 'Delay', 'Delay', 'Delay', 'Input', 'Linear', 'Linear', 'Linear', 'Output'],
        );
        const warned = out.warnings.map((w) => w.message);
        assert.equal(
          warned.some((m) => /the reset also clears the step's input/.test(m)),
          !exact,
          warned.join('\n'),
        );
        assert.ok(warned.some((m) => /NIR has no readout over time/.test(m)));
        // τ_syn = 5 ms, τ_mem = 10 ms at dt = 1 ms; w_in and r carry the gains (1 and 1 of the equations).
        const lif = [...out.graph.nodes.values()].find((n) => n.type === 'CubaLIF')!;
        assert.ok(Math.abs(param(lif, 'tau_syn').data[0]! - 5e-3) < 1e-15 && Math.abs(param(lif, 'tau_mem').data[0]! - 1e-2) < 1e-15);
        assert.ok(
          Math.abs((1 - Math.exp(-1 / 5)) * param(lif, 'w_in').data[0]! - 1) < 1e-12 &&
            Math.abs((1 - Math.exp(-1 / 10)) * param(lif, 'r').data[0]! - 1) < 1e-12,
        );
        // Eligo's model and NIR's equations (nir/check.ts) on the same input.
        const steps = 120;
        const rng = new Rng(11);
        const xs = Array.from({ length: steps }, () => Float64Array.from({ length: 40 }, () => (rng.next() < 0.3 ? 1 : 0)));
        const data = randomData(scope, steps, 0);
        data.set(
          'x',
          xs.map((d) => ({ shape: [40], data: d })),
        );
        const traj = simulate(graph, params, data, steps, initialStates(scope));
        const nir = simulateNir({ version: '1.0.7', graph: out.graph }, 1e-3, 'exact', new Map([['x', xs]]), steps);
        // NIR's synaptic current is the model's I one step later (U reads I[t]); the membranes, spikes and readout are the same states.
        const pairs =
          example === 'zenke_lif'
            ? ([
                ['U', 'v', 'U', 0],
                ['U', 'z', 'S', 0],
                ['U', 'i', 'I', 1],
                ['O', 'v', 'O', 0],
                ['O', 'i', 'F', 1],
              ] as const)
            : ([
                ['U1', 'v', 'U1', 0],
                ['U1', 'z', 'S1', 0],
                ['U2', 'v', 'U2', 0],
                ['U2', 'z', 'S2', 0],
                ['U2', 'i', 'I2', 1],
                ['O', 'v', 'O', 0],
                ['O', 'i', 'F', 1],
              ] as const);
        let worst = 0,
          spikes = 0;
        for (const [node, key, state, lag] of pairs) {
          const seq = nir.get(node)!.get(key)!;
          for (let t = lag; t < steps; t++) {
            const mine = traj.states[t - lag]!.get(state)!.data;
            const ref = seq[t]!;
            for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(mine[j]! - ref[j]!));
            if (key === 'z') spikes += ref.reduce((a, b) => a + b, 0);
          }
        }
        assert.ok(spikes > 50, `${example}: the comparison should see spikes (saw ${spikes})`);
        if (exact) assert.ok(worst < 1e-9, `${example} (NIR form): largest difference ${worst}`);
        else assert.ok(worst > 1e-3, `${example}: the faithful model clears the input on a reset, which NIR cannot say (difference ${worst})`);
        // Written, read back and imported with --check: the imported model follows the NIR equations.
        if (exact) {
          const file = join(tmp, `${example}.nir`);
          await writeNir(file, out.graph);
          const back = await readNir(file);
          const imp = importNir(back, { dt: 1e-3, dataFile: `${example}.params.h5`, modelName: example });
          const res = checkImport(back, imp, { steps: 120, rate: 0.3 });
          assert.ok(res.spikes > 0 && res.maxDifference < 1e-9, `${example}: check ${res.maxDifference}, ${res.spikes} spikes`);
        }
      }
    }
  });

  it("exports the LIF example with its readout, and says the subtractive reset differs from NIR's", () => {
    const c = compile(readFileSync('examples/lif.eligo', 'utf8'));
    const scope = c.checked.items.get('lif');
    assert.ok(scope && scope.kind === 'model');
    const out = exportNir(c, 'lif', { params: initialParams(scope, 0), dt: 1e-3 });
    const types = Object.fromEntries([...out.graph.nodes].map(([k, v]) => [k, v.type]));
    assert.deepEqual(types, { x: 'Input', u: 'LIF', W_rec: 'Linear', W_in: 'Linear', y: 'Output', W_out: 'Linear' });
    const lif = out.graph.nodes.get('u')!;
    // α = exp(−1/20) at dt = 1 ms: τ = 20 ms; the gain 1 = (1 − α)·R.
    assert.ok(Math.abs(param(lif, 'tau').data[0]! - 0.02) < 1e-12);
    assert.ok(Math.abs(param(lif, 'r').data[0]! * (1 - Math.exp(-1 / 20)) - 1) < 1e-12);
    assert.equal(param(lif, 'v_threshold').data[0], 1);
    assert.equal(out.warnings.length, 1);
    assert.match(out.warnings[0]!.message, /reset by subtraction/);
    assert.deepEqual(new Set(out.graph.edges.map((e) => e.join('→'))), new Set(['x→W_in', 'W_in→u', 'u→W_rec', 'W_rec→u', 'u→W_out', 'W_out→y']));
  });

  it("exports a training checkpoint's parameters (--checkpoint), and refuses one of another model", () => {
    const c = compile(readFileSync('examples/lif.eligo', 'utf8'));
    const scope = c.checked.items.get('lif');
    assert.ok(scope && scope.kind === 'model');
    const init = initialParams(scope, 0);
    const trained = [...init].map(([name, t]) => ({ name, shape: t.shape, data: Float32Array.from(t.data, (x, i) => x + 0.001 * (i % 7)) }));
    const ck = join(tmp, 'ck');
    saveCheckpoint(
      ck,
      { model: 'lif', rule: 'eprop', task: 'correlated', seed: 0, batch: 8, step: 3, total: 3, optimizer: { kind: 'adam', learningRate: 0.005 }, metrics: {} },
      trained,
      [],
    );
    const res = exportBridge(c, { format: 'nir', model: 'lif', outName: 'lif.nir', dt: 1e-3, checkpoint: ck });
    assert.match(res.lines[0]!, /parameters from .*ck$/);
    const ckOther = join(tmp, 'ck-other');
    saveCheckpoint(
      ckOther,
      { model: 'alif', rule: 'eprop', task: 'correlated', seed: 0, batch: 8, step: 3, total: 3, optimizer: { kind: 'adam', learningRate: 0.005 }, metrics: {} },
      trained,
      [],
    );
    assert.throws(
      () => exportBridge(c, { format: 'nir', model: 'lif', outName: 'lif.nir', checkpoint: ckOther }),
      /checkpoint in .* is of model 'alif', not 'lif'/,
    );
    const params = exportParams(c, 'lif', ck);
    const rec = trained.find((t) => t.name === 'W_rec')!;
    assert.deepEqual(Array.from(params.get('W_rec')!.data), Array.from(rec.data));
    const out = exportNir(c, 'lif', { params, dt: 1e-3 });
    const w = out.graph.nodes.get('W_rec')!;
    assert.deepEqual(Array.from(param(w, 'weight').data), Array.from(rec.data));
  });

  it('a model that does not map gets a located message per equation (ALIF: refractoriness, adaptation)', () => {
    const text = readFileSync('examples/alif.eligo', 'utf8');
    const c = compile(text);
    const scope = c.checked.items.get('alif');
    assert.ok(scope && scope.kind === 'model');
    const lineOf = (prefix: string): number => text.split('\n').findIndex((l) => l.trimStart().startsWith(prefix)) + 1;
    assert.throws(
      () => exportNir(c, 'alif', { params: initialParams(scope, 0) }),
      (e: unknown) => {
        assert.ok(e instanceof ExportError);
        const msgs = e.problems.map((p) => `${c.lines.positionAt(p.range.start).line + 1}: ${p.message}`);
        // One message per equation, on that equation's line: the spike gated by the refractory counter (min(r, 1))
        // and the counter itself do not map; the membrane, the adaptation and the readout filter read those spikes.
        assert.deepEqual(msgs, [
          `${lineOf('v[t+1]')}: v[t+1]: reads z, whose update does not map to a NIR node`,
          `${lineOf('a[t+1]')}: a[t+1]: reads z, whose update does not map to a NIR node (NIR has no adaptive threshold, as in ALIF)`,
          `${lineOf('z[t+1]')}: z[t+1]: min(…) of a varying quantity does not match a NIR node`,
          `${lineOf('r[t+1]')}: r[t+1]: min(…) of a varying quantity does not match a NIR node`,
          `${lineOf('zbar[t+1]')}: zbar[t+1]: reads z, whose update does not map to a NIR node`,
        ]);
        assert.ok(e.problems.every((p) => p.range.end > p.range.start));
        return true;
      },
    );
  });

  it('param data: paths stay inside the model folder, untrusted workspaces read nothing, shapes are checked', async () => {
    assert.match(dataPathProblem('/etc/passwd', tmp)!, /absolute path/);
    assert.match(dataPathProblem('../x.h5', tmp)!, /leaves/);
    assert.match(dataPathProblem('a/../../x.h5', tmp)!, /leaves/);
    assert.equal(dataPathProblem('sub/w.h5', tmp), undefined);
    await writeParamData(
      join(tmp, 'w.h5'),
      new Map([
        ['W', { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }],
        ['b', { shape: [3], data: [1, 2, 3] }],
      ]),
    );
    const text =
      'model m {\n  input x: [3]\n  param W: [2, 3] = data("w.h5")\n  param V: [2, 3] = data("w.h5", "b")\n  state u: [2] = 0\n  u[t+1] = W @ x[t+1] + V @ x[t+1]\n  loss = sum(u[t+1])\n}\n';
    const untrusted = compile(text);
    const p0 = await loadParamData(untrusted, { baseDir: tmp, trusted: false });
    assert.deepEqual(
      p0.map((p) => p.code),
      ['data.untrusted', 'data.untrusted'],
    );
    const c = compile(text);
    const problems = await loadParamData(c, { baseDir: tmp, trusted: true });
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.code, 'data.shape');
    assert.match(problems[0]!.message, /w.h5\/b has shape \[3\] but param 'V' has shape \[2, 3\]/);
    assert.equal(text.slice(problems[0]!.range.start, problems[0]!.range.end), 'data("w.h5", "b")');
    const scope = c.checked.items.get('m');
    assert.ok(scope && scope.kind === 'model');
    const init = scope.initialisers.get('W');
    assert.ok(init && init.kind === 'data');
    assert.deepEqual(Array.from(init.values!), [1, 2, 3, 4, 5, 6]);
  });
});

describe('eligo import nir / export nir (CLI)', function () {
  this.timeout(120000);
  const eligo = (...args: string[]): { code: number; out: string; err: string } => {
    const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8' });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  const dir = mkdtempSync(join(tmpdir(), 'eligo-nir-cli-'));
  const nirFile = join(dir, 'rnn.nir');
  before(() => {
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    writeReference(nirFile);
  });

  it('imports with --check, refuses to overwrite without --force, exports back', () => {
    const out = join(dir, 'rnn.eligo');
    const r = eligo('import', 'nir', nirFile, '--out', out, '--dt', '0.001', '--check', '--steps', '50');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /check: 50 steps of random input .* largest difference 0\.000e\+0|largest difference \d\.\d{3}e-1\d/);
    assert.ok(existsSync(join(dir, 'rnn.params.h5')));
    const before = readFileSync(out, 'utf8');
    const again = eligo('import', 'nir', nirFile, '--out', out, '--dt', '0.002');
    assert.equal(again.code, 2);
    assert.match(again.err, /exists; pass --force/);
    assert.equal(readFileSync(out, 'utf8'), before);
    const ex = eligo('export', 'nir', out, '--out', join(dir, 'back.nir'));
    assert.equal(ex.code, 0, ex.err);
    assert.match(ex.out, /lif1\.lif \(CubaLIF\) ← i_lif1_lif\[t\+1\], v_lif1_lif\[t\+1\], z_lif1_lif\[t\+1\] at dt = 0\.001/);
  });

  it('the imported model trains (its weights read from the data file), and a missing data file is a located error', () => {
    const out = join(dir, 'rnn.eligo');
    const r = eligo('train', out, '--task', 'pattern:T=20', '--steps', '3', '--batch', '4', '--json', '--no-alignment');
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out) as { model: string; final: { loss: number } };
    assert.equal(res.model, 'rnn');
    assert.ok(Number.isFinite(res.final.loss) && res.final.loss > 0);
    const moved = join(dir, 'moved.eligo');
    writeFileSync(moved, readFileSync(out, 'utf8').replaceAll('"rnn.params.h5"', '"gone.params.h5"'));
    const m = eligo('train', moved, '--task', 'pattern:T=20', '--steps', '1');
    assert.equal(m.code, 1);
    assert.match(m.err, /moved\.eligo:\d+:\d+: error: no data file 'gone\.params\.h5' next to the model .* \[data\.missing\]/);
  });

  const bad: [string, string, RegExp][] = [
    ['not HDF5', "open(sys.argv[1], 'w').write('hello')", /not an HDF5 file/],
    [
      'a wrong version',
      "f = h5py.File(sys.argv[1], 'w'); f.create_dataset('version', data='7.1', dtype=h5py.string_dtype()); g = f.create_group('node'); g.create_dataset('type', data='NIRGraph', dtype=h5py.string_dtype()); g.create_group('nodes')",
      /NIR version '7\.1'/,
    ],
    [
      'a node without a parameter',
      "f = h5py.File(sys.argv[1], 'w'); f.create_dataset('version', data='1.0.7', dtype=h5py.string_dtype()); g = f.create_group('node'); g.create_dataset('type', data='NIRGraph', dtype=h5py.string_dtype()); n = g.create_group('nodes').create_group('lif'); n.create_dataset('type', data='LIF', dtype=h5py.string_dtype()); n.create_dataset('r', data=np.ones(3))",
      /node\/nodes\/lif: missing dataset 'tau'/,
    ],
    [
      'a mis-shaped bias',
      "f = h5py.File(sys.argv[1], 'w'); f.create_dataset('version', data='1.0.7', dtype=h5py.string_dtype()); g = f.create_group('node'); g.create_dataset('type', data='NIRGraph', dtype=h5py.string_dtype()); n = g.create_group('nodes').create_group('fc'); n.create_dataset('type', data='Affine', dtype=h5py.string_dtype()); n.create_dataset('weight', data=np.ones((3, 2), np.float32)); n.create_dataset('bias', data=np.ones(2, np.float32))",
      /node\/nodes\/fc\/bias: shape \[2\] does not match weight \[3, 2\]/,
    ],
    [
      'an edge to an unknown node',
      "f = h5py.File(sys.argv[1], 'w'); f.create_dataset('version', data='1.0.7', dtype=h5py.string_dtype()); g = f.create_group('node'); g.create_dataset('type', data='NIRGraph', dtype=h5py.string_dtype()); n = g.create_group('nodes').create_group('input'); n.create_dataset('type', data='Input', dtype=h5py.string_dtype()); n.create_dataset('shape', data=np.array([2])); g.create_dataset('edges', data=[('input', 'ghost')])",
      /edge 0 \('input' → 'ghost'\) names 'ghost'/,
    ],
    [
      'a convolution',
      "f = h5py.File(sys.argv[1], 'w'); f.create_dataset('version', data='1.0.7', dtype=h5py.string_dtype()); g = f.create_group('node'); g.create_dataset('type', data='NIRGraph', dtype=h5py.string_dtype()); nodes = g.create_group('nodes'); n = nodes.create_group('input'); n.create_dataset('type', data='Input', dtype=h5py.string_dtype()); n.create_dataset('shape', data=np.array([2])); c = nodes.create_group('conv'); c.create_dataset('type', data='Conv2d', dtype=h5py.string_dtype()); g.create_dataset('edges', data=[('input', 'conv')])",
      /node 'conv' is a Conv2d/,
    ],
  ];
  for (const [what, code, message] of bad) {
    it(`a NIR file with ${what}: one line naming it, exit 2, nothing written`, () => {
      const f = join(dir, `bad-${what.replace(/\W+/g, '-')}.nir`);
      python(`import h5py, numpy as np, sys\n${code}`, f);
      const sub = mkdtempSync(join(dir, 'out-'));
      const r = eligo('import', 'nir', f, '--out', join(sub, 'm.eligo'));
      assert.equal(r.code, 2, r.out + r.err);
      assert.match(r.err, message);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.deepEqual(readdirSync(sub), []);
    });
  }

  it('a truncated NIR file: one line saying it is damaged, exit 2, nothing written', () => {
    const f = join(dir, 'truncated.nir');
    writeFileSync(f, readFileSync(nirFile).subarray(0, 3000));
    const sub = mkdtempSync(join(dir, 'out-'));
    const r = eligo('import', 'nir', f, '--out', join(sub, 'm.eligo'));
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /truncated\.nir: HDF5 cannot read it: the file is damaged or truncated/);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.deepEqual(readdirSync(sub), []);
  });

  it('a file that is not NIR at all leaves no temporary files behind', () => {
    const f = join(dir, 'plain.txt');
    writeFileSync(f, 'not a graph');
    const r = eligo('import', 'nir', f, '--out', join(dir, 'plain.eligo'));
    assert.equal(r.code, 2);
    assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp') || n === 'plain.eligo'));
  });
});
