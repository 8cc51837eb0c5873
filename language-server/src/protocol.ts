// The messages between the language server, the extension and the webview:
// typed descriptors and plain-data payloads only, no logic (as rust-analyzer's
// lsp_ext.ts and sprotty-vscode's protocol module). The server and the
// extension import the constants; the webview imports the types only
// (`import type`). Append new messages at the end of the file.
//
// Positions and ranges are LSP's (zero-based line, UTF-16 character).

import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { Range, WorkDoneProgressParams } from 'vscode-languageserver-protocol';

// ---------------------------------------------------------------- settings

/** What a search minimises (LANGUAGE.md §3 `objective`). */
export type Objective = 'multiplications' | 'memory' | 'time';

/**
 * The settings the server reads through `workspace/configuration` (section
 * `eligo`). Every figure the server shows is computed with these; results
 * carry the settings that produced them.
 */
export interface EligoSettings {
  readonly analysis: {
    /** Time steps T for the analysis of models (LANGUAGE.md §2). */
    readonly steps: number;
    /** Quiet time after the last keystroke before a document is analysed again. */
    readonly debounceMs: number;
  };
  readonly objective: Objective;
  /** Name of a hardware profile (memory limit), e.g. `laptop`, `loihi2-core`. */
  readonly hardwareProfile: string;
  readonly search: {
    readonly budgetSeconds: number;
  };
  readonly train: {
    readonly task: string;
    readonly steps: number;
    readonly epochs: number;
    readonly learningRate: number;
    readonly batchSize: number;
    readonly seed: number;
  };
  /** `eligo.queue.redis`: long jobs go to the job queue (docs/scale-out.md). The URL as shown: its password hidden. */
  readonly queue?: { readonly redis: string };
}

// ---------------------------------------------------------------- items

/** Names one item of a document: a `function`, `model` or `rule`. */
export interface ItemParams {
  readonly uri: string;
  /** Item name; the first function or model of the document when absent. */
  readonly item?: string;
}

/** Arguments of the code-lens commands `eligo.showGraph`, `eligo.findLearningRule`, `eligo.train`. */
export interface ItemCommandArgs {
  readonly uri: string;
  readonly item: string;
}

export const Commands = {
  showGraph: 'eligo.showGraph',
  findLearningRule: 'eligo.findLearningRule',
  train: 'eligo.train',
} as const;

// ---------------------------------------------------------------- eligo/graph

export interface GraphParams extends ItemParams {
  /** Collapse each equation / `let` into one compound node (default true above 200 vertices). */
  readonly collapsed?: boolean;
  /** Groups to show expanded while collapsed. */
  readonly expand?: readonly string[];
  /** Groups to show collapsed while the rest is expanded (the webview's double-click on a group). */
  readonly collapseGroups?: readonly string[];
  /** Unroll a model over this many steps instead of showing one step. */
  readonly unroll?: number;
  /**
   * An elimination order (vertex ids) to step through besides forward,
   * reverse and Markowitz; the last search's best order of the item is
   * offered without it.
   */
  readonly order?: readonly number[];
}

export interface GraphVertexJson {
  readonly id: number;
  readonly op: string;
  readonly shape: readonly number[];
  readonly inputs: readonly number[];
  readonly role: string;
  readonly name?: string;
  readonly group?: string;
  readonly step?: number;
  readonly range: Range;
  /** Scalar attributes (exponent, axes, …); tensors are left out. */
  readonly attrs: Readonly<Record<string, unknown>>;
}

export interface GraphJson {
  readonly name: string;
  readonly kind: 'function' | 'model-step' | 'model-unrolled';
  readonly vertices: readonly GraphVertexJson[];
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

export interface GraphResult {
  readonly uri: string;
  readonly item: string;
  readonly version: number;
  readonly graph: GraphJson;
  /** The laid-out view from `layout/` (its GraphViewModel); absent when the layout was refused or failed. */
  readonly layout?: unknown;
  /** Why there is no layout (too large to lay out in time, …). */
  readonly problem?: string;
  readonly settings: EligoSettings;
}

export const GraphRequest = new RequestType<GraphParams, GraphResult, void>('eligo/graph');

// ---------------------------------------------------------------- long jobs

/**
 * How a long job ended. `done`: finished; `cancelled`: stopped on request,
 * `result` is the best found so far; `budget`: stopped at the time budget,
 * `result` is the best so far; `refused`: not started (would exceed memory,
 * item has errors, …); `unavailable`: the engine for this job is not built;
 * `failed`: it threw.
 */
export type JobStatus = 'done' | 'cancelled' | 'budget' | 'refused' | 'unavailable' | 'failed';

export interface JobResult<R> {
  readonly jobId: number;
  readonly kind: string;
  readonly status: JobStatus;
  /** The result, or the best so far for `cancelled` and `budget`. */
  readonly result?: R;
  readonly message?: string;
  readonly elapsedMs: number;
  readonly settings: EligoSettings;
}

/** Progress of a job, streamed as `eligo/jobProgress` and summarised in LSP work-done progress. */
export interface JobProgress<B = unknown> {
  readonly jobId: number;
  readonly kind: string;
  readonly uri?: string;
  readonly item?: string;
  /** One line for the progress bar ("best 320 mults after 1,200 orders"). */
  readonly message?: string;
  /** 0–100. */
  readonly percentage?: number;
  /** Best so far (cost, accuracy, …), in the job kind's own type. */
  readonly best?: B;
  /** A chart point (step → value) for the webview. */
  readonly point?: { readonly x: number; readonly y: Readonly<Record<string, number>> };
}

export const JobProgressNotification = new NotificationType<JobProgress>('eligo/jobProgress');

export interface SearchParams extends ItemParams, WorkDoneProgressParams {
  /** Overrides `eligo.objective`. */
  readonly objective?: Objective;
  /** Overrides `eligo.search.budgetSeconds`. */
  readonly budgetSeconds?: number;
  /** Search strategy, e.g. `greedy`, `beam`, `anneal`, `mcts` (the engine's names). */
  readonly strategy?: string;
  readonly seed?: number;
}

/** An elimination order and what it costs; the engine's own figures. */
export interface SearchResult {
  readonly order: readonly number[];
  readonly multiplications: number;
  readonly peakMemoryBytes?: number;
  readonly evaluated?: number;
  readonly [extra: string]: unknown;
}

export const SearchRequest = new RequestType<SearchParams, JobResult<SearchResult>, void>('eligo/search');

export interface FindLearningRuleParams extends ItemParams, WorkDoneProgressParams {
  readonly objective?: Objective;
  readonly budgetSeconds?: number;
  readonly seed?: number;
}

export interface LearningRuleResult {
  /** The rule as Eligo text, ready to insert after the model. */
  readonly text: string;
  readonly name: string;
  readonly [extra: string]: unknown;
}

export const FindLearningRuleRequest = new RequestType<FindLearningRuleParams, JobResult<LearningRuleResult>, void>('eligo/findLearningRule');

export interface TrainParams extends ItemParams, WorkDoneProgressParams {
  /** Overrides of `eligo.train.*`. */
  readonly task?: string;
  readonly steps?: number;
  readonly epochs?: number;
  readonly learningRate?: number;
  readonly seed?: number;
}

/**
 * One test sequence run through the trained model (train/activity.ts): a
 * spike raster per spiking population (and of the input when it is spikes),
 * the traces of a few neurons' states and the prediction over time.
 */
export interface TrainActivity {
  readonly split: 'test';
  readonly sample: number;
  readonly steps: number;
  /** For each population: the steps (1…T) at which each shown neuron spiked. */
  readonly rasters: readonly { readonly name: string; readonly neurons: number; readonly spikes: readonly (readonly number[])[] }[];
  /** State values over t = 1…T of a few neurons of the first spiking population. */
  readonly traces: readonly { readonly state: string; readonly neuron: number; readonly values: readonly number[] }[];
  /** The prediction (what the loss compares with the target) per output over t = 1…T, when the loss has one. */
  readonly prediction?: readonly (readonly number[])[];
  /** The sample's label, for classification tasks. */
  readonly label?: number;
}

export interface TrainResult {
  readonly task: string;
  readonly steps: number;
  readonly accuracy?: number;
  /** Cosine alignment of the rule's updates with the exact gradient. */
  readonly alignment?: number;
  readonly loss?: number;
  /** The TensorFlow.js backend the run used (drives the status bar). */
  readonly computeBackend?: ComputeBackend;
  /** Spikes and traces of one test sequence after training (the Training tab's raster). */
  readonly activity?: TrainActivity;
  readonly [extra: string]: unknown;
}

export const TrainRequest = new RequestType<TrainParams, JobResult<TrainResult>, void>('eligo/train');

/**
 * Any registered job kind by name: for kinds that do not have their own
 * request yet, and for `probe`, the job runner's own synthetic workload.
 */
export interface RunJobParams extends WorkDoneProgressParams {
  readonly kind: string;
  readonly uri?: string;
  readonly item?: string;
  readonly params?: unknown;
  readonly budgetSeconds?: number;
}

export const RunJobRequest = new RequestType<RunJobParams, JobResult<unknown>, void>('eligo/runJob');

// ---------------------------------------------------------------- extension ↔ server, extension ↔ webview (issue 9)
// Appended by the extension (extension/src/). The server sends the status
// notification; the webview and the panel host (extension/src/panel.ts)
// exchange the `Panel*` messages below with `postMessage`, after the
// webview's `ready` (the handshake of sprotty-vscode).

/** Compute backend of the server's tensor work (DESIGN.md): native, WebAssembly, plain JS. */
export type ComputeBackend = 'tfjs-node' | 'wasm' | 'cpu';

/** Server → client after start and whenever it changes; drives the status bar. */
export interface ServerStatus {
  readonly backend?: ComputeBackend;
  /** Jobs running in the server now (from any client request). */
  readonly jobs?: readonly { readonly jobId: number; readonly kind: string; readonly item?: string; readonly message?: string }[];
  /** The job queue of `eligo.queue.redis`: its URL (password hidden), the workers heard from, their task slots, or why it cannot be reached. */
  readonly queue?: QueueStatus;
}

export interface QueueStatus {
  readonly url: string;
  readonly workers: number;
  readonly slots: number;
  readonly names?: readonly string[];
  readonly error?: string;
}

export const ServerStatusNotification = new NotificationType<ServerStatus>('eligo/status');

/**
 * Hardware profiles the extension offers by name (setting enum, quick pick),
 * from shared/reference/neuromorphic-hardware.md: Loihi 2 (~192 KB per core,
 * sum-of-products rules over x1,x2 × y1..y3), SpiNNaker 2 (~128 KB SRAM per
 * PE), BrainScaleS-2 (6-bit weights, correlation-sensor traces). The server
 * should accept these names in `eligo.hardwareProfile` and in
 * `HardwareParams.hardwareProfile`.
 */
export const CHIP_PROFILES = ['loihi2', 'spinnaker2', 'brainscales2'] as const;

/** A per-request hardware profile, overriding `eligo.hardwareProfile` (search, find learning rule). */
export interface HardwareParams {
  readonly hardwareProfile?: string;
}

/**
 * One point of the Pareto front of Find Learning Rule: the server puts the
 * whole front in `LearningRuleResult.front` (best first); each has its own
 * rule text and computed figures.
 */
export interface RuleCandidate {
  readonly name: string;
  /** The rule as Eligo text (`rule NAME for MODEL { … }`). */
  readonly text: string;
  readonly multiplications?: number;
  readonly memoryBytes?: number;
  /** Cosine alignment of the rule's updates with the exact gradient (1 = exact). */
  readonly alignment?: number;
  readonly accuracy?: number;
  /** Fits the hardware profile's limits. */
  readonly fits?: boolean;
  readonly [extra: string]: unknown;
}

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
  | { readonly type: 'rules'; readonly uri: string; readonly item: string; readonly job: JobResult<LearningRuleResult>; readonly front: readonly RuleCandidate[] }
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

/** A training task the server can run, by name: synthetic tasks, packaged data sets, or files. */
export interface TrainTask {
  readonly name: string;
  readonly description?: string;
  /** Reads the user's data files (the extension asks for workspace trust first). */
  readonly userData?: boolean;
}

/** The tasks `eligo/train` accepts for an item (extension's task picker). */
export const TrainTasksRequest = new RequestType<ItemParams, readonly TrainTask[], void>('eligo/trainTasks');

/**
 * Extra `eligo/train` parameters the extension sends: `item` is the model,
 * `rule` the rule of that model to train with (a `rule … for MODEL` item of
 * the same document); absent = the exact gradient (BPTT).
 */
export interface TrainRuleParams {
  readonly rule?: string;
  /** A data file for the task (a URI inside the workspace); only sent when the workspace is trusted. */
  readonly dataUri?: string;
}

// ---------------------------------------------------------------- graph view (issue 8)
// The graph webview (webview/src/) speaks the Panel* messages above and the
// Graph* messages below. Its picture is a GraphViewModel laid out by
// layout/ (`graphView`) where the engine runs; the webview renders it and
// computes nothing but pixels. A panel may send the model as `show`, or as
// `graph` with `result.layout` set to it.

import type { Position } from 'vscode-languageserver-protocol';
import type { GraphViewModel, GraphViewRequest, OrderTrace } from './layout/viewmodel.js';

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

// ---------------------------------------------------------------- language server internals (issue 7)

/** What the incremental analysis of a document did for its last version: for tests, the benchmark and a status view. */
export interface AnalysisStats {
  readonly uri: string;
  readonly version: number;
  /** Items analysed afresh / taken from the cache (their text and context unchanged). */
  readonly computed: number;
  readonly reused: number;
  /** Wall time of the analysis of this version (parse and check included). */
  readonly ms: number;
  /** Items computed since the server started. */
  readonly totalComputed: number;
}

export const AnalysisStatsRequest = new RequestType<{ readonly uri: string }, AnalysisStats | null, void>('eligo/analysisStats');

// ---------------------------------------------------------------- eligo/interop (interop/bridges.ts)

/** Import a NIR file, or export a model (NIR) or a rule (Lava, PyTorch). The server returns the files; the editor writes them. */
export type InteropParams =
  | {
    readonly kind: 'importNir';
    /** File system path of the .nir file the user chose. */
    readonly path: string;
    /** Name of the .eligo file to create (its base name names the model and the data file). */
    readonly outName: string;
    readonly dt: number;
    readonly method?: 'exact' | 'euler';
  }
  | {
    readonly kind: 'export';
    readonly uri: string;
    readonly format: 'nir' | 'lava' | 'torch';
    readonly model: string;
    readonly rule?: string;
    readonly outName: string;
    readonly dt?: number;
    readonly method?: 'exact' | 'euler';
    readonly learningRate?: number;
    /** Whether the workspace is trusted: only then does the server read the model's data(…) files. */
    readonly trusted: boolean;
  };

export interface InteropFile {
  /** File name, relative to the chosen output's folder; the first is the chosen output. */
  readonly name: string;
  readonly base64: string;
}

export type InteropResult =
  | { readonly ok: true; readonly files: readonly InteropFile[]; readonly lines: readonly string[]; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };

export const InteropRequest = new RequestType<InteropParams, InteropResult, void>('eligo/interop');
