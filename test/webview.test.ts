// The graph view in a real browser: the webview bundle (dist/webview.js, built
// here with esbuild.mjs) in Debian's Chromium under the webview's strict CSP,
// with a stand-in acquireVsCodeApi that records what the webview posts. The
// test plays the VS Code host. Screenshots go to test-artifacts/.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { compile, findItem, graphOf, unrolled, type Compiled } from '../language-server/src/compile.js';
import { costOf } from '../language-server/src/ad/costs.js';
import { namedOrder, type OrderName } from '../language-server/src/ad/orders.js';
import type { Graph } from '../language-server/src/graph/types.js';
import { disposeLayoutWorker, graphView } from '../language-server/src/layout/index.js';
import type { GraphViewBundle, GraphViewModel } from '../language-server/src/layout/viewmodel.js';
import type { GraphHostMessage } from '../language-server/src/protocol.js';
import { main as cli } from '../language-server/src/cli.js';
import { generatedFunction } from '../bench/graph.js';
import { CHROMIUM, LIF, launchBrowser, openFile, openWebview, readBundle, waitForChromium, type WebviewPage } from './helpers/browser.js';

const ARTIFACTS = 'test-artifacts';

interface Drawn {
  nodes: { id: string; vertex: number | null; x: number; y: number; w: number; h: number; label: string }[];
  edges: number;
  labels: { text: string; box: number; text_w: number; offset: number }[];
  renderer: string;
}

/** What the SVG renderer put on screen in pane `pane`, read from the DOM. */
function drawn(page: Page, pane = 'a'): Promise<Drawn> {
  return page.evaluate((p) => {
    const root = document.querySelector(`.pane-${p} svg.graph`)!;
    const nodes = [...root.querySelectorAll<SVGGElement>('.nodes > .node')].map((g) => {
      const m = /translate\(([-\d.e]+),([-\d.e]+)\)/.exec(g.getAttribute('transform') ?? '')!;
      const box = g.querySelector<SVGRectElement>('rect.box')!;
      return {
        id: g.dataset.id!,
        vertex: g.dataset.vertex !== undefined ? Number(g.dataset.vertex) : null,
        x: Number(m[1]) + box.x.baseVal.value,
        y: Number(m[2]) + box.y.baseVal.value,
        w: box.width.baseVal.value,
        h: box.height.baseVal.value,
        label: g.querySelector('.label')?.textContent ?? '',
      };
    });
    const labels = [...root.querySelectorAll<SVGGElement>('.labels > .elabel')].map((l) => {
      const t = l.querySelector<SVGTextElement>('text')!;
      const r = l.querySelector<SVGRectElement>('rect')!;
      return {
        text: t.textContent ?? '',
        box: r.width.baseVal.value,
        text_w: t.getComputedTextLength(),
        offset: t.x.baseVal.getItem(0).value - r.x.baseVal.value,
      };
    });
    return { nodes, edges: root.querySelectorAll('.edges > path.edge').length, labels, renderer: document.getElementById('app')!.dataset.renderer ?? '' };
  }, pane);
}

/** Clicks "step" through a whole order inside the page; returns the counter after every step. */
function playOrder(
  page: Page,
  order: string,
): Promise<{ start: { m: number; mem: number }; steps: { m: number; mem: number; text: string; vertex: number }[] }> {
  return page.evaluate((id) => {
    const select = document.querySelector<HTMLElement & { value: string }>('#order-a')!;
    select.value = id;
    select.dispatchEvent(new Event('change'));
    const read = (): { m: number; mem: number } => {
      const c = document.querySelector<HTMLElement>('.counter[data-pane="a"]')!;
      return { m: Number(c.querySelector<HTMLElement>('.mults')!.dataset.value), mem: Number(c.querySelector<HTMLElement>('.mem')!.dataset.value) };
    };
    document.querySelector<HTMLElement>('#step-reset')!.click();
    const start = read();
    const max = Number(document.querySelector<HTMLInputElement>('#step-slider')!.max);
    const steps: { m: number; mem: number; text: string; vertex: number }[] = [];
    for (let k = 0; k < max; k++) {
      document.querySelector<HTMLElement>('#step-next')!.click();
      const t = document.querySelector<HTMLElement>('#step-text')!;
      steps.push({ ...read(), text: t.textContent ?? '', vertex: Number(t.dataset.vertex) });
    }
    return { start, steps };
  }, order);
}

function edgeCount(g: Graph): number {
  return g.vertices.reduce((a, v) => a + v.inputs.length, 0);
}

function overlapping(nodes: Drawn['nodes']): string | undefined {
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const [a, b] = [nodes[i]!, nodes[j]!];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) return `${a.id} '${a.label}' overlaps ${b.id} '${b.label}'`;
    }
  }
  return undefined;
}

describe('graph view in Chromium', function () {
  this.timeout(180_000);
  let browser: Browser;
  let bundle: string;

  before(async function () {
    this.timeout(600_000);
    execFileSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
    if (!(await waitForChromium())) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
    browser = await launchBrowser();
    bundle = readBundle();
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await disposeLayoutWorker();
  });

  /** Opens the webview, checks the handshake, shows `vm`. */
  async function show(vm: GraphViewModel, opts: Parameters<typeof openWebview>[2] = {}): Promise<WebviewPage> {
    const w = await openWebview(browser, bundle, opts);
    await w.page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
    const before = await w.posted();
    assert.equal(before[0]!.type, 'ready', 'the webview says ready first');
    assert.equal(await w.page.locator('.node').count(), 0, 'nothing is drawn before the host answers');
    await w.send({ type: 'show', model: vm });
    await w.page.waitForSelector('.pane-a .node, .pane-a canvas');
    return w;
  }

  /** Everything the issue asks of one view: counts, overlaps, labels, stepper = engine, click → reveal. */
  async function checkView(c: Compiled, graph: Graph, vm: GraphViewModel, name: string): Promise<void> {
    const w = await show(vm);
    const { page } = w;
    try {
      const d = await drawn(page);
      assert.equal(d.renderer, 'svg');
      assert.equal(d.nodes.length, graph.vertices.length, 'one vertex box per vertex');
      assert.deepEqual(
        d.nodes.map((n) => n.vertex).sort((a, b) => a! - b!),
        graph.vertices.map((v) => v.id),
        'every vertex drawn once',
      );
      assert.equal(d.edges, edgeCount(graph), 'one edge per operand');
      const bad = overlapping(d.nodes);
      assert.equal(bad, undefined, bad);
      for (const n of d.nodes) assert.ok(n.label.trim().length > 0, `${n.id} has a label`);
      assert.equal(d.labels.length, vm.edges.filter((e) => e.label).length, 'every edge label is drawn');
      if (edgeCount(graph) <= 600) assert.ok(d.labels.length >= vm.edges.filter((e) => e.glyph !== 'data').length, 'every Jacobian edge is labelled');
      for (const l of d.labels) {
        assert.ok(l.text.length > 0);
        assert.ok(l.offset + l.text_w <= l.box + 0.5, `label '${l.text}' (${l.text_w.toFixed(1)} px from ${l.offset}) overflows its ${l.box} px box`);
      }
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

      // The stepper's counter is the engine's cumulative count after every step.
      for (const id of ['forward', 'reverse', 'markowitz'] as OrderName[]) {
        const order = namedOrder(graph, id);
        const cost = costOf(graph, order);
        const run = await playOrder(page, id);
        assert.deepEqual(run.start, { m: 0, mem: cost.initialMemoryBytes }, `${id}: counter before the first step`);
        assert.equal(run.steps.length, order.length);
        let sum = 0;
        cost.perVertex.forEach((pv, k) => {
          sum += pv.multiplications;
          assert.equal(run.steps[k]!.m, sum, `${id}, step ${k + 1}: multiplications`);
          assert.equal(run.steps[k]!.mem, pv.liveBytes, `${id}, step ${k + 1}: memory`);
          // The vertex the engine eliminated, named by its label (issue 12: no internal ids in the text).
          assert.equal(run.steps[k]!.vertex, pv.vertex);
          const node = vm.nodes.find((n) => n.vertex === pv.vertex || n.members?.includes(pv.vertex))!;
          assert.equal(
            run.steps[k]!.text,
            `Step ${k + 1} / ${order.length} · eliminated ${node.vertex !== undefined ? node.label : `a vertex of ${node.label}`}`,
          );
        });
        assert.equal(sum, cost.multiplications);
      }
      // Half way through Markowitz: eliminated vertices fade, fill-in is drawn.
      await page.evaluate(() => {
        document.querySelector<HTMLElement>('#step-reset')!.click();
        const max = Number(document.querySelector<HTMLInputElement>('#step-slider')!.max);
        for (let k = 0; k < Math.ceil(max / 2); k++) document.querySelector<HTMLElement>('#step-next')!.click();
      });
      const faded = await page.locator('.pane-a .node.eliminated').count();
      assert.equal(faded, Math.ceil(namedOrder(graph, 'markowitz').length / 2) - 1, 'eliminated vertices fade (the last one is marked current)');
      await page.screenshot({ path: join(ARTIFACTS, `${name}-markowitz-half.png`) });
      await page.evaluate(() => document.querySelector<HTMLElement>('#step-reset')!.click());

      // A click on a vertex posts a reveal of its source range.
      const v = graph.vertices.find((x) => x.role === 'op' && x.inputs.length > 0) ?? graph.vertices[0]!;
      await w.send({ type: 'select', vertices: [v.id], reveal: true });
      assert.deepEqual(await page.$$eval('.pane-a .node.selected', (els) => els.map((e) => Number((e as HTMLElement).dataset.vertex))), [v.id]);
      await page.locator(`.pane-a .node[data-vertex="${v.id}"]`).click();
      const posted = await w.posted();
      const reveal = posted.filter((m) => m.type === 'reveal').pop();
      assert.deepEqual(reveal, { type: 'reveal', range: c.lines.rangeToLsp(v.range) });
      assert.deepEqual(w.problems, [], 'no console errors and no CSP violations');
    } finally {
      await page.close();
    }
  }

  describe('every example', () => {
    const files = readdirSync('examples')
      .filter((f) => f.endsWith('.eligo'))
      .sort();
    it('there are examples to show', () => assert.ok(files.length > 0));
    for (const f of files) {
      const text = readFileSync(join('examples', f), 'utf8');
      const c = compile(text);
      for (const item of c.items.filter((i) => (i.kind === 'function' || i.kind === 'model' || i.kind === 'grad') && !i.hasErrors)) {
        it(`${f}: ${item.name} — every vertex and edge drawn, no overlaps, labels, stepper = engine, click reveals`, async () => {
          const graph = graphOf(c, findItem(c, item.name));
          const vm = await graphView(c, { item: item.name, collapse: 'none' });
          await checkView(c, graph, vm, `${f.replace('.eligo', '')}-${item.name}`);
        });
      }
    }
  });

  describe('a LIF model given as text', () => {
    const c = compile(LIF);
    const graph = graphOf(c, findItem(c, 'lif'));
    let vm: GraphViewModel;
    before(async () => {
      vm = await graphView(c, { item: 'lif' });
    });

    it('draws it like the examples', async () => {
      await checkView(c, graph, vm, 'lif-inline');
    });

    it('highlights the vertices under the editor cursor', async () => {
      const w = await show(vm);
      const offset = LIF.indexOf('W_rec @ z') + 2;
      await w.send({ type: 'select', position: c.lines.positionAt(offset) });
      const selected = await w.page.$$eval('.pane-a .node.selected', (els) => els.map((e) => Number((e as HTMLElement).dataset.vertex)));
      const expected = graph.vertices.filter((v) => v.range.start <= offset && offset <= v.range.end);
      const min = Math.min(...expected.map((v) => v.range.end - v.range.start));
      assert.deepEqual(
        selected,
        expected.filter((v) => v.range.end - v.range.start === min).map((v) => v.id),
      );
      assert.equal(graph.vertices[selected[0]!]!.op, 'matmul');
      await w.page.close();
    });

    it('finds a vertex by name and jumps to it', async () => {
      const w = await show(vm);
      await w.page.locator('#search').click();
      await w.page.keyboard.type('W_rec');
      await w.page.keyboard.press('Enter');
      const sel = await w.page.$$eval('.pane-a .node.selected', (els) => els.map((e) => e.querySelector('.label')!.textContent));
      assert.deepEqual(sel, ['W_rec']);
      await w.page.close();
    });

    it('shows the Jacobian of an edge on hover', async () => {
      const w = await show(vm);
      const e = vm.edges.find((x) => x.jacobian === '∂(α·u)/∂u = α·I')!;
      const hit = w.page.locator(`.pane-a path.edge-hit[data-edge="${e.id}"]`);
      const p = e.points[Math.floor(e.points.length / 2)]!;
      const box = (await w.page.locator('.pane-a svg.graph').boundingBox())!;
      const t = await w.page.evaluate(() => {
        const g = document.querySelector('.pane-a .viewport')!.getAttribute('transform')!;
        return g;
      });
      const m = /translate\(([-\d.e]+),([-\d.e]+)\) scale\(([-\d.e]+)\)/.exec(t)!;
      const [tx, ty, k] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const q = e.points[Math.max(0, e.points.length - 2)]!;
      await w.page.mouse.move(box.x + tx + ((p.x + q.x) / 2) * k, box.y + ty + ((p.y + q.y) / 2) * k);
      await w.page.waitForSelector('.tooltip:not([hidden])');
      const tip = await w.page.locator('.tooltip').innerText();
      assert.ok(tip.includes('∂(α·u)/∂u = α·I'), tip);
      assert.ok(/identity/.test(tip), tip);
      assert.ok((await hit.count()) === 1);
      await w.page.close();
    });

    it('compares two orders side by side, each counter equal to the engine', async () => {
      const w = await show(vm);
      await w.page.locator('#compare').click();
      await w.page.waitForSelector('.pane-b .node');
      assert.equal(await w.page.locator('.pane').count(), 2);
      for (let k = 0; k < 5; k++) await w.page.locator('#step-next').click();
      const counters = await w.page.evaluate(() => window.eligo!.snapshot().counters);
      const cum = (name: OrderName): number =>
        costOf(graph, namedOrder(graph, name))
          .perVertex.slice(0, 5)
          .reduce((a, p) => a + p.multiplications, 0);
      assert.deepEqual(
        counters.map((x) => [x.order, x.multiplications]),
        [
          ['forward', cum('forward')],
          ['reverse', cum('reverse')],
        ],
      );
      assert.equal(await w.page.locator('#cost-chart svg').count(), 2);
      assert.equal(await w.page.locator('#cost-chart path.series').count(), 4, 'two orders in each chart');
      await w.page.screenshot({ path: join(ARTIFACTS, 'lif-compare.png') });
      await w.page.close();
    });

    it('draws the blocks a rule drops', async () => {
      const w = await show(vm);
      await w.page.locator('vscode-tab-header[data-tab="rules"]').click();
      await w.page.locator('.rule-block[data-rule="eprop"]').click();
      const block = vm.rules!.find((r) => r.name === 'eprop')!.blocks[0]!;
      assert.equal(await w.page.locator('.pane-a path.edge.rule-zero').count(), block.pairs.length);
      assert.equal(await w.page.locator('.pane-a .rule-mark.zero').count(), block.pairs.length);
      await w.page.screenshot({ path: join(ARTIFACTS, 'lif-rule-eprop.png') });
      await w.page.close();
    });

    it('asks for the unrolled model and draws it, one column per time step', async () => {
      const w = await show(vm);
      await w.page.evaluate(() => {
        const s = document.querySelector<HTMLElement & { value: string }>('.toolbar vscode-single-select')!;
        s.value = 'unrolled';
        s.dispatchEvent(new Event('change'));
      });
      const req = (await w.posted()).filter((m) => m.type === 'requestView').pop() as unknown as { request: { item: string; view: string; steps: number } };
      assert.deepEqual(req.request, { item: 'lif', view: 'unrolled', steps: 3 });
      const u = await graphView(c, req.request as never);
      await w.send({ type: 'show', model: u });
      await w.page.waitForFunction(() => document.querySelectorAll('.band').length === 3);
      const d = await drawn(w.page);
      assert.equal(d.nodes.length, unrolled(c, findItem(c, 'lif'), 3).graph.vertices.length);
      assert.equal(overlapping(d.nodes), undefined);
      await w.page.screenshot({ path: join(ARTIFACTS, 'lif-unrolled.png') });
      await w.page.close();
    });

    it('keeps its state across a reload (getState / setState)', async () => {
      const w = await show(vm);
      for (let k = 0; k < 4; k++) await w.page.locator('#step-next').click();
      await w.page.waitForFunction(() => (window as unknown as { __state?: { step?: number } }).__state?.step === 4);
      const state = await w.page.evaluate(() => (window as unknown as { __state: unknown }).__state);
      await w.page.close();
      const again = await show(vm, { state });
      const snap = await again.page.evaluate(() => window.eligo!.snapshot());
      assert.equal(snap.step, 4);
      const cost = costOf(graph, namedOrder(graph, 'forward'));
      assert.equal(
        snap.counters[0]!.multiplications,
        cost.perVertex.slice(0, 4).reduce((a, p) => a + p.multiplications, 0),
      );
      await again.page.close();
    });

    it('streams training curves from progress messages', async () => {
      const w = await show(vm);
      await w.send({ type: 'trainStart', uri: 'file:///lif.eligo', item: 'lif', task: 'spike-pattern', rule: 'eprop' });
      for (let s = 1; s <= 20; s++) {
        await w.send({
          type: 'progress',
          progress: { jobId: 1, kind: 'train', point: { x: s, y: { loss: 1 / s, accuracy: 1 - 1 / (s + 1), alignment: 0.8 } } },
        });
      }
      await w.page.waitForFunction(() => document.querySelectorAll('#training .chart[data-metric]').length === 3);
      const metrics = await w.page.$$eval('#training .chart[data-metric]', (els) => els.map((e) => (e as HTMLElement).dataset.metric));
      assert.deepEqual(metrics, ['loss', 'accuracy', 'alignment']);
      await w.page.locator('vscode-tab-header[data-tab="training"]').click();
      await w.page.screenshot({ path: join(ARTIFACTS, 'lif-training.png') });
      await w.page.close();
    });

    it('draws big graphs on a canvas, with the same vertices and click to reveal', async () => {
      const w = await show(vm, { init: 'window.ELIGO_CANVAS_THRESHOLD = 10;' });
      await w.page.waitForTimeout(100);
      const snap = await w.page.evaluate(() => window.eligo!.snapshot());
      assert.equal(snap.renderer[0]!.kind, 'canvas');
      assert.equal(snap.renderer[0]!.nodes, graph.vertices.length);
      assert.equal(snap.renderer[0]!.edges, edgeCount(graph));
      const node = vm.nodes.find((n) => n.role === 'loss')!;
      await w.send({ type: 'select', vertices: [node.vertex], reveal: true });
      const box = (await w.page.locator('.pane-a canvas').boundingBox())!;
      const tr = (await w.page.evaluate(() => window.eligo!.snapshot())).transform!;
      await w.page.mouse.click(box.x + tr.x + (node.x + node.w / 2) * tr.k, box.y + tr.y + (node.y + node.h / 2) * tr.k);
      const reveal = (await w.posted()).filter((x) => x.type === 'reveal').pop();
      assert.deepEqual(reveal, { type: 'reveal', range: node.range });
      await w.page.screenshot({ path: join(ARTIFACTS, 'lif-canvas.png') });
      await w.page.close();
    });

    it('follows the VS Code theme through its CSS variables', async () => {
      const w = await show(vm);
      // What VS Code does: the theme's colours as variables on <html>.
      await w.page.evaluate(() => {
        document.documentElement.style.setProperty('--vscode-editor-background', 'rgb(30, 30, 30)');
        document.documentElement.style.setProperty('--vscode-editor-foreground', 'rgb(212, 212, 212)');
      });
      assert.equal(await w.page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(30, 30, 30)');
      assert.equal(await w.page.evaluate(() => getComputedStyle(document.querySelector('.node .label')!).fill), 'rgb(212, 212, 212)');
      await w.page.screenshot({ path: join(ARTIFACTS, 'lif-vscode-dark.png') });
      await w.page.close();
    });
  });

  describe('collapsed views', () => {
    it('draws one node per equation and asks to expand a group on double-click', async () => {
      const c = compile(generatedFunction(40));
      const vm = await graphView(c, { item: 'gen', collapse: 'all' });
      const w = await show(vm);
      const groups = await w.page.locator('.pane-a .node.role-group').count();
      assert.equal(groups, vm.nodes.filter((n) => n.role === 'group').length);
      assert.ok(groups >= 30);
      const d = await drawn(w.page);
      assert.equal(overlapping(d.nodes), undefined);
      const g = vm.nodes.find((n) => n.role === 'group' && n.group === 'v10')!;
      await w.page.locator(`.pane-a .node[data-id="${g.id}"]`).dblclick();
      const req = (await w.posted()).filter((m) => m.type === 'requestView').pop() as unknown as { request: unknown };
      assert.deepEqual(req.request, { item: 'gen', collapse: 'all', expand: ['v10'], collapseGroups: [] });
      await w.page.screenshot({ path: join(ARTIFACTS, 'generated-collapsed.png') });
      await w.page.close();
    });
  });

  describe('export', () => {
    it('eligo graph --html writes a standalone page that works offline from file://, and --svg the picture', async () => {
      const out = resolve(ARTIFACTS, 'export');
      mkdirSync(out, { recursive: true });
      const html = join(out, 'lif.html');
      const svg = join(out, 'lif.svg');
      const write = process.stdout.write.bind(process.stdout);
      let printed = '';
      process.stdout.write = (s: string) => {
        printed += s;
        return true;
      };
      let code: number;
      try {
        code = await cli(['graph', 'examples/lif.eligo', '--item', 'lif', '--html', html, '--svg', svg]);
      } finally {
        process.stdout.write = write;
      }
      assert.equal(code, 0, printed);
      assert.match(printed, /wrote .*lif\.html/);
      const text = readFileSync(html, 'utf8');
      assert.match(text, /Content-Security-Policy" content="default-src 'none'/);
      assert.doesNotMatch(text, /<script[^>]+src=/, 'the bundle is inlined');
      const { page, problems } = await openFile(browser, html);
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.waitForSelector('.pane-a .node');
      const c = compile(readFileSync('examples/lif.eligo', 'utf8'));
      const graph = graphOf(c, findItem(c, 'lif'));
      // The first view: the whole graph at a readable zoom, so collapsed by equation (expanded it is wider than the window);
      // the page holds the expanded view too.
      await page.waitForFunction(() => document.querySelectorAll('.pane-a .node.role-group').length === 3);
      await page.locator('#expand-all').click();
      await page.waitForFunction((n) => document.querySelectorAll('.pane-a .nodes > .node').length === n, graph.vertices.length);
      // Offline: the unrolled view is in the page too.
      await page.evaluate(() => {
        const s = document.querySelector<HTMLElement & { value: string }>('.toolbar vscode-single-select')!;
        s.value = 'unrolled';
        s.dispatchEvent(new Event('change'));
      });
      await page.waitForFunction(() => document.querySelectorAll('.band').length === 3);
      await page.screenshot({ path: join(ARTIFACTS, 'export-lif-unrolled.png') });
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')),
        [],
        'no remote content',
      );
      assert.deepEqual(problems, []);
      await page.close();
      const dark = await openFile(browser, html, { colorScheme: 'dark' });
      await dark.page.waitForSelector('.pane-a .node');
      assert.equal(
        await dark.page.evaluate(() => getComputedStyle(document.body).backgroundColor),
        'rgb(31, 31, 31)',
        'the standalone page follows the system dark mode',
      );
      await dark.page.screenshot({ path: join(ARTIFACTS, 'export-lif-dark.png') });
      await dark.page.close();
      const svgPage = await openFile(browser, svg);
      assert.equal(await svgPage.page.locator('g.node').count(), graph.vertices.length);
      await svgPage.page.screenshot({ path: join(ARTIFACTS, 'export-lif-svg.png') });
      await svgPage.page.close();
    });

    it('eligo train --html shows the run: learning curve, spike rasters, traces and prediction of a test sequence', async function () {
      this.timeout(120000);
      const out = resolve(ARTIFACTS, 'export');
      mkdirSync(out, { recursive: true });
      const html = join(out, 'alif-trained.html');
      const err = process.stderr.write.bind(process.stderr);
      const std = process.stdout.write.bind(process.stdout);
      let printed = '';
      process.stderr.write = (s: string) => {
        printed += s;
        return true;
      };
      process.stdout.write = (s: string) => {
        printed += s;
        return true;
      };
      let code: number;
      try {
        code = await cli([
          'train',
          'examples/alif.eligo',
          '--model',
          'alif',
          '--rule',
          'eprop',
          '--task',
          'store-recall:T=40,train=16,test=16',
          '--steps',
          '2',
          '--batch',
          '8',
          '--eval-every',
          '1',
          '--html',
          html,
        ]);
      } finally {
        process.stderr.write = err;
        process.stdout.write = std;
      }
      assert.equal(code, 0, printed);
      assert.match(printed, /wrote .*alif-trained\.html/);
      // What the page must draw, read from the data embedded in it.
      const text = readFileSync(html, 'utf8');
      const data = JSON.parse(/<script type="application\/json" id="eligo-data">([\s\S]*?)<\/script>/.exec(text)![1]!) as GraphViewBundle;
      const done = data.training!.at(-1)! as Extract<GraphHostMessage, { type: 'train' }>;
      const activity = done.job.result!.activity!;
      assert.deepEqual(
        activity.rasters.map((r) => r.name),
        ['x', 'z'],
        'the input spikes and the network spikes',
      );
      const { page, problems } = await openFile(browser, html);
      await page.waitForSelector('.pane-a .node');
      await page.locator('vscode-tab-header[data-tab="training"]').click();
      await page.waitForSelector('#activity');
      for (const r of activity.rasters) {
        const expected = r.spikes.reduce((n, t) => n + t.length, 0);
        assert.ok(expected > 0, `${r.name} spikes in the sample`);
        assert.equal(await page.locator(`#activity [data-raster="${r.name}"] rect.spike`).count(), expected, `${r.name}: one tick per spike`);
        assert.equal(await page.locator(`#activity [data-raster="${r.name}"]`).getAttribute('data-spikes'), String(expected));
      }
      const traced = [...new Set(activity.traces.map((t) => t.state))];
      assert.deepEqual(await page.$$eval('#activity [data-trace]', (els) => els.map((e) => (e as HTMLElement).dataset.trace)), [...traced, 'prediction']);
      assert.ok(traced.includes('v') && traced.includes('a'), 'membrane and adaptation traces of ALIF');
      // The learning curve: one point per evaluation, as the run recorded them.
      assert.ok((await page.locator('#training .chart[data-metric="testLoss"] path.series').count()) >= 1);
      await page.screenshot({ path: join(ARTIFACTS, 'export-alif-training.png'), fullPage: true });
      assert.deepEqual(problems, []);
      await page.close();
    });
  });
});
