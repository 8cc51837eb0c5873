// RoeFlux_3d (examples/roeflux_3d.eligo): Roe's flux for the 3-D Euler
// equations in Graphax's vectorised form (examples/roe.py at b76d737, as
// quoted in shared/reference/vertex-elimination.md §2): γ = 0.5, wave speeds
// without abs, momentum flux (p, 0, 0) + u∘v.

import { dot, scalar, sum, vector, type EvalPoint, type Outputs, type Vec } from './util.js';

export const EXAMPLE = 'roeflux_3d.eligo';

/** AlphaGrad's evaluation point (experiments.make_RoeFlux_3d, batch of 1 dropped). */
export const EVAL: EvalPoint = { ul0: 0.1, ul: [0.1, 0.2, 0.3], ul4: 0.5, ur0: 0.2, ur: [0.2, 0.2, 0.4], ur4: 0.6 };

const GAMMA = 0.5;

const pressure = (u0: number, u: Vec, u4: number): number => (GAMMA - 1) * (u4 - (0.5 * sum(u.map((e) => e * e))) / u0);
const enthalpy = (u0: number, u4: number, p: number): number => (u4 + p) / u0;

/** F(u0, u, u4) = (u[0], (p, 0, 0) + u∘v, v[0]·(p + u4)) with v = u/u0, as three parts. */
export function flux3d(u0: number, u: Vec, u4: number): [number, Vec, number] {
  const v = u.map((e) => e / u0);
  const p = pressure(u0, u, u4);
  const mom = u.map((e, i) => (i === 0 ? p : 0) + e * v[i]!);
  return [u[0]!, mom, v[0]! * (p + u4)];
}

export function roeflux3d(pt: EvalPoint): Outputs {
  const ul0 = scalar(pt, 'ul0'),
    ul = vector(pt, 'ul', 3),
    ul4 = scalar(pt, 'ul4');
  const ur0 = scalar(pt, 'ur0'),
    ur = vector(pt, 'ur', 3),
    ur4 = scalar(pt, 'ur4');

  const du0 = ur0 - ul0;
  const du = ur.map((e, i) => e - ul[i]!);
  const [du1, du2, du3] = du as [number, number, number];
  const du4 = ur4 - ul4;

  const vl = ul.map((e) => e / ul0);
  const vr = ur.map((e) => e / ur0);
  const w1 = Math.sqrt(ul0) + Math.sqrt(ur0);
  const uvw = vl.map((e, i) => (Math.sqrt(ul0) * e + Math.sqrt(ur0) * vr[i]!) / w1);
  const [u, v, w] = uvw as [number, number, number];

  const pl = pressure(ul0, ul, ul4);
  const hl = enthalpy(ul0, ul4, pl);
  const pr = pressure(ur0, ur, ur4);
  const hr = enthalpy(ur0, ur4, pr);
  const h = (Math.sqrt(ul0) * hl + Math.sqrt(ur0) * hr) / w1;

  const q2 = sum(uvw.map((e) => e * e));
  const a2 = (GAMMA - 1) * (h - 0.5 * q2);
  const a = Math.sqrt(a2);

  const lp = u + a;
  const l = u;
  const lm = u - a;

  const c3 = ((GAMMA - 1) / a2) * ((h - q2) * du0 + dot(uvw, du) - du4) * l;
  const c2 = (du3 / w - du1) * l;
  const c1 = (du2 / v - du0) * l;
  const k1 = du0 - c3;
  const k2 = (du1 - u * du0) / a;
  const c0 = 0.5 * (k1 - k2) * lm;
  const c4 = 0.5 * (k1 + k2) * lp;

  const [FL0, FL, FL4] = flux3d(ul0, ul, ul4);
  const [FR0, FR, FR4] = flux3d(ur0, ur, ur4);
  const F0 = FL0 + FR0;
  const F = FL.map((e, i) => e + FR[i]!);
  const F4 = FL4 + FR4;

  const dF0 = c0 + c3 + c4 * lp;
  const dF1 = c0 * lm + c3 * u + c4 * lp;
  const dF2 = c0 * v + c1 * v + c3 * v + c4 * v;
  const dF3 = c0 * w + c2 * w + c3 * w + c4 * w;
  const dF4 = c0 * (h - u * a) + c1 * v ** 2 + c2 * w ** 2 + c3 * 0.5 * q2 + c4 * (h + u * a);
  const dF = [dF1, dF2, dF3];

  return [[0.5 * (F0 - dF0)], F.map((e, i) => 0.5 * (e - dF[i]!)), [0.5 * (F4 - dF4)]];
}

export function referenceValues(): Record<string, Outputs> {
  return { roeflux_3d: roeflux3d(EVAL) };
}
