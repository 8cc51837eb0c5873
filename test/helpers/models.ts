// Model texts shared by the tests: the LIF layer of LANGUAGE.md §2 and its
// e-prop rule of §3, so every suite tests the same specification example.

export const LIF_MODEL = `model lif {
  dim n_in = 20, n = 64, n_out = 2
  const alpha = exp(-1 / 20), theta = 1.0

  input  x: [n_in]
  target y: [n_out]
  param  W_in:  [n, n_in]  ~ normal(0, 0.1)
  param  W_rec: [n, n]     ~ normal(0, 0.05)
  param  W_out: [n_out, n] ~ normal(0, 0.1)
  state  u: [n] = 0
  state  z: [n] = 0
  surrogate spike = fast_sigmoid(slope = 10)

  u[t+1] = alpha * u + W_rec @ z + W_in @ x[t+1] - theta * z
  z[t+1] = spike(u[t+1] - theta)
  loss = mse(W_out @ z[t+1], y[t+1])
}
`;

/** e-prop as LANGUAGE.md §3 writes it. */
export const EPROP_RULE = `rule eprop for lif {
  approximate d(u[t+1])/d(z) = 0
  approximate d(u[t+1])/d(u) = diagonal
  schedule online
}
`;
