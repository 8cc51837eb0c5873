// The builtin functions of the language (LANGUAGE.md §4), with signatures and
// one-line docs. The checker, the graph builder, completion and signature
// help all read this one table.

export type BuiltinKind =
  | 'unary' // elementwise, one argument
  | 'binary' // elementwise, two arguments (scalar broadcasts)
  | 'reduction' // over all axes or `axis = k`
  | 'shape' // shape changes and products
  | 'special'; // spike, stop, losses, stack, grad

export interface Builtin {
  readonly name: string;
  readonly kind: BuiltinKind;
  /** Positional arity: [min, max]. */
  readonly arity: readonly [number, number];
  /** Named arguments accepted. */
  readonly named: readonly string[];
  readonly signature: string;
  readonly doc: string;
}

const unary = (name: string, doc: string): Builtin => ({
  name,
  kind: 'unary',
  arity: [1, 1],
  named: [],
  signature: `${name}(x)`,
  doc,
});

const reduction = (name: string, doc: string): Builtin => ({
  name,
  kind: 'reduction',
  arity: [1, 1],
  named: ['axis'],
  signature: `${name}(x, axis = k)`,
  doc,
});

const list: Builtin[] = [
  unary('exp', 'Exponential eˣ, elementwise.'),
  unary('log', 'Natural logarithm, elementwise.'),
  unary('sqrt', 'Square root, elementwise.'),
  unary('abs', 'Absolute value, elementwise (derivative sign(x)).'),
  unary('sin', 'Sine, elementwise.'),
  unary('cos', 'Cosine, elementwise.'),
  unary('tan', 'Tangent, elementwise.'),
  unary('asin', 'Arcsine, elementwise.'),
  unary('acos', 'Arccosine, elementwise.'),
  unary('atan', 'Arctangent, elementwise.'),
  unary('sinh', 'Hyperbolic sine, elementwise.'),
  unary('cosh', 'Hyperbolic cosine, elementwise.'),
  unary('tanh', 'Hyperbolic tangent, elementwise.'),
  unary('asinh', 'Inverse hyperbolic sine, elementwise.'),
  unary('acosh', 'Inverse hyperbolic cosine, elementwise (x ≥ 1).'),
  unary('atanh', 'Inverse hyperbolic tangent, elementwise (|x| < 1).'),
  unary('log1p', 'log(1 + x), accurate near 0, elementwise.'),
  unary('erf', 'Error function, elementwise.'),
  unary('sigmoid', 'Logistic function 1 / (1 + e⁻ˣ), elementwise.'),
  unary('relu', 'max(x, 0), elementwise.'),
  unary('softplus', 'log(1 + eˣ), elementwise.'),
  { name: 'atan2', kind: 'binary', arity: [2, 2], named: [], signature: 'atan2(y, x)', doc: 'Angle of the point (x, y), elementwise.' },
  { name: 'pow', kind: 'binary', arity: [2, 2], named: [], signature: 'pow(x, y)', doc: 'x to the power y, elementwise (same as x ^ y).' },
  {
    name: 'max',
    kind: 'binary',
    arity: [1, 2],
    named: ['axis'],
    signature: 'max(a, b) | max(x, axis = k)',
    doc: 'Two arguments: elementwise maximum. One argument: maximum over all axes or along `axis`.',
  },
  {
    name: 'min',
    kind: 'binary',
    arity: [1, 2],
    named: ['axis'],
    signature: 'min(a, b) | min(x, axis = k)',
    doc: 'Two arguments: elementwise minimum. One argument: minimum over all axes or along `axis`.',
  },
  reduction('sum', 'Sum over all axes, or along `axis`.'),
  reduction('mean', 'Mean over all axes, or along `axis`.'),
  reduction('logsumexp', 'log Σ exp(x), over all axes or along `axis` (computed stably).'),
  {
    name: 'softmax',
    kind: 'reduction',
    arity: [1, 1],
    named: ['axis'],
    signature: 'softmax(x, axis = k)',
    doc: 'Softmax along `axis` (the last axis by default); keeps the shape.',
  },
  { name: 'dot', kind: 'shape', arity: [2, 2], named: [], signature: 'dot(a, b)', doc: 'Inner product of two vectors of equal length.' },
  { name: 'outer', kind: 'shape', arity: [2, 2], named: [], signature: 'outer(a, b)', doc: 'Outer product: [m] × [n] → [m, n].' },
  {
    name: 'transpose',
    kind: 'shape',
    arity: [1, 2],
    named: [],
    signature: 'transpose(x) | transpose(x, [1, 0])',
    doc: 'Reverse the axes, or permute them as listed.',
  },
  { name: 'reshape', kind: 'shape', arity: [2, 2], named: [], signature: 'reshape(x, [d1, d2, …])', doc: 'Same values, new shape (same number of elements).' },
  {
    name: 'stack',
    kind: 'special',
    arity: [1, Infinity],
    named: [],
    signature: 'stack(a, b, …)',
    doc: 'Build a vector from scalars (or a tensor from equal-shaped tensors) along a new first axis.',
  },
  {
    name: 'spike',
    kind: 'special',
    arity: [1, 1],
    named: [],
    signature: 'spike(x)',
    doc: "Heaviside step x > 0 forward; the model's surrogate derivative backward.",
  },
  {
    name: 'max_over_time',
    kind: 'special',
    arity: [1, 1],
    named: [],
    signature: 'max_over_time(x)',
    doc: 'The running maximum of x over the steps so far, elementwise: with `loss = … at last`, the max-over-time readout of classification (Cramer et al. 2020; Zenke & Vogels 2021). A state of its own (max_over_time1, …) in the graph.',
  },
  {
    name: 'mean_over_time',
    kind: 'special',
    arity: [1, 1],
    named: [],
    signature: 'mean_over_time(x)',
    doc: 'The running mean of x over the steps so far, elementwise: with `loss = … at last`, the mean-over-time readout. A state of its own (mean_over_time1, …) and a step counter in the graph.',
  },
  { name: 'stop', kind: 'special', arity: [1, 1], named: [], signature: 'stop(x)', doc: 'Identity forward; no gradient flows through it.' },
  { name: 'mse', kind: 'special', arity: [2, 2], named: [], signature: 'mse(a, b)', doc: 'Mean squared error mean((a − b)²), a scalar.' },
  {
    name: 'cross_entropy',
    kind: 'special',
    arity: [2, 2],
    named: ['axis'],
    signature: 'cross_entropy(logits, target, axis = k)',
    doc: '−Σ target · log softmax(logits). Softmax along the last axis (or `axis`); summed to a scalar, or only along `axis` when it is given.',
  },
  {
    name: 'grad',
    kind: 'special',
    arity: [1, 1],
    named: [],
    signature: 'grad(f)',
    doc: 'The gradient of scalar function f as a new function (file level: `let g = grad(f)`).',
  },
];

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map(list.map((b) => [b.name, b]));

/** Initialisers for `param W: [n, m] ~ init`. */
export const INITIALISERS: ReadonlyMap<string, { arity: number; signature: string; doc: string }> = new Map([
  ['normal', { arity: 2, signature: 'normal(mean, std)', doc: 'Gaussian with the given mean and standard deviation.' }],
  ['uniform', { arity: 2, signature: 'uniform(lo, hi)', doc: 'Uniform on [lo, hi).' }],
  ['zeros', { arity: 0, signature: 'zeros', doc: 'All zeros.' }],
  ['glorot', { arity: 0, signature: 'glorot', doc: 'Glorot/Xavier uniform: ±√(6 / (fan_in + fan_out)).' }],
]);

export const KEYWORDS: readonly string[] = [
  'function',
  'model',
  'rule',
  'for',
  'let',
  'return',
  'dim',
  'const',
  'input',
  'target',
  'param',
  'state',
  'surrogate',
  'loss',
  'approximate',
  'schedule',
  'objective',
  'limit',
  'online',
  'reverse',
  'forward',
  'order',
  'diagonal',
  'dense',
];
