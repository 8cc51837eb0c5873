// `train`: train a model with a rule (or exact BPTT) on a task and report
// loss, accuracy and the alignment of the rule's updates with the gradient.
// The training engine (train/) plugs in here; until then the kind answers
// `unavailable`.

import type { TrainResult } from '../protocol.js';
import { JobUnavailable, type JobKind } from './types.js';

export const trainJob: JobKind<unknown, TrainResult> = {
  kind: 'train',
  title: 'Training',
  parse: (input) => input.params,
  run() {
    throw new JobUnavailable('training needs the training engine (language-server/src/train/), which is not built yet');
  },
};
