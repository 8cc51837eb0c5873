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
  BlockSpec, OnlineProgram, Rendered, SignalSpec, ThreeFactor, TraceSpec, TraceStorage, TraceTerm, UpdateFactor, UpdateSpec, UpdateTerm,
} from './program.js';
import {
  blockSymbol, DOT, join, latexName, PLUS, signalName, signalSymbol, traceName, traceSymbol,
} from './render.js';
import { describeSparsity } from '../ad/sparsity.js';

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
    case 'scalar': return { storage: 'shared', valueShape: paramShape.slice(1) };
    case 'diagonal': return { storage: 'row', valueShape: [...paramShape] };
    case 'shared': return { storage: 'shared', valueShape: c.valueShape };
    case 'row': return { storage: 'row', valueShape: c.valueShape };
    case 'dense': return dense;
  }
}

function sumInto(acc: Sparsity | null, s: Sparsity): Sparsity {
  return acc === null ? s : addSparsity(acc, s).sparsity;
}

export function deriveProgram(structure: StepStructure, approx: ApproximatedBlocks, ruleName: string | null): Derived {
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
  for (const a of [...order].reverse()) {
    const direct = lossBlocks.find((b) => b.wrt.kind === 'state' && b.wrt.name === a && b.wrt.offset === 1);
    const terms: { signal: string; block: string }[] = [];
    let sp: Sparsity | null = direct ? direct.sparsity : null;
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
      const e = blocks.find((b) => b.id === t.block)!;
      rhs.push(join([signalSymbol(signals.find((s) => s.name === t.signal)!.state), blockSymbol(e.of, e.wrt)], DOT));
    }
    const spec: SignalSpec = {
      name: signalName(a), state: a, shape: stateShape.get(a)!, ...(direct ? { direct: direct.id } : {}), terms, symbol: sym,
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
    // Terms of every trace of this parameter.
    const termsOf = new Map<string, TraceTerm[]>();
    for (const a of order) {
      if (!G.has(a)) continue;
      const terms: TraceTerm[] = [];
      for (const e of stateBlocks(a)) {
        if (!G.has(e.wrt.name)) continue;
        if (mulSparsity(e.sparsity, G.get(e.wrt.name)!).sparsity.form === 'zero') continue;
        terms.push({ block: e.id, trace: traceName(e.wrt.name, w.name), time: e.wrt.offset === 0 ? 'previous' : 'current' });
      }
      termsOf.set(a, terms);
    }
    // The update: ΔW += Σ_a λ^a Ĝ^{a,W} + ℓ^W + ℓ^{b[t]} G^{b,W}[t].
    const uterms: UpdateTerm[] = [];
    const lossPrevious: { block: string; trace: string }[] = [];
    const needHere = new Set<string>();
    const carryHere = new Set<string>();
    for (const a of order) {
      const sig = signalOf.get(a);
      if (!sig || !G.has(a)) continue;
      const terms = termsOf.get(a)!;
      const f = paramBlock(a, w.name);
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
    if (uterms.length === 0 && !direct && lossPrevious.length === 0) {
      untrained.push(w.name);
      continue;
    }
    for (const a of order) {
      if (!needHere.has(a)) continue;
      const sp = G.get(a)!;
      const name = traceName(a, w.name);
      const { storage, valueShape } = storageOf(sp, stateShape.get(a)!, w.shape);
      const terms = termsOf.get(a)!;
      const f = paramBlock(a, w.name);
      for (const t of terms) used.add(t.block);
      if (f) used.add(f.id);
      const sym = traceSymbol(a, w.name);
      const rhs: Rendered[] = terms.map((t) => {
        const e = blocks.find((b) => b.id === t.block)!;
        return join([blockSymbol(e.of, e.wrt), traceSymbol(e.wrt.name, w.name, t.time === 'previous' ? 't' : 't+1')], DOT);
      });
      if (f) rhs.push(blockSymbol(f.of, f.wrt));
      const lhs = traceSymbol(a, w.name, 't+1');
      traceSparsity.set(name, sp);
      needed.add(name);
      if (carryHere.has(a)) carried.add(name);
      pending.push({
        param: w.name,
        spec: {
          name, state: a, param: w.name, storage, logicalShape: [...stateShape.get(a)!, ...w.shape], valueShape, initial: 'zero', terms,
          ...(f ? { direct: f.id } : {}), symbol: sym,
          equation: { text: `${lhs.text} = ${join(rhs, PLUS).text}`, latex: `${lhs.latex} = ${join(rhs, PLUS).latex}` },
        },
      });
    }
    updates.push(makeUpdate(w.name, w.shape, uterms, direct?.id, lossPrevious, signals, blocks, pending.map((p) => p.spec)));
  }
  for (const p of pending) traces.push({ ...p.spec, carried: carried.has(p.spec.name) });

  // ---- cost of one step: traces, updates (signals counted above)
  const spOf = (id: string): Sparsity => blocks.find((b) => b.id === id)!.sparsity;
  let carriedBytes = 0;
  let transientBytes = 0;
  for (const t of traces) {
    let acc: Sparsity | null = null;
    for (const term of t.terms) {
      const p = mulSparsity(spOf(term.block), traceSparsity.get(term.trace)!);
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
    if (u.direct) adds += bytesOf(spOf(u.direct)) / 8;
  }

  const blockSpecs: BlockSpec[] = blocks.filter((b) => used.has(b.id)).map((b) => ({
    id: b.id, of: b.of, wrt: b.wrt, outShape: b.sparsity.outShape, inShape: b.sparsity.inShape, form: b.form, valueShape: b.valueShape,
    approximation: b.approximation, constant: b.constant, sparsity: describeSparsity(b.sparsity), symbol: blockSymbol(b.of, b.wrt),
  }));
  const program: OnlineProgram = {
    version: 1, model: structure.model, rule: ruleName,
    states: structure.states.map((s) => ({ name: s.name, shape: s.shape })),
    params: structure.params.map((p) => ({ name: p.name, shape: p.shape })),
    blocks: blockSpecs,
    dropped: approx.dropped.map((d) => ({ of: d.of, wrt: d.wrt, approximation: d.approximation })),
    traces, signals, updates, untrained,
    equations: equations(blockSpecs, traces, signals, updates, untrained),
  };
  return {
    program, traceSparsity,
    cost: {
      multiplications: muls + structure.local.multiplications, additions: adds + structure.local.additions,
      localMultiplications: structure.local.multiplications, carriedBytes, transientBytes,
    },
  };
}

function makeUpdate(
  param: string, shape: Shape, terms: UpdateTerm[], direct: string | undefined, lossPrevious: { block: string; trace: string }[],
  signals: readonly SignalSpec[], blocks: readonly Block[], traces: readonly Omit<TraceSpec, 'carried'>[],
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
      const e = blockById.get(sig.terms[0]!.block)!;
      if (e.form !== 'diagonal' && e.form !== 'scalar') break;
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
      learningSignal: sig.state, post, pre,
      equation: {
        text: `${lhs.text} += [${L.text}]${postSyms.map((p) => ` ⊙ [${p.text}]`).join('')} ⊗ ${preSym.text}`,
        latex: `${lhs.latex} \\mathrel{+}= \\left(${L.latex}${postSyms.map((p) => ` \\odot ${p.latex}`).join('')}\\right) \\otimes ${preSym.latex}`,
      },
    });
  }
  return {
    param, shape, terms, ...(direct ? { direct } : {}), lossPrevious, threeFactor,
    equation: { text: `${lhs.text} += ${join(parts, PLUS).text}`, latex: `${lhs.latex} \\mathrel{+}= ${join(parts, PLUS).latex}` },
  };
}

function equations(
  blocks: readonly BlockSpec[], traces: readonly TraceSpec[], signals: readonly SignalSpec[], updates: readonly UpdateSpec[], untrained: readonly string[],
): { text: string[]; latex: string[] } {
  const text: string[] = [];
  const latex: string[] = [];
  const dims = (s: Shape): string => (s.length ? s.join('×') : 'scalar');
  text.push('# blocks (per step)');
  for (const b of blocks) {
    text.push(`${b.symbol.text}: ${b.form} ${dims(b.valueShape)}${b.approximation === 'diagonal' ? ', only its diagonal kept (approximated)' : ''}${b.constant ? ', constant' : ''}`);
  }
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

/** A dense sparsity of a learning signal (for tests and costs outside this file). */
export function signalSparsity(shape: Shape): Sparsity {
  return denseSparsity([], shape);
}
