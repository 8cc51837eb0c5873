// The graph view of an item, in one call: graph → engine numbers → ELK layout
// → view model. The language server (eligo/graph), the CLI (`eligo graph
// --html/--svg`) and the benchmarks all come through here, so the panel and
// the exported page show the same picture with the same numbers.

import { compile, findItem, graphOf, unrolled, type Compiled } from '../compile.js';
import { evaluate } from '../graph/evaluate.js';
import { evaluationPoint } from '../graph/point.js';
import type { Graph, Tensor } from '../graph/types.js';
import { edgeJacobians, eliminableSet, traceOrder, type EdgeJacobian, type OrderSpec } from './engine.js';
import { layoutGraph, viewKey, type LayoutSettings } from './layout.js';
import { rulesFor } from './rules.js';
import type { GraphViewBundle, GraphViewModel, GraphViewRequest, OrderTrace } from './viewmodel.js';

export { layoutGraph, viewKey, graphHash, clearLayoutCache, LayoutTooBigError, DEFAULT_LAYOUT_SETTINGS } from './layout.js';
export type { LayoutInput, LayoutSettings } from './layout.js';
export { traceOrder, edgeJacobians, glyphOf, pairKey, type OrderSpec } from './engine.js';
export { EligoLayoutConfigurator } from './config.js';
export { disposeLayoutWorker } from './elkRunner.js';
export { webviewHtml, writeGraphHtml, graphHtml, webviewBundlePath } from './html.js';
export { viewModelToSvg } from './svg.js';
export type * from './viewmodel.js';

export interface GraphViewOptions {
  /** Orders the stepper offers (default forward, reverse, Markowitz). */
  readonly orders?: readonly OrderSpec[];
  /** Show values at the item's evaluation point on the vertices (default true; not for unrolled views). */
  readonly values?: boolean;
  /** Skip elimination traces above this many eliminable vertices (the view stays usable; the stepper says why). */
  readonly traceLimit?: number;
  readonly layout?: Partial<LayoutSettings>;
}

const DEFAULT_ORDERS: readonly OrderSpec[] = ['forward', 'reverse', 'markowitz'];
const DEFAULT_TRACE_LIMIT = 3000;

/** The graph a request names: a function, a model's step, or a model unrolled over `steps`. */
export function graphFor(c: Compiled, request: GraphViewRequest): Graph {
  const item = findItem(c, request.item, ['function', 'model', 'grad']);
  if (request.view === 'unrolled' && item.kind === 'model') return unrolled(c, item, request.steps ?? 3).graph;
  return graphOf(c, item);
}

/**
 * The laid-out view of `request.item`. Throws ItemError (no such item, item
 * has errors) and LayoutTooBigError (refused or timed out); the engine's
 * failures become notes on the view, so the graph is still shown.
 */
export async function graphView(c: Compiled, request: GraphViewRequest, options: GraphViewOptions = {}): Promise<GraphViewModel> {
  const graph = graphFor(c, request);
  const notes: string[] = [];
  let jacobians: Map<string, EdgeJacobian> | undefined;
  let eliminable: Set<number> | undefined;
  const orders: OrderTrace[] = [];
  try {
    jacobians = edgeJacobians(graph);
    eliminable = eliminableSet(graph);
    if (eliminable.size > (options.traceLimit ?? DEFAULT_TRACE_LIMIT)) {
      notes.push(
        `The stepper is off for ${eliminable.size.toLocaleString('en-US')} eliminable vertices (limit ${(options.traceLimit ?? DEFAULT_TRACE_LIMIT).toLocaleString('en-US')}); 'eligo analyze' gives the totals.`,
      );
    } else {
      for (const spec of options.orders ?? DEFAULT_ORDERS) {
        try {
          orders.push(traceOrder(graph, spec));
        } catch (e) {
          // One bad given order must not take the others away.
          notes.push(`Order '${typeof spec === 'string' ? spec : spec.label}' not shown: ${(e as Error).message}`);
        }
      }
    }
  } catch (e) {
    notes.push(`Elimination engine: ${(e as Error).message}`);
  }
  let values: Tensor[] | undefined;
  if (options.values !== false && graph.kind !== 'model-unrolled' && graph.vertices.length <= 5000) {
    try {
      const point = evaluationPoint(c, findItem(c, request.item, ['function', 'model', 'grad']), graph);
      values = evaluate(graph, point.leaves);
      notes.push(`Values ${point.description}.`);
    } catch (e) {
      notes.push(`No values on the vertices: ${(e as Error).message}`);
    }
  }
  const rules = graph.kind === 'model-step' ? rulesFor(c, graph.name, graph) : [];
  const kindText =
    graph.kind === 'function'
      ? 'function'
      : graph.kind === 'model-step'
        ? 'model, one step'
        : `model unrolled over ${'steps' in graph ? String(graph.steps) : '?'} steps`;
  return layoutGraph(
    {
      graph,
      text: c.text,
      lines: c.lines,
      request,
      ...(jacobians ? { jacobians } : {}),
      ...(eliminable ? { eliminable } : {}),
      ...(orders.length && jacobians
        ? {
            elimination: {
              initialEdges: [...jacobians.values()].map((j) => [j.src, j.dst] as const),
              orders,
              source: 'ad/ Eliminator (Graphax counting: multiplications per edge product, 8 bytes per stored Jacobian value)',
            },
          }
        : {}),
      rules,
      ...(values ? { values } : {}),
      title: `${graph.name} — ${kindText}`,
      notes,
    },
    options.layout,
  );
}

/**
 * The views an exported page holds for one item: the graph (step graph for a
 * model), the same collapsed and expanded by equation (the page's Collapse all
 * and Expand all), and, for a model, its unrolled graph over `steps` when that
 * is small enough to lay out.
 */
export async function graphViewBundle(text: string, request: GraphViewRequest, options: GraphViewOptions = {}): Promise<GraphViewBundle> {
  const c = compile(text);
  const first = await graphView(c, request, options);
  const views: GraphViewModel[] = [first];
  // "Collapse all" and "Expand all" of the page are answered from the views it holds.
  if (!request.expand?.length && !request.collapseGroups?.length) {
    for (const collapse of ['all', 'none'] as const) {
      if ((request.collapse ?? 'auto') === collapse) continue;
      try {
        const v = await graphView(c, { ...request, collapse }, options);
        if (!views.some((x) => x.key === v.key)) views.push(v);
      } catch {
        // Too large to lay out expanded: the page says so when asked.
      }
    }
  }
  const item = findItem(c, request.item, ['function', 'model', 'grad']);
  if (item.kind === 'model' && request.view !== 'unrolled') {
    const unrolledRequest: GraphViewRequest = { ...request, view: 'unrolled', steps: request.steps ?? 3 };
    try {
      views.push(await graphView(c, unrolledRequest, options));
    } catch {
      // The step view alone still makes a useful page.
    }
  }
  return { title: first.title, views, initial: viewKey(request) };
}
