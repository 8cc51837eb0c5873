// The machine's attainable floating-point rate on one thread, measured with
// kernels of our own (the floor of bench/train.ts's peer table): a
// WebAssembly loop of float32x4 multiply-adds (the instructions the compiled
// engine's trace loops use) and the same in plain JavaScript (float64 scalars).
// Eight independent chains keep the adds from waiting on each other; the
// values stay in registers, so this is the arithmetic peak, not memory.
// The best of several runs is taken (the least disturbed by other work).

import { F32, I32, V128, WasmFn, wasmModule } from '../language-server/src/train/compiled/wasm.js';

const CHAINS = 8;

function wasmKernel(): (iterations: number) => number {
  // acc_k = acc_k · c + d for k < 8, `iterations` times; returns lane 0 of the sum (so nothing is dead code).
  const f = new WasmFn('run', [I32], [F32]);
  const n = 0;
  const acc = Array.from({ length: CHAINS }, () => f.local(V128));
  const c = f.local(V128);
  const d = f.local(V128);
  f.f64Const(0.999).f32Demote().f32x4Splat().set(c);
  f.f64Const(0.001).f32Demote().f32x4Splat().set(d);
  acc.forEach((a, k) => f.f64Const(k).f32Demote().f32x4Splat().set(a));
  f.loop();
  for (const a of acc) f.get(a).get(c).f32x4Mul().get(d).f32x4Add().set(a);
  f.get(n).i32(-1).i32Add().tee(n).brIf(0);
  f.end();
  f.get(acc[0]!);
  for (const a of acc.slice(1)) f.get(a).f32x4Add();
  f.set(acc[0]!);
  // lane 0: store to memory and load as f32.
  f.i32(0).get(acc[0]!).v128Store();
  f.i32(0).f32Load();
  const mem = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasmModule([f], 1)), { e: { m: mem } });
  return inst.exports.run as (iterations: number) => number;
}

function jsKernel(iterations: number): number {
  let a0 = 0,
    a1 = 1,
    a2 = 2,
    a3 = 3,
    a4 = 4,
    a5 = 5,
    a6 = 6,
    a7 = 7;
  const c = 0.999,
    d = 0.001;
  for (let i = 0; i < iterations; i++) {
    a0 = a0 * c + d;
    a1 = a1 * c + d;
    a2 = a2 * c + d;
    a3 = a3 * c + d;
    a4 = a4 * c + d;
    a5 = a5 * c + d;
    a6 = a6 * c + d;
    a7 = a7 * c + d;
  }
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

export interface FloorRate {
  /** Float32 multiply-adds in WebAssembly SIMD (4 lanes), GFLOP/s (a multiply and an add are 2 flops). */
  readonly wasmGflops: number;
  /** Float64 multiply-adds in JavaScript, GFLOP/s. */
  readonly jsGflops: number;
}

/** Best of `runs` timed runs of ~20 ms each. */
export function measureFloorRate(runs = 7): FloorRate {
  const w = wasmKernel();
  const iters = 2_000_000;
  w(10_000);
  jsKernel(10_000);
  let bw = Infinity;
  let bj = Infinity;
  let sink = 0;
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    sink += w(iters);
    bw = Math.min(bw, performance.now() - t);
    t = performance.now();
    sink += jsKernel(iters / 4);
    bj = Math.min(bj, performance.now() - t);
  }
  if (!Number.isFinite(sink)) throw new Error('internal: the calibration kernel diverged');
  return {
    wasmGflops: (iters * CHAINS * 4 * 2) / (bw / 1000) / 1e9,
    jsGflops: ((iters / 4) * CHAINS * 2) / (bj / 1000) / 1e9,
  };
}
