// The webview's HTML page and the graph exports. The page is the one the
// graph view is built for (language-server/src/layout/html.ts), so the panel
// and the exported HTML are the same page: every asset through
// `asWebviewUri` (passed in as a string), a Content-Security-Policy with
// `default-src 'none'`, scripts and styles only with a fresh nonce
// (vscode-extension-samples' webview-sample checklist). Tested without VS
// Code in test/extension-webview.test.ts.

import { graphHtml, newNonce, webviewHtml } from '../../language-server/src/layout/html.js';
import { viewModelToSvg } from '../../language-server/src/layout/svg.js';
import type { GraphViewModel } from '../../language-server/src/layout/viewmodel.js';

export interface PageOptions {
  /** `webview.cspSource`: where the webview may load assets from. */
  readonly cspSource: string;
  /** `asWebviewUri(dist/webview.js)`. */
  readonly scriptUri: string;
  readonly title: string;
  /** A fresh nonce per page; one is made when absent. */
  readonly nonce?: string;
}

export function panelHtml(o: PageOptions): string {
  return webviewHtml({ title: o.title, nonce: o.nonce ?? newNonce(), cspSource: o.cspSource, script: { uri: o.scriptUri } });
}

/** The Content-Security-Policy a page declares (from its meta element), for checks. */
export function cspOf(html: string): string | undefined {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html);
  return m?.[1]
    ?.replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

/**
 * A graph export: the picture alone (SVG), or one self-contained page
 * (HTML: the webview bundle inlined with the views the panel showed, so it
 * works offline from file:// with the same stepper and collapsing).
 */
export function exportGraph(format: 'svg' | 'html', views: readonly GraphViewModel[], current: GraphViewModel, webviewScript: string): string {
  if (format === 'svg') return viewModelToSvg(current);
  const all = [current, ...views.filter((v) => v.key !== current.key)];
  return graphHtml({ title: current.title, views: all, initial: current.key }, webviewScript);
}
