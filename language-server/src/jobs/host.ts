// The worker side of the job runner: receives one `start`, runs the kind,
// posts throttled progress and one final message. Cancellation arrives two
// ways: a shared flag (seen even by a job that never yields) and a `cancel`
// message (aborts `signal` for async work).

import {
  CANCEL_INDEX,
  JobRefused,
  MAX_TIMER_MS,
  JobUnavailable,
  type FromWorker,
  type JobContext,
  type JobKind,
  type JobReport,
  type ToWorker,
} from './types.js';

export interface Port {
  on(event: 'message', f: (m: ToWorker) => void): void;
  postMessage(m: FromWorker): void;
}

export function serveJobs(port: Port, kinds: ReadonlyMap<string, JobKind<never, unknown>>): void {
  const running = new Map<number, { abort: AbortController; flag: Int32Array }>();
  port.on('message', (m) => {
    if (m.type === 'cancel') {
      const r = running.get(m.jobId);
      if (r) {
        Atomics.store(r.flag, CANCEL_INDEX, 1);
        r.abort.abort(new Error('cancelled'));
      }
      return;
    }
    if (m.type !== 'start') return; // another service's message (the analysis host)
    const abort = new AbortController();
    running.set(m.jobId, { abort, flag: new Int32Array(m.cancel) });
    void runJob(port, kinds, m, abort).finally(() => running.delete(m.jobId));
  });
}

async function runJob(
  port: Port,
  kinds: ReadonlyMap<string, JobKind<never, unknown>>,
  m: Extract<ToWorker, { type: 'start' }>,
  abort: AbortController,
): Promise<void> {
  const { jobId } = m;
  const post = (msg: FromWorker): void => port.postMessage(msg);
  const kind = kinds.get(m.kind) as JobKind<unknown, unknown> | undefined;
  if (!kind) {
    post({ type: 'unavailable', jobId, message: `unknown job kind '${m.kind}' (known: ${[...kinds.keys()].join(', ')})` });
    return;
  }
  const flag = new Int32Array(m.cancel);
  // Cancelled: the shared flag (set by the runner, or above on a `cancel` message). The signal is
  // also aborted at the budget, which is not a cancel.
  const cancelled = (): boolean => Atomics.load(flag, CANCEL_INDEX) === 1;
  const overBudget = (): boolean => Date.now() >= m.deadline;
  let budgetTimer: NodeJS.Timeout | undefined;
  if (Number.isFinite(m.deadline)) {
    budgetTimer = setTimeout(() => abort.abort(new Error('budget')), Math.min(MAX_TIMER_MS, Math.max(0, m.deadline - Date.now())));
  }
  let lastSent = 0;
  let pending: JobReport | undefined;
  let lastBest: unknown;
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    if (!pending) return;
    post({ type: 'progress', jobId, report: pending });
    pending = undefined;
    lastSent = Date.now();
  };
  const ctx: JobContext = {
    get cancelled() {
      return cancelled();
    },
    get overBudget() {
      return overBudget();
    },
    get shouldStop() {
      return cancelled() || overBudget();
    },
    signal: abort.signal,
    get remainingMs() {
      return Math.max(0, m.deadline - Date.now());
    },
    report(r) {
      if (r.best !== undefined) lastBest = r.best;
      // Merge into the pending report so a throttled best is never lost.
      pending = { ...pending, ...r, ...(lastBest !== undefined ? { best: lastBest } : {}) };
      const now = Date.now();
      if (now - lastSent >= m.throttleMs) flush();
      else flushTimer ??= setTimeout(flush, m.throttleMs - (now - lastSent));
    },
    yield: () => new Promise((resolve) => setImmediate(resolve)),
  };
  try {
    const params = kind.parse(m.input);
    const estimate = kind.estimateBytes?.(m.input, params);
    if (estimate !== undefined && estimate > m.maxBytes) {
      throw new JobRefused(`the job would need about ${formatMiB(estimate)}, more than the ${formatMiB(m.maxBytes)} a job may use`, estimate);
    }
    const result = await kind.run(m.input, params, ctx);
    flush();
    post({ type: 'done', jobId, result, stopped: cancelled() ? 'cancelled' : overBudget() ? 'budget' : null });
  } catch (e) {
    flush();
    const message = (e as Error).message ?? String(e);
    if (e instanceof JobRefused) post({ type: 'refused', jobId, message });
    else if (e instanceof JobUnavailable) post({ type: 'unavailable', jobId, message });
    else if (cancelled() && lastBest !== undefined) post({ type: 'done', jobId, result: lastBest, stopped: 'cancelled' });
    else post({ type: 'failed', jobId, message, ...((e as Error).stack ? { detail: (e as Error).stack! } : {}) });
  } finally {
    if (budgetTimer) clearTimeout(budgetTimer);
    if (flushTimer) clearTimeout(flushTimer);
  }
}

function formatMiB(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.ceil(bytes / 1024 ** 2)} MiB`;
}
