// The policy/value network of the rule search (discovery/mcts.ts): a small
// MLP over the features of one decision — which approximation to take for
// one temporal block, or which schedule — conditioned on the objective's
// weights, so one network serves every scalarisation of the front.
//
//   h₁ = relu(x·W₁ + b₁),  h₂ = relu(h₁·W₂ + b₂)      F → H → H
//   policy logits = h₂·P + p  (3: keep | diagonal | zero, or online | reverse)
//   value = tanh(h₂·V + v)    (the reward the decision leads to, in [-1, 1])
//
// Inference runs here in plain typed arrays (one decision costs microseconds
// where a tfjs call costs a millisecond); training runs in TensorFlow.js
// (ruleAgent.ts) on the same weights. The output layers start at zero: the
// untrained network is the uniform prior with value 0.
//
// Weights are one JSON file (format 'eligo-rule-agent', version 1), tensors
// as base64 little-endian float32, validated on load: a missing or corrupt
// file falls back to the untrained network, with a message.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Rng } from '../graph/random.js';
import { EligoError } from '../util/errors.js';

export const RULE_FEATURES = 13;
export const ACTIONS = 3;

export interface RuleNetArch {
  readonly features: number;
  readonly hidden: number;
}

export const RULE_ARCH: RuleNetArch = { features: RULE_FEATURES, hidden: 32 };

export interface RuleNetWeights {
  readonly arch: RuleNetArch;
  readonly tensors: Record<string, Float32Array>;
}

export function ruleNetShapes(a: RuleNetArch): Record<string, number[]> {
  return {
    w1: [a.features, a.hidden],
    b1: [a.hidden],
    w2: [a.hidden, a.hidden],
    b2: [a.hidden],
    p: [a.hidden, ACTIONS],
    pb: [ACTIONS],
    v: [a.hidden, 1],
    vb: [1],
  };
}

/** Seeded He-normal weights; policy and value layers zero. */
export function initialRuleNet(arch: RuleNetArch = RULE_ARCH, seed = 1): RuleNetWeights {
  const rng = new Rng(seed);
  const tensors: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(ruleNetShapes(arch))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = new Float32Array(n);
    if (name === 'w1' || name === 'w2') for (let k = 0; k < n; k++) t[k] = rng.normal() * Math.sqrt(2 / shape[0]!);
    tensors[name] = t;
  }
  return { arch, tensors };
}

/** Logits (masked: −Infinity where the action is not allowed) and value of one decision. */
export function ruleNetForward(w: RuleNetWeights, x: Float32Array | readonly number[], allowed: readonly boolean[]): { logits: Float64Array; value: number } {
  const { features: F, hidden: H } = w.arch;
  const t = w.tensors;
  const h1 = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    let s = t.b1![j]!;
    for (let i = 0; i < F; i++) s += (x[i] ?? 0) * t.w1![i * H + j]!;
    h1[j] = s > 0 ? s : 0;
  }
  const h2 = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    let s = t.b2![j]!;
    for (let i = 0; i < H; i++) s += h1[i]! * t.w2![i * H + j]!;
    h2[j] = s > 0 ? s : 0;
  }
  const logits = new Float64Array(ACTIONS);
  for (let a = 0; a < ACTIONS; a++) {
    if (!allowed[a]) {
      logits[a] = -Infinity;
      continue;
    }
    let s = t.pb![a]!;
    for (let i = 0; i < H; i++) s += h2[i]! * t.p![i * ACTIONS + a]!;
    logits[a] = s;
  }
  let v = t.vb![0]!;
  for (let i = 0; i < H; i++) v += h2[i]! * t.v![i]!;
  return { logits, value: Math.tanh(v) };
}

export function softmax(logits: Float64Array): Float64Array {
  let m = -Infinity;
  for (const l of logits) m = Math.max(m, l);
  const out = new Float64Array(logits.length);
  let z = 0;
  logits.forEach((l, k) => {
    out[k] = l === -Infinity ? 0 : Math.exp(l - m);
    z += out[k];
  });
  for (let k = 0; k < out.length; k++) out[k] = out[k]! / z;
  return out;
}

// ------------------------------------------------------------ files

export interface RuleAgentFile {
  readonly format: 'eligo-rule-agent';
  readonly version: 1;
  readonly arch: RuleNetArch;
  readonly training: Record<string, unknown>;
  readonly tensors: Record<string, string>;
}

export function serializeRuleNet(w: RuleNetWeights, training: Record<string, unknown>): string {
  const tensors: Record<string, string> = {};
  for (const [k, t] of Object.entries(w.tensors)) tensors[k] = Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('base64');
  const f: RuleAgentFile = { format: 'eligo-rule-agent', version: 1, arch: w.arch, training, tensors };
  return `${JSON.stringify(f, null, 1)}\n`;
}

export class RuleAgentError extends EligoError {
  constructor(message: string) {
    super('discovery.agent', message);
  }
}

export function parseRuleNet(text: string, origin: string): { weights: RuleNetWeights; training: Record<string, unknown> } {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new RuleAgentError(`${origin}: not valid JSON (${(e as Error).message})`);
  }
  const f = o as Partial<RuleAgentFile>;
  if (typeof o !== 'object' || o === null || f.format !== 'eligo-rule-agent' || f.version !== 1)
    throw new RuleAgentError(`${origin}: not an Eligo rule-agent file (format 'eligo-rule-agent', version 1)`);
  const arch = f.arch;
  if (!arch || !Number.isInteger(arch.features) || !Number.isInteger(arch.hidden) || arch.features !== RULE_FEATURES || arch.hidden < 1 || arch.hidden > 1024) {
    throw new RuleAgentError(`${origin}: architecture ${JSON.stringify(arch)} does not match this version (${RULE_FEATURES} features)`);
  }
  const tensors: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(ruleNetShapes(arch))) {
    const b64 = f.tensors?.[name];
    if (typeof b64 !== 'string') throw new RuleAgentError(`${origin}: tensor '${name}' is missing`);
    const buf = Buffer.from(b64, 'base64');
    const n = shape.reduce((a, b) => a * b, 1);
    if (buf.length !== 4 * n) throw new RuleAgentError(`${origin}: tensor '${name}' has ${buf.length / 4} values, expected ${n} (${shape.join('×')})`);
    const t = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    if (t.some((x) => !Number.isFinite(x))) throw new RuleAgentError(`${origin}: tensor '${name}' holds non-finite values`);
    tensors[name] = t;
  }
  return { weights: { arch, tensors }, training: typeof f.training === 'object' && f.training !== null ? f.training : {} };
}

/** The shipped network, models/agent/rule-agent.json, found upward from this module (as search/network.ts finds agent.json). */
export function defaultRuleAgentPath(): string | undefined {
  let dir = __dirname;
  for (let k = 0; k < 6; k++) {
    const p = join(dir, 'models', 'agent', 'rule-agent.json');
    if (existsSync(p)) return p;
    dir = resolve(dir, '..');
  }
  return undefined;
}

/** The shipped network, or the untrained one with why. */
export function shippedRuleNet(path?: string): { weights: RuleNetWeights; source: string; note?: string } {
  const p = path ?? defaultRuleAgentPath();
  if (!p)
    return {
      weights: initialRuleNet(),
      source: 'untrained',
      note: 'no pre-trained rule network found (models/agent/rule-agent.json is missing; run npm run train-rule-agent)',
    };
  try {
    return { weights: parseRuleNet(readFileSync(p, 'utf8'), p).weights, source: p };
  } catch (e) {
    return { weights: initialRuleNet(), source: 'untrained', note: `${(e as Error).message}; using the untrained network` };
  }
}
