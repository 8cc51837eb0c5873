// Every custom request and notification as one typed descriptor (as
// rust-analyzer's lsp_ext.ts): the server registers its handlers on these,
// the extension sends them. Params are the schemas' types (params.ts);
// results are results.ts's.

import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type {
  AnalysisStatsParams,
  DidChangeTrustParams,
  FindLearningRuleParams,
  GraphParams,
  InteropParams,
  ItemParams,
  RunJobParams,
  SearchParams,
  TrainParams,
} from './params.js';
import type {
  AnalysisStats,
  GraphResult,
  InteropResult,
  JobProgress,
  JobResult,
  LearningRuleResult,
  SearchResult,
  ServerStatus,
  TrainResult,
  TrainTask,
} from './results.js';

export const GraphRequest = new RequestType<GraphParams, GraphResult, void>('eligo/graph');
export const SearchRequest = new RequestType<SearchParams, JobResult<SearchResult>, void>('eligo/search');
export const FindLearningRuleRequest = new RequestType<FindLearningRuleParams, JobResult<LearningRuleResult>, void>('eligo/findLearningRule');
export const TrainRequest = new RequestType<TrainParams, JobResult<TrainResult>, void>('eligo/train');
export const RunJobRequest = new RequestType<RunJobParams, JobResult<unknown>, void>('eligo/runJob');
/** The tasks `eligo/train` accepts for an item (the extension's task picker). */
export const TrainTasksRequest = new RequestType<ItemParams, readonly TrainTask[], void>('eligo/trainTasks');
export const AnalysisStatsRequest = new RequestType<AnalysisStatsParams, AnalysisStats | null, void>('eligo/analysisStats');
/** Import a NIR file, or export a model or a rule (interop/): the server returns the files, the editor writes them. */
export const InteropRequest = new RequestType<InteropParams, InteropResult, void>('eligo/interop');

export const JobProgressNotification = new NotificationType<JobProgress>('eligo/jobProgress');
export const ServerStatusNotification = new NotificationType<ServerStatus>('eligo/status');
/** Client → server: the user granted (or the client withdrew) workspace trust. */
export const DidChangeTrustNotification = new NotificationType<DidChangeTrustParams>('eligo/didChangeTrust');

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
