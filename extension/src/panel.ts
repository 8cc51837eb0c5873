// The webview panel host (vscode-extension-samples' webview-sample checklist):
// scripts enabled, resources only from dist/ and media/, every asset through
// `asWebviewUri`, a CSP with `default-src 'none'` and a nonce, a
// WebviewPanelSerializer so panels come back after a reload, and everything
// disposed with the panel. One panel per (document, item); it relays messages
// between the webview and the server (the webview never talks to the server
// itself), after the webview's `ready` handshake.

import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { GraphViewModel, GraphViewRequest } from '../../language-server/src/layout/viewmodel.js';
import type { GraphHostMessage, GraphParams, GraphResult, JobProgress, PanelState, RuleCandidate } from '../../language-server/src/protocol.js';
import { exportGraph, panelHtml } from './html.js';
import { graphParamsFor, parsePanelState, parseWebviewMessage, type HostBoundMessage } from './messages.js';

export const VIEW_TYPE = 'eligo.panel';

/** What the panel needs from the rest of the extension (ctx.ts provides it). */
export interface PanelHost {
  readonly extensionUri: vscode.Uri;
  requestGraph(params: GraphParams, token?: vscode.CancellationToken): Promise<GraphResult>;
  insertRule(uri: string, item: string, candidate: RuleCandidate): Promise<void>;
  /** Cancel the job this panel shows. */
  cancelJobsFor(uri: string, item: string): void;
  log(message: string): void;
}

function key(uri: string, item: string): string {
  return `${uri}#${item}`;
}

export class EligoPanel implements vscode.Disposable {
  private ready = false;
  private readonly queue: GraphHostMessage[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  /** Views shown in this panel, by key (the HTML export holds them all). */
  private readonly views = new Map<string, GraphViewModel>();
  /** The view on screen. */
  current: GraphViewModel | undefined;
  private graphCts: vscode.CancellationTokenSource | undefined;
  private disposed = false;
  /** Resolves once the webview said `ready` (tests and export wait on it). */
  readonly whenReady: Promise<void>;
  private resolveReady!: () => void;

  constructor(
    readonly panel: vscode.WebviewPanel,
    public state: PanelState,
    private readonly host: PanelHost,
    private readonly onDisposed: (p: EligoPanel) => void,
  ) {
    this.whenReady = new Promise((r) => (this.resolveReady = r));
    const webview = panel.webview;
    webview.options = webviewOptions(host.extensionUri);
    webview.html = pageFor(webview, host.extensionUri, state);
    panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'icon.png');
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => void this.onMessage(raw)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get uri(): string {
    return this.state.uri;
  }

  get item(): string {
    return this.state.item;
  }

  /** Posts now when the webview is ready, else after its `ready`. */
  post(msg: GraphHostMessage): void {
    if (this.disposed) return;
    if (!this.ready) {
      this.queue.push(msg);
      return;
    }
    void this.panel.webview.postMessage(msg);
  }

  setView(view: PanelState['view']): void {
    this.state = { ...this.state, view };
    this.panel.title = titleOf(this.state);
  }

  progress(p: JobProgress): void {
    this.post({ type: 'progress', progress: p });
  }

  /**
   * Asks the server for the laid-out graph (this panel's item, or the view
   * the webview asked for) and shows it. Errors go to the panel, not thrown.
   */
  async refreshGraph(request?: GraphViewRequest): Promise<GraphResult | undefined> {
    this.graphCts?.cancel();
    const cts = (this.graphCts = new vscode.CancellationTokenSource());
    const params: GraphParams = graphParamsFor(this.state, request);
    try {
      // A re-layout keeps the old picture up with a note; the first one has nothing to cover.
      if (this.current) this.post({ type: 'busy', message: `Laying out the graph of '${params.item ?? this.state.item}'…` });
      const result = await this.host.requestGraph(params, cts.token);
      if (cts.token.isCancellationRequested) return undefined;
      const problem = (result as { problem?: unknown }).problem;
      const layout = result.layout as GraphViewModel | undefined;
      if (layout && typeof layout === 'object' && Array.isArray(layout.nodes)) {
        this.views.set(layout.key, layout);
        this.current = layout;
        this.post({ type: 'show', model: layout });
      } else {
        this.post({ type: 'error', message: typeof problem === 'string' ? problem : `The server sent no layout for '${this.state.item}'.` });
      }
      return result;
    } catch (e) {
      if (!cts.token.isCancellationRequested) this.post({ type: 'error', message: `Could not get the graph of '${this.state.item}': ${(e as Error).message}` });
      return undefined;
    } finally {
      cts.dispose();
      if (this.graphCts === cts) this.graphCts = undefined;
    }
  }

  /** The graph on screen as a standalone SVG or HTML document (computed here, from the server's layout). */
  async export(format: 'svg' | 'html'): Promise<string> {
    if (!this.current) await this.refreshGraph();
    if (!this.current) throw new Error(`no graph of '${this.state.item}' to export`);
    if (format === 'html') await this.addCollapseVariants(this.current);
    const script = format === 'html' ? readFileSync(vscode.Uri.joinPath(this.host.extensionUri, 'dist', 'webview.js').fsPath, 'utf8') : '';
    return exportGraph(format, [...this.views.values()], this.current, script);
  }

  /**
   * The exported page answers "Collapse all" and "Expand all" from the views it
   * holds: lay those out too (the server's layout), unless it holds them already.
   */
  private async addCollapseVariants(current: GraphViewModel): Promise<void> {
    const r = current.request;
    for (const collapse of ['all', 'none'] as const) {
      const want: GraphViewRequest = { item: r.item, ...(r.view ? { view: r.view } : {}), ...(r.steps !== undefined ? { steps: r.steps } : {}), collapse };
      const held = [...this.views.values()].some(
        (v) =>
          v.request.item === want.item &&
          (v.request.view ?? 'step') === (want.view ?? 'step') &&
          (v.request.collapse ?? 'auto') === collapse &&
          !v.request.expand?.length &&
          !v.request.collapseGroups?.length,
      );
      if (held) continue;
      try {
        const result = await this.host.requestGraph(graphParamsFor(this.state, want));
        const layout = result.layout as GraphViewModel | undefined;
        if (layout && typeof layout === 'object' && Array.isArray(layout.nodes)) this.views.set(layout.key, layout);
      } catch {
        // A page without that view says so when asked; the export goes on.
      }
    }
  }

  /** The editor's cursor moved in this panel's document: highlight the vertices there. */
  select(position: vscode.Position): void {
    if (this.state.view === 'graph' && this.ready) this.post({ type: 'select', position: { line: position.line, character: position.character } });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const msg: HostBoundMessage | undefined = parseWebviewMessage(raw);
    if (!msg) {
      this.host.log(`panel: ignored a malformed message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    switch (msg.type) {
      case 'ready': {
        // A reload of the webview says `ready` again: it gets what it needs anew.
        const first = !this.ready;
        this.ready = true;
        void this.panel.webview.postMessage({ type: 'init', state: this.state, theme: themeKind() } satisfies GraphHostMessage);
        if (!first && this.current) void this.panel.webview.postMessage({ type: 'show', model: this.current } satisfies GraphHostMessage);
        for (const m of this.queue.splice(0)) void this.panel.webview.postMessage(m);
        if (first) this.resolveReady();
        return;
      }
      case 'requestView':
        if (msg.request.item !== this.state.item) {
          this.post({ type: 'error', message: `This panel shows '${this.state.item}', not '${msg.request.item}'.` });
          return;
        }
        await this.refreshGraph(msg.request);
        return;
      case 'insertRule':
        await this.host.insertRule(this.state.uri, this.state.item, msg.candidate);
        return;
      case 'reveal': {
        const uri = vscode.Uri.parse(this.state.uri);
        const r = msg.range;
        const range = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
        await vscode.window.showTextDocument(uri, { selection: range, viewColumn: vscode.ViewColumn.One, preserveFocus: false });
        return;
      }
      case 'expand':
        this.state = { ...this.state, collapsed: msg.collapsed, expand: msg.expand };
        await this.refreshGraph();
        return;
      case 'cancel':
        this.host.cancelJobsFor(this.state.uri, this.state.item);
        return;
      case 'command':
        await vscode.commands.executeCommand(msg.command, { uri: this.state.uri, item: this.state.item });
        return;
      default: {
        // Exhaustive: a new webview message must be handled here.
        const never: never = msg;
        void never;
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.graphCts?.cancel();
    this.graphCts?.dispose();
    this.views.clear();
    this.onDisposed(this);
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function themeKind(): 'light' | 'dark' | 'high-contrast' {
  switch (vscode.window.activeColorTheme.kind) {
    case vscode.ColorThemeKind.Light:
      return 'light';
    case vscode.ColorThemeKind.HighContrast:
    case vscode.ColorThemeKind.HighContrastLight:
      return 'high-contrast';
    default:
      return 'dark';
  }
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    // Only the bundles and the media folder: nothing else of the disk.
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

function pageFor(webview: vscode.Webview, extensionUri: vscode.Uri, state: PanelState): string {
  return panelHtml({
    cspSource: webview.cspSource,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
    title: titleOf(state),
  });
}

export function titleOf(state: PanelState): string {
  switch (state.view) {
    case 'graph':
      return `Graph: ${state.item}`;
    case 'rules':
      return `Learning rules: ${state.item}`;
    case 'search':
      return `Elimination order: ${state.item}`;
    case 'train':
      return `Training: ${state.item}`;
  }
}

/** All Eligo panels: open or reveal one per (document, item); restored after reloads. */
export class PanelManager implements vscode.Disposable, vscode.WebviewPanelSerializer<unknown> {
  private readonly panels = new Map<string, EligoPanel>();
  private readonly registration: vscode.Disposable;

  private readonly selection: vscode.Disposable;

  constructor(private readonly host: PanelHost) {
    this.registration = vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, this);
    // The graph follows the cursor: vertices of the expression under it light up.
    this.selection = vscode.window.onDidChangeTextEditorSelection((e) => {
      const uri = e.textEditor.document.uri.toString();
      const at = e.selections[0]?.active;
      if (!at) return;
      for (const p of this.panels.values()) if (p.uri === uri) p.select(at);
    });
  }

  get(uri: string, item: string): EligoPanel | undefined {
    return this.panels.get(key(uri, item));
  }

  get all(): readonly EligoPanel[] {
    return [...this.panels.values()];
  }

  /** The panel of the active editor's document, or the last one touched. */
  get active(): EligoPanel | undefined {
    return this.all.find((p) => p.panel.active) ?? this.all.at(-1);
  }

  /** Opens (or reveals) the panel for an item and switches it to a view. */
  show(uri: string, item: string, view: PanelState['view']): EligoPanel {
    const existing = this.get(uri, item);
    if (existing) {
      existing.setView(view);
      existing.panel.reveal(existing.panel.viewColumn ?? vscode.ViewColumn.Beside, true);
      return existing;
    }
    const state: PanelState = { uri, item, view };
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      titleOf(state),
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      {
        ...webviewOptions(this.host.extensionUri),
        // Charts keep their points while the tab is hidden.
        retainContextWhenHidden: true,
        enableFindWidget: true,
      },
    );
    return this.adopt(panel, state);
  }

  private adopt(panel: vscode.WebviewPanel, state: PanelState): EligoPanel {
    const p = new EligoPanel(panel, state, this.host, (gone) => {
      if (this.panels.get(key(gone.uri, gone.item)) === gone) this.panels.delete(key(gone.uri, gone.item));
    });
    this.panels.set(key(state.uri, state.item), p);
    return p;
  }

  /** WebviewPanelSerializer: VS Code hands back a panel after a reload with the state the webview saved. */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, saved: unknown): Promise<void> {
    const state = parsePanelState(saved);
    if (!state) {
      // Nothing to restore it from: close it rather than show an empty page.
      panel.dispose();
      return;
    }
    const p = this.adopt(panel, { ...state, view: state.view === 'graph' ? 'graph' : state.view });
    panel.title = titleOf(p.state);
    // Jobs do not survive a reload; the graph is recomputed from the document.
    if (p.state.view === 'graph') await p.refreshGraph();
  }

  dispose(): void {
    for (const p of this.all) p.dispose();
    this.panels.clear();
    this.registration.dispose();
    this.selection.dispose();
  }
}
