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

import { sizeOf, type Shape } from '../../graph/types.js';
import type { BlockSpec, OnlineProgram, SignalSpec } from '../../rules/program.js';
import { at } from './codegen.js';
import type { BlockRef, TraceBuf } from './program.js';

export interface FuseInput {
  /** The parameter's shape. */
  readonly P: Shape;
  readonly trs: readonly OnlineProgram['traces'][number][];
  readonly u: OnlineProgram['updates'][number] | undefined;
  readonly traceBuf: ReadonlyMap<string, TraceBuf>;
  readonly bufOf: (id: string) => { spec: BlockSpec; off: number };
  readonly blockRef: (id: string) => BlockRef;
  readonly lam: ReadonlyMap<string, number>;
  readonly lv: { alloc(n: number): number };
  readonly stateShape: ReadonlyMap<string, Shape>;
  readonly signals: readonly SignalSpec[];
  readonly vjp: (l: number, e: BlockSpec, eo: number, into: number) => string;
  /** The unfused code of a trace (shared traces run before the loop). */
  readonly unfusedTrace: (tr: OnlineProgram['traces'][number]) => string;
  /** The gradient accumulator's name. */
  readonly D: string;
}

const MAX_COMPONENTS = 8;

export function fuseParam(f: FuseInput): string | null {
  const ps = f.P;
  const P = ps.length ? ps[0]! : 1;
  const R = ps.length ? sizeOf(ps.slice(1)) : 1;
  const PR = P * R;
  const pre: string[] = [];
  const rowConsts: string[] = [];
  const body: string[] = [];
  let nc = 0;
  const coef = (expr: string): string => {
    const name = `c${nc++}`;
    rowConsts.push(`const ${name} = ${expr};`);
    return name;
  };
  /** Local variables holding this step's new values: trace name → one per component (row/shared: [0]). */
  const fresh = new Map<string, string[]>();
  const own = new Set(f.trs.map((t) => t.name));

  /** Element (p, r) — component j of a dense trace — of a trace at t (prev) or t+1 (cur). */
  const elem = (t: TraceBuf, time: 'previous' | 'current', j: number | null): string | null => {
    if (!own.has(t.name)) return null;
    if (t.storage === 'shared') return time === 'current' ? `TN${t.buf}[r]` : `TP${t.buf}[r]`;
    if (time === 'current') {
      const v = fresh.get(t.name);
      return v ? (v[t.storage === 'dense' ? j ?? -1 : 0] ?? null) : null;
    }
    if (t.storage === 'row') return `TP${t.buf}[q]`;
    return j === null ? null : `TP${t.buf}[${j * PR} + q]`;
  };

  for (const tr of f.trs) {
    const t = f.traceBuf.get(tr.name)!;
    if (t.storage === 'shared') {
      pre.push(f.unfusedTrace(tr));
      continue;
    }
    if (t.storage === 'dense' && t.d.J > MAX_COMPONENTS) return null;
    if (t.storage === 'row' && t.d.J !== P) return null;
    if (t.d.P !== P || t.d.R !== R) return null;
    const comps = t.storage === 'row' ? [null] : Array.from({ length: t.d.J }, (_, j) => j);
    const names: string[] = [];
    for (const j of comps) {
      const terms: string[] = [];
      for (const term of tr.terms) {
        const e = f.blockRef(term.block);
        if (e.kind !== 'buf') return null;
        const src = f.traceBuf.get(term.trace)!;
        const eo = e.off;
        if (e.spec.form === 'scalar') {
          const x = t.storage === 'row' ? (src.storage === 'dense' ? null : elem(src, term.time, null)) : (src.storage === 'dense' ? elem(src, term.time, j) : null);
          if (!x) return null;
          terms.push(`${coef(`BV[${eo}]`)} * ${x}`);
        } else if (e.spec.form === 'diagonal') {
          if (t.storage === 'row' && src.storage !== 'dense') {
            const x = elem(src, term.time, null);
            if (!x) return null;
            terms.push(`${coef(`BV[${eo} + p]`)} * ${x}`);
          } else if (t.storage === 'dense' && src.storage === 'dense') {
            const x = elem(src, term.time, j);
            if (!x) return null;
            terms.push(`${coef(`BV[${eo + j!}]`)} * ${x}`);
          } else return null;
        } else if (e.spec.form === 'dense') {
          // (E·G)[a, p, r] = E[a, p] · G[p, r] for a row (or shared) source.
          if (t.storage !== 'dense' || src.storage === 'dense' || src.d.J !== P) return null;
          const x = elem(src, term.time, null);
          if (!x) return null;
          terms.push(`${coef(`BV[${eo + j! * src.d.J} + p]`)} * ${x}`);
        } else return null;
      }
      if (tr.direct) {
        const ref = f.blockRef(tr.direct);
        if (ref.kind === 'factored') {
          if (t.storage !== 'row') return null;
          ref.v.forEach((v, m) => terms.push(`${coef(ref.spec.form === 'shared' ? `BV[${ref.f[m]!}]` : `BV[${ref.f[m]!} + p]`)} * ${at(v, 'r')}`));
        } else if (ref.kind === 'buf') {
          const form = ref.spec.form;
          if ((form === 'row' || form === 'diagonal') && t.storage === 'row') terms.push(`BV[${ref.off} + q]`);
          else if ((form === 'shared' || form === 'scalar') && t.storage === 'row') terms.push(`BV[${ref.off} + r]`);
          else if (form === 'dense' && t.storage === 'dense') terms.push(`BV[${ref.off + j! * PR} + q]`);
          else return null;
        } else return null;
      }
      const name = `n${t.buf}_${j ?? 0}`;
      names.push(name);
      body.push(`const ${name} = ${terms.length ? terms.join(' + ') : '0'}; TN${t.buf}[${j === null ? 'q' : `${j * PR} + q`}] = ${name};`);
    }
    fresh.set(tr.name, names);
  }

  // ΔW[p, r] += Σ λ · (trace, block or product) at (p, r).
  const upd: string[] = [];
  const contract = (lArr: string, l: number, t: TraceBuf, time: 'previous' | 'current'): boolean => {
    if (t.storage === 'dense') {
      for (let j = 0; j < t.d.J; j++) {
        const x = elem(t, time, j);
        if (!x) return false;
        upd.push(`${coef(`${lArr}[${l + j}]`)} * ${x}`);
      }
      return true;
    }
    const x = elem(t, time, null);
    if (!x) return false;
    upd.push(`${coef(`${lArr}[${l} + p]`)} * ${x}`);
    return true;
  };
  if (f.u) {
    for (const term of f.u.terms) {
      const l = f.lam.get(term.signal)!;
      const fac = term.factor;
      if (fac.kind === 'trace') {
        if (!contract('LV', l, f.traceBuf.get(fac.trace)!, 'current')) return null;
      } else if (fac.kind === 'direct') {
        const ref = f.blockRef(fac.block);
        if (ref.kind === 'factored') {
          ref.v.forEach((v, m) => upd.push(`${coef(`LV[${l} + p] * ${ref.spec.form === 'shared' ? `BV[${ref.f[m]!}]` : `BV[${ref.f[m]!} + p]`}`)} * ${at(v, 'r')}`));
        } else if (ref.kind === 'buf') {
          const form = ref.spec.form;
          const sig = f.signals.find((s) => s.name === term.signal)!;
          const J = sizeOf(f.stateShape.get(sig.state)!);
          if (form === 'row' || form === 'diagonal') upd.push(`${coef(`LV[${l} + p]`)} * BV[${ref.off} + q]`);
          else if (form === 'shared' || form === 'scalar') upd.push(`${coef(`LV[${l} + p]`)} * BV[${ref.off} + r]`);
          else if (J <= MAX_COMPONENTS) for (let j = 0; j < J; j++) upd.push(`${coef(`LV[${l + j}]`)} * BV[${ref.off + j * PR} + q]`);
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
    if (upd.length) body.push(`${f.D}[q] += ${upd.join(' + ')};`);
  }
  const names = f.trs.map((t) => t.name).join(', ');
  return `// fused over the rows of the parameter: ${names}${f.u ? ` and ${f.u.equation.text}` : ''}
${pre.join('\n')}
for (let p = 0; p < ${P}; p++) {
  const o = p * ${R};
  ${rowConsts.join(' ')}
  for (let r = 0; r < ${R}; r++) {
    const q = o + r;
    ${body.join('\n    ')}
  }
}`;
}
