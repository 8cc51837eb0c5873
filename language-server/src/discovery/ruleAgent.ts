// Training the rule search's policy/value network (ruleNet.ts) in
// TensorFlow.js on self-play examples (mcts.ts): cross-entropy of the policy
// with the MCTS visit distribution, squared error of the value with the
// episode's reward (AlphaZero's loss, Silver et al. 2017), Adam. The weights
// are copied back to the typed arrays the search's inference reads, and a
// test checks that both forward passes agree.

import { loadTf, type Tf } from '../train/backend.js';
import type { Example } from './mcts.js';
import { ACTIONS, ruleNetShapes, type RuleNetWeights } from './ruleNet.js';

export interface FitResult {
  readonly policyLoss: number;
  readonly valueLoss: number;
  readonly steps: number;
}

/** The network's forward pass in TF.js: logits (masked) and value for a batch. */
function forward(
  tf: Tf,
  v: Record<string, import('@tensorflow/tfjs').Variable>,
  x: import('@tensorflow/tfjs').Tensor2D,
  mask: import('@tensorflow/tfjs').Tensor2D,
) {
  const h1 = tf.relu(tf.add(tf.matMul(x, v.w1!), v.b1!));
  const h2 = tf.relu(tf.add(tf.matMul(h1, v.w2!), v.b2!));
  const logits = tf.add(tf.add(tf.matMul(h2, v.p!), v.pb!), tf.mul(tf.sub(1, mask), -1e9));
  const value = tf.tanh(tf.reshape(tf.add(tf.matMul(h2, v.v!), v.vb!), [-1]));
  return { logits, value };
}

/** The TF.js forward pass, for tests (same numbers as ruleNetForward). */
export async function tfForward(
  w: RuleNetWeights,
  xs: readonly Float32Array[],
  allowed: readonly boolean[][],
): Promise<{ logits: Float32Array[]; value: Float32Array }> {
  const tf = await loadTf();
  return tf.tidy(() => {
    const shapes = ruleNetShapes(w.arch);
    const v = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.variable(tf.tensor(w.tensors[k]!, s), false)]));
    const x = tf.tensor2d(xs.map((a) => Array.from(a)));
    const mask = tf.tensor2d(allowed.map((a) => a.map((b) => (b ? 1 : 0))));
    const out = forward(tf, v, x, mask);
    const l = out.logits.arraySync() as number[][];
    const r = { logits: l.map((row) => Float32Array.from(row)), value: Float32Array.from(out.value.dataSync()) };
    for (const t of Object.values(v)) t.dispose();
    return r;
  });
}

/** Adam steps on random minibatches of `examples`; returns the new weights (the input is not changed). */
export async function fitRuleNet(
  w: RuleNetWeights,
  examples: readonly Example[],
  o: { steps: number; batch?: number; learningRate?: number; seed?: number },
): Promise<{ weights: RuleNetWeights; fit: FitResult }> {
  const tf = await loadTf();
  const shapes = ruleNetShapes(w.arch);
  const vars = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.variable(tf.tensor(Float32Array.from(w.tensors[k]!), s), true)]));
  const opt = tf.train.adam(o.learningRate ?? 3e-3);
  const B = Math.min(o.batch ?? 64, examples.length);
  let seed = (o.seed ?? 1) >>> 0;
  const rand = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  let pl = 0;
  let vl = 0;
  for (let s = 0; s < o.steps && B > 0; s++) {
    const idx = Array.from({ length: B }, () => Math.floor(rand() * examples.length));
    const cost = opt.minimize(() => {
      const x = tf.tensor2d(idx.map((i) => Array.from(examples[i]!.x)));
      const mask = tf.tensor2d(idx.map((i) => examples[i]!.allowed.map((b) => (b ? 1 : 0))));
      const pi = tf.tensor2d(
        idx.map((i) => Array.from(examples[i]!.pi)),
        [B, ACTIONS],
      );
      const z = tf.tensor1d(idx.map((i) => examples[i]!.z));
      const out = forward(tf, vars, x, mask);
      const logp = tf.logSoftmax(out.logits);
      const policy = tf.neg(tf.mean(tf.sum(tf.mul(pi, logp), 1)));
      const value = tf.mean(tf.square(tf.sub(out.value, z)));
      pl = policy.dataSync()[0]!;
      vl = value.dataSync()[0]!;
      return tf.add<import('@tensorflow/tfjs').Scalar>(policy, value);
    }, true);
    cost?.dispose();
  }
  const tensors: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(vars)) {
    tensors[k] = Float32Array.from(v.dataSync());
    v.dispose();
  }
  opt.dispose();
  return { weights: { arch: w.arch, tensors }, fit: { policyLoss: pl, valueLoss: vl, steps: o.steps } };
}
