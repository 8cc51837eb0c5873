// Measuring one candidate rule, as a pure function of serialisable inputs:
// the model's text and name, the sample settings and the rule's spec. Find
// learning rule calls it for every candidate in this process; the job queue's
// `rule-candidate` task calls the same function on a worker, so a rule
// measured on another machine has the same alignment to the last bit.
//
// The setup (the samples, their tapes of exact blocks and the exact BPTT
// gradients: the same for every rule of a search) is made once per search
// here, and once per (text, model, settings) on a worker (cached there).

import { compile } from '../compile.js';
import { alignmentSamples, exactGradients, ruleAlignment, sampleTapes, type Alignment } from './alignment.js';
import type { BlockTape } from './blocks.js';
import type { RunInput } from './execute.js';
import { modelContext, prepareRule, type ModelContext, type PreparedRule } from './model.js';
import type { RuleSpec } from './rule.js';

export interface CandidateSettings {
  /** Length of the sample sequences. */
  readonly steps: number;
  readonly samples: number;
  readonly seed: number;
  /** Memory limit of a rule's numeric run; a quarter of it may hold the samples' tapes. */
  readonly maxBytes: number;
}

export interface CandidateSetup {
  readonly ctx: ModelContext;
  readonly settings: CandidateSettings;
  readonly samples: RunInput[];
  readonly tapes: BlockTape[] | undefined;
  readonly exact: Map<string, Float64Array>[];
}

export function candidateSetup(ctx: ModelContext, settings: CandidateSettings): CandidateSetup {
  const samples = alignmentSamples(ctx, { steps: settings.steps, samples: settings.samples, seed: settings.seed });
  // The samples' exact blocks, recorded once and replayed by every rule (when they fit in a quarter of the memory limit).
  const tapes = sampleTapes(ctx, samples, settings.maxBytes / 4);
  return { ctx, settings, samples, tapes, exact: exactGradients(ctx, samples, tapes) };
}

/** The setup from the model's text (a worker compiles it again: the same text gives the same graph). */
export function candidateSetupOf(text: string, model: string, settings: CandidateSettings): CandidateSetup {
  return candidateSetup(modelContext(compile(text), model), settings);
}

/** Alignment of one rule with exact BPTT on the setup's samples. Throws StoppedError when `signal` aborts or `deadline` passes. */
export function alignCandidate(setup: CandidateSetup, spec: RuleSpec, signal?: AbortSignal, deadline?: number, prepared?: PreparedRule): Alignment {
  // The rule as prepared already (find-rule plans it here), or prepared from its spec (a worker).
  const rule = prepared ?? prepareRule(setup.ctx, spec);
  const samples = setup.samples.map((s) => ({ ...s, ...(deadline !== undefined ? { deadline } : {}), ...(signal ? { signal } : {}) }));
  return ruleAlignment(setup.ctx, rule, samples, setup.exact, signal, setup.tapes);
}
