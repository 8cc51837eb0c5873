// A NIR graph with nested NIRGraph nodes, flattened to one level: inner nodes
// are named `outer.inner`, and the nested graphs' Input/Output nodes (pure
// ports) are removed by wiring their predecessors to their successors. The
// importer and the semantics check both work on the flat graph.

import { NirError, type NirGraph, type NirNode } from './types.js';

export interface FlatGraph {
  readonly nodes: Map<string, Exclude<NirNode, NirGraph>>;
  readonly edges: [string, string][];
}

export function flattenGraph(g: NirGraph): FlatGraph {
  const nodes = new Map<string, Exclude<NirNode, NirGraph>>();
  let edges: [string, string][] = [];
  // Port nodes of nested graphs, removed at the end.
  const ports = new Set<string>();
  // name in the outer graph → entry names (its Input ports) and exit names (its Output ports)
  const entries = new Map<string, string[]>();
  const exits = new Map<string, string[]>();

  const visit = (graph: NirGraph, prefix: string, top: boolean): void => {
    for (const [name, node] of graph.nodes) {
      const full = prefix + name;
      if (node.type === 'NIRGraph') {
        visit(node, `${full}.`, false);
        const ins = [...node.nodes].filter(([, n]) => n.type === 'Input').map(([k]) => `${full}.${k}`);
        const outs = [...node.nodes].filter(([, n]) => n.type === 'Output').map(([k]) => `${full}.${k}`);
        if (ins.length !== 1 || outs.length !== 1)
          throw new NirError(`nested graph '${full}' has ${ins.length} Input and ${outs.length} Output nodes; Eligo flattens nested graphs with one of each`);
        entries.set(full, ins);
        exits.set(full, outs);
        continue;
      }
      if (nodes.has(full)) throw new NirError(`node name '${full}' occurs twice after flattening nested graphs`);
      nodes.set(full, node);
      if (!top && (node.type === 'Input' || node.type === 'Output')) ports.add(full);
    }
    for (const [a, b] of graph.edges) {
      const src = exits.get(prefix + a) ?? [prefix + a];
      const dst = entries.get(prefix + b) ?? [prefix + b];
      for (const s of src) for (const d of dst) edges.push([s, d]);
    }
  };
  visit(g, '', true);
  for (const p of ports) {
    const ins = edges.filter(([, b]) => b === p).map(([a]) => a);
    const outs = edges.filter(([a]) => a === p).map(([, b]) => b);
    edges = edges.filter(([a, b]) => a !== p && b !== p);
    for (const a of ins) for (const b of outs) edges.push([a, b]);
    nodes.delete(p);
  }
  return { nodes, edges };
}
