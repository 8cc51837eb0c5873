// The ALIF model of examples/alif.eligo (Bellec et al. 2020, Nat. Commun.
// 11:3625, Methods; the settings of their evidence-accumulation tutorial),
// simulated in plain TypeScript from the paper's equations:
//   v[t+1] = α·v + W_rec·z + W_in·x[t+1] − v_th·z
//   a[t+1] = ρ·a + z,   A = v_th + β·a,  β = 1.7(1 − ρ)/(1 − α)
//   z[t+1] = H((v[t+1] − A[t+1]) / v_th) unless refractory (r > 0)
//   r[t+1] = clip(r + n_ref·z[t+1] − 1, 0, n_ref)
//   z̄[t+1] = κ·z̄ + (1 − κ)·z[t+1]         (exp_convolve of their code)
//   loss   = Σ_t −Σ_k y_k log softmax(W_out·z̄[t+1])_k
// with every state 0 at t = 0.

import { mulberry32, normalMat, spikeSequence, type Sequence } from './random.js';
import { matvec, softmax, zeros, type Mat } from './util.js';
import { heaviside } from './lif.js';

export const EXAMPLE = 'alif.eligo';

export const ALIF_DIMS = { n_in: 40, n: 100, n_out: 2 } as const;
const alphaOf = Math.exp(-1 / 20);
const rhoOf = Math.exp(-1 / 2000);
export const ALIF_CONSTS = {
  alpha: alphaOf,
  rho: rhoOf,
  kappa: Math.exp(-1 / 20),
  v_th: 0.6,
  beta: (1.7 * (1 - rhoOf)) / (1 - alphaOf),
  n_ref: 5,
} as const;

export interface AlifParams {
  readonly W_in: Mat; // [n, n_in]
  readonly W_rec: Mat; // [n, n]
  readonly W_out: Mat; // [n_out, n]
  readonly alpha?: number;
  readonly rho?: number;
  readonly kappa?: number;
  readonly v_th?: number;
  readonly beta?: number;
  readonly n_ref?: number;
}

type Vec = number[];

export interface AlifTrace {
  /** States at t = 0..T (T+1 rows each, row 0 the initial state). */
  readonly v: Vec[];
  readonly a: Vec[];
  readonly z: Vec[];
  readonly r: Vec[];
  readonly zbar: Vec[];
  readonly losses: number[];
  readonly loss: number;
}

export function simulateAlif(params: AlifParams, inputs: Sequence, T: number): AlifTrace {
  const { alpha, rho, kappa, v_th, beta, n_ref } = { ...ALIF_CONSTS, ...definedOnly(params) };
  const n = params.W_rec.length;
  if (inputs.x.length < T || inputs.y.length < T) throw new Error(`simulateAlif: need ${T} steps of inputs`);
  const v: Vec[] = [zeros(n)],
    a: Vec[] = [zeros(n)],
    z: Vec[] = [zeros(n)],
    r: Vec[] = [zeros(n)],
    zbar: Vec[] = [zeros(n)];
  const losses: number[] = [];
  for (let t = 0; t < T; t++) {
    const vt = v[t]!,
      at = a[t]!,
      zt = z[t]!,
      rt = r[t]!,
      bt = zbar[t]!;
    const rec = matvec(params.W_rec, zt);
    const inp = matvec(params.W_in, inputs.x[t]!);
    const vn = vt.map((e, j) => alpha * e + rec[j]! + inp[j]! - v_th * zt[j]!);
    const an = at.map((e, j) => rho * e + zt[j]!);
    const zn = vn.map((e, j) => (rt[j]! > 0 ? 0 : heaviside((e - (v_th + beta * an[j]!)) / v_th)));
    const rn = rt.map((e, j) => Math.min(Math.max(e + n_ref * zn[j]! - 1, 0), n_ref));
    const bn = bt.map((e, j) => kappa * e + (1 - kappa) * zn[j]!);
    v.push(vn);
    a.push(an);
    z.push(zn);
    r.push(rn);
    zbar.push(bn);
    const p = softmax(matvec(params.W_out, bn));
    losses.push(-inputs.y[t]!.reduce((s, yk, k) => s + yk * Math.log(p[k]!), 0));
  }
  return { v, a, z, r, zbar, losses, loss: losses.reduce((s, e) => s + e, 0) };
}

function definedOnly(p: AlifParams): Partial<typeof ALIF_CONSTS> {
  const out: Record<string, number> = {};
  for (const key of ['alpha', 'rho', 'kappa', 'v_th', 'beta', 'n_ref'] as const) {
    const val = p[key];
    if (val !== undefined) out[key] = val;
  }
  return out;
}

/** Parameters drawn as the initialisers of examples/alif.eligo declare them. */
export function alifParams(seed: number, dims: { n_in: number; n: number; n_out: number } = ALIF_DIMS): AlifParams {
  const rng = mulberry32(seed);
  // (W_out is Glorot-uniform in the example; any values serve the comparison, which reads them from here.)
  return {
    W_in: normalMat(rng, dims.n, dims.n_in, 0, 1 / Math.sqrt(dims.n_in)),
    W_rec: normalMat(rng, dims.n, dims.n, 0, 1 / Math.sqrt(dims.n)),
    W_out: normalMat(rng, dims.n_out, dims.n, 0, 0.1),
  };
}

export function alifInputs(seed: number, T: number, dims: { n_in: number; n_out: number } = ALIF_DIMS): Sequence {
  return spikeSequence(seed, T, dims.n_in, dims.n_out);
}
