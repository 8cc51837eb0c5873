// The parameters of every custom request and notification, as zod schemas:
// the one definition of what a client may send. The server validates each
// message against its schema at the boundary (params cross a process as
// `unknown`) and hands the validated object to the job unchanged; the job
// kinds parse the same object with the same schemas in their worker. The
// TypeScript types are inferred from the schemas, so they cannot drift.
//
// Objects are strict: a field the contract does not name is an error, not
// silently dropped — a misspelt `hardwareProfile` is refused, never ignored.

import { z } from 'zod';
import { OBJECTIVES } from './settings.js';

/** Longest time budget a request may ask for; larger ones are clamped to it (a timer cannot wait longer than 2³¹ ms). */
export const MAX_BUDGET_SECONDS = 86_400;

/** The largest unrolling the graph view accepts (each step repeats the model's graph). */
export const MAX_UNROLL = 1000;

const uri = z.string().min(1).max(8192);
const name = z.string().min(1).max(256);
const progressToken = z.union([z.string().max(256), z.number().int()]);
const names = z.array(z.string().max(256)).max(100_000).readonly();

/** LSP's WorkDoneProgressParams / PartialResultParams. */
const workDone = {
  workDoneToken: progressToken.exactOptional(),
  partialResultToken: progressToken.exactOptional(),
};

const item = {
  uri,
  /** Item name; the first function or model of the document when absent. */
  item: name.exactOptional(),
};

/** Fields every job accepts besides its own (they arrive with the request that started it). */
const jobEnvelope = {
  uri: uri.exactOptional(),
  item: name.exactOptional(),
  ...workDone,
};

const objective = z.enum(OBJECTIVES);
/** Seconds; the server clamps it to MAX_BUDGET_SECONDS. */
const budgetSeconds = z.number().positive();
/** A seed of the engines' random streams: 0 … 2³², the search engine's range (search/search.ts); a search's restarts derive theirs from it. */
const seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32);

export const ItemParamsSchema = z.strictObject(item);
export type ItemParams = z.infer<typeof ItemParamsSchema>;

export const GraphParamsSchema = z.strictObject({
  ...item,
  /** Collapse each equation / `let` into one compound node (default true above 200 vertices). */
  collapsed: z.boolean().exactOptional(),
  /** Groups to show expanded while collapsed. */
  expand: names.exactOptional(),
  /** Groups to show collapsed while the rest is expanded (the webview's double-click on a group). */
  collapseGroups: names.exactOptional(),
  /** Unroll a model over this many steps instead of showing one step. */
  unroll: z.number().int().min(1).max(MAX_UNROLL).exactOptional(),
  /** An elimination order (vertex ids) to step through besides forward, reverse and Markowitz. */
  order: z.array(z.number().int().min(0)).max(10_000_000).readonly().exactOptional(),
});
export type GraphParams = z.infer<typeof GraphParamsSchema>;

/**
 * What a search takes (`eligo/search`, `eligo/runJob` with kind `search`, and
 * — composed into the payload of each restart — the job queue's
 * `search-restart` tasks, jobs/schemas.ts): the one definition of the
 * search's params.
 */
export const SearchOptionsSchema = z.strictObject({
  /** Overrides `eligo.objective`. */
  objective: objective.exactOptional(),
  /** Overrides `eligo.search.budgetSeconds`. */
  budgetSeconds: budgetSeconds.exactOptional(),
  /** Search strategy: the engine's names (`all`, `greedy`, `beam`, `anneal`, `mcts`, …). */
  strategy: z.string().min(1).max(64).exactOptional(),
  seed: seed.exactOptional(),
  /** Refuse orders whose peak memory is over this (bytes). */
  limitBytes: z.number().positive().exactOptional(),
  /** Stop each restart after this many complete orders: a reproducible run (`eligo search --evaluations`). */
  evaluations: z.number().int().min(1).max(1e12).exactOptional(),
});
export type SearchOptions = z.infer<typeof SearchOptionsSchema>;
export const SearchParamsSchema = SearchOptionsSchema.extend({ ...item, ...workDone });
export type SearchParams = z.infer<typeof SearchParamsSchema>;
export const SearchJobParamsSchema = SearchOptionsSchema.extend(jobEnvelope);
export type SearchJobParams = z.infer<typeof SearchJobParamsSchema>;

/**
 * What Find Learning Rule takes (`eligo/findLearningRule`, `eligo/runJob`
 * with kind `findLearningRule`, and — composed into the payload of each
 * candidate — the job queue's `rule-candidate` tasks, jobs/schemas.ts). The
 * bounds are the CLI's (`eligo find-rule`), whose runs go through the same
 * payloads.
 */
export const FindRuleOptionsSchema = z.strictObject({
  /** Orders the Pareto front: the first candidate is the best under it. Overrides `eligo.objective`. */
  objective: objective.exactOptional(),
  budgetSeconds: budgetSeconds.exactOptional(),
  seed: seed.exactOptional(),
  /** Overrides `eligo.hardwareProfile`: the rules must fit this chip (rules/profiles.ts). */
  hardwareProfile: z.string().min(1).max(256).exactOptional(),
  /** Sample sequences for the alignment with the exact gradient. */
  samples: z.number().int().min(1).max(100).exactOptional(),
  /** Length of the sample sequences (and T of the memory figures); default `eligo.analysis.steps`. */
  steps: z.number().int().min(1).max(1_000_000).exactOptional(),
  /** The task the promising rules are trained on (`correlated`, `csv:path=…`); default `eligo.train.task`; '' for none (alignment only). */
  task: z.string().max(8192).exactOptional(),
  /** Batch of those trainings; default `eligo.train.batchSize`. */
  batchSize: z.number().int().min(1).max(65_536).exactOptional(),
  /** Learning rate of those trainings (default 0.005). */
  learningRate: z.number().min(1e-9).max(10).exactOptional(),
  /** Stop after this many rules evaluated: a reproducible run (`eligo find-rule --evaluations`). */
  evaluations: z.number().int().min(1).max(1e6).exactOptional(),
});
export type FindRuleOptions = z.infer<typeof FindRuleOptionsSchema>;
export const FindLearningRuleParamsSchema = FindRuleOptionsSchema.extend({ ...item, ...workDone });
export type FindLearningRuleParams = z.infer<typeof FindLearningRuleParamsSchema>;
export const FindRuleJobParamsSchema = FindRuleOptionsSchema.extend(jobEnvelope);
export type FindRuleJobParams = z.infer<typeof FindRuleJobParamsSchema>;

const trainOptions = {
  /** A task name with its settings (`correlated`, `csv:label=last`); overrides `eligo.train.task`. */
  task: z.string().min(1).max(8192).exactOptional(),
  /** Optimizer updates; overrides `eligo.train.steps`. */
  steps: z.number().int().min(1).max(1e7).exactOptional(),
  /** Passes over the training set (used when `steps` is absent). */
  epochs: z.number().min(0.001).max(1e5).exactOptional(),
  learningRate: z.number().min(1e-9).max(10).exactOptional(),
  batchSize: z.number().int().min(1).max(65_536).exactOptional(),
  seed: seed.exactOptional(),
  /** A `rule … for MODEL` item of the document; absent: the exact gradient (BPTT). */
  rule: name.exactOptional(),
  /** A data file for the `idx` or `csv` task (a file URI), picked by the user in a dialog. */
  dataUri: uri.exactOptional(),
};
export const TrainParamsSchema = z.strictObject({ ...item, ...workDone, ...trainOptions });
export type TrainParams = z.infer<typeof TrainParamsSchema>;
export const TrainJobParamsSchema = z.strictObject({ ...jobEnvelope, ...trainOptions });
export type TrainJobParams = z.infer<typeof TrainJobParamsSchema>;

/** Any registered job kind by name (`probe` is the runner's own synthetic workload); `params` is the kind's to validate. */
export const RunJobParamsSchema = z.strictObject({
  kind: z.string().min(1).max(64),
  uri: uri.exactOptional(),
  item: name.exactOptional(),
  params: z.unknown().exactOptional(),
  budgetSeconds: budgetSeconds.exactOptional(),
  ...workDone,
});
export type RunJobParams = z.infer<typeof RunJobParamsSchema>;

export const AnalysisStatsParamsSchema = z.strictObject({ uri });
export type AnalysisStatsParams = z.infer<typeof AnalysisStatsParamsSchema>;

/** Client → server: the workspace's trust changed (VS Code's onDidGrantWorkspaceTrust). */
export const DidChangeTrustParamsSchema = z.strictObject({ trusted: z.boolean() });
export type DidChangeTrustParams = z.infer<typeof DidChangeTrustParamsSchema>;

/** `initializationOptions` of `initialize`: `trusted` absent means untrusted. */
export const InitializationOptionsSchema = z.object({
  trusted: z.boolean().exactOptional(),
  settings: z.unknown().exactOptional(),
  /** The workspace folders' paths inside which data files may be read (trusted workspaces). */
  workspaceFolders: z.array(z.string().max(8192)).max(1000).exactOptional(),
});
export type InitializationOptions = z.infer<typeof InitializationOptionsSchema>;

/** Import a NIR file, or export a model (NIR) or a rule (Lava, PyTorch). The server returns the files; the editor writes them. */
export const InteropParamsSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('importNir'),
    /** File system path of the .nir file the user chose. */
    path: z.string().min(1).max(8192),
    /** Name of the .eligo file to create (its base name names the model and the data file). */
    outName: z.string().min(1).max(1024),
    dt: z.number().positive(),
    method: z.enum(['exact', 'euler']).exactOptional(),
  }),
  z.strictObject({
    kind: z.literal('export'),
    uri,
    format: z.enum(['nir', 'lava', 'torch']),
    model: name,
    rule: name.exactOptional(),
    outName: z.string().min(1).max(1024),
    dt: z.number().positive().exactOptional(),
    method: z.enum(['exact', 'euler']).exactOptional(),
    learningRate: z.number().positive().exactOptional(),
    /** Whether the workspace is trusted: only then does the server read the model's data(…) files. */
    trusted: z.boolean(),
  }),
]);
export type InteropParams = z.infer<typeof InteropParamsSchema>;

/** Validates `raw` against `schema`: the value, or one line naming every problem with its field. */
export function validate<T>(schema: z.ZodType<T>, raw: unknown): { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string } {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, message: describeIssues(r.error.issues) };
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return (
    issues
      .slice(0, 5)
      .map((i) => {
        const at = i.path.length ? `'${i.path.map(String).join('.')}'` : 'the parameters';
        if (i.code === 'unrecognized_keys') return `${at}: unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${k}'`).join(', ')}`;
        return `${at}: ${i.message}`;
      })
      .join('; ') + (issues.length > 5 ? ` (and ${issues.length - 5} more)` : '')
  );
}
