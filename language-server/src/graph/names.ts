// Stable, readable names for vertices, used wherever a person writes or reads
// an elimination order (`schedule order [...]`, `--order FILE.json`, the
// graph view). One scheme for the whole project: search/names.ts (user name
// when unique and an identifier, else `_ID`; `%ID` is accepted on reading).

import { OrderNameError, orderFromNames, vertexNames } from '../search/names.js';
import type { Graph } from './types.js';

export class UnknownVertexError extends Error {}

export function vertexLabels(graph: Graph): string[] {
  return [...vertexNames(graph)];
}

/** Resolve names (or `%id`, or plain ids) to vertex ids; an unknown name is an error naming it. */
export function resolveLabels(graph: Graph, items: readonly (string | number)[]): number[] {
  return items.map((it, k) => {
    if (typeof it === 'number') {
      if (!Number.isInteger(it) || it < 0 || it >= graph.vertices.length) throw new UnknownVertexError(`vertex ${it} does not exist in '${graph.name}' (ids 0…${graph.vertices.length - 1})`);
      return it;
    }
    try {
      return orderFromNames(graph, [it])[0]!;
    } catch (e) {
      if (e instanceof OrderNameError) throw new UnknownVertexError(`'${it}' is not a vertex of '${graph.name}' (order position ${k})`);
      throw e;
    }
  });
}
