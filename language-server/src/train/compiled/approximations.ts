// The approximation kinds beyond keep/diagonal/drop in the compiled step
// (rules/kinds.ts, rules/topk.ts; program.ts calls these where a program uses
// them, everything else stays on its usual paths):
//   * `random` blocks: after the block's sweep the adjoint at each product
//     W @ operand is multiplied by the fixed matrix R (the block is
//     Σ_m adj(m)ᵀ R_m: every path from the operand goes through such a product);
//   * `local` blocks: fixed matrices the program holds, copied once per batch;
//   * a parameter whose traces are factored filters, SnAp-2 patterns or
//     quantised, or whose update goes through a filter: one loop per term
//     (the unfused kernels of program.ts), pulled terms added as they are,
//     patterns and rounding applied as each trace is written, then the
//     update with the filtered terms μ = λ·C_1⋯C_m contracted with H.
// The arithmetic is rules/execute.ts's, term for term (test/train-compiled-kinds.test.ts).

import { sizeOf } from '../../graph/types.js';
import { feedbackMatrix, QUANTIZE_SOURCE } from '../../rules/kinds.js';
import { localMatrix } from '../../rules/execute.js';
import type { BlockSpec, OnlineProgram } from '../../rules/program.js';
import type { PairDims } from '../../rules/execute.js';
import { pairDims } from '../../rules/execute.js';
import type { TraceBuf } from './program.js';

export interface ConstAdder {
  add(a: Float64Array | Int32Array, key?: unknown): string;
}

/** Whether a parameter's traces and update need the code below (not the fused or plain unfused loops). */
export function extendedParam(program: OnlineProgram, param: string): boolean {
  if (program.quantize) return true;
  const trs = program.traces.filter((t) => t.param === param);
  const u = program.updates.find((x) => x.param === param);
  return trs.some((t) => t.filtered || t.pattern || t.terms.some((x) => x.pulled)) || (u?.filtered?.length ?? 0) > 0;
}

/**
 * A random feedback block's values from the adjoints at its products: BV[o + row·N + j] = Σ_m Σ_a G[m + a]·R_m[a, j]
 * (`row`: 0 for a loss block, `hot` in a dense block's per-row sweep).
 */
export function feedbackCopy(b: BlockSpec, off: number, row: string, gSlot: (v: number) => number, consts: ConstAdder): string {
  const N = sizeOf(b.inShape);
  const lines: string[] = [`for (let j = 0; j < ${N}; j++) BV[${off} + ${row} * ${N} + j] = 0;`];
  for (const m of b.feedback!.matrices) {
    const R = consts.add(feedbackMatrix(m.seed, m.shape, b.feedback!.scale));
    const A = m.shape[0]!;
    lines.push(
      `for (let a = 0; a < ${A}; a++) { const c = G[${gSlot(m.matmul)} + a]; if (c === 0) continue; for (let j = 0; j < ${N}; j++) BV[${off} + ${row} * ${N} + j] += c * ${R}[a * ${N} + j]; }`,
    );
  }
  return lines.join('\n');
}

/** A `local` block's matrix, copied into its block buffer at the batch's first step. */
export function localCopy(b: BlockSpec, off: number, consts: ConstAdder): string {
  const R = consts.add(localMatrix(b));
  return `if (first) for (let k = 0; k < ${sizeOf(b.valueShape)}; k++) BV[${off} + k] = ${R}[k];`;
}

/** top(k): the dense block's entries outside its mask set to zero (after its sweeps, every step). */
export function maskCode(b: BlockSpec, off: number): string {
  const keep = new Uint8Array(sizeOf(b.valueShape));
  for (const i of b.mask!) keep[i] = 1;
  return `// top(k) mask of ${b.id}\n{ const M = ${JSON.stringify(Array.from(keep))}; for (let k = 0; k < ${keep.length}; k++) if (M[k] === 0) BV[${off} + k] = 0; }`;
}

/** Generated helpers the code below calls. */
export const HELPERS_SOURCE = QUANTIZE_SOURCE;

/**
 * Restarting the carried traces at steps K, 2K, … (truncate K), at the top of a step; `resets`: the rest of the
 * carried state the fused loops keep (program.ts: their saved coefficients), restarted with the traces.
 */
export function truncateCode(program: OnlineProgram, traces: readonly TraceBuf[], resets: readonly string[] = []): string {
  if (program.truncate === undefined) return '';
  const carried = traces.filter((t) => t.carried);
  if (!carried.length && !resets.length) return '';
  return `if (t > 0 && t % ${program.truncate} === 0) { ${[...carried.map((t) => `TP${t.buf}.fill(0);`), ...resets].join(' ')} }`;
}

export interface ExtendedInput {
  readonly program: OnlineProgram;
  readonly param: string;
  readonly traceBuf: ReadonlyMap<string, TraceBuf>;
  readonly bufOf: (id: string) => { spec: BlockSpec; off: number };
  readonly lam: ReadonlyMap<string, number>;
  readonly lv: { alloc(n: number): number };
  readonly stateShape: ReadonlyMap<string, readonly number[]>;
  readonly paramShape: readonly number[];
  /** program.ts's unfused trace code (terms without `pulled` run through it). */
  readonly unfusedTrace: (tr: OnlineProgram['traces'][number]) => string;
  /** program.ts's unfused update code (terms, lossPrevious, direct). */
  readonly unfusedUpdate: (u: OnlineProgram['updates'][number]) => string;
  readonly vjp: (l: number, e: BlockSpec, eo: number, into: number) => string;
  readonly contract: (arr: string, l: number, storage: TraceBuf['storage'], G: string, d: PairDims, D: string) => string;
  readonly D: string;
}

/** One parameter's traces (with pulled terms, patterns, rounding) and update (with filtered terms). */
export function extendedParamCode(f: ExtendedInput): string {
  const { program } = f;
  const code: string[] = [];
  program.traces.forEach((tr, k) => {
    if (tr.param !== f.param) return;
    const t = f.traceBuf.get(tr.name)!;
    if (tr.terms.some((x) => x.pulled)) {
      // The pulled terms are plain additions of their source traces (same storage: the filter's input's).
      const rest = { ...tr, terms: tr.terms.filter((x) => !x.pulled) };
      code.push(f.unfusedTrace(rest));
      for (const term of tr.terms.filter((x) => x.pulled)) {
        const src = f.traceBuf.get(term.trace)!;
        if (src.storage !== t.storage || src.size !== t.size)
          throw new Error(`internal: the filtered trace ${tr.name} and its input ${src.name} are stored differently`);
        const S = term.time === 'previous' ? `TP${src.buf}` : `TN${src.buf}`;
        code.push(`for (let q = 0; q < ${t.size}; q++) TN${t.buf}[q] += ${S}[q];`);
      }
    } else code.push(f.unfusedTrace(tr));
    if (tr.pattern) {
      const mask = new Uint8Array(t.d.J * t.d.P);
      for (const i of tr.pattern) mask[i] = 1;
      code.push(
        `// SnAp-2 pattern of ${tr.name}\n{ const M = ${JSON.stringify(Array.from(mask))}; for (let f = 0; f < ${t.d.J * t.d.P}; f++) if (M[f] === 0) TN${t.buf}.fill(0, f * ${t.d.R}, f * ${t.d.R} + ${t.d.R}); }`,
      );
    }
    if (program.quantize && tr.carried) {
      const q = program.quantize;
      code.push(`quantize(TN${t.buf}, ${q.bits}, ${q.rounding === 'stochastic'}, ${q.seed}, t, ${k});`);
    }
  });
  const u = program.updates.find((x) => x.param === f.param);
  if (u) {
    code.push(f.unfusedUpdate({ ...u, filtered: [] }));
    for (const ft of u.filtered ?? []) {
      const ids = [...(ft.scale ? [ft.scale] : []), ...ft.chain];
      let cur = f.lam.get(ft.signal)!;
      for (const id of ids) {
        const e = f.bufOf(id);
        const n = sizeOf(e.spec.inShape);
        const mu = f.lv.alloc(n);
        code.push(`LV.fill(0, ${mu}, ${mu + n});`);
        code.push(f.vjp(cur, e.spec, e.off, mu));
        cur = mu;
      }
      const tb = f.traceBuf.get(ft.trace)!;
      const d = pairDims(f.stateShape.get(program.traces.find((x) => x.name === ft.trace)!.state)!, f.paramShape);
      code.push(f.contract('LV', cur, tb.storage, ft.time === 'current' ? `TN${tb.buf}` : `TP${tb.buf}`, d, f.D));
    }
  }
  return code.join('\n');
}
