// Where a kernel's buffers lie when they share one WebAssembly memory: the
// generated JavaScript reads them through typed-array views, the generated
// WebAssembly through the same bytes at offsets fixed when the step is
// compiled (program.ts bakes them into the module; kernel.ts makes the views).
// Every buffer starts on a 16-byte boundary.

export interface LayoutSizes {
  readonly A: number;
  readonly G: number;
  readonly BV: number;
  readonly LV: number;
  readonly scratch: number;
  readonly carry: number;
  readonly traces: readonly number[];
  readonly inPlace: readonly number[];
  readonly transposes: readonly { readonly id: number; readonly size: number }[];
}

export interface Layout {
  /** Byte offsets. */
  readonly A: number;
  readonly G: number;
  readonly BV: number;
  readonly LV: number;
  readonly RS: number;
  readonly NZ: number;
  readonly CR: number;
  /** The step's input values (float32), copied in at the start of every step for the WebAssembly loops. */
  readonly XS: number;
  /** Per trace: its two buffers (the same offset twice for a trace stored in place). */
  readonly traces: readonly (readonly [number, number])[];
  readonly TR: ReadonlyMap<number, number>;
  /** Per parameter: its float64 gradient accumulator, and a float32 one the SIMD loops add into (flushed into it every few steps); both padded to 4 lanes. */
  readonly D: readonly number[];
  readonly D32: readonly number[];
  readonly bytes: number;
}

export function layoutOf(s: LayoutSizes, paramSizes: readonly number[], nIn: number): Layout {
  let at = 0;
  const take = (bytes: number): number => {
    const o = at;
    at += Math.ceil(Math.max(bytes, 16) / 16) * 16;
    return o;
  };
  const A = take(4 * s.A);
  const G = take(8 * s.G);
  const BV = take(8 * s.BV);
  const LV = take(8 * s.LV);
  const RS = take(8 * s.scratch);
  const NZ = take(4 * s.scratch);
  const CR = take(8 * s.carry);
  const XS = take(4 * nIn);
  const inPlace = new Set(s.inPlace);
  const traces = s.traces.map((n, i): [number, number] => {
    const a = take(4 * n);
    return [a, inPlace.has(i) ? a : take(4 * n)];
  });
  const TR = new Map(s.transposes.map((t) => [t.id, take(4 * t.size)]));
  const lanes = (n: number): number => Math.ceil(n / 4) * 4;
  const D = paramSizes.map((n) => take(8 * lanes(n)));
  const D32 = paramSizes.map((n) => take(4 * lanes(n)));
  return { A, G, BV, LV, RS, NZ, CR, XS, traces, TR, D, D32, bytes: at };
}

/** 64 KiB pages holding `bytes`. */
export const pagesFor = (bytes: number): number => Math.max(1, Math.ceil(bytes / 65536));
