// The messages between the panel host (extension/src/panel.ts) and the
// webview (webview/src/), exchanged with `postMessage` after the webview's
// `ready` (the handshake of sprotty-vscode). Its picture is a GraphViewModel
// laid out by layout/ (`graphView`) where the engine runs; the webview renders
// it and computes nothing but pixels.

import type { Position, Range } from 'vscode-languageserver-protocol';
import type { GraphViewModel, GraphViewRequest, OrderTrace } from '../layout/viewmodel.js';
import type { GraphResult, JobProgress, JobResult, LearningRuleResult, RuleCandidate, SearchResult, TrainResult } from './results.js';

/** What a panel shows; kept by the webview with `setState` so the panel survives a reload. */
export interface PanelState {
  readonly uri: string;
  readonly item: string;
  readonly view: 'graph' | 'rules' | 'search' | 'train';
  readonly collapsed?: boolean;
  readonly expand?: readonly string[];
}

/** Panel host → webview. */
export type PanelHostMessage =
  /** Answer to `ready`: what this panel is about; data follows in the other messages. */
  | { readonly type: 'init'; readonly state: PanelState; readonly theme?: 'light' | 'dark' | 'high-contrast' }
  | { readonly type: 'graph'; readonly result: GraphResult }
  /** Find Learning Rule ended (any status): the Pareto front to show, each with an Insert button. */
  | {
      readonly type: 'rules';
      readonly uri: string;
      readonly item: string;
      readonly job: JobResult<LearningRuleResult>;
      readonly front: readonly RuleCandidate[];
    }
  | { readonly type: 'search'; readonly uri: string; readonly item: string; readonly job: JobResult<SearchResult> }
  /** A training run started: clear the curves. */
  | { readonly type: 'trainStart'; readonly uri: string; readonly item: string; readonly task: string; readonly rule?: string }
  | { readonly type: 'train'; readonly uri: string; readonly item: string; readonly job: JobResult<TrainResult> }
  /** Progress of the job this panel shows (best so far, chart points). */
  | { readonly type: 'progress'; readonly progress: JobProgress }
  | { readonly type: 'error'; readonly message: string };

/** Webview → panel host. */
export type PanelWebviewMessage =
  | { readonly type: 'ready' }
  /** Insert this candidate's rule into the document (a WorkspaceEdit in the host). */
  | { readonly type: 'insertRule'; readonly candidate: RuleCandidate }
  /** Reveal a source range (a click on a vertex). */
  | { readonly type: 'reveal'; readonly range: Range }
  /** Re-request the graph with other collapse / expand settings. */
  | { readonly type: 'expand'; readonly collapsed: boolean; readonly expand: readonly string[] }
  /** The cancel button of a running job. */
  | { readonly type: 'cancel' }
  /** Run a command on this panel's item (`eligo.findLearningRule`, `eligo.train`, …). */
  | { readonly type: 'command'; readonly command: string };

/** Host → webview: show this laid-out view (the answer to `ready` and to `requestView`). */
export interface GraphShowMessage {
  readonly type: 'show';
  readonly model: GraphViewModel;
}

/**
 * Host → webview: the editor's cursor (or selection) moved. The webview
 * highlights the vertices whose source range holds `position` (the innermost
 * ones), or exactly `vertices` when given; `reveal` also scrolls them into view.
 */
export interface GraphSelectMessage {
  readonly type: 'select';
  readonly position?: Position;
  readonly vertices?: readonly number[];
  readonly reveal?: boolean;
}

/** Host → webview: one more order to step through (a searched one), traced by the engine (`traceOrder`) for the view `viewKey`. */
export interface GraphAddOrderMessage {
  readonly type: 'addOrder';
  readonly viewKey: string;
  readonly trace: OrderTrace;
}

/** Host → webview: a requested view is being laid out (ELK takes seconds on big graphs). */
export interface GraphBusyMessage {
  readonly type: 'busy';
  readonly message: string;
}

export type GraphHostMessage = GraphShowMessage | GraphSelectMessage | GraphAddOrderMessage | GraphBusyMessage | PanelHostMessage;

/**
 * Webview → host: lay out this view (a group expanded or collapsed, the
 * unrolled model) and answer with `show`, or `error` with the reason (too big
 * to lay out, item has errors).
 */
export interface GraphRequestViewMessage {
  readonly type: 'requestView';
  readonly request: GraphViewRequest;
}

export type GraphWebviewMessage = GraphRequestViewMessage | PanelWebviewMessage;

/** What the graph webview keeps with `setState` (and a panel serializer may read to re-request the view). */
export interface GraphWebviewState {
  readonly request?: GraphViewRequest;
  readonly key?: string;
  readonly transform?: { readonly x: number; readonly y: number; readonly k: number };
  readonly tab?: string;
  readonly orderA?: string | undefined;
  readonly orderB?: string | undefined;
  readonly compare?: boolean;
  readonly step?: number;
  /** No rule when absent or undefined (choosing "no rule" sets it to undefined). */
  readonly rule?: string | undefined;
  readonly unrollSteps?: number;
  readonly panel?: PanelState;
}
