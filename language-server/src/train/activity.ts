// What the trained network does on one test sequence: the Training tab's
// spike raster, a few neurons' traces and the prediction over time (as the
// e-prop paper's Fig. 3 shows them). A population is spiking when its update
// goes through a spike (a `spike`/surrogate vertex in its equation's cone)
// and its values are all 0 or 1; the input is drawn as a raster too when it
// is spikes. Values are the float32 ones the run computed.

import type { TrainActivity } from '../protocol.js';
import type { T } from './compileGraph.js';
import type { StepModel } from './model.js';
import { stepTensors } from './sequence.js';
import type { Task } from './tasks/types.js';

/** Neurons drawn per raster and neurons whose traces are shown. */
const RASTER_NEURONS = 64;
const TRACE_NEURONS = 3;

function throughSpike(model: StepModel, next: number): boolean {
  const g = model.spec.graph;
  const seen = new Uint8Array(g.vertices.length);
  const stack = [next];
  while (stack.length) {
    const v = g.vertices[stack.pop()!]!;
    if (seen[v.id]) continue;
    seen[v.id] = 1;
    if (v.op === 'spike') return true;
    for (const u of v.inputs) stack.push(u);
  }
  return false;
}

const binary = (rows: readonly Float32Array[]): boolean => rows.every((r) => r.every((v) => v === 0 || v === 1));

function raster(name: string, rows: readonly Float32Array[]): TrainActivity['rasters'][number] {
  const n = rows[0]?.length ?? 0;
  const shown = Math.min(n, RASTER_NEURONS);
  const spikes = Array.from({ length: shown }, (_, i) => rows.flatMap((r, t) => (r[i] === 1 ? [t + 1] : [])));
  return { name, neurons: n, spikes };
}

export function sequenceActivity(model: StepModel, params: readonly T[], task: Task, sample = 0): TrainActivity {
  const tf = model.tf;
  const spec = model.spec;
  const batch = task.batch('test', [sample]);
  const hidden = new Set(spec.scope.hidden.map((h) => h.name));
  const values = spec.states.map(() => [] as Float32Array[]);
  const inputs: Float32Array[] = [];
  const prediction: Float32Array[] = [];
  let states = model.initialStates(1);
  try {
    for (let t = 0; t < batch.steps; t++) {
      const out = tf.tidy(() => {
        const d = stepTensors(tf, batch, t, spec.input.shape, spec.target.shape);
        const r = model.step(states, params, d.x, d.y);
        return {
          next: r.next.map((s) => tf.keep(s)),
          x: d.x.dataSync() as Float32Array,
          p: r.prediction ? (r.prediction.dataSync() as Float32Array) : undefined,
        };
      });
      for (const s of states) if (!out.next.includes(s)) s.dispose();
      states = out.next;
      states.forEach((s, i) => values[i]!.push(s.dataSync() as Float32Array));
      inputs.push(Float32Array.from(out.x));
      if (out.p) prediction.push(Float32Array.from(out.p));
    }
  } finally {
    for (const s of states) s.dispose();
  }
  const rasters: TrainActivity['rasters'][number][] = [];
  if (binary(inputs)) rasters.push(raster(spec.input.name, inputs));
  let population: { index: number; size: number } | undefined;
  spec.states.forEach((s, i) => {
    if (hidden.has(s.name) || s.next === s.leaf || !throughSpike(model, s.next) || !binary(values[i]!)) return;
    rasters.push(raster(s.name, values[i]!));
    population ??= { index: i, size: values[i]![0]?.length ?? 0 };
  });
  const traces: TrainActivity['traces'][number][] = [];
  if (population) {
    // The most active neurons of the first spiking population, and every other state of that size.
    const rows = values[population.index]!;
    const counts = Array.from({ length: population.size }, (_, j) => rows.reduce((a, r) => a + r[j]!, 0));
    const chosen = counts
      .map((c, j) => [c, j] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, TRACE_NEURONS)
      .map(([, j]) => j)
      .sort((a, b) => a - b);
    spec.states.forEach((s, i) => {
      if (hidden.has(s.name) || i === population!.index || (values[i]![0]?.length ?? 0) !== population!.size) return;
      for (const j of chosen) traces.push({ state: s.name, neuron: j, values: values[i]!.map((r) => r[j]!) });
    });
  }
  let label: number | undefined;
  if (batch.labels) for (let t = 0; t < batch.steps && label === undefined; t++) if (batch.labels[t]! >= 0) label = batch.labels[t]!;
  const nOut = prediction[0]?.length ?? 0;
  return {
    split: 'test',
    sample,
    steps: batch.steps,
    rasters,
    traces,
    ...(prediction.length ? { prediction: Array.from({ length: nOut }, (_, k) => prediction.map((p) => p[k]!)) } : {}),
    ...(label !== undefined ? { label } : {}),
  };
}
