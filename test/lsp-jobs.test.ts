// Long jobs of the language server (eligo/search, eligo/findLearningRule,
// eligo/train, eligo/runJob): worker threads, LSP work-done progress,
// cancellation within 200 ms with the best so far, time budgets, memory
// refusal — and the main loop stays free while they run.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hover } from 'vscode-languageserver-protocol';
import { compile } from '../language-server/src/compile.js';
import type { JobResult, LearningRuleResult, SearchResult } from '../language-server/src/protocol.js';
import { buildServer, CancellationTokenSource, LspClient, ROOT } from './helpers/lspClient.js';

const LIF_PATH = join(ROOT, 'examples', 'lif.eligo');
const LIF = readFileSync(LIF_PATH, 'utf8');
const uri = 'file:///jobs/lif.eligo';
const hoverParams = { textDocument: { uri }, position: { line: LIF.split('\n').findIndex((l) => l.includes('u[t+1] =')), character: 2 } };

/**
 * Runs a latency measurement up to `tries` times and returns every attempt:
 * the machine the tests run on is shared, so a bound is asserted on the
 * best attempt and every attempt is shown when it fails.
 */
async function attempts<T extends Record<string, number>>(
  tries: number,
  ok: (t: T) => boolean,
  once: () => Promise<T>,
): Promise<{ best: T | undefined; all: T[] }> {
  const all: T[] = [];
  for (let i = 0; i < tries; i++) {
    const t = await once();
    all.push(t);
    if (ok(t)) return { best: t, all };
  }
  return { best: undefined, all };
}

const fmt = (all: Record<string, number>[]): string =>
  all
    .map((t) =>
      Object.entries(t)
        .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
        .join(', '),
    )
    .join(' | ');

function progressOf(client: LspClient, jobKind: string): Promise<void> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (client.notifications.some((n) => n.method === 'eligo/jobProgress' && (n.params as { kind: string }).kind === jobKind)) {
        clearInterval(t);
        resolve();
      }
    }, 5);
  });
}

describe('language server: long jobs in worker threads', function () {
  this.timeout(60000);
  let client: LspClient;

  before(async () => {
    buildServer();
    client = await LspClient.start();
    await client.open(uri, LIF);
    await client.diagnostics(uri);
  });

  after(async () => {
    await client?.stop();
  });

  it('cancels a search within 200 ms with its best order so far, and answers the next request within 200 ms', async () => {
    const cli = JSON.parse(execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'analyze', LIF_PATH, '--json'], { encoding: 'utf8' })) as {
      items: { name: string; costs: { markowitz: { multiplications: number } } }[];
    };
    const markowitz = cli.items.find((i) => i.name === 'lif')!.costs.markowitz.multiplications;
    await client.request<Hover>('textDocument/hover', hoverParams);
    // An attempt counts when both answers came in time and the engine handed back its order (a forced
    // stop returns the best cost without the order: `partial`).
    const { best, all } = await attempts(
      3,
      (t) => t.cancel < 200 && t.next < 200 && t.partial === 0,
      async () => {
        client.notifications.length = 0;
        const src = new CancellationTokenSource();
        const job = client.request<JobResult<SearchResult>>('eligo/search', { uri, item: 'lif', budgetSeconds: 60 }, src);
        await progressOf(client, 'search');
        await new Promise((r) => setTimeout(r, 300));
        const t0 = performance.now();
        src.cancel();
        const r = await job;
        const cancel = performance.now() - t0;
        const t1 = performance.now();
        const h = await client.request<Hover>('textDocument/hover', hoverParams);
        const next = performance.now() - t1;
        assert.equal(r.status, 'cancelled');
        assert.ok(h);
        // The best so far is no worse than Markowitz (the engine's figure, via the CLI).
        assert.ok(r.result!.multiplications <= markowitz, `${r.result!.multiplications} > ${markowitz}`);
        assert.equal(r.settings.analysis.steps, 10);
        if (r.result!.partial === true) return { cancel, next, partial: 1 };
        assert.ok(r.result!.order.length > 0);
        assert.equal((r.result!.baselines as { markowitz: number }).markowitz, markowitz);
        return { cancel, next, partial: 0 };
      },
    );
    assert.ok(best, fmt(all));
  });

  it('terminates a job that ignores the cancel flag and still answers within 200 ms with the best it reported', async () => {
    const { best, all } = await attempts(
      3,
      (t) => t.cancel < 200 && t.next < 200,
      async () => {
        const src = new CancellationTokenSource();
        client.notifications.length = 0;
        const job = client.request<JobResult<{ best: number; iterations: number }>>(
          'eligo/runJob',
          { kind: 'probe', params: { seconds: 30, ignoreCancel: true } },
          src,
        );
        await progressOf(client, 'probe');
        await new Promise((r) => setTimeout(r, 100));
        const t0 = performance.now();
        src.cancel();
        const r = await job;
        const cancel = performance.now() - t0;
        assert.equal(r.status, 'cancelled');
        assert.ok(typeof r.result?.best === 'number' && r.result.iterations > 0, JSON.stringify(r));
        const t1 = performance.now();
        await client.request('textDocument/hover', hoverParams);
        return { cancel, next: performance.now() - t1 };
      },
    );
    assert.ok(best, fmt(all));
  });

  it('keeps publishing diagnostics while a job runs', async () => {
    const src = new CancellationTokenSource();
    client.notifications.length = 0;
    const job = client.request<JobResult<unknown>>('eligo/runJob', { kind: 'probe', params: { seconds: 20 } }, src);
    await progressOf(client, 'probe');
    const { best, all } = await attempts(
      3,
      (t) => t.typo < 200 && t.fixed < 200,
      async () => {
        const t: Record<string, number> = {};
        for (const [name, text] of [
          ['typo', LIF.replace('theta * z', 'thetta * z')],
          ['fixed', LIF],
        ] as const) {
          const t0 = performance.now();
          const v = await client.replace(uri, text);
          const d = await client.diagnostics(uri, v);
          t[name] = performance.now() - t0;
          assert.equal(d.diagnostics.length, text === LIF ? 0 : 1);
        }
        return t as { typo: number; fixed: number };
      },
    );
    src.cancel();
    assert.equal((await job).status, 'cancelled');
    assert.ok(best, `diagnostics during the job: ${fmt(all)}`);
  });

  it('reports LSP work-done progress under the token the client gave', async () => {
    client.notifications.length = 0;
    const r = await client.request<JobResult<SearchResult>>('eligo/search', { uri, item: 'lif', budgetSeconds: 2, workDoneToken: 'search-1' });
    const progress = client.notifications
      .filter((n) => n.method === '$/progress' && (n.params as { token: string }).token === 'search-1')
      .map((n) => (n.params as { value: { kind: string; title?: string } }).value);
    assert.equal(progress[0]!.kind, 'begin');
    assert.equal(progress[0]!.title, 'Searching elimination orders — lif');
    assert.ok(progress.some((p) => p.kind === 'report'));
    assert.equal(progress[progress.length - 1]!.kind, 'end');
    // The budget ended it: the result is the best found in 2 s, the last progress reported it.
    assert.equal(r.status, 'budget');
    assert.ok(r.elapsedMs >= 1900 && r.elapsedMs < 3000, `${r.elapsedMs} ms`);
    assert.ok(r.result!.order.length > 0);
    const points = client.notifications.filter((n) => n.method === 'eligo/jobProgress').map((n) => n.params as { best?: SearchResult });
    assert.ok(points.some((p) => p.best?.multiplications === r.result!.multiplications));
  });

  it('shows the best order a search found in the code lens of the item, and offers it in the graph view to step through', async () => {
    const lenses = await client.request<{ command: { title: string } }[]>('textDocument/codeLens', { textDocument: { uri } });
    assert.match(lenses[0]!.command.title, / · best [\d.k]+ mults · peak /);
    const g = await client.request<{ layout: { elimination?: { orders: { id: string; multiplications?: number }[] } } }>('eligo/graph', { uri, item: 'lif' });
    assert.deepEqual(
      g.layout.elimination!.orders.map((o) => o.id),
      ['forward', 'reverse', 'markowitz', 'search'],
    );
  });

  it('refuses a job on an item with errors, or on an unknown item, without starting it', async () => {
    const v = await client.replace(uri, LIF.replace('theta * z', 'thetta * z'));
    await client.diagnostics(uri, v);
    const r = await client.request<JobResult<unknown>>('eligo/search', { uri, item: 'lif' });
    assert.deepEqual([r.status, r.message], ['refused', "'lif' has errors; fix them first"]);
    const r2 = await client.request<JobResult<unknown>>('eligo/search', { uri, item: 'nope' });
    assert.equal(r2.status, 'refused');
    assert.match(r2.message!, /no item named 'nope'/);
    await client.replace(uri, LIF);
  });

  it('finds learning rules for a model: a Pareto front whose rules can be inserted into the document as they are', async () => {
    client.notifications.length = 0;
    const r = await client.request<JobResult<LearningRuleResult>>('eligo/findLearningRule', { uri, item: 'lif', budgetSeconds: 8 });
    assert.ok(r.status === 'done' || r.status === 'budget', JSON.stringify(r).slice(0, 500));
    const front = r.result!.front;
    assert.ok(front.length >= 1);
    assert.ok(client.notifications.some((n) => n.method === 'eligo/jobProgress' && (n.params as { kind: string }).kind === 'findLearningRule'));
    const names = new Set(['lif', 'eprop', 'bptt']);
    for (const f of front) {
      assert.ok(!names.has(f.name), `${f.name} is taken`);
      names.add(f.name);
      const withRule = `${LIF}\n${f.text}\n`;
      assert.deepEqual(
        compile(withRule).diagnostics.filter((d) => d.severity === 'error'),
        [],
        f.text,
      );
    }
  });

  it('answers the training request with a status, never silence', async () => {
    const src = new CancellationTokenSource();
    const t = setTimeout(() => src.cancel(), 5000);
    const r = await client.request<JobResult<unknown>>('eligo/train', { uri, item: 'lif' }, src);
    clearTimeout(t);
    assert.ok(['done', 'budget', 'cancelled', 'unavailable', 'refused'].includes(r.status), JSON.stringify(r));
    if (r.status === 'unavailable') assert.match(r.message!, /engine/);
  });

  it('refuses up front a job whose memory estimate is over the limit, and survives one that runs out', async () => {
    const small = await LspClient.start({ env: { ELIGO_JOB_MAX_MIB: '128' } });
    try {
      const r = await small.request<JobResult<unknown>>('eligo/runJob', { kind: 'probe', params: { seconds: 1, allocateMiB: 512 } });
      assert.equal(r.status, 'refused');
      assert.equal(r.message, 'the job would need about 512 MiB, more than the 128 MiB a job may use');
      const u = await small.request<JobResult<unknown>>('eligo/runJob', { kind: 'nope' });
      assert.equal(u.status, 'unavailable');
      // A job that outgrows its worker's heap fails alone; the server and the next job carry on.
      const oom = await small.request<JobResult<unknown>>('eligo/runJob', { kind: 'probe', params: { seconds: 60, growHeap: true } });
      assert.equal(oom.status, 'failed');
      assert.equal(oom.message, 'the job ran out of memory (its limit is 128 MiB)');
      const ok = await small.request<JobResult<{ iterations: number }>>('eligo/runJob', { kind: 'probe', params: { seconds: 0.05 } });
      assert.equal(ok.status, 'done');
      assert.ok(ok.result!.iterations > 0);
    } finally {
      await small.stop();
    }
  });
});
