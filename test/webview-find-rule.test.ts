// The find-rule panel in a real browser (Debian's Chromium, the webview
// bundle under its CSP): a front found and trained by the language server's
// job (small LIF, a short task) is shown as a table — accuracy, updated
// parameters, hardware fit — and as a scatter plot of cost against accuracy,
// every point where the job's figures put it; Insert posts the candidate.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { findLearningRuleJob } from '../language-server/src/jobs/learningRule.js';
import type { JobContext } from '../language-server/src/jobs/types.js';
import type { LearningRuleResult, RuleCandidate } from '../language-server/src/protocol.js';
import { DEFAULTS } from '../language-server/src/server/settings.js';
import { CHROMIUM, launchBrowser, openWebview, readBundle, waitForChromium } from './helpers/browser.js';

const LIF8 = readFileSync('examples/lif.eligo', 'utf8').replace('n = 64', 'n = 8');

describe('find-rule panel in Chromium', function () {
  this.timeout(300_000);
  let browser: Browser;
  let bundle: string;
  let result: LearningRuleResult & { front: RuleCandidate[] };

  before(async function () {
    this.timeout(600_000);
    execFileSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
    if (!(await waitForChromium())) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
    browser = await launchBrowser();
    bundle = readBundle();
    const settings = { ...DEFAULTS, hardwareProfile: 'loihi2', train: { ...DEFAULTS.train, task: 'evidence:T=24', batchSize: 8 } };
    const input = { text: LIF8, item: 'lif', settings, params: { samples: 1, steps: 20 } };
    const ac = new AbortController();
    const ctx = {
      cancelled: false,
      overBudget: false,
      shouldStop: false,
      signal: ac.signal,
      remainingMs: 40_000,
      report: () => undefined,
      yield: () => Promise.resolve(),
    } as JobContext;
    result = (await findLearningRuleJob.run(input, findLearningRuleJob.parse(input), ctx)) as typeof result;
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the trained front as a table and a scatter plot of multiplications against test accuracy', async () => {
    const front = result.front;
    assert.ok(front.length > 0 && front.every((c) => typeof c.accuracy === 'number'), JSON.stringify(front.map((c) => c.why)));
    const w = await openWebview(browser, bundle);
    await w.page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
    await w.send({
      type: 'rules',
      uri: 'file:///lif.eligo',
      item: 'lif',
      front,
      job: { jobId: 1, kind: 'findLearningRule', status: 'done', result, elapsedMs: 1, settings: DEFAULTS },
    });
    await w.page.waitForSelector('#candidates table.candidates');
    const rows = await w.page.$$eval('#candidates tr[data-rule]', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.equal(rows.length, front.length);
    front.forEach((c, k) => {
      const row = rows[k]!;
      assert.equal(row[1], (c.updatedParams as string[]).join(', '));
      assert.equal(row[4], `${((c.accuracy as number) * 100).toFixed(1)}%`);
      assert.equal(row[6], `${c.updates as number} updates`);
      assert.equal(row[8], c.fits ? 'fits' : 'does not fit');
    });
    assert.match((await w.page.locator('#front-basis').textContent()) ?? '', /cost against test accuracy on evidence\(T=24, cues=7\)/);
    const points = await w.page.$$eval('svg.scatter circle.point', (cs) =>
      cs.map((c) => ({
        id: c.getAttribute('data-id'),
        x: Number(c.getAttribute('data-x')),
        y: Number(c.getAttribute('data-y')),
        cy: Number(c.getAttribute('cy')),
        cx: Number(c.getAttribute('cx')),
      })),
    );
    assert.deepEqual(
      points.map((p) => [p.id, p.x, p.y]),
      front.map((c) => [c.name, c.multiplications, c.accuracy]),
    );
    // Higher accuracy is higher on screen; more multiplications further right.
    for (const a of points)
      for (const b of points) {
        if (a.y > b.y) assert.ok(a.cy < b.cy);
        if (a.x > b.x) assert.ok(a.cx > b.cx);
      }
    await w.page.locator('#candidates vscode-button').first().click();
    const posted = (await w.posted()).filter((m) => m.type === 'insertRule') as unknown as { candidate: RuleCandidate }[];
    assert.equal(posted[0]!.candidate.name, front[0]!.name);
    assert.deepEqual(w.problems, []);
    await w.page.screenshot({ path: 'test-artifacts/find-rule-panel.png' }).catch(() => undefined);
    await w.page.close();
  });
});
