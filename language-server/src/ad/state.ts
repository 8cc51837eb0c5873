// A fast, copyable elimination state for search (heuristics, annealing,
// branch-and-bound over subsets, tree search).
//
// It is the same cost model as `Eliminator` (eliminate.ts): the same
// linearized graph, the same interned sparsities and cached products and sums
// (`SparsityTable`), the same multiplication, addition, fill-in and
// live-memory counts, and the same adjacency-list discipline (append on
// insert, swap-with-last on delete), so that sums are formed in the same order
// and every order costs exactly what `costOf` says (tested against it). What
// it adds for search:
//
//  - `peek(v)`: the cost of eliminating v now, without changing the state;
//  - `copyFrom(other)`: overwrite this state with another in a few memcpys,
//    no allocation (edges always run from a lower to a higher vertex id, also
//    after fill-in, so every adjacency fits a fixed triangular layout);
//  - O(1) edge lookup through a triangular table of sparsity ids.

import type { Graph } from '../graph/types.js';
import { SparsityTable } from './eliminate.js';
import { linearize, vertexSizes, type LinearizedGraph } from './linearize.js';

/** The immutable part of an elimination problem, compiled for EliminationState. */
export interface EliminationProblem {
  readonly graph: Graph;
  readonly lin: LinearizedGraph;
  /** Number of vertices of the graph. */
  readonly n: number;
  readonly table: SparsityTable;
  /** Elements of each vertex's value. */
  readonly sizes: Float64Array;
  /** Vertices an order must eliminate, ascending. */
  readonly eliminable: readonly number[];
  /** 1 for eliminable vertices. */
  readonly isEliminable: Uint8Array;
  /** 1 for outputs that feed other vertices: their in-edges survive their elimination. */
  readonly keepsInEdges: Uint8Array;
  /** Bytes of all edge Jacobians before any elimination. */
  readonly initialBytes: number;
  /** The initial state (copy it; never eliminate in it). */
  readonly initial: EliminationState;
}

const problems = new WeakMap<Graph, EliminationProblem>();

/** The compiled problem of a graph, cached per graph object (symbolic: sparsities only). */
export function eliminationProblem(graph: Graph): EliminationProblem {
  let p = problems.get(graph);
  if (!p) {
    p = compileProblem(linearize(graph));
    problems.set(graph, p);
  }
  return p;
}

/** Compiles a linearized graph (its values, if any, are ignored: costs are symbolic). */
export function compileProblem(lin: LinearizedGraph): EliminationProblem {
  const graph = lin.graph;
  const n = graph.vertices.length;
  const table = new SparsityTable();
  const isEliminable = new Uint8Array(n);
  for (const v of lin.eliminable) isEliminable[v] = 1;
  const keepsInEdges = new Uint8Array(n);
  for (const v of lin.feedingOutputs) keepsInEdges[v] = 1;
  const problem = {
    graph,
    lin,
    n,
    table,
    sizes: vertexSizes(graph),
    eliminable: lin.eliminable,
    isEliminable,
    keepsInEdges,
    initialBytes: 0,
    initial: undefined as unknown as EliminationState,
  };
  const s = new EliminationState(problem);
  let bytes = 0;
  for (const e of lin.edges) {
    if (e.src >= e.dst) throw new Error(`edge ${e.src}→${e.dst} does not run forward`);
    const sp = table.intern(e.jacobian.sparsity);
    s.insertEdge(e.src, e.dst, sp);
    bytes += table.bytes[sp]!;
  }
  s.liveBytes = bytes;
  s.peakBytes = bytes;
  problem.initialBytes = bytes;
  problem.initial = s;
  return problem;
}

/** What eliminating a vertex would cost, from `peekDetail`. */
export interface Peek {
  multiplications: number;
  additions: number;
  fillIn: number;
  /** Live bytes right after the products are added (before v's edges are freed): the step's contribution to the peak. */
  bytesAtPeak: number;
  /** Live bytes after the elimination. */
  bytesAfter: number;
}

/**
 * The graph after some eliminations. Create one with `EliminationState.of`,
 * copy with `clone()` or `copyFrom()`.
 */
export class EliminationState {
  readonly p: EliminationProblem;
  /** Sparsity id of edge i→j (i < j) at tri(j) + i, −1 when absent. */
  private readonly sp: Int32Array;
  /** Predecessors of v at predOff(v) …, successors at succOff(v) …. */
  private readonly predList: Int32Array;
  private readonly succList: Int32Array;
  readonly predLen: Int32Array;
  readonly succLen: Int32Array;
  private readonly tri: Int32Array;
  private readonly succOff: Int32Array;
  readonly done: Uint8Array;
  doneCount = 0;
  multiplications = 0;
  additions = 0;
  fillIn = 0;
  liveBytes = 0;
  peakBytes = 0;

  /** @internal use `EliminationState.of` or `clone`. */
  constructor(p: Omit<EliminationProblem, 'initial'> | EliminationProblem, from?: EliminationState) {
    this.p = p as EliminationProblem;
    const n = p.n;
    if (from) {
      this.tri = from.tri;
      this.succOff = from.succOff;
      this.sp = from.sp.slice();
      this.predList = from.predList.slice();
      this.succList = from.succList.slice();
      this.predLen = from.predLen.slice();
      this.succLen = from.succLen.slice();
      this.done = from.done.slice();
      this.doneCount = from.doneCount;
      this.multiplications = from.multiplications;
      this.additions = from.additions;
      this.fillIn = from.fillIn;
      this.liveBytes = from.liveBytes;
      this.peakBytes = from.peakBytes;
      return;
    }
    const T = (n * (n - 1)) / 2;
    this.tri = new Int32Array(n);
    this.succOff = new Int32Array(n);
    let succAt = 0;
    for (let v = 0; v < n; v++) {
      this.tri[v] = (v * (v - 1)) / 2;
      this.succOff[v] = succAt;
      succAt += n - 1 - v;
    }
    this.sp = new Int32Array(Math.max(1, T)).fill(-1);
    this.predList = new Int32Array(Math.max(1, T));
    this.succList = new Int32Array(Math.max(1, T));
    this.predLen = new Int32Array(n);
    this.succLen = new Int32Array(n);
    this.done = new Uint8Array(n);
  }

  /** A fresh state before any elimination. */
  static of(graph: Graph): EliminationState {
    return eliminationProblem(graph).initial.clone();
  }

  get graph(): Graph {
    return this.p.graph;
  }
  /** Eliminable vertices not yet eliminated. */
  get remaining(): number {
    return this.p.eliminable.length - this.doneCount;
  }
  get complete(): boolean {
    return this.doneCount === this.p.eliminable.length;
  }
  /** True when v can be eliminated now. */
  canEliminate(v: number): boolean {
    return this.p.isEliminable[v] === 1 && this.done[v] === 0;
  }

  clone(): EliminationState {
    return new EliminationState(this.p, this);
  }

  /** Overwrites this state with `o` (same problem), without allocating. */
  copyFrom(o: EliminationState): this {
    this.sp.set(o.sp);
    this.predList.set(o.predList);
    this.succList.set(o.succList);
    this.predLen.set(o.predLen);
    this.succLen.set(o.succLen);
    this.done.set(o.done);
    this.doneCount = o.doneCount;
    this.multiplications = o.multiplications;
    this.additions = o.additions;
    this.fillIn = o.fillIn;
    this.liveBytes = o.liveBytes;
    this.peakBytes = o.peakBytes;
    return this;
  }

  /** Back to the graph before any elimination. */
  reset(): this {
    return this.copyFrom(this.p.initial);
  }

  /** @internal builds the initial graph. */
  insertEdge(i: number, j: number, sp: number): void {
    this.sp[this.tri[j]! + i] = sp;
    this.succList[this.succOff[i]! + this.succLen[i]!] = j;
    this.succLen[i]!++;
    this.predList[this.tri[j]! + this.predLen[j]!] = i;
    this.predLen[j]!++;
  }

  /** Sparsity id of the edge i→j, or −1. */
  edgeSparsity(i: number, j: number): number {
    return i < j ? this.sp[this.tri[j]! + i]! : -1;
  }

  /** The k-th predecessor of v (k < predLen[v]). */
  pred(v: number, k: number): number {
    return this.predList[this.tri[v]! + k]!;
  }
  /** The k-th successor of v (k < succLen[v]). */
  succ(v: number, k: number): number {
    return this.succList[this.succOff[v]! + k]!;
  }

  /** Markowitz degree of v now: (Σ sizes of its predecessors) × (Σ sizes of its successors), as Eliminator.markowitz. */
  markowitz(v: number): number {
    const sizes = this.p.sizes;
    let a = 0;
    let b = 0;
    const po = this.tri[v]!;
    for (let k = this.predLen[v]! - 1; k >= 0; k--) a += sizes[this.predList[po + k]!]!;
    const so = this.succOff[v]!;
    for (let k = this.succLen[v]! - 1; k >= 0; k--) b += sizes[this.succList[so + k]!]!;
    return a * b;
  }

  /** Multiplications that eliminating v would take now. */
  peek(v: number): number {
    const t = this.p.table;
    const po = this.tri[v]!;
    const so = this.succOff[v]!;
    const nIn = this.predLen[v]!;
    const nOut = this.succLen[v]!;
    let muls = 0;
    for (let b = 0; b < nOut; b++) {
      const j = this.succList[so + b]!;
      const spOut = this.sp[this.tri[j]! + v]!;
      for (let a = 0; a < nIn; a++) {
        const spIn = this.sp[po + this.predList[po + a]!]!;
        muls += t.mulCount[t.mul(spOut, spIn)]!;
      }
    }
    return muls;
  }

  /** Everything eliminating v would cost now, without changing the state (`out` is reused when given). */
  peekDetail(v: number, out?: Peek): Peek {
    const t = this.p.table;
    const po = this.tri[v]!;
    const so = this.succOff[v]!;
    const nIn = this.predLen[v]!;
    const nOut = this.succLen[v]!;
    let muls = 0;
    let adds = 0;
    let fill = 0;
    let live = this.liveBytes;
    for (let a = 0; a < nIn; a++) {
      const i = this.predList[po + a]!;
      const spIn = this.sp[po + i]!;
      for (let b = 0; b < nOut; b++) {
        const j = this.succList[so + b]!;
        const slot = t.mul(this.sp[this.tri[j]! + v]!, spIn);
        muls += t.mulCount[slot]!;
        const spNew = t.mulId[slot]!;
        if (t.zero[spNew] === 1) continue;
        const old = this.sp[this.tri[j]! + i]!;
        if (old >= 0) {
          const s2 = t.add(old, spNew);
          adds += t.addCount[s2]!;
          live += t.bytes[t.addId[s2]!]! - t.bytes[old]!;
        } else {
          live += t.bytes[spNew]!;
          fill++;
        }
      }
    }
    const atPeak = live;
    for (let b = 0; b < nOut; b++) live -= t.bytes[this.sp[this.tri[this.succList[so + b]!]! + v]!]!;
    if (this.p.keepsInEdges[v] !== 1) for (let a = 0; a < nIn; a++) live -= t.bytes[this.sp[po + this.predList[po + a]!]!]!;
    const r = out ?? { multiplications: 0, additions: 0, fillIn: 0, bytesAtPeak: 0, bytesAfter: 0 };
    r.multiplications = muls;
    r.additions = adds;
    r.fillIn = fill;
    r.bytesAtPeak = atPeak;
    r.bytesAfter = live;
    return r;
  }

  /** Eliminates v (which must be eliminable and not yet eliminated); returns its multiplications. */
  eliminate(v: number): number {
    const p = this.p;
    if (p.isEliminable[v] !== 1) throw new Error(`vertex ${v} is not eliminable`);
    if (this.done[v] === 1) throw new Error(`vertex ${v} is already eliminated`);
    const t = p.table;
    const sp = this.sp;
    const tri = this.tri;
    const po = tri[v]!;
    const so = this.succOff[v]!;
    const nIn = this.predLen[v]!;
    const nOut = this.succLen[v]!;
    let muls = 0;
    let adds = 0;
    let fill = 0;
    let live = this.liveBytes;
    for (let a = 0; a < nIn; a++) {
      const i = this.predList[po + a]!;
      const spIn = sp[po + i]!;
      for (let b = 0; b < nOut; b++) {
        const j = this.succList[so + b]!;
        const slot = t.mul(sp[tri[j]! + v]!, spIn);
        muls += t.mulCount[slot]!;
        const spNew = t.mulId[slot]!;
        if (t.zero[spNew] === 1) continue;
        const e = tri[j]! + i;
        const old = sp[e]!;
        if (old >= 0) {
          const s2 = t.add(old, spNew);
          adds += t.addCount[s2]!;
          const spSum = t.addId[s2]!;
          live += t.bytes[spSum]! - t.bytes[old]!;
          sp[e] = spSum;
        } else {
          sp[e] = spNew;
          this.succList[this.succOff[i]! + this.succLen[i]!] = j;
          this.succLen[i]!++;
          this.predList[tri[j]! + this.predLen[j]!] = i;
          this.predLen[j]!++;
          live += t.bytes[spNew]!;
          fill++;
        }
      }
    }
    if (live > this.peakBytes) this.peakBytes = live;
    for (let b = 0; b < nOut; b++) {
      const j = this.succList[so + b]!;
      const e = tri[j]! + v;
      live -= t.bytes[sp[e]!]!;
      sp[e] = -1;
      unlink(this.predList, tri[j]!, this.predLen, j, v);
    }
    this.succLen[v] = 0;
    if (p.keepsInEdges[v] !== 1) {
      for (let a = 0; a < nIn; a++) {
        const i = this.predList[po + a]!;
        live -= t.bytes[sp[po + i]!]!;
        sp[po + i] = -1;
        unlink(this.succList, this.succOff[i]!, this.succLen, i, v);
      }
      this.predLen[v] = 0;
    }
    this.liveBytes = live;
    this.done[v] = 1;
    this.doneCount++;
    this.multiplications += muls;
    this.additions += adds;
    this.fillIn += fill;
    return muls;
  }

  /** Eliminates a whole order from the initial graph (not validated); returns its multiplications. */
  run(order: ArrayLike<number>): number {
    this.reset();
    for (let k = 0; k < order.length; k++) this.eliminate(order[k]!);
    return this.multiplications;
  }

  /** The eliminable vertices still to eliminate, ascending. */
  remainingVertices(): number[] {
    const out: number[] = [];
    for (const v of this.p.eliminable) if (this.done[v] === 0) out.push(v);
    return out;
  }

  /** Number of live edges. */
  get edgeTotal(): number {
    let s = 0;
    for (let v = 0; v < this.p.n; v++) s += this.succLen[v]!;
    return s;
  }
}

/** Removes x from the list at `off` of vertex v: the last entry takes its place (as Eliminator.unlink). */
function unlink(list: Int32Array, off: number, lens: Int32Array, v: number, x: number): void {
  const n = lens[v]! - 1;
  for (let k = n; k >= 0; k--) {
    if (list[off + k] === x) {
      list[off + k] = list[off + n]!;
      lens[v] = n;
      return;
    }
  }
}
