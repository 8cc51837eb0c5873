// Measuring one candidate rule, as a pure function of serialisable inputs:
// the model's text and name, where alignment is measured and the rule's
// spec. Find learning rule calls it for every candidate in this process; the
// job queue's `rule-candidate` task calls the same function on a worker, so a
// rule measured on another machine has the same alignment to the last bit.
//
// Where alignment is measured is a list of alignment sets: sample sequences
// at some parameters, their tapes of exact blocks and their exact BPTT
// gradients (the same for every rule of a search, so made once per search
// here and once per run on a worker, cached there). Two sources:
//  - random: `samples` random sequences of `steps` steps at the model's
//    initial parameters (graph/simulate.ts), from the seed — what find-rule
//    without a task measures on;
//  - given: explicit sequences at explicit parameters — discovery's (a
//    task's sequences at 0 %, 50 % and 100 % of a short BPTT run,
//    discovery/find.ts). They travel as data, so a worker needs neither the
//    task's files nor the reference run.

import { compile } from '../compile.js';
import { attachParamValues } from '../graph/simulate.js';
import type { Tensor } from '../graph/types.js';
import { alignmentSamples, exactGradients, ruleAlignment, sampleTapes, type Alignment } from './alignment.js';
import { tapeBytes, type BlockTape } from './blocks.js';
import { StoppedError, type RunInput } from './execute.js';
import { modelContext, prepareRule, type ModelContext, type PreparedRule } from './model.js';
import type { RuleSpec } from './rule.js';

/** Samples (with their parameters), their tapes and their exact gradients: what every rule is compared on. */
export interface AlignmentSet {
  /** e.g. `initial`, `50 %`, `trained`. */
  readonly label: string;
  /** Updates of the reference run the parameters come from (0: initial). */
  readonly updates: number;
  readonly samples: readonly RunInput[];
  readonly tapes?: readonly BlockTape[];
  readonly exact: readonly Map<string, Float64Array>[];
}

/** An alignment set as find-rule reports it, whether or not it was built in this process. */
export interface AlignmentSetInfo {
  readonly label: string;
  readonly updates: number;
  readonly samples: number;
  readonly steps: number;
}

/** Parameters to measure at: one alignment set each. */
export interface ParamsAt {
  readonly label: string;
  readonly updates: number;
  readonly params: ReadonlyMap<string, Tensor>;
}

export type AlignmentSource =
  | { readonly kind: 'random'; readonly steps: number; readonly samples: number; readonly seed: number }
  | { readonly kind: 'given'; readonly sequences: readonly RunInput[]; readonly at: readonly ParamsAt[] };

export interface CandidateSettings {
  /** Length of the sample sequences. */
  readonly steps: number;
  readonly samples: number;
  readonly seed: number;
  /** Memory limit of a rule's numeric run; a quarter of it may hold the samples' tapes. */
  readonly maxBytes: number;
}

/** Random sequences at the model's initial parameters: find-rule's alignment without a task. */
export function randomAlignmentSet(ctx: ModelContext, settings: CandidateSettings): AlignmentSet {
  const samples = alignmentSamples(ctx, { steps: settings.steps, samples: settings.samples, seed: settings.seed });
  // The samples' exact blocks, recorded once and replayed by every rule (when they fit in a quarter of the memory limit).
  const tapes = sampleTapes(ctx, samples, settings.maxBytes / 4);
  return { label: 'initial', updates: 0, samples, ...(tapes ? { tapes } : {}), exact: exactGradients(ctx, samples, tapes) };
}

/** The same sequences at each parameter point; the tapes of all the sets share a quarter of the memory limit. */
export function alignmentSetsAt(ctx: ModelContext, sequences: readonly RunInput[], at: readonly ParamsAt[], maxBytes: number): AlignmentSet[] {
  return at.map((p) => {
    const samples = sequences.map((s) => ({ ...s, params: p.params }));
    const tapes = sampleTapes(ctx, samples, maxBytes / (4 * at.length));
    return { label: p.label, updates: p.updates, samples, ...(tapes ? { tapes } : {}), exact: exactGradients(ctx, samples, tapes) };
  });
}

export function alignmentSetsOf(ctx: ModelContext, source: AlignmentSource, maxBytes: number): AlignmentSet[] {
  return source.kind === 'random' ? [randomAlignmentSet(ctx, { ...source, maxBytes })] : alignmentSetsAt(ctx, source.sequences, source.at, maxBytes);
}

/**
 * The sequences top(k) patterns are chosen on (rules/topk.ts): the last set's first four — the task's at the
 * end of the reference run, or the random ones. The same from the sets built here or from their source as
 * data, so a run that measures elsewhere chooses the same patterns (and sends them in the spec).
 */
export const PATTERN_SAMPLES = 4;

export function setPatternSamples(sets: readonly AlignmentSet[]): RunInput[] {
  const last = sets[sets.length - 1];
  if (!last) throw new Error('no alignment set to choose top(k) patterns on');
  return last.samples.slice(0, PATTERN_SAMPLES);
}

/** setPatternSamples of the sets `source` describes, without building them (no tapes, no exact gradients). */
export function patternSamples(ctx: ModelContext, source: AlignmentSource): RunInput[] {
  if (source.kind === 'random') return alignmentSamples(ctx, { steps: source.steps, samples: Math.min(source.samples, PATTERN_SAMPLES), seed: source.seed });
  const last = source.at[source.at.length - 1];
  if (!last) throw new Error('no parameter point to choose top(k) patterns at');
  return source.sequences.slice(0, PATTERN_SAMPLES).map((s) => ({ ...s, params: last.params }));
}

export function setInfo(sets: readonly AlignmentSet[], steps: number): AlignmentSetInfo[] {
  return sets.map((s) => ({ label: s.label, updates: s.updates, samples: s.samples.length, steps: s.samples[0]?.steps ?? steps }));
}

/** Whether every set's tapes fit (as `sampleTapes` decides for them): computed the same way wherever the sets are built. */
export function setsTaped(ctx: ModelContext, sets: readonly AlignmentSetInfo[], maxBytes: number): boolean {
  return sets.every((s) => s.samples * tapeBytes(ctx.structure, s.steps) <= maxBytes / (4 * sets.length));
}

export interface CandidateSetup {
  readonly ctx: ModelContext;
  readonly sets: readonly AlignmentSet[];
}

export function candidateSetup(ctx: ModelContext, settings: CandidateSettings): CandidateSetup {
  return { ctx, sets: [randomAlignmentSet(ctx, settings)] };
}

/**
 * The setup from the model's text (a worker compiles it again: the same text gives the same graph), with
 * the values of its `data(…)` params as the client loaded them (a worker reads no file).
 */
export function candidateSetupOf(
  text: string,
  model: string,
  source: AlignmentSource,
  maxBytes: number,
  paramValues?: ReadonlyMap<string, Float64Array>,
): CandidateSetup {
  const c = compile(text);
  if (paramValues?.size) attachParamValues(c.checked.items.values(), paramValues);
  const ctx = modelContext(c, model);
  return { ctx, sets: alignmentSetsOf(ctx, source, maxBytes) };
}

/** Alignment of a prepared rule with exact BPTT on every set, in the sets' order. Throws StoppedError when `signal` aborts or `deadline` passes. */
export function alignAlong(ctx: ModelContext, sets: readonly AlignmentSet[], rule: PreparedRule, signal?: AbortSignal, deadline?: number): Alignment[] {
  return sets.map((set) => {
    if (signal?.aborted) throw new StoppedError();
    const samples = set.samples.map((s) => ({ ...s, ...(deadline !== undefined ? { deadline } : {}), ...(signal ? { signal } : {}) }));
    return ruleAlignment(ctx, rule, samples, set.exact, signal, set.tapes);
  });
}

/** Alignment of one rule on the setup's sets. */
export function alignCandidate(setup: CandidateSetup, spec: RuleSpec, signal?: AbortSignal, deadline?: number, prepared?: PreparedRule): Alignment[] {
  // The rule as prepared already (find-rule plans it here), or prepared from its spec (top(k) patterns, unless it carries them, chosen as find-rule would).
  return alignAlong(setup.ctx, setup.sets, prepared ?? prepareRule(setup.ctx, spec, setPatternSamples(setup.sets)), signal, deadline);
}
