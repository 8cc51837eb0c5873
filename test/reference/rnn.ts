// The tanh RNN of examples/rnn.eligo, simulated in plain TypeScript:
//   h[t+1] = tanh(W_rec·h + W_in·x[t+1] + b)
//   loss   = Σ_t mse(W_out·h[t+1], y[t+1])
// with h[0] = 0.

import { analogSequence, glorotMat, mulberry32, normalMat, type Sequence } from './random.js';
import { matvec, mse, zeros, type Mat, type Vec } from './util.js';

export const EXAMPLE = 'rnn.eligo';

export const RNN_DIMS = { n_in: 4, n: 32, n_out: 2 } as const;

export interface RnnParams {
  readonly W_in: Mat; // [n, n_in]
  readonly W_rec: Mat; // [n, n]
  readonly b: Vec; // [n]
  readonly W_out: Mat; // [n_out, n]
}

export interface RnnTrace {
  /** h[0..T]: T+1 rows, row 0 the initial state. */
  readonly h: Vec[];
  readonly losses: number[];
  readonly loss: number;
}

export function simulateRnn(params: RnnParams, inputs: Sequence, T: number): RnnTrace {
  const n = params.W_rec.length;
  if (inputs.x.length < T || inputs.y.length < T) throw new Error(`simulateRnn: need ${T} steps of inputs`);
  const h: Vec[] = [zeros(n)];
  const losses: number[] = [];
  for (let t = 0; t < T; t++) {
    const rec = matvec(params.W_rec, h[t]!);
    const inp = matvec(params.W_in, inputs.x[t]!);
    const hn = rec.map((e, j) => Math.tanh(e + inp[j]! + params.b[j]!));
    h.push(hn);
    losses.push(mse(matvec(params.W_out, hn), inputs.y[t]!));
  }
  return { h, losses, loss: losses.reduce((s, e) => s + e, 0) };
}

/** Parameters drawn as the initialisers of examples/rnn.eligo declare them. */
export function rnnParams(seed: number, dims: { n_in: number; n: number; n_out: number } = RNN_DIMS): RnnParams {
  const rng = mulberry32(seed);
  return {
    W_in: glorotMat(rng, dims.n, dims.n_in),
    W_rec: normalMat(rng, dims.n, dims.n, 0, 0.18), // ≈ 1/√n for n = 32
    b: new Array<number>(dims.n).fill(0),
    W_out: glorotMat(rng, dims.n_out, dims.n),
  };
}

export function rnnInputs(seed: number, T: number, dims: { n_in: number; n_out: number } = RNN_DIMS): Sequence {
  return analogSequence(seed, T, dims.n_in, dims.n_out);
}
