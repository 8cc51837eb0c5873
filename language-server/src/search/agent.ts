// Training the policy/value network (network.ts) in TensorFlow.js on
// self-play samples from the tree search (mcts.ts), as AlphaZero does:
//
//   loss = CE(visit distribution, softmax(prior + policy logits))
//        + c_v · (ŷ − log((R + 1) / scale))²  + weight decay,
//
// R the objective still to come in the episode played from the sample's
// state (AlphaGrad trains on the same two targets, with its own value
// transform). A batch pads its states to the largest token count; message
// passing uses row-normalised adjacency matrices, which equals the mean over
// predecessors / successors of network.ts's inference path.
//
// The backend (tfjs-node, else wasm, else cpu) is chosen by train/backend.ts.
// Training steps are synchronous and short (one batch), so a search that
// trains between episodes still stops quickly when cancelled.

import { backendInfo, loadTf, type Tf } from '../train/backend.js';
import type { Rng } from '../graph/random.js';
import { FEATURES } from './features.js';
import type { Sample } from './mcts.js';
import { shapes, type Weights } from './network.js';

type Tensor = ReturnType<Tf['tensor']>;
type Variable = ReturnType<Tf['variable']>;

export interface TrainerOptions {
  readonly learningRate?: number;
  readonly valueWeight?: number;
  readonly weightDecay?: number;
}

export interface StepLosses {
  readonly policy: number;
  readonly value: number;
  readonly total: number;
}

export class AgentTrainer {
  private readonly vars: Record<string, Variable> = {};
  private readonly opt: ReturnType<Tf['train']['adam']>;
  readonly backend: string;

  private constructor(
    private readonly tf: Tf,
    readonly weights: Weights,
    private readonly o: TrainerOptions,
  ) {
    for (const [name, shape] of Object.entries(shapes(weights.arch))) {
      this.vars[name] = tf.variable(tf.tensor(weights.tensors[name]!, shape, 'float32'), true, `agent/${name}/${Math.random().toString(36).slice(2)}`);
    }
    this.opt = tf.train.adam(o.learningRate ?? 1e-3);
    this.backend = backendInfo()?.summary ?? tf.getBackend();
  }

  /** Loads TensorFlow.js (the backend module picks tfjs-node, wasm or cpu) and wraps `weights`, which training updates in place. */
  static async create(weights: Weights, o: TrainerOptions = {}): Promise<AgentTrainer> {
    const tf = await loadTf();
    return new AgentTrainer(tf, weights, o);
  }

  /** The network on a batch, as tensors: policy logits [B, N] (prior included, actions only) and values [B]. */
  private forwardBatch(b: Batch): { logits: Tensor; value: Tensor } {
    const tf = this.tf;
    const v = this.vars;
    const { hidden: H, head: P, layers: L } = this.weights.arch;
    const B = b.size;
    const N = b.tokens;
    const dense2 = (x: Tensor, w: Variable, bias: Variable, fin: number, fout: number): Tensor =>
      tf.add(tf.matMul(tf.reshape(x, [B * N, fin]), w), bias).reshape([B, N, fout]);
    let h = tf.relu(dense2(b.x, v['embed.w']!, v['embed.b']!, FEATURES, H));
    for (let l = 0; l < L; l++) {
      const mIn = tf.matMul(b.aIn, h);
      const mOut = tf.matMul(b.aOut, h);
      h = tf.add(h, tf.relu(dense2(tf.concat([h, mIn, mOut], 2), v[`mp${l}.w`]!, v[`mp${l}.b`]!, 3 * H, H)));
    }
    const ph = tf.relu(dense2(h, v['policy.w1']!, v['policy.b1']!, H, P));
    const z = dense2(ph, v['policy.w2']!, v['policy.b2']!, P, 1).reshape([B, N]);
    const logits = tf.where(tf.greater(b.mask, 0.5), tf.add(z, b.prior), tf.fill([B, N], -1e9));
    const vh = tf.mul(tf.relu(dense2(h, v['value.w1']!, v['value.b1']!, H, P)), tf.expandDims(b.tokenMask, 2));
    const pooled = tf.div(tf.sum(vh, 1), tf.expandDims(tf.maximum(tf.sum(b.tokenMask, 1), 1), 1));
    const value = tf.add(tf.matMul(pooled, v['value.w2']!), v['value.b2']!).reshape([B]);
    return { logits, value };
  }

  /** Policy logits and values of a batch of token inputs, by TensorFlow.js (tests compare with network.forward). */
  predict(samples: readonly Pick<Sample, 'input'>[]): { logits: Float32Array[]; values: number[] } {
    const tf = this.tf;
    const b = this.batch(samples.map((s) => ({ input: s.input, policy: new Float32Array(s.input.n), remaining: 0 })));
    const out = tf.tidy(() => {
      const { logits, value } = this.forwardBatch(b);
      return [logits.arraySync() as number[][], value.arraySync() as number[]] as const;
    });
    b.dispose();
    return {
      logits: samples.map((s, k) => Float32Array.from(out[0][k]!.slice(0, s.input.n), (z, t) => (s.input.mask[t] ? z : -Infinity))),
      values: out[1].slice(),
    };
  }

  /** One optimisation step on a batch; writes the new values into `weights`. */
  step(samples: readonly Sample[]): StepLosses {
    const tf = this.tf;
    const b = this.batch(samples);
    const cv = this.o.valueWeight ?? 1;
    const wd = this.o.weightDecay ?? 1e-4;
    let pl = 0;
    let vl = 0;
    const lossT = this.opt.minimize(
      () => {
        const { logits, value } = this.forwardBatch(b);
        const logp = tf.logSoftmax(logits, 1);
        const ce = tf.neg(tf.mean(tf.sum(tf.mul(b.policy, logp), 1)));
        const mse = tf.mean(tf.square(tf.sub(value, b.target)));
        let l2: Tensor = tf.scalar(0);
        for (const [name, x] of Object.entries(this.vars)) if (/\.w\d?$/.test(name)) l2 = tf.add(l2, tf.sum(tf.square(x)));
        pl = ce.dataSync()[0]!;
        vl = mse.dataSync()[0]!;
        return tf.add<ReturnType<Tf['scalar']>>(tf.add(ce, tf.mul(mse, cv)), tf.mul(l2, wd));
      },
      true,
      Object.values(this.vars),
    );
    if (!lossT) throw new Error('training step returned no loss');
    const total = lossT.dataSync()[0]!;
    lossT.dispose();
    b.dispose();
    this.sync();
    return { policy: pl, value: vl, total };
  }

  /** Trains `steps` batches of `batchSize` samples drawn from `buffer`; stops early when `stop()` says so. */
  train(buffer: readonly Sample[], steps: number, batchSize: number, rng: Rng, stop?: () => boolean): StepLosses | null {
    if (buffer.length === 0) return null;
    let last: StepLosses | null = null;
    for (let k = 0; k < steps; k++) {
      if (stop?.()) break;
      const batch: Sample[] = [];
      for (let i = 0; i < Math.min(batchSize, buffer.length); i++) batch.push(buffer[rng.int(buffer.length)]!);
      last = this.step(batch);
    }
    return last;
  }

  /** Copies the variables' values into `weights` (the inference path reads them). */
  private sync(): void {
    for (const [name, x] of Object.entries(this.vars)) this.weights.tensors[name]!.set(x.dataSync());
  }

  dispose(): void {
    for (const x of Object.values(this.vars)) x.dispose();
    this.opt.dispose();
  }

  private batch(samples: readonly Sample[]): Batch {
    return makeBatch(this.tf, samples);
  }
}

interface Batch {
  readonly size: number;
  readonly tokens: number;
  readonly x: Tensor;
  readonly aIn: Tensor;
  readonly aOut: Tensor;
  readonly mask: Tensor;
  readonly tokenMask: Tensor;
  readonly prior: Tensor;
  readonly policy: Tensor;
  readonly target: Tensor;
  dispose(): void;
}

function makeBatch(tf: Tf, samples: readonly Sample[]): Batch {
  const B = samples.length;
  const N = Math.max(1, ...samples.map((s) => s.input.n));
  const x = new Float32Array(B * N * FEATURES);
  const aIn = new Float32Array(B * N * N);
  const aOut = new Float32Array(B * N * N);
  const mask = new Float32Array(B * N);
  const tokenMask = new Float32Array(B * N);
  const prior = new Float32Array(B * N);
  const policy = new Float32Array(B * N);
  const target = new Float32Array(B);
  samples.forEach((s, k) => {
    const inp = s.input;
    x.set(inp.x, k * N * FEATURES);
    for (let t = 0; t < inp.n; t++) {
      mask[k * N + t] = inp.mask[t]!;
      tokenMask[k * N + t] = 1;
      prior[k * N + t] = inp.prior[t]!;
      policy[k * N + t] = s.policy[t]!;
      const row = k * N * N + t * N;
      const a0 = inp.predOff[t]!;
      const a1 = inp.predOff[t + 1]!;
      for (let q = a0; q < a1; q++) {
        const i = row + inp.predIdx[q]!;
        aIn[i] = aIn[i]! + 1 / (a1 - a0);
      }
      const b0 = inp.succOff[t]!;
      const b1 = inp.succOff[t + 1]!;
      for (let q = b0; q < b1; q++) {
        const i = row + inp.succIdx[q]!;
        aOut[i] = aOut[i]! + 1 / (b1 - b0);
      }
    }
    target[k] = Math.log((s.remaining + 1) / inp.scale);
  });
  const t = {
    size: B,
    tokens: N,
    x: tf.tensor3d(x, [B, N, FEATURES]),
    aIn: tf.tensor3d(aIn, [B, N, N]),
    aOut: tf.tensor3d(aOut, [B, N, N]),
    mask: tf.tensor2d(mask, [B, N]),
    tokenMask: tf.tensor2d(tokenMask, [B, N]),
    prior: tf.tensor2d(prior, [B, N]),
    policy: tf.tensor2d(policy, [B, N]),
    target: tf.tensor1d(target),
  };
  return {
    ...t,
    dispose: () => {
      for (const v of Object.values(t)) if (typeof v === 'object') (v as Tensor).dispose();
    },
  };
}
