import assert from 'node:assert/strict';
import { buildHtml, contentSecurityPolicy, escapeHtml, jsonForScript, makeNonce } from '../extension/src/html.js';
import { JobRegistry, statusView } from '../extension/src/jobs.js';
import { formatBytes, formatCount, jobSummary, paretoFront, parsePanelState, parseWebviewMessage } from '../extension/src/messages.js';
import type { JobResult, LearningRuleResult } from '../language-server/src/protocol.js';

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';

describe('extension: the webview page', () => {
  const nonce = makeNonce();
  const html = buildHtml({ cspSource: CSP_SOURCE, nonce, scriptUri: `${CSP_SOURCE}/ext/dist/webview.js`, styleUris: [`${CSP_SOURCE}/ext/media/webview.css`], title: 'Graph: <lif>', initialState: { uri: 'file:///a.eligo', item: '</script><script>alert(1)</script>' } });

  it('nonces are fresh and long enough', () => {
    const a = new Set(Array.from({ length: 50 }, makeNonce));
    assert.equal(a.size, 50);
    assert.ok(nonce.length >= 22);
    assert.match(nonce, /^[A-Za-z0-9_-]+$/);
  });

  it("the CSP denies everything by default and allows scripts only by nonce", () => {
    const csp = contentSecurityPolicy(CSP_SOURCE, nonce);
    assert.match(csp, /^default-src 'none';/);
    assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'(;|$)`));
    assert.doesNotMatch(csp, /script-src[^;]*(unsafe-inline|unsafe-eval|\*)/);
    assert.match(csp, new RegExp(`img-src ${CSP_SOURCE.replace(/[.+]/g, '\\$&')}`));
  });

  it('every script element carries the nonce and the CSP is in a meta tag', () => {
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.equal(scripts.length, 2);
    for (const s of scripts) assert.ok(s.includes(`nonce="${nonce}"`), s);
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;/);
    assert.ok(html.includes(`src="${CSP_SOURCE}/ext/dist/webview.js"`));
    assert.ok(html.includes(`href="${CSP_SOURCE}/ext/media/webview.css"`));
  });

  it('escapes the title and embedded state so nothing breaks out of its element', () => {
    assert.ok(html.includes('<title>Graph: &lt;lif&gt;</title>'));
    assert.equal(html.match(/<\/script>/g)?.length, 2);
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const j = jsonForScript({ s: '</script><!-- \u2028' });
    assert.doesNotMatch(j, /<|>|\u2028/);
    assert.deepEqual(JSON.parse(j), { s: '</script><!-- \u2028' });
  });
});

describe('extension: messages from the webview', () => {
  it('accepts the typed messages and rejects anything else', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'expand', collapsed: true, expand: ['u', 3] }), { type: 'expand', collapsed: true, expand: ['u'] });
    assert.deepEqual(parseWebviewMessage({ type: 'exported', requestId: 2, format: 'svg', content: '<svg/>' }), { type: 'exported', requestId: 2, format: 'svg', content: '<svg/>' });
    const range = { start: { line: 1, character: 0 }, end: { line: 1, character: 4 } };
    assert.deepEqual(parseWebviewMessage({ type: 'reveal', range }), { type: 'reveal', range });
    for (const bad of [null, 'ready', {}, { type: 'nope' }, { type: 'reveal', range: { start: { line: -1, character: 0 }, end: { line: 0, character: 0 } } }, { type: 'insertRule', candidate: { name: 'x', text: '  ' } }, { type: 'exported', requestId: 1, format: 'pdf', content: '' }]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });

  it('runs only Eligo item commands on behalf of the webview', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'command', command: 'eligo.train' }), { type: 'command', command: 'eligo.train' });
    assert.equal(parseWebviewMessage({ type: 'command', command: 'workbench.action.terminal.new' }), undefined);
    assert.equal(parseWebviewMessage({ type: 'command', command: 'eligo.restartServer' }), undefined);
  });

  it('restores a panel only from a well-formed saved state', () => {
    assert.deepEqual(parsePanelState({ uri: 'file:///a.eligo', item: 'lif', view: 'rules', expand: ['u', 1] }), { uri: 'file:///a.eligo', item: 'lif', view: 'rules', expand: ['u'] });
    assert.deepEqual(parsePanelState({ uri: 'file:///a.eligo', item: 'lif', view: 'weird' }), { uri: 'file:///a.eligo', item: 'lif', view: 'graph' });
    assert.equal(parsePanelState({ item: 'lif' }), undefined);
    assert.equal(parsePanelState(undefined), undefined);
  });
});

describe('extension: job results', () => {
  const base = { jobId: 1, kind: 'findLearningRule', elapsedMs: 2500, settings: {} as JobResult<unknown>['settings'] };

  it('the Pareto front is the server front, else its one rule', () => {
    const one: JobResult<LearningRuleResult> = { ...base, status: 'done', result: { name: 'r', text: 'rule r for m {}' } };
    assert.deepEqual(paretoFront(one).map((c) => c.name), ['r']);
    const front: JobResult<LearningRuleResult> = { ...base, status: 'budget', result: { name: 'a', text: 'rule a for m {}', front: [{ name: 'a', text: 'rule a for m {}', multiplications: 10 }, { name: 'bad' }, { name: 'b', text: 'rule b for m {}', alignment: 0.9 }] } };
    assert.deepEqual(paretoFront(front).map((c) => c.name), ['a', 'b']);
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
