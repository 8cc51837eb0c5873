// Accuracy of a rule: how well its update direction aligns with the exact
// gradient (BPTT, nothing approximated) on sample sequences — cosine
// similarity, relative norm error ‖g − g*‖/‖g*‖, and the fraction of entries
// with the same sign, per parameter and over all parameters together.

import type { Tensor } from '../graph/types.js';
import { prepareRule, ruleGradient, sampleInput, type ModelContext, type PreparedRule } from './model.js';
import { StoppedError, type RunInput } from './execute.js';
import { BlockTape, tapeBytes } from './blocks.js';

/**
 * Nothing approximated: every schedule gives the exact gradient (test/rules-schedules.test.ts
 * checks it to 1e-8), so the samples' exact gradients stand in for running it again.
 */
export function exactRule(rule: PreparedRule): boolean {
  // A scalar filter is exact (read as its structure guarantees); random, local and top blocks, truncation and rounding are not.
  return (
    rule.approx.dropped.length === 0 &&
    rule.approx.blocks.every((b) => b.approximation === 'exact' || b.approximation === 'dense' || b.approximation === 'filter') &&
    !rule.approx.feedback?.length &&
    rule.spec.truncate === undefined &&
    rule.spec.quantize === undefined
  );
}

export interface AlignmentFigures {
  readonly cosine: number;
  readonly relativeError: number;
  /** Fraction of entries where sign(g) = sign(g*) (entries where both are 0 agree). */
  readonly signAgreement: number;
}

/**
 * `cosine`, `relativeError` and `signAgreement` are means over the
 * parameters (each weight matrix counts once: a rule that learns only the
 * readout is poor even when the readout's gradient is the largest); `overall`
 * takes all parameters as one vector.
 */
export interface Alignment extends AlignmentFigures {
  readonly overall: AlignmentFigures;
  readonly perParameter: Readonly<Record<string, AlignmentFigures & { readonly norm: number; readonly exactNorm: number }>>;
  readonly samples: number;
  readonly steps: number;
}

function figures(g: readonly Float64Array[], ref: readonly Float64Array[]): AlignmentFigures & { norm: number; exactNorm: number } {
  let dot = 0;
  let a2 = 0;
  let b2 = 0;
  let d2 = 0;
  let same = 0;
  let count = 0;
  for (let k = 0; k < g.length; k++) {
    const x = g[k]!;
    const y = ref[k]!;
    for (let i = 0; i < x.length; i++) {
      const a = x[i]!;
      const b = y[i]!;
      dot += a * b;
      a2 += a * a;
      b2 += b * b;
      d2 += (a - b) * (a - b);
      if (Math.sign(a) === Math.sign(b)) same++;
      count++;
    }
  }
  const na = Math.sqrt(a2);
  const nb = Math.sqrt(b2);
  // Both zero: nothing to learn and nothing learnt — they agree.
  const cosine = na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : dot / (na * nb);
  const relativeError = nb === 0 ? (na === 0 ? 0 : Infinity) : Math.sqrt(d2) / nb;
  return { cosine, relativeError, signAgreement: count ? same / count : 1, norm: na, exactNorm: nb };
}

/** Alignment of one gradient estimate with a reference, per parameter and overall. */
export function compareGradients(g: ReadonlyMap<string, Float64Array>, ref: ReadonlyMap<string, Float64Array>): Omit<Alignment, 'samples' | 'steps'> {
  const names = [...ref.keys()];
  const zero = (n: number): Float64Array => new Float64Array(n);
  const per: Record<string, AlignmentFigures & { norm: number; exactNorm: number }> = {};
  for (const k of names) per[k] = figures([g.get(k) ?? zero(ref.get(k)!.length)], [ref.get(k)!]);
  const all = figures(
    names.map((k) => g.get(k) ?? zero(ref.get(k)!.length)),
    names.map((k) => ref.get(k)!),
  );
  const mean = (f: (x: AlignmentFigures) => number): number => (names.length ? names.reduce((a, k) => a + f(per[k]!), 0) / names.length : 1);
  return {
    cosine: mean((x) => x.cosine),
    relativeError: mean((x) => x.relativeError),
    signAgreement: mean((x) => x.signAgreement),
    overall: { cosine: all.cosine, relativeError: all.relativeError, signAgreement: all.signAgreement },
    perParameter: per,
  };
}

export interface AlignmentOptions {
  readonly steps: number;
  readonly samples: number;
  readonly seed: number;
  /** Stops between samples. */
  readonly signal?: AbortSignal;
}

/** The sample sequences alignment is measured on (seeded: the same for every rule). */
export function alignmentSamples(ctx: ModelContext, opts: AlignmentOptions): RunInput[] {
  return Array.from({ length: opts.samples }, (_, k) => sampleInput(ctx, opts.steps, opts.seed + 7919 * k));
}

/** Exact gradients (BPTT) of the samples, to compare many rules against. */
export function exactGradients(ctx: ModelContext, samples: readonly RunInput[], tapes?: readonly BlockTape[]): Map<string, Float64Array>[] {
  const bptt = prepareRule(ctx, { name: 'BPTT', model: ctx.name, approximations: [], schedule: { kind: 'reverse' }, objectives: [] });
  return samples.map((s, k) => ruleGradient(ctx, bptt, s, tapes?.[k]).gradient);
}

/** Tapes of the samples' exact blocks, when they fit in `maxBytes` (else none: every rule recomputes its blocks). */
export function sampleTapes(ctx: ModelContext, samples: readonly RunInput[], maxBytes: number): BlockTape[] | undefined {
  const bytes = samples.reduce((a, s) => a + tapeBytes(ctx.structure, s.steps), 0);
  if (bytes > maxBytes) return undefined;
  return samples.map((s) => new BlockTape(ctx.structure, s));
}

/** Alignment of a rule with exact BPTT, the gradients of all samples taken together. */
export function ruleAlignment(
  ctx: ModelContext,
  rule: PreparedRule,
  samples: readonly RunInput[],
  exact: readonly Map<string, Float64Array>[],
  signal?: AbortSignal,
  tapes?: readonly BlockTape[],
): Alignment {
  // Concatenate the samples: parameter p of sample k is entry `${p}` of a longer vector.
  const g = new Map<string, Float64Array>();
  const r = new Map<string, Float64Array>();
  samples.forEach((s, k) => {
    if (signal?.aborted) throw new StoppedError();
    const got = exactRule(rule) ? exact[k]! : ruleGradient(ctx, rule, s, tapes?.[k]).gradient;
    for (const [p, ref] of exact[k]!) {
      const prevG = g.get(p);
      const prevR = r.get(p);
      g.set(p, concat(prevG, got.get(p) ?? new Float64Array(ref.length)));
      r.set(p, concat(prevR, ref));
    }
  });
  return { ...compareGradients(g, r), samples: samples.length, steps: samples[0]?.steps ?? 0 };
}

function concat(a: Float64Array | undefined, b: Float64Array): Float64Array {
  if (!a) return Float64Array.from(b);
  const c = new Float64Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
}

export type { Tensor };
