import assert from 'node:assert/strict';
import { cspOf, exportGraph, panelHtml } from '../extension/src/html.js';
import { JobRegistry, statusView } from '../extension/src/jobs.js';
import {
  formatBytes,
  formatCount,
  graphParamsFor,
  jobSummary,
  paretoFront,
  parsePanelState,
  parseViewRequest,
  parseWebviewMessage,
} from '../extension/src/messages.js';
import type { GraphViewModel } from '../language-server/src/layout/viewmodel.js';
import type { JobResult, LearningRuleResult, RuleCandidate } from '../language-server/src/protocol.js';

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';

describe('extension: the webview page', () => {
  const page = (title = 'Graph: lif', nonce?: string): string =>
    panelHtml({ cspSource: CSP_SOURCE, scriptUri: `${CSP_SOURCE}/ext/dist/webview.js`, title, ...(nonce ? { nonce } : {}) });

  it('each page gets a fresh nonce', () => {
    const nonces = new Set(Array.from({ length: 20 }, () => /nonce-([A-Za-z0-9+/=_-]+)'/.exec(cspOf(page())!)![1]));
    assert.equal(nonces.size, 20);
    for (const n of nonces) assert.ok(n!.length >= 16, n);
  });

  it('the CSP denies everything by default and allows scripts only by nonce', () => {
    const csp = cspOf(page('t', 'abc123abc123abc123'))!;
    assert.match(csp, /^default-src 'none';/);
    assert.match(csp, /script-src 'nonce-abc123abc123abc123'(;|$)/);
    assert.doesNotMatch(csp, /script-src[^;]*(unsafe-inline|unsafe-eval|\*)/);
    assert.ok(csp.includes(`img-src ${CSP_SOURCE}`));
    assert.doesNotMatch(csp, /https?:\/\/(?!file\+\.vscode-resource)/);
  });

  it('every script element carries the nonce; the bundle comes through the webview URI', () => {
    const html = page('t', 'n0nce0000000000000');
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.ok(scripts.length >= 1);
    for (const s of scripts) assert.ok(s.includes('nonce="n0nce0000000000000"'), s);
    assert.ok(html.includes(`src="${CSP_SOURCE}/ext/dist/webview.js"`));
  });

  it('escapes the title', () => {
    assert.ok(page('Graph: <lif>').includes('<title>Graph: &lt;lif&gt;</title>'));
  });

  it('exports the view on screen as SVG, and as a page holding every view shown', () => {
    const view = (key: string): GraphViewModel =>
      ({
        version: 1,
        key,
        hash: 'h',
        request: { item: 'f' },
        item: 'f',
        kind: 'function',
        title: `f ${key}`,
        width: 100,
        height: 60,
        nodes: [],
        edges: [],
        groups: [],
        groupInfo: [],
      }) as unknown as GraphViewModel;
    const a = view('a');
    const b = view('b');
    const svg = exportGraph('svg', [a, b], b, '');
    assert.match(svg, /^<\?xml|^<svg/);
    const html = exportGraph('html', [a, b], b, 'console.log("bundle")');
    assert.match(html, /<!DOCTYPE html>/);
    const data = /<script type="application\/json" id="eligo-data">([^<]*)<\/script>/.exec(html)![1]!;
    const bundle = JSON.parse(data) as { initial: string; views: { key: string }[] };
    assert.equal(bundle.initial, 'b');
    assert.deepEqual(
      bundle.views.map((v) => v.key),
      ['b', 'a'],
    );
    assert.ok(html.includes('console.log("bundle")'));
    assert.match(cspOf(html)!, /^default-src 'none'/);
  });
});

describe('extension: messages from the webview', () => {
  it('accepts the typed messages and rejects anything else', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'expand', collapsed: true, expand: ['u', 3] }), { type: 'expand', collapsed: true, expand: ['u'] });
    assert.deepEqual(
      parseWebviewMessage({ type: 'requestView', request: { item: 'lif', view: 'unrolled', steps: 5, collapse: 'none', expand: ['u'], bogus: 1 } }),
      {
        type: 'requestView',
        request: { item: 'lif', view: 'unrolled', steps: 5, collapse: 'none', expand: ['u'] },
      },
    );
    const range = { start: { line: 1, character: 0 }, end: { line: 1, character: 4 } };
    assert.deepEqual(parseWebviewMessage({ type: 'reveal', range }), { type: 'reveal', range });
    for (const bad of [
      null,
      'ready',
      {},
      { type: 'nope' },
      { type: 'reveal', range: { start: { line: -1, character: 0 }, end: { line: 0, character: 0 } } },
      { type: 'insertRule', candidate: { name: 'x', text: '  ' } },
      { type: 'requestView', request: { view: 'step' } },
    ]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });

  it('runs only Eligo item commands on behalf of the webview', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'command', command: 'eligo.train' }), { type: 'command', command: 'eligo.train' });
    assert.equal(parseWebviewMessage({ type: 'command', command: 'workbench.action.terminal.new' }), undefined);
    assert.equal(parseWebviewMessage({ type: 'command', command: 'eligo.restartServer' }), undefined);
  });

  it('a requested view becomes graph parameters for the server', () => {
    const state = { uri: 'file:///a.eligo', item: 'lif', view: 'graph' as const };
    assert.deepEqual(graphParamsFor(state), { uri: 'file:///a.eligo', item: 'lif' });
    assert.deepEqual(graphParamsFor(state, parseViewRequest({ item: 'lif', view: 'unrolled', collapse: 'all', expand: ['z'] })), {
      uri: 'file:///a.eligo',
      item: 'lif',
      unroll: 3,
      collapsed: true,
      expand: ['z'],
    });
    assert.deepEqual(graphParamsFor(state, { item: 'lif', view: 'unrolled', steps: 12, collapse: 'none' }), {
      uri: 'file:///a.eligo',
      item: 'lif',
      unroll: 12,
      collapsed: false,
    });
  });

  it('restores a panel only from a well-formed saved state', () => {
    assert.deepEqual(parsePanelState({ transform: { x: 0, y: 0, k: 1 }, panel: { uri: 'file:///a.eligo', item: 'lif', view: 'graph' } }), {
      uri: 'file:///a.eligo',
      item: 'lif',
      view: 'graph',
    });
    assert.deepEqual(parsePanelState({ uri: 'file:///a.eligo', item: 'lif', view: 'rules', expand: ['u', 1] }), {
      uri: 'file:///a.eligo',
      item: 'lif',
      view: 'rules',
      expand: ['u'],
    });
    assert.deepEqual(parsePanelState({ uri: 'file:///a.eligo', item: 'lif', view: 'weird' }), { uri: 'file:///a.eligo', item: 'lif', view: 'graph' });
    assert.equal(parsePanelState({ item: 'lif' }), undefined);
    assert.equal(parsePanelState(undefined), undefined);
  });
});

describe('extension: job results', () => {
  const base = { jobId: 1, kind: 'findLearningRule', elapsedMs: 2500, settings: {} as JobResult<unknown>['settings'] };

  it('the Pareto front is the server front, else its one rule', () => {
    const one: JobResult<LearningRuleResult> = { ...base, status: 'done', result: { name: 'r', text: 'rule r for m {}' } as unknown as LearningRuleResult };
    assert.deepEqual(
      paretoFront(one).map((c) => c.name),
      ['r'],
    );
    const front: JobResult<LearningRuleResult> = {
      ...base,
      status: 'budget',
      result: {
        name: 'a',
        text: 'rule a for m {}',
        front: [
          { name: 'a', text: 'rule a for m {}', multiplications: 10 },
          { name: 'bad' } as unknown as RuleCandidate,
          { name: 'b', text: 'rule b for m {}', alignment: 0.9 },
        ],
      },
    };
    assert.deepEqual(
      paretoFront(front).map((c) => c.name),
      ['a', 'b'],
    );
    assert.deepEqual(paretoFront({ ...base, status: 'unavailable' }), []);
  });

  it('says how a job ended', () => {
    assert.equal(jobSummary('Search', { status: 'done', elapsedMs: 1234 }), 'Search: done in 1.2 s.');
    assert.match(jobSummary('Search', { status: 'budget', elapsedMs: 10_000 }), /time budget reached after 10\.0 s/);
    assert.match(jobSummary('Train', { status: 'unavailable', elapsedMs: 0, message: 'no engine' }), /not available .* no engine/);
    assert.match(jobSummary('Train', { status: 'refused', elapsedMs: 0, message: 'needs 40 GiB' }), /not started — needs 40 GiB/);
  });

  it('formats counts and bytes', () => {
    assert.equal(formatCount(999), '999');
    assert.equal(formatCount(12_345), '12.3 k');
    assert.equal(formatCount(4_560_000), '4.56 M');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(192 * 1024), '192 KiB');
    assert.equal(formatBytes(3 * 1024 ** 3), '3.00 GiB');
  });
});

describe('extension: status bar', () => {
  it('shows the backend when idle and the job when one runs; a click cancels it', () => {
    const jobs = new JobRegistry();
    assert.deepEqual(
      [statusView('wasm', 'running', jobs.running).text, statusView('wasm', 'running', jobs.running).command],
      ['$(circuit-board) Eligo: wasm', 'eligo.showOutput'],
    );
    let cancelled = 0;
    const j = jobs.start('findLearningRule', 'Find Learning Rule for lif', () => cancelled++, 1000);
    jobs.progress(j.id, 'best 320 mults', 40);
    const v = statusView('tfjs-node', 'running', jobs.running, 4000);
    assert.equal(v.text, '$(sync~spin) Eligo: Find Learning Rule for lif 40% · 3s · tfjs-node');
    assert.equal(v.command, 'eligo.cancelJob');
    assert.match(v.tooltip, /best 320 mults/);
    assert.equal(jobs.cancelAll(), 1);
    assert.equal(cancelled, 1);
    jobs.finish(j.id);
    assert.equal(jobs.running.length, 0);
  });

  it('says when the server is down', () => {
    const v = statusView(undefined, 'stopped', []);
    assert.match(v.text, /stopped/);
    assert.equal(v.command, 'eligo.showOutput');
  });

  it('notifies listeners of every change', () => {
    const jobs = new JobRegistry();
    let n = 0;
    const sub = jobs.onChange(() => n++);
    const j = jobs.start('train', 't', () => undefined);
    jobs.progress(j.id, 'epoch 1');
    jobs.finish(j.id);
    jobs.finish(j.id);
    sub.dispose();
    jobs.start('train', 't', () => undefined);
    assert.equal(n, 3);
  });
});
