// `eligo/graph`: the computational graph of an item as plain JSON, laid out
// by layout/ (ELK, collapsed by equation when large, with the elimination
// stepper's traces) — the same view the CLI exports.

import { ErrorCodes, ResponseError, type CancellationToken } from 'vscode-languageserver/node';
import { findItem, graphOf, ItemError, unrolled } from '../compile.js';
import type { Graph } from '../graph/types.js';
import { graphView, LayoutTooBigError, type OrderSpec } from '../layout/index.js';
import { GraphParamsSchema, GraphRequest, validate, type GraphJson, type GraphParams, type GraphResult } from '../protocol.js';
import { runKey, type ServerContext } from './context.js';
import type { Snapshot } from './documents.js';

/** Request failed (LSP's RequestFailed): the item does not exist or has errors. */
const REQUEST_FAILED = -32803;

export function graphJson(snap: Snapshot, g: Graph): GraphJson {
  return {
    name: g.name,
    kind: g.kind,
    inputs: g.inputs,
    outputs: g.outputs,
    vertices: g.vertices.map((v) => {
      const attrs: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v.attrs)) {
        if (x instanceof Float64Array) {
          if (x.length <= 16) attrs[k] = Array.from(x);
        } else {
          attrs[k] = x;
        }
      }
      return {
        id: v.id,
        op: v.op,
        shape: v.shape,
        inputs: v.inputs,
        role: v.role,
        range: snap.range(v.range),
        attrs,
        ...(v.name !== undefined ? { name: v.name } : {}),
        ...(v.group !== undefined ? { group: v.group } : {}),
        ...(v.step !== undefined ? { step: v.step } : {}),
      };
    }),
  };
}

export async function graphRequest(ctx: ServerContext, p: GraphParams, token?: CancellationToken): Promise<GraphResult | ResponseError<void>> {
  const snap = ctx.workspace.snapshot(p.uri);
  if (!snap) return new ResponseError(REQUEST_FAILED, `${p.uri} is not open`);
  const c = snap.compiled;
  const steps = p.unroll;
  let item;
  let graph: Graph;
  try {
    item = findItem(c, p.item, ['function', 'model']);
    graph = steps !== undefined && item.kind === 'model' ? unrolled(c, item, steps).graph : graphOf(c, item);
  } catch (e) {
    if (e instanceof ItemError) return new ResponseError(REQUEST_FAILED, e.message);
    throw e;
  }
  const base = { uri: p.uri, item: item.name, version: snap.version, graph: graphJson(snap, graph), settings: ctx.settings.value };
  if (token?.isCancellationRequested) return base;
  // Orders to step through: the classic three, a given one, and the last search's best for this item's text.
  const orders: OrderSpec[] = ['forward', 'reverse', 'markowitz'];
  if (steps === undefined) {
    if (p.order?.length) orders.push({ id: 'given', label: 'Given order', order: p.order });
    const a = await ctx.analyzer.current(p.uri);
    const key = a?.items.find((r) => r.item.name === item.name)?.key;
    const run = ctx.lastRuns.get(runKey(p.uri, item.name, 'search'));
    if (run?.kind === 'search' && run.key === key && run.result.order.length > 0) {
      orders.push({ id: 'search', label: `Best found (${String(run.result.method ?? 'search')})`, order: run.result.order });
    }
  }
  try {
    const layout = await graphView(
      c,
      {
        item: item.name,
        ...(steps !== undefined && item.kind === 'model' ? { view: 'unrolled' as const, steps } : {}),
        collapse: p.collapsed === undefined ? 'auto' : p.collapsed ? 'all' : 'none',
        ...(p.expand ? { expand: p.expand } : {}),
        ...(p.collapseGroups ? { collapseGroups: p.collapseGroups } : {}),
      },
      { orders },
    );
    return { ...base, layout };
  } catch (e) {
    if (e instanceof LayoutTooBigError || e instanceof ItemError) return { ...base, problem: e.message };
    return { ...base, problem: `layout failed: ${(e as Error).message}` };
  }
}

export function registerGraph(ctx: ServerContext): void {
  ctx.connection.onRequest(GraphRequest.method, async (raw: unknown, token: CancellationToken) => {
    const v = validate(GraphParamsSchema, raw);
    if (!v.ok) return new ResponseError(ErrorCodes.InvalidParams, `eligo/graph: ${v.message}`);
    try {
      return await graphRequest(ctx, v.value, token);
    } catch (e) {
      ctx.connection.console.error(`eligo: eligo/graph failed: ${(e as Error).stack ?? String(e)}`);
      return new ResponseError(REQUEST_FAILED, `eligo/graph failed: ${(e as Error).message}`);
    }
  });
}
