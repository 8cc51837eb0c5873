// A minimal WebAssembly binary encoder: the few instructions the compiled
// engine's SIMD loops use (integer index arithmetic, f32/f64 loads and
// stores, f32x4/f64x2 arithmetic, structured loops), one imported memory,
// exported functions. Written here rather than taken from a package: it is
// ~200 lines, has no dependencies, and the generator needs byte-level control
// of the loops anyway. Encoding: the WebAssembly core specification 2.0 (§5,
// binary format) and its fixed-width SIMD proposal (opcode prefix 0xfd).

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

const enc = new TextEncoder();

function name(s: string, out: number[]): void {
  const b = enc.encode(s);
  uleb(b.length, out);
  out.push(...b);
}

function vec(items: readonly number[][], out: number[]): void {
  uleb(items.length, out);
  for (const it of items) out.push(...it);
}

function section(id: number, body: number[], out: number[]): void {
  out.push(id);
  uleb(body.length, out);
  out.push(...body);
}

/** The body of one function: locals and instructions, appended in order. */
export class WasmFn {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(
    readonly fname: string,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[] = [],
  ) {}

  /** A new local of type t (its index). */
  local(t: ValType): number {
    this.locals.push(t);
    return this.params.length + this.locals.length - 1;
  }

  private op(...b: number[]): this {
    this.code.push(...b);
    return this;
  }

  private simd(n: number, ...rest: number[]): this {
    this.code.push(0xfd);
    uleb(n, this.code);
    this.code.push(...rest);
    return this;
  }

  private memarg(align: number, offset: number): void {
    uleb(align, this.code);
    uleb(offset, this.code);
  }

  // control
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if(): this {
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    this.code.push(0x0c);
    uleb(depth, this.code);
    return this;
  }
  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(depth, this.code);
    return this;
  }
  // locals
  get(i: number): this {
    this.code.push(0x20);
    uleb(i, this.code);
    return this;
  }
  set(i: number): this {
    this.code.push(0x21);
    uleb(i, this.code);
    return this;
  }
  tee(i: number): this {
    this.code.push(0x22);
    uleb(i, this.code);
    return this;
  }
  // i32
  i32(n: number): this {
    this.code.push(0x41);
    sleb(n | 0, this.code);
    return this;
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32Or(): this {
    return this.op(0x72);
  }
  // f32 / f64 scalars
  f64Load(offset = 0): this {
    this.code.push(0x2b);
    this.memarg(3, offset);
    return this;
  }
  f32Load(offset = 0): this {
    this.code.push(0x2a);
    this.memarg(2, offset);
    return this;
  }
  f32Store(offset = 0): this {
    this.code.push(0x38);
    this.memarg(2, offset);
    return this;
  }
  f64Store(offset = 0): this {
    this.code.push(0x39);
    this.memarg(3, offset);
    return this;
  }
  f64Mul(): this {
    return this.op(0xa2);
  }
  f64Add(): this {
    return this.op(0xa0);
  }
  f64Eq(): this {
    return this.op(0x61);
  }
  f64Ne(): this {
    return this.op(0x62);
  }
  f32Ne(): this {
    return this.op(0x5c);
  }
  /** x ≠ 0 (true for NaN). */
  f32Ne0(): this {
    this.code.push(0x43, 0, 0, 0, 0);
    return this.f32Ne();
  }
  f64Ne0(): this {
    return this.f64Const(0).f64Ne();
  }
  f64Const(x: number): this {
    this.code.push(0x44);
    const b = new Uint8Array(new Float64Array([x]).buffer);
    this.code.push(...b);
    return this;
  }
  f32Demote(): this {
    return this.op(0xb6);
  }
  f64Promote(): this {
    return this.op(0xbb);
  }
  // v128 (alignment hint 0: the arenas' offsets are not 16-byte aligned in general)
  v128Load(offset = 0): this {
    return this.simd(0x00, ...memarg(0, offset));
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b, ...memarg(0, offset));
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f64x2Splat(): this {
    return this.simd(0x14);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2Mul(): this {
    return this.simd(0xf2);
  }
  f64x2PromoteLow(): this {
    return this.simd(0x5f);
  }
  f64x2ExtractLane(lane: number): this {
    return this.simd(0x21, lane);
  }
  f32x4DemoteZero(): this {
    return this.simd(0x5e);
  }
  /** i8x16.shuffle with 16 lane indices (0–31 over the two operands). */
  shuffle(lanes: readonly number[]): this {
    return this.simd(0x0d, ...lanes);
  }
  v128Const(bytes: readonly number[]): this {
    return this.simd(0x0c, ...bytes);
  }

  /** The encoded body (locals, code, end). */
  encode(): number[] {
    const body: number[] = [];
    // Locals, run-length grouped by type.
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      const g = groups[groups.length - 1];
      if (g && g[1] === t) g[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, body);
    for (const [n, t] of groups) {
      uleb(n, body);
      body.push(t);
    }
    body.push(...this.code, 0x0b);
    const out: number[] = [];
    uleb(body.length, out);
    out.push(...body);
    return out;
  }
}

function memarg(align: number, offset: number): number[] {
  const out: number[] = [];
  uleb(align, out);
  uleb(offset, out);
  return out;
}

/** A module importing memory `e.m` (at least `pages` 64 KiB pages) and exporting the functions by name. */
export function wasmModule(fns: readonly WasmFn[], pages: number): Uint8Array<ArrayBuffer> {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types = fns.map((f) => {
    const t: number[] = [0x60];
    uleb(f.params.length, t);
    t.push(...f.params);
    uleb(f.results.length, t);
    t.push(...f.results);
    return t;
  });
  const typeSec: number[] = [];
  vec(types, typeSec);
  section(1, typeSec, out);
  const imp: number[] = [];
  uleb(1, imp);
  name('e', imp);
  name('m', imp);
  imp.push(0x02, 0x00);
  uleb(pages, imp);
  section(2, imp, out);
  const fsec: number[] = [];
  uleb(fns.length, fsec);
  fns.forEach((_, i) => uleb(i, fsec));
  section(3, fsec, out);
  const ex: number[] = [];
  uleb(fns.length, ex);
  fns.forEach((f, i) => {
    name(f.fname, ex);
    ex.push(0x00);
    uleb(i, ex);
  });
  section(7, ex, out);
  const code: number[] = [];
  uleb(fns.length, code);
  for (const f of fns) code.push(...f.encode());
  section(10, code, out);
  return new Uint8Array(out);
}

let simdOk: boolean | undefined;

/** Whether this runtime compiles fixed-width SIMD (a module with one f32x4 add). */
export function wasmSimdSupported(): boolean {
  if (simdOk !== undefined) return simdOk;
  try {
    const g = new WasmFn('g', [], []);
    g.i32(0).v128Const(new Array(16).fill(0)).v128Const(new Array(16).fill(0)).f32x4Add().v128Store();
    simdOk = typeof WebAssembly === 'object' && WebAssembly.validate(wasmModule([g], 1));
  } catch {
    simdOk = false;
  }
  return simdOk;
}
