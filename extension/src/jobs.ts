// The long jobs this window started (search, find learning rule, train), so
// the status bar can show them and a click can cancel them. Pure (no VS Code
// import), tested in test/extension.status.test.ts.

export type JobKind = 'search' | 'findLearningRule' | 'train';

export interface RunningJob {
  readonly id: number;
  readonly kind: JobKind;
  /** "Find learning rule for lif". */
  readonly title: string;
  /** The latest progress line ("best 320 mults after 1,200 orders"). */
  message?: string;
  percentage?: number;
  readonly startedAt: number;
  readonly cancel: () => void;
}

export class JobRegistry {
  private next = 1;
  private readonly jobs = new Map<number, RunningJob>();
  private readonly listeners = new Set<() => void>();

  start(kind: JobKind, title: string, cancel: () => void, now = Date.now()): RunningJob {
    const job: RunningJob = { id: this.next++, kind, title, startedAt: now, cancel };
    this.jobs.set(job.id, job);
    this.changed();
    return job;
  }

  progress(id: number, message: string | undefined, percentage?: number): void {
    const job = this.jobs.get(id);
    if (!job) return;
    if (message !== undefined) job.message = message;
    if (percentage !== undefined) job.percentage = percentage;
    this.changed();
  }

  finish(id: number): void {
    if (this.jobs.delete(id)) this.changed();
  }

  /** Cancels every running job (the status bar click); returns how many. */
  cancelAll(): number {
    const all = [...this.jobs.values()];
    for (const j of all) j.cancel();
    return all.length;
  }

  cancel(id: number): boolean {
    const j = this.jobs.get(id);
    if (!j) return false;
    j.cancel();
    return true;
  }

  get running(): readonly RunningJob[] {
    return [...this.jobs.values()];
  }

  /** Whether a job of this kind runs now (one search at a time per kind). */
  has(kind: JobKind): boolean {
    return this.running.some((j) => j.kind === kind);
  }

  onChange(f: () => void): { dispose(): void } {
    this.listeners.add(f);
    return { dispose: () => this.listeners.delete(f) };
  }

  private changed(): void {
    for (const f of this.listeners) f();
  }
}

/** Compute backend of the server's tensor work (DESIGN.md): native, wasm, or plain JS. */
export type Backend = 'tfjs-node' | 'wasm' | 'cpu';

export interface StatusView {
  readonly text: string;
  readonly tooltip: string;
  /** Command run on click: cancel when a job runs, else show the log. */
  readonly command: 'eligo.cancelJob' | 'eligo.showOutput';
  readonly busy: boolean;
}

export type ServerState = 'starting' | 'running' | 'stopped';

/** What the status bar item shows for a backend, a server state and the running jobs. */
/** The job queue as the server reports it (`eligo/status`). */
export interface QueueView {
  readonly url: string;
  readonly workers: number;
  readonly slots: number;
  readonly names?: readonly string[];
  readonly error?: string;
}

/** The status bar's words for the queue: ` · 3 workers`, and a tooltip line. */
export function queueText(q: QueueView | undefined): { text: string; tooltip: string } {
  if (!q) return { text: '', tooltip: '' };
  if (q.error) return { text: ' · $(warning) queue', tooltip: `Job queue ${q.url}: ${q.error}` };
  const names = q.names?.length ? `: ${q.names.join(', ')}` : '';
  return {
    text: ` · $(server-environment) ${q.workers} worker${q.workers === 1 ? '' : 's'}`,
    tooltip: `Job queue ${q.url}: ${q.workers} worker${q.workers === 1 ? '' : 's'} connected, ${q.slots} task${q.slots === 1 ? '' : 's'} at a time${names}`,
  };
}

export function statusView(backend: Backend | undefined, server: ServerState, jobs: readonly RunningJob[], now = Date.now(), queue?: QueueView): StatusView {
  const v = statusViewOf(backend, server, jobs, now);
  const q = queueText(server === 'stopped' ? undefined : queue);
  return q.text ? { ...v, text: v.text + q.text, tooltip: `${v.tooltip}\n${q.tooltip}` } : v;
}

function statusViewOf(backend: Backend | undefined, server: ServerState, jobs: readonly RunningJob[], now: number): StatusView {
  // The server loads TensorFlow.js on the first job that needs it; until then there is no backend to name.
  const be = backend ?? '';
  if (server === 'stopped') {
    return {
      text: '$(error) Eligo: stopped',
      tooltip: 'The Eligo language server is not running. Click to show its log; run "Eligo: Restart Server" to start it.',
      command: 'eligo.showOutput',
      busy: false,
    };
  }
  if (jobs.length === 0) {
    const tip = backend
      ? `Eligo compute backend: ${backend}${backend === 'cpu' ? ' (plain JavaScript; slowest)' : backend === 'wasm' ? ' (WebAssembly)' : ' (native TensorFlow)'}. No job running. Click to show the log.`
      : 'Eligo: TensorFlow.js loads with the first job that needs it (tfjs-node, else wasm, else cpu). Click to show the log.';
    return {
      text: `${server === 'starting' ? '$(loading~spin)' : '$(circuit-board)'} Eligo${be ? `: ${be}` : ''}`,
      tooltip: tip,
      command: 'eligo.showOutput',
      busy: false,
    };
  }
  const first = jobs[0]!;
  const secs = Math.max(0, Math.round((now - first.startedAt) / 1000));
  const more = jobs.length > 1 ? ` (+${jobs.length - 1})` : '';
  const pct = first.percentage !== undefined ? ` ${Math.round(first.percentage)}%` : '';
  const lines = jobs.map((j) => `• ${j.title}${j.message ? `: ${j.message}` : ''}`);
  return {
    text: `$(sync~spin) Eligo: ${first.title}${pct}${more} · ${secs}s${be ? ` · ${be}` : ''}`,
    tooltip: [`Compute backend: ${be || 'not loaded yet'}`, ...lines, 'Click to cancel.'].join('\n'),
    command: 'eligo.cancelJob',
    busy: true,
  };
}
