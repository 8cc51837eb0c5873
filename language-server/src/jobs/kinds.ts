// Every job kind the worker can run. Engines plug in here: add the kind's
// module, one entry here and its title in catalog.ts (the main thread's
// list); the runner stays as it is (`eligo/runJob` reaches any kind by name).

import { findLearningRuleJob } from './learningRule.js';
import { probeJob } from './probe.js';
import { searchJob } from './search.js';
import { trainJob } from './train.js';
import type { JobKind } from './types.js';

export const JOB_KINDS: ReadonlyMap<string, JobKind<never, unknown>> = new Map<string, JobKind<never, unknown>>(
  [probeJob, searchJob, findLearningRuleJob, trainJob].map((k) => [k.kind, k as unknown as JobKind<never, unknown>]),
);
