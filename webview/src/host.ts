// The other end of the webview's messages. Inside VS Code it is the panel host
// (acquireVsCodeApi: postMessage out, window 'message' events in, getState /
// setState kept across reloads). In an exported page there is no host: the
// page answers its own `ready` and `requestView` from the view models
// embedded in it (#eligo-data), so the same code runs offline.

import type { GraphHostMessage, GraphWebviewMessage, GraphWebviewState } from '../../language-server/src/protocol.js';
import type { GraphViewBundle, GraphViewRequest } from '../../language-server/src/layout/viewmodel.js';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

export interface Host {
  /** True in an exported page (no editor behind it). */
  readonly standalone: boolean;
  post(message: GraphWebviewMessage): void;
  onMessage(listener: (message: GraphHostMessage) => void): void;
  getState(): GraphWebviewState | undefined;
  setState(state: GraphWebviewState): void;
}

/** Two requests name the same view (defaults filled in as the layout fills them). */
export function sameRequest(a: GraphViewRequest, b: GraphViewRequest): boolean {
  const set = (x: readonly string[] | undefined): string => [...(x ?? [])].sort().join('\u0000');
  const view = (r: GraphViewRequest): string => r.view ?? 'step';
  return (
    a.item === b.item &&
    view(a) === view(b) &&
    (view(a) !== 'unrolled' || (a.steps ?? 3) === (b.steps ?? 3)) &&
    (a.collapse ?? 'auto') === (b.collapse ?? 'auto') &&
    set(a.expand) === set(b.expand) &&
    set(a.collapseGroups) === set(b.collapseGroups)
  );
}

function vscodeHost(api: VsCodeApi): Host {
  const listeners: ((m: GraphHostMessage) => void)[] = [];
  window.addEventListener('message', (e: MessageEvent) => {
    const m = e.data as GraphHostMessage | undefined;
    if (!m || typeof m !== 'object' || typeof (m as { type?: unknown }).type !== 'string') return;
    for (const l of listeners) l(m);
  });
  return {
    standalone: false,
    post: (m) => api.postMessage(m),
    onMessage: (l) => {
      listeners.push(l);
    },
    getState: () => (api.getState() as GraphWebviewState | undefined) ?? undefined,
    setState: (s) => api.setState(s),
  };
}

function standaloneHost(bundle: GraphViewBundle | undefined): Host {
  const listeners: ((m: GraphHostMessage) => void)[] = [];
  let state: GraphWebviewState | undefined;
  const key = `eligo-state:${bundle?.title ?? ''}`;
  try {
    const saved = sessionStorage.getItem(key);
    if (saved) state = JSON.parse(saved) as GraphWebviewState;
  } catch {
    // file:// pages may have no storage: state then lasts as long as the page.
  }
  const answer = (m: GraphHostMessage): void => {
    // Asynchronous, as a real host would answer.
    setTimeout(() => {
      for (const l of listeners) l(m);
    }, 0);
  };
  return {
    standalone: true,
    post(m) {
      if (!bundle) {
        if (m.type === 'ready') answer({ type: 'error', message: 'This page holds no graph.' });
        return;
      }
      if (m.type === 'ready') {
        const wanted = state?.request;
        const view =
          (wanted && bundle.views.find((v) => sameRequest(v.request, wanted))) ?? bundle.views.find((v) => v.key === bundle.initial) ?? bundle.views[0];
        if (view) answer({ type: 'show', model: view });
        // An exported training run: the same messages the panel gets live.
        for (const t of bundle.training ?? []) answer(t);
      } else if (m.type === 'requestView') {
        const view = bundle.views.find((v) => sameRequest(v.request, m.request));
        if (view) answer({ type: 'show', model: view });
        else
          answer({
            type: 'error',
            message:
              'This exported page does not hold that view. Export it with eligo graph --html (--steps T for the unrolled model, --collapse none|all, --expand GROUP), or open the file in VS Code.',
          });
      }
    },
    onMessage: (l) => {
      listeners.push(l);
    },
    getState: () => state,
    setState(s) {
      state = s;
      try {
        sessionStorage.setItem(key, JSON.stringify(s));
      } catch {
        // see above
      }
    },
  };
}

export function connectHost(): Host {
  if (typeof acquireVsCodeApi === 'function') return vscodeHost(acquireVsCodeApi());
  const el = document.getElementById('eligo-data');
  let bundle: GraphViewBundle | undefined;
  if (el?.textContent) {
    try {
      bundle = JSON.parse(el.textContent) as GraphViewBundle;
    } catch {
      bundle = undefined;
    }
  }
  return standaloneHost(bundle);
}
