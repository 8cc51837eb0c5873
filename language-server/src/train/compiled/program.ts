// A training step compiled to one generated JavaScript function per sequence:
// the model's forward dynamics, and either the online rule's update program
// (rules/program.ts: blocks → learning signals → traces → updates), exact
// BPTT (the forward pass keeps only the values the backward pass reads, then
// the adjoint recursion), or nothing (evaluation). The output is plain data —
// source text and constant arrays — so worker threads build the same function.
//
// How each part of an online program is computed (rules/execute.ts is the
// Float64 reference of every kernel; the index arithmetic is the same):
//   * blocks of a state equation: one reverse sweep over the equation's cone
//     (codegen.ts) seeded with ones gives every scalar, diagonal, shared and row
//     block at once — the program guarantees those blocks have that structure
//     exactly, so the column sums are their values. A parameter read only as
//     `W @ v` gives its rows as f ⊗ v, f the adjoint at the product, never
//     materialised. Dense blocks (and diagonals a rule keeps from dense ones)
//     take one sweep per output element with one-hot seeds. Blocks the program
//     marks constant are computed at the batch's first step only.
//   * the loss: one sweep seeded with the step's loss weight gives ℓ^a (the
//     learning signals' sources) and adds ℓ^W straight into the gradient.
//   * signals, traces and updates: loops generated for each term's storage
//     forms (scalar/diagonal/dense block × shared/row/dense trace), writing
//     into preallocated buffers; the first term that covers its target assigns,
//     so nothing is zero-filled first.

import type { Block } from '../../rules/blocks.js';
import { pairDims, type PairDims } from '../../rules/execute.js';
import type { BlockSpec, OnlineProgram, TraceStorage } from '../../rules/program.js';
import { sizeOf } from '../../graph/types.js';
import type { ModelSpec } from '../model.js';
import { at, coneOf, GraphCode, partialReads, pathKind, type Slot } from './codegen.js';
import { DEFAULT_REFINEMENTS, fuseParam, fusedJs, type FusedLoop, type Refinement } from './fused.js';
import { layoutOf, pagesFor, type Layout } from './layout.js';
import { flushWasm, fusedWasm, matUnfit, matWasm, wasmUnfit } from './simd.js';
import { wasmModule, wasmSimdSupported, type WasmFn } from './wasm.js';
import { EligoError } from '../../util/errors.js';
import { extendedParam, extendedParamCode, feedbackCopy, HELPERS_SOURCE, localCopy, maskCode, truncateCode } from './approximations.js';

export type StepMode = 'forward' | 'online' | 'bptt';

/** Everything a thread needs to build the compiled step: plain data. */
export interface KernelSource {
  readonly mode: StepMode;
  readonly code: string;
  readonly consts: readonly (Float64Array | Int32Array)[];
  /** Sizes of the arenas and buffers (values). */
  readonly sizes: {
    readonly A: number;
    readonly G: number;
    readonly BV: number;
    readonly LV: number;
    readonly scratch: number;
    readonly traces: readonly number[];
    readonly transposes: readonly { readonly id: number; readonly size: number }[];
    readonly tape: number;
    readonly carry: number;
    /** Trace buffers stored in place (one buffer for the previous and current values). */
    readonly inPlace: readonly number[];
  };
  /** The WebAssembly loops, when the step uses them: the module and where every buffer lies in its memory. */
  readonly wasm?: { readonly module: Uint8Array<ArrayBuffer>; readonly layout: Layout; readonly pages: number };
  /** Each fused loop and the code that runs it ('wasm' or 'js', and why JavaScript where it is). */
  readonly loops: readonly {
    readonly what: string;
    readonly backend: 'js' | 'wasm';
    readonly why?: string;
    readonly refined?: Readonly<Record<string, Refinement>>;
  }[];
  /** Parameter sizes, in model order. */
  readonly params: readonly { readonly name: string; readonly size: number; readonly trained: boolean }[];
  /** Spike vertices and their surrogates, and the table functions called. */
  readonly surrogates: readonly { readonly id: number; readonly surrogate: unknown }[];
  readonly helpers: readonly string[];
  readonly nIn: number;
  readonly nOut: number;
  readonly hasPrediction: boolean;
  /** Bytes one thread holds for one sequence (arenas, traces, tape per step × steps is `tapeBytesPerStep`). */
  readonly bytesPerThread: number;
  readonly tapeBytesPerStep: number;
}

export interface CompileStepOptions {
  readonly program?: OnlineProgram;
  readonly blocks?: readonly Block[];
  /** BPTT of an approximated graph: operand edges read without gradient. */
  readonly stopped?: ReadonlySet<string>;
  /** One loop per term of every trace and update (the reference for the fused loops). */
  readonly unfused?: boolean;
  /** BPTT: credit through time within windows of K steps (a rule's `truncate K`). */
  readonly truncate?: number;
  /**
   * The fused loops' code: 'wasm' (WebAssembly SIMD where a loop fits, JavaScript elsewhere), 'js', or
   * 'auto' (the default: the faster one as measured, docs/training.md; 'js' where WebAssembly SIMD is missing).
   */
  readonly backend?: 'js' | 'wasm' | 'auto';
  /** Exact refinements of the fused loops (fused.ts; default DEFAULT_REFINEMENTS): other sets for measurements and tests. */
  readonly refine?: ReadonlySet<Refinement>;
}

/** What 'auto' picks for the fused loops (docs/training.md, measured by `npm run bench -- train`). */
export const AUTO_BACKEND: 'js' | 'wasm' = 'wasm';

export class StepCompileError extends EligoError {
  constructor(message: string) {
    super('train.compile', message);
  }
}

/** Arena allocator for Float64 buffers (block values, signals). */
class Bump {
  size = 0;
  alloc(n: number): number {
    const o = this.size;
    this.size += n;
    return o;
  }
}

const RANK: Record<TraceStorage, number> = { shared: 0, row: 1, dense: 2 };

export interface TraceBuf {
  readonly name: string;
  readonly storage: TraceStorage;
  readonly d: PairDims;
  readonly size: number;
  readonly carried: boolean;
  /** Index of its buffer pair in the kernel's trace list. */
  readonly buf: number;
}

/** A block's value as the generated code reads it. */
export type BlockRef =
  /** uniform: every element has the same value (codegen.ts uniformPath), e.g. a leak α·1. */
  | { readonly kind: 'buf'; readonly spec: BlockSpec; readonly off: number; readonly uniform: boolean; readonly unit?: boolean }
  /** F = Σ_m f_m ⊗ v_m: the adjoints at the products W @ v_m (BV offsets) and the operands' values; uniform: every f_m is one value repeated. */
  | { readonly kind: 'factored'; readonly spec: BlockSpec; readonly f: readonly number[]; readonly v: readonly Slot[]; readonly uniform: boolean }
  /** ℓ^W: added into the gradient by the loss's sweep. */
  | { readonly kind: 'grad'; readonly spec: BlockSpec };

export function compileStep(spec: ModelSpec, mode: StepMode, opts: CompileStepOptions = {}): KernelSource {
  const g = spec.graph;
  const gc = new GraphCode(g, spec.params, spec.input.leaf, spec.target.leaf, opts.stopped ? { stopped: opts.stopped } : {});
  const V = g.vertices;
  const nexts = spec.states.filter((s) => s.next !== s.leaf).sort((a, b) => a.next - b.next);
  const nextIds = new Set(nexts.map((s) => s.next));
  const leafIds = new Set<number>(
    V.filter((v) => v.op === 'param' || v.op === 'state' || v.op === 'input' || v.op === 'target' || v.op === 'const').map((v) => v.id),
  );
  const nIn = sizeOf(spec.input.shape);
  const nOut = sizeOf(spec.target.shape);
  const bv = new Bump();
  const lv = new Bump();
  const traces: TraceBuf[] = [];
  const paramTrained = new Set<string>();
  let tape: number[] = [];
  let carrySize = 0;
  const loops: FusedLoop[] = [];
  const inPlace = new Set<number>();

  const perSample = V.filter((v) => !leafIds.has(v.id) && !gc.shared[v.id]).map((v) => v.id);
  const sharedIds = V.filter((v) => !leafIds.has(v.id) && gc.shared[v.id]).map((v) => v.id);

  // ---------------- per step: forward
  const forwardCode = perSample.map((id) => gc.forward(id)).join('\n');
  const sharedCode = sharedIds.map((id) => gc.forward(id)).join('\n');
  const stepTail: string[] = [];
  const lossSlot = gc.val(spec.loss);
  stepTail.push(`loss += w * ${at(lossSlot, '0')};`);
  if (spec.prediction !== undefined) {
    const p = gc.val(spec.prediction);
    stepTail.push(`{ const po = (t * B + b) * ${nOut}; for (let i = 0; i < ${nOut}; i++) PRD[po + i] = ${at(p, 'i')}; }`);
  }
  const advance = nexts.map((s) => `for (let i = 0; i < ${sizeOf(s.shape)}; i++) ${at(gc.val(s.leaf), 'i')} = ${at(gc.val(s.next), 'i')};`).join('\n');
  const reset = spec.states.map((s) => `A.fill(${s.initial}, ${gc.aOff[s.leaf]!}, ${gc.aOff[s.leaf]! + sizeOf(s.shape)});`).join('\n');

  let stepCode: string;
  let initCode = '';
  let backwardCode = '';
  const paramInfo = spec.params.map((p) => ({ name: p.name, size: sizeOf(p.shape), trained: false }));

  if (mode === 'online') {
    const program = opts.program;
    const blocks = opts.blocks;
    if (!program || !blocks) throw new StepCompileError('an online step needs its program and blocks');
    if (program.model !== spec.name) throw new StepCompileError(`the program is for model '${program.model}', not '${spec.name}'`);
    const raw = new Map(blocks.map((b) => [b.id, b]));
    const stateShape = new Map(program.states.map((s) => [s.name, s.shape]));
    const paramShape = new Map(program.params.map((p) => [p.name, p.shape]));
    const paramIdx = new Map(spec.params.map((p, k) => [p.name, k]));
    for (const u of program.updates) paramTrained.add(u.param);
    const refs = new Map<string, BlockRef>();
    const code: string[] = [];
    const byOf = new Map<string, BlockSpec[]>();
    for (const b of program.blocks) {
      if (b.approximation === 'local') {
        // A fixed feedback matrix the program holds (approximations.ts), not a block of the model.
        const o = bv.alloc(sizeOf(b.valueShape));
        code.push(localCopy(b, o, gc.consts));
        refs.set(b.id, { kind: 'buf', spec: b, off: o, uniform: false });
        continue;
      }
      if (!raw.has(b.id)) throw new StepCompileError(`internal: block '${b.id}' of the program is not among the rule's blocks`);
      const l = byOf.get(b.of) ?? [];
      l.push(b);
      byOf.set(b.of, l);
    }
    const eqs = [...nexts.map((s) => ({ of: s.name, dst: s.next })), { of: 'loss', dst: spec.loss }];
    for (const eq of eqs) {
      const bs = byOf.get(eq.of) ?? [];
      if (!bs.length) continue;
      const stops = new Set([...leafIds, ...[...nextIds].filter((n) => n !== eq.dst)]);
      const cone = coneOf(g, eq.dst, stops);
      const isLoss = eq.of === 'loss';
      const ones = bs.filter((b) => isLoss || (b.form !== 'dense' && b.approximation !== 'diagonal'));
      const tiled = bs.filter((b) => !ones.includes(b));
      const A = sizeOf(V[eq.dst]!.shape);
      if (ones.length) {
        const sources = new Set<number>();
        const params = new Map<number, 'D' | 'G' | 'skip'>();
        const copies: string[] = [];
        const constCopies: string[] = [];
        for (const b of ones) {
          // top(k) masks dense state blocks only (rules/blocks.ts), which are swept row by row below.
          if (b.mask) throw new StepCompileError(`internal: the masked block '${b.id}' is not a dense block between states`);
          const src = raw.get(b.id)!.src;
          sources.add(src);
          // A block that is 1 in every element (a sum's partial) is as constant as one the program marks so.
          let into = b.constant ? constCopies : copies;
          if (b.wrt.kind === 'param') {
            if (isLoss) {
              params.set(src, 'D');
              refs.set(b.id, { kind: 'grad', spec: b });
              continue;
            }
            const readers = [...cone].filter((v) => v !== src && !stops.has(v) && V[v]!.inputs.includes(src));
            const viaMatmul =
              !b.feedback &&
              (b.form === 'row' || b.form === 'shared') &&
              readers.length > 0 &&
              readers.every((v) => {
                const vx = V[v]!;
                return vx.op === 'matmul' && vx.inputs[0] === src && vx.inputs[1] !== src && V[src]!.shape.length === 2 && V[vx.inputs[1]!]!.shape.length === 1;
              });
            if (viaMatmul) {
              params.set(src, 'skip');
              const kinds = readers.map((m) => pathKind(g, cone, m, eq.dst));
              if (kinds.every((k) => k === 'unit')) into = constCopies;
              const f = readers.map((m) => {
                sources.add(m);
                const o = bv.alloc(sizeOf(V[m]!.shape));
                into.push(copyCode({ arr: 'G', off: String(gc.gSlot(m)) }, o, sizeOf(V[m]!.shape)));
                return o;
              });
              refs.set(b.id, { kind: 'factored', spec: b, f, v: readers.map((m) => gc.val(V[m]!.inputs[1]!)), uniform: kinds.every((k) => k !== null) });
              continue;
            }
            params.set(src, 'G');
          }
          const n = sizeOf(b.valueShape);
          const o = bv.alloc(n);
          const kind = !isLoss && !b.feedback && (b.form === 'diagonal' || b.form === 'scalar') ? pathKind(g, cone, src, eq.dst) : null;
          if (kind === 'unit') into = constCopies;
          // The block's values in program layout: the adjoint of its source (a shared block is the first row).
          // A random feedback block is Σ_m adj(m)ᵀ R_m, not the adjoint of its source: neither uniform nor 1
          // whatever the path (kind is null for it above), so no rewrite of fused.ts reads it as such.
          into.push(b.feedback ? feedbackCopy(b, o, '0', (v) => gc.gSlot(v), gc.consts) : copyCode({ arr: 'G', off: String(gc.gSlot(src)) }, o, n));
          refs.set(b.id, { kind: 'buf', spec: b, off: o, uniform: kind !== null, unit: kind === 'unit' });
        }
        const seed = isLoss
          ? `G[${gc.gSlot(eq.dst)}] = w;`
          : A === 1
            ? `G[${gc.gSlot(eq.dst)}] = 1;`
            : `G.fill(1, ${gc.gSlot(eq.dst)}, ${gc.gSlot(eq.dst) + A});`;
        const body = gc.sweep({ cone, sources, params, seed });
        if (!isLoss && !copies.length) {
          // Every block of the equation is constant within the batch: the sweep runs at the batch's first step only.
          code.push(`// blocks of ${eq.of} (constant)\nif (first) {\n${body}\n${constCopies.join('\n')}\n}`);
        } else code.push(`// blocks of ${eq.of}\n${body}\n${copies.join('\n')}${constCopies.length ? `\nif (first) {\n${constCopies.join('\n')}\n}` : ''}`);
      }
      if (tiled.length) {
        const sources = new Set<number>();
        const params = new Map<number, 'D' | 'G' | 'skip'>();
        const rows: string[] = [];
        for (const b of tiled) {
          const src = raw.get(b.id)!.src;
          sources.add(src);
          if (b.wrt.kind === 'param') params.set(src, 'G');
          const N = sizeOf(b.inShape);
          const o = bv.alloc(sizeOf(b.valueShape));
          const gs = gc.gSlot(src);
          rows.push(
            b.feedback
              ? feedbackCopy(b, o, 'hot', (v) => gc.gSlot(v), gc.consts)
              : b.form === 'dense'
                ? `for (let j = 0; j < ${N}; j++) BV[${o} + hot * ${N} + j] = G[${gs} + j];`
                : b.form === 'scalar'
                  ? `if (hot === 0) BV[${o}] = G[${gs}];`
                  : `BV[${o} + hot] = G[${gs} + hot];`,
          );
          refs.set(b.id, { kind: 'buf', spec: b, off: o, uniform: false });
        }
        const d = gc.gSlot(eq.dst);
        const body = gc.sweep({ cone, sources, params, seed: `G[${d} + hot] = 1;` });
        const allConst = tiled.every((b) => b.constant);
        code.push(
          `// dense blocks of ${eq.of}: one sweep per output element\nif (${allConst ? 'first' : 'true'}) for (let hot = 0; hot < ${A}; hot++) {\n${body}\n${rows.join('\n')}\n}`,
        );
        for (const b of tiled) if (b.mask) code.push(maskCode(b, (refs.get(b.id) as { off: number }).off));
      }
    }
    const blockRef = (id: string): BlockRef => {
      const r = refs.get(id);
      if (!r) throw new StepCompileError(`internal: block '${id}' has no value`);
      return r;
    };
    const bufOf = (id: string): { spec: BlockSpec; off: number; uniform: boolean; unit?: boolean } => {
      const r = blockRef(id);
      if (r.kind !== 'buf') throw new StepCompileError(`internal: block '${id}' is used as a state block`);
      return r;
    };

    // ---------------- learning signals
    const lam = new Map<string, number>();
    for (const s of program.signals) {
      const n = sizeOf(s.shape);
      const o = lv.alloc(n);
      lam.set(s.name, o);
      const parts: string[] = [];
      if (s.direct) parts.push(`for (let k = 0; k < ${n}; k++) LV[${o} + k] = BV[${bufOf(s.direct).off} + k];`);
      else parts.push(`LV.fill(0, ${o}, ${o + n});`);
      for (const term of s.terms) {
        const e = bufOf(term.block);
        parts.push(vjpCode(lam.get(term.signal)!, e.spec, e.off, o));
      }
      code.push(`// ${s.equation.text}\n${parts.join('\n')}`);
    }

    // ---------------- traces
    const traceBuf = new Map<string, TraceBuf>();
    for (const tr of program.traces) {
      const d = pairDims(stateShape.get(tr.state)!, paramShape.get(tr.param)!);
      const t: TraceBuf = { name: tr.name, storage: tr.storage, d, size: sizeOf(tr.valueShape), carried: tr.carried, buf: traces.length };
      if (t.size !== (tr.storage === 'shared' ? d.R : tr.storage === 'row' ? d.P * d.R : d.J * d.P * d.R)) {
        throw new StepCompileError(`internal: trace ${tr.name} has ${t.size} values, not the ${tr.storage} layout's`);
      }
      traces.push(t);
      traceBuf.set(tr.name, t);
    }
    const cur = (t: TraceBuf): string => `TN${t.buf}`;
    const prev = (t: TraceBuf): string => `TP${t.buf}`;
    const unfusedTrace = (tr: OnlineProgram['traces'][number]): void => {
      const t = traceBuf.get(tr.name)!;
      type Term = { code: (assign: boolean) => string; covers: boolean };
      const terms: Term[] = [];
      for (const term of tr.terms) {
        const e = bufOf(term.block);
        const src = traceBuf.get(term.trace)!;
        const srcArr = term.time === 'previous' ? prev(src) : cur(src);
        terms.push(blockTimesTrace(e.spec, e.off, src, srcArr, t, cur(t)));
      }
      if (tr.direct) terms.push(directTerm(blockRef(tr.direct), t, cur(t)));
      const k = terms.findIndex((x) => x.covers);
      const parts: string[] = [];
      if (k < 0) parts.push(`${cur(t)}.fill(0);`);
      else terms.unshift(...terms.splice(k, 1));
      terms.forEach((x, i) => parts.push(x.code(i === 0 && k >= 0)));
      code.push(`// ${tr.equation.text}\n${parts.join('\n')}`);
    };
    const unfusedUpdate = (u: OnlineProgram['updates'][number]): void => {
      const pk = paramIdx.get(u.param)!;
      paramInfo[pk] = { ...paramInfo[pk]!, trained: true };
      const ps = paramShape.get(u.param)!;
      const D = `D${pk}`;
      const parts: string[] = [];
      for (const term of u.terms) {
        const sig = program.signals.find((s) => s.name === term.signal)!;
        const l = lam.get(term.signal)!;
        const d = pairDims(stateShape.get(sig.state)!, ps);
        const f = term.factor;
        if (f.kind === 'trace') {
          const tb = traceBuf.get(f.trace)!;
          parts.push(contractCode(`LV`, l, tb.storage, cur(tb), tb.d, D));
        } else if (f.kind === 'direct') {
          parts.push(contractBlock(l, blockRef(f.block), d, D));
        } else {
          const e = bufOf(f.block);
          const mu = lv.alloc(sizeOf(e.spec.inShape));
          parts.push(`LV.fill(0, ${mu}, ${mu + sizeOf(e.spec.inShape)});`);
          parts.push(vjpCode(l, e.spec, e.off, mu));
          const tb = traceBuf.get(f.trace)!;
          parts.push(contractCode('LV', mu, tb.storage, prev(tb), tb.d, D));
        }
      }
      for (const lp of u.lossPrevious) {
        const e = bufOf(lp.block);
        const tb = traceBuf.get(lp.trace)!;
        parts.push(contractCode('BV', e.off, tb.storage, prev(tb), tb.d, D));
      }
      code.push(`// ${u.equation.text}\n${parts.join('\n')}`);
    };
    // Per parameter: its traces and its update fused into one pass over the parameter's rows where the
    // program's structure allows (fused.ts), else one loop per term.
    for (const w of program.params) {
      const trs = program.traces.filter((t) => t.param === w.name);
      const u = program.updates.find((x) => x.param === w.name);
      if (u) {
        const pk = paramIdx.get(u.param)!;
        paramInfo[pk] = { ...paramInfo[pk]!, trained: true };
      }
      if (extendedParam(program, w.name)) {
        // Factored filters, SnAp-2 patterns, quantised traces: approximations.ts's loops (JavaScript), never the fused ones.
        const asText = (f: () => void): string => {
          const before = code.length;
          f();
          return code.splice(before).join('\n');
        };
        code.push(
          extendedParamCode({
            program,
            param: w.name,
            traceBuf,
            bufOf,
            lam,
            lv,
            stateShape,
            paramShape: paramShape.get(w.name)!,
            vjp: vjpCode,
            contract: contractCode,
            D: `D${paramIdx.get(w.name)!}`,
            unfusedTrace: (tr) => asText(() => unfusedTrace(tr)),
            unfusedUpdate: (x) => asText(() => unfusedUpdate(x)),
          }),
        );
        continue;
      }
      const fused =
        trs.length && !opts.unfused
          ? fuseParam({
              P: paramShape.get(w.name)!,
              param: paramIdx.get(w.name)!,
              trs,
              u,
              traceBuf,
              bufOf,
              blockRef,
              lam,
              lv,
              stateShape,
              signals: program.signals,
              vjp: vjpCode,
              unfusedTrace: (tr) => {
                const before = code.length;
                unfusedTrace(tr);
                return code.splice(before).join('\n');
              },
              ...(opts.refine ? { refine: opts.refine } : {}),
            })
          : null;
      if (fused !== null) {
        // A placeholder: the loop's code (JavaScript or a WebAssembly call) is chosen once the memory layout is known.
        code.push(`/*@loop ${loops.length}@*/`);
        loops.push(fused);
        for (const b of fused.inPlace) inPlace.add(b);
      } else {
        trs.forEach(unfusedTrace);
        if (u) unfusedUpdate(u);
      }
    }
    // A parameter read by the loss only (a readout) is trained through its direct block.
    for (const b of program.blocks)
      if (b.of === 'loss' && b.wrt.kind === 'param') paramInfo[paramIdx.get(b.wrt.name)!] = { ...paramInfo[paramIdx.get(b.wrt.name)!]!, trained: true };

    const swap = traces
      .filter((t) => t.carried && !inPlace.has(t.buf))
      .map((t) => `{ const s = TP${t.buf}; TP${t.buf} = TN${t.buf}; TN${t.buf} = s; }`)
      .join('\n');
    // The fused loops' carried state beyond the trace buffers (saved coefficients): zeroed with the traces at the
    // start of a sequence and, under `truncate K`, at steps K, 2K, … (every carried value restarts, so the exact
    // rewrites — column, factored and in-place traces — restart with the traces they stand for).
    const loopResets = loops.flatMap((l) => l.resets.map(([o, n]) => `LV.fill(0, ${o}, ${o + n});`));
    initCode = [...traces.filter((t) => t.carried).map((t) => `TP${t.buf}.fill(0);`), ...loopResets].join('\n');
    stepCode = `${truncateCode(program, traces, loopResets)}\n${forwardCode}\n${code.join('\n')}\n${stepTail.join('\n')}\n${advance}\n${swap}`;
  } else if (mode === 'bptt') {
    // Backward: one sweep over the whole step. Sources: the states at t (their adjoints carry to the
    // step before) and the parameters (into the gradient accumulators).
    const sources = new Set<number>(spec.states.map((s) => s.leaf));
    const params = new Map<number, 'D' | 'G' | 'skip'>();
    for (const p of spec.params) {
      sources.add(p.leaf);
      params.set(p.leaf, 'D');
    }
    paramInfo.forEach((p, k) => {
      paramInfo[k] = { ...p, trained: true };
    });
    const cone = new Set(V.map((v) => v.id));
    const carry = new Map<string, number>();
    for (const s of nexts) {
      carry.set(s.name, carrySize);
      carrySize += sizeOf(s.shape);
    }
    const seeds = [`G[${gc.gSlot(spec.loss)}] = w;`];
    for (const s of nexts) seeds.push(`for (let i = 0; i < ${sizeOf(s.shape)}; i++) G[${gc.gSlot(s.next)} + i] = CR[${carry.get(s.name)!} + i];`);
    const body = gc.sweep({ cone, sources, params, seed: seeds.join('\n') });
    const saveCarry = nexts
      .map((s) =>
        gc.gOff[s.leaf]! >= 0
          ? `for (let i = 0; i < ${sizeOf(s.shape)}; i++) CR[${carry.get(s.name)!} + i] = G[${gc.gOff[s.leaf]!} + i];`
          : `CR.fill(0, ${carry.get(s.name)!}, ${carry.get(s.name)! + sizeOf(s.shape)});`,
      )
      .join('\n');
    // The tape: per-sample values the partials read.
    const need = new Set<number>();
    for (const v of V) {
      if (leafIds.has(v.id) && v.op !== 'state') continue;
      v.inputs.forEach((_, k) => {
        for (const r of partialReads(v, k)) if (gc.aOff[r]! >= 0 && !gc.shared[r]) need.add(r);
      });
    }
    for (const s of spec.states) need.add(s.leaf);
    tape = [...need].sort((a, b) => a - b);
    const ranges: [number, number][] = [];
    for (const id of tape) {
      const o = gc.aOff[id]!;
      const n = sizeOf(V[id]!.shape);
      const last = ranges[ranges.length - 1];
      if (last && last[0] + last[1] === o) last[1] += n;
      else ranges.push([o, n]);
    }
    const tapeSize = ranges.reduce((a, r) => a + r[1], 0);
    const save: string[] = [];
    const load: string[] = [];
    let q = 0;
    for (const [o, n] of ranges) {
      save.push(`TAPE.set(A.subarray(${o}, ${o + n}), t * ${tapeSize} + ${q});`);
      load.push(`A.set(TAPE.subarray(t * ${tapeSize} + ${q}, t * ${tapeSize} + ${q + n}), ${o});`);
      q += n;
    }
    tape = [tapeSize];
    stepCode = `${forwardCode}\n${save.join('\n')}\n${stepTail.join('\n')}\n${advance}`;
    backwardCode = `${load.join('\n')}\n${body}\n${saveCarry}${opts.truncate !== undefined ? `\nif (t > 0 && t % ${opts.truncate} === 0) CR.fill(0);` : ''}`;
    initCode = 'CR.fill(0);';
  } else {
    stepCode = `${forwardCode}\n${stepTail.join('\n')}\n${advance}`;
  }

  const scratch = Math.max(1, ...V.map((v) => sizeOf(v.shape)));
  const sizes = {
    A: gc.aSize,
    G: gc.gSize,
    BV: bv.size,
    LV: lv.size,
    scratch,
    traces: traces.map((t) => t.size),
    transposes: [...gc.transposed].map((id) => ({ id, size: sizeOf(V[id]!.shape) })),
    tape: tape[0] ?? 0,
    carry: carrySize,
    inPlace: [...inPlace],
  };
  // The fused loops: WebAssembly where asked (or picked) and a loop fits, JavaScript otherwise.
  const want = opts.backend ?? 'auto';
  const refine = opts.refine ?? DEFAULT_REFINEMENTS;
  const useWasm = loops.length + gc.kernels.length > 0 && (want === 'wasm' || (want === 'auto' && AUTO_BACKEND === 'wasm')) && wasmSimdSupported();
  const layout = useWasm
    ? layoutOf(
        sizes,
        paramInfo.map((p) => p.size),
        nIn,
      )
    : undefined;
  const fns: WasmFn[] = [];
  const jsWhy = (unfit: string | null): string =>
    !layout ? (want === 'js' ? 'asked' : !wasmSimdSupported() ? 'no WebAssembly SIMD here' : 'JavaScript is the faster here') : (unfit ?? '');
  const loopInfo: { what: string; backend: 'js' | 'wasm'; why?: string; refined?: Readonly<Record<string, Refinement>> }[] = [];
  let readsX = false;
  /** Parameters whose update a SIMD loop adds into the float32 accumulator. */
  const f32Acc = new Set<number>();
  const loopCode = loops.map((l, k) => {
    const what = l.comment.replace(/^fused over the rows of the parameter: /, '');
    const w = layout ? fusedWasm(l, layout, `f${k}`, refine.has('f32-partials')) : null;
    if (!w) {
      loopInfo.push({ what, backend: 'js', why: jsWhy(wasmUnfit(l)), refined: l.refined });
      return fusedJs(l);
    }
    loopInfo.push({ what, backend: 'wasm', refined: l.refined });
    fns.push(w.fn);
    if (l.update && refine.has('f32-partials')) f32Acc.add(l.update.param);
    // The input operand of W @ x in any of the loop's values: its rows, its column traces (W1 @ x[t+1] kept per column) or its update.
    if (JSON.stringify([l.fresh, l.cols, l.update]).includes('"arr":"X"')) readsX = true;
    return `// ${l.comment} (WebAssembly)\n${l.pre}\nWX.f${k}(${w.args.join(', ')});`;
  });
  const kernelCode = gc.kernels.map((kern, k) => {
    const m = kern.spec;
    const what = `${m.k === 'mv' ? 'M @ v' : m.k === 'mvT' ? 'Mᵀ · adjoint' : 'adjoint ⊗ v'} (${m.m} × ${m.kk})`;
    const w = layout ? matWasm(m, layout, `m${k}`) : null;
    if (!w) {
      loopInfo.push({ what, backend: 'js', why: jsWhy(layout ? matUnfit(m, layout) : null) });
      return kern.js;
    }
    loopInfo.push({ what, backend: 'wasm' });
    fns.push(w);
    if ((m.k === 'mv' || m.k === 'outer') && m.c.arr === 'X') readsX = true;
    return kern.withCall ? kern.withCall(`WX.m${k}();`) : `WX.m${k}();`;
  });
  if (layout && f32Acc.size)
    fns.push(
      flushWasm(
        [...f32Acc].map((k) => ({ k, size: paramInfo[k]!.size })),
        layout,
      ),
    );
  // Float32 partial sums of at most 16 steps (every step while a replay checks each one), then float64.
  const flushStep = layout && f32Acc.size ? 'if ((t & 15) === 15 || everyStep) WX.flush();' : '';
  const flushEnd = layout && f32Acc.size ? 'WX.flush();' : '';
  const wasm = layout && fns.length ? { module: wasmModule(fns, pagesFor(layout.bytes)), layout, pages: pagesFor(layout.bytes) } : undefined;
  const copyX = readsX && wasm ? `for (let i = 0; i < ${nIn}; i++) XS[i] = X[xo + i];\n` : '';
  const resolve = (c: string): string =>
    c.replace(/\/\*@loop (\d+)@\*\//g, (_m, k: string) => loopCode[Number(k)]!).replace(/\/\*@mk (\d+)@\*\//g, (_m, k: string) => kernelCode[Number(k)]!);
  stepCode = copyX + resolve(stepCode);
  if (backwardCode) backwardCode = copyX + resolve(backwardCode);
  const preparedShared = resolve(sharedCode);
  // ---------------- the function
  const paramBind = spec.params.map((_, k) => `const P${k} = E.P[${k}], D${k} = E.D[${k}];`).join('\n');
  const constBind = gc.consts.items.map((_, k) => `const K${k} = E.K[${k}];`).join('\n');
  const trBind = [...gc.transposed].map((id) => `const TR${id} = E.TR[${id}];`).join('\n');
  const traceBind = traces.map((t) => `let TN${t.buf} = E.TRC[${t.buf}][0], TP${t.buf} = E.TRC[${t.buf}][1];`).join('\n');
  const code = `"use strict";
const A = E.A, G = E.G, BV = E.BV, LV = E.LV, RS = E.RS, NZ = E.NZ, CR = E.CR, F = E.F, WX = E.WX, XS = E.XS;
${paramBind}
${constBind}
${trBind}
${gc.bindings()}
${mode === 'online' && opts.program?.quantize ? HELPERS_SOURCE : ''}
/** Shared values (parameters and constants only) and transposes: once per batch. */
function prepare() {
${preparedShared}
${gc.transposes()}
}
/**
 * One sequence b of the batch: T steps. Returns its weighted loss, or NaN
 * when cancelled (the flag is read every step). first: the batch's first
 * sequence on this thread (constant blocks are computed then).
 */
function run(b, first, check, everyStep) {
  // The buffers again as locals of this function (the optimiser keeps them in registers, not context slots).
  const A = E.A, G = E.G, BV = E.BV, LV = E.LV, RS = E.RS, NZ = E.NZ, CR = E.CR, WX = E.WX, XS = E.XS;
${paramBind}
${constBind}
${trBind}
  const X = E.X, Y = E.Y, WT = E.W, PRD = E.PRD, CF = E.CF, TAPE = E.TAPE;
  const B = E.B, T = E.T, invB = 1 / B;
  ${traceBind}
  let loss = 0;
${reset}
${initCode}
  for (let t = 0; t < T; t++) {
    if (CF[0] !== 0) return NaN;
    const xo = (t * B + b) * ${nIn}, yo = (t * B + b) * ${nOut}, w = WT[t * B + b] * invB;
${stepCode}
    ${flushStep}
    if (check !== null && check(t)) break;
    first = false;
  }
  ${flushEnd}
${
  mode === 'bptt'
    ? `  for (let t = T - 1; t >= 0; t--) {
    if (CF[0] !== 0) return NaN;
    const xo = (t * B + b) * ${nIn}, yo = (t * B + b) * ${nOut}, w = WT[t * B + b] * invB;
${backwardCode}
    if (check !== null && check(t)) break;
  }`
    : ''
}
${traces.length ? `  E.TRC.forEach((p, k) => { p[0] = [${traces.map((t) => `TN${t.buf}`).join(', ')}][k]; p[1] = [${traces.map((t) => `TP${t.buf}`).join(', ')}][k]; });` : ''}
  return loss;
}
return { prepare, run };
`;
  const aBytes =
    4 * gc.aSize +
    8 * (gc.gSize + bv.size + lv.size) +
    traces.reduce((a, t) => a + 4 * t.size * (t.carried && !inPlace.has(t.buf) ? 2 : 1), 0) +
    [...gc.transposed].reduce((a, id) => a + 4 * sizeOf(V[id]!.shape), 0) +
    8 * spec.params.reduce((a, p) => a + sizeOf(p.shape), 0);
  return {
    mode,
    code,
    consts: gc.consts.items,
    sizes,
    ...(wasm ? { wasm } : {}),
    loops: loopInfo,
    params: paramInfo,
    surrogates: [...gc.surrogates].map((id) => ({ id, surrogate: V[id]!.attrs.surrogate })),
    helpers: [...gc.helpers],
    nIn,
    nOut,
    hasPrediction: spec.prediction !== undefined,
    bytesPerThread: aBytes,
    tapeBytesPerStep: 4 * (tape[0] ?? 0),
  };
}

// ------------------------------------------------------------ kernels of the program (rules/execute.ts, generated)

function copyCode(from: Slot, to: number, n: number): string {
  return n === 1 ? `BV[${to}] = ${at(from, '0')};` : `for (let k = 0; k < ${n}; k++) BV[${to} + k] = ${at(from, 'k')};`;
}

/** μ[B] += λ[A]ᵀ E (a state-to-state or loss block). */
export function vjpCode(l: number, e: BlockSpec, eo: number, into: number): string {
  const A = sizeOf(e.outShape);
  const Bn = sizeOf(e.inShape);
  switch (e.form) {
    case 'scalar':
      return `{ const c = BV[${eo}]; for (let k = 0; k < ${Bn}; k++) LV[${into} + k] += c * LV[${l} + k]; }`;
    case 'diagonal':
      return `for (let k = 0; k < ${Bn}; k++) LV[${into} + k] += BV[${eo} + k] * LV[${l} + k];`;
    case 'dense':
      return `for (let a = 0; a < ${A}; a++) { const c = LV[${l} + a]; if (c === 0) continue; const o = ${eo} + a * ${Bn}; for (let k = 0; k < ${Bn}; k++) LV[${into} + k] += c * BV[o + k]; }`;
    default:
      throw new StepCompileError(`internal: a vector-Jacobian product with a ${e.form} block between states`);
  }
}

/** E · G^{src} added into the target trace (its storage embeds the product's: shared ⊂ row ⊂ dense). */
export function blockTimesTrace(
  e: BlockSpec,
  eo: number,
  src: TraceBuf,
  S: string,
  tgt: TraceBuf,
  T: string,
): { code: (assign: boolean) => string; covers: boolean } {
  const { J, P, R } = tgt.d;
  const Js = src.d.J;
  const PR = P * R;
  const prod: TraceStorage = e.form === 'scalar' ? src.storage : e.form === 'diagonal' ? (src.storage === 'dense' ? 'dense' : 'row') : 'dense';
  if (RANK[prod] > RANK[tgt.storage]) throw new StepCompileError(`internal: cannot add a ${prod} product into the ${tgt.storage} trace ${tgt.name}`);
  const embed = prod !== tgt.storage;
  const covers = !embed && !(e.form === 'dense' && src.storage === 'dense');
  const code = (assign: boolean): string => {
    const op = assign ? '=' : '+=';
    if (e.form === 'scalar') {
      const c = `BV[${eo}]`;
      if (!embed) return `{ const c = ${c}; for (let q = 0; q < ${tgt.size}; q++) ${T}[q] ${op} c * ${S}[q]; }`;
      if (tgt.storage === 'row')
        return `{ const c = ${c}; for (let j = 0; j < ${J}; j++) { const o = j * ${R}; for (let r = 0; r < ${R}; r++) ${T}[o + r] += c * ${S}[r]; } }`;
      return `{ const c = ${c}; for (let j = 0; j < ${Math.min(J, P)}; j++) { const o = (j * ${P} + j) * ${R}, s = ${src.storage === 'row' ? `j * ${R}` : '0'}; for (let r = 0; r < ${R}; r++) ${T}[o + r] += c * ${S}[s + r]; } }`;
    }
    if (e.form === 'diagonal') {
      if (src.storage === 'dense')
        return `for (let j = 0; j < ${J}; j++) { const c = BV[${eo} + j], o = j * ${PR}; for (let q = 0; q < ${PR}; q++) ${T}[o + q] ${op} c * ${S}[o + q]; }`;
      const s = src.storage === 'row' ? 'o' : '0';
      if (!embed)
        return `for (let p = 0; p < ${P}; p++) { const c = BV[${eo} + p], o = p * ${R}, s = ${s}; for (let r = 0; r < ${R}; r++) ${T}[o + r] ${op} c * ${S}[s + r]; }`;
      return `for (let j = 0; j < ${Math.min(J, P)}; j++) { const c = BV[${eo} + j], o = (j * ${P} + j) * ${R}, s = ${src.storage === 'row' ? `j * ${R}` : '0'}; for (let r = 0; r < ${R}; r++) ${T}[o + r] += c * ${S}[s + r]; }`;
    }
    if (e.form !== 'dense') throw new StepCompileError(`internal: a ${e.form} block between states`);
    if (src.storage === 'dense') {
      return `for (let a = 0; a < ${J}; a++) { const o = a * ${PR}; for (let j = 0; j < ${Js}; j++) { const c = BV[${eo} + a * ${Js} + j]; if (c === 0) continue; const s = j * ${PR}; for (let q = 0; q < ${PR}; q++) ${T}[o + q] += c * ${S}[s + q]; } }`;
    }
    // G^{src}[j, p, r] = δ(j, p) V[p or ·, r]: (E·G)[a, p, r] = E[a, p] · V[p, r].
    const s = src.storage === 'row' ? `p * ${R}` : '0';
    return `for (let a = 0; a < ${J}; a++) for (let p = 0; p < ${P}; p++) { const c = BV[${eo} + a * ${Js} + p], o = (a * ${P} + p) * ${R}, s = ${s}; for (let r = 0; r < ${R}; r++) ${T}[o + r] ${op} c * ${S}[s + r]; }`;
  };
  return { code, covers };
}

/** A parameter block F^{a,W} added into the trace (blockAsTrace, then accumulate). */
function directTerm(ref: BlockRef, tgt: TraceBuf, T: string): { code: (assign: boolean) => string; covers: boolean } {
  const { J, P, R } = tgt.d;
  if (ref.kind === 'grad') throw new StepCompileError('internal: a loss block in a trace');
  if (ref.kind === 'factored') {
    const storage: TraceStorage = ref.spec.form === 'shared' ? 'shared' : 'row';
    const embed = storage !== tgt.storage;
    const rowOf = (m: number): string => (storage === 'shared' ? `BV[${ref.f[m]!}]` : `BV[${ref.f[m]!} + p]`);
    const code = (assign: boolean): string => {
      const lines: string[] = [];
      ref.v.forEach((v, m) => {
        const op = assign && m === 0 ? '=' : '+=';
        if (storage === 'shared' && tgt.storage === 'shared')
          lines.push(`{ const c = BV[${ref.f[m]!}]; for (let r = 0; r < ${R}; r++) ${T}[r] ${op} c * ${at(v, 'r')}; }`);
        else if (!embed || tgt.storage === 'row')
          lines.push(
            `for (let p = 0; p < ${tgt.storage === 'row' ? J : P}; p++) { const c = ${rowOf(m)}, o = p * ${R}; for (let r = 0; r < ${R}; r++) ${T}[o + r] ${embed ? '+=' : op} c * ${at(v, 'r')}; }`,
          );
        else
          lines.push(
            `for (let p = 0; p < ${Math.min(J, P)}; p++) { const c = ${rowOf(m)}, o = (p * ${P} + p) * ${R}; for (let r = 0; r < ${R}; r++) ${T}[o + r] += c * ${at(v, 'r')}; }`,
          );
      });
      return lines.join('\n');
    };
    return { code, covers: !embed };
  }
  const f = ref.spec.form;
  const storage: TraceStorage = f === 'scalar' || f === 'shared' ? 'shared' : f === 'diagonal' || f === 'row' ? 'row' : 'dense';
  const o = ref.off;
  const embed = storage !== tgt.storage;
  const code = (assign: boolean): string => {
    const op = assign ? '=' : '+=';
    if (!embed) return `for (let q = 0; q < ${tgt.size}; q++) ${T}[q] ${op} BV[${o} + q];`;
    if (tgt.storage === 'row') return `for (let j = 0; j < ${J}; j++) { const s = j * ${R}; for (let r = 0; r < ${R}; r++) ${T}[s + r] += BV[${o} + r]; }`;
    return `for (let j = 0; j < ${Math.min(J, P)}; j++) { const s = (j * ${P} + j) * ${R}, f = ${storage === 'row' ? `j * ${R}` : '0'}; for (let r = 0; r < ${R}; r++) ${T}[s + r] += BV[${o} + f + r]; }`;
  };
  return { code, covers: !embed };
}

/** ΔW[p, r] += Σ_j λ[j] G[j, p, r] (λ in `arr` at `l`, G's values at `G[go + …]`). */
export function contractCode(arr: string, l: number, storage: TraceStorage, G: string, d: PairDims, D: string, go = 0): string {
  const { J, P, R } = d;
  const PR = P * R;
  const base = go ? `${go} + ` : '';
  if (storage === 'dense')
    return `for (let j = 0; j < ${J}; j++) { const c = ${arr}[${l} + j]; if (c === 0) continue; const o = ${base}j * ${PR}; for (let q = 0; q < ${PR}; q++) ${D}[q] += c * ${G}[o + q]; }`;
  const s = storage === 'row' ? `${base}o` : go ? String(go) : '0';
  return `for (let p = 0; p < ${P}; p++) { const c = ${arr}[${l} + p]; if (c === 0) continue; const o = p * ${R}, s = ${s}; for (let r = 0; r < ${R}; r++) ${D}[o + r] += c * ${G}[s + r]; }`;
}

/** ΔW += λ · F for a parameter block F (the update's direct factor). */
function contractBlock(l: number, ref: BlockRef, d: PairDims, D: string): string {
  const { P, R } = d;
  if (ref.kind === 'grad') throw new StepCompileError('internal: a loss block as an update factor');
  if (ref.kind === 'factored') {
    return ref.v
      .map((v, m) => {
        const f = ref.spec.form === 'shared' ? `BV[${ref.f[m]!}]` : `BV[${ref.f[m]!} + p]`;
        return `for (let p = 0; p < ${P}; p++) { const c = LV[${l} + p] * ${f}; if (c === 0) continue; const o = p * ${R}; for (let r = 0; r < ${R}; r++) ${D}[o + r] += c * ${at(v, 'r')}; }`;
      })
      .join('\n');
  }
  const f = ref.spec.form;
  const storage: TraceStorage = f === 'scalar' || f === 'shared' ? 'shared' : f === 'diagonal' || f === 'row' ? 'row' : 'dense';
  return contractCode('LV', l, storage, 'BV', d, D, ref.off);
}
