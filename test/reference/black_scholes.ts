// BlackScholes (examples/black_scholes.eligo): the price V of a European call
// through the Black-76 formula on the forward F = e^(rT)·S, Graphax
// examples/economics.py as quoted in shared/reference/vertex-elimination.md §2.
// The benchmark task is the Jacobian of ∇V (second-order Greeks); the example
// file declares `black_scholes_grad = grad(black_scholes)`, whose value here
// is the closed-form first-order Greeks (checked against finite differences
// in test/reference.test.ts).

import { erf, scalar, type EvalPoint, type Outputs } from './util.js';

export const EXAMPLE = 'black_scholes.eligo';

/** AlphaGrad's evaluation point: all ones. */
export const EVAL: EvalPoint = { S: 1, K: 1, r: 1, sigma: 1, T: 1 };

const Phi = (z: number): number => (1 + erf(z / Math.SQRT2)) / 2;
const phi = (z: number): number => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);

function parts(p: EvalPoint): { S: number; K: number; r: number; sigma: number; T: number; F: number; d1: number; d2: number } {
  const S = scalar(p, 'S'),
    K = scalar(p, 'K'),
    r = scalar(p, 'r'),
    sigma = scalar(p, 'sigma'),
    T = scalar(p, 'T');
  const F = Math.exp(r * T) * S;
  const d1 = (Math.log(F / K) + (sigma ** 2 / 2) * T) / (sigma * Math.sqrt(T));
  const d2 = d1 - sigma * Math.sqrt(T);
  return { S, K, r, sigma, T, F, d1, d2 };
}

/** V = e^(−rT)·(F·Φ(d1) − K·Φ(d2)). */
export function blackScholes(p: EvalPoint): number {
  const { K, r, T, F, d1, d2 } = parts(p);
  return Math.exp(-r * T) * (F * Phi(d1) - K * Phi(d2));
}

/** ∂V/∂(S, K, r, σ, T): delta, dual delta, rho, vega, and −theta. */
export function blackScholesGrad(p: EvalPoint): number[] {
  const { S, K, r, sigma, T, d1, d2 } = parts(p);
  const disc = Math.exp(-r * T);
  return [Phi(d1), -disc * Phi(d2), K * T * disc * Phi(d2), S * phi(d1) * Math.sqrt(T), (S * phi(d1) * sigma) / (2 * Math.sqrt(T)) + r * K * disc * Phi(d2)];
}

export function referenceValues(): Record<string, Outputs> {
  return {
    black_scholes: [[blackScholes(EVAL)]],
    // grad(f) of a scalar function with scalar parameters: one output per parameter.
    black_scholes_grad: blackScholesGrad(EVAL).map((g) => [g]),
  };
}
