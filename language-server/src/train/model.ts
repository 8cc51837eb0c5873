// A model's step graph on tensors: its states, parameters and data by name,
// the compiled step (compileGraph.ts) and the parameters as tf.Variables
// initialised exactly as graph/simulate.ts does (same seeded initialisers,
// then rounded to float32).

import type { Variable } from '@tensorflow/tfjs';
import type { ModelStepGraph } from '../graph/build.js';
import { initialParams } from '../graph/simulate.js';
import { sizeOf, type Shape, type Tensor } from '../graph/types.js';
import type { ModelScope } from '../lang/symbols.js';
import type { Tf } from './backend.js';
import { broadcastTo, compileGraph, type CompiledGraph, type CompileOptions, type T, type Value } from './compileGraph.js';
import { EligoError } from '../util/errors.js';

export interface NamedLeaf {
  readonly name: string;
  readonly leaf: number;
  readonly shape: Shape;
}

export interface StateLeaf extends NamedLeaf {
  /** Vertex of s[t+1]. */
  readonly next: number;
  /** Initial value (a scalar broadcast to the shape). */
  readonly initial: number;
}

/** What training needs to know about a model, read off its step graph. */
export interface ModelSpec {
  readonly name: string;
  readonly graph: ModelStepGraph;
  readonly scope: ModelScope;
  readonly states: readonly StateLeaf[];
  readonly params: readonly NamedLeaf[];
  readonly input: NamedLeaf;
  readonly target: NamedLeaf;
  readonly loss: number;
  /**
   * The `loss_weight` leaf of a windowed loss (`at last`, …): the trainer
   * applies the window to the task's step weights (tasks/window.ts), so the
   * graph's own weight is fed 1 here.
   */
  readonly weight?: NamedLeaf;
  /**
   * The vertex the loss compares with the target (mse's first operand,
   * cross_entropy's log-probabilities): the model's prediction, whose arg-max
   * is the predicted class. Absent when the loss does not read the target that way.
   */
  readonly prediction?: number;
}

export class ModelError extends EligoError {
  constructor(message: string) {
    super('train.model', message);
  }
}

/** The operand that meets the target in the loss: `d = pred - y` (mse) or `y * logp` (cross_entropy). */
function findPrediction(graph: ModelStepGraph, target: number): number | undefined {
  const { vertices } = graph;
  // Follow the target through shape-only ops (a broadcast of y) to the vertex that combines it.
  const carriers = new Set([target]);
  for (const v of vertices) {
    if ((v.op === 'broadcast' || v.op === 'reshape') && carriers.has(v.inputs[0]!)) carriers.add(v.id);
  }
  for (const v of vertices) {
    if (v.inputs.length !== 2 || !['sub', 'mul', 'add'].includes(v.op)) continue;
    const k = v.inputs.findIndex((i) => carriers.has(i));
    if (k < 0) continue;
    const other = v.inputs[1 - k]!;
    if (carriers.has(other)) continue;
    if (sizeOf(vertices[other]!.shape) === sizeOf(vertices[target]!.shape)) return other;
  }
  return undefined;
}

export function modelSpec(graph: ModelStepGraph, scope: ModelScope): ModelSpec {
  const info = graph.model;
  const name = graph.name;
  const inputs = info.data.filter((d) => d.role === 'input');
  const weights = info.data.filter((d) => d.role === 'weight');
  const targets = info.data.filter((d) => d.role === 'target');
  if (inputs.length !== 1) {
    throw new ModelError(
      `model '${name}' has ${inputs.length === 0 ? 'no input' : `${inputs.length} inputs (${inputs.map((d) => d.name).join(', ')})`}; training feeds one input sequence: declare exactly one 'input x: [n_in]'`,
    );
  }
  if (targets.length !== 1) {
    throw new ModelError(
      `model '${name}' has ${targets.length === 0 ? 'no target' : `${targets.length} targets (${targets.map((d) => d.name).join(', ')})`}; training needs exactly one 'target y: [n_out]' that the loss compares with`,
    );
  }
  if (info.loss === undefined) throw new ModelError(`model '${name}' has no loss; add 'loss = mse(prediction, y[t+1])'`);
  const leaf = (d: { name: string; leaf: number }): NamedLeaf => ({ name: d.name, leaf: d.leaf, shape: graph.vertices[d.leaf]!.shape });
  const target = leaf(targets[0]!);
  const prediction = findPrediction(graph, target.leaf);
  return {
    name,
    graph,
    scope,
    states: info.states.map((s) => ({ ...leaf(s), next: s.next, initial: scope.initialStates.get(s.name) ?? 0 })),
    params: info.params.map(leaf),
    input: leaf(inputs[0]!),
    target,
    loss: info.loss,
    ...(weights[0] ? { weight: leaf(weights[0]) } : {}),
    ...(prediction !== undefined ? { prediction } : {}),
  };
}

export interface StepResult {
  /** s[t+1], batched, in spec.states order. */
  readonly next: T[];
  /** Per-sample loss of the step, [B]. */
  readonly loss: T;
  /** The prediction, [B, ...shape], when the spec has one. */
  readonly prediction?: T;
}

/** The compiled step of one model: forward with gradients through TF.js autodiff. */
export class StepModel {
  readonly compiled: CompiledGraph;
  private readonly wanted: number[];

  constructor(
    readonly tf: Tf,
    readonly spec: ModelSpec,
    opts: CompileOptions = {},
  ) {
    this.compiled = compileGraph(tf, spec.graph, opts);
    this.wanted = [...spec.states.map((s) => s.next), spec.loss, ...(spec.prediction !== undefined ? [spec.prediction] : [])];
  }

  /** Initial states for a batch: each state's folded initial value, [B, ...shape]. */
  initialStates(batch: number): T[] {
    return this.spec.states.map((s) => this.tf.fill([batch, ...s.shape], s.initial, 'float32'));
  }

  /**
   * One step. `states` are [B, ...shape]; `params` are shared ([...shape]) or,
   * for per-sample sensitivities, batched ([B, ...shape]) when `batchedParams`.
   */
  step(states: readonly T[], params: readonly T[], x: T, y: T, batchedParams = false): StepResult {
    const B = x.shape[0];
    const leaves = new Map<number, Value>();
    this.spec.states.forEach((s, i) => leaves.set(s.leaf, { t: states[i]!, batched: true }));
    this.spec.params.forEach((p, i) => leaves.set(p.leaf, { t: params[i]!, batched: batchedParams }));
    leaves.set(this.spec.input.leaf, { t: x, batched: true });
    leaves.set(this.spec.target.leaf, { t: y, batched: true });
    if (this.spec.weight) leaves.set(this.spec.weight.leaf, { t: this.one(), batched: false });
    const values = this.compiled.run(leaves, B, this.wanted);
    const batch = (id: number): T => {
      const v = values[id]!;
      return v.batched ? v.t : broadcastTo(this.tf, v.t, [B, ...this.spec.graph.vertices[id]!.shape]);
    };
    return {
      next: this.spec.states.map((s) => batch(s.next)),
      loss: batch(this.spec.loss),
      ...(this.spec.prediction !== undefined ? { prediction: batch(this.spec.prediction) } : {}),
    };
  }

  private unit: T | undefined;

  /** The scalar 1 fed to a windowed loss's weight leaf (kept for the model's life). */
  one(): T {
    return (this.unit ??= this.tf.keep(this.tf.scalar(1, 'float32')));
  }

  dispose(): void {
    this.compiled.dispose();
    this.unit?.dispose();
  }
}

/** The model's parameters as float32 tf.Variables, initialised from the model's initialisers with `seed`. */
export function initialVariables(tf: Tf, spec: ModelSpec, seed: number): Variable[] {
  const init = initialParams(spec.scope, seed);
  return spec.params.map((p) => tf.variable(toTensor(tf, init.get(p.name)!), true, `${spec.name}.${p.name}.${seed}.${variableCounter++}`));
}

let variableCounter = 0;

export function toTensor(tf: Tf, t: Tensor): T {
  return tf.tensor(Float32Array.from(t.data), [...t.shape], 'float32');
}

/** A float32 tensor back to a Float64 graph tensor (for the reference evaluator). */
export function fromTensor(t: T, shape: Shape = t.shape): Tensor {
  return { shape, data: Float64Array.from(t.dataSync()) };
}
