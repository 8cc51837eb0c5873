// Reference values for every example in examples/: plain TypeScript
// transcriptions of each file's formulas, independent of the Eligo engine.
//
// Functions: `referenceValues()` maps each item name to its outputs, each
// output flattened row-major, evaluated at the point given by the example's
// `# @eval {...}` comment (the same point is stored here as EVAL, and
// test/reference.test.ts checks the two agree). Models: `simulateLif`,
// `simulateAlif`, `simulateRnn` step the model over T steps.

import * as blackScholes from './black_scholes.js';
import * as heartDipole from './heart_dipole.js';
import * as mlp from './mlp.js';
import * as propane from './propane.js';
import * as randomF from './random_f.js';
import * as randomG from './random_g.js';
import * as robotArm from './robot_arm.js';
import * as roeflux1d from './roeflux_1d.js';
import * as roeflux3d from './roeflux_3d.js';
import * as transformer from './transformer.js';
import type { EvalPoint, Outputs } from './util.js';

export { simulateLif, lifParams, lifInputs, LIF_DIMS, LIF_CONSTS } from './lif.js';
export type { LifParams, LifTrace } from './lif.js';
export { simulateAlif, alifParams, alifInputs, ALIF_DIMS, ALIF_CONSTS } from './alif.js';
export type { AlifParams, AlifTrace } from './alif.js';
export { simulateRnn, rnnParams, rnnInputs, RNN_DIMS } from './rnn.js';
export type { RnnParams, RnnTrace } from './rnn.js';
export type { EvalPoint, EvalValue, Outputs } from './util.js';

export interface FunctionReference {
  /** The example file name in examples/. */
  readonly example: string;
  /** The evaluation point, equal to the file's `# @eval` comment. */
  readonly eval: EvalPoint;
  /** Item name → outputs (each flattened row-major) at `eval`. */
  readonly referenceValues: () => Record<string, Outputs>;
}

export const FUNCTION_REFERENCES: readonly FunctionReference[] = [
  roeflux1d,
  roeflux3d,
  robotArm,
  heartDipole,
  propane,
  blackScholes,
  randomF,
  randomG,
  mlp,
  transformer,
].map((m) => ({ example: m.EXAMPLE, eval: m.EVAL, referenceValues: m.referenceValues }));

/** All function items of all examples: item name → outputs at its @eval point. */
export function referenceValues(): Record<string, Outputs> {
  const out: Record<string, Outputs> = {};
  for (const r of FUNCTION_REFERENCES) Object.assign(out, r.referenceValues());
  return out;
}

/** The model examples and their `simulate*` functions. */
export const MODEL_EXAMPLES = { lif: 'lif.eligo', alif: 'alif.eligo', rnn: 'rnn.eligo' } as const;

/**
 * Read the `# @eval {...}` comment of an example file: the first line whose
 * text after `#` starts with `@eval`; the rest of the line is a JSON object.
 * Returns undefined when the file has none.
 */
export function parseEvalComment(text: string): EvalPoint | undefined {
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*#\s*@eval\s+(\{.*\})\s*$/.exec(line);
    if (!m) continue;
    const value: unknown = JSON.parse(m[1]!);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('@eval: not a JSON object');
    for (const [k, v] of Object.entries(value)) {
      if (!isEvalValue(v)) throw new Error(`@eval: '${k}' is not a number or a (nested) array of numbers`);
    }
    return value as EvalPoint;
  }
  return undefined;
}

function isEvalValue(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (!Array.isArray(v)) return false;
  return v.every((e) => (typeof e === 'number' ? Number.isFinite(e) : Array.isArray(e) && e.every((x) => typeof x === 'number' && Number.isFinite(x))));
}
