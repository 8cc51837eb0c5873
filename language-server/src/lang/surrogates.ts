// The surrogate kinds: one registry for the checker (`surrogate NAME = KIND(…)`),
// the AD rules (Float64), the trainer (TensorFlow.js), the gradient graphs
// (graph/grad.ts), the smooth twin (rules/variants.ts), completion and hover.
//
// `spike(x)` is the Heaviside step H(x) going forward; going backward its
// derivative is replaced by a pseudo-derivative ψ(x) (Neftci, Mostafa & Zenke
// 2019). Every kind has one sharpness parameter and an amplitude `scale`
// (ψ is multiplied by it): Bellec et al. 2020's dampened pseudo-derivative
// ψ = γ/v_th · max(0, 1 − |v − A|/v_th), γ = 0.3, is
// `triangle(width = 1, scale = 0.3)` applied to (v − A)/v_th (the 1/v_th comes
// from the chain rule through the division).
//
// Each formula is written once, over a small arithmetic interface, and run on
// numbers (ad/), on tensors (train/) or as graph vertices (graph/grad.ts).

export type SurrogateKind = 'fast_sigmoid' | 'sigmoid' | 'triangle' | 'exponential';

/** A resolved surrogate: its kind, sharpness parameter, amplitude and the name it was declared under. */
export type Surrogate =
  | { readonly kind: 'fast_sigmoid'; readonly slope: number; readonly scale: number; readonly name?: string }
  | { readonly kind: 'sigmoid'; readonly slope: number; readonly scale: number; readonly name?: string }
  | { readonly kind: 'triangle'; readonly width: number; readonly scale: number; readonly name?: string }
  | { readonly kind: 'exponential'; readonly slope: number; readonly scale: number; readonly name?: string };

/** Elementwise arithmetic a formula needs; numbers, tensors and graph builders implement it. */
export interface SurrogateOps<T> {
  abs(x: T): T;
  /** k · x */
  mulc(x: T, k: number): T;
  /** x / k */
  divc(x: T, k: number): T;
  /** x + k */
  addc(x: T, k: number): T;
  /** k − x */
  rsubc(k: number, x: T): T;
  mul(a: T, b: T): T;
  reciprocal(x: T): T;
  square(x: T): T;
  sigmoid(x: T): T;
  exp(x: T): T;
  relu(x: T): T;
}

export interface SurrogateSpec {
  readonly kind: SurrogateKind;
  /** The sharpness parameter's name and default. */
  readonly param: 'slope' | 'width';
  readonly default: number;
  /** ψ(x) for scale = 1, as text (hover, docs). */
  readonly formula: string;
  readonly doc: string;
  /** ψ(x) for scale = 1, with sharpness p. */
  psi<T>(ops: SurrogateOps<T>, x: T, p: number): T;
  /**
   * An antiderivative of ψ (scale = 1) in the language's own syntax, for the
   * smooth twin: finite differences of it equal the surrogate gradient.
   */
  primitive(x: string, p: number): string;
}

const SPECS: readonly SurrogateSpec[] = [
  {
    kind: 'fast_sigmoid',
    param: 'slope',
    default: 10,
    formula: '1 / (1 + slope·|x|)²',
    doc: 'SuperSpike (Zenke & Ganguli 2018): the derivative of the fast sigmoid x / (1 + slope·|x|).',
    psi: (o, x, k) => o.reciprocal(o.square(o.addc(o.mulc(o.abs(x), k), 1))),
    primitive: (x, k) => `((${x}) / (1 + ${k} * abs(${x})))`,
  },
  {
    kind: 'sigmoid',
    param: 'slope',
    default: 10,
    formula: 'slope·σ(slope·x)·(1 − σ(slope·x))',
    doc: 'the derivative of the logistic σ(slope·x).',
    psi: (o, x, k) => {
      const z = o.sigmoid(o.mulc(x, k));
      return o.mul(o.mulc(z, k), o.rsubc(1, z));
    },
    primitive: (x, k) => `sigmoid(${k} * (${x}))`,
  },
  {
    kind: 'triangle',
    param: 'width',
    default: 1,
    formula: 'max(0, 1 − |x| / width)',
    doc: 'the piecewise-linear pseudo-derivative of e-prop (Bellec et al. 2020, Methods); with scale = γ = 0.3 their dampened form.',
    psi: (o, x, w) => o.relu(o.rsubc(1, o.divc(o.abs(x), w))),
    // c − c|c|/(2w) with c = clip(x, −w, w)
    primitive: (x, w) => {
      const c = `min(max(${x}, ${-w}), ${w})`;
      return `(${c} - ${c} * abs(${c}) / ${2 * w})`;
    },
  },
  {
    kind: 'exponential',
    param: 'slope',
    default: 1,
    formula: 'exp(−slope·|x|)',
    doc: 'a two-sided exponential (Shrestha & Orchard 2018, SLAYER, up to its amplitude).',
    psi: (o, x, k) => o.exp(o.mulc(o.abs(x), -k)),
    // sign(x)(1 − e^{−k|x|})/k, written without sign(): x·(1 − e^{−k|x|})/(k|x|)
    primitive: (x, k) => `((${x}) * (1 - exp(-${k} * abs(${x}))) / (${k} * abs(${x}) + 1e-300))`,
  },
];

export const SURROGATE_KINDS: ReadonlyMap<SurrogateKind, SurrogateSpec> = new Map(SPECS.map((s) => [s.kind, s]));

/** The parameters every kind takes besides its sharpness. */
export const SURROGATE_SCALE = { name: 'scale', default: 1, doc: 'amplitude: ψ is multiplied by it (Bellec et al. 2020: γ = 0.3)' } as const;

/** The name `spike(x)` calls when a model declares nothing else. */
export const DEFAULT_SURROGATE_NAME = 'spike';

export function isSurrogateKind(name: string): name is SurrogateKind {
  return SURROGATE_KINDS.has(name as SurrogateKind);
}

export function surrogateSpec(s: Surrogate): SurrogateSpec {
  return SURROGATE_KINDS.get(s.kind)!;
}

/** The sharpness parameter's value. */
export function sharpness(s: Surrogate): number {
  return s.kind === 'triangle' ? s.width : s.slope;
}

/** A surrogate from its kind and values (validated by the checker). */
export function makeSurrogate(kind: SurrogateKind, p: number, scale: number, name?: string): Surrogate {
  const n = name !== undefined ? { name } : {};
  return kind === 'triangle' ? { kind, width: p, scale, ...n } : { kind, slope: p, scale, ...n };
}

/** ψ(x) with its scale, on any arithmetic. A scale of 1 adds no operation (values stay bit-identical). */
export function surrogatePsi<T>(ops: SurrogateOps<T>, s: Surrogate, x: T): T {
  const psi = surrogateSpec(s).psi(ops, x, sharpness(s));
  return s.scale === 1 ? psi : ops.mulc(psi, s.scale);
}

/** How a surrogate is written: `triangle(width = 1, scale = 0.3)`. */
export function formatSurrogate(s: Surrogate): string {
  const spec = surrogateSpec(s);
  return `${s.kind}(${spec.param} = ${sharpness(s)}${s.scale !== 1 ? `, scale = ${s.scale}` : ''})`;
}

/** The antiderivative of ψ with its scale, as source text (rules/variants.ts). */
export function surrogatePrimitive(s: Surrogate, x: string): string {
  const p = surrogateSpec(s).primitive(x, sharpness(s));
  return s.scale === 1 ? p : `(${s.scale} * ${p})`;
}

const NUMBER_OPS: SurrogateOps<number> = {
  abs: Math.abs,
  mulc: (x, k) => k * x,
  divc: (x, k) => x / k,
  addc: (x, k) => x + k,
  rsubc: (k, x) => k - x,
  mul: (a, b) => a * b,
  reciprocal: (x) => 1 / x,
  square: (x) => x * x,
  sigmoid: (x) => {
    if (x >= 0) return 1 / (1 + Math.exp(-x));
    const e = Math.exp(x);
    return e / (1 + e);
  },
  exp: Math.exp,
  relu: (x) => Math.max(0, x),
};

/** ψ(x) on a number (ad/rules.ts, evaluation-point checks). */
export function surrogateDerivative(s: Surrogate, x: number): number {
  return surrogatePsi(NUMBER_OPS, s, x);
}
