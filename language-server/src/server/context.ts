// The one object the features share (rust-analyzer's `ctx.ts`): the
// connection, the open documents, the settings, the incremental analyser and
// the job runner. Each feature module registers its handlers on it.

import { ErrorCodes, LSPErrorCodes, ResponseError, type CancellationToken, type Connection } from 'vscode-languageserver/node';
import type { z } from 'zod';
import { validate, type EligoSettings, type JobStatus, type SearchResult, type TrainResult } from '../protocol.js';
import type { JobRunner } from '../jobs/runner.js';
import type { Analyzer } from './analysis.js';
import type { Workspace } from './documents.js';
import type { Settings } from './settings.js';
import type { Trust } from './trust.js';
import { EligoError } from '../util/errors.js';

export interface ClientSupport {
  configuration: boolean;
  workDoneProgress: boolean;
  codeLensRefresh: boolean;
  inlayHintRefresh: boolean;
}

export type LastRun =
  | { readonly kind: 'search'; readonly key: string; readonly status: JobStatus; readonly result: SearchResult; readonly settings: EligoSettings }
  | { readonly kind: 'train'; readonly key: string; readonly status: JobStatus; readonly result: TrainResult; readonly settings: EligoSettings }
  /** A rule's accuracy measured by find-rule, keyed by the rule's signature (rules/rule.ts ruleSignature), not its name. */
  | {
      readonly kind: 'measured';
      readonly key: string;
      readonly accuracy: number;
      readonly trainAccuracy?: number;
      readonly task: string;
      readonly updates: number;
      readonly at: string;
    };

export const runKey = (uri: string, item: string, kind: LastRun['kind']): string => `${uri}#${item}#${kind}`;

export interface ServerContext {
  readonly connection: Connection;
  readonly workspace: Workspace;
  readonly settings: Settings;
  readonly analyzer: Analyzer;
  readonly jobs: JobRunner;
  readonly client: ClientSupport;
  /** The workspace's trust and folders, as the client said. */
  readonly trust: Trust;
  /**
   * The last finished search and training of each item (`uri#item#kind`),
   * shown in its code lens while the item's text (its analysis key) is unchanged.
   */
  readonly lastRuns: Map<string, LastRun>;
}

/**
 * A request about a document version that a newer edit has replaced: answered
 * with LSP's ContentModified instead of being computed (the client asks again
 * for the new text), so a burst of edits does not queue a burst of stale work.
 */
export class StaleRequest extends EligoError {
  constructor(readonly uri: string) {
    super('server.stale-request', `${uri} changed while the request waited`);
  }
}

/**
 * Wraps a handler so that a bug in one feature answers `fallback` (and logs)
 * instead of failing the request or the server: every request gets a response.
 * A request cancelled before it starts, or made stale by a newer edit, is
 * answered at once with RequestCancelled / ContentModified.
 */
export function guarded<P, R>(
  ctx: { connection: Connection },
  name: string,
  fallback: R,
  handler: (params: P, token: CancellationToken) => R | Promise<R>,
): (params: P, token: CancellationToken) => Promise<R> {
  return async (params, token) => {
    // Cast: vscode-languageserver answers a returned ResponseError as the error it is.
    if (token?.isCancellationRequested) return new ResponseError(LSPErrorCodes.RequestCancelled, `${name}: cancelled`) as unknown as R;
    try {
      return await handler(params, token);
    } catch (e) {
      if (e instanceof StaleRequest) return new ResponseError(LSPErrorCodes.ContentModified, `${name}: ${e.message}`) as unknown as R;
      ctx.connection.console.error(`eligo: ${name} failed: ${(e as Error).stack ?? String(e)}`);
      return fallback;
    }
  };
}

/**
 * A custom request's handler behind its schema (protocol/params.ts): params
 * that do not match are answered with a JSON-RPC InvalidParams error naming
 * the field (and logged), and a failing handler answers `fallback` and logs
 * its stack: every request gets a response, and no stack reaches the client.
 */
export function validated<P, R>(
  ctx: { connection: Connection },
  name: string,
  schema: z.ZodType<P>,
  fallback: R,
  handler: (params: P, token: CancellationToken) => R | Promise<R>,
): (params: unknown, token: CancellationToken) => Promise<R | ResponseError<void>> {
  const run = guarded(ctx, name, fallback, handler);
  return async (raw, token) => {
    const v = validate(schema, raw);
    if (!v.ok) {
      ctx.connection.console.warn(`eligo: ${name}: invalid params: ${v.message}`);
      return new ResponseError(ErrorCodes.InvalidParams, `${name}: ${v.message}`);
    }
    return run(v.value, token);
  };
}
