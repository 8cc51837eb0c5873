// PropaneCombustion (examples/propane.eligo): the MINPACK-2 propane
// combustion residuals (full formulation), Graphax examples/minpack.py as
// quoted in shared/reference/vertex-elimination.md §2 (p = 40, R = 10).

import { scalar, type EvalPoint, type Outputs } from './util.js';

export const EXAMPLE = 'propane.eligo';

/** AlphaGrad's evaluation point: all eleven inputs 0.15. */
export const EVAL: EvalPoint = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`x${i + 1}`, 0.15]));

const p = 40,
  R = 10;

export function propane(pt: EvalPoint): Outputs {
  const x = [0, ...Array.from({ length: 11 }, (_, i) => scalar(pt, `x${i + 1}`))]; // 1-based
  const [, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11] = x as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const P = Math.sqrt(p / x11);
  const f1 = x1 + x4 - 3;
  const f2 = 2 * x1 + x2 + x4 + x7 + x8 + x9 + 2 * x10 - R;
  const f3 = 2 * x2 + 2 * x5 + x6 + x7 - 8;
  const f4 = 2 * x3 + x9 - 4 * R;
  const f5 = x2 * x4 - x1 * x5;
  const f6 = Math.sqrt(x2 * x4) - Math.sqrt(x1) * P * x6;
  const f7 = Math.sqrt(x1 * x2) - Math.sqrt(x4) * x7 * P;
  const f8 = x1 - (x4 * x8 * p) / x11;
  const f9 = x1 * Math.sqrt(x3) - x4 * x9 * P;
  const f10 = x1 ** 2 - (x4 ** 2 * x10 * p) / x11;
  const f11 = x11 - x1 - x2 - x3 - x4 - x5 - x6 - x7 - x8 - x9 - x10;
  return [[f1], [f2], [f3], [f4], [f5], [f6], [f7], [f8], [f9], [f10], [f11]];
}

export function referenceValues(): Record<string, Outputs> {
  return { propane: propane(EVAL) };
}
