// How much memory a training run will need, estimated before it starts, and
// how much the machine (and the TF.js backend) can give: a run that would not
// fit is refused with the estimate (DESIGN.md: "a job that would exceed
// memory is refused up front with an estimate").

import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { sizeOf } from '../graph/types.js';
import type { BackendName } from './backend.js';
import type { ModelSpec } from './model.js';
import { traceBytes } from './online.js';
import type { Method } from './rule.js';
import { formatBytes } from '../util/units.js';

export interface MemoryEstimate {
  readonly bytes: number;
  readonly parts: readonly { readonly what: string; readonly bytes: number }[];
}

/** float32 values of one step's computed vertices for a batch (shared vertices counted once). */
export function stepActivationBytes(spec: ModelSpec, batch: number): number {
  const g = spec.graph;
  const batched = new Uint8Array(g.vertices.length);
  let n = 0;
  for (const v of g.vertices) {
    if (v.op === 'state' || v.op === 'input' || v.op === 'target') batched[v.id] = 1;
    else if (v.inputs.some((u) => batched[u])) batched[v.id] = 1;
    if (v.op === 'const' || v.op === 'param' || v.op === 'state' || v.op === 'input' || v.op === 'target') continue;
    n += sizeOf(v.shape) * (batched[v.id] ? batch : 1);
  }
  return 4 * n;
}

export function paramCount(spec: ModelSpec): number {
  return spec.params.reduce((a, p) => a + sizeOf(p.shape), 0);
}

/**
 * Tensor bytes of a run: parameters with their gradients and optimizer
 * slots; for BPTT every step's activations (the tape keeps each op's inputs
 * and output: about three times the values, measured) and data; for an online rule the
 * carried traces (old and new values and the products that update them)
 * and one step's activations through a forward and a backward pass.
 */
export function estimateBytes(spec: ModelSpec, method: Method, batch: number, steps: number, optimizerSlots: number, alignment: boolean): MemoryEstimate {
  const P = paramCount(spec);
  const nIn = sizeOf(spec.input.shape);
  const nOut = sizeOf(spec.target.shape);
  const act = stepActivationBytes(spec, batch);
  const parts: { what: string; bytes: number }[] = [];
  parts.push({ what: `parameters, gradients and optimizer state (${P.toLocaleString('en-US')} values)`, bytes: 4 * P * (2 + optimizerSlots) });
  const bptt = (label: string): void => {
    parts.push({
      what: `${label}: ${steps} steps × ${fmtBytes(act)} of activations, kept for the backward pass`,
      bytes: steps * (3 * act + 4 * batch * (nIn + nOut + 1)),
    });
    parts.push({ what: `${label}: one step's gradients`, bytes: 2 * act });
  };
  if (method.kind === 'bptt') {
    bptt('BPTT');
  } else {
    const tb = traceBytes(method.program, batch);
    parts.push({ what: `eligibility traces carried between steps (${fmtBytes(tb)}), with their update`, bytes: 3 * tb });
    // Per-sample parameter rows of the step's blocks (as large as the traces at most) and the pass's activations.
    parts.push({ what: 'one step: forward and backward pass, per-sample blocks', bytes: 4 * act + tb });
    if (alignment) bptt('gradient alignment (BPTT on the same batch)');
  }
  return { bytes: parts.reduce((a, p) => a + p.bytes, 0), parts };
}

/** The wasm backend's heap is a 32-bit WebAssembly memory: at most 4 GiB (its Emscripten getHeapMax). */
export const WASM_HEAP_LIMIT = 4294901760;

/** Memory this run may use: the system's available memory, and for wasm its heap limit. */
export function availableBytes(backend: BackendName): { bytes: number; why: string } {
  let avail = freemem();
  let why = 'free memory';
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) {
      avail = Number(m[1]) * 1024;
      why = 'available memory (/proc/meminfo)';
    }
  } catch {
    /* not Linux */
  }
  if (backend === 'wasm' && WASM_HEAP_LIMIT < avail) return { bytes: WASM_HEAP_LIMIT, why: "the wasm backend's 4 GiB heap limit" };
  return { bytes: avail, why };
}

/** Bytes as everything in Eligo prints them (util/units.ts). */
export const fmtBytes = formatBytes;
