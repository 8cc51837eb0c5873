// The webview's HTML page: the checklist of vscode-extension-samples'
// webview-sample — every asset through `asWebviewUri` (passed in here as
// strings), a Content-Security-Policy with `default-src 'none'`, scripts only
// with a fresh nonce. Pure, so tested without VS Code (test/extension.html.test.ts).

import { randomBytes } from 'node:crypto';

/** 128 random bits, base64url: a nonce the page cannot guess. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64url');
}

export interface PageOptions {
  /** `webview.cspSource`: where the webview may load assets from. */
  readonly cspSource: string;
  readonly nonce: string;
  /** `asWebviewUri(dist/webview.js)`. */
  readonly scriptUri: string;
  /** `asWebviewUri(...)` of style sheets (media/*.css, dist/webview.css). */
  readonly styleUris?: readonly string[];
  readonly title: string;
  /** Embedded as JSON for the first paint (the webview still sends `ready`). */
  readonly initialState?: unknown;
}

/** The CSP: nothing by default; the bundle's own origin for assets; the nonce for scripts. */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data: blob:`,
    // SVG drawn by the webview sets `style` attributes on elements; no script can come through styles.
    `style-src ${cspSource} 'unsafe-inline'`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    // ELK in a worker needs a Blob URL (DESIGN.md); layout normally runs in the server.
    'worker-src blob:',
  ].join('; ');
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** JSON safe inside a <script> element: no `</script>`, no `<!--`, no line separators. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value ?? null)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function buildHtml(o: PageOptions): string {
  const csp = contentSecurityPolicy(o.cspSource, o.nonce);
  const styles = (o.styleUris ?? []).map((u) => `  <link rel="stylesheet" href="${escapeHtml(u)}">`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>${escapeHtml(o.title)}</title>
${styles}
</head>
<body>
  <div id="root" data-eligo-root></div>
  <script nonce="${escapeHtml(o.nonce)}" id="eligo-initial-state" type="application/json">${jsonForScript(o.initialState)}</script>
  <script nonce="${escapeHtml(o.nonce)}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>
`;
}
