// From approximated blocks to the online update program (program.ts), with
// its per-step cost counted by the elimination engine's product and sum
// rules (ad/sparsity.ts: Graphax's get_num_muls, one addition per stored
// value of a sum).
//
// The structure of each trace G^{a,W} is found symbolically: its sparsity at
// step t+1 is Σ E·G[t] + Σ E'·G[t+1] + F; iterating from G[0] = 0 and taking
// the join (sum) over steps reaches a fixed point in a few rounds — the
// structure that holds at every step. Diagonal recurrent blocks keep traces
// row-structured (per synapse); one dense recurrent block makes them dense
// (RTRL's n × n² sensitivity).

import { sizeOf, type Shape } from '../graph/types.js';
import { addSparsity, bytesOf, denseSparsity, mulSparsity, type Sparsity } from '../ad/sparsity.js';
import { classify, type ApproximatedBlocks, type Block, type StepStructure } from './blocks.js';
import type {
  BlockSpec,
  FilteredTerm,
  OnlineProgram,
  Rendered,
  SignalSpec,
  ThreeFactor,
  TraceSpec,
  TraceStorage,
  TraceTerm,
  UpdateFactor,
  UpdateSpec,
  UpdateTerm,
} from './program.js';
import { blockSymbol, DOT, join, latexName, PLUS, signalName, signalSymbol, traceName, traceSymbol } from './render.js';
import { describeSparsity } from '../ad/sparsity.js';
import { snapPattern } from './topk.js';

/** Per-step cost of an online program, counted with the engine's product and sum rules. */
export interface OnlineCost {
  readonly multiplications: number;
  readonly additions: number;
  /** Of which: phase 1 (the step's blocks from its elemental graph). */
  readonly localMultiplications: number;
  /** Bytes of the traces carried from step to step. */
  readonly carriedBytes: number;
  /** Bytes of traces used only within a step. */
  readonly transientBytes: number;
}

export interface Derived {
  readonly program: OnlineProgram;
  /** The engine's sparsity of every trace (over all steps). */
  readonly traceSparsity: ReadonlyMap<string, Sparsity>;
  readonly cost: OnlineCost;
}

function storageOf(s: Sparsity, stateShape: Shape, paramShape: Shape): { storage: TraceStorage; valueShape: number[] } {
  const c = classify(s);
  const dense = { storage: 'dense' as const, valueShape: [...stateShape, ...paramShape] };
  if (stateShape.length !== 1 || paramShape.length < 1 || stateShape[0] !== paramShape[0]) return dense;
  switch (c.form) {
    case 'scalar':
      return { storage: 'shared', valueShape: paramShape.slice(1) };
    case 'diagonal':
      return { storage: 'row', valueShape: [...paramShape] };
    case 'shared':
      return { storage: 'shared', valueShape: c.valueShape };
    case 'row':
      return { storage: 'row', valueShape: c.valueShape };
    case 'dense':
      return dense;
  }
}

function sumInto(acc: Sparsity | null, s: Sparsity): Sparsity {
  return acc === null ? s : addSparsity(acc, s).sparsity;
}

/** Rule-wide approximations the program carries (rules/rule.ts RuleSpec). */
export interface ProgramOptions {
  readonly truncate?: number;
  readonly quantize?: { readonly bits: number; readonly rounding: 'nearest' | 'stochastic'; readonly seed: number };
}

/** H(o,W): the filtered trace of a factored scalar filter o. */
function filteredSymbol(state: string, param: string, time?: 't' | 't+1'): Rendered {
  return {
    text: `H(${state},${param})${time ? `[${time}]` : ''}`,
    latex: `H^{${latexName(state)},${latexName(param)}}${time ? `_{${time}}` : ''}`,
  };
}

export function deriveProgram(structure: StepStructure, approx: ApproximatedBlocks, ruleName: string | null, opts: ProgramOptions = {}): Derived {
  const blocks = approx.blocks;
  const order = structure.updated.map((s) => s.name);
  const stateShape = new Map(structure.states.map((s) => [s.name, s.shape]));
  const byOf = new Map<string, Block[]>();
  for (const b of blocks) {
    const l = byOf.get(b.of) ?? [];
    l.push(b);
    byOf.set(b.of, l);
  }
  const stateBlocks = (a: string): Block[] => (byOf.get(a) ?? []).filter((b) => b.wrt.kind === 'state');
  const paramBlock = (a: string, w: string): Block | undefined => (byOf.get(a) ?? []).find((b) => b.wrt.kind === 'param' && b.wrt.name === w);
  const lossBlocks = byOf.get('loss') ?? [];
  const used = new Set<string>();
  let muls = 0;
  let adds = 0;

  // ---- learning signals: λ^a = ℓ^a + Σ_c λ^c E^{c,a'} (reverse equation order)
  const signals: SignalSpec[] = [];
  const signalOf = new Map<string, SignalSpec>();
  const signalSp = new Map<string, Sparsity>();
  const feedbackSpecs: BlockSpec[] = (approx.feedback ?? []).map((f) => {
    const wrt = { name: f.to, kind: 'state' as const, offset: 1 as const };
    return {
      id: f.id,
      of: f.from,
      wrt,
      outShape: stateShape.get(f.from)!,
      inShape: stateShape.get(f.to)!,
      form: 'dense' as const,
      valueShape: [...f.shape],
      approximation: 'local' as const,
      constant: true,
      sparsity: `dense ${f.shape.join('×')}, fixed random`,
      feedback: f.feedback,
      symbol: { text: `B(${f.from}→${f.to})`, latex: `B^{${latexName(f.from)}\to ${latexName(f.to)}}` },
    };
  });
  for (const a of [...order].reverse()) {
    const direct = lossBlocks.find((b) => b.wrt.kind === 'state' && b.wrt.name === a && b.wrt.offset === 1);
    const terms: { signal: string; block: string }[] = [];
    let sp: Sparsity | null = direct ? direct.sparsity : null;
    // `local`: the output error fed back to this layer through a fixed random matrix (layer-local e-prop).
    for (const f of approx.feedback ?? []) {
      if (f.to !== a) continue;
      const lc = signalOf.get(f.from);
      if (!lc) continue;
      terms.push({ signal: lc.name, block: f.id });
      const p = mulSparsity(signalSp.get(f.from)!, denseSparsity(stateShape.get(f.from)!, stateShape.get(a)!));
      muls += p.multiplications;
      if (sp !== null) adds += addSparsity(sp, p.sparsity).additions;
      sp = sumInto(sp, p.sparsity);
    }
    for (const c of order) {
      const lc = signalOf.get(c);
      if (!lc) continue;
      const e = stateBlocks(c).find((b) => b.wrt.name === a && b.wrt.offset === 1);
      if (!e) continue;
      terms.push({ signal: lc.name, block: e.id });
      used.add(e.id);
      const p = mulSparsity(signalSp.get(c)!, e.sparsity);
      muls += p.multiplications;
      if (sp !== null) adds += addSparsity(sp, p.sparsity).additions;
      sp = sumInto(sp, p.sparsity);
    }
    if (!direct && terms.length === 0) continue;
    if (direct) used.add(direct.id);
    const sym = signalSymbol(a);
    const rhs: Rendered[] = [];
    if (direct) rhs.push(blockSymbol('loss', direct.wrt));
    for (const t of terms) {
      const fb = feedbackSpecs.find((b) => b.id === t.block);
      const e = blocks.find((b) => b.id === t.block);
      rhs.push(join([signalSymbol(signals.find((s) => s.name === t.signal)!.state), fb ? fb.symbol : blockSymbol(e!.of, e!.wrt)], DOT));
    }
    const spec: SignalSpec = {
      name: signalName(a),
      state: a,
      shape: stateShape.get(a)!,
      ...(direct ? { direct: direct.id } : {}),
      terms,
      symbol: sym,
      equation: { text: `${sym.text} = ${join(rhs, PLUS).text}`, latex: `${sym.latex} = ${join(rhs, PLUS).latex}` },
    };
    signals.push(spec);
    signalOf.set(a, spec);
    signalSp.set(a, sp!);
  }

  // ---- traces: structure by fixed point, per parameter
  const traces: TraceSpec[] = [];
  const traceSparsity = new Map<string, Sparsity>();
  const updates: UpdateSpec[] = [];
  const untrained: string[] = [];
  const needed = new Set<string>();
  const carried = new Set<string>();
  const pending: { param: string; spec: Omit<TraceSpec, 'carried'> }[] = [];

  for (const w of structure.params) {
    let G = new Map<string, Sparsity>();
    for (let round = 0; round < 64; round++) {
      const fresh = new Map<string, Sparsity>();
      for (const a of order) {
        let acc: Sparsity | null = null;
        for (const e of stateBlocks(a)) {
          const g = e.wrt.offset === 0 ? G.get(e.wrt.name) : fresh.get(e.wrt.name);
          if (!g) continue;
          const p = mulSparsity(e.sparsity, g);
          if (p.sparsity.form === 'zero') continue;
          acc = sumInto(acc, p.sparsity);
        }
        const f = paramBlock(a, w.name);
        if (f) acc = sumInto(acc, f.sparsity);
        if (acc && acc.form !== 'zero') fresh.set(a, acc);
      }
      const joined = new Map<string, Sparsity>();
      let changed = false;
      for (const a of order) {
        const o = G.get(a);
        const n = fresh.get(a);
        const j = o && n ? addSparsity(o, n).sparsity : (o ?? n);
        if (j) joined.set(a, j);
        if ((j?.key ?? '') !== (o?.key ?? '')) changed = true;
      }
      G = joined;
      if (!changed) break;
    }
    const stored = (a: string): number => sizeOf(storageOf(G.get(a)!, stateShape.get(a)!, w.shape).valueShape);
    const factored = factorFilters(structure, approx, w.name, G, stateBlocks, paramBlock, lossBlocks, stored);
    const nameOf = (a: string): string => (factored.has(a) ? `H_${a}_${w.name}` : traceName(a, w.name));
    const symOf = (a: string, time?: 't' | 't+1'): Rendered => (factored.has(a) ? filteredSymbol(a, w.name, time) : traceSymbol(a, w.name, time));
    // Terms of every trace of this parameter.
    const termsOf = new Map<string, TraceTerm[]>();
    for (const a of order) {
      if (!G.has(a)) continue;
      const terms: TraceTerm[] = [];
      const fa = factored.get(a);
      for (const e of stateBlocks(a)) {
        if (!G.has(e.wrt.name)) continue;
        if (mulSparsity(e.sparsity, G.get(e.wrt.name)!).sparsity.form === 'zero') continue;
        terms.push({
          block: e.id,
          trace: nameOf(e.wrt.name),
          time: e.wrt.offset === 0 ? 'previous' : 'current',
          ...(fa && fa.pulled && e.id === fa.source ? { pulled: true as const } : {}),
        });
      }
      termsOf.set(a, terms);
    }
    // The update: ΔW += Σ_a λ^a Ĝ^{a,W} + ℓ^W + ℓ^{b[t]} G^{b,W}[t].
    const uterms: UpdateTerm[] = [];
    const lossPrevious: { block: string; trace: string }[] = [];
    const needHere = new Set<string>();
    const carryHere = new Set<string>();
    const filteredTerms: FilteredTerm[] = [];
    for (const a of order) {
      const sig = signalOf.get(a);
      if (!sig || !G.has(a)) continue;
      const terms = termsOf.get(a)!;
      const f = paramBlock(a, w.name);
      const fa = factored.get(a);
      if (fa) {
        // λ^a · G^{a,W} = (λ^a · C_1 ⋯ C_m) · H: the learning signal goes through the filter's constant blocks.
        if (terms.every((t) => t.time === 'previous')) filteredTerms.push({ signal: sig.name, trace: nameOf(a), chain: fa.chain, time: 'current' });
        else {
          filteredTerms.push({ signal: sig.name, trace: nameOf(a), chain: fa.chain, time: 'previous', scale: fa.self });
          carryHere.add(a);
        }
        needHere.add(a);
        continue;
      }
      if (terms.every((t) => t.time === 'previous')) {
        uterms.push({ signal: sig.name, factor: { kind: 'trace', trace: traceName(a, w.name) } });
        needHere.add(a);
      } else {
        for (const t of terms) {
          if (t.time !== 'previous') continue;
          const b = t.trace.slice(2, -(w.name.length + 1));
          uterms.push({ signal: sig.name, factor: { kind: 'product', block: t.block, trace: t.trace } });
          needHere.add(b);
          carryHere.add(b);
        }
        if (f) uterms.push({ signal: sig.name, factor: { kind: 'direct', block: f.id } });
      }
    }
    for (const lb of lossBlocks) {
      if (lb.wrt.kind !== 'state' || lb.wrt.offset !== 0 || !G.has(lb.wrt.name)) continue;
      lossPrevious.push({ block: lb.id, trace: traceName(lb.wrt.name, w.name) });
      used.add(lb.id);
      needHere.add(lb.wrt.name);
      carryHere.add(lb.wrt.name);
    }
    // Closure: a needed trace needs its sources (previous ones are carried).
    const stack = [...needHere];
    while (stack.length) {
      const a = stack.pop()!;
      for (const t of termsOf.get(a) ?? []) {
        const e = blocks.find((b) => b.id === t.block)!;
        const b = e.wrt.name;
        if (t.time === 'previous') carryHere.add(b);
        if (!needHere.has(b)) {
          needHere.add(b);
          stack.push(b);
        }
      }
    }
    const direct = lossBlocks.find((b) => b.wrt.kind === 'param' && b.wrt.name === w.name);
    if (direct) used.add(direct.id);
    if (uterms.length === 0 && !direct && lossPrevious.length === 0 && filteredTerms.length === 0) {
      untrained.push(w.name);
      continue;
    }
    for (const a of order) {
      if (!needHere.has(a)) continue;
      const fa = factored.get(a);
      // A factored filter's trace is stored as a trace of its input (the base state): its structure is the base's.
      const home = fa ? fa.base : a;
      const sp = G.get(home)!;
      const name = nameOf(a);
      const { storage, valueShape } = storageOf(sp, stateShape.get(home)!, w.shape);
      const terms = termsOf.get(a)!;
      const f = paramBlock(a, w.name);
      for (const t of terms) used.add(t.block);
      if (f) used.add(f.id);
      for (const c of fa?.chain ?? []) used.add(c);
      const sym = symOf(a);
      const rhs: Rendered[] = terms.map((t) => {
        const e = blocks.find((b) => b.id === t.block)!;
        const src = symOf(e.wrt.name, t.time === 'previous' ? 't' : 't+1');
        return t.pulled ? src : join([blockSymbol(e.of, e.wrt), src], DOT);
      });
      if (f) rhs.push(blockSymbol(f.of, f.wrt));
      const lhs = symOf(a, 't+1');
      traceSparsity.set(name, sp);
      needed.add(name);
      if (carryHere.has(a)) carried.add(name);
      pending.push({
        param: w.name,
        spec: {
          name,
          state: home,
          param: w.name,
          storage,
          logicalShape: [...stateShape.get(home)!, ...w.shape],
          valueShape,
          initial: 'zero',
          terms,
          ...(f ? { direct: f.id } : {}),
          symbol: sym,
          equation: { text: `${lhs.text} = ${join(rhs, PLUS).text}`, latex: `${lhs.latex} = ${join(rhs, PLUS).latex}` },
          ...(fa ? { filtered: { of: a, chain: fa.chain } } : {}),
        },
      });
    }
    for (const ft of filteredTerms) if (ft.scale) used.add(ft.scale);
    updates.push(
      makeUpdate(
        w.name,
        w.shape,
        uterms,
        direct?.id,
        lossPrevious,
        signals,
        blocks,
        pending.map((p) => p.spec),
        filteredTerms,
      ),
    );
  }
  // top(k): dense traces of a parameter whose rows index the masked block's operand keep the SnAp-2 pattern I ∪ M.
  const masks = blocks.filter((b) => b.mask);
  for (const p of pending) {
    const t = p.spec;
    let pattern: number[] | undefined;
    if (masks.length && t.storage === 'dense') {
      const J = sizeOf(stateShape.get(t.state)!);
      const P = structure.params.find((w) => w.name === t.param)!.shape[0] ?? 1;
      const ms = masks.filter((b) => sizeOf(b.sparsity.outShape) === J && sizeOf(b.sparsity.inShape) === P).map((b) => b.mask!);
      if (ms.length) pattern = snapPattern(J, P, ms);
    }
    traces.push({ ...t, carried: carried.has(t.name), ...(pattern ? { pattern } : {}) });
  }

  // ---- cost of one step: traces, updates (signals counted above)
  const spOf = (id: string): Sparsity => blocks.find((b) => b.id === id)!.sparsity;
  let carriedBytes = 0;
  let transientBytes = 0;
  for (const t of traces) {
    if (t.pattern) {
      // A SnAp-2 trace: products and sums over its pattern only (a sparse implementation's count; the
      // Float64 and compiled executors run it dense and drop the entries outside the pattern).
      const c = patternCost(t, traces, blocks, stateShape);
      muls += c.multiplications;
      adds += c.additions;
      if (t.carried) carriedBytes += 8 * c.values;
      else transientBytes += 8 * c.values;
      continue;
    }
    let acc: Sparsity | null = null;
    for (const term of t.terms) {
      // A pulled term adds its source trace as it is (its block is in the filter's chain).
      const e = blocks.find((b) => b.id === term.block)!;
      const src = traceSparsity.get(term.trace)!;
      // A filter's c·I scales each stored value of the trace once (the engine's product rule counts one per element
      // along the Kronecker pair, as if a shared vector were repeated on every row); a factored trace is stored in
      // its input's shape, which c·I leaves as it is.
      const p = term.pulled
        ? { sparsity: src, multiplications: 0 }
        : e.approximation === 'filter' && e.form === 'scalar'
          ? { sparsity: src, multiplications: src.valueCount }
          : mulSparsity(e.sparsity, src);
      muls += p.multiplications;
      if (acc !== null) adds += addSparsity(acc, p.sparsity).additions;
      acc = sumInto(acc, p.sparsity);
    }
    if (t.direct && acc !== null) adds += addSparsity(acc, spOf(t.direct)).additions;
    const bytes = 8 * sizeOf(t.valueShape);
    if (t.carried) carriedBytes += bytes;
    else transientBytes += bytes;
  }
  for (const u of updates) {
    for (const term of u.terms) {
      const sig = signalSp.get(signals.find((s) => s.name === term.signal)!.state)!;
      let p;
      if (term.factor.kind === 'trace') p = mulSparsity(sig, traceSparsity.get(term.factor.trace)!);
      else if (term.factor.kind === 'direct') p = mulSparsity(sig, spOf(term.factor.block));
      else {
        const v = mulSparsity(sig, spOf(term.factor.block));
        muls += v.multiplications;
        p = mulSparsity(v.sparsity, traceSparsity.get(term.factor.trace)!);
      }
      muls += p.multiplications;
      adds += p.sparsity.valueCount;
    }
    for (const lp of u.lossPrevious) {
      const p = mulSparsity(spOf(lp.block), traceSparsity.get(lp.trace)!);
      muls += p.multiplications;
      adds += p.sparsity.valueCount;
    }
    for (const ft of u.filtered ?? []) {
      // μ = λ (· E^{a,a}) · C_1 ⋯ C_m: vector-Jacobian products; then μ · H.
      let v = signalSp.get(signals.find((s) => s.name === ft.signal)!.state)!;
      for (const id of [...(ft.scale ? [ft.scale] : []), ...ft.chain]) {
        const q = mulSparsity(v, spOf(id));
        muls += q.multiplications;
        v = q.sparsity;
      }
      const p = mulSparsity(v, traceSparsity.get(ft.trace)!);
      muls += p.multiplications;
      adds += p.sparsity.valueCount;
    }
    if (u.direct) adds += bytesOf(spOf(u.direct)) / 8;
  }

  const blockSpecs: BlockSpec[] = blocks
    .filter((b) => used.has(b.id))
    .map((b) => ({
      id: b.id,
      of: b.of,
      wrt: b.wrt,
      outShape: b.sparsity.outShape,
      inShape: b.sparsity.inShape,
      form: b.form,
      valueShape: b.valueShape,
      approximation: b.approximation,
      constant: b.constant,
      sparsity: describeSparsity(b.sparsity),
      symbol: blockSymbol(b.of, b.wrt),
      ...(b.feedback ? { feedback: b.feedback } : {}),
      ...(b.mask ? { mask: b.mask } : {}),
    }));
  blockSpecs.push(...feedbackSpecs.filter((b) => signals.some((sg) => sg.terms.some((t) => t.block === b.id))));
  // Quantised traces are stored at their bits, not as Float64.
  if (opts.quantize) {
    let q = 0;
    for (const t of traces) if (t.carried) q += sizeOf(t.valueShape);
    carriedBytes = carriedBytes - 8 * q + Math.ceil((q * opts.quantize.bits) / 8);
    adds += q; // one rounding per stored value (the scale is a power of two: a shift)
  }
  const program: OnlineProgram = {
    version: 1,
    model: structure.model,
    rule: ruleName,
    states: structure.states.map((s) => ({ name: s.name, shape: s.shape })),
    params: structure.params.map((p) => ({ name: p.name, shape: p.shape })),
    blocks: blockSpecs,
    dropped: approx.dropped.map((d) => ({ of: d.of, wrt: d.wrt, approximation: d.approximation })),
    traces,
    signals,
    updates,
    untrained,
    ...(opts.truncate !== undefined ? { truncate: opts.truncate } : {}),
    ...(opts.quantize ? { quantize: opts.quantize } : {}),
    equations: equations(blockSpecs, traces, signals, updates, untrained, opts),
  };
  return {
    program,
    traceSparsity,
    cost: {
      multiplications: muls + structure.local.multiplications,
      additions: adds + structure.local.additions,
      localMultiplications: structure.local.multiplications,
      carriedBytes,
      transientBytes,
    },
  };
}

function makeUpdate(
  param: string,
  shape: Shape,
  terms: UpdateTerm[],
  direct: string | undefined,
  lossPrevious: { block: string; trace: string }[],
  signals: readonly SignalSpec[],
  blocks: readonly Block[],
  traces: readonly Omit<TraceSpec, 'carried'>[],
  filtered: readonly FilteredTerm[] = [],
): UpdateSpec {
  const sigByName = new Map(signals.map((s) => [s.name, s]));
  const blockById = new Map(blocks.map((b) => [b.id, b]));
  const factorSym = (f: UpdateFactor): Rendered => {
    if (f.kind === 'trace') {
      const t = traces.find((x) => x.name === f.trace)!;
      return traceSymbol(t.state, t.param, 't+1');
    }
    if (f.kind === 'direct') {
      const b = blockById.get(f.block)!;
      return blockSymbol(b.of, b.wrt);
    }
    const b = blockById.get(f.block)!;
    return join([blockSymbol(b.of, b.wrt), traceSymbol(b.wrt.name, param, 't')], DOT);
  };
  const parts: Rendered[] = terms.map((t) => join([sigByName.get(t.signal)!.symbol, factorSym(t.factor)], DOT));
  for (const lp of lossPrevious) {
    const b = blockById.get(lp.block)!;
    parts.push(join([blockSymbol(b.of, b.wrt), traceSymbol(b.wrt.name, param, 't')], DOT));
  }
  for (const ft of filtered) {
    const t = traces.find((x) => x.name === ft.trace)!;
    const chain = [...(ft.scale ? [ft.scale] : []), ...ft.chain].map((id) => {
      const b = blockById.get(id)!;
      return blockSymbol(b.of, b.wrt);
    });
    const mu = join([sigByName.get(ft.signal)!.symbol, ...chain], DOT);
    parts.push(
      join([{ text: `(${mu.text})`, latex: `\\left(${mu.latex}\\right)` }, filteredSymbol(t.filtered!.of, t.param, ft.time === 'current' ? 't+1' : 't')], DOT),
    );
  }
  if (direct) {
    const b = blockById.get(direct)!;
    parts.push(blockSymbol(b.of, b.wrt));
  }
  const lhs = { text: `Δ${param}`, latex: `\\Delta ${latexName(param)}` };
  const threeFactor: ThreeFactor[] = [];
  for (const t of terms) {
    if (t.factor.kind === 'product') continue;
    // Walk up from λ^a through single diagonal blocks: those are the postsynaptic factors.
    let sig = sigByName.get(t.signal)!;
    const post: string[] = [];
    for (;;) {
      if (sig.direct || sig.terms.length !== 1) break;
      const e = blockById.get(sig.terms[0]!.block);
      if (!e || (e.form !== 'diagonal' && e.form !== 'scalar')) break;
      post.unshift(e.id);
      sig = sigByName.get(sig.terms[0]!.signal)!;
    }
    const pre = t.factor.kind === 'trace' ? t.factor.trace : t.factor.block;
    const L: Rendered = sig.direct && sig.terms.length === 0 ? blockSymbol('loss', blockById.get(sig.direct)!.wrt) : sig.symbol;
    const postSyms = post.map((id) => {
      const b = blockById.get(id)!;
      return blockSymbol(b.of, b.wrt);
    });
    const preSym = factorSym(t.factor);
    threeFactor.push({
      learningSignal: sig.state,
      post,
      pre,
      equation: {
        text: `${lhs.text} += [${L.text}]${postSyms.map((p) => ` ⊙ [${p.text}]`).join('')} ⊗ ${preSym.text}`,
        latex: `${lhs.latex} \\mathrel{+}= \\left(${L.latex}${postSyms.map((p) => ` \\odot ${p.latex}`).join('')}\\right) \\otimes ${preSym.latex}`,
      },
    });
  }
  return {
    param,
    shape,
    terms,
    ...(direct ? { direct } : {}),
    lossPrevious,
    ...(filtered.length ? { filtered } : {}),
    threeFactor,
    equation: { text: `${lhs.text} += ${join(parts, PLUS).text}`, latex: `${lhs.latex} \\mathrel{+}= ${join(parts, PLUS).latex}` },
  };
}

function equations(
  blocks: readonly BlockSpec[],
  traces: readonly TraceSpec[],
  signals: readonly SignalSpec[],
  updates: readonly UpdateSpec[],
  untrained: readonly string[],
  opts: ProgramOptions = {},
): { text: string[]; latex: string[] } {
  const text: string[] = [];
  const latex: string[] = [];
  const dims = (s: Shape): string => (s.length ? s.join('×') : 'scalar');
  text.push('# blocks (per step)');
  for (const b of blocks) {
    const how =
      b.approximation === 'diagonal'
        ? ', only its diagonal kept (approximated)'
        : b.approximation === 'filter'
          ? `, ${b.form === 'scalar' ? 'a scalar c·I' : 'one vector for every row'} (scalar filter, exact)`
          : b.approximation === 'random'
            ? `, through fixed random matrices N(0, ${fmtNum(b.feedback!.scale)}²) in place of ${b.feedback!.matrices.map((m) => m.param).join(', ')} (seed ${b.feedback!.seed})`
            : b.approximation === 'local'
              ? `, fixed random N(0, ${fmtNum(b.feedback!.scale)}²) (seed ${b.feedback!.matrices[0]!.seed}): layer-local feedback`
              : b.approximation === 'top'
                ? `, ${b.mask ? b.mask.length : '?'} of ${sizeOf(b.valueShape)} entries kept (top-k on data)`
                : '';
    text.push(`${b.symbol.text}: ${b.form} ${dims(b.valueShape)}${how}${b.constant ? ', constant' : ''}`);
  }
  if (opts.truncate !== undefined)
    text.push(
      `# truncated: every carried trace restarts from 0 at steps ${opts.truncate}, ${2 * opts.truncate}, … (credit within windows of ${opts.truncate} steps)`,
    );
  if (opts.quantize)
    text.push(
      `# quantised: carried traces rounded to ${opts.quantize.bits}-bit fixed point (${opts.quantize.rounding} rounding, one power-of-two scale per trace and step)`,
    );
  text.push('# learning signals');
  for (const s of signals) {
    text.push(s.equation.text);
    latex.push(s.equation.latex);
  }
  text.push('# traces');
  for (const t of traces) {
    text.push(`${t.equation.text}    [${t.storage} ${dims(t.valueShape)}${t.carried ? ', carried' : ', within the step'}]`);
    latex.push(t.equation.latex);
  }
  text.push('# updates');
  for (const u of updates) {
    text.push(u.equation.text);
    latex.push(u.equation.latex);
    for (const f of u.threeFactor) {
      if (f.post.length) text.push(`  three-factor: ${f.equation.text}`);
    }
  }
  if (untrained.length) text.push(`# not trained: ${untrained.join(', ')}`);
  return { text, latex };
}

/** Multiplications, additions and stored values of a SnAp-2 trace step: each kept entry (j, p) sums its terms' products over the kept entries they read. */
function patternCost(
  t: TraceSpec,
  traces: readonly TraceSpec[],
  blocks: readonly Block[],
  stateShape: ReadonlyMap<string, Shape>,
): { multiplications: number; additions: number; values: number } {
  const J = sizeOf(stateShape.get(t.state)!);
  const P = t.logicalShape.length > 1 ? t.logicalShape[stateShape.get(t.state)!.length]! : 1;
  const R = sizeOf(t.logicalShape) / (J * P);
  const kept = new Set(t.pattern);
  const sets = new Map<string, Set<number>>();
  const has = (tr: TraceSpec, j: number, p: number): boolean => {
    if (tr.storage !== 'dense') return j === p;
    if (!tr.pattern) return true;
    let set = sets.get(tr.name);
    if (!set) sets.set(tr.name, (set = new Set(tr.pattern)));
    return set.has(j * P + p);
  };
  let multiplications = 0;
  let terms = 0;
  for (const term of t.terms) {
    const src = traces.find((x) => x.name === term.trace)!;
    const e = blocks.find((b) => b.id === term.block)!;
    const Js = sizeOf(stateShape.get(src.state)!);
    const rows = new Map<number, number[]>();
    for (const i of e.mask ?? []) {
      const l = rows.get(Math.floor(i / Js)) ?? [];
      l.push(i % Js);
      rows.set(Math.floor(i / Js), l);
    }
    if (e.mask) for (let j = 0; j < J; j++) if (!rows.has(j)) rows.set(j, []);
    for (const f of kept) {
      const j = Math.floor(f / P);
      const p = f % P;
      if (term.pulled || e.form === 'scalar' || e.form === 'diagonal') {
        if (has(src, j, p)) multiplications += term.pulled ? 0 : R;
        continue;
      }
      const row = rows.get(j) ?? Array.from({ length: Js }, (_, b) => b);
      for (const b of row) if (has(src, b, p)) multiplications += R;
    }
    terms++;
  }
  const values = kept.size * R;
  return { multiplications, additions: values * Math.max(0, terms - 1 + (t.direct ? 1 : 0)), values };
}

function fmtNum(x: number): string {
  return Number(x.toPrecision(3)).toString();
}

interface Factored {
  /** The state whose trace storage H has (the filter's innermost input). */
  readonly base: string;
  /** The constant blocks C pulled out of the trace, outermost first. */
  readonly chain: readonly string[];
  /** The self block κ·I and the source block of the filter. */
  readonly self: string;
  readonly source: string;
  readonly pulled: boolean;
}

/**
 * The scalar filters whose trace for parameter W can be stored factored (Bellec et al. 2020's F_κ):
 * o[t+1] = κ·o + C·b with κ·I the (scalar) self block and one source b with a trace, C constant (pulled
 * out: G^{o,W} = C·H, H[t+1] = κ·H[t] + G^{b,W}) or itself c·I. o must not read W directly, and every
 * state reading o must be a filter factored through it (the loss may read o at t+1 only): then G^{o,W} is
 * never needed whole, and the learning signal goes through C instead (λ·C·H). A cascade (O ← F ← S)
 * pulls each C onto the chain.
 */
function factorFilters(
  structure: StepStructure,
  approx: ApproximatedBlocks,
  param: string,
  G: ReadonlyMap<string, Sparsity>,
  stateBlocks: (a: string) => Block[],
  paramBlock: (a: string, w: string) => Block | undefined,
  lossBlocks: readonly Block[],
  stored: (state: string) => number,
): Map<string, Factored> {
  const filters = approx.filters;
  if (!filters?.size) return new Map();
  const order = structure.updated.map((s) => s.name);
  const banned = new Set<string>();
  for (;;) {
    const out = new Map<string, Factored>();
    for (const a of order) {
      if (!filters.has(a) || banned.has(a) || !G.has(a) || paramBlock(a, param)) continue;
      const self = stateBlocks(a).find((e) => e.wrt.name === a && e.wrt.offset === 0);
      if (!self || self.form !== 'scalar') continue;
      const srcs = stateBlocks(a).filter((e) => e !== self && G.has(e.wrt.name));
      if (srcs.length !== 1) continue;
      const e = srcs[0]!;
      const pulled = e.form !== 'scalar';
      if (pulled && !e.constant) continue;
      const b = e.wrt.name;
      if (filters.has(b) && !out.has(b) && order.indexOf(b) > order.indexOf(a)) continue;
      const inner = out.get(b);
      const chain = [...(pulled ? [e.id] : []), ...(inner?.chain ?? [])];
      const base = inner ? inner.base : b;
      // Only where it pays: a trace shaped like the input's (RTRL's dense sensitivity of a hidden layer) can be larger than the filter's own.
      if (!chain.length || stored(base) >= stored(a)) continue;
      out.set(a, { base, chain, self: self.id, source: e.id, pulled });
    }
    // Every reader of a factored state (other than the loss at t+1) must factor through it.
    let bad: string | null = null;
    for (const a of out.keys()) {
      if (lossBlocks.some((l) => l.wrt.kind === 'state' && l.wrt.name === a && l.wrt.offset === 0)) bad = a;
      for (const c of order) {
        if (c === a || !G.has(c)) continue;
        if (stateBlocks(c).some((e) => e.wrt.name === a) && out.get(c)?.source !== stateBlocks(c).find((e) => e.wrt.name === a)?.id) bad = a;
      }
      if (bad) break;
    }
    if (!bad) return out;
    banned.add(bad);
  }
}

/** A dense sparsity of a learning signal (for tests and costs outside this file). */
export function signalSparsity(shape: Shape): Sparsity {
  return denseSparsity([], shape);
}
