// NIR graph → an Eligo model (text) and its parameter values (a data file).
//
// Each NIR neuron becomes states with discrete-time updates at `dt`; the
// continuous equations of nir/ir/neuron.py are integrated over one step with
// the input held (zero-order hold), which for these linear dynamics is the
// exact exponential the language's `du/dt` uses (`method: 'exact'`):
//
//   τ v̇ = (v_leak − v) + R I   ⇒   v[t+1] = v_leak + α (v̂ − v_leak) + (1 − α) R I[t+1],   α = e^{−dt/τ}
//
// with v̂ = v, or v_reset after a spike (z[t] = 1) for LIF/IF/CubaLIF. CubaLI/F
// first integrate the synaptic current the same way, τ_syn İ = −I + w_in S,
// and drive v with I[t+1]. I/IF integrate, v[t+1] = v̂ + dt R I. `method:
// 'euler'` uses α = 1 − dt/τ and dt/τ in place of 1 − α (snnTorch's and
// Lava's convention). Spikes: z[t+1] = spike(v[t+1] − v_threshold).
//
// Affine/Linear/Scale/Threshold/Flatten nodes become expressions; the input of
// a node is the sum over its in-edges, read at t+1 along forward edges and at
// t along edges that close a cycle (schedule.ts). Weights and biases become
// `param … = data("<file>", "<name>")`; neuron parameters become consts (they
// must be equal across a population: Eligo's constants are scalars). Output
// nodes become targets with an mse loss. The NIR node names, types and edges
// are recorded in a `# @nir {…}` comment so that export writes them back.

import { KEYWORDS } from '../../lang/lexer.js';
import { flattenGraph, type FlatGraph } from './flatten.js';
import { isStateful, schedule } from './schedule.js';
import { NirError, type NirFile, type NirNode, type NirTensor } from './types.js';

export type Method = 'exact' | 'euler';

export interface ImportOptions {
  /** Time step in the NIR file's time unit (seconds for the frameworks' files). */
  readonly dt: number;
  readonly method?: Method;
  /** Name of the model item (default `nir`). */
  readonly modelName?: string;
  /** File name of the data file, relative to the .eligo file. */
  readonly dataFile: string;
  /** The NIR file's name, for the header comment. */
  readonly source?: string;
}

/** What the importer recorded about each NIR node: its type and the Eligo names that carry it. */
export interface NirRecord {
  readonly version: string;
  readonly dt: number;
  readonly method: Method;
  readonly nodes: Record<string, { readonly type: string; readonly names: Record<string, string> }>;
  readonly edges: readonly (readonly [string, string])[];
}

export interface ImportResult {
  readonly text: string;
  readonly model: string;
  /** Values of the `data(…)` params, by param name (and dataset name). */
  readonly params: Map<string, { readonly shape: readonly number[]; readonly data: Float64Array }>;
  readonly record: NirRecord;
  /** One line per node: what it became. */
  readonly mapping: readonly string[];
}

// The language's keywords, and the names it gives a meaning inside a model (the time index, dt, data(…)).
const RESERVED: ReadonlySet<string> = new Set([...KEYWORDS, 't', 'dt', 'data']);

/** A number as Eligo text that reads back to the same double. */
export function num(x: number): string {
  if (Object.is(x, -0)) return '0';
  const s = String(x);
  return s.includes('e') ? s.replace('e+', 'e') : s;
}

export function importNir(file: NirFile, opts: ImportOptions): ImportResult {
  const dt = opts.dt;
  if (!(dt > 0) || !Number.isFinite(dt)) throw new NirError(`--dt must be a positive number of seconds, got ${dt}`);
  const method = opts.method ?? 'exact';
  const g = flattenGraph(file.graph);
  const sched = schedule(g);
  const model = opts.modelName ?? 'nir';

  // ---- names
  const taken = new Set<string>([model]);
  const fresh = (base: string): string => {
    let s = base.replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z_]/.test(s)) s = `n${s}`;
    if (RESERVED.has(s)) s = `${s}_`;
    let name = s;
    for (let k = 2; taken.has(name); k++) name = `${s}_${k}`;
    taken.add(name);
    return name;
  };
  const tag = (n: string): string => n.replace(/[^A-Za-z0-9_]/g, '_');

  const record: Record<string, { type: string; names: Record<string, string> }> = {};
  const params = new Map<string, { shape: readonly number[]; data: Float64Array }>();
  const decls: string[] = [];
  const consts: string[] = [];
  const equations: string[] = [];
  const mapping: string[] = [];
  let usesSpike = false;

  // ---- sizes and node checks
  const size = new Map<string, number>();
  const sizeOf = (name: string): number => {
    const known = size.get(name);
    if (known !== undefined) return known;
    const node = g.nodes.get(name)!;
    let s: number;
    switch (node.type) {
      case 'Input':
        s = node.shape.reduce((a, b) => a * b, 1);
        break;
      case 'Output':
        s = node.shape.reduce((a, b) => a * b, 1);
        break;
      case 'Affine':
      case 'Linear':
        s = node.weight.shape[0]!;
        break;
      case 'Scale':
        s = node.scale.data.length;
        break;
      case 'Threshold':
        s = node.threshold.data.length;
        break;
      case 'Flatten': {
        const ins = g.edges.filter(([, b]) => b === name);
        if (ins.length === 0) throw new NirError(`node '${name}' (Flatten) has no input`);
        size.set(name, 0); // a cycle of Flattens stops here
        s = sizeOf(ins[0]![0]);
        break;
      }
      case 'Delay':
        s = node.delay.data.length;
        break;
      case 'Unsupported':
        throw new NirError(
          `node '${name}' is a ${node.nirType}: Eligo models have no convolutions or pooling; only Affine, Linear, Scale, neurons, Threshold, Delay and Flatten import`,
        );
      default:
        s = neuronSize(name, node);
    }
    size.set(name, s);
    return s;
  };
  for (const name of g.nodes.keys()) sizeOf(name);
  for (const [a, b] of g.edges) {
    const node = g.nodes.get(b)!;
    const want = node.type === 'Affine' || node.type === 'Linear' ? node.weight.shape[1]! : sizeOf(b);
    if (node.type === 'Input') throw new NirError(`edge '${a}' → '${b}' goes into an Input node`);
    if (g.nodes.get(a)!.type === 'Output') throw new NirError(`edge '${a}' → '${b}' comes out of an Output node`);
    if (sizeOf(a) !== want) throw new NirError(`edge '${a}' → '${b}': '${a}' gives ${sizeOf(a)} values but '${b}' (${node.type}) takes ${want}`);
  }

  // ---- declarations per node (in the schedule's order, so the text reads input → output)
  const delays = new Map<string, number>();
  const stateOf = new Map<string, { out: string }>();
  const inputName = new Map<string, string>();
  for (const name of sched.order) {
    const node = g.nodes.get(name)!;
    const t = tag(name);
    switch (node.type) {
      case 'Input': {
        const x = fresh(`x_${t}`);
        inputName.set(name, x);
        decls.push(`input  ${x}: [${sizeOf(name)}]${node.shape.length > 1 ? `   # NIR shape [${node.shape.join(', ')}], flattened` : ''}`);
        record[name] = { type: 'Input', names: { x } };
        mapping.push(`${name} (Input [${node.shape.join(', ')}]) → input ${x}`);
        break;
      }
      case 'Affine':
      case 'Linear': {
        const W = fresh(`W_${t}`);
        params.set(W, { shape: node.weight.shape, data: node.weight.data });
        decls.push(`param  ${W}: [${node.weight.shape.join(', ')}] = data("${opts.dataFile}", "${W}")`);
        const names: Record<string, string> = { W };
        if (node.type === 'Affine') {
          const b = fresh(`b_${t}`);
          params.set(b, { shape: node.bias.shape, data: node.bias.data });
          decls.push(`param  ${b}: [${node.bias.shape.join(', ')}] = data("${opts.dataFile}", "${b}")`);
          names.b = b;
        }
        record[name] = { type: node.type, names };
        mapping.push(`${name} (${node.type} ${node.weight.shape.join('×')}) → param ${W}${names.b ? ` and ${names.b}` : ''}`);
        break;
      }
      case 'Scale': {
        const u = uniform(node.scale);
        const s = fresh(`s_${t}`);
        if (u !== undefined) consts.push(`${s} = ${num(u)}`);
        else {
          params.set(s, { shape: node.scale.shape, data: node.scale.data });
          decls.push(`param  ${s}: [${node.scale.data.length}] = data("${opts.dataFile}", "${s}")`);
        }
        record[name] = { type: 'Scale', names: { s } };
        mapping.push(`${name} (Scale) → ${u !== undefined ? 'const' : 'param'} ${s}`);
        break;
      }
      case 'Threshold': {
        const th = fresh(`theta_${t}`);
        consts.push(`${th} = ${num(neuronConst(name, 'Threshold', 'threshold', node.threshold))}`);
        record[name] = { type: 'Threshold', names: { theta: th } };
        mapping.push(`${name} (Threshold) → spike(· − ${th})`);
        usesSpike = true;
        break;
      }
      case 'Flatten':
        record[name] = { type: 'Flatten', names: {} };
        mapping.push(`${name} (Flatten) → identity on ${sizeOf(name)} values`);
        break;
      case 'Delay': {
        const k = delaySteps(name, node.delay);
        delays.set(name, k);
        record[name] = { type: 'Delay', names: {} };
        mapping.push(
          `${name} (Delay ${num(node.delay.data[0]!)} = ${k} step${k === 1 ? '' : 's'} of dt) → its input read ${k} step${k === 1 ? '' : 's'} earlier (z[t-k], x[t-k])`,
        );
        break;
      }
      case 'Output':
        break;
      default:
        if (isStateful(node.type)) {
          const names = declareNeuron(name, node);
          record[name] = { type: node.type, names };
          stateOf.set(name, { out: names.z ?? names.v! });
        }
    }
  }

  // ---- expressions
  // A node's output read `lag` steps before the step being computed (0: z[t+1], 1: z[t], k + 1: z[t-k]);
  // a back edge adds one step, a Delay node its number of steps (y(t) = x(t − τ) with τ = k·dt).
  const memo = new Map<string, string>();
  const at = (base: string, lag: number, input: boolean): string => {
    if (lag === 0) return `${base}[t+1]`;
    if (lag === 1) return input ? `${base}[t]` : base;
    return `${base}[t-${lag - 1}]`;
  };
  const out = (name: string, lag: number, via: string): string => {
    const key = `${name}@${lag}`;
    const m = memo.get(key);
    if (m !== undefined) return m;
    const node = g.nodes.get(name)!;
    let e: string;
    const st = stateOf.get(name);
    if (st) e = at(st.out, lag, false);
    else {
      switch (node.type) {
        case 'Input':
          e = at(inputName.get(name)!, lag, true);
          break;
        case 'Affine':
        case 'Linear': {
          const r = record[name]!.names;
          const x = inputOf(name, lag);
          e = `${r.W!} @ ${wrap(x)}${r.b ? ` + ${r.b}` : ''}`;
          break;
        }
        case 'Scale':
          e = `${record[name]!.names.s!} * ${wrap(inputOf(name, lag))}`;
          break;
        case 'Threshold':
          e = `spike(${inputOf(name, lag)} - ${record[name]!.names.theta!})`;
          break;
        case 'Flatten':
          e = inputOf(name, lag);
          break;
        case 'Delay':
          e = inputOf(name, lag + delays.get(name)!);
          break;
        default:
          throw new NirError(`node '${name}' (${node.type}) cannot feed '${via}'`);
      }
    }
    memo.set(key, e);
    return e;
  };
  const inputOf = (name: string, lag: number): string => {
    const terms: string[] = [];
    g.edges.forEach(([a, b], k) => {
      if (b !== name) return;
      terms.push(out(a, sched.back.has(k) ? lag + 1 : lag, name));
    });
    if (terms.length === 0) throw new NirError(`node '${name}' (${g.nodes.get(name)!.type}) has no input edge`);
    return terms.join(' + ');
  };

  for (const name of sched.order) {
    const node = g.nodes.get(name)!;
    if (!isStateful(node.type)) continue;
    neuronEquations(name, node, inputOf(name, 0));
  }

  // ---- outputs and the loss
  const losses: string[] = [];
  for (const name of sched.order) {
    const node = g.nodes.get(name)!;
    if (node.type !== 'Output') continue;
    const y = fresh(`y_${tag(name)}`);
    decls.push(`target ${y}: [${sizeOf(name)}]`);
    losses.push(`mse(${inputOf(name, 0)}, ${y}[t+1])`);
    record[name] = { type: 'Output', names: { y } };
    mapping.push(`${name} (Output [${node.shape.join(', ')}]) → target ${y}, mse loss on the signal into it`);
  }

  // ---- text
  const rec: NirRecord = { version: file.version, dt, method, nodes: record, edges: g.edges };
  const lines: string[] = [];
  lines.push(
    `# Imported from NIR${opts.source ? ` file ${opts.source}` : ''} (version ${file.version}) by eligo import nir, dt = ${num(dt)}, ${method === 'exact' ? 'exact exponential integration' : 'forward Euler'} of the node equations.`,
  );
  lines.push('# Weights and biases are read from the data file next to this one; neuron parameters are constants.');
  lines.push(`# @nir ${JSON.stringify(rec)}`);
  lines.push(`model ${model} {`);
  const body: string[] = [];
  body.push(`const dt = ${num(dt)}`);
  for (const c of consts) body.push(`const ${c}`);
  body.push('');
  for (const d of decls) body.push(d);
  if (usesSpike) body.push('surrogate spike = fast_sigmoid(slope = 10)   # NIR stores no surrogate gradient: choose the one you train with');
  body.push('');
  for (const e of equations) body.push(e);
  if (losses.length) body.push(`loss = ${losses.join(' + ')}`);
  for (const b of body) lines.push(b ? `  ${b}` : '');
  lines.push('}');
  return { text: `${lines.join('\n')}\n`, model, params, record: rec, mapping };

  // ---- neurons
  function neuronSize(name: string, node: NirNode): number {
    const rec = node as unknown as Record<string, NirTensor>;
    const first = Object.values(rec).find((v): v is NirTensor => typeof v === 'object' && v !== null && 'data' in v)!;
    if (first.shape.length !== 1)
      throw new NirError(`node '${name}' (${node.type}) has parameters of shape [${first.shape.join(', ')}]; Eligo imports populations that are vectors`);
    return first.data.length;
  }

  /** A Delay's τ in whole steps of dt (the language's delays are whole steps, one per population). */
  function delaySteps(name: string, t: NirTensor): number {
    const u = uniform(t);
    if (u === undefined) {
      let lo = Infinity,
        hi = -Infinity;
      for (const v of t.data) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      throw new NirError(
        `node '${name}' (Delay): the delay differs across its ${t.data.length} channels (${num(lo)} … ${num(hi)}); Eligo delays a whole population by one number of steps`,
      );
    }
    const k = Math.round(u / dt);
    if (!(u >= 0) || Math.abs(u / dt - k) > 1e-6 * Math.max(1, k))
      throw new NirError(
        `node '${name}' (Delay): a delay of ${num(u)} is ${num(u / dt)} steps of dt = ${num(dt)}; Eligo delays by whole steps: choose a dt that divides it`,
      );
    return k;
  }

  function neuronConst(name: string, type: string, p: string, t: NirTensor): number {
    const u = uniform(t);
    if (u === undefined) {
      let lo = Infinity,
        hi = -Infinity;
      for (const v of t.data) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      throw new NirError(
        `node '${name}' (${type}): '${p}' differs across its ${t.data.length} neurons (${num(lo)} … ${num(hi)}); Eligo's constants are scalars, so a population must share its ${p}`,
      );
    }
    return u;
  }

  function declareNeuron(name: string, node: NirNode): Record<string, string> {
    const t = tag(name);
    const n = sizeOf(name);
    const rec = node as unknown as Record<string, NirTensor>;
    const val = (p: string): number => neuronConst(name, node.type, p, rec[p]!);
    const names: Record<string, string> = {};
    const constName = (p: string, value: number): string => {
      const c = fresh(`${p}_${t}`);
      consts.push(`${c} = ${num(value)}`);
      names[p] = c;
      return c;
    };
    const leak = (tauParam: string, key: string): void => {
      const tau = constName(tauParam, val(tauParam));
      const a = fresh(`${key}_${t}`);
      consts.push(`${a} = ${method === 'exact' ? `exp(-dt / ${tau})` : `1 - dt / ${tau}`}`);
      names[key] = a;
    };
    const type = node.type;
    if (type === 'CubaLI' || type === 'CubaLIF') {
      names.i = fresh(`i_${t}`);
      decls.push(`state  ${names.i}: [${n}] = 0`);
      leak('tau_syn', 'alpha_syn');
      const w = val('w_in');
      if (w !== 1) constName('w_in', w);
    }
    if (type === 'LI' || type === 'LIF' || type === 'CubaLI' || type === 'CubaLIF') leak(type.startsWith('Cuba') ? 'tau_mem' : 'tau', 'alpha');
    names.v = fresh(`v_${t}`);
    decls.push(`state  ${names.v}: [${n}] = 0`);
    constName('r', val('r'));
    if (type !== 'I' && type !== 'IF') {
      const vl = val('v_leak');
      if (vl !== 0) constName('v_leak', vl);
    }
    const spiking = type === 'LIF' || type === 'IF' || type === 'CubaLIF';
    if (spiking) {
      constName('v_threshold', val('v_threshold'));
      const vr = val('v_reset');
      if (vr !== 0) constName('v_reset', vr);
      names.z = fresh(`z_${t}`);
      decls.push(`state  ${names.z}: [${n}] = 0`);
      usesSpike = true;
    }
    const shown = Object.keys(rec)
      .filter((k) => typeof rec[k] === 'object')
      .map((k) => `${k} = ${num(rec[k]!.data[0]!)}`)
      .join(', ');
    mapping.push(`${name} (${type}, ${n} neurons: ${shown}) → states ${[names.i, names.v, names.z].filter(Boolean).join(', ')}`);
    return names;
  }

  function neuronEquations(name: string, node: NirNode, current: string): void {
    const r = record[name]!.names;
    const type = node.type;
    equations.push(`# ${name}: NIR ${type}`);
    let drive = current;
    if (r.i) {
      const a = r.alpha_syn!;
      const inj = r.w_in ? `${r.w_in} * ${wrap(current)}` : wrap(current);
      const gain = method === 'exact' ? `(1 - ${a})` : `(dt / ${r.tau_syn!})`;
      equations.push(`${r.i}[t+1] = ${a} * ${r.i} + ${gain} * ${inj}`);
      drive = `${r.i}[t+1]`;
    }
    const v = r.v!;
    // v̂: the potential after the last step's reset.
    const vhat = r.z ? (r.v_reset ? `((1 - ${r.z}) * ${v} + ${r.z} * ${r.v_reset})` : `(1 - ${r.z}) * ${v}`) : v;
    if (type === 'I' || type === 'IF') {
      equations.push(`${v}[t+1] = ${vhat} + dt * ${r.r!} * ${wrap(drive)}`);
    } else {
      const a = r.alpha!;
      const gain = method === 'exact' ? `(1 - ${a}) * ${r.r!}` : `dt / ${r.tau ?? r.tau_mem!} * ${r.r!}`;
      const leakTerm = r.v_leak ? `${r.v_leak} + ${a} * (${vhat} - ${r.v_leak})` : `${a} * ${vhat}`;
      equations.push(`${v}[t+1] = ${leakTerm} + ${gain} * ${wrap(drive)}`);
    }
    if (r.z) equations.push(`${r.z}[t+1] = spike(${v}[t+1] - ${r.v_threshold!})`);
  }
}

/** Parenthesised unless it is one name or call. */
function wrap(e: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*(\[t(\+1)?(-\d+)?\])?$/.test(e) ? e : `(${e})`;
}

function uniform(t: NirTensor): number | undefined {
  const d = t.data;
  if (d.length === 0) return undefined;
  for (let i = 1; i < d.length; i++) if (d[i] !== d[0]) return undefined;
  return d[0];
}

export type { FlatGraph };
