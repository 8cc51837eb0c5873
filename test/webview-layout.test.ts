// The graph view's layout (language-server/src/layout/), without a browser:
// what ELK is asked for and what the view model carries.

import assert from 'node:assert/strict';
import { compile, findItem, graphOf } from '../language-server/src/compile.js';
import { costOf } from '../language-server/src/ad/costs.js';
import { namedOrder } from '../language-server/src/ad/orders.js';
import {
  clearLayoutCache,
  disposeLayoutWorker,
  graphView,
  layoutGraph,
  LayoutTooBigError,
  traceOrder,
  viewModelToSvg,
} from '../language-server/src/layout/index.js';
import { textWidth, fitText } from '../language-server/src/layout/measure.js';
import { generatedFunction } from '../bench/graph.js';
import { LIF } from './helpers/browser.js';
import type { GraphViewModel, NodeView } from '../language-server/src/layout/viewmodel.js';

function overlaps(a: NodeView, b: NodeView): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

describe('graph view layout', function () {
  this.timeout(120_000);
  after(() => disposeLayoutWorker());

  let lif: GraphViewModel;
  before(async () => {
    lif = await graphView(compile(LIF), { item: 'lif' });
  });

  it('draws one node per vertex and one edge per operand, with no two boxes overlapping', () => {
    const c = compile(LIF);
    const g = graphOf(c, findItem(c, 'lif'));
    assert.equal(lif.nodes.length, g.vertices.length);
    assert.equal(
      lif.edges.length,
      g.vertices.reduce((a, v) => a + v.inputs.length, 0),
    );
    for (let i = 0; i < lif.nodes.length; i++) {
      for (let j = i + 1; j < lif.nodes.length; j++)
        assert.ok(!overlaps(lif.nodes[i]!, lif.nodes[j]!), `${lif.nodes[i]!.label} overlaps ${lif.nodes[j]!.label}`);
    }
  });

  it('keeps operand order on the ports: a − b has a above b (FIXED_ORDER)', () => {
    for (const n of lif.nodes) {
      const ys = n.ports!.in.map((p) => p.y);
      for (let k = 1; k < ys.length; k++)
        assert.ok(ys[k - 1]! < ys[k]!, `${n.label}: operand ${k - 1} port at y=${ys[k - 1]} is not above operand ${k} at y=${ys[k]}`);
    }
    // Every edge ends at the port of its operand.
    for (const e of lif.edges) {
      const target = lif.nodes.find((n) => n.id === e.target)!;
      const end = e.points[e.points.length - 1]!;
      const port = target.ports!.in[e.operand!]!;
      assert.ok(
        Math.abs(end.y - port.y) < 0.6 && Math.abs(end.x - port.x) < 0.6,
        `${e.id} ends at (${end.x}, ${end.y}), its port is at (${port.x}, ${port.y})`,
      );
    }
  });

  it('routes edges orthogonally, left to right', () => {
    for (const e of lif.edges) {
      for (let k = 1; k < e.points.length; k++) {
        const [a, b] = [e.points[k - 1]!, e.points[k]!];
        assert.ok(Math.abs(a.x - b.x) < 0.6 || Math.abs(a.y - b.y) < 0.6, `${e.id} has a diagonal segment`);
      }
    }
  });

  it('pins inputs, states and params to the first layer and the loss to the last', () => {
    const pinned = lif.nodes.filter((n) => n.role === 'param' || n.role === 'state' || n.role === 'input');
    const loss = lif.nodes.find((n) => n.role === 'loss')!;
    const others = lif.nodes.filter((n) => !pinned.includes(n) && n !== loss);
    const firstLayerEnd = Math.max(...pinned.map((n) => n.x + n.w));
    for (const n of others) assert.ok(n.x > firstLayerEnd, `${n.label} (x=${n.x}) is not right of the first layer (ends at ${firstLayerEnd})`);
    for (const n of others) assert.ok(n.x + n.w < loss.x, `${n.label} is not left of the loss`);
  });

  it('groups vertices by equation, the outputs pinned last stay outside', () => {
    assert.deepEqual(lif.groups.map((g) => g.key).sort(), ['loss', 'u[t+1]', 'z[t+1]']);
    for (const g of lif.groups) {
      for (const n of lif.nodes.filter((m) => m.group === g.key)) {
        assert.ok(n.x >= g.x && n.y >= g.y && n.x + n.w <= g.x + g.w && n.y + n.h <= g.y + g.h, `${n.label} lies outside its group ${g.key}`);
      }
    }
    assert.equal(lif.nodes.find((n) => n.role === 'loss')!.group, undefined);
  });

  it("writes each edge Jacobian as a partial derivative, with the engine's sparsity", () => {
    const j = lif.edges.map((e) => e.jacobian);
    assert.ok(j.includes('∂(α·u)/∂u = α·I'), j.join('\n'));
    assert.ok(j.includes('∂(W_rec @ z)/∂z = W_rec'));
    assert.ok(j.includes('∂(W_rec @ z)/∂W_rec = I ⊗ zᵀ'));
    const glyph = (text: string): string => lif.edges.find((e) => e.jacobian === text)!.glyph;
    assert.equal(glyph('∂(α·u)/∂u = α·I'), 'identity');
    assert.equal(glyph('∂(W_rec @ z)/∂z = W_rec'), 'dense');
    assert.equal(glyph('∂(W_rec @ z)/∂W_rec = I ⊗ zᵀ'), 'kronecker');
    assert.ok(lif.edges.some((e) => e.glyph === 'diagonal' && /spike|sigmoid/.test(e.jacobian ?? '')));
    // Data carries no Jacobian: the input x and the constants.
    assert.equal(lif.edges.find((e) => e.jacobian?.startsWith('∂(W_in @ x[t+1])/∂x'))!.glyph, 'data');
  });

  it('sizes edge labels from the measured text', () => {
    const labelled = lif.edges.filter((e) => e.label);
    assert.ok(labelled.length >= lif.edges.filter((e) => e.glyph !== 'data').length);
    for (const e of labelled) assert.ok(e.label!.w >= textWidth(e.label!.text, 10) + 12, `${e.label!.text}: ${e.label!.w}px`);
    assert.equal(textWidth('mm', 10), 2 * textWidth('m', 10));
    assert.ok(textWidth('W', 12, true) > textWidth('i', 12, true));
    assert.ok(textWidth(fitText('a rather long expression indeed', 10, 60), 10) <= 60);
  });

  it("carries every order the engine plays, step by step, with the engine's counts", () => {
    const c = compile(LIF);
    const g = graphOf(c, findItem(c, 'lif'));
    for (const name of ['forward', 'reverse', 'markowitz'] as const) {
      const trace = lif.elimination!.orders.find((o) => o.id === name)!;
      const order = namedOrder(g, name);
      assert.deepEqual(trace.order, order);
      const cost = costOf(g, order);
      let sum = 0;
      cost.perVertex.forEach((pv, k) => {
        sum += pv.multiplications;
        assert.equal(trace.steps[k]!.vertex, pv.vertex);
        assert.equal(trace.steps[k]!.cumulativeMultiplications, sum);
        assert.equal(trace.steps[k]!.memoryBytes, pv.liveBytes);
        assert.equal(trace.steps[k]!.added.length, pv.fillIn);
      });
      assert.equal(trace.totals.multiplications, cost.multiplications);
      assert.equal(trace.totals.peakMemoryBytes, cost.peakMemoryBytes);
      assert.equal(trace.initialMemoryBytes, cost.initialMemoryBytes);
    }
  });

  it('plays a given order and refuses an invalid one', () => {
    const c = compile(LIF);
    const g = graphOf(c, findItem(c, 'lif'));
    const order = [...namedOrder(g, 'reverse')].reverse();
    const t = traceOrder(g, { id: 'given', label: 'Given', order });
    assert.equal(t.totals.multiplications, costOf(g, order).multiplications);
    assert.throws(() => traceOrder(g, { id: 'bad', label: 'Bad', order: [order[0]!, order[0]!] }), /duplicate|twice|more than once/i);
  });

  it('marks the blocks a rule drops on the edges that carry them', () => {
    const rule = lif.rules!.find((r) => r.name === 'eprop')!;
    assert.equal(rule.schedule, 'online');
    const block = rule.blocks[0]!;
    assert.equal(block.kind, 'zero');
    assert.equal(block.of, 'u[t+1]');
    const c = compile(LIF);
    const g = graphOf(c, findItem(c, 'lif'));
    const z = g.vertices.find((v) => v.name === 'z' && v.role === 'state')!.id;
    assert.ok(block.pairs.length >= 2, 'z feeds W_rec @ z and theta * z');
    for (const [a, b] of block.pairs) {
      assert.equal(a, z);
      assert.equal(g.vertices[b]!.group, 'u[t+1]');
    }
  });

  it('unrolls a model in time: one column per step', async () => {
    const vm = await graphView(compile(LIF), { item: 'lif', view: 'unrolled', steps: 3 });
    assert.equal(vm.kind, 'model-unrolled');
    assert.deepEqual(
      vm.bands!.map((b) => b.step),
      [0, 1, 2],
    );
    for (let k = 1; k < vm.bands!.length; k++) assert.ok(vm.bands![k]!.x > vm.bands![k - 1]!.x);
    assert.ok(vm.groups.some((g) => g.key === 't2:u[t+1]'));
  });

  it('collapses big graphs to one node per equation, and expands a group on request', async () => {
    const text = generatedFunction(30);
    const c = compile(text);
    const g = graphOf(c, findItem(c, 'gen'));
    const all = await graphView(c, { item: 'gen', collapse: 'all' });
    assert.ok(all.nodes.length < g.vertices.length / 3, `${all.nodes.length} nodes for ${g.vertices.length} vertices`);
    assert.ok(all.nodes.some((n) => n.role === 'group' && n.members!.length > 1));
    // Every vertex is drawn somewhere, once.
    const drawn = all.nodes.flatMap((n) => (n.vertex !== undefined ? [n.vertex] : [...n.members!]));
    assert.deepEqual(
      drawn.sort((a, b) => a - b),
      g.vertices.map((v) => v.id),
    );
    const one = await graphView(c, { item: 'gen', collapse: 'all', expand: ['v5'] });
    assert.ok(one.groups.some((gr) => gr.key === 'v5'));
    assert.equal(one.groupInfo.find((gi) => gi.key === 'v5')!.collapsed, false);
    const auto = await graphView(c, { item: 'gen' }, { layout: { collapseAbove: 100 } });
    assert.ok(auto.notes.some((n) => /collapsed/.test(n)));
  });

  it('connects inputs that feed many nodes of a big view through named connectors, every edge still drawn', async () => {
    const c = compile(generatedFunction(110));
    const g = graphOf(c, findItem(c, 'gen'));
    const vm = await graphView(c, { item: 'gen', collapse: 'none' });
    assert.equal(
      vm.edges.length,
      g.vertices.reduce((a, v) => a + v.inputs.length, 0),
    );
    const inputC = g.vertices.find((v) => v.name === 'c' && v.role === 'input')!.id;
    const connectors = (vm.literals ?? []).filter((l) => l.vertex === inputC);
    assert.ok(connectors.length > 0);
    for (const l of connectors) {
      const from = vm.edges.filter((e) => e.source === l.id);
      assert.ok(from.length >= 1 && from.every((e) => e.pairs.every(([a]) => a === inputC) && e.glyph !== 'data'));
    }
    assert.ok(vm.notes.some((n) => /connector/.test(n)));
  });

  it('caches layouts by the hash of what ELK is given', async () => {
    clearLayoutCache();
    const c = compile(LIF);
    const t0 = performance.now();
    const a = await graphView(c, { item: 'heat_flux' });
    const cold = performance.now() - t0;
    const t1 = performance.now();
    // The same graph further down in another file: new ranges, same picture.
    const b = await graphView(compile(`\n\n${LIF}`), { item: 'heat_flux' });
    const warm = performance.now() - t1;
    assert.deepEqual(
      b.nodes.map((n) => [n.x, n.y]),
      a.nodes.map((n) => [n.x, n.y]),
    );
    assert.equal(b.nodes[0]!.range.start.line, a.nodes[0]!.range.start.line + 2);
    assert.equal(a.hash, b.hash);
    assert.ok(warm < cold, `cached ${warm.toFixed(0)} ms vs ${cold.toFixed(0)} ms`);
  });

  it('is time-bounded, and says so clearly', async () => {
    clearLayoutCache();
    const c = compile(generatedFunction(80));
    await assert.rejects(graphView(c, { item: 'gen', collapse: 'none' }, { layout: { timeoutMs: 50 } }), (e: Error) => {
      assert.ok(e instanceof LayoutTooBigError);
      assert.match(e.message, /did not finish within 0\.1 s/);
      assert.match(e.message, /'gen' \(\d[\d,]* nodes, \d[\d,]* edges\)/);
      return true;
    });
    await assert.rejects(
      graphView(c, { item: 'gen', collapse: 'none' }, { layout: { maxNodes: 100 } }),
      /too big to lay out expanded \(the limit is 100 nodes\); collapse it/,
    );
    // The worker is usable again after a timeout.
    const ok = await graphView(compile(LIF), { item: 'heat_flux' });
    assert.ok(ok.nodes.length > 0);
  });

  it('exports the same picture as SVG', () => {
    const svg = viewModelToSvg(lif);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+"/);
    assert.equal((svg.match(/<g class="node /g) ?? []).length, lif.nodes.length);
    assert.equal((svg.match(/<path class="edge/g) ?? []).length, lif.edges.length);
    assert.ok(svg.includes('α·I'));
  });

  it('lays out a layered graph without the engine numbers (data edges only)', async () => {
    const c = compile(LIF);
    const g = graphOf(c, findItem(c, 'heat_flux'));
    const vm = await layoutGraph({ graph: g, text: LIF, lines: c.lines, request: { item: 'heat_flux' } });
    assert.equal(vm.nodes.length, g.vertices.length);
    assert.ok(vm.edges.every((e) => e.glyph === 'data'));
    assert.equal(vm.elimination, undefined);
  });
});
