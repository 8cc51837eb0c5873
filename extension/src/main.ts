// Activation: build the context, register the commands, start the server.
// Everything else lives in ctx.ts (state) and commands.ts (behaviour).

import type * as vscode from 'vscode';
import { registerCommands } from './commands.js';
import { Ctx } from './ctx.js';

let ctx: Ctx | undefined;

// A Promise because the e2e tests and the API contract await activation; nothing here awaits.
export function activate(context: vscode.ExtensionContext): Promise<{ ctx: Ctx }> {
  ctx = new Ctx(context);
  context.subscriptions.push(ctx, ...registerCommands(ctx));
  ctx.output.info(`Eligo ${String((context.extension.packageJSON as { version?: string }).version)} activating (extension host Node ${process.version}).`);
  // Do not fail activation when the server does not start: the commands
  // still register, the status bar says so, and Restart Server can retry.
  ctx.start().then(
    () => ctx?.output.info('Language server started.'),
    (e: unknown) => ctx?.output.error(`Language server failed to start: ${(e as Error).message}`),
  );
  return Promise.resolve({ ctx });
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  if (c?.client) await c.client.stop(2000).catch(() => undefined);
}
