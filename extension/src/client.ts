// The language client: starts the bundled server (dist/server.js) in a Node
// process of its own, talking over IPC, and restarts it when it dies, with a
// notice (restart.ts decides how often). Its log goes to the 'Eligo' output
// channel; the LSP traffic to 'Eligo LSP Trace' when `eligo.trace.server` is on.

import * as vscode from 'vscode';
import { CloseAction, ErrorAction, LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import type { InitializationOptions } from '../../language-server/src/protocol.js';
import { serverSettings, type ExtensionConfig } from './config.js';
import { RestartPolicy } from './restart.js';

export const CLIENT_ID = 'eligo';

export interface ClientHooks {
  /** Shown when the server died; `restarting` false means it stays down. */
  onServerDied(message: string, restarting: boolean): void;
}

export function createClient(
  context: vscode.ExtensionContext,
  config: ExtensionConfig,
  output: vscode.LogOutputChannel,
  trace: vscode.LogOutputChannel,
  policy: RestartPolicy,
  hooks: ClientHooks,
): LanguageClient {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { execArgv: [...config.server.execArgv] } },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: [...config.server.execArgv, '--nolazy', '--inspect=6019'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'eligo' },
      { scheme: 'untitled', language: 'eligo' },
      { scheme: 'vscode-remote', language: 'eligo' },
    ],
    // The server pulls `workspace/configuration` for section `eligo`; it gets
    // the same settings at start-up so the first analysis is already right.
    // Trust is said explicitly: a server told nothing reads no data files.
    initializationOptions: { settings: serverSettings(config), trusted: vscode.workspace.isTrusted } satisfies InitializationOptions,
    synchronize: { configurationSection: 'eligo' },
    outputChannel: output,
    traceOutputChannel: trace,
    // Diagnostics keep flowing while a search runs (DESIGN.md); a slow
    // answer is not an error.
    errorHandler: {
      error: () => ({ action: ErrorAction.Continue }),
      closed: () => {
        const d = policy.onClosed(Date.now());
        output.warn(d.message);
        hooks.onServerDied(d.message, d.restart);
        return { action: d.restart ? CloseAction.Restart : CloseAction.DoNotRestart, handled: true };
      },
    },
  };
  return new LanguageClient(CLIENT_ID, 'Eligo Language Server', serverOptions, clientOptions);
}
