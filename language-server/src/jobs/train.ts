// `train`: train a model with a rule (or exact BPTT) on a task and report
// loss, accuracy and the alignment of the rule's updates with the gradient.
// The job itself lives with the training engine (train/job.ts).

export { trainJobKind as trainJob } from '../train/job.js';
