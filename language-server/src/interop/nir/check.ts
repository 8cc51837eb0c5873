// The semantics check of an import: run the NIR graph itself — its node
// equations at dt, with each neuron's own per-neuron parameters, written here
// independently of the generated Eligo text — and the imported Eligo model
// (graph/simulate.ts, the Float64 reference) on the same random input, and
// report the largest difference of every neuron's state. A τ in the wrong
// unit, a dt applied twice or a missing R (norse #411's kind of mistake)
// shows up as a large difference; a faithful import as rounding (~1e-12).

import { compile, findItem, modelStep } from '../../compile.js';
import { initialParams, initialStates, simulate } from '../../graph/simulate.js';
import { Rng } from '../../graph/random.js';
import type { Tensor } from '../../graph/types.js';
import { flattenGraph } from './flatten.js';
import type { ImportResult, Method } from './import.js';
import { isStateful, schedule } from './schedule.js';
import type { NirFile, NirNode, NirTensor } from './types.js';

export interface CheckOptions {
  readonly steps?: number;
  readonly seed?: number;
  /** Probability of an input spike per channel and step. */
  readonly rate?: number;
}

export interface CheckResult {
  readonly steps: number;
  readonly seed: number;
  /** Largest |Eligo − NIR| over all neuron states and steps. */
  readonly maxDifference: number;
  /** Per node and state (v, i, z): the largest difference and the step (1-based) where it occurs. */
  readonly perState: readonly {
    readonly node: string;
    readonly state: string;
    readonly eligo: string;
    readonly maxDifference: number;
    readonly step: number;
    readonly scale: number;
  }[];
  /** Spikes emitted by the NIR simulation (so a check that saw no spikes says so). */
  readonly spikes: number;
}

type Vec = Float64Array;

/** Steps the flat NIR graph: returns every stateful node's v (and i, z) after each step. */
export function simulateNir(file: NirFile, dt: number, method: Method, inputs: ReadonlyMap<string, Vec[]>, steps: number): Map<string, Map<string, Vec[]>> {
  const g = flattenGraph(file.graph);
  const { order, back } = schedule(g);
  const nodes = g.nodes;
  const size = (t: NirTensor): number => t.data.length;
  const stateOf = new Map<string, { v: Vec; i?: Vec; z?: Vec }>();
  const traces = new Map<string, Map<string, Vec[]>>();
  for (const [name, node] of nodes) {
    if (!isStateful(node.type)) continue;
    const n = size((node as { r: NirTensor }).r);
    const spiking = node.type === 'LIF' || node.type === 'IF' || node.type === 'CubaLIF';
    const cuba = node.type === 'CubaLI' || node.type === 'CubaLIF';
    stateOf.set(name, { v: new Float64Array(n), ...(cuba ? { i: new Float64Array(n) } : {}), ...(spiking ? { z: new Float64Array(n) } : {}) });
    traces.set(name, new Map([['v', []], ...(cuba ? [['i', []] as [string, Vec[]]] : []), ...(spiking ? [['z', []] as [string, Vec[]]] : [])]));
  }
  let prevOut = new Map<string, Vec>();
  // Delay nodes: y(t) = x(t − τ) with τ = k·dt, a line of the last k inputs (oldest first).
  const delayOf = (node: { delay: NirTensor }): number => Math.round(node.delay.data[0]! / dt);
  const lines = new Map<string, Vec[]>();
  for (const [name, node] of nodes) {
    // Every node's output before the first step: zero.
    const n =
      node.type === 'Affine' || node.type === 'Linear'
        ? node.weight.shape[0]!
        : node.type === 'Input' || node.type === 'Output'
          ? node.shape.reduce((a, b) => a * b, 1)
          : 'r' in node
            ? size(node.r)
            : node.type === 'Scale'
              ? size(node.scale)
              : node.type === 'Threshold'
                ? size(node.threshold)
                : node.type === 'Delay'
                  ? size(node.delay)
                  : 0;
    prevOut.set(name, new Float64Array(n));
  }
  // Flatten nodes take their size from their input.
  for (const [name, node] of nodes)
    if (node.type === 'Flatten') prevOut.set(name, new Float64Array(prevOut.get(g.edges.find(([, b]) => b === name)![0])!.length));
  // What a back edge reads at the first step: the stateless nodes applied to the zero initial state
  // (a recurrent Affine gives its bias, as W·z[0] + b does in the frameworks and in the Eligo equation).
  {
    const init = new Map<string, Vec>();
    for (const name of order) {
      const node = nodes.get(name)!;
      if (isStateful(node.type) || node.type === 'Input') {
        init.set(name, prevOut.get(name)!);
        continue;
      }
      const zero = new Map<string, Vec[]>();
      const inputOf = (nm: string, n: number): Vec => {
        const acc = new Float64Array(n);
        g.edges.forEach(([a, b], k) => {
          if (b !== nm) return;
          const src = back.has(k) ? prevOut.get(a)! : init.get(a)!;
          for (let j = 0; j < n; j++) acc[j] = acc[j]! + src[j]!;
        });
        return acc;
      };
      init.set(name, stepNode(name, node, inputOf, zero, 0, dt, method, new Map(), prevOut, new Map()));
      // A Delay's line holds what its input was before t = 0: the network at rest (zero states, biases through).
      if (node.type === 'Delay')
        lines.set(
          name,
          Array.from({ length: delayOf(node) }, () => Float64Array.from(init.get(name)!)),
        );
    }
    prevOut = init;
  }

  for (let t = 0; t < steps; t++) {
    const outNow = new Map<string, Vec>();
    const inputOf = (name: string, n: number): Vec => {
      const acc = new Float64Array(n);
      g.edges.forEach(([a, b], k) => {
        if (b !== name) return;
        const src = back.has(k) ? prevOut.get(a)! : outNow.get(a)!;
        for (let j = 0; j < n; j++) acc[j] = acc[j]! + src[j]!;
      });
      return acc;
    };
    for (const name of order) {
      const node = nodes.get(name)!;
      outNow.set(name, stepNode(name, node, inputOf, inputs, t, dt, method, stateOf, prevOut, lines));
      const st = stateOf.get(name);
      if (st) {
        const tr = traces.get(name)!;
        tr.get('v')!.push(Float64Array.from(st.v));
        if (st.i) tr.get('i')!.push(Float64Array.from(st.i));
        if (st.z) tr.get('z')!.push(Float64Array.from(st.z));
      }
    }
    prevOut = outNow;
  }
  return traces;
}

function stepNode(
  name: string,
  node: Exclude<NirNode, { type: 'NIRGraph' }>,
  inputOf: (name: string, n: number) => Vec,
  inputs: ReadonlyMap<string, Vec[]>,
  t: number,
  dt: number,
  method: Method,
  stateOf: Map<string, { v: Vec; i?: Vec; z?: Vec }>,
  prevOut: Map<string, Vec>,
  lines: Map<string, Vec[]>,
): Vec {
  const decay = (tau: number): { a: number; gain: number } =>
    method === 'exact' ? { a: Math.exp(-dt / tau), gain: 1 - Math.exp(-dt / tau) } : { a: 1 - dt / tau, gain: dt / tau };
  switch (node.type) {
    case 'Input':
      return inputs.get(name)![t]!;
    case 'Output':
      return inputOf(
        name,
        node.shape.reduce((a, b) => a * b, 1),
      );
    case 'Flatten':
      return inputOf(name, prevOut.get(name)!.length);
    case 'Delay': {
      const x = inputOf(name, node.delay.data.length);
      const line = lines.get(name);
      if (!line || line.length === 0) return x; // a delay of zero steps (or the rest state before t = 0)
      line.push(x);
      return line.shift()!;
    }
    case 'Affine':
    case 'Linear': {
      const [m, n] = node.weight.shape as [number, number];
      const x = inputOf(name, n);
      const y = new Float64Array(m);
      const W = node.weight.data;
      for (let r = 0; r < m; r++) {
        let s = node.type === 'Affine' ? node.bias.data[r]! : 0;
        for (let c = 0; c < n; c++) s += W[r * n + c]! * x[c]!;
        y[r] = s;
      }
      return y;
    }
    case 'Scale': {
      const x = inputOf(name, node.scale.data.length);
      return x.map((v, j) => v * node.scale.data[j]!);
    }
    case 'Threshold': {
      const x = inputOf(name, node.threshold.data.length);
      return x.map((v, j) => (v - node.threshold.data[j]! > 0 ? 1 : 0));
    }
    case 'LI':
    case 'LIF':
    case 'CubaLI':
    case 'CubaLIF':
    case 'I':
    case 'IF': {
      const st = stateOf.get(name)!;
      const n = st.v.length;
      const inp = inputOf(name, n);
      const p = node as unknown as Record<string, NirTensor>;
      for (let j = 0; j < n; j++) {
        let drive = inp[j]!;
        if (st.i) {
          const { a, gain } = decay(p.tau_syn!.data[j]!);
          st.i[j] = a * st.i[j]! + gain * p.w_in!.data[j]! * drive;
          drive = st.i[j]!;
        }
        // The reset NIR's LIF applies on a spike: v ← v_reset (the spike of the last step).
        const vhat = st.z && st.z[j] === 1 ? p.v_reset!.data[j]! : st.v[j]!;
        const R = p.r!.data[j]!;
        if (node.type === 'I' || node.type === 'IF') st.v[j] = vhat + dt * R * drive;
        else {
          const { a, gain } = decay((p.tau ?? p.tau_mem)!.data[j]!);
          const vl = p.v_leak!.data[j]!;
          st.v[j] = vl + a * (vhat - vl) + gain * R * drive;
        }
        if (st.z) st.z[j] = st.v[j]! - p.v_threshold!.data[j]! > 0 ? 1 : 0;
      }
      return Float64Array.from(st.z ?? st.v);
    }
    default:
      throw new Error(`no simulation of ${node.type}`);
  }
}

/** Runs both sides on seeded Bernoulli inputs and compares every neuron state. */
export function checkImport(file: NirFile, imported: ImportResult, opts: CheckOptions = {}): CheckResult {
  const steps = opts.steps ?? 100;
  const seed = opts.seed ?? 1;
  const rate = opts.rate ?? 0.2;
  const c = compile(imported.text);
  const item = findItem(c, imported.model, ['model']);
  if (item.hasErrors) throw new Error(`the imported model does not compile: ${c.diagnostics.find((d) => d.severity === 'error')?.message ?? ''}`);
  for (const scope of c.checked.items.values()) {
    if (scope.kind !== 'model') continue;
    for (const [name, init] of scope.initialisers) {
      const v = imported.params.get(name)?.data;
      if (init.kind === 'data' && v) init.values = v;
    }
  }
  const { scope, graph } = modelStep(c, item);
  const rng = new Rng(seed);
  const nirInputs = new Map<string, Vec[]>();
  const data = new Map<string, Tensor[]>();
  for (const [node, rec] of Object.entries(imported.record.nodes)) {
    if (rec.type !== 'Input') continue;
    const sym = scope.symbols.get(rec.names.x!)!;
    const n = sym.shape.reduce((a, b) => a * b, 1);
    const seq: Vec[] = [];
    for (let t = 0; t < steps; t++) {
      const v = new Float64Array(n);
      for (let j = 0; j < n; j++) v[j] = rng.next() < rate ? 1 : 0;
      seq.push(v);
    }
    nirInputs.set(node, seq);
    data.set(
      rec.names.x!,
      seq.map((v) => ({ shape: sym.shape, data: v })),
    );
  }
  for (const [name, sym] of scope.symbols) {
    if (sym.kind === 'target')
      data.set(
        name,
        Array.from({ length: steps }, () => ({ shape: sym.shape, data: new Float64Array(sym.shape.reduce((a, b) => a * b, 1)) })),
      );
  }
  const traj = simulate(graph, initialParams(scope, seed), data, steps, initialStates(scope));
  const nir = simulateNir(file, imported.record.dt, imported.record.method, nirInputs, steps);
  const perState: { node: string; state: string; eligo: string; maxDifference: number; step: number; scale: number }[] = [];
  let spikes = 0;
  let maxDifference = 0;
  for (const [node, states] of nir) {
    const names = imported.record.nodes[node]!.names;
    for (const [key, seq] of states) {
      const eligo = names[key]!;
      let worst = 0,
        at = 0,
        scale = 0;
      seq.forEach((ref, t) => {
        const mine = traj.states[t]!.get(eligo)!.data;
        for (let j = 0; j < ref.length; j++) {
          const d = Math.abs(mine[j]! - ref[j]!);
          scale = Math.max(scale, Math.abs(ref[j]!));
          if (d > worst) {
            worst = d;
            at = t + 1;
          }
          if (key === 'z') spikes += ref[j]!;
        }
      });
      perState.push({ node, state: key, eligo, maxDifference: worst, step: at, scale });
      maxDifference = Math.max(maxDifference, worst);
    }
  }
  return { steps, seed, maxDifference, perState, spikes };
}
