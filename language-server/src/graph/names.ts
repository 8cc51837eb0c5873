// Stable, readable names for vertices, used wherever a person writes or reads
// an elimination order (`schedule order [...]`, `--order FILE.json`, the
// graph view): the user's name when it is unique in the graph, else `%id`.

import type { Graph } from './types.js';

export function vertexLabels(graph: Graph): string[] {
  const count = new Map<string, number>();
  for (const v of graph.vertices) if (v.name !== undefined) count.set(v.name, (count.get(v.name) ?? 0) + 1);
  return graph.vertices.map((v) => (v.name !== undefined && count.get(v.name) === 1 && v.op !== 'const' ? v.name : `%${v.id}`));
}

export class UnknownVertexError extends Error {}

/** Resolve labels (or `%id`, or plain ids) to vertex ids; unknown names are an error naming them. */
export function resolveLabels(graph: Graph, items: readonly (string | number)[]): number[] {
  const labels = vertexLabels(graph);
  const byLabel = new Map(labels.map((l, i) => [l, i]));
  return items.map((it) => {
    if (typeof it === 'number') {
      if (!Number.isInteger(it) || it < 0 || it >= graph.vertices.length) throw new UnknownVertexError(`vertex ${it} does not exist in '${graph.name}' (ids 0…${graph.vertices.length - 1})`);
      return it;
    }
    const id = byLabel.get(it) ?? (/^%\d+$/.test(it) ? Number(it.slice(1)) : undefined);
    if (id === undefined || id >= graph.vertices.length) throw new UnknownVertexError(`'${it}' is not a vertex of '${graph.name}'`);
    return id;
  });
}
