// The job kinds by name, as the server's main thread needs them: a title for
// the progress bar and the grace a stopped job gets. The kinds themselves
// (jobs/kinds.ts) live in the worker bundle; a test holds the two lists equal.
// A Map, so a kind named `__proto__` or `constructor` is just unknown.

export interface JobKindInfo {
  /** One line for the progress title: "Searching elimination orders". */
  readonly title: string;
  /**
   * How long a stopped job may take to hand back its result before it is
   * terminated; the search engine stops its own threads (and kills a slow one
   * after 120 ms), so the engines get a little longer than the runner's default.
   */
  readonly graceMs?: number;
}

export const JOB_CATALOG: ReadonlyMap<string, JobKindInfo> = new Map<string, JobKindInfo>([
  ['probe', { title: 'Probe job' }],
  ['search', { title: 'Searching elimination orders', graceMs: 150 }],
  ['findLearningRule', { title: 'Finding a learning rule', graceMs: 150 }],
  ['train', { title: 'Training' }],
]);
