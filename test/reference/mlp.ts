// 2-layer MLP with layer norm and softmax cross-entropy (examples/mlp.eligo):
// AlphaGrad's "Perceptron" task as described in
// shared/reference/vertex-elimination.md §2 — h = tanh(W1·x + b1),
// LN over the features with ε = 1e-6, o = tanh(W2·LN(h) + b2),
// loss = −Σ y·log softmax(o). The batch of 1 of the reference is dropped.

import { formulaMatrix, formulaVector, matrix, matvec, scalar, softmax, sum, vector, type EvalPoint, type Outputs, type Vec } from './util.js';

export const EXAMPLE = 'mlp.eligo';

/**
 * x = ones as in AlphaGrad's make_Perceptron; y is a fixed distribution; W1,
 * b1, W2, b2 are weight tensors 1–4 of `formulaWeight`. γ = 1, β = 0 (the
 * identity layer norm) rather than the reference's γ = 0, β = 1, which make
 * the layer norm output the constant β, so that the value would not depend
 * on x, W1 or b1 at all.
 */
export const EVAL: EvalPoint = {
  x: [1, 1, 1, 1],
  y: [0.1, 0.2, 0.3, 0.4],
  W1: formulaMatrix(1, 8, 4),
  b1: formulaVector(2, 8),
  W2: formulaMatrix(3, 4, 8),
  b2: formulaVector(4, 4),
  gamma: 1,
  beta: 0,
};

export const LN_EPS = 1e-6;

export function layerNorm(h: Vec, gamma: number, beta: number): Vec {
  const mu = sum(h) / h.length;
  const variance = sum(h.map((v) => (v - mu) ** 2)) / h.length;
  return h.map((v) => ((v - mu) / Math.sqrt(variance + LN_EPS)) * gamma + beta);
}

/** The logits o (before the loss), exposed for the cross-check in the tests. */
export function mlpLogits(p: EvalPoint): Vec {
  const x = vector(p, 'x', 4);
  const W1 = matrix(p, 'W1', 8, 4),
    b1 = vector(p, 'b1', 8);
  const W2 = matrix(p, 'W2', 4, 8),
    b2 = vector(p, 'b2', 4);
  const h = matvec(W1, x).map((v, i) => Math.tanh(v + b1[i]!));
  const hn = layerNorm(h, scalar(p, 'gamma'), scalar(p, 'beta'));
  return matvec(W2, hn).map((v, i) => Math.tanh(v + b2[i]!));
}

export function mlp(p: EvalPoint): Outputs {
  const y = vector(p, 'y', 4);
  const s = softmax(mlpLogits(p));
  return [[-sum(y.map((yi, i) => yi * Math.log(s[i]!)))]];
}

export function referenceValues(): Record<string, Outputs> {
  return { mlp: mlp(EVAL) };
}
