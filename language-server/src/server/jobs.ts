// The long requests — `eligo/search`, `eligo/findLearningRule`,
// `eligo/train` and the generic `eligo/runJob` — as jobs in worker threads
// (jobs/runner.ts). Each streams LSP work-done progress and the structured
// `eligo/jobProgress` notification, stops on `$/cancelRequest` within the
// runner's grace period, and answers with the best so far. The main loop
// stays free: diagnostics, hovers and lenses keep flowing during a search.

import type { CancellationToken, ProgressToken } from 'vscode-languageserver/node';
import {
  FindLearningRuleRequest, JobProgressNotification, type ComputeBackend, RunJobRequest, SearchRequest, ServerStatusNotification, TrainRequest,
  type FindLearningRuleParams, type JobResult, type RunJobParams, type SearchParams, type SearchResult, type TrainParams, type TrainResult,
} from '../protocol.js';
import { refreshCodeLenses } from './codeLens.js';
import { guarded, runKey, type ServerContext } from './context.js';
import { queueStatus, watchQueue } from './queueStatus.js';

/** Progress titles; the kinds themselves live in the worker bundle. */
const JOB_TITLES: Readonly<Record<string, string>> = {
  search: 'Searching elimination orders',
  findLearningRule: 'Finding a learning rule',
  train: 'Training',
  probe: 'Probe job',
};

/** Jobs running now, for the `eligo/status` notification (status bar). */
const running = new Map<number, { jobId: number; kind: string; item?: string; message?: string }>();

/**
 * The compute backend for the status bar: what the last training run used;
 * before any run, wasm when tfjs-node is not installed (the engine's first
 * fallback, always installed), else unknown until a run loads it.
 */
let backend: ComputeBackend | undefined = tfjsNodeInstalled() ? undefined : 'wasm';

function tfjsNodeInstalled(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

export function sendStatus(ctx: Pick<ServerContext, 'connection'>): void {
  const queue = queueStatus();
  void ctx.connection.sendNotification(ServerStatusNotification.method, { ...(backend ? { backend } : {}), jobs: [...running.values()], ...(queue ? { queue } : {}) });
}

/**
 * How long a stopped job may take to hand back its result before it is
 * terminated: the search engine stops its own threads (and kills a slow one
 * after 120 ms), so the engines get a little longer than the runner's default.
 */
const JOB_GRACE_MS: Readonly<Record<string, number>> = { search: 150, findLearningRule: 150 };

interface JobRequest {
  readonly uri?: string;
  readonly item?: string;
  readonly workDoneToken?: ProgressToken;
}

export async function runJobRequest(
  ctx: ServerContext,
  kind: string,
  p: JobRequest,
  params: unknown,
  budgetSeconds: number | undefined,
  token: CancellationToken,
): Promise<JobResult<unknown>> {
  const settings = ctx.settings.value;
  const refused = (message: string): JobResult<unknown> => ({ jobId: 0, kind, status: 'refused', message, elapsedMs: 0, settings });
  let text: string | undefined;
  let itemName = p.item;
  let key: string | undefined;
  if (p.uri !== undefined) {
    const snap = ctx.workspace.snapshot(p.uri);
    if (!snap) return refused(`${p.uri} is not open in the editor`);
    const item = snap.item(p.item);
    if (!item) {
      const names = snap.compiled.items.map((i) => i.name).join(', ');
      return refused(p.item !== undefined ? `no item named '${p.item}' in the file (it has: ${names || 'none'})` : 'the file has no function or model');
    }
    if (item.hasErrors) return refused(`'${item.name}' has errors; fix them first`);
    text = snap.text;
    itemName = item.name;
    const a = await ctx.analyzer.current(p.uri);
    key = a?.items.find((r) => r.item.name === item.name)?.key;
  }
  const reporter = ctx.connection.window.attachWorkDoneProgress(p.workDoneToken);
  const title = `${JOB_TITLES[kind] ?? kind}${itemName ? ` — ${itemName}` : ''}`;
  reporter.begin(title, 0, 'starting', true);
  const queueUrl = ctx.settings.queueUrl;
  const handle = ctx.jobs.start(kind, { ...(p.uri !== undefined ? { uri: p.uri } : {}), ...(text !== undefined ? { text } : {}), ...(itemName !== undefined ? { item: itemName } : {}), settings, params, ...(queueUrl ? { queueUrl } : {}) }, {
    ...(budgetSeconds !== undefined ? { budgetMs: budgetSeconds * 1000 } : {}),
    ...(JOB_GRACE_MS[kind] !== undefined ? { graceMs: JOB_GRACE_MS[kind] } : {}),
    onProgress: (r, jobId) => {
      reporter.report(r.percentage !== undefined ? Math.round(r.percentage) : 0, r.message ?? '');
      void ctx.connection.sendNotification(JobProgressNotification.method, {
        jobId, kind, ...(p.uri !== undefined ? { uri: p.uri } : {}), ...(itemName !== undefined ? { item: itemName } : {}), ...r,
      });
    },
  });
  running.set(handle.jobId, { jobId: handle.jobId, kind, ...(itemName !== undefined ? { item: itemName } : {}) });
  sendStatus(ctx);
  const sub = token.onCancellationRequested(() => handle.cancel());
  if (token.isCancellationRequested) handle.cancel();
  const o = await handle.done;
  sub.dispose();
  reporter.done();
  running.delete(handle.jobId);
  const used = kind === 'train' ? (o.result as TrainResult | undefined)?.computeBackend : undefined;
  if (used) backend = used;
  sendStatus(ctx);
  if (p.uri !== undefined && itemName !== undefined && key !== undefined && o.result !== undefined && (o.status === 'done' || o.status === 'cancelled' || o.status === 'budget')) {
    if (kind === 'search') ctx.lastRuns.set(runKey(p.uri, itemName, 'search'), { kind: 'search', key, status: o.status, result: o.result as SearchResult, settings });
    if (kind === 'train') ctx.lastRuns.set(runKey(p.uri, itemName, 'train'), { kind: 'train', key, status: o.status, result: o.result as TrainResult, settings });
    if (kind === 'findLearningRule') {
      // Every rule find-rule trained: its accuracy shows in the lens of any rule item with the same approximations and schedule.
      const front = (o.result as { front?: readonly Record<string, unknown>[] }).front ?? [];
      for (const c of front) {
        if (typeof c.signature !== 'string' || typeof c.accuracy !== 'number' || typeof c.task !== 'string') continue;
        ctx.lastRuns.set(runKey(p.uri, c.signature, 'measured'), {
          kind: 'measured', key: c.signature, accuracy: c.accuracy, task: c.task, updates: typeof c.updates === 'number' ? c.updates : 0,
          ...(typeof c.trainAccuracy === 'number' ? { trainAccuracy: c.trainAccuracy } : {}), at: new Date().toISOString(),
        });
      }
    }
    if (kind === 'search' || kind === 'train' || kind === 'findLearningRule') refreshCodeLenses(ctx);
  }
  return {
    jobId: o.jobId, kind, status: o.status, ...(o.result !== undefined ? { result: o.result } : {}),
    ...(o.message !== undefined ? { message: o.message } : {}), elapsedMs: Math.round(o.elapsedMs), settings,
  };
}

function failed(kind: string, ctx: ServerContext): JobResult<never> {
  return { jobId: 0, kind, status: 'failed', message: 'internal error (see the server log)', elapsedMs: 0, settings: ctx.settings.value };
}

export function registerJobs(ctx: ServerContext): void {
  const c = ctx.connection;
  // The status bar's worker count: watched while eligo.queue.redis is set.
  watchQueue(() => ctx.settings.queueUrl, () => sendStatus(ctx));
  ctx.settings.onChange(() => watchQueue(() => ctx.settings.queueUrl, () => sendStatus(ctx)));
  c.onRequest(SearchRequest.method, guarded(ctx, 'eligo/search', failed('search', ctx), (p: SearchParams, token) =>
    runJobRequest(ctx, 'search', p, { objective: p.objective, strategy: p.strategy, seed: p.seed }, p.budgetSeconds ?? ctx.settings.value.search.budgetSeconds, token)));
  c.onRequest(FindLearningRuleRequest.method, guarded(ctx, 'eligo/findLearningRule', failed('findLearningRule', ctx), (p: FindLearningRuleParams, token) =>
    runJobRequest(ctx, 'findLearningRule', p, { objective: p.objective, seed: p.seed }, p.budgetSeconds ?? ctx.settings.value.search.budgetSeconds, token)));
  c.onRequest(TrainRequest.method, guarded(ctx, 'eligo/train', failed('train', ctx), (p: TrainParams, token) =>
    runJobRequest(ctx, 'train', p, { ...ctx.settings.value.train, ...stripUndefined({ task: p.task, steps: p.steps, epochs: p.epochs, learningRate: p.learningRate, seed: p.seed }) }, undefined, token)));
  c.onRequest(RunJobRequest.method, guarded(ctx, 'eligo/runJob', failed('runJob', ctx), (p: RunJobParams, token) =>
    runJobRequest(ctx, String(p.kind), p, p.params, p.budgetSeconds, token)));
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
