// RoeFlux_1d (examples/roeflux_1d.eligo): Roe's approximate Riemann solver for
// the 1-D Euler equations, transcribed from Graphax examples/roe.py as quoted
// in shared/reference/vertex-elimination.md §2 (γ = 0.5, ln = |u|).

import { scalar, type EvalPoint, type Outputs } from './util.js';

export const EXAMPLE = 'roeflux_1d.eligo';

/** AlphaGrad's evaluation point (experiments.make_RoeFlux_1d). */
export const EVAL: EvalPoint = { ul0: 0.01, ul1: 0.02, ul2: 0.02, ur0: 0.01, ur1: 0.03, ur2: 0.03 };

const GAMMA = 0.5;

const pressure = (u0: number, u1: number, u2: number): number => (GAMMA - 1) * (u2 - (0.5 * u1 ** 2) / u0);
const enthalpy = (u0: number, u2: number, p: number): number => (u2 + p) / u0;

/** The physical flux F(u0, u1, u2, p) = (u1, p + u1·v, v·(p + u2)), v = u1/u0. */
export function flux1d(u0: number, u1: number, u2: number): [number, number, number] {
  const v = u1 / u0;
  const p = pressure(u0, u1, u2);
  return [u1, p + u1 * v, v * (p + u2)];
}

export function roeflux1d(p: EvalPoint): Outputs {
  const ul0 = scalar(p, 'ul0'),
    ul1 = scalar(p, 'ul1'),
    ul2 = scalar(p, 'ul2');
  const ur0 = scalar(p, 'ur0'),
    ur1 = scalar(p, 'ur1'),
    ur2 = scalar(p, 'ur2');

  const vl = ul1 / ul0;
  const pl = pressure(ul0, ul1, ul2);
  const hl = enthalpy(ul0, ul2, pl);
  const vr = ur1 / ur0;
  const pr = pressure(ur0, ur1, ur2);
  const hr = enthalpy(ur0, ur2, pr);

  const du0 = ur0 - ul0;
  const ulr0 = Math.sqrt(ul0 * ur0);
  const w1 = Math.sqrt(ul0) + Math.sqrt(ur0);
  const dp = pr - pl;
  const dv = vr - vl;
  const u = (Math.sqrt(ul0) * vl + Math.sqrt(ur0) * vr) / w1;
  const h = (Math.sqrt(ul0) * hl + Math.sqrt(ur0) * hr) / w1;
  const q2 = u ** 2;
  const a2 = (GAMMA - 1) * (h - 0.5 * q2);
  const a = Math.sqrt(a2);

  const lp = Math.abs(u + a);
  const l = Math.abs(u);
  const ln = Math.abs(u);

  const n = a * ulr0;
  const c0 = (du0 - dp / a2) * l;
  const c1 = (dv + dp / n) * lp;
  const c2 = (dv - dp / n) * ln;

  const FL = flux1d(ul0, ul1, ul2);
  const FR = flux1d(ur0, ur1, ur2);
  const F = [FL[0] + FR[0], FL[1] + FR[1], FL[2] + FR[2]];

  const c = (0.5 * ulr0) / a;
  const dF0 = c0 + c * c1 - c * c2;
  const dF1 = c0 * u + c * c1 * (u + a) - c * c2 * (u - a);
  const dF2 = c0 * 0.5 * q2 + c * c1 * (h + u * a) - c * c2 * (h - u * a);

  return [[0.5 * (F[0]! - dF0)], [0.5 * (F[1]! - dF1)], [0.5 * (F[2]! - dF2)]];
}

export function referenceValues(): Record<string, Outputs> {
  return { roeflux_1d: roeflux1d(EVAL) };
}
