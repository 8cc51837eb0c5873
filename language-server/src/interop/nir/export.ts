// An Eligo model → a NIR graph, when its equations match NIR's neurons.
//
// Each state update is read as a polynomial (equations.ts) and matched:
//
//   z[t+1] = spike(a·v[t+1] + b)                         the spikes of v, threshold −b/a
//   v[t+1] = α·v − α·v·z + ρ·z + c·Σ currents + c₀        LIF (reset to ρ/α = v_reset), LI without z
//   i[t+1] = α_s·i + c_s·Σ currents, v driven by i[t+1]   CubaLIF / CubaLI (w_in = c_s / (1 − α_s))
//   α = 1                                                 IF / I (integrators), r = c / dt
//
// with τ = −dt / ln α and r = c / (1 − α) (exact; euler: τ = dt / (1 − α),
// r = c·τ/dt), v_leak = c₀ / (1 − α). Currents are `W @ s` (a Linear node, an
// Affine with the bias param added to the same current), or a state directly
// (an edge). The loss's prediction (mse's first operand) feeds an Output
// node. What does not match is an `EquationError` at the equation.
// A `# @nir {…}` record left by the importer gives the nodes back their names.

import type { Range } from '../../lang/ast.js';
import type { ModelScope } from '../../lang/symbols.js';
import type { Compiled } from '../../compile.js';
import type { Tensor } from '../../graph/types.js';
import { EquationError, EquationReader, type Atom, type Mono, type Poly } from '../equations.js';
import { describeLossWindow } from '../../lang/lossWindow.js';
import type { FlatGraph } from './flatten.js';
import type { Method, NirRecord } from './import.js';
import { schedule } from './schedule.js';
import { NirError, type NirGraph, type NirNode, type NirTensor } from './types.js';
import { EligoError } from '../../util/errors.js';

export interface ExportOptions {
  readonly dt?: number;
  readonly method?: Method;
  /** Parameter values (initial or from a checkpoint), by name. */
  readonly params: ReadonlyMap<string, Tensor>;
}

export interface ExportResult {
  readonly graph: NirGraph;
  readonly dt: number;
  readonly method: Method;
  /** Which equation became which node. */
  readonly matched: readonly { readonly node: string; readonly type: string; readonly from: string }[];
  /** Approximations the export made (a subtractive reset, …), each at its equation. */
  readonly warnings: readonly { readonly message: string; readonly range: Range }[];
}

/** Every equation that does not map, located; thrown when the model has any. */
export class ExportError extends EligoError {
  constructor(readonly problems: readonly { readonly message: string; readonly range: Range }[]) {
    super('interop.nir-export', problems.map((p) => p.message).join('; '));
  }
}

/** The importer's `# @nir {…}` record in the text before the model, if any. */
export function nirRecord(text: string, modelStart: number): NirRecord | undefined {
  const before = text.slice(0, modelStart);
  const at = before.lastIndexOf('# @nir ');
  if (at < 0) return undefined;
  const line = before.slice(at + 7, before.indexOf('\n', at) < 0 ? undefined : before.indexOf('\n', at));
  try {
    const v = JSON.parse(line) as NirRecord;
    return v && typeof v === 'object' && v.nodes && typeof v.nodes === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
}

interface Population {
  v: string;
  z?: string;
  i?: string;
  threshold?: number;
  node: string;
  type: string;
  params: Record<string, number>;
  /** Current terms: atom key → coefficient (the common gain is factored out later). */
  currents: Mono[];
  gain: number;
  range: Range;
  /** 1 when the membrane reads its synaptic current at t (I[t]) rather than at t+1: NIR's current is then I one step later. */
  iLag?: number;
}

export function exportNir(c: Compiled, model: string, opts: ExportOptions): ExportResult {
  const scope = c.checked.items.get(model);
  if (!scope || scope.kind !== 'model') throw new NirError(`no model '${model}'`);
  const item = c.items.find((i) => i.name === model)!;
  const record = nirRecord(c.text, item.range.start);
  const dt = opts.dt ?? scope.symbols.get('dt')?.value ?? record?.dt ?? 1e-3;
  const method: Method = opts.method ?? record?.method ?? 'exact';
  const rd = new EquationReader(c.checked, scope);
  const problems: { message: string; range: Range }[] = [];
  const warnings: { message: string; range: Range }[] = [];
  const matched: { node: string; type: string; from: string }[] = [];
  const dtSym = scope.symbols.get('dt');
  if (opts.dt === undefined && dtSym?.kind === 'const' && dtSym.value === dt && dt >= 0.1) {
    // NIR's time constants are in seconds by convention (the frameworks step their files at dt ~ 1e-3 s).
    warnings.push({
      message: `dt = ${dt} (the model's const dt) is taken as ${dt} s: NIR's time constants are in seconds; if the model counts in milliseconds, pass --dt 0.001 (a step in seconds)`,
      range: dtSym.decl,
    });
  }

  // Names from the importer's record: Eligo name (by role) → NIR node name.
  const recName = new Map<string, string>();
  if (record) for (const [node, r] of Object.entries(record.nodes)) for (const [role, name] of Object.entries(r.names)) recName.set(`${role}:${name}`, node);
  const used = new Set<string>();
  const nodeName = (role: string, eligo: string): string => {
    let n = recName.get(`${role}:${eligo}`) ?? eligo;
    for (let k = 2; used.has(n); k++) n = `${eligo}_${k}`;
    used.add(n);
    return n;
  };

  // ---- read every update
  const polys = new Map<string, { poly: Poly; range: Range }>();
  for (const [state] of scope.updates) {
    try {
      polys.set(state, rd.update(state));
    } catch (e) {
      if (e instanceof EquationError) problems.push({ message: `${state}[t+1]: ${e.message}`, range: e.range });
      else throw e;
    }
  }
  const stateShape = (s: string): readonly number[] => scope.symbols.get(s)!.shape;

  // ---- spike states: z[t+1] = spike(a·v[t+1] + b)
  const spikeOf = new Map<string, { z: string; threshold: number }>();
  for (const [z, { poly, range }] of polys) {
    const monos = [...poly.monos.values()];
    if (monos.length !== 1 || monos[0]!.atoms.length !== 1) continue;
    const atom = rd.atomOf(monos[0]!.atoms[0]!);
    if (atom.kind !== 'spike') continue;
    if (monos[0]!.coef !== 1) {
      problems.push({ message: `${z}[t+1]: a scaled spike does not match NIR's Threshold`, range });
      continue;
    }
    const arg = [...atom.arg.monos.values()];
    const lin = arg.filter((m) => m.atoms.length === 1);
    const c0 = arg.find((m) => m.atoms.length === 0)?.coef ?? 0;
    const v = lin.length === 1 ? rd.atomOf(lin[0]!.atoms[0]!) : undefined;
    if (!v || v.kind !== 'state' || v.offset !== 1 || arg.length > 2 || !(lin[0]!.coef > 0)) {
      problems.push({ message: `${z}[t+1]: spike(…) must read one membrane state at t+1 minus a constant threshold, as in spike(v[t+1] - 1)`, range });
      continue;
    }
    spikeOf.set(v.name, { z, threshold: -c0 / lin[0]!.coef });
  }
  const spikeStates = new Set([...spikeOf.values()].map((s) => s.z));
  // Updates that are a spike(…) but did not match: reported once above, not matched as membranes.
  const failedSpikes = new Set<string>();
  for (const [z, { poly }] of polys) {
    const ms = [...poly.monos.values()];
    if (!spikeStates.has(z) && ms.some((m) => m.atoms.some((k) => rd.atomOf(k).kind === 'spike'))) failedSpikes.add(z);
  }
  for (const z of failedSpikes) spikeStates.add(z);

  // ---- membranes and synaptic currents
  const decayOf = (a: number, what: string, range: Range): { tau: number; integrator: boolean } | undefined => {
    if (a === 1) return { tau: Infinity, integrator: true };
    if (!(a > 0 && a < 1)) {
      problems.push({ message: `${what}: decay ${a} is not in (0, 1]; NIR neurons decay as exp(−dt/τ)`, range });
      return undefined;
    }
    return { tau: method === 'exact' ? -dt / Math.log(a) : dt / (1 - a), integrator: false };
  };

  const pops: Population[] = [];
  const synOf = new Map<string, string>(); // i → v
  const claimed = new Set<string>(spikeStates);
  for (const [v, { poly, range }] of polys) {
    if (spikeStates.has(v)) continue;
    const s = spikeOf.get(v);
    const a = poly.monos.get(`${v}@0`)?.coef ?? 0;
    const currents: Mono[] = [];
    const gated: Mono[] = [];
    let c0 = 0,
      reset = 0,
      resetProduct = 0;
    let bad = false;
    for (const m of poly.monos.values()) {
      const key = m.atoms.join('*');
      if (key === `${v}@0`) continue;
      if (m.atoms.length === 0) {
        c0 = m.coef;
        continue;
      }
      if (s && key === [`${v}@0`, `${s.z}@0`].sort().join('*')) {
        resetProduct = m.coef;
        continue;
      }
      if (s && key === `${s.z}@0`) {
        reset = m.coef;
        continue;
      }
      // (… + c·I)·(1 − z): the reset also clears the step's input (SpyTorch's form); matched below against the currents.
      if (s && m.atoms.length === 2 && m.atoms.includes(`${s.z}@0`)) {
        gated.push(m);
        continue;
      }
      if (m.atoms.length > 1) {
        problems.push({ message: `${v}[t+1]: the product ${key.replace(/@0/g, '').replace(/@1/g, '[t+1]')} does not match a NIR neuron`, range });
        bad = true;
        break;
      }
      currents.push(m);
    }
    if (bad) continue;
    if (gated.length) {
      const unmatched = gated.filter((g) => {
        const other = g.atoms.find((k) => k !== `${s!.z}@0`)!;
        const cur = currents.find((m) => m.atoms[0] === other);
        return !cur || Math.abs(cur.coef + g.coef) > 1e-12 * Math.abs(cur.coef);
      });
      if (unmatched.length) {
        problems.push({
          message: `${v}[t+1]: the product ${unmatched[0]!.atoms.join('*').replace(/@0/g, '').replace(/@1/g, '[t+1]')} does not match a NIR neuron`,
          range,
        });
        continue;
      }
      warnings.push({
        message: `${v}[t+1]: the reset also clears the step's input ((… + ${gated
          .map((g) =>
            g.atoms
              .find((k) => k !== `${s!.z}@0`)!
              .replace(/@0$/, '')
              .replace(/@1$/, '[t+1]'),
          )
          .join(' + ')})·(1 − ${s!.z})); NIR's neurons reset the membrane only, so the exported network adds that input on the step after a spike`,
        range,
      });
    }
    const decay = decayOf(a, `${v}[t+1]`, range);
    if (!decay) continue;
    const params: Record<string, number> = {};
    let type: string;
    if (s) {
      type = decay.integrator ? 'IF' : 'LIF';
      params.v_threshold = s.threshold;
      if (resetProduct !== 0 && Math.abs(resetProduct + a) <= 1e-12 * Math.abs(a)) params.v_reset = reset / a;
      else if (resetProduct === 0 && reset < 0) {
        params.v_reset = 0;
        warnings.push({
          message: `${v}[t+1]: reset by subtraction (${reset} · ${s.z}) has no NIR equivalent; exported as ${type} with v_reset = 0 (frameworks read it as a reset to zero)`,
          range,
        });
      } else if (resetProduct === 0 && reset === 0) {
        params.v_reset = 0;
        warnings.push({ message: `${v}[t+1]: the membrane is not reset after a spike; NIR's ${type} resets to v_reset (exported as 0)`, range });
      } else {
        problems.push({
          message: `${v}[t+1]: the reset terms (${resetProduct} · ${v}·${s.z}, ${reset} · ${s.z}) match neither a reset to a value nor a subtraction`,
          range,
        });
        continue;
      }
    } else type = decay.integrator ? 'I' : 'LI';
    if (!decay.integrator) params.tau = decay.tau;
    params.v_leak = decay.integrator ? 0 : c0 / (1 - a);
    if (decay.integrator && c0 !== 0) {
      problems.push({ message: `${v}[t+1]: a constant drive of an integrator has no NIR parameter`, range });
      continue;
    }
    pops.push({ v, ...(s ? { z: s.z, threshold: s.threshold } : {}), node: '', type, params, currents, gain: 0, range });
    claimed.add(v);
  }
  // An equation that reads a state whose own update does not map does not map either: say so once, at the equation.
  const unmapped = new Set<string>(failedSpikes);
  for (const pr of problems) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\[t\+1\]:/.exec(pr.message);
    if (m) unmapped.add(m[1]!);
  }
  const statesIn = (ms: readonly Mono[]): Extract<Atom, { kind: 'state' }>[] => {
    const out: Extract<Atom, { kind: 'state' }>[] = [];
    const visit = (k: string): void => {
      const a = rd.atomOf(k);
      if (a.kind === 'state') out.push(a);
      else if (a.kind === 'matvec') for (const m of a.operand.monos.values()) m.atoms.forEach(visit);
      else if (a.kind === 'spike') for (const m of a.arg.monos.values()) m.atoms.forEach(visit);
    };
    for (const m of ms) m.atoms.forEach(visit);
    return out;
  };
  for (const p of pops) {
    const bad = statesIn(p.currents).find((a) => unmapped.has(a.name));
    if (!bad) continue;
    // A state named like Bellec et al.'s threshold adaptation a (or 'adapt…') that integrates the spikes.
    const adaptive = p.v === 'a' || /^adapt/.test(p.v);
    problems.push({
      message: `${p.v}[t+1]: reads ${bad.name}, whose update does not map to a NIR node${adaptive ? ' (NIR has no adaptive threshold, as in ALIF)' : ''}`,
      range: p.range,
    });
  }
  // A population whose only current is another state, I[t+1] or I[t], that nothing else reads: CubaLIF / CubaLI.
  // Read at t (Zenke & Vogels' U[t+1] = β·U + I), the synaptic current is NIR's one step later: its inputs are read one step further back.
  const readers = new Map<string, number>();
  for (const p of pops) for (const a of statesIn(p.currents)) readers.set(a.name, (readers.get(a.name) ?? 0) + 1);
  for (const p of pops) {
    if (p.currents.length !== 1) continue;
    const atom = rd.atomOf(p.currents[0]!.atoms[0]!);
    if (atom.kind !== 'state' || (atom.offset !== 1 && atom.offset !== 0)) continue;
    const syn = pops.find((q) => q.v === atom.name && !q.z && q.type === 'LI');
    if (!syn || syn === p || readers.get(syn.v) !== 1 || syn.params.v_leak !== 0 || lossReads(scope, syn.v) || synOf.has(syn.v)) continue;
    if (p.type !== 'LIF' && p.type !== 'LI') continue;
    // Merge: syn's decay is τ_syn, its currents (gain c_s) drive I; p's current gain is (1 − α_m)·r.
    const lag = 1 - atom.offset;
    p.i = syn.v;
    p.iLag = lag;
    p.type = p.type === 'LIF' ? 'CubaLIF' : 'CubaLI';
    p.params.tau_syn = syn.params.tau!;
    p.params.tau_mem = p.params.tau!;
    delete p.params.tau;
    const aSyn = method === 'exact' ? Math.exp(-dt / syn.params.tau!) : 1 - dt / syn.params.tau!;
    const synGain = commonGain(syn.currents);
    p.params.w_in = method === 'exact' ? synGain / (1 - aSyn) : (synGain * syn.params.tau!) / dt;
    p.gain = p.currents[0]!.coef;
    p.currents = syn.currents.map((m) => ({ atoms: m.atoms.map((k) => rd.shiftAtom(k, lag)), coef: m.coef / synGain }));
    synOf.set(syn.v, p.v);
  }
  const populations = pops.filter((p) => !synOf.has(p.v));
  for (const p of populations) {
    const a = p.type.startsWith('Cuba') ? expDecay(p.params.tau_mem!) : p.params.tau !== undefined ? expDecay(p.params.tau) : 1;
    if (!p.type.startsWith('Cuba')) {
      p.gain = commonGain(p.currents);
      p.currents = p.currents.map((m) => ({ atoms: m.atoms, coef: m.coef / p.gain }));
    }
    const tau = p.params.tau ?? p.params.tau_mem ?? Infinity;
    p.params.r = p.type === 'I' || p.type === 'IF' ? p.gain / dt : method === 'exact' ? p.gain / (1 - a) : (p.gain * tau) / dt;
  }
  function expDecay(tau: number): number {
    return method === 'exact' ? Math.exp(-dt / tau) : 1 - dt / tau;
  }

  for (const [s, { range }] of polys) {
    if (!claimed.has(s) && !synOf.has(s) && !problems.some((p) => p.message.startsWith(`${s}[t+1]:`)))
      problems.push({
        message: `${s}[t+1]: does not match a NIR neuron (LIF, LI, IF, I, CubaLIF, CubaLI)${s.startsWith('a') ? '; NIR has no adaptive threshold (ALIF)' : ''}`,
        range,
      });
  }

  // ---- the loss's prediction (read before anything is built, so that its problems are reported with the others)
  const loss = scope.loss;
  let prediction: { poly: Poly; target: string; range: Range; text: string } | undefined;
  if (loss && loss.kind === 'call' && (loss.callee.name === 'mse' || loss.callee.name === 'cross_entropy') && loss.args.length === 2) {
    const target = loss.args[1]!;
    const tname = target.kind === 'time' ? target.name.name : target.kind === 'name' ? target.name : 'y';
    let pred = loss.args[0]!;
    const text = (e: { range: Range }): string => c.text.slice(e.range.start, e.range.end);
    if (pred.kind === 'call' && (pred.callee.name === 'max_over_time' || pred.callee.name === 'mean_over_time') && pred.args.length === 1) {
      const inner = pred.args[0]!;
      warnings.push({
        message: `loss: NIR has no readout over time; the Output node carries ${text(inner)} at every step, and the ${pred.callee.name === 'max_over_time' ? 'maximum' : 'mean'} over time (${text(pred)}${scope.lossWindow.kind !== 'every' ? `, scored ${describeLossWindow(scope.lossWindow)}` : ''}) is for the reader's training loop, as in the frameworks`,
        range: pred.range,
      });
      pred = inner;
    } else if (scope.lossWindow.kind !== 'every') {
      warnings.push({
        message: `loss: the loss window (${describeLossWindow(scope.lossWindow)}) is not part of a NIR graph; the Output node carries the prediction at every step`,
        range: scope.lossWindow.range,
      });
    }
    try {
      prediction = { poly: rd.of(pred), target: tname, range: loss.range, text: text(pred) };
    } catch (e) {
      if (!(e instanceof EquationError)) throw e;
      problems.push({ message: `loss: the prediction ${text(pred)}: ${e.message}`, range: e.range });
    }
    if (prediction) {
      const bad = statesIn([...prediction.poly.monos.values()]).find((a) => unmapped.has(a.name));
      if (bad) problems.push({ message: `loss: the prediction reads ${bad.name}, whose update does not map to a NIR node`, range: loss.args[0]!.range });
    }
  } else if (loss) {
    warnings.push({ message: 'the loss is not mse(prediction, target) or cross_entropy(…): no Output node is written', range: loss.range });
  }
  if (problems.length) throw new ExportError(problems.sort((a, b) => a.range.start - b.range.start));

  // ---- nodes and edges
  const nodes = new Map<string, NirNode>();
  const edges: [string, string][] = [];
  const popOfState = new Map<string, Population>();
  for (const p of populations) {
    p.node = nodeName('v', p.v);
    popOfState.set(p.v, p);
    if (p.z) popOfState.set(p.z, p);
  }
  const inputNode = new Map<string, string>();
  for (const [name, sym] of scope.symbols) {
    if (sym.kind !== 'input') continue;
    const n = nodeName('x', name);
    inputNode.set(name, n);
    nodes.set(n, { type: 'Input', shape: sym.shape.length ? sym.shape : [1] });
    matched.push({ node: n, type: 'Input', from: `input ${name}` });
  }
  const param = (name: string): Tensor => {
    const t = opts.params.get(name);
    if (!t) throw new NirError(`no value for param '${name}'`);
    return t;
  };
  const vec = (n: number, x: number): NirTensor => ({ shape: [n], data: new Float64Array(n).fill(x), dtype: 'f64' });
  const weightNodes = new Map<string, string>();
  const thresholdNodes = new Map<string, string>();
  /**
   * Every read of a neuron's output or an input, with the lag Eligo reads it at (1 − offset: 0 for z[t+1],
   * 1 for z[t], k + 1 for z[t-k]) and the chain of edges it travels to its equation. Delay nodes are
   * placed once the graph's schedule says which of those edges the NIR readers step one step late.
   */
  const reads: { source: string; lag: number; chain: number[]; target: string; range: Range; what: string }[] = [];
  const edge = (a: string, b: string): number => {
    const k = edges.findIndex(([x, y]) => x === a && y === b);
    if (k >= 0) return k;
    edges.push([a, b]);
    return edges.length - 1;
  };
  /** The NIR node whose output is the atom's value (a state's population, an input, a Threshold of one), the lag it is read at, and the edges from it. */
  const sourceOf = (atom: Atom, range: Range): { node: string; source: string; lag: number; chain: number[] } => {
    if (atom.kind === 'input') {
      const n = inputNode.get(atom.name);
      if (!n) throw new ExportError([{ message: `target '${atom.name}' read by the dynamics: NIR graphs have only inputs`, range }]);
      return { node: n, source: n, lag: 1 - atom.offset, chain: [] };
    }
    if (atom.kind === 'state') {
      const p = popOfState.get(atom.name);
      if (!p) throw new ExportError([{ message: `'${atom.name}' feeds a current but is not a neuron's output`, range }]);
      const out = p.z ?? p.v;
      if (atom.name !== out)
        throw new ExportError([
          { message: `'${atom.name}' feeds a current, but NIR exposes only ${p.node}'s ${p.z ? 'spikes' : 'potential'} (${out})`, range },
        ]);
      return { node: p.node, source: p.node, lag: 1 - atom.offset, chain: [] };
    }
    if (atom.kind === 'spike') {
      // spike(a·s + b) of a neuron's output s: a Threshold node at −b/a after s's node.
      const ms = [...atom.arg.monos.values()];
      const lin = ms.filter((m) => m.atoms.length === 1);
      const c0 = ms.find((m) => m.atoms.length === 0)?.coef ?? 0;
      const s = lin.length === 1 && ms.length === lin.length + (c0 !== 0 ? 1 : 0) && lin[0]!.coef > 0 ? rd.atomOf(lin[0]!.atoms[0]!) : undefined;
      if (!s || (s.kind !== 'state' && s.kind !== 'input'))
        throw new ExportError([{ message: 'spike(…) as an operand must read one neuron output minus a constant, as in spike(v[t+1] - 0.2)', range }]);
      const src = sourceOf(s, range);
      const theta = -c0 / lin[0]!.coef;
      const key = `${src.node}|${theta}|${src.lag}`;
      let th = thresholdNodes.get(key);
      if (!th) {
        const recorded = record
          ? Object.entries(record.nodes).find(([n, r]) => r.type === 'Threshold' && record.edges.some(([a, b]) => a === src.node && b === n))?.[0]
          : undefined;
        th = recorded && !used.has(recorded) ? recorded : nodeName('theta', `${src.node}_threshold`);
        used.add(th);
        thresholdNodes.set(key, th);
        nodes.set(th, { type: 'Threshold', threshold: vec(sizeOfNode(src.node), theta) });
        matched.push({ node: th, type: 'Threshold', from: `spike(… − ${theta}) of ${src.node}` });
      }
      return { node: th, source: src.source, lag: src.lag, chain: [...src.chain, edge(src.node, th)] };
    }
    throw new ExportError([{ message: `a ${atom.kind} cannot be the operand of a weight`, range }]);
  };
  const feed = (target: string, currents: readonly Mono[], range: Range, what: string): void => {
    const biases = currents.filter((m) => rd.atomOf(m.atoms[0]!).kind === 'param');
    const rest = currents.filter((m) => !biases.includes(m));
    const biasFor = new Map<string, string>();
    for (const b of biases) {
      const bName = rd.atomOf(b.atoms[0]!) as { name: string };
      // The bias goes with the weight the importer recorded it with, else with the first weight without one.
      const recorded = recName.get(`b:${bName.name}`);
      const owner =
        rest.find((m) => {
          const a = rd.atomOf(m.atoms[0]!);
          return a.kind === 'matvec' && !biasFor.has(m.atoms[0]!) && (!recorded || recName.get(`W:${a.W}`) === recorded);
        }) ?? rest.find((m) => rd.atomOf(m.atoms[0]!).kind === 'matvec' && !biasFor.has(m.atoms[0]!));
      if (!owner) throw new ExportError([{ message: `${what}: bias '${bName.name}' is added without a weight; NIR adds biases in Affine nodes`, range }]);
      if (Math.abs(b.coef - owner.coef) > 1e-12 * Math.abs(owner.coef))
        throw new ExportError([{ message: `${what}: bias '${bName.name}' is scaled differently from its weight`, range }]);
      biasFor.set(owner.atoms[0]!, bName.name);
    }
    for (const m of rest) {
      const atom = rd.atomOf(m.atoms[0]!);
      let from: string;
      let src: ReturnType<typeof sourceOf>;
      if (atom.kind === 'matvec') {
        const opKeys = [...atom.operand.monos.values()];
        if (opKeys.length !== 1 || opKeys[0]!.atoms.length !== 1)
          throw new ExportError([{ message: `${what}: ${atom.W} @ (…) of a product does not match a Linear node`, range }]);
        src = sourceOf(rd.atomOf(opKeys[0]!.atoms[0]!), range);
        if (opKeys[0]!.coef !== 1)
          throw new ExportError([
            { message: `${what}: ${atom.W} @ (${opKeys[0]!.coef} · …) does not match a Linear node; write the factor outside the product`, range },
          ]);
        const bias = biasFor.get(m.atoms[0]!);
        const key = `${atom.W}|${src.node}|${bias ?? ''}|${src.lag}`;
        let wn = weightNodes.get(key);
        if (!wn) {
          wn = nodeName('W', atom.W);
          weightNodes.set(key, wn);
          const W = param(atom.W);
          const weight: NirTensor = { shape: W.shape, data: W.data, dtype: 'f32' };
          if (bias) {
            const b = param(bias);
            nodes.set(wn, { type: 'Affine', weight, bias: { shape: b.shape, data: b.data, dtype: 'f32' } });
          } else nodes.set(wn, { type: 'Linear', weight });
          matched.push({ node: wn, type: bias ? 'Affine' : 'Linear', from: `${atom.W} @ …${bias ? ` + ${bias}` : ''}` });
        }
        src = { ...src, chain: [...src.chain, edge(src.node, wn)] };
        from = wn;
      } else {
        src = sourceOf(atom, range);
        from = src.node;
      }
      if (Math.abs(m.coef - 1) > 1e-12) {
        const sn = nodeName('s', `${from}_scale`);
        nodes.set(sn, { type: 'Scale', scale: vec(sizeOfNode(from), m.coef) });
        src = { ...src, chain: [...src.chain, edge(from, sn)] };
        from = sn;
      }
      reads.push({ source: src.source, lag: src.lag, chain: [...src.chain, edge(from, target)], target, range, what });
    }
  };
  const sizeOfNode = (n: string): number => {
    const node = nodes.get(n);
    if (!node) return 1;
    if (node.type === 'Input' || node.type === 'Output') return node.shape.reduce((a, b) => a * b, 1);
    if (node.type === 'Affine' || node.type === 'Linear') return node.weight.shape[0]!;
    if ('r' in node) return node.r.data.length;
    return 1;
  };

  for (const p of populations) {
    const n = stateShape(p.v).reduce((a, b) => a * b, 1);
    const P = (k: string): NirTensor => vec(n, p.params[k] ?? 0);
    let node: NirNode;
    switch (p.type) {
      case 'LIF':
        node = { type: 'LIF', tau: P('tau'), r: P('r'), v_leak: P('v_leak'), v_threshold: P('v_threshold'), v_reset: P('v_reset') };
        break;
      case 'LI':
        node = { type: 'LI', tau: P('tau'), r: P('r'), v_leak: P('v_leak') };
        break;
      case 'IF':
        node = { type: 'IF', r: P('r'), v_threshold: P('v_threshold'), v_reset: P('v_reset') };
        break;
      case 'I':
        node = { type: 'I', r: P('r') };
        break;
      case 'CubaLIF':
        node = {
          type: 'CubaLIF',
          tau_syn: P('tau_syn'),
          tau_mem: P('tau_mem'),
          r: P('r'),
          v_leak: P('v_leak'),
          v_threshold: P('v_threshold'),
          v_reset: P('v_reset'),
          w_in: P('w_in'),
        };
        break;
      default:
        node = { type: 'CubaLI', tau_syn: P('tau_syn'), tau_mem: P('tau_mem'), r: P('r'), v_leak: P('v_leak'), w_in: P('w_in') };
    }
    nodes.set(p.node, node);
    const shown = Object.entries(p.params)
      .map(([k, v]) => `${k} = ${Number(v.toPrecision(6))}`)
      .join(', ');
    const eqs = [p.i, p.v, p.z]
      .filter(Boolean)
      .map((s) => `${s}[t+1]`)
      .join(', ');
    matched.push({
      node: p.node,
      type: p.type,
      from: `${eqs} at dt = ${dt} (${shown})${p.iLag ? `; ${p.v} reads ${p.i}[t], so NIR's synaptic current is ${p.i} one step later and its inputs are read one step further back` : ''}`,
    });
  }
  for (const p of populations) feed(p.node, p.currents, p.range, `${p.i ?? p.v}[t+1]`);

  // ---- the loss's prediction → Output
  if (prediction) {
    const on = nodeName('y', prediction.target);
    const sym = scope.symbols.get(prediction.target);
    nodes.set(on, { type: 'Output', shape: sym && sym.shape.length ? sym.shape : [1] });
    matched.push({ node: on, type: 'Output', from: `the loss's prediction (${prediction.text})` });
    feed(on, [...prediction.poly.monos.values()], prediction.range, 'loss');
  }

  // ---- delays: NIR readers step a node after its forward predecessors and read the edges that close a
  // cycle one step late (schedule.ts, as the importer and the frameworks do). A read whose lag is more
  // than its chain gives travels through a Delay node of the difference, placed right after the source
  // (an axonal delay: W·z(t − τ) = (W·z)(t − τ) for a constant W).
  const delayNodes = new Map<string, string>();
  {
    const sched = schedule({ nodes: nodes as FlatGraph['nodes'], edges });
    const inserts = new Map<number, number>(); // first edge of a chain → steps of delay
    for (const r of reads) {
      const late = r.chain.filter((k) => sched.back.has(k)).length;
      const k = r.lag - late;
      if (k < 0)
        throw new ExportError([
          {
            message: `${r.what}: reads ${r.source} at the step being computed, but NIR readers step that edge one step late (it closes a cycle)`,
            range: r.range,
          },
        ]);
      if (k === 0) continue;
      const first = r.chain[0]!;
      const prev = inserts.get(first);
      if (prev !== undefined && prev !== k)
        throw new ExportError([
          { message: `${r.what}: reads ${r.source} with two different delays through one edge; NIR's Delay sits on an edge`, range: r.range },
        ]);
      inserts.set(first, k);
    }
    // Rewrite edges in place (same order, so the schedule's back edges stay the same edges).
    const rewritten: [string, string][] = [];
    edges.forEach(([a, b], idx) => {
      const k = inserts.get(idx);
      if (k === undefined) {
        rewritten.push([a, b]);
        return;
      }
      const key = `${a}|${k}`;
      let d = delayNodes.get(key);
      if (!d) {
        const recorded = record
          ? Object.entries(record.nodes).find(
              ([n, r]) =>
                r.type === 'Delay' && !used.has(n) && record.edges.some(([x, y]) => x === a && y === n) && record.edges.some(([x, y]) => x === n && y === b),
            )?.[0]
          : undefined;
        d = recorded ?? nodeName('d', `${a}_delay${k}`);
        used.add(d);
        delayNodes.set(key, d);
        nodes.set(d, { type: 'Delay', delay: vec(sizeOfNode(a), k * dt) });
        matched.push({ node: d, type: 'Delay', from: `${k} step${k === 1 ? '' : 's'} of ${a} (${k} · dt = ${Number((k * dt).toPrecision(6))})` });
        rewritten.push([a, d]);
      }
      rewritten.push([d, b]);
    });
    edges.length = 0;
    edges.push(...rewritten);
  }
  // Keep the importer's edge order when the edges are the same set.
  let ordered = edges;
  if (record) {
    const mine = new Set(edges.map(([a, b]) => `${a}\u0000${b}`));
    const theirs = record.edges.map(([a, b]) => `${a}\u0000${b}`);
    if (theirs.length === mine.size && theirs.every((e) => mine.has(e))) ordered = record.edges.map(([a, b]) => [a, b]);
  }
  return { graph: { type: 'NIRGraph', nodes, edges: ordered }, dt, method, matched, warnings };
}

function commonGain(ms: readonly Mono[]): number {
  if (ms.length === 0) return 1;
  // The gain of the first current; others that differ get a Scale node.
  return ms[0]!.coef;
}

function lossReads(scope: ModelScope, state: string): boolean {
  const r = scope.reads.get('loss');
  return !!r && (r.has(`${state}@1`) || r.has(`${state}@0`));
}
