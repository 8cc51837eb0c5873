// RoeFlux_1d (shared/reference/vertex-elimination.md §2), built op by op the
// way JAX traces the reference function for Graphax: one vertex per
// elemental operation, no common subexpressions merged (√ul0 is taken three
// times), Python-float constants folded, literal operands as const leaves.

import type { Graph } from '../../language-server/src/graph/types.js';
import { GraphBuilder } from './graphBuilder.js';

export const ROEFLUX_1D_POINT = [0.01, 0.02, 0.02, 0.01, 0.03, 0.03];

export function roeFlux1d(): Graph {
  const b = new GraphBuilder('RoeFlux_1d');
  const gamma = 0.5;
  const k = (x: number) => b.const(x);
  const [ul0, ul1, ul2, ur0, ur1, ur2] = ['ul0', 'ul1', 'ul2', 'ur0', 'ur1', 'ur2'].map((n) => b.input([], n)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // p(u0, u1, u2) = (γ−1)(u2 − ½u1²/u0);  h(u0, u2, p) = (u2 + p)/u0
  const pressure = (u0: number, u1: number, u2: number) => b.mul(k(gamma - 1), b.sub(u2, b.div(b.mul(k(0.5), b.powc(u1, 2)), u0)));
  const enthalpy = (u0: number, u2: number, p: number) => b.div(b.add(u2, p), u0);
  const flux = (u0: number, u1: number, u2: number, p: number): [number, number, number] => {
    const v = b.div(u1, u0);
    return [u1, b.add(p, b.mul(u1, v)), b.mul(v, b.add(p, u2))];
  };

  const du0 = b.sub(ur0, ul0);
  const ulr0 = b.sqrt(b.mul(ul0, ur0));
  const w1 = b.add(b.sqrt(ul0), b.sqrt(ur0));
  const vl = b.div(ul1, ul0);
  const pl = pressure(ul0, ul1, ul2);
  const hl = enthalpy(ul0, ul2, pl);
  const vr = b.div(ur1, ur0);
  const pr = pressure(ur0, ur1, ur2);
  const hr = enthalpy(ur0, ur2, pr);
  const dp = b.sub(pr, pl);
  const dv = b.sub(vr, vl);
  const u = b.div(b.add(b.mul(b.sqrt(ul0), vl), b.mul(b.sqrt(ur0), vr)), w1);
  const h = b.div(b.add(b.mul(b.sqrt(ul0), hl), b.mul(b.sqrt(ur0), hr)), w1);
  const q2 = b.powc(u, 2);
  const a2 = b.mul(k(gamma - 1), b.sub(h, b.mul(k(0.5), q2)));
  const a = b.sqrt(a2);
  const lp = b.abs(b.add(u, a));
  const l = b.abs(u);
  const ln = b.abs(u);
  const n = b.mul(a, ulr0);
  const c0 = b.mul(b.sub(du0, b.div(dp, a2)), l);
  const c1 = b.mul(b.add(dv, b.div(dp, n)), lp);
  const c2 = b.mul(b.sub(dv, b.div(dp, n)), ln);
  const [FL0, FL1, FL2] = flux(ul0, ul1, ul2, pl);
  const [FR0, FR1, FR2] = flux(ur0, ur1, ur2, pr);
  const F0 = b.add(FL0, FR0);
  const F1 = b.add(FL1, FR1);
  const F2 = b.add(FL2, FR2);
  const c = b.div(b.mul(k(0.5), ulr0), a);
  const dF0 = b.sub(b.add(c0, b.mul(c, c1)), b.mul(c, c2));
  const dF1 = b.sub(b.add(b.mul(c0, u), b.mul(b.mul(c, c1), b.add(u, a))), b.mul(b.mul(c, c2), b.sub(u, a)));
  const dF2 = b.sub(b.add(b.mul(b.mul(c0, k(0.5)), q2), b.mul(b.mul(c, c1), b.add(h, b.mul(u, a)))), b.mul(b.mul(c, c2), b.sub(h, b.mul(u, a))));
  b.output(b.mul(k(0.5), b.sub(F0, dF0)));
  b.output(b.mul(k(0.5), b.sub(F1, dF1)));
  b.output(b.mul(k(0.5), b.sub(F2, dF2)));
  return b.build();
}
