// NIR (Neuromorphic Intermediate Representation; Pedersen et al., Nat.
// Commun. 15, 2024) as TypeScript data: a graph of named nodes and directed
// edges, each node a continuous-time primitive with its parameters. The field
// names, `type` strings and equations follow neuromorphs/NIR's `nir/ir/*.py`:
//
//   Affine     y = W x + b                       Linear  y = W x       Scale  y = s ⊙ x
//   LI         τ v̇ = (v_leak − v) + R I
//   LIF        LI, then z = [v > v_threshold] and v ← v_reset on a spike
//   CubaLI     τ_syn İ = −I + w_in ⊙ S, then LI driven by I
//   CubaLIF    CubaLI, then threshold and reset as LIF
//   I          v̇ = R I                           IF  I, then threshold and reset
//   Threshold  z = [x > threshold]               Delay  y(t) = x(t − τ)
//   Flatten    reshape (start_dim … end_dim merged); Input / Output: the graph's ports
//
// Edges are identity connections: a node's input is the sum of the outputs
// of the nodes with an edge into it. Cycles are allowed (recurrence).

import { EligoError } from '../../util/errors.js';

export interface NirTensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
  /** The stored dtype (weights are float32 in the files NIR's writers make, neuron parameters float32 or float64). */
  readonly dtype: 'f32' | 'f64';
}

export type NeuronParam = 'tau' | 'tau_syn' | 'tau_mem' | 'r' | 'v_leak' | 'v_threshold' | 'v_reset' | 'w_in';

export type NirNode =
  | { readonly type: 'Input'; readonly shape: readonly number[] }
  | { readonly type: 'Output'; readonly shape: readonly number[] }
  | { readonly type: 'Affine'; readonly weight: NirTensor; readonly bias: NirTensor }
  | { readonly type: 'Linear'; readonly weight: NirTensor }
  | { readonly type: 'Scale'; readonly scale: NirTensor }
  | { readonly type: 'LI'; readonly tau: NirTensor; readonly r: NirTensor; readonly v_leak: NirTensor }
  | {
      readonly type: 'LIF';
      readonly tau: NirTensor;
      readonly r: NirTensor;
      readonly v_leak: NirTensor;
      readonly v_threshold: NirTensor;
      readonly v_reset: NirTensor;
    }
  | {
      readonly type: 'CubaLI';
      readonly tau_syn: NirTensor;
      readonly tau_mem: NirTensor;
      readonly r: NirTensor;
      readonly v_leak: NirTensor;
      readonly w_in: NirTensor;
    }
  | {
      readonly type: 'CubaLIF';
      readonly tau_syn: NirTensor;
      readonly tau_mem: NirTensor;
      readonly r: NirTensor;
      readonly v_leak: NirTensor;
      readonly v_threshold: NirTensor;
      readonly v_reset: NirTensor;
      readonly w_in: NirTensor;
    }
  | { readonly type: 'I'; readonly r: NirTensor }
  | { readonly type: 'IF'; readonly r: NirTensor; readonly v_threshold: NirTensor; readonly v_reset: NirTensor }
  | { readonly type: 'Threshold'; readonly threshold: NirTensor }
  | { readonly type: 'Delay'; readonly delay: NirTensor }
  | { readonly type: 'Flatten'; readonly start_dim: number; readonly end_dim: number; readonly input_type?: readonly number[] }
  | NirGraph
  /** A node type NIR defines that Eligo does not model (Conv1d, Conv2d, SumPool2d, AvgPool2d): read, named in messages, never imported. */
  | { readonly type: 'Unsupported'; readonly nirType: string };

export interface NirGraph {
  readonly type: 'NIRGraph';
  readonly nodes: ReadonlyMap<string, NirNode>;
  readonly edges: readonly (readonly [string, string])[];
}

export interface NirFile {
  readonly version: string;
  readonly graph: NirGraph;
}

/** Parameters of each neuron type, in NIR's field order (the order its writer stores them in). */
export const NEURON_PARAMS: Readonly<Record<string, readonly NeuronParam[]>> = {
  LI: ['tau', 'r', 'v_leak'],
  LIF: ['tau', 'r', 'v_leak', 'v_threshold', 'v_reset'],
  CubaLI: ['tau_syn', 'tau_mem', 'r', 'v_leak', 'w_in'],
  CubaLIF: ['tau_syn', 'tau_mem', 'r', 'v_leak', 'v_threshold', 'v_reset', 'w_in'],
  I: ['r'],
  IF: ['r', 'v_threshold', 'v_reset'],
};

/** NIR types Eligo reads but cannot express (convolutions and pooling). */
export const UNSUPPORTED_TYPES: ReadonlySet<string> = new Set(['Conv1d', 'Conv2d', 'SumPool2d', 'AvgPool2d']);

/** The NIR version whose layout Eligo writes (neuromorphs/NIR 1.0: v_reset stored, edges as strings). */
export const NIR_VERSION = '1.0.7';

export class NirError extends EligoError {
  constructor(message: string) {
    super('interop.nir', message);
  }
}

export function tensor(shape: readonly number[], data: ArrayLike<number>, dtype: 'f32' | 'f64' = 'f64'): NirTensor {
  return { shape, data: Float64Array.from(data), dtype };
}
