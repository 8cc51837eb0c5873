// The evaluation point of an item, where hovers show values and Jacobians are
// computed: a function's `# @eval {...}` comment (else 0.5 everywhere); for a
// model, its parameters from their initialisers and its states after
// `steps` steps on seeded random data — a typical point of a running network.

import type { Compiled, NamedItem } from '../compile.js';
import type { ModelStepGraph } from './build.js';
import { evalComment, inputsFromJson } from './inputs.js';
import { initialParams, initialStates, randomData, simulate } from './simulate.js';
import type { Graph, Tensor } from './types.js';

export interface EvaluationPoint {
  readonly leaves: Map<number, Tensor>;
  /** How the point was chosen, for messages and hovers. */
  readonly description: string;
}

export function evaluationPoint(c: Compiled, item: NamedItem, graph: Graph, steps = 10, seed = 0): EvaluationPoint {
  if (graph.kind === 'model-step' && item.scope?.kind === 'model') {
    const g = graph as ModelStepGraph;
    const scope = item.scope;
    const params = initialParams(scope, seed);
    const data = randomData(scope, steps + 1, seed);
    const traj = simulate(g, params, data, steps, initialStates(scope));
    const states = traj.states[traj.states.length - 1] ?? initialStates(scope);
    const leaves = new Map<number, Tensor>();
    for (const s of g.model.states) leaves.set(s.leaf, states.get(s.name)!);
    for (const p of g.model.params) leaves.set(p.leaf, params.get(p.name)!);
    for (const d of g.model.data) leaves.set(d.leaf, data.get(d.name)![steps]!);
    return { leaves, description: `after ${steps} steps on random data (seed ${seed})` };
  }
  const json = evalComment(c.text, item.range.start);
  return {
    leaves: inputsFromJson(graph, json, 0.5, false),
    description: json ? "at the file's @eval point" : 'with every input 0.5 (no @eval comment)',
  };
}
