// The policy/value network of the tree search: a small graph network over
// vertex tokens (features.ts), sized for a CPU.
//
//   h⁰ = relu(x·W_embed + b)                                   F → H
//   hˡ⁺¹ = hˡ + relu([hˡ | mean_pred hˡ | mean_succ hˡ]·Wˡ + bˡ)  3H → H, L rounds
//   policy logit(v) = prior(v) + relu(h·P₁ + p₁)·p₂ + p₂ᵇ        (masked to actions)
//   value ŷ = mean_v relu(h·V₁ + v₁) · v₂ + v₂ᵇ
//
// The output layers start at zero: an untrained network is exactly the greedy
// prior (fewest multiplications first, features.ts) with value ŷ = 0, and
// training learns a correction to it. ŷ predicts log((R + 1) / scale), R the
// multiplications still to come and scale = 1 + Σ step costs now.
//
// Training runs in TensorFlow.js (agent.ts) on the same weights; this file is
// the inference path of the search, in plain typed arrays: one state at a
// time, which costs tens of microseconds where a tfjs call costs milliseconds.
// Tests check that both give the same numbers.
//
// Weights are stored as one JSON file (format 'eligo-agent', version 1) with
// base64 little-endian float32 tensors, read back with full validation:
// a missing or corrupt file falls back to the untrained prior, with a message.

import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Rng } from '../graph/random.js';
import { FEATURES, type TokenInput } from './features.js';

export interface Arch {
  readonly features: number;
  readonly hidden: number;
  readonly layers: number;
  readonly head: number;
}

export const DEFAULT_ARCH: Arch = { features: FEATURES, hidden: 24, layers: 2, head: 24 };

export interface Weights {
  readonly arch: Arch;
  /** Row-major tensors by name (see `shapes`). */
  readonly tensors: Record<string, Float32Array>;
}

/** Name → shape of every tensor of an architecture. */
export function shapes(a: Arch): Record<string, number[]> {
  const s: Record<string, number[]> = {
    'embed.w': [a.features, a.hidden],
    'embed.b': [a.hidden],
    'policy.w1': [a.hidden, a.head],
    'policy.b1': [a.head],
    'policy.w2': [a.head, 1],
    'policy.b2': [1],
    'value.w1': [a.hidden, a.head],
    'value.b1': [a.head],
    'value.w2': [a.head, 1],
    'value.b2': [1],
  };
  for (let l = 0; l < a.layers; l++) {
    s[`mp${l}.w`] = [3 * a.hidden, a.hidden];
    s[`mp${l}.b`] = [a.hidden];
  }
  return s;
}

const ZERO_INIT = new Set(['policy.w2', 'policy.b2', 'value.w2', 'value.b2']);

/** Seeded He-normal initial weights; the output layers are zero (the untrained network is the prior). */
export function initialWeights(arch: Arch = DEFAULT_ARCH, seed = 1): Weights {
  const rng = new Rng(seed);
  const tensors: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(shapes(arch))) {
    const size = shape.reduce((x, y) => x * y, 1);
    const t = new Float32Array(size);
    if (shape.length === 2 && !ZERO_INIT.has(name)) {
      const std = Math.sqrt(2 / shape[0]!) * (name.startsWith('mp') ? 0.5 : 1);
      for (let k = 0; k < size; k++) t[k] = rng.normal() * std;
    }
    tensors[name] = t;
  }
  return { arch, tensors };
}

export interface NetOutput {
  /** Policy logits per token (prior included); −Infinity where the token is no action. */
  readonly logits: Float32Array;
  /** ŷ: predicted log((remaining + 1) / scale). */
  readonly value: number;
}

/** True when the output layers are zero: the network is exactly the greedy prior (value 0). */
export function isUntrained(w: Weights): boolean {
  for (const name of ZERO_INIT) for (const x of w.tensors[name]!) if (x !== 0) return false;
  return true;
}

/** Scratch buffers reused across calls (one network evaluation at a time per thread). */
let scratch = new Float32Array(0);

/** The network on one state, in plain JS. */
export function forward(w: Weights, inp: TokenInput): NetOutput {
  if (isUntrained(w)) {
    // The untrained network is the prior: skip the arithmetic.
    return { logits: Float32Array.from(inp.prior, (z, t) => (inp.mask[t] ? z : -Infinity)), value: 0 };
  }
  const { hidden: H, head: P, layers: L, features: F } = w.arch;
  const n = inp.n;
  const need = n * H * 5 + 3 * H + P;
  if (scratch.length < need) scratch = new Float32Array(need * 2);
  const h = scratch.subarray(0, n * H);
  const mIn = scratch.subarray(n * H, 2 * n * H);
  const mOut = scratch.subarray(2 * n * H, 3 * n * H);
  const upd = scratch.subarray(3 * n * H, 4 * n * H);
  const t = w.tensors;
  // Embedding.
  dense(inp.x, n, F, t['embed.w']!, t['embed.b']!, H, h, true);
  for (let l = 0; l < L; l++) {
    meanOf(h, n, H, inp.predOff, inp.predIdx, mIn);
    meanOf(h, n, H, inp.succOff, inp.succIdx, mOut);
    const W = t[`mp${l}.w`]!;
    const b = t[`mp${l}.b`]!;
    for (let i = 0; i < n; i++) {
      const o = i * H;
      for (let j = 0; j < H; j++) upd[o + j] = b[j]!;
      for (let k = 0; k < H; k++) {
        const a = h[o + k]!;
        const c = mIn[o + k]!;
        const d = mOut[o + k]!;
        const r0 = k * H;
        const r1 = (H + k) * H;
        const r2 = (2 * H + k) * H;
        for (let j = 0; j < H; j++) upd[o + j] = upd[o + j]! + (a * W[r0 + j]! + c * W[r1 + j]! + d * W[r2 + j]!);
      }
      for (let j = 0; j < H; j++) {
        const u = upd[o + j]!;
        if (u > 0) h[o + j] = h[o + j]! + u;
      }
    }
  }
  // Heads.
  const logits = new Float32Array(n);
  const hp = scratch.subarray(4 * n * H, 4 * n * H + P);
  const pool = scratch.subarray(4 * n * H + P, 4 * n * H + 2 * P);
  pool.fill(0);
  const P1 = t['policy.w1']!,
    p1 = t['policy.b1']!,
    P2 = t['policy.w2']!,
    p2 = t['policy.b2']![0]!;
  const V1 = t['value.w1']!,
    v1 = t['value.b1']!,
    V2 = t['value.w2']!,
    v2 = t['value.b2']![0]!;
  for (let i = 0; i < n; i++) {
    const o = i * H;
    if (inp.mask[i] === 1) {
      for (let j = 0; j < P; j++) hp[j] = p1[j]!;
      for (let k = 0; k < H; k++) {
        const a = h[o + k]!;
        if (a !== 0) for (let j = 0; j < P; j++) hp[j] = hp[j]! + a * P1[k * P + j]!;
      }
      let z = p2;
      for (let j = 0; j < P; j++) if (hp[j]! > 0) z += hp[j]! * P2[j]!;
      logits[i] = z + inp.prior[i]!;
    } else {
      logits[i] = -Infinity;
    }
    for (let j = 0; j < P; j++) hp[j] = v1[j]!;
    for (let k = 0; k < H; k++) {
      const a = h[o + k]!;
      if (a !== 0) for (let j = 0; j < P; j++) hp[j] = hp[j]! + a * V1[k * P + j]!;
    }
    for (let j = 0; j < P; j++) if (hp[j]! > 0) pool[j] = pool[j]! + hp[j]!;
  }
  let value = v2;
  for (let j = 0; j < P; j++) value += (pool[j]! / Math.max(1, n)) * V2[j]!;
  return { logits, value };
}

function dense(x: Float32Array, n: number, fin: number, W: Float32Array, b: Float32Array, fout: number, out: Float32Array, relu: boolean): void {
  for (let i = 0; i < n; i++) {
    const o = i * fout;
    for (let j = 0; j < fout; j++) out[o + j] = b[j]!;
    for (let k = 0; k < fin; k++) {
      const a = x[i * fin + k]!;
      if (a === 0) continue;
      for (let j = 0; j < fout; j++) out[o + j] = out[o + j]! + a * W[k * fout + j]!;
    }
    if (relu) for (let j = 0; j < fout; j++) if (out[o + j]! < 0) out[o + j] = 0;
  }
}

function meanOf(h: Float32Array, n: number, H: number, off: Int32Array, idx: Int32Array, out: Float32Array): void {
  out.fill(0, 0, n * H);
  for (let i = 0; i < n; i++) {
    const a = off[i]!;
    const b = off[i + 1]!;
    if (a === b) continue;
    const o = i * H;
    for (let k = a; k < b; k++) {
      const u = idx[k]! * H;
      for (let j = 0; j < H; j++) out[o + j] = out[o + j]! + h[u + j]!;
    }
    const inv = 1 / (b - a);
    for (let j = 0; j < H; j++) out[o + j] = out[o + j]! * inv;
  }
}

/** Policy probabilities over tokens (0 where no action), from logits. */
export function softmaxMasked(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const z of logits) if (z > max) max = z;
  const p = new Float64Array(logits.length);
  if (max === -Infinity) return p;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i]!;
    if (z === -Infinity) continue;
    p[i] = Math.exp(z - max);
    sum += p[i]!;
  }
  for (let i = 0; i < p.length; i++) p[i]! /= sum;
  return p;
}

// ---------------------------------------------------------------- files

export const AGENT_FORMAT = 'eligo-agent';
export const AGENT_VERSION = 1;

export interface AgentFile {
  readonly format: typeof AGENT_FORMAT;
  readonly version: number;
  readonly arch: Arch;
  /** How it was trained (free-form, shown to users). */
  readonly training?: Record<string, unknown>;
  readonly tensors: Record<string, { readonly shape: number[]; readonly data: string }>;
}

function toBase64(a: Float32Array): string {
  const b = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return b.toString('base64');
}

function fromBase64(s: string, expected: number): Float32Array | null {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  const b = Buffer.from(s, 'base64');
  if (b.length !== expected * 4) return null;
  const out = new Float32Array(expected);
  for (let k = 0; k < expected; k++) out[k] = b.readFloatLE(k * 4);
  return out;
}

export function saveWeights(path: string, w: Weights, training?: Record<string, unknown>): void {
  const tensors: AgentFile['tensors'] = {};
  const sh = shapes(w.arch);
  for (const [name, shape] of Object.entries(sh)) tensors[name] = { shape, data: toBase64(w.tensors[name]!) };
  const file: AgentFile = { format: AGENT_FORMAT, version: AGENT_VERSION, arch: w.arch, ...(training ? { training } : {}), tensors };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(file, null, 1)}\n`);
}

/** Checks an agent file's contents; returns the weights or why they cannot be used. */
export function parseAgent(text: string): { weights: Weights; training?: Record<string, unknown> } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { error: `it is not valid JSON (${(e as Error).message.split('\n')[0]})` };
  }
  if (typeof raw !== 'object' || raw === null) return { error: 'it is not a JSON object' };
  const f = raw as Partial<AgentFile>;
  if (f.format !== AGENT_FORMAT) return { error: `its format is '${String(f.format)}', not '${AGENT_FORMAT}'` };
  if (f.version !== AGENT_VERSION) return { error: `it is version ${String(f.version)}; this Eligo reads version ${AGENT_VERSION}` };
  const a = f.arch as Partial<Arch> | undefined;
  const okInt = (x: unknown, max: number): boolean => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= max;
  if (!a || !okInt(a.hidden, 512) || !okInt(a.layers, 16) || !okInt(a.head, 512) || a.features !== FEATURES) {
    return { error: `its architecture ${JSON.stringify(a)} is not one this Eligo runs (features must be ${FEATURES})` };
  }
  const arch: Arch = { features: FEATURES, hidden: a.hidden!, layers: a.layers!, head: a.head! };
  if (typeof f.tensors !== 'object' || f.tensors === null) return { error: 'it has no tensors' };
  const tensors: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(shapes(arch))) {
    const t = (f.tensors as Record<string, unknown>)[name] as { shape?: unknown; data?: unknown } | undefined;
    if (!t) return { error: `tensor '${name}' is missing` };
    if (!Array.isArray(t.shape) || t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      return { error: `tensor '${name}' has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(shape)}` };
    }
    const size = shape.reduce((x, y) => x * y, 1);
    const data = fromBase64(t.data as string, size);
    if (!data) return { error: `tensor '${name}' does not hold ${size} float32 values` };
    for (let k = 0; k < size; k++) if (!Number.isFinite(data[k]!)) return { error: `tensor '${name}' holds a non-finite value` };
    tensors[name] = data;
  }
  return { weights: { arch, tensors }, ...(f.training ? { training: f.training } : {}) };
}

export interface LoadedAgent {
  readonly weights: Weights;
  /** 'file': the weights were read from `path`; 'prior': the untrained prior (see message). */
  readonly source: 'file' | 'prior';
  readonly path?: string;
  readonly message: string;
  readonly training?: Record<string, unknown>;
}

/** The network shipped with Eligo: models/agent/agent.json, found upward from this module. */
export function defaultAgentPath(): string | undefined {
  let dir = __dirname;
  for (let k = 0; k < 6; k++) {
    const p = join(dir, 'models', 'agent', 'agent.json');
    if (existsSync(p)) return p;
    dir = resolve(dir, '..');
  }
  return undefined;
}

/**
 * Loads an agent file (default: the shipped one). A missing, unreadable or
 * corrupt file gives the untrained prior, and the message says so.
 */
export function loadAgent(path?: string): LoadedAgent {
  const p = path ?? defaultAgentPath();
  const prior = (why: string): LoadedAgent => ({
    weights: initialWeights(),
    source: 'prior',
    ...(p ? { path: p } : {}),
    message: `${why}; using the untrained prior (fewest multiplications first) instead`,
  });
  if (!p) return prior('no pre-trained network found (models/agent/agent.json is missing; run npm run train-agent)');
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return prior(code === 'ENOENT' ? `the network file '${p}' does not exist` : `the network file '${p}' cannot be read (${code ?? (e as Error).message})`);
  }
  const r = parseAgent(text);
  if ('error' in r) return prior(`the network file '${p}' is corrupt: ${r.error}`);
  return { weights: r.weights, source: 'file', path: p, message: `pre-trained network ${p}`, ...(r.training ? { training: r.training } : {}) };
}

/** A deep copy (training changes weights in place). */
export function cloneWeights(w: Weights): Weights {
  const tensors: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(w.tensors)) tensors[k] = v.slice();
  return { arch: w.arch, tensors };
}
