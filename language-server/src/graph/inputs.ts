// Values for a function's inputs: from JSON (the CLI's --inputs, or a file's
// `# @eval {...}` comment), checked against the declared shapes.

import type { Graph, Tensor } from './types.js';
import { sizeOf } from './types.js';
import { EligoError } from '../util/errors.js';

export class InputError extends EligoError {
  constructor(message: string) {
    super('graph.input', message);
  }
}

/** The `# @eval {...}` comment nearest before `offset` (else the first in the file). */
export function evalComment(text: string, offset: number): string | undefined {
  const all = evalComments(text);
  // The last comment before `offset`, else the file's first (binary search: this runs once per item).
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (all[mid]!.index < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? all[lo - 1]!.value : all[0]?.value;
}

/** Every `# @eval {…}` comment of the last text asked about, in order: scanned once per text, not once per item. */
let lastComments: { readonly text: string; readonly comments: readonly { readonly index: number; readonly value: string }[] } | undefined;

function evalComments(text: string): readonly { readonly index: number; readonly value: string }[] {
  if (lastComments?.text === text) return lastComments.comments;
  const re = /^[ \t]*#[ \t]*@eval[ \t]+(\{.*\})[ \t]*$/gm;
  const comments: { index: number; value: string }[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) comments.push({ index: m.index, value: m[1]! });
  lastComments = { text, comments };
  return comments;
}

function flatten(v: unknown, out: number[], path: string): number[] {
  if (typeof v === 'number') {
    out.push(v);
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => flatten(x, out, `${path}[${i}]`));
  } else {
    throw new InputError(`${path}: expected a number or an array of numbers, got ${JSON.stringify(v)}`);
  }
  return out;
}

function shapeOfJson(v: unknown): number[] {
  const s: number[] = [];
  let x = v;
  while (Array.isArray(x)) {
    s.push(x.length);
    x = x[0];
  }
  return s;
}

/**
 * Leaf values for `graph.inputs` from a JSON object keyed by input name. A
 * scalar given for a tensor input fills it; missing inputs are an error
 * (or filled with `fallback`); unknown names are an error when `strict`.
 */
export function inputsFromJson(graph: Graph, json: string | undefined, fallback?: number, strict = true): Map<number, Tensor> {
  let obj: Record<string, unknown> = {};
  if (json !== undefined) {
    try {
      obj = JSON.parse(json) as Record<string, unknown>;
    } catch (e) {
      throw new InputError(`the inputs are not valid JSON: ${(e as Error).message}`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new InputError('the inputs must be a JSON object {"name": value, …}');
  }
  const out = new Map<number, Tensor>();
  const known = new Set<string>();
  for (const id of graph.inputs) {
    const v = graph.vertices[id]!;
    const name = v.name!;
    known.add(name);
    const n = sizeOf(v.shape);
    if (!(name in obj)) {
      if (fallback === undefined) throw new InputError(`no value for input '${name}' of shape [${v.shape.join(', ')}]`);
      out.set(id, { shape: v.shape, data: new Float64Array(n).fill(fallback) });
      continue;
    }
    const flat = flatten(obj[name], [], name);
    if (flat.length === 1 && n > 1) {
      out.set(id, { shape: v.shape, data: new Float64Array(n).fill(flat[0]!) });
    } else if (flat.length !== n) {
      throw new InputError(
        `input '${name}' has shape [${v.shape.join(', ')}] (${n} values) but the value given has shape [${shapeOfJson(obj[name]).join(', ')}] (${flat.length} values)`,
      );
    } else {
      out.set(id, { shape: v.shape, data: Float64Array.from(flat) });
    }
  }
  for (const k of Object.keys(obj)) {
    if (strict && !known.has(k)) throw new InputError(`'${k}' is not an input of '${graph.name}' (its inputs: ${[...known].join(', ')})`);
  }
  return out;
}

/** Nest a flat row-major tensor into arrays for JSON output. */
export function nest(t: Tensor): unknown {
  if (t.shape.length === 0) return t.data[0];
  const build = (offset: number, axis: number): unknown => {
    const size = t.shape[axis]!;
    const stride = sizeOf(t.shape.slice(axis + 1));
    const out: unknown[] = [];
    for (let i = 0; i < size; i++) out.push(axis === t.shape.length - 1 ? t.data[offset + i] : build(offset + i * stride, axis + 1));
    return out;
  };
  return build(0, 0);
}
