// `probe`: the job runner's own synthetic workload. It burns CPU in tight
// synchronous slices — like a search scoring orders — for `seconds`,
// reporting a falling "best" and a chart point every few milliseconds. Used
// by the tests (cancellation latency, the terminate path with
// `ignoreCancel`) and as a template for real kinds.

import { JobRefused, type JobKind } from './types.js';

export interface ProbeParams {
  readonly seconds: number;
  /** Never look at the cancel flag: the runner must terminate the worker. */
  readonly ignoreCancel: boolean;
  /** Allocate this many MiB up front (declared in its estimate: tests the refusal). */
  readonly allocateMiB: number;
  /** Grow the JS heap without bound (undeclared: tests the worker's heap limit). */
  readonly growHeap: boolean;
  /** Throw after the first slice (tests that a failure's stack goes to the log, not the result). */
  readonly fail: boolean;
}

export interface ProbeResult {
  readonly iterations: number;
  readonly best: number;
}

export const probeJob: JobKind<ProbeParams, ProbeResult> = {
  kind: 'probe',
  title: 'Probe',
  parse(input) {
    const p = (typeof input.params === 'object' && input.params !== null ? input.params : {}) as Record<string, unknown>;
    const seconds = p.seconds === undefined ? 1 : Number(p.seconds);
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > 600) throw new JobRefused(`probe: 'seconds' must be between 0 and 600, got ${String(p.seconds)}`);
    const allocateMiB = p.allocateMiB === undefined ? 0 : Number(p.allocateMiB);
    if (!Number.isFinite(allocateMiB) || allocateMiB < 0) throw new JobRefused(`probe: 'allocateMiB' must be ≥ 0`);
    return { seconds, ignoreCancel: p.ignoreCancel === true, allocateMiB, growHeap: p.growHeap === true, fail: p.fail === true };
  },
  estimateBytes: (_input, p) => p.allocateMiB * 2 ** 20,
  run(_input, p, ctx) {
    const hold = p.allocateMiB > 0 ? new Float64Array((p.allocateMiB * 2 ** 20) / 8).fill(1) : undefined;
    const heap: number[][] = [];
    const t0 = Date.now();
    const end = t0 + p.seconds * 1000;
    let iterations = 0;
    let best = 1e6;
    let x = 0.5;
    let lastReport = 0;
    while (Date.now() < end) {
      if (!p.ignoreCancel && ctx.shouldStop) break;
      // One slice of work, synchronous: the worker never yields to its event loop.
      for (let k = 0; k < 20000; k++) x = 3.9 * x * (1 - x);
      if (p.growHeap) heap.push(Array.from({ length: 1e5 }, (_, k) => k + x));
      iterations++;
      if (p.fail) throw new Error(`probe failed on purpose after ${iterations} slice`);
      best = Math.min(best, Math.round(1e6 * x) + 1000);
      const now = Date.now();
      if (now - lastReport >= 10) {
        lastReport = now;
        ctx.report({
          message: `best ${best} after ${iterations} slices`,
          percentage: Math.min(100, (100 * (now - t0)) / Math.max(1, p.seconds * 1000)),
          best: { iterations, best },
          point: { x: iterations, y: { best } },
        });
      }
    }
    if (hold) x += hold[0]!;
    if (heap.length) x += heap.length;
    return { iterations, best };
  },
};
