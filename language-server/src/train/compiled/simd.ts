// A fused trace-and-update loop (fused.ts) as WebAssembly with 128-bit SIMD:
// four float32 lanes along r, the row's coefficients splatted once per row,
// every trace value loaded once and stored once per step, and the update's
// four lanes promoted to float64 and added into the gradient accumulator.
// The buffers lie at fixed offsets of the kernel's memory (layout.ts), so
// every address is a base baked into the instruction plus q·4 (or q·8).
//
// Arithmetic differs from the JavaScript loop in one way: values are
// multiplied and added in float32 (JavaScript computes in float64 and rounds
// at the store), so a trace value carries a few float32 roundings per step
// instead of one; tests hold both to the Float64 executor at 1e-5.

import type { Coef, FusedLoop, Term, Val } from './fused.js';
import type { MatKernel, Slot } from './codegen.js';
import type { Layout } from './layout.js';
import { I32, V128, WasmFn } from './wasm.js';

export interface WasmLoop {
  readonly fn: WasmFn;
  /** JavaScript expressions for the function's arguments (byte offsets of double-buffered shared traces). */
  readonly args: readonly string[];
}

/** Why a loop stays in JavaScript, or null when it can be emitted. */
export function wasmUnfit(l: FusedLoop): string | null {
  if (l.R % 4 !== 0) return `a row of ${l.R} values (not a multiple of 4 lanes)`;
  return null;
}

const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const LOW_PAIRS = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

export function fusedWasm(l: FusedLoop, lay: Layout, name: string, f32Partials = true): WasmLoop | null {
  if (wasmUnfit(l)) return null;
  // Shared traces are double-buffered: their current offsets are arguments.
  const sharedKey = (x: { buf: number; time: 'previous' | 'current' }): string => `${x.time === 'current' ? 'TN' : 'TP'}${x.buf}`;
  const shared: string[] = [];
  const visit = (ts: readonly Term[]): void => {
    for (const t of ts) if (t.x.k === 'shared' && !shared.includes(sharedKey(t.x))) shared.push(sharedKey(t.x));
  };
  l.fresh.forEach((f) => visit(f.terms));
  l.cols.forEach((f) => visit(f.terms));
  if (l.update) visit(l.update.terms);
  const fn = new WasmFn(
    name,
    shared.map(() => I32),
  );
  const p = fn.local(I32);
  const rowB = fn.local(I32);
  const rb = fn.local(I32);
  const qb = fn.local(I32);
  const c = l.coefs.map(() => fn.local(V128));
  const loads = new Map<string, number>();
  const freshL = l.fresh.map(() => fn.local(V128));
  const acc = fn.local(V128);
  const qd = fn.local(I32);
  const R4 = l.R * 4;

  const coef = (x: Coef): void => {
    switch (x.k) {
      case 'mem': {
        const base = (x.arr === 'BV' ? lay.BV : lay.LV) + 8 * x.off;
        if (x.row) fn.get(p).i32(8).i32Mul();
        else fn.i32(0);
        fn.f64Load(base);
        return;
      }
      case 'mul':
        coef(x.a);
        coef(x.b);
        fn.f64Mul();
        return;
      case 'sum':
        if (!x.terms.length) {
          fn.f64Const(0);
          return;
        }
        x.terms.forEach((t, i) => {
          coef(t);
          if (i) fn.f64Add();
        });
    }
  };
  /** Values read more than once per element are loaded once into a local (set when the element starts). */
  const cached = new Map<string, number>();
  const keyOf = (x: Val): string | null => (x.k === 'col' || x.k === 'vec' || x.k === 'shared' || x.k === 'block' ? JSON.stringify(x) : null);
  /** Pushes the four lanes of a value at the element. */
  const val = (x: Val): void => {
    const key = keyOf(x);
    const loc = key === null ? undefined : cached.get(key);
    if (loc !== undefined) {
      fn.get(loc);
      return;
    }
    load(x);
  };
  const load = (x: Val): void => {
    switch (x.k) {
      case 'trace':
        fn.get(loads.get(`${x.buf}_${x.comp}`)!);
        return;
      case 'shared':
        fn.get(shared.indexOf(sharedKey(x)))
          .get(rb)
          .i32Add()
          .v128Load(0);
        return;
      case 'col': {
        const s = colLocal(x);
        if (s !== null) fn.get(s);
        else fn.get(rb).v128Load(traceBase(x.buf, 0) + (x.time === 'previous' ? R4 : 0));
        return;
      }
      case 'vec':
        if (x.slot.arr === 'A') fn.get(rb).v128Load(lay.A + 4 * Number(x.slot.off));
        else if (x.slot.arr === 'X') fn.get(rb).v128Load(lay.XS);
        else throw new Error(`internal: a vector operand in ${x.slot.arr}`);
        return;
      case 'block': {
        // Four float64 values demoted to float32 and joined.
        const idx = x.at === 'q' ? qb : rb;
        const base = lay.BV + 8 * x.off;
        fn.get(idx).get(idx).i32Add().v128Load(base).f32x4DemoteZero();
        fn.get(idx)
          .get(idx)
          .i32Add()
          .v128Load(base + 16)
          .f32x4DemoteZero();
        fn.shuffle(LOW_PAIRS);
        return;
      }
      case 'fresh':
        fn.get(freshL[x.id]!);
        return;
    }
  };
  const sum = (ts: readonly Term[]): void => {
    if (!ts.length) {
      fn.v128Const(new Array(16).fill(0));
      return;
    }
    ts.forEach((t, i) => {
      val(t.x);
      if (t.coef !== null) fn.get(c[t.coef]!).f32x4Mul();
      if (i) fn.f32x4Add();
    });
  };
  const traceBase = (buf: number, comp: number): number => lay.traces[buf]![0] + 4 * comp;
  // Inside the column loop, column values are in locals: the last step's of every column trace, and this step's once computed.
  let colLocal = (_x: { buf: number; time: 'previous' | 'current' }): number | null => null;
  const colCoefs = new Set(l.cols.flatMap((x) => x.terms.map((t) => t.coef).filter((k): k is number => k !== null)));
  if (l.cols.length) {
    for (const k of colCoefs) {
      coef(l.coefs[k]!);
      fn.f32Demote().f32x4Splat().set(c[k]!);
    }
    const prevL = new Map(l.cols.map((x) => [x.buf, fn.local(V128)]));
    const curL = new Map<number, number>();
    colLocal = (x) => (x.time === 'previous' ? (prevL.get(x.buf) ?? null) : (curL.get(x.buf) ?? null));
    fn.i32(0).set(rb).loop();
    for (const x of l.cols) {
      const base = traceBase(x.buf, 0);
      fn.get(rb).v128Load(base).set(prevL.get(x.buf)!);
      fn.get(rb)
        .get(prevL.get(x.buf)!)
        .v128Store(base + R4);
    }
    for (const x of l.cols) {
      sum(x.terms);
      const m = fn.local(V128);
      fn.set(m);
      fn.get(rb).get(m).v128Store(traceBase(x.buf, 0));
      curL.set(x.buf, m);
    }
    fn.get(rb).i32(16).i32Add().tee(rb).i32(R4).i32LtU().brIf(0);
    fn.end();
    colLocal = () => null;
    cached.clear();
  }

  fn.i32(0).set(p).i32(0).set(rowB);
  fn.loop();
  fn.block();
  l.coefs.forEach((x, k) => {
    if (colCoefs.has(k)) return;
    coef(x);
    fn.f32Demote().f32x4Splat().set(c[k]!);
  });
  // The coefficients the next step's recomputed traces read (float64, as computed).
  for (const sv of l.saves) {
    fn.get(p).i32(8).i32Mul();
    coef(l.coefs[sv.coef]!);
    fn.f64Store(lay.LV + 8 * sv.to);
  }
  if (l.skipZeroRows && l.update) {
    // A row whose update coefficients are all zero adds nothing (as the JavaScript loop's `continue`).
    l.update.terms.forEach((t, i) => {
      coef(l.coefs[t.coef!]!);
      fn.f64Ne0();
      if (i) fn.i32Or();
    });
    fn.i32Eqz().brIf(0);
  }
  fn.i32(0).set(rb);
  fn.loop();
  fn.get(rowB).get(rb).i32Add().set(qb);
  // Every previous trace value first (the buffers are updated in place).
  const seen = new Set<string>();
  const collect = (ts: readonly Term[]): void => {
    for (const t of ts) {
      if (t.x.k !== 'trace') continue;
      const key = `${t.x.buf}_${t.x.comp}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const v = fn.local(V128);
      loads.set(key, v);
      fn.get(qb).v128Load(traceBase(t.x.buf, t.x.comp)).set(v);
    }
  };
  l.fresh.forEach((f) => collect(f.terms));
  if (l.update) collect(l.update.terms);
  const uses = new Map<string, { n: number; x: Val }>();
  for (const t of [...l.fresh.flatMap((f) => f.terms), ...(l.update?.terms ?? [])]) {
    const key = keyOf(t.x);
    if (key !== null) uses.set(key, { n: (uses.get(key)?.n ?? 0) + 1, x: t.x });
  }
  for (const [key, u] of uses) {
    if (u.n < 2) continue;
    const v = fn.local(V128);
    load(u.x);
    fn.set(v);
    cached.set(key, v);
  }
  l.fresh.forEach((f, id) => {
    sum(f.terms);
    fn.set(freshL[id]!);
    if (f.store) fn.get(qb).get(freshL[id]!).v128Store(traceBase(f.store.buf, f.store.comp));
  });
  if (l.update) {
    sum(l.update.terms);
    fn.set(acc);
    if (f32Partials) {
      // Into the float32 accumulator (flushed into the float64 one every few steps: flushWasm).
      const D = lay.D32[l.update.param]!;
      fn.get(qb).get(qb).v128Load(D).get(acc).f32x4Add().v128Store(D);
    } else {
      // D[q..q+1] += lanes 0–1, D[q+2..q+3] += lanes 2–3 (float64).
      const D = lay.D[l.update.param]!;
      fn.get(qb).get(qb).i32Add().set(qd);
      fn.get(qd).get(qd).v128Load(D).get(acc).f64x2PromoteLow().f64x2Add().v128Store(D);
      fn.get(qd)
        .get(qd)
        .v128Load(D + 16)
        .get(acc)
        .get(acc)
        .shuffle(HIGH_HALF)
        .f64x2PromoteLow()
        .f64x2Add()
        .v128Store(D + 16);
    }
  }
  fn.get(rb).i32(16).i32Add().tee(rb).i32(R4).i32LtU().brIf(0);
  fn.end();
  fn.end();
  fn.get(rowB).i32(R4).i32Add().set(rowB);
  fn.get(p).i32(1).i32Add().tee(p).i32(l.P).i32LtU().brIf(0);
  fn.end();
  return { fn, args: shared.map((s) => `${s}.byteOffset`) };
}

// ------------------------------------------------------------ matrix kernels (codegen.ts MatKernel)

/** A slot's byte address in the kernel's memory and its element size, or null where it is not there (parameters, constants). */
function slotAddr(s: Slot, lay: Layout): { base: number; size: 4 | 8 } | null {
  if (s.arr === 'A') return { base: lay.A + 4 * Number(s.off), size: 4 };
  if (s.arr === 'X') return { base: lay.XS, size: 4 };
  if (s.arr === 'G') return { base: lay.G + 8 * Number(s.off), size: 8 };
  const d = /^D(\d+)$/.exec(s.arr);
  if (d && s.off === '0') return { base: lay.D[Number(d[1])]!, size: 8 };
  return null;
}

/** Why a matrix kernel stays in JavaScript, or null. */
export function matUnfit(m: MatKernel, lay: Layout): string | null {
  const lanes = m.k === 'outer' ? m.kk : m.m;
  if (lanes % 4 !== 0) return `${lanes} values along the SIMD axis (not a multiple of 4)`;
  const slots = m.k === 'mv' ? [m.c, m.y] : m.k === 'mvT' ? [m.gy, m.gx] : [m.gy, m.c, m.gx];
  const want = m.k === 'mv' ? [4, 4] : m.k === 'mvT' ? [8, 8] : [8, 4, 8];
  for (const [i, s] of slots.entries()) {
    const a = slotAddr(s, lay);
    if (!a || a.size !== want[i]) return `an operand in ${s.arr}`;
  }
  return null;
}

const ZERO = new Array(16).fill(0);

export function matWasm(m: MatKernel, lay: Layout, name: string): WasmFn | null {
  if (matUnfit(m, lay)) return null;
  const fn = new WasmFn(name, []);
  const i = fn.local(I32);
  const l = fn.local(I32);
  const ob = fn.local(I32);
  if (m.k === 'mv') {
    // y = Σ_l c[l] · TR[l, :] over the nonzero c[l] (float32 lanes along y).
    const c = slotAddr(m.c, lay)!.base;
    const y = slotAddr(m.y, lay)!.base;
    const tr = lay.TR.get(m.tr)!;
    const cv = fn.local(V128);
    const m4 = 4 * m.m;
    fn.i32(0).set(i).loop().get(i).v128Const(ZERO).v128Store(y).get(i).i32(16).i32Add().tee(i).i32(m4).i32LtU().brIf(0).end();
    fn.i32(0).set(l).i32(0).set(ob).loop();
    fn.get(l).f32Load(c).f32Ne0();
    fn.if();
    fn.get(l).f32Load(c).f32x4Splat().set(cv);
    fn.i32(0).set(i).loop();
    fn.get(i).get(i).v128Load(y).get(ob).get(i).i32Add().v128Load(tr).get(cv).f32x4Mul().f32x4Add().v128Store(y);
    fn.get(i).i32(16).i32Add().tee(i).i32(m4).i32LtU().brIf(0).end();
    fn.end();
    fn.get(ob).i32(m4).i32Add().set(ob);
    fn.get(l)
      .i32(4)
      .i32Add()
      .tee(l)
      .i32(4 * m.kk)
      .i32LtU()
      .brIf(0)
      .end();
    return fn;
  }
  if (m.k === 'mvT') {
    // gx[l] += Σ_i TR[l, i] · gy[i], in float64 (two lanes, two accumulators).
    const gy = slotAddr(m.gy, lay)!.base;
    const gx = slotAddr(m.gx, lay)!.base;
    const tr = lay.TR.get(m.tr)!;
    const a0 = fn.local(V128);
    const a1 = fn.local(V128);
    const t = fn.local(V128);
    const ib = fn.local(I32);
    fn.i32(0).set(l).i32(0).set(ob).loop();
    fn.v128Const(ZERO).set(a0).v128Const(ZERO).set(a1).i32(0).set(i).i32(0).set(ib).loop();
    fn.get(ob).get(i).i32Add().v128Load(tr).set(t);
    fn.get(a0).get(t).f64x2PromoteLow().get(ib).v128Load(gy).f64x2Mul().f64x2Add().set(a0);
    fn.get(a1)
      .get(t)
      .get(t)
      .shuffle(HIGH_HALF)
      .f64x2PromoteLow()
      .get(ib)
      .v128Load(gy + 16)
      .f64x2Mul()
      .f64x2Add()
      .set(a1);
    fn.get(ib).i32(32).i32Add().set(ib);
    fn.get(i)
      .i32(16)
      .i32Add()
      .tee(i)
      .i32(4 * m.m)
      .i32LtU()
      .brIf(0)
      .end();
    fn.get(a0).get(a1).f64x2Add().set(a0);
    fn.get(l).get(l).i32Add().get(l).get(l).i32Add().f64Load(gx).get(a0).f64x2ExtractLane(0).get(a0).f64x2ExtractLane(1).f64Add().f64Add().f64Store(gx);
    fn.get(ob)
      .i32(4 * m.m)
      .i32Add()
      .set(ob);
    fn.get(l)
      .i32(4)
      .i32Add()
      .tee(l)
      .i32(4 * m.kk)
      .i32LtU()
      .brIf(0)
      .end();
    return fn;
  }
  // outer: gx[i, :] += gy[i] · c (float64 accumulators, c promoted from float32), rows with gy[i] = 0 skipped.
  const gy = slotAddr(m.gy, lay)!.base;
  const c = slotAddr(m.c, lay)!.base;
  const gx = slotAddr(m.gx, lay)!.base;
  const g = fn.local(V128);
  const t = fn.local(V128);
  const lb = fn.local(I32);
  fn.i32(0).set(i).i32(0).set(ob).loop();
  fn.get(i).f64Load(gy).f64Ne0();
  fn.if();
  fn.get(i).f64Load(gy).f64x2Splat().set(g);
  fn.i32(0).set(l).i32(0).set(lb).loop();
  fn.get(l).v128Load(c).set(t);
  fn.get(ob).get(lb).i32Add().get(ob).get(lb).i32Add().v128Load(gx).get(t).f64x2PromoteLow().get(g).f64x2Mul().f64x2Add().v128Store(gx);
  fn.get(ob)
    .get(lb)
    .i32Add()
    .get(ob)
    .get(lb)
    .i32Add()
    .v128Load(gx + 16)
    .get(t)
    .get(t)
    .shuffle(HIGH_HALF)
    .f64x2PromoteLow()
    .get(g)
    .f64x2Mul()
    .f64x2Add()
    .v128Store(gx + 16);
  fn.get(lb).i32(32).i32Add().set(lb);
  fn.get(l)
    .i32(16)
    .i32Add()
    .tee(l)
    .i32(4 * m.kk)
    .i32LtU()
    .brIf(0)
    .end();
  fn.end();
  fn.get(ob)
    .i32(8 * m.kk)
    .i32Add()
    .set(ob);
  fn.get(i)
    .i32(8)
    .i32Add()
    .tee(i)
    .i32(8 * m.m)
    .i32LtU()
    .brIf(0)
    .end();
  return fn;
}

/** D[k] += D32[k] and D32[k] = 0 for the given parameters (float32 partial sums of a few steps into float64). */
export function flushWasm(params: readonly { readonly k: number; readonly size: number }[], lay: Layout): WasmFn {
  const fn = new WasmFn('flush', []);
  const i = fn.local(I32);
  const t = fn.local(V128);
  for (const { k, size } of params) {
    const d = lay.D[k]!;
    const d32 = lay.D32[k]!;
    fn.i32(0).set(i).loop();
    fn.get(i).v128Load(d32).set(t);
    fn.get(i).get(i).i32Add().get(i).get(i).i32Add().v128Load(d).get(t).f64x2PromoteLow().f64x2Add().v128Store(d);
    fn.get(i)
      .get(i)
      .i32Add()
      .get(i)
      .get(i)
      .i32Add()
      .v128Load(d + 16)
      .get(t)
      .get(t)
      .shuffle(HIGH_HALF)
      .f64x2PromoteLow()
      .f64x2Add()
      .v128Store(d + 16);
    fn.get(i).v128Const(ZERO).v128Store(d32);
    fn.get(i)
      .i32(16)
      .i32Add()
      .tee(i)
      .i32(4 * Math.ceil(size / 4) * 4)
      .i32LtU()
      .brIf(0)
      .end();
  }
  return fn;
}
