// The one object the features share (rust-analyzer's `ctx.ts`): the
// connection, the open documents, the settings, the incremental analyser and
// the job runner. Each feature module registers its handlers on it.

import { ErrorCodes, ResponseError, type CancellationToken, type Connection } from 'vscode-languageserver/node';
import type { z } from 'zod';
import { validate, type EligoSettings, type JobStatus, type SearchResult, type TrainResult } from '../protocol.js';
import type { JobRunner } from '../jobs/runner.js';
import type { Analyzer } from './analysis.js';
import type { Workspace } from './documents.js';
import type { Settings } from './settings.js';
import type { Trust } from './trust.js';

export interface ClientSupport {
  configuration: boolean;
  workDoneProgress: boolean;
  codeLensRefresh: boolean;
  inlayHintRefresh: boolean;
}

export type LastRun =
  | { readonly kind: 'search'; readonly key: string; readonly status: JobStatus; readonly result: SearchResult; readonly settings: EligoSettings }
  | { readonly kind: 'train'; readonly key: string; readonly status: JobStatus; readonly result: TrainResult; readonly settings: EligoSettings };

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
 * Wraps a handler so that a bug in one feature answers `fallback` (and logs)
 * instead of failing the request or the server: every request gets a response.
 */
export function guarded<P, R>(
  ctx: { connection: Connection },
  name: string,
  fallback: R,
  handler: (params: P, token: CancellationToken) => R | Promise<R>,
): (params: P, token: CancellationToken) => Promise<R> {
  return async (params, token) => {
    try {
      return await handler(params, token);
    } catch (e) {
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
