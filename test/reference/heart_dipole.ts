// HumanHeartDipole (examples/heart_dipole.eligo): the MINPACK-2 human heart
// dipole residuals, Graphax examples/minpack.py as quoted in
// shared/reference/vertex-elimination.md §2 (all σ = 1).

import { scalar, type EvalPoint, type Outputs } from './util.js';

export const EXAMPLE = 'heart_dipole.eligo';

/** AlphaGrad's evaluation point: all eight inputs 0.15. */
export const EVAL: EvalPoint = { x1: 0.15, x2: 0.15, x3: 0.15, x4: 0.15, x5: 0.15, x6: 0.15, x7: 0.15, x8: 0.15 };

const sigma = 1;

export function heartDipole(p: EvalPoint): Outputs {
  const [x1, x2, x3, x4, x5, x6, x7, x8] = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => scalar(p, `x${i}`)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const f1 = x1 + x2 - sigma;
  const f2 = x3 + x4 - sigma;
  const f3 = x5 * x1 + x6 * x2 - x7 * x3 - x8 * x4 - sigma;
  const f4 = x7 * x1 + x8 * x2 + x5 * x3 + x6 * x4 - sigma;
  const x57 = x5 ** 2 - x7 ** 2;
  const x68 = x6 ** 2 - x8 ** 2;
  const f5 = x1 * x57 - 2 * x3 * x5 * x7 + x2 * x68 - 2 * x4 * x6 * x8 - sigma;
  const f6 = x3 * x57 - 2 * x1 * x5 * x7 + x4 * x68 - 2 * x2 * x6 * x8 - sigma;
  const A = x5 * (x5 ** 2 - 3 * x7 ** 2);
  const B = x7 * (x7 ** 2 - 3 * x5 ** 2);
  const C = x6 * (x6 ** 2 - 3 * x8 ** 2);
  const D = x8 * (x8 ** 2 - 3 * x6 ** 2);
  const f7 = x1 * A + x3 * B + x2 * C + x4 * D - sigma;
  const f8 = x3 * A - x1 * B + x4 * C - x2 * D - sigma;
  return [[f1], [f2], [f3], [f4], [f5], [f6], [f7], [f8]];
}

export function referenceValues(): Record<string, Outputs> {
  return { heart_dipole: heartDipole(EVAL) };
}
