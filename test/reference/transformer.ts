// Transformer encoder with two blocks (examples/transformer.eligo):
// AlphaGrad's "Encoder" task as described in
// shared/reference/vertex-elimination.md §2. Per block: q, k, v = WQ·x,
// WK·x, WV·x; attention softmax_rows(qᵀk)·v; c = LN(x + attention) over each
// row (ε = 1e-6); z = SiLU(W·c + b). The loss is the row-wise softmax
// cross-entropy of z2 with y. The biases keep the reference's NumPy
// broadcasting: b1 (shape [4]) is added to every row, b2 (shape [2, 1]) to
// every column.

import {
  formulaMatrix,
  formulaVector,
  matmul,
  matrix,
  scalar,
  sigmoid,
  softmax,
  sum,
  transpose,
  vector,
  type EvalPoint,
  type Mat,
  type Outputs,
  type Vec,
} from './util.js';

export const EXAMPLE = 'transformer.eligo';

/**
 * x and the weights are tensors 0–10 of `formulaWeight`, in the order x, WQ1,
 * WQ2, WK1, WK2, WV1, WV2, W1, W2, b1, b2; y is two fixed distributions;
 * γ = 1, β = 0 in both blocks. AlphaGrad's make_Encoder uses x = ones and
 * γ = 0, β = 1, a degenerate point: γ = 0 makes each layer norm output the
 * constant β, so both losses are exactly ln 4 whatever the weights, and
 * x = ones makes x + attention a constant matrix, whose layer norm divides
 * zero by √ε.
 */
export const EVAL: EvalPoint = {
  x: formulaMatrix(0, 4, 4),
  y: [
    [0.1, 0.2, 0.3, 0.4],
    [0.4, 0.3, 0.2, 0.1],
  ],
  WQ1: formulaMatrix(1, 4, 4),
  WQ2: formulaMatrix(2, 4, 4),
  WK1: formulaMatrix(3, 4, 4),
  WK2: formulaMatrix(4, 4, 4),
  WV1: formulaMatrix(5, 4, 4),
  WV2: formulaMatrix(6, 4, 4),
  W1: formulaMatrix(7, 4, 4),
  W2: formulaMatrix(8, 2, 4),
  b1: formulaVector(9, 4),
  b2: formulaMatrix(10, 2, 1),
  gamma0: 1,
  beta0: 0,
  gamma1: 1,
  beta1: 0,
};

const LN_EPS = 1e-6;

function layerNormRows(a: Mat, gamma: number, beta: number): Mat {
  return a.map((row) => {
    const mu = sum(row) / row.length;
    const variance = sum(row.map((v) => (v - mu) ** 2)) / row.length;
    return row.map((v) => ((v - mu) / Math.sqrt(variance + LN_EPS)) * gamma + beta);
  });
}

/** One encoder block; `bias(i, j)` is the broadcast bias added to (W·c)[i][j]. */
function block(x: Mat, WQ: Mat, WK: Mat, WV: Mat, W: Mat, bias: (i: number, j: number) => number, gamma: number, beta: number): Mat {
  const q = matmul(WQ, x);
  const k = matmul(WK, x);
  const v = matmul(WV, x);
  const scores = matmul(transpose(q), k).map((row) => softmax(row));
  const a = matmul(scores, v).map((row, i) => row.map((e, j) => x[i]![j]! + e));
  const c = layerNormRows(a, gamma, beta);
  return matmul(W, c).map((row, i) =>
    row.map((e, j) => {
      const u = e + bias(i, j);
      return u * sigmoid(u);
    }),
  );
}

/** The output z2 of the second block (2×4), before the loss. */
export function transformerLogits(p: EvalPoint): Mat {
  const x = matrix(p, 'x', 4, 4);
  const m = (name: string, r = 4, c = 4): Mat => matrix(p, name, r, c);
  const b1: Vec = vector(p, 'b1', 4);
  const b2: Mat = matrix(p, 'b2', 2, 1);
  const z1 = block(x, m('WQ1'), m('WK1'), m('WV1'), m('W1'), (_i, j) => b1[j]!, scalar(p, 'gamma0'), scalar(p, 'beta0'));
  return block(z1, m('WQ2'), m('WK2'), m('WV2'), m('W2', 2, 4), (i) => b2[i]![0]!, scalar(p, 'gamma1'), scalar(p, 'beta1'));
}

export function transformer(p: EvalPoint): Outputs {
  const y = matrix(p, 'y', 2, 4);
  const z2 = transformerLogits(p);
  const ce = z2.map((row, i) => {
    const s = softmax(row);
    return -sum(y[i]!.map((yi, j) => yi * Math.log(s[j]!)));
  });
  return [ce];
}

export function referenceValues(): Record<string, Outputs> {
  return { transformer: transformer(EVAL) };
}
