// The HTML around the webview bundle, for the VS Code panel (script loaded
// from the extension's dist folder through asWebviewUri) and for a
// standalone page (bundle and view models inlined: it works offline from
// file://). Both use the same strict CSP as the webview sample:
// `default-src 'none'`, scripts only with the page's nonce.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { GraphViewBundle } from './viewmodel.js';

export interface WebviewHtmlOptions {
  readonly title: string;
  /** A fresh random nonce per page. */
  readonly nonce: string;
  /** `webview.cspSource` inside VS Code; absent for a standalone page. */
  readonly cspSource?: string;
  /** The bundle: a URI (VS Code) or its text (standalone). */
  readonly script: { readonly uri: string } | { readonly inline: string };
  /** View models embedded in the page (standalone export). */
  readonly data?: GraphViewBundle;
}

export function newNonce(): string {
  return randomBytes(16)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a <script> data block. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** JavaScript safe inside an inline <script> element (and without a source map link to a file that is not there). */
function scriptText(js: string): string {
  return js
    .replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n')
    .replace(/<\/(script)/gi, '<\\/$1')
    .replace(/<!--/g, '<\\!--');
}

export function webviewHtml(o: WebviewHtmlOptions): string {
  const src = o.cspSource ? ` ${o.cspSource}` : '';
  const csp = ["default-src 'none'", `img-src${src} data:`, `style-src${src} 'nonce-${o.nonce}'`, `font-src${src} data:`, `script-src 'nonce-${o.nonce}'`].join(
    '; ',
  );
  const script =
    'uri' in o.script
      ? `<script nonce="${o.nonce}" src="${escapeHtml(o.script.uri)}"></script>`
      : `<script nonce="${o.nonce}">${scriptText(o.script.inline)}</script>`;
  const data = o.data ? `<script type="application/json" id="eligo-data">${scriptJson(o.data)}</script>\n` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(o.title)}</title>
</head>
<body>
<div id="app"></div>
${data}${script}
</body>
</html>
`;
}

/** Where the built webview bundle is: next to a bundled CLI, or in the repository's dist/. */
export function webviewBundlePath(): string {
  const candidates: string[] = [join(__dirname, 'webview.js')];
  for (let dir = __dirname, i = 0; i < 6; i++, dir = dirname(dir)) candidates.push(join(dir, 'dist', 'webview.js'));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error("the webview bundle dist/webview.js is missing: build it with 'npm run build'");
  return found;
}

/** A standalone page showing `bundle`: bundle inlined, no remote content. */
export function graphHtml(bundle: GraphViewBundle, script = readFileSync(webviewBundlePath(), 'utf8')): string {
  return webviewHtml({ title: `${bundle.title} — Eligo`, nonce: newNonce(), script: { inline: script }, data: bundle });
}

/** Writes the standalone page to `out` (folders created); returns its absolute path. */
export function writeGraphHtml(out: string, bundle: GraphViewBundle, script?: string): string {
  const path = resolve(out);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, graphHtml(bundle, script));
  return path;
}
