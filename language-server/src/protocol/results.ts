// What the server answers: plain data, typed field by field (no open
// `[extra: string]: unknown`). Positions and ranges are LSP's (zero-based
// line, UTF-16 character).

import type { Range } from 'vscode-languageserver-protocol';
import type { EligoSettings, Objective } from './settings.js';

// ---------------------------------------------------------------- eligo/graph

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

// ---------------------------------------------------------------- long jobs

/**
 * How a long job ended. `done`: finished; `cancelled`: stopped on request,
 * `result` is the best found so far; `budget`: stopped at the time budget,
 * `result` is the best so far; `refused`: not started (would exceed memory,
 * item has errors, bad parameters, untrusted workspace, …); `unavailable`: the
 * engine for this job is not built; `failed`: it threw (the stack is in the
 * server's log, never in the result).
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

/** The parameters a search ran with, after defaults. */
export interface SearchRun {
  readonly objective: Objective;
  readonly strategy: string;
  readonly seed: number;
  readonly limitBytes?: number;
  readonly evaluations?: number;
}

/** An elimination order and what it costs; the engine's own figures. */
export interface SearchResult {
  readonly order: readonly number[];
  readonly multiplications: number;
  readonly peakMemoryBytes?: number;
  readonly evaluated?: number;
  /** Vertex names of the order. */
  readonly names?: readonly string[];
  readonly additions?: number;
  /** The strategy that found it (`markowitz`, `anneal`, `mcts`, …). */
  readonly method?: string;
  /** The objective as the engine read it. */
  readonly objective?: string;
  readonly baselines?: { readonly forward: number; readonly reverse: number; readonly markowitz: number };
  readonly stoppedBy?: 'budget' | 'cancel' | 'evaluations';
  readonly notes?: readonly string[];
  /** Why no order met the memory limit. */
  readonly infeasible?: string;
  /** A best-so-far from progress, handed back after a forced stop: the cost without its order. */
  readonly partial?: boolean;
  readonly run?: SearchRun;
}

/**
 * One point of the Pareto front of Find Learning Rule (best first under the
 * request's objective); each has its own rule text and computed figures.
 */
export interface RuleCandidate {
  readonly name: string;
  /** The rule as Eligo text (`rule NAME for MODEL { … }`). */
  readonly text: string;
  /** The known rule it coincides with (`eprop`, `rtrl`, …), or null. */
  readonly known?: string | null;
  readonly multiplications?: number;
  readonly memoryBytes?: number;
  readonly online?: boolean;
  /** Cosine alignment of the rule's updates with the exact gradient (1 = exact). */
  readonly alignment?: number;
  readonly signAgreement?: number;
  readonly accuracy?: number;
  /** Fits the hardware profile's chip. */
  readonly fits?: boolean;
  /** Why it does not fit. */
  readonly reasons?: readonly string[];
  /** Train accuracy of its longest training on the task, its task and updates (find-rule with accuracy). */
  readonly trainAccuracy?: number;
  readonly task?: string;
  readonly updates?: number;
  /** Why it has no accuracy (not trained, diverged, …). */
  readonly why?: string;
  /** The parameters it updates, its credit in words (`W_in, W_rec: eligibility × learning signal; W_out: exact`) and kind. */
  readonly updatedParams?: readonly string[];
  readonly credit?: string;
  readonly creditKind?: 'full' | 'partial' | 'readout-only' | 'none';
  readonly warnings?: readonly string[];
  /** Alignment along the reference run on the task's data. */
  readonly alignmentOnTask?: { readonly initial: number; readonly trained: number; readonly mean: number };
  /** The rule's approximations and schedule in one line: equal signatures, equal rules. */
  readonly signature?: string;
}

/** The parameters a Find Learning Rule ran with, after defaults. */
export interface FindRuleRun {
  readonly objective: Objective;
  readonly seed: number;
  readonly samples: number;
  readonly steps: number;
  /** The profile's name as the registry spells it (rules/profiles.ts). */
  readonly hardwareProfile: string;
  /** `--task` syntax; '' for none (alignment-only front). */
  readonly task: string;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Stop the search after this many rules evaluated: a reproducible run. */
  readonly evaluations?: number;
}

export interface LearningRuleResult {
  /** The best candidate's name and text, ready to insert after the model. */
  readonly name: string;
  readonly text: string;
  readonly front: readonly RuleCandidate[];
  readonly model?: string;
  readonly spaceSize?: number;
  readonly method?: string;
  readonly evaluated?: number;
  readonly skipped?: number;
  readonly stopped?: 'budget' | 'cancelled' | null;
  /** Candidates trained at least once, on `task` (null: none). */
  readonly trained?: number;
  readonly task?: string | null;
  /** What the front ranks by: test accuracy, or alignment when nothing could be trained (`frontWhy`). */
  readonly frontBasis?: 'accuracy' | 'alignment';
  readonly frontWhy?: string;
  /** What the user should know: parameters nothing reaches, a chip nothing fits, a budget too short. */
  readonly notes?: readonly string[];
  readonly run?: FindRuleRun;
}

/** Compute backend of the server's tensor work (DESIGN.md): native, WebAssembly, plain JS. */
export type ComputeBackend = 'tfjs-node' | 'wasm' | 'cpu';

/** One evaluation of a training run on held-out data. */
export interface TrainCurvePoint {
  readonly step: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number | null;
  readonly testLoss: number;
  readonly testAccuracy: number | null;
  readonly alignment: number | null;
  readonly alignmentByParam: Readonly<Record<string, number>> | null;
  readonly seconds: number;
}

/** The parameters a training run ran with, after defaults (the data file is not echoed). */
export interface TrainRun {
  readonly task: string;
  readonly steps?: number;
  readonly epochs?: number;
  readonly learningRate: number;
  readonly batchSize: number;
  readonly seed: number;
  /** The rule asked for; absent: the exact gradient. */
  readonly rule?: string;
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
  /** Optimizer updates done. */
  readonly steps: number;
  readonly accuracy?: number;
  /** Cosine alignment of the rule's updates with the exact gradient. */
  readonly alignment?: number;
  readonly loss?: number;
  readonly model?: string;
  /** The rule it trained with (`bptt` for the exact gradient). */
  readonly rule?: string;
  readonly method?: 'bptt' | 'online';
  /** The backend in words. */
  readonly backend?: string;
  /** The training engine that ran (`tfjs`, `compiled`: train/compiled/). */
  readonly engine?: string;
  /** The TensorFlow.js backend the run used (drives the status bar). */
  readonly computeBackend?: ComputeBackend;
  readonly trainAccuracy?: number | null;
  readonly stepsPerSecond?: number;
  readonly peakMemoryBytes?: number;
  readonly seconds?: number;
  readonly stopped?: null | 'cancelled' | 'diverged';
  readonly message?: string;
  readonly curve?: readonly TrainCurvePoint[];
  readonly encoding?: string;
  /** Spikes and traces of one test sequence after training (the Training tab's raster). */
  readonly activity?: TrainActivity;
  readonly run?: TrainRun;
}

/** A training task the server can run, by name: synthetic tasks, packaged data sets, or files. */
export interface TrainTask {
  readonly name: string;
  readonly description?: string;
  /** Reads the user's data files (needs a trusted workspace). */
  readonly userData?: boolean;
}

// ---------------------------------------------------------------- server status

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

// ---------------------------------------------------------------- eligo/interop (interop/bridges.ts)

export interface InteropFile {
  /** File name, relative to the chosen output's folder; the first is the chosen output. */
  readonly name: string;
  readonly base64: string;
}

export type InteropResult =
  | { readonly ok: true; readonly files: readonly InteropFile[]; readonly lines: readonly string[]; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };
