// How the graph view writes vertices and edge Jacobians as text: a vertex by
// its name or its source expression, an edge by its partial derivative,
// e.g. `∂(α·u)/∂u = α·I`. The table below is the textbook derivative of each
// elemental op (the numbers and sparsity structure come from ad/rules.ts;
// this is only how they read). `diag(f)` is a diagonal Jacobian, `I` an
// identity, `𝟙` a column of ones (a broadcast), `⊗` a Kronecker product.

import type { Graph, Vertex } from '../graph/types.js';

const GREEK: Record<string, string> = {
  alpha: 'α',
  beta: 'β',
  gamma: 'γ',
  delta: 'δ',
  epsilon: 'ε',
  zeta: 'ζ',
  eta: 'η',
  theta: 'θ',
  iota: 'ι',
  kappa: 'κ',
  lambda: 'λ',
  mu: 'μ',
  nu: 'ν',
  xi: 'ξ',
  pi: 'π',
  rho: 'ρ',
  sigma: 'σ',
  tau: 'τ',
  phi: 'φ',
  chi: 'χ',
  psi: 'ψ',
  omega: 'ω',
  Gamma: 'Γ',
  Delta: 'Δ',
  Theta: 'Θ',
  Lambda: 'Λ',
  Sigma: 'Σ',
  Phi: 'Φ',
  Psi: 'Ψ',
  Omega: 'Ω',
};

/** Source text as a reader writes it: Greek names as letters, `*` as `·`, `-` as `−`. */
export function prettyExpr(src: string): string {
  return src
    .replace(/\s+/g, ' ')
    .replace(/[A-Za-z_][A-Za-z0-9_]*/g, (w) => GREEK[w] ?? w)
    .replace(/ ?\* ?/g, '·')
    .replace(/(^|[^eE\d.])-/g, '$1−');
}

/** Symbols for ops drawn as operators. */
export const OP_SYMBOL: Partial<Record<string, string>> = {
  add: '+',
  sub: '−',
  mul: '×',
  div: '÷',
  matmul: '@',
  neg: '−x',
  pow: 'xʸ',
  sum: 'Σ',
};

/** The op as drawn on its vertex: `×`, `exp`, `^2`. */
export function opLabel(v: Vertex): string {
  if (v.op === 'powc') return `^${v.attrs.exponent ?? '?'}`;
  return OP_SYMBOL[v.op] ?? v.op;
}

const MAX_NAME = 22;

/**
 * A short readable name per vertex: the user's name; else the source
 * expression when it is short, on one line, and no other vertex shares that
 * range; else (composites such as `mse` expand into several vertices with one
 * range) the vertex written from its operands' names, `ŷ − y`, shortened
 * with `…` where long. Never the internal `%id`: the view is read by people.
 */
export function displayNames(graph: Graph, text: string): string[] {
  const rangeCount = new Map<string, number>();
  for (const v of graph.vertices) {
    const k = `${v.range.start}:${v.range.end}`;
    rangeCount.set(k, (rangeCount.get(k) ?? 0) + 1);
  }
  const names: string[] = [];
  // Vertices come in topological order: operands are named before the vertices that use them.
  for (const v of graph.vertices) {
    const src = text.slice(v.range.start, v.range.end);
    let name: string;
    if (v.op === 'const') {
      // A named constant reads better by its name (alpha → α) than by its folded value.
      name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(src) ? prettyExpr(src) : (v.name ?? constText(v));
    } else if (v.name !== undefined) {
      name = v.name;
    } else {
      const unique = rangeCount.get(`${v.range.start}:${v.range.end}`) === 1;
      name = unique && src.length > 0 && src.length <= MAX_NAME && !src.includes('\n') ? prettyExpr(src) : composedName(v, names);
    }
    names[v.id] = name;
  }
  return names;
}

function constText(v: Vertex): string {
  const x = v.attrs.value;
  return x && x.length === 1 ? String(Number(x[0]!.toPrecision(4))) : 'const';
}

const INFIX: Partial<Record<string, string>> = { add: ' + ', sub: ' − ', mul: '·', div: '/', matmul: ' @ ', pow: '^', max: ' max ', min: ' min ' };

/** A vertex written from its operands' names (`ŷ − y`, `Σ (ŷ − y)²`), at most MAX_NAME long. */
function composedName(v: Vertex, names: readonly string[]): string {
  const operands = v.inputs.map((i) => names[i] ?? '…');
  const write = (xs: readonly string[]): string => {
    const infix = INFIX[v.op];
    if (infix && xs.length === 2) return `${p(xs[0]!)}${infix}${p(xs[1]!)}`;
    if (v.op === 'neg') return `−${p(xs[0] ?? '…')}`;
    if (v.op === 'powc') return `${p(xs[0] ?? '…')}^${String(v.attrs.exponent ?? '?')}`;
    if (v.op === 'sum') return `Σ ${p(xs[0] ?? '…')}`;
    return `${v.op}(${xs.join(', ')})`;
  };
  const full = write(operands);
  if (full.length <= MAX_NAME) return full;
  // Long operands shortened to `…`, the operator kept: the reader still sees what the vertex does.
  const short = write(operands.map((o) => (o.length <= 8 ? o : '…')));
  return short.length <= MAX_NAME ? short : write(operands.map(() => '…'));
}

/** Parenthesise a name that is not atomic, for use inside a larger expression. */
function p(s: string): string {
  return /^[\p{L}\p{N}_.%[\]+′]+$/u.test(s) && !/^\d.*[+]/.test(s) ? s : `(${s})`;
}

/** `diag(e)` for a tensor, `e` for a scalar. */
function d(e: string, tensor: boolean): string {
  return tensor ? `diag(${e})` : e;
}

const UNARY: Record<string, (a: string, y: string) => string> = {
  neg: () => '−1',
  exp: (_a, y) => y,
  log: (a) => `1/${p(a)}`,
  sqrt: (_a, y) => `1/(2${p(y)})`,
  abs: (a) => `sign ${p(a)}`,
  sin: (a) => `cos ${p(a)}`,
  cos: (a) => `−sin ${p(a)}`,
  tan: (_a, y) => `1+${p(y)}²`,
  asin: (a) => `1/√(1−${p(a)}²)`,
  acos: (a) => `−1/√(1−${p(a)}²)`,
  atan: (a) => `1/(1+${p(a)}²)`,
  sinh: (a) => `cosh ${p(a)}`,
  cosh: (a) => `sinh ${p(a)}`,
  tanh: (_a, y) => `1−${p(y)}²`,
  asinh: (a) => `1/√(1+${p(a)}²)`,
  acosh: (a) => `1/√(${p(a)}²−1)`,
  atanh: (a) => `1/(1−${p(a)}²)`,
  log1p: (a) => `1/(1+${p(a)})`,
  erf: (a) => `2/√π·exp(−${p(a)}²)`,
  sigmoid: (_a, y) => `${p(y)}(1−${p(y)})`,
  relu: (a) => `𝟙[${p(a)}>0]`,
  softplus: (a) => `σ(${a})`,
};

/**
 * The partial Jacobian of vertex `v` with respect to its operand `k`, as
 * text: `{ lhs: '∂y/∂x', rhs: 'diag(cos x)' }`. `names` are display names.
 */
export function partialText(graph: Graph, names: readonly string[], v: Vertex, k: number): { lhs: string; rhs: string } {
  const src = v.inputs[k]!;
  const lhs = `∂${p(names[v.id]!)}/∂${p(names[src]!)}`;
  return { lhs, rhs: partialRhs(graph, names, v, k) };
}

function partialRhs(graph: Graph, names: readonly string[], v: Vertex, k: number): string {
  const operand = (i: number): Vertex => graph.vertices[v.inputs[i]!]!;
  const a = names[v.inputs[0]!]!;
  const b = v.inputs.length > 1 ? names[v.inputs[1]!]! : '';
  const y = names[v.id]!;
  const tensor = v.shape.length > 0;
  const self = operand(k);
  const other = v.inputs.length > 1 ? operand(1 - k) : undefined;
  const selfScalar = self.shape.length === 0;
  const otherScalar = other !== undefined && other.shape.length === 0;

  if (v.op === 'stop') return '0 (stop)';
  if (v.op === 'neg') return tensor ? '−I' : '−1';
  if (v.op === 'powc') {
    const e = v.attrs.exponent ?? 0;
    const pow = e - 1 === 1 ? p(a) : `${p(a)}^${fmt(e - 1)}`;
    return d(e === 2 ? `2·${p(a)}` : `${fmt(e)}·${pow}`, tensor);
  }
  if (v.op === 'spike') {
    const sur = v.attrs.surrogate;
    const amp = sur && sur.scale !== 1 ? `${fmt(sur.scale)}·` : '';
    return d(`${amp}${sur?.kind ?? 'surrogate'}′(${a})`, tensor);
  }
  const unary = UNARY[v.op];
  if (unary) return d(unary(a, y), tensor);

  // Binary elementwise ops: a scalar operand of a tensor result is broadcast.
  if (['add', 'sub', 'mul', 'div', 'pow', 'atan2', 'max', 'min'].includes(v.op)) {
    const sign = v.op === 'sub' && k === 1 ? '−' : '';
    if (tensor && selfScalar) {
      // ∂y/∂s for a scalar s broadcast over y: a column.
      switch (v.op) {
        case 'add':
        case 'sub':
          return `${sign}𝟙`;
        case 'mul':
          return k === 0 ? b : a;
        case 'div':
          return k === 0 ? `1/${p(b)}` : `−${p(a)}/${p(b)}²`;
        default:
          break;
      }
    }
    if (tensor && otherScalar) {
      switch (v.op) {
        case 'add':
        case 'sub':
          return `${sign}I`;
        case 'mul':
          return `${p(k === 0 ? b : a)}·I`;
        case 'div':
          if (k === 0) return `(1/${p(b)})·I`;
          break;
        default:
          break;
      }
    }
    const I = tensor ? 'I' : '1';
    switch (v.op) {
      case 'add':
        return I;
      case 'sub':
        return k === 0 ? I : `−${I}`;
      case 'mul':
        return d(k === 0 ? b : a, tensor);
      case 'div':
        return k === 0 ? d(`1/${p(b)}`, tensor) : d(`−${p(a)}/${p(b)}²`, tensor);
      case 'pow':
        return k === 0 ? d(`${p(b)}·${p(a)}^(${b}−1)`, tensor) : d(`ln ${p(a)}·${p(y)}`, tensor);
      case 'atan2':
        return k === 0 ? d(`${p(b)}/(${p(a)}²+${p(b)}²)`, tensor) : d(`−${p(a)}/(${p(a)}²+${p(b)}²)`, tensor);
      case 'max':
        return d(k === 0 ? `𝟙[${a}>${b}]` : `𝟙[${b}≥${a}]`, tensor);
      case 'min':
        return d(k === 0 ? `𝟙[${a}<${b}]` : `𝟙[${b}≤${a}]`, tensor);
      default:
        break;
    }
  }
  switch (v.op) {
    case 'matmul': {
      const [A, C] = [operand(0), operand(1)];
      if (A.shape.length === 1 && C.shape.length === 1) return `${p(k === 0 ? b : a)}ᵀ`;
      if (k === 1) return A.shape.length === 2 ? (C.shape.length === 2 ? `${p(a)} ⊗ I` : a) : `${p(a)}ᵀ ⊗ I`;
      return C.shape.length === 2 ? (A.shape.length === 2 ? `I ⊗ ${p(b)}ᵀ` : `${p(b)}ᵀ`) : `I ⊗ ${p(b)}ᵀ`;
    }
    case 'sum':
      return v.attrs.axes && v.attrs.axes.length < self.shape.length ? `I ⊗ 𝟙ᵀ (axis ${v.attrs.axes.join(',')})` : '𝟙ᵀ';
    case 'reduce_max':
      return `onehot(argmax ${p(a)})`;
    case 'reduce_min':
      return `onehot(argmin ${p(a)})`;
    case 'broadcast':
      return selfScalar ? '𝟙' : 'I ⊗ 𝟙 (broadcast)';
    case 'transpose':
      return 'P (transpose)';
    case 'reshape':
      return 'I (reshape)';
    case 'slice':
      return `S (${sliceText(v)})`;
    case 'concat':
      return `E${k} (concat part ${k})`;
    default:
      return `∂${v.op}`;
  }
}

function sliceText(v: Vertex): string {
  const starts = v.attrs.starts ?? [];
  const ends = v.attrs.ends ?? [];
  const squeeze = v.attrs.squeeze ?? [];
  return starts.map((s, i) => (squeeze.includes(i) ? String(s) : `${s}:${ends[i] ?? ''}`)).join(', ');
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(4)));
}
