// What the policy/value network sees of an elimination state: one token per
// vertex still in the graph, with scale-free features (ratios to the mean over
// the vertices that can be eliminated, logarithms), and the live edges as
// predecessor and successor lists for message passing.
//
// AlphaGrad (vertex-elimination.md §3) feeds the raw (5 × vertices × vertices)
// graph tensor to a transformer; on a CPU we give a graph network the
// quantities the cost model already computes (what eliminating each vertex
// would cost now, its Markowitz degree, its fill-in) and let it learn a
// correction to the greedy prior.

import type { EliminationState, Peek } from '../ad/state.js';

/** Number of features per token. */
export const FEATURES = 14;

export interface TokenInput {
  /** Tokens: vertices still present (not eliminated). */
  readonly n: number;
  /** Vertex id of each token. */
  readonly vertex: Int32Array;
  /** Features, row-major n × FEATURES. */
  readonly x: Float32Array;
  /** Predecessor tokens of each token (CSR: predIdx[predOff[t] … predOff[t+1]]). */
  readonly predOff: Int32Array;
  readonly predIdx: Int32Array;
  readonly succOff: Int32Array;
  readonly succIdx: Int32Array;
  /** 1 where the token's vertex can be eliminated now (an action). */
  readonly mask: Uint8Array;
  /** The greedy prior's logit per token (added to the network's). */
  readonly prior: Float32Array;
  /** Multiplications of eliminating each token now (0 for non-actions). */
  readonly stepCost: Float64Array;
  /** Scale of the value: 1 + Σ over actions of the step cost now. */
  readonly scale: number;
}

/** Weight of the greedy prior: logit = −PRIOR_WEIGHT · log(1 + multiplications now). */
export const PRIOR_WEIGHT = 1.5;

const peekBuf: Peek = { multiplications: 0, additions: 0, fillIn: 0, bytesAtPeak: 0, bytesAfter: 0 };

/** The network's input for a state. */
export function tokenInput(s: EliminationState): TokenInput {
  const p = s.p;
  const nv = p.n;
  const tokOf = new Int32Array(nv).fill(-1);
  const verts: number[] = [];
  for (let v = 0; v < nv; v++) {
    if (s.done[v] === 1 && s.predLen[v] === 0 && s.succLen[v] === 0) continue;
    if (s.predLen[v] === 0 && s.succLen[v] === 0 && p.isEliminable[v] === 0) continue; // inert leaf
    tokOf[v] = verts.length;
    verts.push(v);
  }
  const n = verts.length;
  const x = new Float32Array(n * FEATURES);
  const mask = new Uint8Array(n);
  const prior = new Float32Array(n);
  const stepCost = new Float64Array(n);
  const mk = new Float64Array(n);
  const fill = new Float64Array(n);
  const delta = new Float64Array(n);
  let nAct = 0;
  let sumCost = 0;
  let sumMk = 0;
  let sumFill = 0;
  let sumIn = 0;
  let sumOut = 0;
  for (let t = 0; t < n; t++) {
    const v = verts[t]!;
    sumIn += s.predLen[v]!;
    sumOut += s.succLen[v]!;
    if (!s.canEliminate(v)) continue;
    mask[t] = 1;
    nAct++;
    const pk = s.peekDetail(v, peekBuf);
    stepCost[t] = pk.multiplications;
    mk[t] = s.markowitz(v);
    fill[t] = pk.fillIn;
    delta[t] = pk.bytesAfter - s.liveBytes;
    sumCost += stepCost[t]!;
    sumMk += mk[t]!;
    sumFill += fill[t]!;
  }
  const meanCost = nAct ? sumCost / nAct : 1;
  const meanMk = nAct ? sumMk / nAct : 1;
  const meanFill = nAct ? sumFill / nAct : 1;
  const meanIn = n ? sumIn / n : 1;
  const meanOut = n ? sumOut / n : 1;
  const progress = p.eliminable.length ? s.doneCount / p.eliminable.length : 1;
  const isInput = new Uint8Array(nv);
  for (const i of p.graph.inputs) isInput[i] = 1;
  const isOutput = new Uint8Array(nv);
  for (const o of p.graph.outputs) isOutput[o] = 1;
  const live = Math.max(1, s.liveBytes);
  for (let t = 0; t < n; t++) {
    const v = verts[t]!;
    const f = t * FEATURES;
    x[f] = mask[t]!;
    x[f + 1] = s.done[v]!;
    x[f + 2] = isInput[v]!;
    x[f + 3] = isOutput[v]!;
    x[f + 4] = p.keepsInEdges[v]!;
    x[f + 5] = Math.log1p(stepCost[t]! / (meanCost + 1e-9));
    x[f + 6] = Math.log1p(mk[t]! / (meanMk + 1e-9));
    x[f + 7] = Math.log1p(fill[t]! / (meanFill + 1e-9));
    x[f + 8] = Math.log1p(s.predLen[v]! / (meanIn + 1e-9));
    x[f + 9] = Math.log1p(s.succLen[v]! / (meanOut + 1e-9));
    x[f + 10] = Math.log(p.sizes[v]!) / 8;
    x[f + 11] = mask[t] && stepCost[t] === 0 ? 1 : 0;
    x[f + 12] = v / nv;
    x[f + 13] = mask[t] ? Math.sign(delta[t]!) * Math.log1p(Math.abs(delta[t]!) / live) : progress;
    prior[t] = mask[t] ? -PRIOR_WEIGHT * Math.log1p(stepCost[t]!) : 0;
  }
  // Adjacency among tokens.
  const predOff = new Int32Array(n + 1);
  const succOff = new Int32Array(n + 1);
  for (let t = 0; t < n; t++) {
    const v = verts[t]!;
    let a = 0;
    for (let k = 0; k < s.predLen[v]!; k++) if (tokOf[s.pred(v, k)]! >= 0) a++;
    let b = 0;
    for (let k = 0; k < s.succLen[v]!; k++) if (tokOf[s.succ(v, k)]! >= 0) b++;
    predOff[t + 1] = predOff[t]! + a;
    succOff[t + 1] = succOff[t]! + b;
  }
  const predIdx = new Int32Array(predOff[n]!);
  const succIdx = new Int32Array(succOff[n]!);
  for (let t = 0; t < n; t++) {
    const v = verts[t]!;
    let a = predOff[t]!;
    for (let k = 0; k < s.predLen[v]!; k++) {
      const u = tokOf[s.pred(v, k)]!;
      if (u >= 0) predIdx[a++] = u;
    }
    let b = succOff[t]!;
    for (let k = 0; k < s.succLen[v]!; k++) {
      const w = tokOf[s.succ(v, k)]!;
      if (w >= 0) succIdx[b++] = w;
    }
  }
  return { n, vertex: Int32Array.from(verts), x, predOff, predIdx, succOff, succIdx, mask, prior, stepCost, scale: 1 + sumCost };
}
