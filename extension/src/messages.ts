// Validation of what crosses a process or a trust boundary: messages from the
// webview, panel state restored by the serializer, the server's job results.
// `unknown` in, typed or undefined out (STYLE.md). Pure; tested without VS Code.

import type { GraphViewRequest } from '../../language-server/src/layout/viewmodel.js';
import type {
  GraphParams,
  GraphWebviewMessage,
  JobProgress,
  JobResult,
  LearningRuleResult,
  PanelState,
  RuleCandidate,
} from '../../language-server/src/protocol.js';

/** Everything the webview may send the host. */
export type HostBoundMessage = GraphWebviewMessage;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPos(v: unknown): boolean {
  return isObj(v) && Number.isInteger(v.line) && Number.isInteger(v.character) && (v.line as number) >= 0 && (v.character as number) >= 0;
}

function isRange(v: unknown): boolean {
  return isObj(v) && isPos(v.start) && isPos(v.end);
}

const VIEWS = ['graph', 'rules', 'search', 'train'] as const;

/**
 * The panel state the serializer gets back: the graph webview keeps it as
 * `GraphWebviewState.panel`; a bare PanelState is accepted too.
 */
export function parsePanelState(saved: unknown): PanelState | undefined {
  const v = isObj(saved) && isObj(saved.panel) ? saved.panel : saved;
  if (!isObj(v) || typeof v.uri !== 'string' || typeof v.item !== 'string' || v.uri === '') return undefined;
  const view = (VIEWS as readonly unknown[]).includes(v.view) ? (v.view as PanelState['view']) : 'graph';
  const expand = Array.isArray(v.expand) ? v.expand.filter((e): e is string => typeof e === 'string') : undefined;
  return {
    uri: v.uri,
    item: v.item,
    view,
    ...(typeof v.collapsed === 'boolean' ? { collapsed: v.collapsed } : {}),
    ...(expand ? { expand } : {}),
  };
}

export function parseCandidate(v: unknown): RuleCandidate | undefined {
  if (!isObj(v) || typeof v.name !== 'string' || typeof v.text !== 'string' || v.text.trim() === '') return undefined;
  return v as unknown as RuleCandidate;
}

/** Commands a webview may ask the host to run on its item: nothing else. */
export const WEBVIEW_COMMANDS = ['eligo.showGraph', 'eligo.findLearningRule', 'eligo.searchOrder', 'eligo.train', 'eligo.exportGraph'] as const;

export function parseWebviewMessage(v: unknown): HostBoundMessage | undefined {
  if (!isObj(v) || typeof v.type !== 'string') return undefined;
  switch (v.type) {
    case 'ready':
    case 'cancel':
      return { type: v.type };
    case 'insertRule': {
      const candidate = parseCandidate(v.candidate);
      return candidate ? { type: 'insertRule', candidate } : undefined;
    }
    case 'reveal':
      return isRange(v.range) ? { type: 'reveal', range: v.range as never } : undefined;
    case 'expand':
      if (typeof v.collapsed !== 'boolean' || !Array.isArray(v.expand)) return undefined;
      return { type: 'expand', collapsed: v.collapsed, expand: v.expand.filter((e): e is string => typeof e === 'string') };
    case 'requestView': {
      const request = parseViewRequest(v.request);
      return request ? { type: 'requestView', request } : undefined;
    }
    case 'command':
      return typeof v.command === 'string' && (WEBVIEW_COMMANDS as readonly string[]).includes(v.command) ? { type: 'command', command: v.command } : undefined;
    default:
      return undefined;
  }
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : undefined);

export function parseViewRequest(v: unknown): GraphViewRequest | undefined {
  if (!isObj(v) || typeof v.item !== 'string' || v.item === '') return undefined;
  const expand = strings(v.expand);
  const collapseGroups = strings(v.collapseGroups);
  return {
    item: v.item,
    ...(v.view === 'step' || v.view === 'unrolled' ? { view: v.view } : {}),
    ...(Number.isInteger(v.steps) && (v.steps as number) >= 1 ? { steps: v.steps as number } : {}),
    ...(v.collapse === 'auto' || v.collapse === 'all' || v.collapse === 'none' ? { collapse: v.collapse } : {}),
    ...(expand ? { expand } : {}),
    ...(collapseGroups ? { collapseGroups } : {}),
  };
}

/** The `eligo/graph` parameters for a panel's item, or for a view the webview asked for. */
export function graphParamsFor(state: PanelState, request?: GraphViewRequest): GraphParams {
  if (!request) {
    return {
      uri: state.uri,
      item: state.item,
      ...(state.collapsed !== undefined ? { collapsed: state.collapsed } : {}),
      ...(state.expand ? { expand: state.expand } : {}),
    };
  }
  return {
    uri: state.uri,
    item: request.item,
    ...(request.view === 'unrolled' ? { unroll: request.steps ?? 3 } : {}),
    ...(request.collapse === 'all' ? { collapsed: true } : request.collapse === 'none' ? { collapsed: false } : {}),
    ...(request.expand ? { expand: request.expand } : {}),
    // Not (yet) in GraphParams: the server may read it for groups collapsed against the default.
    ...(request.collapseGroups ? { collapseGroups: request.collapseGroups } : {}),
  };
}

/**
 * The Pareto front of a Find Learning Rule result: `result.front` when the
 * server sends one, else the single rule it returned.
 */
export function paretoFront(job: JobResult<LearningRuleResult> | undefined): RuleCandidate[] {
  const r = job?.result;
  if (!r) return [];
  const front = Array.isArray(r.front) ? r.front.map(parseCandidate).filter((c): c is RuleCandidate => c !== undefined) : [];
  if (front.length > 0) return front;
  const one = parseCandidate(r);
  return one ? [one] : [];
}

/** A `JobProgress` notification, checked. */
export function parseProgress(v: unknown): JobProgress | undefined {
  if (!isObj(v) || !Number.isInteger(v.jobId) || typeof v.kind !== 'string') return undefined;
  return v as unknown as JobProgress;
}

/** Human figures for the summary line: 1234567 → "1.23 M". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toPrecision(3)} G`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(3)} M`;
  if (a >= 1e4) return `${(n / 1e3).toPrecision(3)} k`;
  return String(Math.round(n));
}

/** Bytes as everything in Eligo prints them (the engine's formatter). */
export { formatBytes } from '../../language-server/src/util/units.js';

/** One line describing how a job ended, for notifications. */
export function jobSummary(what: string, job: Pick<JobResult<unknown>, 'status' | 'message' | 'elapsedMs'>): string {
  const secs = `${(job.elapsedMs / 1000).toFixed(1)} s`;
  switch (job.status) {
    case 'done':
      return `${what}: done in ${secs}.`;
    case 'budget':
      return `${what}: time budget reached after ${secs}; showing the best found.`;
    case 'cancelled':
      return `${what}: cancelled after ${secs}; showing the best found so far.`;
    case 'refused':
      return `${what}: not started — ${job.message ?? 'refused by the server'}.`;
    case 'unavailable':
      return `${what}: not available in this server — ${job.message ?? 'the engine for it is not built'}.`;
    case 'failed':
      return `${what} failed: ${job.message ?? 'unknown error'}.`;
  }
}
