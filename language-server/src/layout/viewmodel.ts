// The graph view model: what the webview (and the exported HTML/SVG) draws,
// already laid out. Plain JSON, data only — every coordinate comes from ELK,
// every number from the engine (ad/), so the browser renders it without
// computing anything but pixels.
//
// Coordinates are absolute (top-left origin), in CSS pixels at zoom 1.

import type { GraphHostMessage } from '../protocol.js';
import type { VertexRole } from '../graph/types.js';
import type { LspRange } from '../lang/source.js';
import type { ApproxKind } from '../lang/approximations.js';

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/**
 * The sparsity of an edge Jacobian as one glyph (Graphax's SparseTensor kinds):
 * dense block; diagonal (values on the diagonal); identity (Kronecker delta,
 * or a scalar times it: `α·I`); kronecker (identity on some axes, dense on
 * others: `W @ x` w.r.t. W); replicated (a broadcast); transform (a copy,
 * slice, transpose or reshape: nothing stored); scalar (a 1×1 partial);
 * zero (structurally zero); data (no Jacobian: the source is data — an input
 * x[t], a target, a constant — or the edge passes through `stop`).
 */
export type SparsityGlyph = 'dense' | 'diagonal' | 'identity' | 'kronecker' | 'replicated' | 'transform' | 'scalar' | 'zero' | 'data';

/** A vertex role, or 'group' for a collapsed equation. */
export type NodeRole = VertexRole | 'group';

export interface NodeView extends Box {
  /** `v12` for vertex 12, `g3` for a collapsed group. */
  readonly id: string;
  /** The vertex drawn (absent for a collapsed group). */
  readonly vertex?: number;
  /** The vertices a collapsed group stands for. */
  readonly members?: readonly number[];
  readonly role: NodeRole;
  /** The elemental op (`mul`, `matmul`, …), or 'group'. */
  readonly op: string;
  /** Tensor shape of the vertex value ([] = scalar). */
  readonly shape: readonly number[];
  /** First line: the user's name, else the op symbol. */
  readonly label: string;
  /** Second line (op and shape), absent for one-line nodes. */
  readonly sublabel?: string;
  /** The value at the evaluation point, formatted, when one was given. */
  readonly value?: string;
  readonly name?: string;
  /** Key of the equation group the vertex belongs to. */
  readonly group?: string;
  /** Time step in an unrolled model. */
  readonly step?: number;
  /** Source range of the expression (LSP positions: 0-based line, UTF-16 character). */
  readonly range: LspRange;
  /** True when an elimination order must eliminate this vertex. */
  readonly eliminable: boolean;
  /** In-port positions (operand order) and the out-port position, absolute. */
  readonly ports?: { readonly in: readonly Point[]; readonly out: Point };
}

export interface EdgeLabelView extends Box {
  readonly text: string;
}

export interface EdgeView {
  readonly id: string;
  /** Node ids (`v…`, `g…`, or `l…` for a literal). */
  readonly source: string;
  readonly target: string;
  /** The (source vertex, target vertex) pairs this drawn edge stands for (one, unless collapsed). */
  readonly pairs: readonly (readonly [number, number])[];
  /** Operand index at the target (expanded edges only). */
  readonly operand?: number;
  /** Routed polyline, absolute: start point, bend points, end point. */
  readonly points: readonly Point[];
  readonly glyph: SparsityGlyph;
  /** The partial Jacobian as text, e.g. `∂(α·u)/∂u = α·I`. */
  readonly jacobian?: string;
  /** The engine's sparsity description, e.g. `[64]←[64] out(diagonal) in(diagonal), 64 values`. */
  readonly sparsity?: string;
  /** Bytes of the stored Jacobian (engine's count). */
  readonly bytes?: number;
  readonly label?: EdgeLabelView;
  /** Number of graph edges drawn as this one (collapsed views aggregate). */
  readonly count: number;
}

/** An expanded equation group (a compound node with its vertices inside). */
export interface GroupView extends Box {
  readonly id: string;
  readonly key: string;
  readonly label: string;
  readonly size: number;
  readonly step?: number;
  readonly range: LspRange;
}

/**
 * A constant drawn as a literal beside a port that reads it (the constant's
 * own node is elsewhere, in its first equation), or, in a big view, a
 * connector standing for an input that feeds many nodes: not a vertex of its
 * own. Edges from it have `source` = its id and `pairs` naming the vertex.
 */
export interface LiteralView extends Box {
  readonly id: string;
  /** The constant vertex it stands for. */
  readonly vertex: number;
  readonly text: string;
}

/** A collapsible group of the graph, expanded or not. */
export interface GroupInfo {
  readonly key: string;
  readonly label: string;
  readonly size: number;
  readonly collapsed: boolean;
}

/** Columns of an unrolled model, one per time step. */
export interface StepBand {
  readonly step: number;
  readonly x: number;
  readonly w: number;
}

// ---------------------------------------------------------------- elimination

/** One elimination, as the engine counted it. */
export interface EliminationStepView {
  readonly vertex: number;
  readonly multiplications: number;
  readonly additions: number;
  /** New edges (i→j) this elimination created. */
  readonly fillIn: number;
  /** Running totals after this step (sums of the engine's per-step counts). */
  readonly cumulativeMultiplications: number;
  readonly cumulativeAdditions: number;
  /** Bytes of all live edge Jacobians after this step (the engine's liveBytes). */
  readonly memoryBytes: number;
  /** Edges created (fill-in), as vertex pairs. */
  readonly added: readonly (readonly [number, number])[];
  /** Existing edges the product was summed into. */
  readonly updated: readonly (readonly [number, number])[];
  /** Edges deleted by this elimination. */
  readonly removed: readonly (readonly [number, number])[];
}

export interface OrderTrace {
  /** `forward`, `reverse`, `markowitz`, or a given order's id. */
  readonly id: string;
  readonly label: string;
  readonly order: readonly number[];
  readonly steps: readonly EliminationStepView[];
  readonly initialMemoryBytes: number;
  readonly totals: {
    readonly multiplications: number;
    readonly additions: number;
    readonly fillIn: number;
    readonly peakMemoryBytes: number;
  };
}

export interface EliminationView {
  /** The engine's edges before any elimination (vertex pairs): what the stepper starts from. */
  readonly initialEdges: readonly (readonly [number, number])[];
  readonly orders: readonly OrderTrace[];
  /** Where the numbers come from (shown under the counter). */
  readonly source: string;
}

// ---------------------------------------------------------------- rules

export interface RuleBlockView {
  /** `u[t+1]` */
  readonly of: string;
  /** `z` */
  readonly wrt: string;
  readonly kind: ApproxKind;
  /** The graph edges (vertex pairs) that carry this block. */
  readonly pairs: readonly (readonly [number, number])[];
  readonly range: LspRange;
  readonly text: string;
}

export interface RuleView {
  readonly name: string;
  readonly model: string;
  readonly schedule?: string;
  readonly blocks: readonly RuleBlockView[];
  readonly range: LspRange;
}

// ---------------------------------------------------------------- the view

/** What to show: the host asks the layout for this, the webview asks the host. */
export interface GraphViewRequest {
  readonly item: string;
  /** Models: one time step (default) or unrolled over `steps`. */
  readonly view?: 'step' | 'unrolled';
  readonly steps?: number;
  /** `auto` (default) collapses every group when the graph is big. */
  readonly collapse?: 'auto' | 'all' | 'none';
  /** Group keys to expand / collapse against the `collapse` default. */
  readonly expand?: readonly string[];
  readonly collapseGroups?: readonly string[];
}

export interface GraphViewModel {
  readonly version: 1;
  /** Identifies this view: item, view kind, steps and expansion. */
  readonly key: string;
  /** Hash of the graph's structure (the layout cache key). */
  readonly hash: string;
  readonly request: GraphViewRequest;
  readonly item: string;
  readonly kind: 'function' | 'model-step' | 'model-unrolled';
  readonly steps?: number;
  readonly title: string;
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly NodeView[];
  readonly edges: readonly EdgeView[];
  readonly groups: readonly GroupView[];
  /** Constants repeated as literals at the ports that read them (edges from them have `source` = the literal's id). */
  readonly literals?: readonly LiteralView[];
  /** Every collapsible group, expanded or collapsed. */
  readonly groupInfo: readonly GroupInfo[];
  /** The graph's own counts (the view may aggregate). */
  readonly vertexCount: number;
  readonly edgeCount: number;
  readonly bands?: readonly StepBand[];
  readonly elimination?: EliminationView;
  readonly rules?: readonly RuleView[];
  /** Things the user should know: why the view is collapsed, what failed. */
  readonly notes: readonly string[];
  readonly layoutMs: number;
}

/** Several views of one file, as embedded in an exported page. */
export interface GraphViewBundle {
  readonly title: string;
  readonly views: readonly GraphViewModel[];
  /** Key of the view shown first. */
  readonly initial: string;
  /**
   * A training run to show in the Training tab (`eligo train --html`): the
   * messages the panel would have received live, replayed after the first view.
   */
  readonly training?: readonly GraphHostMessage[];
}
