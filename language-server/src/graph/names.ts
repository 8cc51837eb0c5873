// Stable names for the vertices of an elimination order, so that an order can
// be printed, stored as JSON and written back into a file as
// `schedule order [a, b, _17]`, then read again to the same vertex ids.
//
// A vertex is called by its user name (`let vl = …`) when that name is an
// identifier of the language and no other vertex has it; any other vertex is
// `_ID` (its id in the graph, which is deterministic for a given source text),
// with extra leading underscores in the unlikely case the user took that name.
// Reading accepts those names and also `%ID` (the `eligo graph` notation).

import type { Graph } from './types.js';
import { EligoError } from '../util/errors.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class OrderNameError extends EligoError {
  constructor(
    message: string,
    readonly vertexName: string,
    readonly position: number,
  ) {
    super('graph.order-name', message);
  }
}

const cache = new WeakMap<Graph, { names: string[]; ids: Map<string, number> }>();

function naming(graph: Graph): { names: string[]; ids: Map<string, number> } {
  let c = cache.get(graph);
  if (c) return c;
  const count = new Map<string, number>();
  for (const v of graph.vertices) if (v.name !== undefined) count.set(v.name, (count.get(v.name) ?? 0) + 1);
  const taken = new Set<string>();
  const names: string[] = graph.vertices.map((v) => {
    if (v.name !== undefined && IDENT.test(v.name) && count.get(v.name) === 1 && v.op !== 'const') {
      taken.add(v.name);
      return v.name;
    }
    return '';
  });
  for (let id = 0; id < names.length; id++) {
    if (names[id] !== '') continue;
    let name = `_${id}`;
    while (taken.has(name)) name = `_${name}`;
    taken.add(name);
    names[id] = name;
  }
  const ids = new Map<string, number>();
  names.forEach((n, id) => ids.set(n, id));
  c = { names, ids };
  cache.set(graph, c);
  return c;
}

/** The stable name of every vertex, indexed by id. */
export function vertexNames(graph: Graph): readonly string[] {
  return naming(graph).names;
}

export function vertexName(graph: Graph, id: number): string {
  return naming(graph).names[id] ?? `_${id}`;
}

export function orderToNames(graph: Graph, order: readonly number[]): string[] {
  const names = naming(graph).names;
  return order.map((v) => names[v] ?? `_${v}`);
}

/**
 * Vertex ids of an order given by names (as written by `orderToNames`, or
 * `%ID`). Throws OrderNameError for a name that is no vertex of the graph;
 * whether the order is complete and valid is for `validateOrder` to say.
 */
export function orderFromNames(graph: Graph, names: readonly string[]): number[] {
  const { ids } = naming(graph);
  return names.map((name, k) => {
    const id = ids.get(name);
    if (id !== undefined) return id;
    const m = /^%(\d+)$/.exec(name);
    if (m && Number(m[1]) < graph.vertices.length) return Number(m[1]);
    const near = [...ids.keys()].filter((n) => n.toLowerCase() === name.toLowerCase()).slice(0, 1);
    throw new OrderNameError(
      `order position ${k}: '${name}' names no vertex of '${graph.name}'${near.length ? ` — did you mean '${near[0]}'?` : ''} (vertices are called by their name, or _ID for unnamed ones)`,
      name,
      k,
    );
  });
}

// ---------------------------------------------------------------- labels for the CLI and the graph view

export class UnknownVertexError extends EligoError {
  constructor(message: string) {
    super('graph.unknown-vertex', message);
  }
}

export function vertexLabels(graph: Graph): string[] {
  return [...vertexNames(graph)];
}

/** Resolve names (or `%id`, or plain ids) to vertex ids; an unknown name is an error naming it. */
export function resolveLabels(graph: Graph, items: readonly (string | number)[]): number[] {
  return items.map((it, k) => {
    if (typeof it === 'number') {
      if (!Number.isInteger(it) || it < 0 || it >= graph.vertices.length)
        throw new UnknownVertexError(`vertex ${it} does not exist in '${graph.name}' (ids 0…${graph.vertices.length - 1})`);
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
