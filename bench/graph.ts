// The graph view: layout (engine numbers + ELK + view model, cold cache) and
// first paint in Chromium, for generated functions of about 100, 500 and
// 1,000 vertices shown expanded, and the collapsed view (one node per `let`)
// of one of about 5,000 vertices. Writes bench/results/graph.json.

import { existsSync } from 'node:fs';
import { compile, findItem, graphOf } from '../language-server/src/compile.js';
import { formatBytes, table } from '../language-server/src/cli/common.js';
import { clearLayoutCache, disposeLayoutWorker, graphView } from '../language-server/src/layout/index.js';
import type { GraphViewModel } from '../language-server/src/layout/viewmodel.js';
import { CHROMIUM, launchBrowser, openWebview, readBundle } from '../test/helpers/browser.js';
import { ms, writeResult } from './util.js';

/**
 * A function of `lets` equations, each `sin(x·y) + z / (1 + exp(x))`: six
 * vertices per `let`, reading the two previous results and one a few lets
 * back, and every tenth reading the input `c` again — local structure with
 * some long edges, as in the AD benchmark functions (RoeFlux's inputs feed
 * everything), not a random graph whose edges span the whole picture.
 */
export function generatedFunction(lets: number, name = 'gen'): string {
  const lines = [`function ${name}(a, b, c) {`];
  for (let i = 0; i < lets; i++) {
    const x = i === 0 ? 'a' : `v${i - 1}`;
    const y = i < 2 ? 'b' : `v${i - 2}`;
    const back = i - 3 - ((i * 7) % 6);
    const z = i % 10 === 0 || back < 0 ? 'c' : `v${back}`;
    lines.push(`  let v${i} = sin(${x} * ${y}) + ${z} / (1 + exp(${x}))`);
  }
  lines.push(`  return v${lets - 1}, v${Math.floor(lets / 2)}`, '}');
  return lines.join('\n');
}

interface Row {
  readonly vertices: number;
  readonly edges: number;
  readonly view: 'expanded' | 'collapsed';
  readonly nodes: number;
  readonly drawnEdges: number;
  readonly edgeLabels: boolean;
  /** graphView end to end: engine numbers (edge sparsity, three traced orders), ELK, view model. */
  readonly viewMs: number;
  /** Of which ELK and the view model (layoutGraph). */
  readonly layoutMs: number;
  /** From posting the view model into the webview to the frame after it is drawn. */
  readonly firstPaintMs?: number;
  readonly renderer?: string;
  readonly viewModelBytes: number;
}

/** Posts `vm` into the page and waits for the frame after the first node is drawn. */
async function firstPaint(page: import('playwright-core').Page, vm: GraphViewModel): Promise<{ ms: number; renderer: string }> {
  return page.evaluate(
    async (model) => {
      const app = document.getElementById('app')!;
      const t0 = performance.now();
      window.postMessage({ type: 'show', model }, '*');
      await new Promise<void>((resolve) => {
        const done = (): boolean => app.dataset.renderer !== undefined && app.dataset.renderer !== '' && document.querySelector('.pane') !== null;
        if (done()) return resolve();
        const obs = new MutationObserver(() => {
          if (done()) {
            obs.disconnect();
            resolve();
          }
        });
        obs.observe(app, { childList: true, subtree: true, attributes: true });
      });
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return { ms: performance.now() - t0, renderer: app.dataset.renderer ?? '' };
    },
    vm as unknown as object,
  );
}

export async function benchGraph(): Promise<unknown> {
  const cases: { lets: number; view: 'expanded' | 'collapsed' }[] = [
    { lets: 17, view: 'expanded' },
    { lets: 83, view: 'expanded' },
    { lets: 166, view: 'expanded' },
    { lets: 833, view: 'collapsed' },
  ];
  const chromium = existsSync(CHROMIUM) && existsSync('dist/webview.js');
  const browser = chromium ? await launchBrowser() : undefined;
  const rows: Row[] = [];
  try {
    // Warm up the ELK worker and the JIT on a small graph first: a user's first layout pays this once.
    await graphView(compile(generatedFunction(10)), { item: 'gen' });
    for (const k of cases) {
      const c = compile(generatedFunction(k.lets));
      const g = graphOf(c, findItem(c, 'gen'));
      clearLayoutCache();
      const t0 = performance.now();
      const vm = await graphView(c, { item: 'gen', collapse: k.view === 'expanded' ? 'none' : 'all' }, { layout: { timeoutMs: 600_000 } });
      const viewMs = performance.now() - t0;
      let paint: { ms: number; renderer: string } | undefined;
      if (browser) {
        const w = await openWebview(browser, readBundle());
        await w.page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
        paint = await firstPaint(w.page, vm);
        await w.page.close();
      }
      rows.push({
        vertices: g.vertices.length,
        edges: g.vertices.reduce((a, v) => a + v.inputs.length, 0),
        view: k.view,
        nodes: vm.nodes.length,
        drawnEdges: vm.edges.length,
        edgeLabels: vm.edges.some((e) => e.label !== undefined),
        viewMs: Math.round(viewMs),
        layoutMs: vm.layoutMs,
        ...(paint ? { firstPaintMs: Math.round(paint.ms), renderer: paint.renderer } : {}),
        viewModelBytes: JSON.stringify(vm).length,
      });
    }
  } finally {
    await browser?.close();
    await disposeLayoutWorker();
  }
  console.log('\nGraph view: layout (cold cache) and first paint in Chromium, generated functions');
  console.log(
    table(
      ['vertices', 'edges', 'view', 'nodes', 'view (ms)', 'ELK + model (ms)', 'first paint (ms)', 'renderer', 'view model'],
      rows.map((r) => [
        r.vertices,
        r.edges,
        r.view,
        r.nodes,
        ms(r.viewMs),
        ms(r.layoutMs),
        r.firstPaintMs !== undefined ? ms(r.firstPaintMs) : '—',
        r.renderer ?? '—',
        formatBytes(r.viewModelBytes),
      ]),
    ),
  );
  if (!browser) console.log('(no Chromium at /usr/bin/chromium or no dist/webview.js: first paint not measured)');
  const path = writeResult('graph', {
    description:
      'graphView (engine sparsity + forward/reverse/Markowitz traces + ELK layered layout + view model), cold layout cache; first paint = postMessage of the view model to the second animation frame after the first pane is drawn, headless Chromium',
    rows,
  });
  console.log(`wrote ${path}`);
  return rows;
}
