// `findLearningRule`: search the space of approximations and schedules of a
// model for a cheap rule that still learns. The rules engine (rules/) plugs
// in here; until then the kind answers `unavailable`.

import type { LearningRuleResult } from '../protocol.js';
import { JobUnavailable, type JobKind } from './types.js';

export const findLearningRuleJob: JobKind<unknown, LearningRuleResult> = {
  kind: 'findLearningRule',
  title: 'Finding a learning rule',
  parse: (input) => input.params,
  run() {
    throw new JobUnavailable('finding learning rules needs the rules engine (language-server/src/rules/), which is not built yet');
  },
};
