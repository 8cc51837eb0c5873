// The settings the server reads through `workspace/configuration` (section
// `eligo`). Every figure the server shows is computed with these; results
// carry the settings that produced them.

/** What a search minimises (LANGUAGE.md §3 `objective`). */
export const OBJECTIVES = ['multiplications', 'memory', 'time'] as const;

export type Objective = (typeof OBJECTIVES)[number];

export interface EligoSettings {
  readonly analysis: {
    /** Time steps T for the analysis of models (LANGUAGE.md §2). */
    readonly steps: number;
    /** Quiet time after the last keystroke before a document is analysed again. */
    readonly debounceMs: number;
  };
  readonly objective: Objective;
  /** A hardware profile of rules/profiles.ts (`laptop`, `loihi2`, …) or a size such as `192 KiB`. */
  readonly hardwareProfile: string;
  readonly search: {
    readonly budgetSeconds: number;
  };
  readonly train: {
    readonly task: string;
    /** Optimizer updates of a training run. */
    readonly steps: number;
    readonly epochs: number;
    readonly learningRate: number;
    readonly batchSize: number;
    readonly seed: number;
  };
  /** `eligo.queue.redis`: long jobs go to the job queue (docs/scale-out.md). The URL as shown: its password hidden. */
  readonly queue?: { readonly redis: string };
}
