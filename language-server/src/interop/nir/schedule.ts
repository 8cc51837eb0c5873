// How a NIR graph runs in discrete time, shared by the importer and the
// semantics check: a node reads its predecessors' outputs of the same step
// along forward edges, and of the previous step along the edges that close a
// cycle (back edges of a depth-first search from the Input nodes). That is
// how the frameworks that write recurrent NIR graphs step them (a recurrent
// Linear feeds the neuron's output of the last step back), and it is what an
// Eligo equation says with `z` (= z[t]) against `z[t+1]`.

import type { FlatGraph } from './flatten.js';
import { NirError } from './types.js';

export interface Schedule {
  /** Node names in an order where every forward edge goes from an earlier node to a later one. */
  readonly order: readonly string[];
  /** Edge indices (into graph.edges) that close a cycle: read from the previous step. */
  readonly back: ReadonlySet<number>;
}

const STATEFUL = new Set(['LI', 'LIF', 'CubaLI', 'CubaLIF', 'I', 'IF']);

export function isStateful(type: string): boolean {
  return STATEFUL.has(type);
}

export function schedule(g: FlatGraph): Schedule {
  const out = new Map<string, number[]>();
  g.edges.forEach(([a], k) => out.set(a, [...(out.get(a) ?? []), k]));
  const state = new Map<string, 'open' | 'done'>();
  const back = new Set<number>();
  const post: string[] = [];
  const dfs = (n: string): void => {
    state.set(n, 'open');
    for (const k of out.get(n) ?? []) {
      const b = g.edges[k]![1];
      const s = state.get(b);
      if (s === 'open') back.add(k);
      else if (s === undefined) dfs(b);
    }
    state.set(n, 'done');
    post.push(n);
  };
  const names = [...g.nodes.keys()];
  for (const n of names) if (g.nodes.get(n)!.type === 'Input' && !state.has(n)) dfs(n);
  for (const n of names) if (!state.has(n)) dfs(n);
  // A cycle must hold a neuron: otherwise the graph is an algebraic loop with no state to carry it.
  for (const k of back) {
    const [a, b] = g.edges[k]!;
    if (!cycleHasState(g, b, a))
      throw new NirError(`the cycle through '${a}' → '${b}' has no neuron in it (an algebraic loop); Eligo needs a LIF, LI, CubaLIF, … node in every cycle`);
  }
  return { order: post.reverse(), back };
}

/** Whether some path from `from` to `to` (along forward and back edges) passes a stateful node, ends included. */
function cycleHasState(g: FlatGraph, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack: [string, boolean][] = [[from, isStateful(g.nodes.get(from)!.type)]];
  while (stack.length) {
    const [n, has] = stack.pop()!;
    if (n === to && has) return true;
    const key = `${n}:${has}`;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const [a, b] of g.edges) if (a === n) stack.push([b, has || isStateful(g.nodes.get(b)!.type)]);
  }
  return false;
}
