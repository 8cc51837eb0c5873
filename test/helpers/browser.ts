// Debian's Chromium driven by playwright-core, for the webview tests: one
// browser per suite, a page per view. A stand-in for VS Code's
// acquireVsCodeApi records what the webview posts; the test plays the host by
// posting messages into the page as VS Code does (window 'message' events).

import { LIF_MODEL } from './models.js';
import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { webviewHtml, newNonce } from '../../language-server/src/layout/html.js';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/** Chromium may still be being installed (apt): wait for it, up to `ms`. */
export async function waitForChromium(ms = 5 * 60_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!existsSync(CHROMIUM)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 2000));
  }
  return true;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * tsx compiles the tests with esbuild's keepNames, which wraps named inner
 * functions in a `__name(fn, "name")` call; functions passed to
 * page.evaluate carry that call into the page, where it must exist.
 */
const NAME_SHIM = 'window.__name = (f) => f;';

export interface WebviewPage {
  readonly page: Page;
  /** Messages the webview posted to its host, in order. */
  posted(): Promise<{ type: string; [k: string]: unknown }[]>;
  /** Post a host message into the webview. */
  send(message: unknown): Promise<void>;
  /** Console errors, page errors and CSP violations seen so far. */
  readonly problems: string[];
}

/** Sets up a page's problem log: console errors, uncaught exceptions, CSP violations. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

/**
 * Opens the webview as VS Code would (bundle under the page's nonce, strict
 * CSP), with a recording acquireVsCodeApi. `init` runs before the bundle.
 */
export async function openWebview(
  browser: Browser,
  bundleJs: string,
  opts: { width?: number; height?: number; init?: string; state?: unknown } = {},
): Promise<WebviewPage> {
  const page = await browser.newPage({ viewport: { width: opts.width ?? 1400, height: opts.height ?? 900 } });
  const problems = watch(page);
  await page.addInitScript(`
    ${NAME_SHIM}
    window.__posted = [];
    window.__state = ${JSON.stringify(opts.state ?? null)};
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
      getState: () => window.__state,
      setState: (s) => { window.__state = s; },
    });
    document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));
    ${opts.init ?? ''}
  `);
  const html = webviewHtml({ title: 'Eligo graph (test)', nonce: newNonce(), script: { inline: bundleJs } });
  // Served by the test itself (a navigation, so the init script runs); nothing reaches a network.
  await page.route('http://eligo.test/**', (r) => r.fulfill({ body: html, contentType: 'text/html; charset=utf-8' }));
  await page.goto('http://eligo.test/webview.html', { waitUntil: 'load' });
  return {
    page,
    problems,
    posted: () => page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted),
    send: (m) => page.evaluate((msg) => window.postMessage(msg, '*'), m as object),
  };
}

/** Opens an exported standalone page from disk (file://), with no VS Code API. */
export async function openFile(
  browser: Browser,
  path: string,
  opts: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {},
): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({
    viewport: { width: opts.width ?? 1400, height: opts.height ?? 900 },
    ...(opts.colorScheme ? { colorScheme: opts.colorScheme } : {}),
  });
  const problems = watch(page);
  await page.addInitScript(
    `${NAME_SHIM} document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));`,
  );
  await page.goto(`file://${path}`, { waitUntil: 'load' });
  return { page, problems };
}

export function readBundle(path = 'dist/webview.js'): string {
  return readFileSync(path, 'utf8');
}

/** The LIF model of LANGUAGE.md with an e-prop rule, and a small function: the inline fixture of the graph view tests. */
export const LIF = `${LIF_MODEL}
rule eprop for lif {
  approximate d(u[t+1])/d(z) = 0
  schedule online
}

function heat_flux(a, b, c: [3]) {
  let s = sin(a * b)
  let g = log(s) + sum(c) / b
  return g, a * b + s
}
`;
