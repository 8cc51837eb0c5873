// The LIF model of examples/lif.eligo (shared/LANGUAGE.md §2), simulated in
// plain TypeScript so the engine's model stepping can be checked against it:
//   u[t+1] = α·u + W_rec·z + W_in·x[t+1] − θ·z
//   z[t+1] = H(u[t+1] − θ)            (Heaviside forward: x > 0)
//   loss   = Σ_t mse(W_out·z[t+1], y[t+1])
// with u[0] = z[0] = 0.

import { mulberry32, normalMat, spikeSequence, type Sequence } from './random.js';
import { matvec, mse, zeros, type Mat, type Vec } from './util.js';

export const EXAMPLE = 'lif.eligo';

/** The `dim` and `const` values of examples/lif.eligo. */
export const LIF_DIMS = { n_in: 20, n: 64, n_out: 2 } as const;
export const LIF_CONSTS = { alpha: Math.exp(-1 / 20), theta: 1.0 } as const;

export interface LifParams {
  readonly W_in: Mat; // [n, n_in]
  readonly W_rec: Mat; // [n, n]
  readonly W_out: Mat; // [n_out, n]
  readonly alpha?: number;
  readonly theta?: number;
}

export interface LifTrace {
  /** u[0..T] and z[0..T]: T+1 rows each, row 0 the initial state. */
  readonly u: Vec[];
  readonly z: Vec[];
  /** The per-step losses, losses[k] = loss at step k+1. */
  readonly losses: number[];
  /** Σ of the per-step losses. */
  readonly loss: number;
}

export const heaviside = (v: number): number => (v > 0 ? 1 : 0);

/** Run T steps; `inputs.x[k]`, `inputs.y[k]` are x[k+1], y[k+1]. */
export function simulateLif(params: LifParams, inputs: Sequence, T: number): LifTrace {
  const alpha = params.alpha ?? LIF_CONSTS.alpha;
  const theta = params.theta ?? LIF_CONSTS.theta;
  const n = params.W_rec.length;
  if (inputs.x.length < T || inputs.y.length < T) throw new Error(`simulateLif: need ${T} steps of inputs`);
  const u: Vec[] = [zeros(n)];
  const z: Vec[] = [zeros(n)];
  const losses: number[] = [];
  for (let t = 0; t < T; t++) {
    const ut = u[t]!,
      zt = z[t]!;
    const rec = matvec(params.W_rec, zt);
    const inp = matvec(params.W_in, inputs.x[t]!);
    const un = ut.map((v, j) => alpha * v + rec[j]! + inp[j]! - theta * zt[j]!);
    const zn = un.map((v) => heaviside(v - theta));
    u.push(un);
    z.push(zn);
    losses.push(mse(matvec(params.W_out, zn), inputs.y[t]!));
  }
  return { u, z, losses, loss: losses.reduce((s, v) => s + v, 0) };
}

/** Parameters drawn as the initialisers of examples/lif.eligo declare them. */
export function lifParams(seed: number, dims: { n_in: number; n: number; n_out: number } = LIF_DIMS): LifParams {
  const rng = mulberry32(seed);
  return {
    W_in: normalMat(rng, dims.n, dims.n_in, 0, 0.1),
    W_rec: normalMat(rng, dims.n, dims.n, 0, 0.05),
    W_out: normalMat(rng, dims.n_out, dims.n, 0, 0.1),
  };
}

export function lifInputs(seed: number, T: number, dims: { n_in: number; n_out: number } = LIF_DIMS): Sequence {
  return spikeSequence(seed, T, dims.n_in, dims.n_out);
}
