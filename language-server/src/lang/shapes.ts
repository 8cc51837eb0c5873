// Tensor shapes and the rules that combine them, written once: the checker
// infers shapes with them, the graph builder lowers with them, and every later
// stage (graph/, ad/, train/) imports them from here through graph/types.ts.
//
// `[]` is a scalar, `[n]` a vector, `[m, n]` a matrix; values are row-major.

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

/**
 * Elementwise operands: a scalar broadcasts against any shape, otherwise the
 * shapes must match exactly (LANGUAGE.md §4). Undefined when they do not.
 */
export function elementwiseShape(a: Shape, b: Shape): Shape | undefined {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return sameShape(a, b) ? a : undefined;
}

/**
 * `A @ B`: [m,k]@[k,n] → [m,n], [m,k]@[k] → [m], [k]@[k,n] → [n], [k]@[k] → [].
 * 'rank' when an operand is a scalar or of rank > 2, 'inner' when k differs.
 */
export function matmulShape(a: Shape, b: Shape): Shape | { error: 'rank' | 'inner'; k1?: number; k2?: number } {
  const [m, k1] = a.length === 2 ? [a[0]!, a[1]!] : a.length === 1 ? [undefined, a[0]!] : [undefined, undefined];
  const [k2, n] = b.length === 2 ? [b[0]!, b[1]!] : b.length === 1 ? [b[0]!, undefined] : [undefined, undefined];
  if (k1 === undefined || k2 === undefined) return { error: 'rank' };
  if (k1 !== k2) return { error: 'inner', k1, k2 };
  return [...(m !== undefined ? [m] : []), ...(n !== undefined ? [n] : [])];
}
