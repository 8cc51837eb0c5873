// The ALIF model of examples/alif.eligo (Bellec et al. 2020, Nat. Commun.
// 11:3625, as quoted in shared/reference/vertex-elimination.md §4), simulated
// in plain TypeScript:
//   v[t+1] = α·v + W_rec·z + W_in·x[t+1] − v_th·z
//   a[t+1] = ρ·a + z
//   z[t+1] = H((v[t+1] − A[t+1]) / v_th),  A = v_th + β·a
//   o[t+1] = κ·o + W_out·z[t+1] + b_out      (leaky readout)
//   loss   = Σ_t mse(o[t+1], y[t+1])
// with every state 0 at t = 0.

import { mulberry32, normalMat, spikeSequence, type Sequence } from './random.js';
import { matvec, mse, zeros, type Mat, type Vec } from './util.js';
import { heaviside } from './lif.js';

export const EXAMPLE = 'alif.eligo';

export const ALIF_DIMS = { n_in: 20, n: 64, n_out: 2 } as const;
export const ALIF_CONSTS = {
  alpha: Math.exp(-1 / 20),
  rho: Math.exp(-1 / 200),
  kappa: Math.exp(-1 / 20),
  v_th: 0.6,
  beta: 1.8,
} as const;

export interface AlifParams {
  readonly W_in: Mat; // [n, n_in]
  readonly W_rec: Mat; // [n, n]
  readonly W_out: Mat; // [n_out, n]
  readonly b_out: Vec; // [n_out]
  readonly alpha?: number;
  readonly rho?: number;
  readonly kappa?: number;
  readonly v_th?: number;
  readonly beta?: number;
}

export interface AlifTrace {
  /** States at t = 0..T (T+1 rows each, row 0 the initial state). */
  readonly v: Vec[];
  readonly a: Vec[];
  readonly z: Vec[];
  readonly o: Vec[];
  readonly losses: number[];
  readonly loss: number;
}

export function simulateAlif(params: AlifParams, inputs: Sequence, T: number): AlifTrace {
  const { alpha, rho, kappa, v_th, beta } = { ...ALIF_CONSTS, ...definedOnly(params) };
  const n = params.W_rec.length;
  const nOut = params.W_out.length;
  if (inputs.x.length < T || inputs.y.length < T) throw new Error(`simulateAlif: need ${T} steps of inputs`);
  const v: Vec[] = [zeros(n)], a: Vec[] = [zeros(n)], z: Vec[] = [zeros(n)], o: Vec[] = [zeros(nOut)];
  const losses: number[] = [];
  for (let t = 0; t < T; t++) {
    const vt = v[t]!, at = a[t]!, zt = z[t]!, ot = o[t]!;
    const rec = matvec(params.W_rec, zt);
    const inp = matvec(params.W_in, inputs.x[t]!);
    const vn = vt.map((e, j) => alpha * e + rec[j]! + inp[j]! - v_th * zt[j]!);
    const an = at.map((e, j) => rho * e + zt[j]!);
    const zn = vn.map((e, j) => heaviside((e - (v_th + beta * an[j]!)) / v_th));
    const read = matvec(params.W_out, zn);
    const on = ot.map((e, k) => kappa * e + read[k]! + params.b_out[k]!);
    v.push(vn); a.push(an); z.push(zn); o.push(on);
    losses.push(mse(on, inputs.y[t]!));
  }
  return { v, a, z, o, losses, loss: losses.reduce((s, e) => s + e, 0) };
}

function definedOnly(p: AlifParams): Partial<typeof ALIF_CONSTS> {
  const out: Record<string, number> = {};
  for (const key of ['alpha', 'rho', 'kappa', 'v_th', 'beta'] as const) {
    const val = p[key];
    if (val !== undefined) out[key] = val;
  }
  return out as Partial<typeof ALIF_CONSTS>;
}

/** Parameters drawn as the initialisers of examples/alif.eligo declare them. */
export function alifParams(seed: number, dims: { n_in: number; n: number; n_out: number } = ALIF_DIMS): AlifParams {
  const rng = mulberry32(seed);
  return {
    W_in: normalMat(rng, dims.n, dims.n_in, 0, 0.3),
    W_rec: normalMat(rng, dims.n, dims.n, 0, 0.05),
    W_out: normalMat(rng, dims.n_out, dims.n, 0, 0.1),
    b_out: new Array<number>(dims.n_out).fill(0),
  };
}

export function alifInputs(seed: number, T: number, dims: { n_in: number; n_out: number } = ALIF_DIMS): Sequence {
  return spikeSequence(seed, T, dims.n_in, dims.n_out);
}
