// Vertex elimination (Griewank & Walther ch. 9; Graphax core.py `_eliminate_vertex`).
//
// Eliminating v: for every in-edge (i→v) and out-edge (v→j), form the product
// J(v→j)·J(i→v); add it into an existing edge (i→j) or create (i→j) as
// fill-in; then delete v's edges — except the in-edges of an output that also
// feeds other vertices, which stay (its Jacobian is still wanted).
//
// The same engine runs symbolically (sparsities only: costs, thousands of
// complete orders per second for the search) and numerically (with values).
// The hot loop touches only integers: edges are records in typed arrays,
// adjacency lists are per-vertex Int32Arrays of edge ids, and an edge's
// Jacobian is an id into a table of interned sparsities whose products and
// sums are computed once and cached in flat tables.

import type { Graph } from '../graph/types.js';
import { linearize, vertexSizes, type LinearizedGraph } from './linearize.js';
import { addJacobians, addSparsity, bytesOf, mulJacobians, mulSparsity, type Sparsity, type SparseJacobian } from './sparsity.js';

// ------------------------------------------------------------ interned sparsities

/** Interned sparsities with cached products and sums, keyed by integer ids. */
export class SparsityTable {
  private readonly ids = new Map<string, number>();
  readonly list: Sparsity[] = [];
  /** Bytes of a Jacobian of each sparsity. */
  bytes: Float64Array = new Float64Array(16);
  /** 1 for the zero sparsity (a product that vanishes creates no edge). */
  zero: Uint8Array = new Uint8Array(16);
  private cap = 16;
  /** mulSlot[post·cap + pre] → slot of the cached product, −1 when not yet computed. */
  private mulSlot: Int32Array = new Int32Array(16 * 16).fill(-1);
  private addSlot: Int32Array = new Int32Array(16 * 16).fill(-1);
  /** Cached results: sparsity id and count, per slot. */
  mulId: Int32Array = new Int32Array(64);
  mulCount: Float64Array = new Float64Array(64);
  addId: Int32Array = new Int32Array(64);
  addCount: Float64Array = new Float64Array(64);
  private mulN = 0;
  private addN = 0;

  intern(s: Sparsity): number {
    const found = this.ids.get(s.key);
    if (found !== undefined) return found;
    const id = this.list.length;
    if (id === this.cap) this.grow();
    this.list.push(s);
    this.ids.set(s.key, id);
    this.bytes[id] = bytesOf(s);
    this.zero[id] = s.form === 'zero' ? 1 : 0;
    return id;
  }

  get(id: number): Sparsity {
    return this.list[id]!;
  }

  /** Slot of post·pre: read mulId[slot] and mulCount[slot]. */
  mul(post: number, pre: number): number {
    const slot = this.mulSlot[post * this.cap + pre]!;
    return slot >= 0 ? slot : this.computeMul(post, pre);
  }

  /** Slot of a + b: read addId[slot] and addCount[slot]. */
  add(a: number, b: number): number {
    const slot = this.addSlot[a * this.cap + b]!;
    return slot >= 0 ? slot : this.computeAdd(a, b);
  }

  private computeMul(post: number, pre: number): number {
    const r = mulSparsity(this.list[post]!, this.list[pre]!);
    const id = this.intern(r.sparsity);
    const slot = this.mulN++;
    if (slot === this.mulId.length) {
      this.mulId = grownInt(this.mulId);
      this.mulCount = grownFloat(this.mulCount);
    }
    this.mulId[slot] = id;
    this.mulCount[slot] = r.multiplications;
    this.mulSlot[post * this.cap + pre] = slot;
    return slot;
  }

  private computeAdd(a: number, b: number): number {
    const r = addSparsity(this.list[a]!, this.list[b]!);
    const id = this.intern(r.sparsity);
    const slot = this.addN++;
    if (slot === this.addId.length) {
      this.addId = grownInt(this.addId);
      this.addCount = grownFloat(this.addCount);
    }
    this.addId[slot] = id;
    this.addCount[slot] = r.additions;
    this.addSlot[a * this.cap + b] = slot;
    return slot;
  }

  private grow(): void {
    const old = this.cap;
    const cap = old * 2;
    const remap = (t: Int32Array): Int32Array<ArrayBuffer> => {
      const u = new Int32Array(cap * cap).fill(-1);
      for (let a = 0; a < old; a++) u.set(t.subarray(a * old, (a + 1) * old), a * cap);
      return u;
    };
    this.mulSlot = remap(this.mulSlot);
    this.addSlot = remap(this.addSlot);
    const bytes = new Float64Array(cap);
    bytes.set(this.bytes);
    this.bytes = bytes;
    const zero = new Uint8Array(cap);
    zero.set(this.zero);
    this.zero = zero;
    this.cap = cap;
  }
}

function grownInt(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
function grownFloat(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

// ------------------------------------------------------------ the problem and its state

/** What one elimination cost. */
export interface VertexCost {
  readonly vertex: number;
  readonly multiplications: number;
  readonly additions: number;
  /** New edges created (i→j that did not exist). */
  readonly fillIn: number;
  /** Bytes of all live edge Jacobians after this elimination. */
  readonly liveBytes: number;
}

/** The immutable part: the linearized graph compiled to integer arrays. */
class Problem {
  readonly n: number;
  readonly table: SparsityTable;
  readonly sizes: Float64Array;
  readonly eliminable: Uint8Array;
  readonly keepsInEdges: Uint8Array;
  readonly eliminableList: readonly number[];
  readonly edgeSrc: Int32Array;
  readonly edgeDst: Int32Array;
  readonly edgeSp: Int32Array;
  readonly edgeJac: (SparseJacobian | null)[];
  readonly succ: Int32Array[];
  readonly pred: Int32Array[];
  readonly bytes: number;
  readonly numeric: boolean;

  constructor(
    readonly lin: LinearizedGraph,
    table: SparsityTable,
  ) {
    const g = lin.graph;
    this.n = g.vertices.length;
    this.table = table;
    this.numeric = lin.numeric;
    this.sizes = vertexSizes(g);
    this.eliminable = new Uint8Array(this.n);
    for (const v of lin.eliminable) this.eliminable[v] = 1;
    this.eliminableList = lin.eliminable;
    this.keepsInEdges = new Uint8Array(this.n);
    for (const v of lin.feedingOutputs) this.keepsInEdges[v] = 1;
    const m = lin.edges.length;
    this.edgeSrc = new Int32Array(m);
    this.edgeDst = new Int32Array(m);
    this.edgeSp = new Int32Array(m);
    this.edgeJac = [];
    const succ: number[][] = Array.from({ length: this.n }, () => []);
    const pred: number[][] = Array.from({ length: this.n }, () => []);
    let bytes = 0;
    lin.edges.forEach((e, k) => {
      this.edgeSrc[k] = e.src;
      this.edgeDst[k] = e.dst;
      this.edgeSp[k] = table.intern(e.jacobian.sparsity);
      this.edgeJac.push(lin.numeric ? e.jacobian : null);
      succ[e.src]!.push(k);
      pred[e.dst]!.push(k);
      bytes += table.bytes[this.edgeSp[k]]!;
    });
    this.succ = succ.map((l) => Int32Array.from(l));
    this.pred = pred.map((l) => Int32Array.from(l));
    this.bytes = bytes;
  }
}

const symbolicProblems = new WeakMap<Graph, Problem>();

/** Largest graph (vertices) that gets an n×n edge-position matrix: 1024² ids = 4 MiB. */
const MATRIX_LIMIT = 1024;

/**
 * The elimination state of one graph: eliminate vertices one at a time, or
 * score whole orders (`run`), with costs counted as in Graphax
 * (multiplications by `get_num_muls`, one addition per stored value of a sum,
 * fill-in edges, and live edge memory at 8 bytes per stored value).
 */
export class Eliminator {
  private readonly p: Problem;
  // Edge records (the first p.edgeSrc.length are the graph's own edges): source, target,
  // sparsity id, and the edge's positions in its source's succ list and its target's pred list.
  private src: Int32Array;
  private dst: Int32Array;
  private sp: Int32Array;
  private sPos: Int32Array;
  private pPos: Int32Array;
  private jac: (SparseJacobian | null)[];
  private edgeCount: number;
  // Adjacency: edge ids per vertex.
  private succ: Int32Array[];
  private succLen: Int32Array;
  private pred: Int32Array[];
  private predLen: Int32Array;
  /** at[i·n + j] = id of edge i→j or −1 (graphs up to MATRIX_LIMIT vertices; larger ones scan lists). */
  private at: Int32Array | null;
  private done: Uint8Array;
  private doneCount = 0;
  // Counters.
  multiplications = 0;
  additions = 0;
  fillIn = 0;
  liveBytes = 0;
  peakBytes = 0;
  /** Per-elimination costs, when recording (costOf turns it on). */
  record: VertexCost[] | null = null;

  private constructor(p: Problem, from?: Eliminator) {
    this.p = p;
    if (from) {
      this.src = from.src.slice();
      this.dst = from.dst.slice();
      this.sp = from.sp.slice();
      this.sPos = from.sPos.slice();
      this.pPos = from.pPos.slice();
      this.jac = from.jac.slice();
      this.edgeCount = from.edgeCount;
      this.succ = from.succ.map((l) => l.slice());
      this.succLen = from.succLen.slice();
      this.pred = from.pred.map((l) => l.slice());
      this.predLen = from.predLen.slice();
      this.at = from.at ? from.at.slice() : null;
      this.done = from.done.slice();
      this.doneCount = from.doneCount;
      this.multiplications = from.multiplications;
      this.additions = from.additions;
      this.fillIn = from.fillIn;
      this.liveBytes = from.liveBytes;
      this.peakBytes = from.peakBytes;
      this.record = from.record ? from.record.slice() : null;
      return;
    }
    const m = Math.max(16, p.edgeSrc.length * 2);
    this.src = new Int32Array(m);
    this.dst = new Int32Array(m);
    this.sp = new Int32Array(m);
    this.sPos = new Int32Array(m);
    this.pPos = new Int32Array(m);
    this.jac = [];
    this.edgeCount = 0;
    this.succ = p.succ.map((l) => new Int32Array(Math.max(4, l.length * 2)));
    this.pred = p.pred.map((l) => new Int32Array(Math.max(4, l.length * 2)));
    this.succLen = new Int32Array(p.n);
    this.predLen = new Int32Array(p.n);
    this.at = p.n <= MATRIX_LIMIT ? new Int32Array(p.n * p.n).fill(-1) : null;
    this.done = new Uint8Array(p.n);
    this.reset();
  }

  /** A symbolic eliminator for a graph (the compiled problem is cached per graph object). */
  static symbolic(graph: Graph): Eliminator {
    let p = symbolicProblems.get(graph);
    if (!p) {
      p = new Problem(linearize(graph), new SparsityTable());
      symbolicProblems.set(graph, p);
    }
    return new Eliminator(p);
  }

  /** An eliminator over a linearized graph, numeric when it carries values. */
  static of(lin: LinearizedGraph): Eliminator {
    return new Eliminator(new Problem(lin, new SparsityTable()));
  }

  get graph(): Graph {
    return this.p.lin.graph;
  }
  get linearized(): LinearizedGraph {
    return this.p.lin;
  }
  get table(): SparsityTable {
    return this.p.table;
  }
  /** Vertices still to eliminate. */
  get remaining(): number {
    return this.p.eliminableList.length - this.doneCount;
  }
  isEliminable(v: number): boolean {
    return this.p.eliminable[v] === 1;
  }
  isEliminated(v: number): boolean {
    return this.done[v] === 1;
  }

  /** A copy of the current state (for tree search); shares the immutable problem and sparsity table. */
  clone(): Eliminator {
    return new Eliminator(this.p, this);
  }

  /** Back to the graph before any elimination. */
  reset(): void {
    const p = this.p;
    const n = p.n;
    const at = this.at;
    if (at) {
      // Forget the live edges of the last run before the records are overwritten.
      for (let v = 0; v < n; v++) {
        const l = this.succ[v]!;
        for (let k = this.succLen[v]! - 1; k >= 0; k--) {
          const e = l[k]!;
          at[this.src[e]! * n + this.dst[e]!] = -1;
        }
      }
    }
    const m = p.edgeSrc.length;
    this.src.set(p.edgeSrc);
    this.dst.set(p.edgeDst);
    this.sp.set(p.edgeSp);
    if (p.numeric) this.jac = p.edgeJac.slice();
    this.edgeCount = m;
    for (let v = 0; v < n; v++) {
      const s = p.succ[v]!;
      this.succ[v]!.set(s);
      this.succLen[v] = s.length;
      for (let k = 0; k < s.length; k++) this.sPos[s[k]!] = k;
      const q = p.pred[v]!;
      this.pred[v]!.set(q);
      this.predLen[v] = q.length;
      for (let k = 0; k < q.length; k++) this.pPos[q[k]!] = k;
    }
    if (at) for (let e = 0; e < m; e++) at[p.edgeSrc[e]! * n + p.edgeDst[e]!] = e;
    this.done.fill(0);
    this.doneCount = 0;
    this.multiplications = 0;
    this.additions = 0;
    this.fillIn = 0;
    this.liveBytes = p.bytes;
    this.peakBytes = p.bytes;
    if (this.record) this.record = [];
  }

  /** Markowitz degree of v now: (Σ sizes of its predecessors) × (Σ sizes of its successors). */
  markowitz(v: number): number {
    const sizes = this.p.sizes;
    let a = 0;
    let b = 0;
    const pl = this.pred[v]!;
    for (let k = this.predLen[v]! - 1; k >= 0; k--) a += sizes[this.src[pl[k]!]!]!;
    const sl = this.succ[v]!;
    for (let k = this.succLen[v]! - 1; k >= 0; k--) b += sizes[this.dst[sl[k]!]!]!;
    return a * b;
  }

  /** Eliminates v; returns the multiplications it took. */
  eliminate(v: number): number {
    const p = this.p;
    if (p.eliminable[v] !== 1) throw new Error(`vertex ${v} is not eliminable`);
    if (this.done[v] === 1) throw new Error(`vertex ${v} is already eliminated`);
    const t = p.table;
    const numeric = p.numeric;
    const n = p.n;
    const nIn = this.predLen[v]!;
    const nOut = this.succLen[v]!;
    this.reserve(nIn * nOut);
    // Locals: no array below is reallocated during this elimination (reserve ran; list growth replaces
    // only other vertices' lists, read through this.succ / this.pred).
    const src = this.src;
    const dst = this.dst;
    const sp = this.sp;
    const at = this.at;
    const inList = this.pred[v]!;
    const outList = this.succ[v]!;
    let muls = 0;
    let adds = 0;
    let fill = 0;
    let live = this.liveBytes;
    for (let a = 0; a < nIn; a++) {
      const ei = inList[a]!;
      const i = src[ei]!;
      const spIn = sp[ei]!;
      for (let b = 0; b < nOut; b++) {
        const eo = outList[b]!;
        const j = dst[eo]!;
        const slot = t.mul(sp[eo]!, spIn);
        muls += t.mulCount[slot]!;
        const spNew = t.mulId[slot]!;
        if (t.zero[spNew] === 1) continue;
        let product: SparseJacobian | null = null;
        if (numeric) product = mulJacobians(this.jac[eo]!, this.jac[ei]!).jacobian;
        const e = at !== null ? at[i * n + j]! : this.find(i, j);
        if (e >= 0) {
          const old = sp[e]!;
          const s2 = t.add(old, spNew);
          adds += t.addCount[s2]!;
          const spSum = t.addId[s2]!;
          live += t.bytes[spSum]! - t.bytes[old]!;
          sp[e] = spSum;
          if (numeric) this.jac[e] = addJacobians(this.jac[e]!, product!).jacobian;
        } else {
          const f = this.edgeCount++;
          src[f] = i;
          dst[f] = j;
          sp[f] = spNew;
          if (product !== null) this.jac[f] = product;
          this.sPos[f] = this.push(this.succ, this.succLen, i, f);
          this.pPos[f] = this.push(this.pred, this.predLen, j, f);
          if (at !== null) at[i * n + j] = f;
          live += t.bytes[spNew]!;
          fill++;
        }
      }
    }
    if (live > this.peakBytes) this.peakBytes = live;
    // Delete v's out-edges, and its in-edges unless v is an output that feeds others.
    for (let b = 0; b < nOut; b++) {
      const eo = outList[b]!;
      const j = dst[eo]!;
      this.unlink(this.pred, this.predLen, this.pPos, j, this.pPos[eo]!);
      if (at !== null) at[v * n + j] = -1;
      live -= t.bytes[sp[eo]!]!;
      if (numeric) this.jac[eo] = null;
    }
    this.succLen[v] = 0;
    if (p.keepsInEdges[v] !== 1) {
      for (let a = 0; a < nIn; a++) {
        const ei = inList[a]!;
        const i = src[ei]!;
        this.unlink(this.succ, this.succLen, this.sPos, i, this.sPos[ei]!);
        if (at !== null) at[i * n + v] = -1;
        live -= t.bytes[sp[ei]!]!;
        if (numeric) this.jac[ei] = null;
      }
      this.predLen[v] = 0;
    }
    this.liveBytes = live;
    this.done[v] = 1;
    this.doneCount++;
    this.multiplications += muls;
    this.additions += adds;
    this.fillIn += fill;
    if (this.record) this.record.push({ vertex: v, multiplications: muls, additions: adds, fillIn: fill, liveBytes: live });
    return muls;
  }

  /** Runs a complete order from the initial graph; returns its multiplications. Does not validate the order (orders.ts does). */
  run(order: ArrayLike<number>): number {
    this.reset();
    for (let k = 0; k < order.length; k++) this.eliminate(order[k]!);
    return this.multiplications;
  }

  /** Room for `extra` more edge records. */
  private reserve(extra: number): void {
    const need = this.edgeCount + extra;
    if (need <= this.src.length) return;
    let cap = this.src.length * 2;
    while (cap < need) cap *= 2;
    const grow = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.src = grow(this.src);
    this.dst = grow(this.dst);
    this.sp = grow(this.sp);
    this.sPos = grow(this.sPos);
    this.pPos = grow(this.pPos);
  }

  /** The edge i→j (id) or −1. */
  private find(i: number, j: number): number {
    if (this.at !== null) return this.at[i * this.p.n + j]!;
    const ns = this.succLen[i]!;
    const np = this.predLen[j]!;
    if (ns <= np) {
      const l = this.succ[i]!;
      for (let k = 0; k < ns; k++) if (this.dst[l[k]!] === j) return l[k]!;
    } else {
      const l = this.pred[j]!;
      for (let k = 0; k < np; k++) if (this.src[l[k]!] === i) return l[k]!;
    }
    return -1;
  }

  /** Appends edge e to v's list; returns its position. */
  private push(lists: Int32Array[], lens: Int32Array, v: number, e: number): number {
    let l = lists[v]!;
    const n = lens[v]!;
    if (n === l.length) {
      l = grownInt(l);
      lists[v] = l;
    }
    l[n] = e;
    lens[v] = n + 1;
    return n;
  }

  /** Removes the entry at `pos` of v's list by moving the last entry there. */
  private unlink(lists: Int32Array[], lens: Int32Array, pos: Int32Array, v: number, at: number): void {
    const l = lists[v]!;
    const last = lens[v]! - 1;
    const moved = l[last]!;
    l[at] = moved;
    pos[moved] = at;
    lens[v] = last;
  }

  // ---------------------------------------------------------- reading the state

  /** Live edges into v (after eliminations: from v's current predecessors). */
  inEdges(v: number): { src: number; sparsity: Sparsity; jacobian: SparseJacobian | null }[] {
    const out = [];
    for (let k = 0; k < this.predLen[v]!; k++) {
      const e = this.pred[v]![k]!;
      out.push({ src: this.src[e]!, sparsity: this.p.table.get(this.sp[e]!), jacobian: this.jac[e] ?? null });
    }
    return out;
  }

  /** Live edges out of v. */
  outEdges(v: number): { dst: number; sparsity: Sparsity; jacobian: SparseJacobian | null }[] {
    const out = [];
    for (let k = 0; k < this.succLen[v]!; k++) {
      const e = this.succ[v]![k]!;
      out.push({ dst: this.dst[e]!, sparsity: this.p.table.get(this.sp[e]!), jacobian: this.jac[e] ?? null });
    }
    return out;
  }

  /** The Jacobian on edge i→j now, or null (numeric mode), or its sparsity only (symbolic mode: values null). */
  edge(i: number, j: number): SparseJacobian | null {
    const e = this.find(i, j);
    if (e < 0) return null;
    return this.jac[e] ?? { sparsity: this.p.table.get(this.sp[e]!), values: null };
  }

  /** Number of live edges. */
  get edgeTotal(): number {
    let s = 0;
    for (let v = 0; v < this.p.n; v++) s += this.succLen[v]!;
    return s;
  }
}
