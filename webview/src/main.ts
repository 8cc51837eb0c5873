// The graph view's entry (bundled by esbuild.mjs to dist/webview.js): styles,
// the @vscode-elements controls, the host connection, then the
// sprotty-vscode handshake — say `ready`, and draw what the host answers.

import './elements.js';
import { App } from './app.js';
import { connectHost } from './host.js';
import { installStyles } from './styles.js';

declare global {
  interface Window {
    /** The running view, for debugging and the webview tests (read-only use). */
    eligo?: App;
  }
}

// The page's nonce, for a <style> fallback where constructed stylesheets are missing
// (read from the running script: browsers hide nonce attributes from the DOM).
const nonce = (document.currentScript as HTMLScriptElement | null)?.nonce || undefined;
const root = document.getElementById('app') ?? document.body.appendChild(document.createElement('div'));
root.id = 'app';
installStyles(nonce);
const host = connectHost();
const app = new App(root, host);
window.eligo = app;
host.onMessage((m) => app.handle(m));
host.post({ type: 'ready' });
