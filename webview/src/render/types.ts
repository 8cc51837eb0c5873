// What a renderer is given to draw, besides the view model: the state of the
// stepper, the selection and the rule shown. All derived from the view model
// by lookups only (stepper.ts); no renderer computes a cost.

import type { EdgeView, GraphViewModel, NodeView, RuleView } from '../../../language-server/src/layout/viewmodel.js';
import type { Transform } from '../viewport.js';

export interface DrawState {
  /** Vertices eliminated so far. */
  readonly eliminated: ReadonlySet<number>;
  /** The vertex eliminated by the last step. */
  readonly current?: number;
  /** While stepping: the engine's live edges (pair keys `i>j`); undefined otherwise. */
  readonly live?: ReadonlySet<string>;
  /** Edges that exist in the engine's initial graph (pair keys). */
  readonly engineEdges: ReadonlySet<string>;
  /** Edges the last step summed a product into. */
  readonly updated: ReadonlySet<string>;
  /** Live fill-in edges (created by eliminations), as vertex pairs. */
  readonly fill: readonly (readonly [number, number])[];
  /** Fill-in edges created by the last step. */
  readonly fresh: ReadonlySet<string>;
  /** Selected node ids (click, editor cursor) and search matches. */
  readonly selected: ReadonlySet<string>;
  readonly matches: ReadonlySet<string>;
  readonly rule?: RuleView;
}

export const EMPTY_STATE: DrawState = {
  eliminated: new Set(),
  engineEdges: new Set(),
  updated: new Set(),
  fill: [],
  fresh: new Set(),
  selected: new Set(),
  matches: new Set(),
};

export interface RendererEvents {
  hover(target: { node?: NodeView; edge?: EdgeView } | undefined, clientX: number, clientY: number): void;
  click(node: NodeView | undefined, e: MouseEvent): void;
  dblclick(target: { node?: NodeView; group?: string }): void;
}

export interface RenderStats {
  readonly kind: 'svg' | 'canvas';
  readonly nodes: number;
  readonly edges: number;
  readonly edgeLabels: number;
  readonly nodeLabels: number;
}

export interface Renderer {
  /** The element that receives pointer events (and is panned / zoomed). */
  readonly surface: HTMLElement | SVGElement;
  setTransform(t: Transform): void;
  draw(state: DrawState): void;
  stats(): RenderStats;
  destroy(): void;
}

export function key(a: number, b: number): string {
  return `${a}>${b}`;
}

/** Node id per vertex: its own node, or the collapsed group it is drawn in. */
export function vertexNodes(vm: GraphViewModel): Map<number, NodeView> {
  const m = new Map<number, NodeView>();
  for (const n of vm.nodes) {
    if (n.vertex !== undefined) m.set(n.vertex, n);
    for (const v of n.members ?? []) m.set(v, n);
  }
  return m;
}

/** A point halfway along a polyline (for marks on edges). */
export function midpoint(points: readonly { x: number; y: number }[]): { x: number; y: number } {
  if (points.length === 0) return { x: 0, y: 0 };
  let total = 0;
  for (let i = 1; i < points.length; i++) total += Math.hypot(points[i]!.x - points[i - 1]!.x, points[i]!.y - points[i - 1]!.y);
  let left = total / 2;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const d = Math.hypot(b.x - a.x, b.y - a.y);
    if (d >= left && d > 0) return { x: a.x + ((b.x - a.x) * left) / d, y: a.y + ((b.y - a.y) * left) / d };
    left -= d;
  }
  return points[points.length - 1]!;
}

/** A curve for a fill-in edge between two nodes (it has no routed path: it did not exist when ELK ran). */
export function fillPath(a: NodeView, b: NodeView): string {
  const sx = a.x + a.w;
  const sy = a.y + a.h / 2;
  const tx = b.x;
  const ty = b.y + b.h / 2;
  const dx = Math.max(40, Math.abs(tx - sx) / 2);
  return `M${sx} ${sy}C${sx + dx} ${sy} ${tx - dx} ${ty} ${tx} ${ty}`;
}
