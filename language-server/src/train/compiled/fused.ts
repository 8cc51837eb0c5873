// One parameter's traces and weight update fused into a single pass over its
// rows. Where the program ties a trace's state axis to the parameter's row
// axis (`row` and `shared` traces, and `dense` traces with few components
// whose terms stay within a row: e.g. ALIF's readout filter G(o, W) =
// κ·G(o, W) + W_out·G(z, W)), every value at (p, r) of every trace of W
// depends only on values at (p, r) and on per-row factors (the diagonal
// blocks at p, the learning signals at p). So one loop over (p, r) updates
// every trace and adds λ·G into ΔW while the values are in registers: one
// read and one write of each trace value per step instead of one per term.
// The arithmetic is that of the unfused loops (program.ts), term for term;
// anything else (dense × dense, embeddings) returns null and runs unfused.
//
// The loop is built as a small description (`FusedLoop`: per-row
// coefficients, per-element values, the update) that two emitters read:
// `fusedJs` below (JavaScript over typed arrays) and simd.ts (WebAssembly,
// f32x4 along r). Because every value at (p, r) is read before any is
// written, the row and dense traces of a fused parameter are stored in place
// (one buffer, not a previous and a current one), which halves the memory the
// loop streams through; a trace that is not carried to the next step is never
// stored at all.

import { sizeOf, type Shape } from '../../graph/types.js';
import type { BlockSpec, OnlineProgram, SignalSpec, UpdateTerm } from '../../rules/program.js';
import { at, type Slot } from './codegen.js';
import type { BlockRef, TraceBuf } from './program.js';

/** A per-row coefficient, evaluated once per row p (in float64). */
export type Coef =
  | { readonly k: 'mem'; readonly arr: 'BV' | 'LV'; readonly off: number; readonly row: boolean }
  | { readonly k: 'mul'; readonly a: Coef; readonly b: Coef }
  | { readonly k: 'sum'; readonly terms: readonly Coef[] };

/** A value at element (p, r), q = p·R + r. */
export type Val =
  /** A row or dense trace's value of the last step: buffer `buf` at comp + q (read before this step writes it). */
  | { readonly k: 'trace'; readonly buf: number; readonly comp: number }
  /** A shared trace (one value per r) of this step or the last. */
  | { readonly k: 'shared'; readonly buf: number; readonly time: 'previous' | 'current' }
  /** A column trace (a row trace equal in every row, kept once): this step's at [0, R) of its buffer, the last step's at [R, 2R). */
  | { readonly k: 'col'; readonly buf: number; readonly time: 'previous' | 'current' }
  /** A per-sample float32 vector at r (the operand of W @ v). */
  | { readonly k: 'vec'; readonly slot: Slot }
  /** A parameter block's values (float64) at q or at r. */
  | { readonly k: 'block'; readonly off: number; readonly at: 'q' | 'r' }
  /** A value computed earlier in this element's body. */
  | { readonly k: 'fresh'; readonly id: number };

export interface Term {
  /** Index into `coefs`, or null (the value alone). */
  readonly coef: number | null;
  readonly x: Val;
}

export interface Fresh {
  readonly terms: readonly Term[];
  /** Where it is stored (a carried trace, in place), or null (used within the element only). */
  readonly store: { readonly buf: number; readonly comp: number } | null;
}

export interface FusedLoop {
  readonly P: number;
  readonly R: number;
  /** Column traces, updated in a loop over r before the rows: S[r] = Σ terms (coefficients read at row 0, uniform). */
  readonly cols: readonly { readonly buf: number; readonly terms: readonly Term[] }[];
  readonly coefs: readonly Coef[];
  /** Skip a row whose update coefficients are all zero (nothing is stored per element, every update term has a coefficient). */
  readonly skipZeroRows: boolean;
  /** Per row, after its coefficients are read: LV[to + p] = coefficient `coef` (kept for the next step's recomputed traces). */
  readonly saves: readonly { readonly coef: number; readonly to: number }[];
  /** LV ranges [offset, length) zeroed at the start of every sequence (the saved coefficients). */
  readonly resets: readonly (readonly [number, number])[];
  /** Computed in order; `fresh` values refer to earlier ones by index. */
  readonly fresh: readonly Fresh[];
  /** ΔW[q] += Σ terms (the parameter's index), or null. */
  readonly update: { readonly param: number; readonly terms: readonly Term[] } | null;
  /** JavaScript run before the loop (shared traces, products λᵀE). */
  readonly pre: string;
  readonly comment: string;
  /** Trace buffers the loop stores in place (their previous and current values share one buffer). */
  readonly inPlace: readonly number[];
  /** The traces a refinement rewrote, by trace name. */
  readonly refined: Readonly<Record<string, Refinement>>;
}

export interface FuseInput {
  /** The parameter's shape and index (ΔW is D<index>). */
  readonly P: Shape;
  readonly param: number;
  readonly trs: readonly OnlineProgram['traces'][number][];
  readonly u: OnlineProgram['updates'][number] | undefined;
  readonly traceBuf: ReadonlyMap<string, TraceBuf>;
  readonly bufOf: (id: string) => { spec: BlockSpec; off: number; unit?: boolean };
  readonly blockRef: (id: string) => BlockRef;
  readonly lam: ReadonlyMap<string, number>;
  readonly lv: { alloc(n: number): number };
  readonly stateShape: ReadonlyMap<string, Shape>;
  readonly signals: readonly SignalSpec[];
  readonly vjp: (l: number, e: BlockSpec, eo: number, into: number) => string;
  /** The unfused code of a trace (shared traces run before the loop). */
  readonly unfusedTrace: (tr: OnlineProgram['traces'][number]) => string;
  /** The refinements to apply (default DEFAULT_REFINEMENTS). */
  readonly refine?: ReadonlySet<Refinement>;
}

/**
 * The exact rewrites of a parameter's traces (each described at its function below), and float32 partial
 * sums of the SIMD update (16 steps, then float64). All give the same update to rounding (tests); which ones
 * pay was measured (docs/training.md): columns, factored and f32-partials do; derived costs time (the loop is
 * bound by instructions, not memory, once the traces fit the cache: recomputing costs more than storing), so
 * it is off by default.
 */
export type Refinement = 'columns' | 'factored' | 'derived' | 'f32-partials';
export const REFINEMENTS: readonly Refinement[] = ['columns', 'factored', 'derived', 'f32-partials'];
export const DEFAULT_REFINEMENTS: ReadonlySet<Refinement> = new Set<Refinement>(['columns', 'factored', 'f32-partials']);

const MAX_COMPONENTS = 8;

const mem = (arr: 'BV' | 'LV', off: number, row: boolean): Coef => ({ k: 'mem', arr, off, row });

export function fuseParam(f: FuseInput): FusedLoop | null {
  const ps = f.P;
  const P = ps.length ? ps[0]! : 1;
  const R = ps.length ? sizeOf(ps.slice(1)) : 1;
  const PR = P * R;
  const pre: string[] = [];
  const coefs: Coef[] = [];
  const fresh: Fresh[] = [];
  const coef = (c: Coef): number => {
    coefs.push(c);
    return coefs.length - 1;
  };
  /** This step's new values: trace name → fresh id per component (row/shared: [0]). */
  const freshOf = new Map<string, number[]>();
  const own = new Set(f.trs.map((t) => t.name));
  const inPlace = new Set<number>();

  const cols: { buf: number; terms: Term[] }[] = [];
  const use = f.refine ?? DEFAULT_REFINEMENTS;
  const colSet = use.has('columns') ? columnTraces(f, P) : new Set<string>();
  const factored = use.has('factored') ? factoredTraces(f, P, colSet) : new Map<string, FactoredSource[]>();
  const derived = use.has('derived') ? derivedTraces(f, P, colSet, factored) : new Set<string>();
  const saves: { coef: number; to: number }[] = [];
  const resets: [number, number][] = [];
  /** A derived trace's value of the last step, recomputed from the last step's coefficients and its sources' last values. */
  const derivedPrev = new Map<string, number>();

  /** Element (p, r) — component j of a dense trace — of a trace at t (previous) or t+1 (current). */
  const elem = (t: TraceBuf, time: 'previous' | 'current', j: number | null): Val | null => {
    if (!own.has(t.name)) return null;
    if (t.storage === 'shared') return { k: 'shared', buf: t.buf, time };
    if (colSet.has(t.name)) return j === null ? { k: 'col', buf: t.buf, time } : null;
    if (factored.has(t.name)) return null;
    if (time === 'previous' && derived.has(t.name)) {
      const id = derivedPrev.get(t.name);
      return id === undefined ? null : { k: 'fresh', id };
    }
    if (time === 'current') {
      const v = freshOf.get(t.name);
      const id = v ? v[t.storage === 'dense' ? (j ?? -1) : 0] : undefined;
      return id === undefined ? null : { k: 'fresh', id };
    }
    if (t.storage === 'row') return { k: 'trace', buf: t.buf, comp: 0 };
    return j === null ? null : { k: 'trace', buf: t.buf, comp: j * PR };
  };

  // Derived traces' last values first: Σ E[t] · G_src[t], each E[t] the coefficient saved by the last step.
  for (const tr of f.trs) {
    if (!derived.has(tr.name)) continue;
    const terms: Term[] = [];
    for (const term of tr.terms) {
      const e = f.bufOf(term.block);
      const saved = f.lv.alloc(P);
      resets.push([saved, P]);
      const cur = coef(mem('BV', e.off, e.spec.form !== 'scalar'));
      saves.push({ coef: cur, to: saved });
      const x = elem(f.traceBuf.get(term.trace)!, 'previous', null);
      if (!x) throw new Error(`internal: derived trace ${tr.name} reads ${term.trace}`);
      terms.push({ coef: coef(mem('LV', saved, true)), x });
    }
    fresh.push({ terms, store: null });
    derivedPrev.set(tr.name, fresh.length - 1);
  }
  for (const tr of f.trs) {
    const t = f.traceBuf.get(tr.name)!;
    if (t.storage === 'shared') {
      pre.push(f.unfusedTrace(tr));
      continue;
    }
    if (colSet.has(tr.name)) {
      // Uniform coefficients (read at row 0) over per-column values.
      inPlace.add(t.buf);
      const terms: Term[] = [];
      for (const term of tr.terms) {
        const e = f.blockRef(term.block) as Extract<BlockRef, { kind: 'buf' }>;
        const src = f.traceBuf.get(term.trace)!;
        const x: Val = src.storage === 'shared' ? { k: 'shared', buf: src.buf, time: term.time } : { k: 'col', buf: src.buf, time: term.time };
        terms.push({ coef: coef(mem('BV', e.off, false)), x });
      }
      if (tr.direct) {
        const ref = f.blockRef(tr.direct);
        if (ref.kind === 'factored') ref.v.forEach((v, m) => terms.push({ coef: coef(mem('BV', ref.f[m]!, false)), x: { k: 'vec', slot: v } }));
        else if (ref.kind === 'buf') terms.push({ coef: null, x: { k: 'block', off: ref.off, at: 'r' } });
      }
      cols.push({ buf: t.buf, terms });
      continue;
    }
    const fac = factored.get(tr.name);
    if (fac) {
      // G(o, W)[j, p, r] = Σ_m E_m[j, p] · Ḡ_m[p, r] with Ḡ_m = d · Ḡ_m + G(s_m, W): one filtered row trace per source.
      inPlace.add(t.buf);
      fac.forEach((m, i) => {
        const src = f.traceBuf.get(m.source)!;
        const x = elem(src, m.time, null);
        if (!x) throw new Error(`internal: factored trace ${tr.name} reads ${m.source}`);
        fresh.push({
          terms: [
            { coef: coef(mem('BV', m.decay, false)), x: { k: 'trace', buf: t.buf, comp: i * PR } },
            { coef: null, x },
          ],
          store: tr.carried ? { buf: t.buf, comp: i * PR } : null,
        });
        m.fresh = fresh.length - 1;
      });
      continue;
    }
    if (t.storage === 'dense' && t.d.J > MAX_COMPONENTS) return null;
    if (t.storage === 'row' && t.d.J !== P) return null;
    if (t.d.P !== P || t.d.R !== R) return null;
    inPlace.add(t.buf);
    const comps = t.storage === 'row' ? [null] : Array.from({ length: t.d.J }, (_, j) => j);
    const ids: number[] = [];
    for (const j of comps) {
      const terms: Term[] = [];
      for (const term of tr.terms) {
        const e = f.blockRef(term.block);
        if (e.kind !== 'buf') return null;
        const src = f.traceBuf.get(term.trace)!;
        const eo = e.off;
        // A block that is 1 in every element (a sum's partial) multiplies nothing.
        const unit = e.unit === true;
        if (e.spec.form === 'scalar') {
          const x =
            t.storage === 'row' ? (src.storage === 'dense' ? null : elem(src, term.time, null)) : src.storage === 'dense' ? elem(src, term.time, j) : null;
          if (!x) return null;
          terms.push({ coef: unit ? null : coef(mem('BV', eo, false)), x });
        } else if (e.spec.form === 'diagonal') {
          if (t.storage === 'row' && src.storage !== 'dense') {
            const x = elem(src, term.time, null);
            if (!x) return null;
            terms.push({ coef: unit ? null : coef(mem('BV', eo, true)), x });
          } else if (t.storage === 'dense' && src.storage === 'dense') {
            const x = elem(src, term.time, j);
            if (!x) return null;
            terms.push({ coef: coef(mem('BV', eo + j!, false)), x });
          } else return null;
        } else if (e.spec.form === 'dense') {
          // (E·G)[a, p, r] = E[a, p] · G[p, r] for a row (or shared) source.
          if (t.storage !== 'dense' || src.storage === 'dense' || src.d.J !== P) return null;
          const x = elem(src, term.time, null);
          if (!x) return null;
          terms.push({ coef: coef(mem('BV', eo + j! * src.d.J, true)), x });
        } else return null;
      }
      if (tr.direct) {
        const ref = f.blockRef(tr.direct);
        if (ref.kind === 'factored') {
          if (t.storage !== 'row') return null;
          ref.v.forEach((v, m) => terms.push({ coef: coef(mem('BV', ref.f[m]!, ref.spec.form !== 'shared')), x: { k: 'vec', slot: v } }));
        } else if (ref.kind === 'buf') {
          const form = ref.spec.form;
          if ((form === 'row' || form === 'diagonal') && t.storage === 'row') terms.push({ coef: null, x: { k: 'block', off: ref.off, at: 'q' } });
          else if ((form === 'shared' || form === 'scalar') && t.storage === 'row') terms.push({ coef: null, x: { k: 'block', off: ref.off, at: 'r' } });
          else if (form === 'dense' && t.storage === 'dense') terms.push({ coef: null, x: { k: 'block', off: ref.off + j! * PR, at: 'q' } });
          else return null;
        } else return null;
      }
      fresh.push({ terms, store: tr.carried && !derived.has(tr.name) ? { buf: t.buf, comp: j === null ? 0 : j * PR } : null });
      ids.push(fresh.length - 1);
    }
    freshOf.set(tr.name, ids);
  }

  // ΔW[p, r] += Σ λ · (trace, block or product) at (p, r).
  const upd: Term[] = [];
  const contract = (lArr: 'BV' | 'LV', l: number, t: TraceBuf, time: 'previous' | 'current'): boolean => {
    const fac = factored.get(t.name);
    if (fac) {
      // Σ_j λ[j] G[j, p, r] = Σ_m (Σ_j λ[j] E_m[j, p]) · Ḡ_m[p, r].
      fac.forEach((m, i) => {
        const c: Coef = {
          k: 'sum',
          terms: Array.from({ length: t.d.J }, (_, j) => ({ k: 'mul', a: mem(lArr, l + j, false), b: mem('BV', m.block + j * m.Js, true) })),
        };
        upd.push({ coef: coef(c), x: time === 'current' ? { k: 'fresh', id: m.fresh } : { k: 'trace', buf: t.buf, comp: i * PR } });
      });
      return true;
    }
    if (t.storage === 'dense') {
      for (let j = 0; j < t.d.J; j++) {
        const x = elem(t, time, j);
        if (!x) return false;
        upd.push({ coef: coef(mem(lArr, l + j, false)), x });
      }
      return true;
    }
    const x = elem(t, time, null);
    if (!x) return false;
    upd.push({ coef: coef(mem(lArr, l, true)), x });
    return true;
  };
  if (f.u) {
    for (const term of contractThrough(f, use)) {
      const l = f.lam.get(term.signal)!;
      const fac = term.factor;
      if (fac.kind === 'trace') {
        if (!contract('LV', l, f.traceBuf.get(fac.trace)!, 'current')) return null;
      } else if (fac.kind === 'direct') {
        const ref = f.blockRef(fac.block);
        if (ref.kind === 'factored') {
          ref.v.forEach((v, m) =>
            upd.push({ coef: coef({ k: 'mul', a: mem('LV', l, true), b: mem('BV', ref.f[m]!, ref.spec.form !== 'shared') }), x: { k: 'vec', slot: v } }),
          );
        } else if (ref.kind === 'buf') {
          const form = ref.spec.form;
          const sig = f.signals.find((s) => s.name === term.signal)!;
          const J = sizeOf(f.stateShape.get(sig.state)!);
          if (form === 'row' || form === 'diagonal') upd.push({ coef: coef(mem('LV', l, true)), x: { k: 'block', off: ref.off, at: 'q' } });
          else if (form === 'shared' || form === 'scalar') upd.push({ coef: coef(mem('LV', l, true)), x: { k: 'block', off: ref.off, at: 'r' } });
          else if (J <= MAX_COMPONENTS)
            for (let j = 0; j < J; j++) upd.push({ coef: coef(mem('LV', l + j, false)), x: { k: 'block', off: ref.off + j * PR, at: 'q' } });
          else return null;
        } else return null;
      } else {
        const e = f.bufOf(fac.block);
        const n = sizeOf(e.spec.inShape);
        const mu = f.lv.alloc(n);
        pre.push(`LV.fill(0, ${mu}, ${mu + n});\n${f.vjp(l, e.spec, e.off, mu)}`);
        if (!contract('LV', mu, f.traceBuf.get(fac.trace)!, 'previous')) return null;
      }
    }
    for (const lp of f.u.lossPrevious) {
      const e = f.bufOf(lp.block);
      if (!contract('BV', e.off, f.traceBuf.get(lp.trace)!, 'previous')) return null;
    }
  }
  const names = f.trs.map((t) => t.name).join(', ');
  const update = f.u && upd.length ? { param: f.param, terms: upd } : null;
  return {
    P,
    R,
    cols,
    coefs,
    saves,
    resets,
    skipZeroRows: update !== null && !saves.length && fresh.every((x) => x.store === null) && update.terms.every((t) => t.coef !== null),
    fresh,
    update,
    pre: pre.join('\n'),
    refined: Object.fromEntries([
      ...[...colSet].map((n) => [n, 'columns'] as const),
      ...[...factored.keys()].map((n) => [n, 'factored'] as const),
      ...[...derived].map((n) => [n, 'derived'] as const),
    ]),
    comment: `fused over the rows of the parameter: ${names}${f.u ? ` and ${f.u.equation.text}` : ''}`,
    inPlace: [...inPlace],
  };
}

/**
 * The update's terms with λ(a_i)·G(a_i) summed over i replaced by λ(c)·G(c) where the program has
 * λ(a_i) = λ(c)·E_i (one term, no direct part) and G(c) = Σ_i E_i·G(a_i) (the same diagonal blocks, this
 * step's traces): λ(c)[p]·Σ_i E_i[p]·G(a_i)[p, r] is the same sum, with one multiplication per element
 * instead of one per term (e-prop on ALIF: λ(v)·G(v) + λ(a)·G(a) = λ(z)·G(z), Bellec et al.'s
 * learning signal times eligibility trace). Part of the 'factored' refinement.
 */
function contractThrough(f: FuseInput, use: ReadonlySet<Refinement>): readonly UpdateTerm[] {
  const terms = f.u?.terms ?? [];
  if (!use.has('factored')) return terms;
  const sig = new Map(f.signals.map((s) => [s.name, s]));
  let out = [...terms];
  for (const x of f.trs) {
    if (!x.terms.length || x.direct || x.terms.some((t) => t.time !== 'current')) continue;
    const matched: UpdateTerm[] = [];
    let via: string | null = null;
    for (const t of x.terms) {
      const e = f.blockRef(t.block);
      if (e.kind !== 'buf' || !(e.spec.form === 'diagonal' || e.spec.form === 'scalar')) break;
      const u = out.find((q) => q.factor.kind === 'trace' && q.factor.trace === t.trace && !matched.includes(q));
      const s = u ? sig.get(u.signal) : undefined;
      if (!u || !s || s.direct || s.terms.length !== 1 || s.terms[0]!.block !== t.block) break;
      const c = sig.get(s.terms[0]!.signal);
      if (!c || c.state !== x.state || (via !== null && via !== c.name)) break;
      via = c.name;
      matched.push(u);
    }
    if (via === null || matched.length !== x.terms.length || matched.length < 2) continue;
    const at = out.indexOf(matched[0]!);
    out = out.filter((q) => !matched.includes(q));
    out.splice(at, 0, { signal: via, factor: { kind: 'trace', trace: x.name } });
  }
  return out;
}

/**
 * Row traces that are the same in every row (a greatest fixpoint): every term is a uniform (or scalar) block
 * times the trace itself, a column trace or a shared trace, and the direct term is W @ v with a uniform
 * adjoint (or a shared block). E.g. e-prop's G(v, W_rec)[p, r] = α·G + 1·z[r]: the filtered presynaptic
 * spikes, one value per column r (Bellec et al. 2020, z̄_i).
 */
function columnTraces(f: FuseInput, P: number): Set<string> {
  const cand = new Set(f.trs.filter((t) => t.storage === 'row' && P >= 2 && f.traceBuf.get(t.name)!.d.J === P).map((t) => t.name));
  const ok = (tr: OnlineProgram['traces'][number]): boolean => {
    for (const term of tr.terms) {
      const e = f.blockRef(term.block);
      if (e.kind !== 'buf' || !(e.spec.form === 'scalar' || (e.spec.form === 'diagonal' && e.uniform))) return false;
      const src = f.traceBuf.get(term.trace)!;
      if (!f.trs.some((t) => t.name === term.trace)) return false;
      if (src.storage !== 'shared' && !cand.has(term.trace)) return false;
    }
    if (tr.direct) {
      const ref = f.blockRef(tr.direct);
      if (ref.kind === 'factored') return ref.uniform;
      if (ref.kind === 'buf') return ref.spec.form === 'shared' || ref.spec.form === 'scalar';
      return false;
    }
    return true;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const tr of f.trs)
      if (cand.has(tr.name) && !ok(tr)) {
        cand.delete(tr.name);
        changed = true;
      }
  }
  return cand;
}

/**
 * Carried row traces that need not be stored: every term is a same-step block (diagonal or scalar) times a
 * same-step trace whose last value the loop reads anyway (a column, shared or stored row trace), and no
 * direct term — e.g. ALIF's G(z, W) = ψ_v·G(v, W) + ψ_a·G(a, W). Its last value is recomputed from the
 * last step's coefficients (saved per row) and its sources' last values: a few multiplications per element
 * instead of a load and a store of a whole trace.
 */
function derivedTraces(f: FuseInput, P: number, cols: ReadonlySet<string>, factored: ReadonlyMap<string, unknown>): Set<string> {
  const out = new Set<string>();
  for (const tr of f.trs) {
    const t = f.traceBuf.get(tr.name)!;
    if (t.storage !== 'row' || t.d.J !== P || !tr.carried || tr.direct || cols.has(tr.name) || !tr.terms.length) continue;
    const ok = tr.terms.every((term) => {
      const e = f.blockRef(term.block);
      if (term.time !== 'current' || e.kind !== 'buf' || !(e.spec.form === 'diagonal' || e.spec.form === 'scalar')) return false;
      const src = f.traceBuf.get(term.trace);
      if (!src || !f.trs.some((x) => x.name === term.trace) || factored.has(term.trace) || out.has(term.trace)) return false;
      return src.storage === 'shared' || cols.has(term.trace) || (src.storage === 'row' && src.d.J === P);
    });
    // Its sources must be stored (not derived themselves): checked in order, so a later trace never derives from an earlier derived one.
    if (ok) out.add(tr.name);
  }
  // A derived trace read as a source by another derived one is kept stored.
  for (const tr of f.trs) if (out.has(tr.name) && tr.terms.some((x) => out.has(x.trace))) out.delete(tr.name);
  return out;
}

interface FactoredSource {
  readonly source: string;
  readonly time: 'previous' | 'current';
  readonly block: number;
  readonly Js: number;
  readonly decay: number;
  fresh: number;
}

/**
 * Dense traces that factor through constant blocks: G(o, W) = d·G(o, W) + Σ_m E_m · G(s_m, W) with d a
 * uniform constant diagonal (a leaky readout's κ) and E_m constant within the batch (W_out) equals
 * Σ_m E_m[j, p] · Ḡ_m[p, r] with Ḡ_m = d·Ḡ_m + G(s_m, W) — exact, both start at zero. This is Bellec et
 * al.'s F_κ filtering of the eligibility trace (2020, Methods): one filtered value per synapse and source
 * instead of one per output.
 */
function factoredTraces(f: FuseInput, P: number, cols: ReadonlySet<string>): Map<string, FactoredSource[]> {
  const out = new Map<string, FactoredSource[]>();
  for (const tr of f.trs) {
    const t = f.traceBuf.get(tr.name)!;
    if (t.storage !== 'dense' || tr.direct || t.d.P !== P) continue;
    if (f.trs.some((o) => o !== tr && o.terms.some((x) => x.trace === tr.name))) continue;
    let decay: number | null = null;
    const srcs: FactoredSource[] = [];
    let fit = true;
    for (const term of tr.terms) {
      const e = f.blockRef(term.block);
      if (e.kind !== 'buf' || !e.spec.constant) {
        fit = false;
        break;
      }
      if (term.trace === tr.name) {
        if (decay !== null || term.time !== 'previous' || !(e.spec.form === 'scalar' || (e.spec.form === 'diagonal' && e.uniform))) {
          fit = false;
          break;
        }
        decay = e.off;
        continue;
      }
      const src = f.traceBuf.get(term.trace)!;
      if (e.spec.form !== 'dense' || !f.trs.some((x) => x.name === term.trace) || src.storage !== 'row' || src.d.J !== P) {
        fit = false;
        break;
      }
      srcs.push({ source: term.trace, time: term.time, block: e.off, Js: src.d.J, decay: -1, fresh: -1 });
      void cols;
    }
    if (!fit || decay === null || !srcs.length || srcs.length >= t.d.J) continue;
    out.set(
      tr.name,
      srcs.map((x) => ({ ...x, decay: decay })),
    );
  }
  return out;
}

// ------------------------------------------------------------ JavaScript

function coefJs(c: Coef): string {
  switch (c.k) {
    case 'mem':
      return c.row ? `${c.arr}[${c.off} + p]` : `${c.arr}[${c.off}]`;
    case 'mul':
      return `${coefJs(c.a)} * ${coefJs(c.b)}`;
    case 'sum':
      return c.terms.length ? `(${c.terms.map(coefJs).join(' + ')})` : '0';
  }
}

/** The loop as JavaScript: float64 arithmetic, each stored value rounded by its typed array. */
export function fusedJs(l: FusedLoop): string {
  const PR = l.P * l.R;
  const loads = new Map<string, string>();
  const val = (x: Val): string => {
    switch (x.k) {
      case 'trace': {
        const key = `${x.buf}_${x.comp}`;
        if (!loads.has(key)) loads.set(key, `const g${key} = TP${x.buf}[${x.comp ? `${x.comp} + ` : ''}q];`);
        return `g${key}`;
      }
      case 'shared':
        return `${x.time === 'current' ? 'TN' : 'TP'}${x.buf}[r]`;
      case 'col':
        return x.time === 'current' ? `TN${x.buf}[r]` : `TN${x.buf}[${l.R} + r]`;
      case 'vec':
        return at(x.slot, 'r');
      case 'block':
        return `BV[${x.off} + ${x.at}]`;
      case 'fresh':
        return `n${x.id}`;
    }
  };
  const sum = (ts: readonly Term[]): string => (ts.length ? ts.map((t) => (t.coef === null ? val(t.x) : `c${t.coef} * ${val(t.x)}`)).join(' + ') : '0');
  const body: string[] = [];
  l.fresh.forEach((fr, id) => {
    const s = `const n${id} = ${sum(fr.terms)};`;
    body.push(fr.store ? `${s} TN${fr.store.buf}[${fr.store.comp ? `${fr.store.comp} + ` : ''}q] = n${id};` : s);
  });
  if (l.update) body.push(`D${l.update.param}[q] += ${sum(l.update.terms)};`);
  void PR;
  // Column traces: every last-step value read, kept at [R, 2R), then this step's computed in order.
  let colLoop = '';
  if (l.cols.length) {
    const done = new Set<number>();
    const cval = (x: Val): string => {
      if (x.k === 'col') return x.time === 'previous' ? `s${x.buf}` : done.has(x.buf) ? `m${x.buf}` : `TN${x.buf}[r]`;
      return val(x);
    };
    const lines = l.cols.map((c) => `const s${c.buf} = TN${c.buf}[r]; TN${c.buf}[${l.R} + r] = s${c.buf};`);
    for (const c of l.cols) {
      lines.push(
        `const m${c.buf} = ${c.terms.length ? c.terms.map((t) => (t.coef === null ? cval(t.x) : `${coefJs(l.coefs[t.coef]!)} * ${cval(t.x)}`)).join(' + ') : '0'}; TN${c.buf}[r] = m${c.buf};`,
      );
      done.add(c.buf);
    }
    colLoop = `for (let r = 0; r < ${l.R}; r++) {\n  ${lines.join('\n  ')}\n}\n`;
  }
  const colCoefs = new Set(l.cols.flatMap((c) => c.terms.map((t) => t.coef)));
  const rowCoefs = l.coefs.map((c, k) => (colCoefs.has(k) ? '' : `const c${k} = ${coefJs(c)};`)).filter(Boolean);
  const skip = l.skipZeroRows && l.update ? `if (${l.update.terms.map((t) => `c${t.coef!} === 0`).join(' && ')}) continue;` : '';
  const saves = l.saves.map((x) => `LV[${x.to} + p] = c${x.coef};`).join(' ');
  return `// ${l.comment}
${l.pre}
${colLoop}for (let p = 0; p < ${l.P}; p++) {
  const o = p * ${l.R};
  ${rowCoefs.join(' ')} ${saves}
  ${skip}
  for (let r = 0; r < ${l.R}; r++) {
    const q = o + r;
    ${[...loads.values(), ...body].join('\n    ')}
  }
}`;
}
