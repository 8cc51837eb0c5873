// Random function f (examples/random_f.eligo): AlphaGrad's code-generated
// task, Graphax examples/randoms.py, one equation per line as in
// shared/reference/random-functions-f-g.md. Transcribed with NumPy's
// broadcasting written out index by index (the example file spells the same
// broadcasts with `outer(·, ones)`), so the two are independent.

import { matrix, vector, type EvalPoint, type Mat, type Outputs, type Vec } from './util.js';

export const EXAMPLE = 'random_f.eligo';

/**
 * The reference draws the inputs uniformly from [0, 1) with JAX's PRNGKey
 * 250197, which cannot be reproduced here. This point keeps every
 * intermediate finite (acos needs |v7| ≤ 1): v0[i] = 0.1·(i+1),
 * v1[i][j] = 0.1·(3i+j+1), v2[i][j] = 0.1 + 0.05·(i+j), v4[i][0] = 0.1·(i+1).
 */
export const EVAL: EvalPoint = {
  v0: [0.1, 0.2, 0.3, 0.4],
  v1: [
    [0.1, 0.2, 0.3],
    [0.4, 0.5, 0.6],
  ],
  v2: [
    [0.1, 0.15, 0.2, 0.25],
    [0.15, 0.2, 0.25, 0.3],
    [0.2, 0.25, 0.3, 0.35],
    [0.25, 0.3, 0.35, 0.4],
  ],
  v4: [[0.1], [0.2], [0.3], [0.4]],
};

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const ew = (A: Mat, f: (v: number) => number): Mat => A.map((r) => r.map(f));
const ewv = (a: Vec, f: (v: number) => number): Vec => a.map(f);
/** dot(A, B; a|b) for matrices: contract axis a of A with axis b of B; result = free(A) × free(B). */
function contract(A: Mat, a: 0 | 1, B: Mat, b: 0 | 1): Mat {
  const An = a === 0 ? A[0]!.length : A.length; // free size of A
  const Bn = b === 0 ? B[0]!.length : B.length; // free size of B
  const K = a === 0 ? A.length : A[0]!.length;
  const KB = b === 0 ? B.length : B[0]!.length;
  if (K !== KB) throw new Error('contract: sizes differ');
  return range(An).map((i) =>
    range(Bn).map((j) => {
      let s = 0;
      for (let k = 0; k < K; k++) s += (a === 0 ? A[k]![i]! : A[i]![k]!) * (b === 0 ? B[k]![j]! : B[j]![k]!);
      return s;
    }),
  );
}

export function randomF(p: EvalPoint): Outputs {
  const v0 = vector(p, 'v0', 4);
  const v1 = matrix(p, 'v1', 2, 3);
  const v2 = matrix(p, 'v2', 4, 4);
  const v4 = matrix(p, 'v4', 4, 1);

  const v5 = ew(v2, (x) => x ** 3); // (4,4)
  const v6 = contract(v4, 0, v5, 0); // (1,4)
  const v7 = contract(v5, 0, v6, 1); // (4,1)
  const v8 = ew(v6, (x) => x ** 2); // (1,4)
  // dot(v0, v8; 0|1): (4,)·(1,4) over the 4-axis → (1,)
  const v9 = [range(4).reduce((s, k) => s + v0[k]! * v8[0]![k]!, 0)];
  const v10 = ewv(v0, Math.sqrt); // (4,)
  const v11 = ew(v7, Math.acos); // (4,1)
  const v12 = v1.map((r) => [...r]); // T(v1;[0,1]) is the identity: (2,3)
  const v13 = contract(v11, 1, v8, 0); // (4,4)
  const v14 = ew(v11, (x) => x + v9[0]!); // (4,1) + (1,1)
  const v15 = ew(v14, (x) => x - v9[0]!);
  const v16 = ewv(v9, Math.cos); // (1,)
  const v17 = v13.map((r, i) => r.map((x) => v10[i]! + x)); // (4,1) + (4,4)
  const v18 = ew(v17, Math.asinh);
  const v19 = ew(v15, (x) => x + v16[0]!); // (4,1)
  const v20 = ew(v12, (x) => -x); // (2,3)
  const v21 = ewv(v10, Math.sqrt); // (4,)
  // dot(v21, v18; 0|1) → (4,): out[i] = Σ_k v21[k] v18[i][k]
  const v22 = range(4).map((i) => range(4).reduce((s, k) => s + v21[k]! * v18[i]![k]!, 0));
  const v23 = ew(v12, Math.tanh);
  const v24 = ew(v19, Math.atan); // (4,1)
  const v25 = ew(v24, (x) => x * x);
  const v26 = ewv(v22, Math.cos); // (4,)
  const v27 = ew(v25, (x) => v16[0]! - x); // (1,1) - (4,1) → (4,1)
  const v28 = ew(v23, Math.cosh); // (2,3)
  const v29 = range(3).map((j) => v20[0]![j]! + v20[1]![j]!); // sum_0 → (3,)
  const v30 = range(3).map((j) => [v28[0]![j]!, v28[1]![j]!]); // (3,2)
  const v31 = v16[0]!; // sum_0 of a (1,) → scalar
  const v32 = v26; // squeeze: no-op on (4,)
  const v33 = v30.map((r, i) => r.map((x) => v29[i]! - x)); // (3,1) - (3,2) → (3,2)
  const v34 = ew(v33, (x) => v31 / x);
  const v35 = v13.map((r, i) => r.map((x) => x + v10[i]!)); // (4,4) + (4,1)
  const v36 = v35.map((r, i) => r.map((x) => v32[i]! * x)); // (4,1) * (4,4)
  const v37 = ewv(v32, (x) => x ** 2); // (4,)
  const v38 = v34.map((r) => Math.max(...r)); // max_1 → (3,)
  const v39 = ew(v36, Math.sinh);
  const v40 = ew(v27, Math.exp); // (4,1)
  const v41 = [[v39[3]![3]!]]; // slice [3:4, 3:4] → (1,1)
  const v42 = v37.reduce((s, x) => s + x, 0); // scalar
  const v43 = ewv(v38, (x) => v42 + x); // (3,)
  // dot(v32, v40; 0|0) → (1,)
  const v44 = [range(4).reduce((s, k) => s + v32[k]! * v40[k]![0]!, 0)];
  const v45 = ewv(v43, Math.asinh);
  const v46 = contract(v24, 1, v15, 1); // (4,4)
  const v47 = v41; // stop_gradient: identity forward
  const v48 = ewv(v45, (x) => 1 / (1 + Math.exp(-x)));
  const v49 = range(3).reduce((s, k) => s + v29[k]! * v48[k]!, 0); // scalar
  const v50 = range(4).reduce((s, k) => s + v22[k]! * v21[k]!, 0); // scalar
  // dot(v44, v47; 0|1) → (1,): out[j] = Σ_k v44[k] v47[j][k]
  const v51 = [v44[0]! * v47[0]![0]!];
  const v52 = contract(v30, 0, v33, 0); // (2,2)
  const v53 = ew(v46, (x) => x * v50);
  const v54 = ewv(v37, Math.sqrt);
  const v55 = ewv(v51, (x) => Math.sqrt(Math.abs(x))); // (1,)
  const v56 = ew(v52, (x) => x - v49);
  const v57 = ewv(v54, Math.cosh); // (4,)
  const v58 = ewv(v37, (x) => -x);
  const v59 = v53.map((r, i) => r.map((x) => v57[i]! + x)); // (4,1) + (4,4)
  const v60 = ewv(v57, (x) => x * x);
  const v61 = ewv(v58, Math.sin); // (4,)
  const v62 = ew(v59, Math.atan); // (4,4)
  const v63 = range(4).map((j) => range(4).reduce((s, i) => s + v62[i]![j]!, 0)); // sum_0 → (4,)
  const v64 = Math.min(...v63); // scalar
  const v65 = ewv(v55, (x) => v64 - x); // (1,)
  const v66 = ew(v2, Math.sqrt);
  const v67 = v56.map((r) => r[0]! + r[1]!); // sum_1 → (2,)
  const v68 = v66.map((r, i) => r.map((x) => v61[i]! - x)); // (4,1) - (4,4)
  const v69 = range(4).reduce((s, k) => s + v60[k]! * v61[k]!, 0); // scalar
  const v70 = contract(v68, 0, v62, 0); // (4,4)
  const v71 = v2.map((r, i) => r.map((x) => v22[i]! + x)); // (4,1) + (4,4)
  const v72 = ew(v70, (x) => 1 / (1 + Math.exp(-x)));
  const v73 = contract(v72, 0, v71, 0); // (4,4)
  const v74 = [v6[0]!.map((x, j) => x / v37[j]!)]; // (1,4) / (1,4)
  return [v74.flat(), v65, v67, [v69], v73.flat()];
}

export function referenceValues(): Record<string, Outputs> {
  return { random_f: randomF(EVAL) };
}
