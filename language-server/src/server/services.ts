// The language server's services, wired on one connection: documents,
// settings, the incremental analyser, the job runner, and one module per
// feature. `main.ts` only creates the connection and calls this.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  CodeActionKind,
  DidChangeConfigurationNotification,
  TextDocumentSyncKind,
  type Connection,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { JobRunner } from '../jobs/runner.js';
import { TASKS } from '../train/tasks/index.js';
import {
  AnalysisStatsParamsSchema,
  AnalysisStatsRequest,
  DidChangeTrustNotification,
  DidChangeTrustParamsSchema,
  InitializationOptionsSchema,
  ItemParamsSchema,
  TrainTasksRequest,
  validate,
  type AnalysisStats,
  type TrainTask,
} from '../protocol.js';
import { Analyzer } from './analysis.js';
import { AnalysisWorker } from './analysisWorker.js';
import { registerCodeActions } from './codeActions.js';
import { registerCodeLens } from './codeLens.js';
import { registerCompletion } from './completion.js';
import { validated, type ClientSupport, type ServerContext } from './context.js';
import { registerDiagnostics } from './diagnostics.js';
import { Workspace } from './documents.js';
import { registerFormatting } from './formatting.js';
import { registerGraph } from './graph.js';
import { registerHover } from './hover.js';
import { registerInlayHints } from './inlayHints.js';
import { registerInterop } from './interop.js';
import { registerJobs, sendStatus } from './jobs.js';
import { registerNavigation } from './navigation.js';
import { LEGEND, registerSemanticTokens } from './semanticTokens.js';
import { Settings } from './settings.js';
import { registerSignatureHelp } from './signatureHelp.js';
import { registerSymbols } from './symbols.js';
import { Trust } from './trust.js';

export const SERVER_NAME = 'eligo-language-server';

export interface EligoServer {
  readonly context: ServerContext;
  /** Start listening on the connection. */
  start(): void;
}

function envNumber(name: string, def: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
}

export function createServices(connection: Connection): EligoServer {
  const workspace = new Workspace();
  const settings = new Settings(connection);
  const analyzer = new Analyzer(
    workspace,
    settings,
    new AnalysisWorker(process.env.ELIGO_ANALYSIS_INLINE === '1' ? undefined : join(__dirname, 'worker.js'), (m) => connection.console.log(m)),
  );
  const jobs = new JobRunner({
    workerPath: join(__dirname, 'worker.js'),
    maxConcurrent: Math.max(1, availableParallelism() - 1),
    graceMs: envNumber('ELIGO_JOB_GRACE_MS', 100),
    maxBytes: envNumber('ELIGO_JOB_MAX_MIB', 2048) * 2 ** 20,
    throttleMs: 50,
    prewarm: true,
  });
  const client: ClientSupport = { configuration: false, workDoneProgress: false, codeLensRefresh: false, inlayHintRefresh: false };
  const trust = new Trust();
  const ctx: ServerContext = { connection, workspace, settings, analyzer, jobs, client, trust, lastRuns: new Map() };

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const caps = params.capabilities;
    client.configuration = caps.workspace?.configuration === true;
    client.workDoneProgress = caps.window?.workDoneProgress === true;
    client.codeLensRefresh = caps.workspace?.codeLens?.refreshSupport === true;
    client.inlayHintRefresh = caps.workspace?.inlayHint?.refreshSupport === true;
    settings.canPull = client.configuration;
    // Trust: only an explicit `trusted: true` lets jobs read data files (absent = untrusted).
    const init = validate(InitializationOptionsSchema, params.initializationOptions ?? {});
    if (!init.ok) connection.console.warn(`eligo: initializationOptions ignored: ${init.message}`);
    const options = init.ok ? init.value : {};
    trust.trusted = options.trusted === true;
    trust.setFolders(params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []));
    if (options.settings !== undefined) settings.set(options.settings);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        codeLensProvider: { resolveProvider: false },
        inlayHintProvider: true,
        documentSymbolProvider: { label: 'Eligo' },
        completionProvider: { triggerCharacters: ['~', '='] },
        signatureHelpProvider: { triggerCharacters: ['(', ','], retriggerCharacters: [',', ')'] },
        definitionProvider: true,
        referencesProvider: true,
        documentHighlightProvider: true,
        renameProvider: { prepareProvider: true },
        semanticTokensProvider: { legend: LEGEND, full: true },
        documentFormattingProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, `${CodeActionKind.Refactor}.export`] },
      },
      serverInfo: { name: SERVER_NAME, version: '0.1.0' },
    };
  });

  connection.onInitialized(() => {
    if (client.configuration) {
      void connection.client.register(DidChangeConfigurationNotification.type, { section: 'eligo' }).catch(() => undefined);
      void settings.refresh();
    }
    sendStatus({ connection });
  });

  connection.onDidChangeConfiguration((p) => {
    if (client.configuration) void settings.refresh();
    else settings.set((p.settings as { eligo?: unknown } | undefined)?.eligo ?? p.settings);
  });
  settings.onChange(() => analyzer.invalidateAll());

  workspace.documents.onDidChangeContent((e) => analyzer.changed(e.document.uri));
  workspace.documents.onDidClose((e) => {
    analyzer.closed(e.document.uri);
    workspace.forget(e.document.uri);
  });

  registerDiagnostics(ctx);
  registerCodeLens(ctx);
  registerHover(ctx);
  registerInlayHints(ctx);
  registerSymbols(ctx);
  registerCompletion(ctx);
  registerSignatureHelp(ctx);
  registerNavigation(ctx);
  registerSemanticTokens(ctx);
  registerFormatting(ctx);
  registerCodeActions(ctx);
  registerInterop(ctx);
  registerGraph(ctx);
  registerJobs(ctx);
  connection.onRequest(
    TrainTasksRequest.method,
    validated(ctx, 'eligo/trainTasks', ItemParamsSchema, [] as TrainTask[], () =>
      TASKS.map((t): TrainTask => ({ name: t.name, description: t.description, ...(t.userData ? { userData: true } : {}) })),
    ),
  );

  connection.onNotification(DidChangeTrustNotification.method, (raw: unknown) => {
    const v = validate(DidChangeTrustParamsSchema, raw);
    if (!v.ok) return connection.console.warn(`eligo: eligo/didChangeTrust ignored: ${v.message}`);
    trust.trusted = v.value.trusted;
    connection.console.log(`eligo: the workspace is ${trust.trusted ? 'trusted: jobs may read its data files' : 'not trusted: jobs read no files'}`);
  });

  connection.onRequest(
    AnalysisStatsRequest.method,
    validated(ctx, 'eligo/analysisStats', AnalysisStatsParamsSchema, null as AnalysisStats | null, async (p) => {
      const a = await analyzer.current(p.uri);
      return a ? { uri: a.uri, version: a.version, ...a.stats, totalComputed: analyzer.computedItems } : null;
    }),
  );

  connection.onShutdown(() => {
    jobs.dispose();
    analyzer.backend.dispose();
  });

  return {
    context: ctx,
    start() {
      // A bug in one handler is logged, never the end of the server.
      process.on('uncaughtException', (e) => connection.console.error(`eligo: uncaught: ${e.stack ?? String(e)}`));
      process.on('unhandledRejection', (e) => connection.console.error(`eligo: unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));
      workspace.documents.listen(connection);
      connection.listen();
    },
  };
}
