// Plain numeric helpers for the reference transcriptions in this folder.
//
// Deliberately independent of the Eligo engine: vectors are number[],
// matrices number[][] (row-major), and every operation is an explicit loop,
// so a reference value never shares a code path with the thing it checks.

export type Vec = number[];
export type Mat = number[][];

/** Outputs of one item: each output flattened row-major. */
export type Outputs = number[][];

/** An evaluation point: input name → scalar, vector or matrix. */
export type EvalValue = number | Vec | Mat;
export type EvalPoint = Record<string, EvalValue>;

export function flatten(x: EvalValue): number[] {
  if (typeof x === 'number') return [x];
  const out: number[] = [];
  for (const e of x as (number | number[])[]) {
    if (typeof e === 'number') out.push(e);
    else out.push(...e);
  }
  return out;
}

export function scalar(p: EvalPoint, name: string): number {
  const v = p[name];
  if (typeof v !== 'number') throw new Error(`eval point: '${name}' is not a scalar`);
  return v;
}

export function vector(p: EvalPoint, name: string, n: number): Vec {
  const v = p[name];
  if (!Array.isArray(v) || v.length !== n || v.some((e) => typeof e !== 'number')) {
    throw new Error(`eval point: '${name}' is not a vector of length ${n}`);
  }
  return v as Vec;
}

export function matrix(p: EvalPoint, name: string, rows: number, cols: number): Mat {
  const v = p[name];
  if (!Array.isArray(v) || v.length !== rows) throw new Error(`eval point: '${name}' is not a ${rows}×${cols} matrix`);
  for (const r of v) {
    if (!Array.isArray(r) || r.length !== cols) throw new Error(`eval point: '${name}' is not a ${rows}×${cols} matrix`);
  }
  return v as Mat;
}

export function zeros(n: number): Vec {
  return new Array<number>(n).fill(0);
}

export function zerosMat(rows: number, cols: number): Mat {
  return Array.from({ length: rows }, () => zeros(cols));
}

export function matvec(A: Mat, x: Vec): Vec {
  return A.map((row) => {
    if (row.length !== x.length) throw new Error(`matvec: ${row.length} vs ${x.length}`);
    let s = 0;
    for (let j = 0; j < x.length; j++) s += row[j]! * x[j]!;
    return s;
  });
}

export function matmul(A: Mat, B: Mat): Mat {
  const k = B.length;
  const n = B[0]!.length;
  return A.map((row) => {
    if (row.length !== k) throw new Error(`matmul: inner sizes ${row.length} vs ${k}`);
    const out = zeros(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += row[l]! * B[l]![j]!;
      out[j] = s;
    }
    return out;
  });
}

export function transpose(A: Mat): Mat {
  const rows = A.length;
  const cols = A[0]!.length;
  return Array.from({ length: cols }, (_, j) => Array.from({ length: rows }, (_, i) => A[i]![j]!));
}

export function dot(a: Vec, b: Vec): number {
  if (a.length !== b.length) throw new Error(`dot: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function sum(a: Vec): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

export function mapVec(a: Vec, f: (v: number, i: number) => number): Vec {
  return a.map(f);
}

export function mapMat(A: Mat, f: (v: number, i: number, j: number) => number): Mat {
  return A.map((row, i) => row.map((v, j) => f(v, i, j)));
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Softmax of one vector (max-shifted; the shift does not change the value). */
export function softmax(a: Vec): Vec {
  const m = Math.max(...a);
  const e = a.map((v) => Math.exp(v - m));
  const s = sum(e);
  return e.map((v) => v / s);
}

/** The mean of squared differences: `mse(a, b)` of the language. */
export function mse(a: Vec, b: Vec): number {
  if (a.length !== b.length) throw new Error(`mse: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

/**
 * The error function to about 1e-15 relative accuracy: the Maclaurin series
 * for |x| < 3 and the continued fraction of erfc beyond (JavaScript's Math
 * has no erf).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 3) {
    // erf x = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let s = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      s += add;
      if (Math.abs(add) < 1e-17 * Math.abs(s)) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * s;
    return x < 0 ? -r : r;
  }
  // erfc x = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + 2/(x + …)))))
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return x < 0 ? erfc - 1 : 1 - erfc;
}

/** Round to `d` decimals (used to write evaluation points as short literals). */
export function round(x: number, d: number): number {
  const f = 10 ** d;
  const r = Math.round(x * f) / f;
  return Object.is(r, -0) ? 0 : r;
}

/**
 * Deterministic weights for the MLP and transformer examples, which the
 * reference draws from JAX's normal PRNG: element k (row-major, from 0) of
 * the m-th weight tensor is round(0.5·sin(m + 0.7·k), 3 decimals).
 */
export function formulaWeight(m: number, k: number): number {
  return round(0.5 * Math.sin(m + 0.7 * k), 3);
}

export function formulaVector(m: number, n: number): Vec {
  return Array.from({ length: n }, (_, k) => formulaWeight(m, k));
}

export function formulaMatrix(m: number, rows: number, cols: number): Mat {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => formulaWeight(m, i * cols + j)));
}
