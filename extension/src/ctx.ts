// The one object that owns the extension's state (rust-analyzer's ctx.ts):
// the configuration, the language client, the status bar, the running jobs
// and the panels. Commands get it and nothing else.

import * as vscode from 'vscode';
import { State, WorkDoneProgress, type LanguageClient, type RequestType } from 'vscode-languageclient/node';
import {
  DidChangeTrustNotification,
  GraphRequest,
  JobProgressNotification,
  ServerStatusNotification,
  type ComputeBackend,
  type GraphParams,
  type GraphResult,
  type JobProgress,
  type RuleCandidate,
  type ServerStatus,
} from '../../language-server/src/protocol.js';
import { createClient } from './client.js';
import { needsRestart, parseConfig, SECTION, type ExtensionConfig } from './config.js';
import { planRuleInsertion, ruleHead } from './edits.js';
import { JobRegistry, type JobKind, type QueueView, type RunningJob } from './jobs.js';
import { parseProgress } from './messages.js';
import { PanelManager, type PanelHost } from './panel.js';
import { RestartPolicy } from './restart.js';
import { Status } from './status.js';

const BACKENDS: readonly ComputeBackend[] = ['tfjs-node', 'wasm', 'cpu'];

/** A job this window runs: where it is about, and how to cancel it. */
interface JobScope {
  readonly uri: string;
  readonly item: string;
}

export class Ctx implements vscode.Disposable, PanelHost {
  config: ExtensionConfig;
  client: LanguageClient | undefined;
  readonly output: vscode.LogOutputChannel;
  readonly trace: vscode.LogOutputChannel;
  readonly jobs = new JobRegistry();
  readonly status: Status;
  readonly panels: PanelManager;
  readonly policy = new RestartPolicy();
  private readonly scopes = new Map<number, JobScope>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private starting: Promise<LanguageClient> | undefined;

  constructor(readonly context: vscode.ExtensionContext) {
    this.config = readConfig();
    this.output = vscode.window.createOutputChannel('Eligo', { log: true });
    this.trace = vscode.window.createOutputChannel('Eligo LSP Trace', { log: true });
    this.status = new Status(this.jobs);
    this.panels = new PanelManager(this);
    this.subscriptions.push(
      this.output,
      this.trace,
      this.status,
      this.panels,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration(SECTION)) return;
        const before = this.config;
        this.config = readConfig();
        if (needsRestart(before, this.config) && this.client) {
          void vscode.window.showInformationMessage('Eligo: the server settings changed.', 'Restart Server').then((a) => {
            if (a) void vscode.commands.executeCommand('eligo.restartServer');
          });
        }
      }),
      // `when` clauses (Cancel Running Job in the palette) see whether a job runs.
      this.jobs.onChange(() => void vscode.commands.executeCommand('setContext', 'eligo.jobRunning', this.jobs.running.length > 0)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.output.info('Workspace trusted: training on workspace data files is allowed.');
        // The server reads files only after it is told (initializationOptions.trusted, then this).
        if (this.client?.state === State.Running) void this.client.sendNotification(DidChangeTrustNotification, { trusted: true });
      }),
    );
  }

  get extensionUri(): vscode.Uri {
    return this.context.extensionUri;
  }

  log(message: string): void {
    this.output.info(message);
  }

  /** Starts the client once; later calls wait for the same start. */
  start(): Promise<LanguageClient> {
    if (this.starting) return this.starting;
    this.starting = (async () => {
      const client = createClient(this.context, this.config, this.output, this.trace, this.policy, {
        onServerDied: (message, restarting) => {
          this.status.setServer(restarting ? 'starting' : 'stopped');
          // Jobs in a dead server are gone: release their progress notifications.
          for (const j of this.jobs.running) j.cancel();
          if (restarting) void vscode.window.showWarningMessage(message);
          else
            void vscode.window.showErrorMessage(message, 'Show Log', 'Restart Server').then((a) => {
              if (a === 'Show Log') this.output.show();
              if (a === 'Restart Server') void vscode.commands.executeCommand('eligo.restartServer');
            });
        },
      });
      this.client = client;
      this.subscriptions.push(
        client.onDidChangeState((e) => {
          if (e.newState === State.Running) {
            this.status.setServer('running');
            this.readBackendFromInit(client);
          } else if (e.newState === State.Starting) this.status.setServer('starting');
          else this.status.setServer('stopped');
        }),
        client.onNotification(ServerStatusNotification, (s: ServerStatus) => {
          if (s.backend && BACKENDS.includes(s.backend)) this.status.setBackend(s.backend);
          this.status.setQueue(parseQueue(s.queue));
        }),
        client.onNotification(JobProgressNotification, (raw: JobProgress) => {
          const p = parseProgress(raw);
          if (p) this.routeProgress(p);
        }),
      );
      this.status.setServer('starting');
      try {
        await client.start();
      } catch (e) {
        this.status.setServer('stopped');
        this.output.error(`The Eligo language server did not start: ${(e as Error).message}`);
        throw e;
      }
      return client;
    })();
    this.starting.catch(() => (this.starting = undefined));
    return this.starting;
  }

  /** The running client, started if needed. */
  async ready(): Promise<LanguageClient> {
    const c = await this.start();
    if (c.state !== State.Running) await c.start();
    return c;
  }

  async restart(): Promise<void> {
    this.policy.reset();
    this.jobs.cancelAll();
    this.config = readConfig();
    const old = this.client;
    if (old) {
      this.starting = undefined;
      this.client = undefined;
      try {
        await old.stop(2000);
      } catch (e) {
        this.output.warn(`Stopping the server: ${(e as Error).message}`);
      }
      await old.dispose(2000).catch(() => undefined);
    }
    await this.start();
  }

  private readBackendFromInit(client: LanguageClient): void {
    const exp = client.initializeResult?.capabilities.experimental as { eligo?: { backend?: unknown } } | undefined;
    const b = exp?.eligo?.backend;
    if (typeof b === 'string' && (BACKENDS as readonly string[]).includes(b)) this.status.setBackend(b as ComputeBackend);
  }

  /** Progress of server jobs goes to the panel of that item and to the status bar. */
  private routeProgress(p: JobProgress): void {
    for (const [id, scope] of this.scopes) {
      if ((p.uri === undefined || p.uri === scope.uri) && (p.item === undefined || p.item === scope.item)) {
        this.jobs.progress(id, p.message, p.percentage);
      }
    }
    if (p.uri && p.item) this.panels.get(p.uri, p.item)?.progress(p);
    else for (const panel of this.panels.all) if (this.scopesFor(panel.uri, panel.item)) panel.progress(p);
  }

  private scopesFor(uri: string, item: string): boolean {
    return [...this.scopes.values()].some((s) => s.uri === uri && s.item === item);
  }

  // ------------------------------------------------------------ requests

  async request<P, R>(type: RequestType<P, R, void>, params: P, token?: vscode.CancellationToken): Promise<R> {
    const client = await this.ready();
    return client.sendRequest(type, params as never, token);
  }

  requestGraph(params: GraphParams, token?: vscode.CancellationToken): Promise<GraphResult> {
    return this.request(GraphRequest, params, token);
  }

  /**
   * Runs a long server job: a cancellable progress notification, an entry in
   * the status bar (click cancels), LSP work-done progress under a token of
   * ours, cancellation through the request's token ($/cancelRequest).
   */
  async runJob<R>(
    kind: JobKind,
    title: string,
    scope: JobScope,
    send: (client: LanguageClient, workDoneToken: string, token: vscode.CancellationToken) => Promise<R>,
  ): Promise<R | undefined> {
    const client = await this.ready();
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, uiToken) => {
      const cts = new vscode.CancellationTokenSource();
      const job: RunningJob = this.jobs.start(kind, title, () => cts.cancel());
      this.scopes.set(job.id, scope);
      const workDoneToken = `eligo-${kind}-${job.id}-${Date.now()}`;
      let last = 0;
      const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
        if (v.kind === 'end') return;
        const b = v;
        const pct = b.percentage;
        const increment = pct !== undefined ? Math.max(0, pct - last) : undefined;
        if (pct !== undefined) last = pct;
        progress.report({ ...(b.message !== undefined ? { message: b.message } : {}), ...(increment !== undefined ? { increment } : {}) });
        this.jobs.progress(job.id, b.message, pct);
      });
      const onCancel = uiToken.onCancellationRequested(() => cts.cancel());
      try {
        return await send(client, workDoneToken, cts.token);
      } finally {
        onCancel.dispose();
        sub.dispose();
        this.scopes.delete(job.id);
        this.jobs.finish(job.id);
        cts.dispose();
      }
    });
  }

  cancelJobsFor(uri: string, item: string): void {
    for (const [id, s] of this.scopes) if (s.uri === uri && s.item === item) this.jobs.cancel(id);
  }

  // ------------------------------------------------------------ edits

  /**
   * Puts a rule into the document as one undoable edit, then shows it. The
   * plan is made against the text as it is now (the search may have run while
   * the user typed), and applied with the editor's version check: if the text
   * changed between plan and apply, it is planned again on the new text.
   */
  async insertRule(uri: string, item: string, candidate: RuleCandidate): Promise<void> {
    const docUri = vscode.Uri.parse(uri);
    const doc = await vscode.workspace.openTextDocument(docUri);
    const model = ruleHead(candidate.text)?.model ?? item;
    const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
    for (let attempt = 0; attempt < 5; attempt++) {
      const plan = planRuleInsertion(doc.getText(), candidate.text, model);
      if (!plan) {
        void vscode.window.showErrorMessage(
          `Eligo: model '${model}' is not in ${vscode.workspace.asRelativePath(docUri)} any more; the rule was not inserted.`,
        );
        return;
      }
      const name = plan.name ?? candidate.name;
      if (plan.present) {
        void vscode.window.showInformationMessage(`Eligo: rule '${name}' is in the file already.`);
        return;
      }
      const range = new vscode.Range(plan.range.start.line, plan.range.start.character, plan.range.end.line, plan.range.end.character);
      // TextEditor.edit refuses when the document's version moved since the plan: plan again.
      if (!(await editor.edit((b) => b.replace(range, plan.newText)))) continue;
      const text = doc.getText();
      const at = text.indexOf(`rule ${name} for`);
      if (at >= 0) {
        const end = text.indexOf('\n}', at);
        const sel = new vscode.Selection(doc.positionAt(at), doc.positionAt(end >= 0 ? end + 2 : at));
        editor.selection = sel;
        editor.revealRange(sel, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      }
      this.output.info(
        `Inserted rule '${name}' for '${model}' into ${uri}${name !== candidate.name ? ` (renamed from '${candidate.name}': that name is taken now)` : ''}.`,
      );
      return;
    }
    void vscode.window.showErrorMessage(`Eligo: the rule '${candidate.name}' could not be inserted: the document kept changing.`);
  }

  // ------------------------------------------------------------ trust

  /**
   * Training on the user's data files reads files of the workspace: ask for
   * trust first. Analysis never needs it (capabilities.untrustedWorkspaces).
   */
  async requireTrust(what: string): Promise<boolean> {
    if (vscode.workspace.isTrusted) return true;
    const manage = 'Manage Workspace Trust';
    const a = await vscode.window.showWarningMessage(
      `Eligo: ${what} reads data files from this workspace, which is in Restricted Mode. Trust the workspace to continue.`,
      { modal: true },
      manage,
    );
    if (a === manage) await vscode.commands.executeCommand('workbench.trust.manage');
    return vscode.workspace.isTrusted;
  }

  dispose(): void {
    this.jobs.cancelAll();
    for (const d of this.subscriptions.splice(0)) d.dispose();
    void this.client?.dispose(2000).catch(() => undefined);
  }
}

function readConfig(): ExtensionConfig {
  const c = vscode.workspace.getConfiguration(SECTION);
  return parseConfig((k) => c.get(k));
}

/** The queue part of `eligo/status`, checked (it crosses a process). */
function parseQueue(q: unknown): QueueView | undefined {
  if (typeof q !== 'object' || q === null) return undefined;
  const o = q as Record<string, unknown>;
  if (typeof o.url !== 'string' || typeof o.workers !== 'number' || typeof o.slots !== 'number') return undefined;
  return {
    url: o.url,
    workers: o.workers,
    slots: o.slots,
    ...(Array.isArray(o.names) ? { names: o.names.filter((n): n is string => typeof n === 'string') } : {}),
    ...(typeof o.error === 'string' ? { error: o.error } : {}),
  };
}
