// A real language-server process for the tests and the benchmark: spawns
// `node dist/server.js --stdio` and speaks JSON-RPC with
// vscode-languageserver-protocol, as an editor would. Diagnostics are
// collected per document version so a test can wait for the ones of the
// version it sent.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CancellationTokenSource,
  ConfigurationRequest,
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgressCreateRequest,
  type Diagnostic,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';

export const ROOT = join(__dirname, '..', '..');
export const SERVER_JS = join(ROOT, 'dist', 'server.js');

let built = false;

/**
 * Bundles dist/server.js and dist/worker.js as esbuild.mjs does (same
 * options), once per test process, so the tests run the code under test
 * even when another bundle of the repository does not build.
 */
export function buildServer(): void {
  if (built) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- esbuild loaded only when a test builds the server, and synchronously (buildServer is sync)
  const esbuild = require('esbuild') as typeof import('esbuild');
  const external = [
    'vscode',
    'h5wasm',
    'h5wasm/node',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-backend-cpu',
    'playwright-core',
  ];
  for (const [entry, out] of [
    ['language-server/src/server/main.ts', 'dist/server.js'],
    ['language-server/src/worker.ts', 'dist/worker.js'],
  ] as const) {
    esbuild.buildSync({
      entryPoints: [join(ROOT, entry)],
      outfile: join(ROOT, out),
      bundle: true,
      sourcemap: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external,
      logLevel: 'error',
      legalComments: 'none',
    });
  }
  built = true;
}

export interface ClientOptions {
  /** What `workspace/configuration` answers for the section `eligo`. */
  readonly settings?: Record<string, unknown>;
  readonly env?: Record<string, string>;
  /** Sent as `initializationOptions` (default `{}`: nothing said about trust, so untrusted). */
  readonly initializationOptions?: Record<string, unknown>;
  /** Workspace folder URIs (`workspaceFolders` of initialize). */
  readonly workspaceFolders?: readonly string[];
  /** Another entry script in front of the server (a profiler's wrapper). */
  readonly script?: string;
}

export class LspClient {
  readonly child: ChildProcess;
  readonly connection: ProtocolConnection;
  /** Every publishDiagnostics, in arrival order. */
  readonly published: PublishDiagnosticsParams[] = [];
  readonly logs: string[] = [];
  readonly notifications: { method: string; params: unknown }[] = [];
  settings: Record<string, unknown>;
  private readonly versions = new Map<string, number>();
  private waiters: { uri: string; version: number; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  exited = false;
  stderr = '';
  /** What the server answered to `initialize`. */
  initResult: { capabilities: Record<string, unknown>; serverInfo?: { name: string } } | undefined;

  constructor(options: ClientOptions = {}) {
    if (!existsSync(SERVER_JS)) throw new Error(`${SERVER_JS} is missing: run 'node esbuild.mjs' first`);
    this.settings = options.settings ?? {};
    this.child = spawn(process.execPath, [options.script ?? SERVER_JS, '--stdio'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.child.on('exit', () => {
      this.exited = true;
    });
    this.connection = createProtocolConnection(new StreamMessageReader(this.child.stdout!), new StreamMessageWriter(this.child.stdin!));
    this.connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      this.published.push(p);
      this.waiters = this.waiters.filter((w) => {
        if (w.uri === p.uri && (p.version ?? -1) >= w.version) {
          w.resolve(p);
          return false;
        }
        return true;
      });
    });
    this.connection.onNotification(LogMessageNotification.type, (p) => {
      this.logs.push(p.message);
    });
    for (const method of ['eligo/jobProgress', 'eligo/status', '$/progress']) {
      this.connection.onNotification(method, (params: unknown) => {
        this.notifications.push({ method, params });
      });
    }
    this.connection.onRequest(ConfigurationRequest.type, (p) => p.items.map((i) => (i.section === 'eligo' ? this.settings : null)));
    this.connection.onRequest(RegistrationRequest.type, () => undefined);
    this.connection.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
    this.connection.onRequest('workspace/codeLens/refresh', () => undefined);
    this.connection.listen();
  }

  static async start(options: ClientOptions = {}): Promise<LspClient> {
    const c = new LspClient(options);
    c.initResult = (await c.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: options.workspaceFolders?.[0] ?? null,
      ...(options.workspaceFolders ? { workspaceFolders: options.workspaceFolders.map((u, i) => ({ uri: u, name: `folder${i}` })) } : {}),
      capabilities: {
        workspace: { configuration: true, codeLens: { refreshSupport: true } },
        window: { workDoneProgress: true },
        textDocument: { publishDiagnostics: { relatedInformation: true, versionSupport: true } },
      },
      initializationOptions: options.initializationOptions ?? {},
    })) as unknown as LspClient['initResult'];
    await c.connection.sendNotification(InitializedNotification.type, {});
    return c;
  }

  async open(uri: string, text: string, version = 1): Promise<void> {
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'eligo', version, text } });
  }

  /** Replace the whole text; returns the new version. */
  async replace(uri: string, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
    return version;
  }

  /** An incremental edit (LSP positions); returns the new version. */
  async edit(uri: string, range: { start: { line: number; character: number }; end: { line: number; character: number } }, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ range, text }] });
    return version;
  }

  version(uri: string): number {
    return this.versions.get(uri) ?? 0;
  }

  async close(uri: string): Promise<void> {
    this.versions.delete(uri);
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  /** The first diagnostics published for `version` or later. */
  diagnostics(uri: string, version = this.version(uri), timeoutMs = 10000): Promise<PublishDiagnosticsParams> {
    const hit = [...this.published].reverse().find((p) => p.uri === uri && (p.version ?? -1) >= version);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} v${version} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        uri,
        version,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
    });
  }

  /**
   * The diagnostics of the document's current version once its analysis is
   * done: `eligo/analysisStats` answers after the analysis, and the server
   * publishes the full diagnostics before it answers.
   */
  async settledDiagnostics(uri: string): Promise<Diagnostic[]> {
    const version = this.version(uri);
    await this.diagnostics(uri, version);
    await this.request('eligo/analysisStats', { uri });
    return [...this.published].reverse().find((p) => p.uri === uri && (p.version ?? -1) >= version)!.diagnostics;
  }

  request<R>(method: string, params: unknown, token?: CancellationTokenSource): Promise<R> {
    return token ? this.connection.sendRequest(method, params, token.token) : this.connection.sendRequest(method, params);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    try {
      await Promise.race([this.connection.sendRequest(ShutdownRequest.type), new Promise((r) => setTimeout(r, 2000))]);
      await this.connection.sendNotification(ExitNotification.type);
    } catch {
      // The process may already be gone.
    }
    await new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      const t = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, 2000);
      this.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.connection.dispose();
  }
}

export { CancellationTokenSource };

/** A diagnostic's text: LSP 3.18 lets `message` be markup as well as a string. */
export function messageText(d: Diagnostic): string {
  return typeof d.message === 'string' ? d.message : d.message.value;
}
