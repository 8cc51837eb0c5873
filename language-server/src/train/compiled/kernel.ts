// A compiled step (program.ts) made runnable on one thread: its buffers are
// allocated once, its generated function is built once, and each batch only
// points it at new data. Nothing is allocated per step or per sequence.

import { binaryForward, unaryForward } from '../../graph/evaluate.js';
import type { Surrogate } from '../../graph/types.js';
import { binaryDerivative, powcDerivative, unaryDerivative } from '../../ad/rules.js';
import { surrogatePsi, type SurrogateOps } from '../../lang/surrogates.js';
import type { KernelSource } from './program.js';

/** Where a sequence went non-finite: the first time step, and the first gradient entry (or vertex value) that is NaN or ±Inf. */
export interface NonFiniteAt {
  /** Sample index in the batch. */
  readonly sample: number;
  /** 0-based time step (for BPTT: the step whose backward pass produced it). */
  readonly step: number;
  readonly phase: 'forward' | 'backward';
  /** Parameter name and entry, when a gradient entry is non-finite. */
  readonly param?: string;
  readonly entry?: number;
  readonly value: number;
}

interface Generated {
  prepare(): void;
  /** everyStep: the gradient accumulators are exact after every step (a replay that checks each step). */
  run(b: number, first: boolean, check: ((t: number) => boolean) | null, everyStep: boolean): number;
}

/** The table functions a kernel calls, by the names codegen.ts gives them. */
function functions(src: KernelSource): Record<string, unknown> {
  const F: Record<string, unknown> = {};
  for (const h of src.helpers) {
    const [kind, ...rest] = h.split('_');
    if (kind === 'VF' || kind === 'VD') {
      // Loops over a vertex's elements around a table function; each built from its own source text, so the
      // optimiser sees one callee per loop and inlines it.
      const op = rest.join('_');
      const f = (kind === 'VF' ? unaryForward : (unaryDerivative as Record<string, unknown>))[op as keyof typeof unaryForward];
      if (typeof f !== 'function') throw new Error(`internal: no function for '${h}'`);
      const source =
        kind === 'VF'
          ? 'return function (xa, xo, ya, yo, n) { for (let i = 0; i < n; i++) ya[yo + i] = f(xa[xo + i]); };'
          : 'return function (ga, go, xa, xo, ya, yo, da, d0, n) { for (let i = 0; i < n; i++) da[d0 + i] += ga[go + i] * f(xa[xo + i], ya[yo + i]); };';
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated code: a loop of our own source text per table function (see above)
      F[h] = (new Function('f', source) as (f: unknown) => unknown)(f);
      continue;
    }
    const op = kind === 'BD' ? rest.slice(0, -1).join('_') : rest.join('_');
    if (kind === 'UF') F[h] = (unaryForward as Record<string, unknown>)[op];
    else if (kind === 'BF') F[h] = (binaryForward as Record<string, unknown>)[op];
    else if (kind === 'UD') F[h] = (unaryDerivative as Record<string, unknown>)[op];
    else if (kind === 'BD') F[h] = (binaryDerivative as Record<string, readonly unknown[]>)[op]?.[Number(rest[rest.length - 1])];
    else if (h === 'PD') F[h] = powcDerivative;
    if (typeof F[h] !== 'function') throw new Error(`internal: no function for '${h}'`);
  }
  // Each surrogate's ψ as straight-line code inside its loop: lang/surrogates.ts's formula for the kind, built
  // through string ops, so the arithmetic is the registry's, operation for operation (the generic
  // surrogateDerivative dispatches through a map and an ops object on every element, which the optimiser
  // does not inline: 1.4× on LIF e-prop's step).
  for (const s of src.surrogates) {
    const { body, value } = surrogateJs(s.surrogate as Surrogate);
    F[`SG${s.id}`] = surrogateFunction(s.surrogate as Surrogate);
    const loop = `return function (ga, go, xa, xo, da, d0, n) { for (let i = 0; i < n; i++) { const x = xa[xo + i]; ${body} da[d0 + i] += ga[go + i] * ${value}; } };`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated code: ψ inlined in its loop, built from lang/surrogates.ts's formula
    F[`VS${s.id}`] = (new Function(loop) as () => unknown)();
  }
  return F;
}

/** ψ of a surrogate as a compiled function of one number (equal to lang/surrogates.ts surrogateDerivative, bit for bit). */
export function surrogateFunction(sur: Surrogate): (x: number) => number {
  const { body, value } = surrogateJs(sur);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated code: ψ's straight-line formula from lang/surrogates.ts
  return (new Function(`return function (x) { ${body} return ${value}; };`) as () => (x: number) => number)();
}

/** ψ(x) of a surrogate as JavaScript statements (temporaries s0, s1, …) and the expression of its value. */
function surrogateJs(sur: Surrogate): { body: string; value: string } {
  const lines: string[] = [];
  const tmp = (e: string): string => {
    const name = `s${lines.length}`;
    lines.push(`const ${name} = ${e};`);
    return name;
  };
  const c = (k: number): string => `(${String(k)})`;
  // The same operations, in the same order, as the registry's number ops (lang/surrogates.ts NUMBER_OPS).
  const ops: SurrogateOps<string> = {
    abs: (x) => tmp(`Math.abs(${x})`),
    mulc: (x, k) => tmp(`${c(k)} * ${x}`),
    divc: (x, k) => tmp(`${x} / ${c(k)}`),
    addc: (x, k) => tmp(`${x} + ${c(k)}`),
    rsubc: (k, x) => tmp(`${c(k)} - ${x}`),
    mul: (a, b) => tmp(`${a} * ${b}`),
    reciprocal: (x) => tmp(`1 / ${x}`),
    square: (x) => tmp(`${x} * ${x}`),
    sigmoid: (x) => tmp(`${x} >= 0 ? 1 / (1 + Math.exp(-${x})) : Math.exp(${x}) / (1 + Math.exp(${x}))`),
    exp: (x) => tmp(`Math.exp(${x})`),
    relu: (x) => tmp(`Math.max(0, ${x})`),
  };
  const value = surrogatePsi(ops, sur, 'x');
  return { body: lines.join(' '), value };
}

export class StepKernel {
  readonly src: KernelSource;
  readonly P: Float32Array[];
  /** Gradient accumulators of this thread, in model parameter order (float64). */
  readonly D: Float64Array[];
  private readonly env: Record<string, unknown>;
  private readonly fn: Generated;
  private readonly cancel: Int32Array;
  private tape: Float32Array | Float64Array = new Float32Array(0);
  private readonly Store: Float32ArrayConstructor | Float64ArrayConstructor;
  /** The accumulators the generated code adds into: D itself, or (WebAssembly) views of the kernel's memory, added into D after each range. */
  private readonly acc: Float64Array[];
  private acc32: Float32Array[] = [];

  /** `params` are the parameter values (views that the caller updates between batches); `cancel` a flag read every step. */
  /**
   * `precision` 'float64' stores values, traces and the tape in float64 (tests: the same generated code,
   * so its algorithm is checked apart from float32 rounding); training uses 'float32'.
   */
  constructor(
    src: KernelSource,
    params: readonly Float32Array[],
    cancel?: Int32Array,
    grads?: readonly Float64Array[],
    precision: 'float32' | 'float64' = 'float32',
  ) {
    this.src = src;
    this.P = [...params];
    this.D = grads ? [...grads] : src.params.map((p) => new Float64Array(p.size));
    this.cancel = cancel ?? new Int32Array(1);
    const s = src.sizes;
    const Store = precision === 'float64' ? Float64Array : Float32Array;
    this.Store = Store;
    const inPlace = new Set(s.inPlace);
    const pair = <X>(i: number, make: () => X): [X, X] => {
      const a = make();
      return [a, inPlace.has(i) ? a : make()];
    };
    let buffers: Record<string, unknown>;
    if (src.wasm) {
      // Every buffer the WebAssembly loops touch lies in one memory at the offsets the module was built for.
      if (precision !== 'float32') throw new Error('internal: a WebAssembly step runs in float32 storage only');
      const L = src.wasm.layout;
      const memory = new WebAssembly.Memory({ initial: src.wasm.pages });
      const buf = memory.buffer;
      const instance = new WebAssembly.Instance(new WebAssembly.Module(src.wasm.module), { e: { m: memory } });
      const TR: Record<number, Float32Array> = {};
      for (const t of s.transposes) TR[t.id] = new Float32Array(buf, L.TR.get(t.id), t.size);
      this.acc = src.params.map((p, k) => new Float64Array(buf, L.D[k], p.size));
      this.acc32 = src.params.map((p, k) => new Float32Array(buf, L.D32[k], p.size));
      buffers = {
        A: new Float32Array(buf, L.A, s.A),
        G: new Float64Array(buf, L.G, s.G),
        BV: new Float64Array(buf, L.BV, s.BV),
        LV: new Float64Array(buf, L.LV, s.LV),
        RS: new Float64Array(buf, L.RS, s.scratch),
        NZ: new Int32Array(buf, L.NZ, s.scratch),
        CR: new Float64Array(buf, L.CR, s.carry),
        XS: new Float32Array(buf, L.XS, src.nIn),
        TR,
        D: this.acc,
        WX: instance.exports,
        TRC: s.traces.map((n, i) => [new Float32Array(buf, L.traces[i]![0], n), new Float32Array(buf, L.traces[i]![1], n)]),
      };
    } else {
      const TR: Record<number, Float32Array> = {};
      for (const t of s.transposes) TR[t.id] = new Float32Array(t.size);
      this.acc = this.D;
      buffers = {
        A: new Store(s.A),
        G: new Float64Array(s.G),
        BV: new Float64Array(s.BV),
        LV: new Float64Array(s.LV),
        RS: new Float64Array(s.scratch),
        NZ: new Int32Array(s.scratch),
        CR: new Float64Array(s.carry),
        XS: new Float32Array(src.nIn),
        TR,
        D: this.D,
        WX: {},
        TRC: s.traces.map((n, i) => pair(i, () => new Store(n))),
      };
    }
    this.env = {
      ...buffers,
      F: functions(src),
      P: this.P,
      K: src.consts,
      X: new Float32Array(0),
      Y: new Float32Array(0),
      W: new Float32Array(0),
      PRD: new Float32Array(0),
      CF: this.cancel,
      TAPE: this.tape,
      B: 1,
      T: 0,
    };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated code: the step kernel codegen.ts wrote for this model and rule
    this.fn = (new Function('E', src.code) as (env: unknown) => Generated)(this.env);
  }

  /** Points the kernel at a batch (time-major arrays as tasks/types.ts Batch) and computes the shared values of the current parameters. */
  setBatch(x: Float32Array, y: Float32Array, weight: Float32Array, B: number, T: number, predictions: Float32Array): void {
    const e = this.env;
    e.X = x;
    e.Y = y;
    e.W = weight;
    e.B = B;
    e.T = T;
    e.PRD = predictions;
    if (this.src.sizes.tape > 0 && this.tape.length < T * this.src.sizes.tape) {
      this.tape = new this.Store(T * this.src.sizes.tape);
      e.TAPE = this.tape;
    }
    this.fn.prepare();
  }

  zeroGradients(): void {
    for (const d of this.D) d.fill(0);
    if (this.acc !== this.D) for (const d of this.acc) d.fill(0);
    for (const d of this.acc32) d.fill(0);
  }

  /** Adds the kernel memory's accumulators into D (WebAssembly steps) and clears them. */
  private flush(): void {
    if (this.acc === this.D) return;
    this.acc.forEach((a, k) => {
      const d = this.D[k]!;
      for (let i = 0; i < a.length; i++) d[i] = d[i]! + a[i]!;
      a.fill(0);
    });
  }

  /**
   * Runs sequences b0 … b1−1, adding their gradients into D and writing each
   * sequence's weighted loss into `losses[b]`. Returns false when cancelled
   * (D then holds a partial sum), or the first non-finite value found.
   */
  runRange(
    b0: number,
    b1: number,
    losses: Float64Array,
    onSequence?: () => void,
    poll?: () => boolean,
    first = b0,
  ): { cancelled: boolean; nonFinite?: NonFiniteAt } {
    // A caller on this thread cannot set the flag while the kernel runs: `poll` is asked every step instead.
    const cancel = this.cancel;
    const check = poll
      ? (): boolean => {
          if (!poll()) return false;
          cancel[0] = 1;
          return true;
        }
      : null;
    for (let b = b0; b < b1; b++) {
      const l = this.fn.run(b, b === first, check, false);
      if (cancel[0] !== 0) {
        this.flush();
        return { cancelled: true };
      }
      losses[b] = l;
      onSequence?.();
      if (!Number.isFinite(l) || !this.finite()) {
        const nonFinite = this.diagnose(b, b === first);
        this.flush();
        return { cancelled: false, nonFinite };
      }
    }
    this.flush();
    return { cancelled: false };
  }

  private finite(): boolean {
    for (const d of this.acc) for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return false;
    return true;
  }

  /** Runs sequence b again on fresh accumulators, checking every step, to name where it went non-finite. */
  private diagnose(b: number, first: boolean): NonFiniteAt {
    const saved = this.acc.map((d) => d.slice());
    for (const d of this.acc) d.fill(0);
    const A = this.env.A as Float32Array | Float64Array;
    let found: NonFiniteAt | undefined;
    const backward = { on: false };
    const check = (t: number): boolean => {
      if (found) return true;
      const phase = this.src.mode === 'bptt' && backward.on ? 'backward' : 'forward';
      for (let k = 0; k < this.acc.length; k++) {
        const d = this.acc[k]!;
        for (let i = 0; i < d.length; i++) {
          if (!Number.isFinite(d[i]!)) {
            found = { sample: b, step: t, phase, param: this.src.params[k]!.name, entry: i, value: d[i]! };
            return true;
          }
        }
      }
      for (let i = 0; i < A.length; i++) {
        if (!Number.isFinite(A[i]!)) {
          found = { sample: b, step: t, phase, value: A[i]! };
          return true;
        }
      }
      if (this.src.mode === 'bptt' && !backward.on && t === (this.env.T as number) - 1) backward.on = true;
      return false;
    };
    this.fn.run(b, first, check, true);
    this.acc.forEach((d, k) => d.set(saved[k]!));
    return found ?? { sample: b, step: (this.env.T as number) - 1, phase: 'forward', value: NaN };
  }

  /** Bytes this thread holds (arenas, traces, transposes, accumulators, the BPTT tape). */
  bytes(): number {
    return this.src.bytesPerThread + this.tape.byteLength;
  }
}
