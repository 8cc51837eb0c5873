// Lays out a computational graph with ELK and turns the result into the view
// model (viewmodel.ts). Engine numbers (edge sparsity, elimination traces)
// come in ready-made (engine.ts); this file only decides what is drawn where.
//
// Big graphs are shown collapsed: one node per equation group (vertex.group;
// per time step in an unrolled model), expanded on demand. ELK positions are
// cached by the hash of ELK's input, so a view that only differs in names,
// ranges or costs is laid out once.

import { createHash } from 'node:crypto';
import type { ElkExtendedEdge, ElkLabel, ElkNode, ElkPort } from 'elkjs/lib/elk-api.js';
import type { Graph, Tensor, Vertex } from '../graph/types.js';
import type { LineIndex, LspRange } from '../lang/source.js';
import { EligoLayoutConfigurator, type Pin } from './config.js';
import { LayoutTooBigError, runElk } from './elkRunner.js';
import { pairKey, type EdgeJacobian } from './engine.js';
import { displayNames, opLabel, partialText } from './jacobianText.js';
import { FONT, fitText, textWidth } from './measure.js';
import type {
  EdgeView,
  EliminationView,
  GraphViewModel,
  GraphViewRequest,
  GroupInfo,
  GroupView,
  LiteralView,
  NodeView,
  Point,
  RuleView,
  SparsityGlyph,
  StepBand,
} from './viewmodel.js';

export { LayoutTooBigError } from './elkRunner.js';

export interface LayoutInput {
  readonly graph: Graph;
  /** The source text and its line index (ranges, expression names). */
  readonly text: string;
  readonly lines: LineIndex;
  readonly request: GraphViewRequest;
  /** The engine's edge Jacobians by vertex pair (engine.ts); edges absent here are drawn as data. */
  readonly jacobians?: ReadonlyMap<string, EdgeJacobian>;
  /** Vertices an elimination order must eliminate. */
  readonly eliminable?: ReadonlySet<number>;
  readonly elimination?: EliminationView;
  readonly rules?: readonly RuleView[];
  /** Vertex values at an evaluation point, shown on the vertices. */
  readonly values?: readonly Tensor[];
  readonly title?: string;
  /** Notes to pass on to the view (e.g. why there is no stepper). */
  readonly notes?: readonly string[];
}

export interface LayoutSettings {
  /** Give up after this long (ms) with a LayoutTooBigError. */
  readonly timeoutMs: number;
  /** `collapse: 'auto'` collapses every group above this many vertices. */
  readonly collapseAbove: number;
  /** Refuse to lay out more nodes than this (ask for a collapsed view). */
  readonly maxNodes: number;
  /** Edge labels: 'auto' draws them up to `labelEdgeLimit` edges. */
  readonly edgeLabels: 'auto' | 'on' | 'off';
  readonly labelEdgeLimit: number;
}

export const DEFAULT_LAYOUT_SETTINGS: LayoutSettings = {
  timeoutMs: 30_000,
  collapseAbove: 1000,
  maxNodes: 5000,
  edgeLabels: 'auto',
  labelEdgeLimit: 600,
};

// ---------------------------------------------------------------- sizes

const NODE_PAD = 8;
const LINE1 = 22;
const LINE2 = 12;
const VALUE_LINE = 12;
const MAX_LABEL = 180;
const MAX_EDGE_LABEL = 150;
const GLYPH_W = 12;
const EDGE_LABEL_H = 14;

function shapeText(shape: readonly number[]): string {
  return shape.length === 0 ? '' : `[${shape.join(', ')}]`;
}

function formatValue(t: Tensor): string {
  const f = (x: number): string =>
    Number.isInteger(x) ? String(x) : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? String(Number(x.toPrecision(4))) : x.toExponential(2);
  if (t.data.length === 1) return `= ${f(t.data[0]!)}`;
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of t.data) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return `∈ [${f(lo)}, ${f(hi)}]`;
}

/** The key of the group a vertex belongs to (per time step in an unrolled graph). */
function rawGroupKey(v: Vertex): string | undefined {
  if (v.group === undefined) return undefined;
  return v.step !== undefined ? `t${v.step}:${v.group}` : v.group;
}

function groupTitle(key: string): string {
  const m = /^t(\d+):(.*)$/.exec(key);
  return m ? `${m[2]} @ t=${m[1]}` : key;
}

/** A stable key for a request: the webview and the host compare views by it. */
export function viewKey(r: GraphViewRequest): string {
  return [
    r.item,
    r.view ?? 'step',
    r.view === 'unrolled' ? String(r.steps ?? 3) : '',
    r.collapse ?? 'auto',
    [...(r.expand ?? [])].sort().join(','),
    [...(r.collapseGroups ?? [])].sort().join(','),
  ].join('|');
}

/** A hash of the graph's structure. */
export function graphHash(graph: Graph): string {
  const h = createHash('sha1');
  h.update(`${graph.kind}|${graph.name}|${graph.inputs.join(',')}|${graph.outputs.join(',')}\n`);
  for (const v of graph.vertices) {
    h.update(`${v.op}|${v.shape.join(',')}|${v.inputs.join(',')}|${v.role}|${v.name ?? ''}|${v.group ?? ''}|${v.step ?? ''}|${v.attrs.exponent ?? ''}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

// ---------------------------------------------------------------- cache

const CACHE_SIZE = 24;
const cache = new Map<string, ElkNode>();

function cached(key: string): ElkNode | undefined {
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
  }
  return hit;
}

function remember(key: string, n: ElkNode): void {
  cache.set(key, n);
  while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
}

/** Empties the layout cache (benchmarks measure cold layouts). */
export function clearLayoutCache(): void {
  cache.clear();
}

// ---------------------------------------------------------------- the layout

const GLYPH_RANK: SparsityGlyph[] = ['dense', 'kronecker', 'diagonal', 'replicated', 'identity', 'transform', 'scalar', 'zero', 'data'];

interface Plan {
  /** Node id of each vertex (its own, or its collapsed group's). */
  nodeOf: string[];
  /** Group key → members. */
  groups: Map<string, number[]>;
  collapsed: Set<string>;
  groupIds: Map<string, string>;
  /** Group key of each vertex that is drawn inside a group (expanded or collapsed). */
  groupOf: (string | undefined)[];
  pins: Pin[];
}

function plan(graph: Graph, request: GraphViewRequest, settings: LayoutSettings): Plan {
  const n = graph.vertices.length;
  const users = new Uint32Array(n);
  for (const v of graph.vertices) for (const u of v.inputs) users[u]!++;
  const outputs = new Set(graph.outputs);
  const unrolled = graph.kind === 'model-unrolled';
  const pins: Pin[] = graph.vertices.map((v) => {
    if (outputs.has(v.id) && users[v.id] === 0) return 'last';
    if (v.role === 'param' || v.role === 'state') return 'first';
    if (v.role === 'input' && !unrolled) return 'first';
    return undefined;
  });
  // Groups: vertices of one equation, except the final outputs (pinned to the last layer, outside).
  const members = new Map<string, number[]>();
  const raw: (string | undefined)[] = graph.vertices.map((v) => (pins[v.id] === 'last' ? undefined : rawGroupKey(v)));
  raw.forEach((k, id) => {
    if (k === undefined) return;
    let l = members.get(k);
    if (!l) members.set(k, (l = []));
    l.push(id);
  });
  const groups = new Map<string, number[]>();
  for (const [k, l] of members) if (l.length >= 2) groups.set(k, l);
  const groupOf = raw.map((k) => (k !== undefined && groups.has(k) ? k : undefined));
  const mode = request.collapse ?? 'auto';
  const collapseAll = mode === 'all' || (mode === 'auto' && n > settings.collapseAbove);
  const collapsed = new Set<string>();
  for (const k of groups.keys()) if (collapseAll) collapsed.add(k);
  for (const k of request.expand ?? []) collapsed.delete(k);
  for (const k of request.collapseGroups ?? []) if (groups.has(k)) collapsed.add(k);
  const groupIds = new Map<string, string>();
  [...groups.keys()].forEach((k, i) => groupIds.set(k, `g${i}`));
  const nodeOf = graph.vertices.map((v) => {
    const k = groupOf[v.id];
    return k !== undefined && collapsed.has(k) ? groupIds.get(k)! : `v${v.id}`;
  });
  return { nodeOf, groups, collapsed, groupIds, groupOf, pins };
}

interface DrawnEdge {
  id: string;
  source: string;
  target: string;
  sourcePort: string;
  targetPort: string;
  pairs: [number, number][];
  operand?: number;
  glyph: SparsityGlyph;
  jacobian?: string;
  sparsity?: string;
  bytes?: number;
  label?: string;
  count: number;
}

export async function layoutGraph(input: LayoutInput, overrides: Partial<LayoutSettings> = {}): Promise<GraphViewModel> {
  const settings = { ...DEFAULT_LAYOUT_SETTINGS, ...overrides };
  const started = performance.now();
  const { graph, text, lines, request } = input;
  const names = displayNames(graph, text);
  const p = plan(graph, request, settings);
  const range = (r: { start: number; end: number }): LspRange => lines.rangeToLsp(r);
  const eliminable = input.eliminable ?? new Set<number>();
  const jac = input.jacobians ?? new Map<string, EdgeJacobian>();

  // ---- edges (graph edges, aggregated where an end is a collapsed group)
  const edgeTotal = graph.vertices.reduce((a, v) => a + v.inputs.length, 0);
  const labelsOn = settings.edgeLabels === 'on' || (settings.edgeLabels === 'auto' && edgeTotal <= settings.labelEdgeLimit);
  const drawn: DrawnEdge[] = [];
  const aggregated = new Map<string, DrawnEdge>();
  const groupInPorts = new Map<string, string[]>();
  let hiddenConstEdges = 0;
  // Constants read by another equation than their own are drawn as literals
  // beside the port that reads them (as jaxprs print literals), not as edges
  // across the picture: a `1` or `0.5` shared by every equation would
  // otherwise tie all groups together with long edges that say nothing.
  const firstUser = new Map<number, number>();
  for (const v of graph.vertices) for (const u of v.inputs) if (!firstUser.has(u)) firstUser.set(u, v.id);
  const literals: { id: string; vertex: number; text: string; w: number; h: number; group?: string }[] = [];
  const literal = (u: number, home: string | undefined): string => {
    const id = `l${literals.length}`;
    const text = fitText(names[u]!, FONT.edge, 80);
    literals.push({ id, vertex: u, text, w: Math.ceil(textWidth(text, FONT.edge) + 10), h: 16, ...(home !== undefined ? { group: home } : {}) });
    return id;
  };
  // In a big view, a leaf that feeds many nodes (RoeFlux's inputs feed every
  // equation) gets real edges to its first few readers and a connector — a
  // literal with its name — beside each further one: each long edge costs ELK
  // a dummy node per layer it crosses, thousands of them at 5,000 vertices.
  const big = graph.vertices.length + edgeTotal > 600;
  const FANOUT = 4;
  const readers = new Map<number, string[]>();
  for (const v of graph.vertices) {
    for (const u of v.inputs) {
      if (graph.vertices[u]!.inputs.length > 0 || graph.vertices[u]!.op === 'const') continue;
      const l = readers.get(u) ?? [];
      const t = p.nodeOf[v.id]!;
      if (!l.includes(t)) l.push(t);
      readers.set(u, l);
    }
  }
  const connectors = new Map<string, string>();
  for (const v of graph.vertices) {
    v.inputs.forEach((u, k) => {
      let s = p.nodeOf[u]!;
      const t = p.nodeOf[v.id]!;
      if (s === t) return; // inside one collapsed group
      // A constant shared by many equations (the 1 of every `1 + …`) would tie
      // every collapsed group to the first: long edges that cost ELK seconds
      // and say nothing (constants carry no Jacobian). Not drawn when collapsed.
      if (graph.vertices[u]!.op === 'const' && !t.startsWith('v')) {
        hiddenConstEdges++;
        return;
      }
      const info = jac.get(pairKey(u, v.id));
      const glyph: SparsityGlyph = info?.glyph ?? 'data';
      const { lhs, rhs } = partialText(graph, names, v, k);
      const jacobian = info ? `${lhs} = ${rhs}` : `${lhs}: no Jacobian (${dataReason(graph, u, v)})`;
      const src = graph.vertices[u]!;
      if (src.op === 'const' && s.startsWith('v') && t.startsWith('v') && firstUser.get(u) !== v.id && p.groupOf[u] !== p.groupOf[v.id]) {
        const id = literal(u, p.groupOf[v.id]);
        drawn.push({
          id: `e${drawn.length}`,
          source: id,
          target: t,
          sourcePort: `${id}.o`,
          targetPort: `${t}.i${k}`,
          pairs: [[u, v.id]],
          operand: k,
          glyph: 'data',
          jacobian,
          count: 1,
        });
        return;
      }
      const far = readers.get(u);
      if (big && far && far.length > FANOUT && far.indexOf(t) >= FANOUT) {
        const ck = `${u}>${t}`;
        let c = connectors.get(ck);
        if (!c) connectors.set(ck, (c = literal(u, t.startsWith('v') ? p.groupOf[v.id] : undefined)));
        s = c;
      }
      const srcPort = `${s}.o`;
      if ((s.startsWith('v') || s.startsWith('l')) && t.startsWith('v')) {
        drawn.push({
          id: `e${drawn.length}`,
          source: s,
          target: t,
          sourcePort: srcPort,
          targetPort: `${t}.i${k}`,
          pairs: [[u, v.id]],
          operand: k,
          glyph,
          jacobian,
          count: 1,
          ...(info ? { sparsity: info.sparsity, bytes: info.bytes } : {}),
          ...(labelsOn && info ? { label: fitText(rhs, FONT.edge, MAX_EDGE_LABEL) } : {}),
        });
        return;
      }
      // An end is a collapsed group: one edge per (source node, target port).
      const targetPortKey = t.startsWith('v') ? `${t}.i${k}` : t;
      const key = `${s}>${targetPortKey}`;
      let e = aggregated.get(key);
      if (!e) {
        let targetPort = targetPortKey;
        if (!t.startsWith('v')) {
          const ports = groupInPorts.get(t) ?? [];
          targetPort = `${t}.i${ports.length}`;
          ports.push(targetPort);
          groupInPorts.set(t, ports);
        }
        e = {
          id: `e${drawn.length}`,
          source: s,
          target: t,
          sourcePort: srcPort,
          targetPort,
          pairs: [],
          glyph,
          count: 0,
          ...(t.startsWith('v') ? { operand: k } : {}),
        };
        aggregated.set(key, e);
        drawn.push(e);
      }
      e.pairs.push([u, v.id]);
      e.count++;
      if (GLYPH_RANK.indexOf(glyph) < GLYPH_RANK.indexOf(e.glyph)) e.glyph = glyph;
      e.jacobian =
        e.count === 1
          ? jacobian
          : `${e.count} edges: ${e.pairs
              .slice(0, 4)
              .map(([a, b]) => `∂${names[b]}/∂${names[a]}`)
              .join(', ')}${e.count > 4 ? ', …' : ''}`;
      if (e.count === 1 && info) {
        e.sparsity = info.sparsity;
        e.bytes = info.bytes;
      } else {
        delete e.sparsity;
        e.bytes = (e.bytes ?? 0) + (info?.bytes ?? 0);
      }
    });
  }
  for (const e of aggregated.values()) if (labelsOn && e.count > 1) e.label = `×${e.count}`;

  // ---- nodes
  const config = new EligoLayoutConfigurator({
    nodes: graph.vertices.length,
    edges: drawn.length,
    compound: [...p.groups.keys()].some((k) => !p.collapsed.has(k)),
  });
  const nodeViews = new Map<string, Omit<NodeView, 'x' | 'y' | 'w' | 'h' | 'ports'>>();
  const elkNodes = new Map<string, ElkNode>();
  const sizeOfNode = (label: string, sub: string | undefined, value: string | undefined): { w: number; h: number } => {
    const w = Math.max(textWidth(label, FONT.node, true), sub ? textWidth(sub, FONT.detail) : 0, value ? textWidth(value, FONT.detail) : 0);
    return { w: Math.ceil(Math.max(34, w + 2 * NODE_PAD)), h: LINE1 + (sub ? LINE2 : 0) + (value ? VALUE_LINE : 0) };
  };
  const port = (id: string, opts: Record<string, string>): ElkPort => ({ id, width: config.portSize, height: config.portSize, layoutOptions: opts });
  for (const v of graph.vertices) {
    if (p.nodeOf[v.id] !== `v${v.id}`) continue;
    const label = fitText(v.op === 'const' ? names[v.id]! : (v.name ?? opLabel(v)), FONT.node, MAX_LABEL, true);
    const leaf = v.inputs.length === 0;
    const shape = shapeText(v.shape);
    const sub = leaf
      ? v.op === 'const'
        ? shape || undefined
        : `${v.role}${shape ? ` ${shape}` : ''}`
      : v.name !== undefined
        ? `${opLabel(v)}${shape ? ` ${shape}` : ''}`
        : shape || undefined;
    const value = input.values?.[v.id] ? formatValue(input.values[v.id]!) : undefined;
    const size = sizeOfNode(label, sub, value);
    const id = `v${v.id}`;
    const gk = p.groupOf[v.id];
    nodeViews.set(id, {
      id,
      vertex: v.id,
      role: v.role,
      op: v.op,
      shape: v.shape,
      label,
      ...(sub !== undefined ? { sublabel: sub } : {}),
      ...(value !== undefined ? { value } : {}),
      ...(v.name !== undefined ? { name: v.name } : {}),
      ...(gk !== undefined ? { group: gk } : {}),
      ...(v.step !== undefined ? { step: v.step } : {}),
      range: range(v.range),
      eliminable: eliminable.has(v.id),
    });
    const ports = [port(`${id}.o`, config.portOptions('out'))];
    v.inputs.forEach((_, k) => ports.push(port(`${id}.i${k}`, config.portOptions('in', k, v.inputs.length))));
    elkNodes.set(id, { id, width: size.w, height: size.h, ports, layoutOptions: config.nodeOptions(p.pins[v.id], 'ordered') });
  }
  for (const l of literals) {
    elkNodes.set(l.id, {
      id: l.id,
      width: l.w,
      height: l.h,
      ports: [port(`${l.id}.o`, config.portOptions('out'))],
      layoutOptions: config.nodeOptions(undefined, 'ordered'),
    });
  }
  const groupViews: Omit<GroupView, 'x' | 'y' | 'w' | 'h'>[] = [];
  const compounds: ElkNode[] = [];
  for (const [key, ids] of p.groups) {
    const gid = p.groupIds.get(key)!;
    const first = graph.vertices[ids[0]!]!;
    const start = Math.min(...ids.map((i) => graph.vertices[i]!.range.start));
    const end = Math.max(...ids.map((i) => graph.vertices[i]!.range.end));
    const title = fitText(groupTitle(key), FONT.group, MAX_LABEL, true);
    if (p.collapsed.has(key)) {
      const last = graph.vertices[ids[ids.length - 1]!]!;
      const sub = `${ids.length} vertices${last.shape.length ? ` ${shapeText(last.shape)}` : ''}`;
      const size = sizeOfNode(title, sub, undefined);
      nodeViews.set(gid, {
        id: gid,
        members: ids,
        role: 'group',
        op: 'group',
        shape: last.shape,
        label: title,
        sublabel: sub,
        group: key,
        ...(first.step !== undefined ? { step: first.step } : {}),
        range: range({ start, end }),
        eliminable: ids.some((i) => eliminable.has(i)),
      });
      const ports = [port(`${gid}.o`, config.portOptions('out'))];
      const ins = groupInPorts.get(gid) ?? [];
      ins.forEach((pid, k) => ports.push(port(pid, config.portOptions('in', k, ins.length))));
      elkNodes.set(gid, { id: gid, width: size.w + 6, height: size.h + 6, ports, layoutOptions: config.nodeOptions(undefined, 'ordered') });
    } else {
      // The group's vertices, and the literals its vertices read (kept beside them).
      const children = [...ids.map((i) => elkNodes.get(`v${i}`)!), ...literals.filter((l) => l.group === key).map((l) => elkNodes.get(l.id)!)];
      const minW = Math.ceil(textWidth(title, FONT.group, true) + 20);
      compounds.push({
        id: gid,
        children,
        layoutOptions: { ...config.groupOptions(), 'elk.nodeSize.minimum': `(${minW},20)`, 'elk.nodeSize.constraints': 'MINIMUM_SIZE' },
      });
      groupViews.push({
        id: gid,
        key,
        label: title,
        size: ids.length,
        ...(first.step !== undefined ? { step: first.step } : {}),
        range: range({ start, end }),
      });
    }
  }
  const inCompound = new Set<string>();
  for (const c of compounds) for (const ch of c.children!) inCompound.add(ch.id);
  const rootChildren: ElkNode[] = [];
  for (const [id, n] of elkNodes) if (!inCompound.has(id)) rootChildren.push(n);
  rootChildren.push(...compounds);

  const nodeCount = elkNodes.size + compounds.length;
  const describe = (): string => `'${graph.name}' (${nodeCount.toLocaleString('en-US')} nodes, ${drawn.length.toLocaleString('en-US')} edges)`;
  if (nodeCount > settings.maxNodes) {
    throw new LayoutTooBigError(
      `${describe()} is too big to lay out expanded (the limit is ${settings.maxNodes.toLocaleString('en-US')} nodes); collapse it (collapse: 'all' / --collapse all) and expand groups one at a time`,
    );
  }

  const elkEdges: ElkExtendedEdge[] = drawn.map((e) => {
    const out: ElkExtendedEdge = { id: e.id, sources: [e.sourcePort], targets: [e.targetPort] };
    if (e.label !== undefined) {
      const label: ElkLabel = {
        id: `${e.id}.l`,
        text: e.label,
        width: Math.ceil(GLYPH_W + textWidth(e.label, FONT.edge) + 6),
        height: EDGE_LABEL_H,
        layoutOptions: config.labelOptions(),
      };
      out.labels = [label];
    }
    if (Object.keys(config.edgeOptions()).length) out.layoutOptions = config.edgeOptions();
    return out;
  });
  const root: ElkNode = { id: 'root', layoutOptions: config.graphOptions(), children: rootChildren, edges: elkEdges };

  // ---- run ELK (cached by its input)
  const inputJson = JSON.stringify(root);
  const cacheKey = createHash('sha1').update(inputJson).digest('hex');
  let laid = cached(cacheKey);
  if (!laid) {
    laid = await runElk(root, settings.timeoutMs, describe);
    remember(cacheKey, laid);
  }

  // ---- read positions back
  const abs = new Map<string, { x: number; y: number; w: number; h: number; ports: Map<string, { x: number; y: number; w: number; h: number }> }>();
  const walk = (n: ElkNode, ox: number, oy: number): void => {
    for (const c of n.children ?? []) {
      const x = ox + (c.x ?? 0);
      const y = oy + (c.y ?? 0);
      const ports = new Map<string, { x: number; y: number; w: number; h: number }>();
      for (const q of c.ports ?? []) ports.set(q.id, { x: x + (q.x ?? 0), y: y + (q.y ?? 0), w: q.width ?? 0, h: q.height ?? 0 });
      abs.set(c.id, { x, y, w: c.width ?? 0, h: c.height ?? 0, ports });
      walk(c, x, y);
    }
  };
  walk(laid, 0, 0);
  const r1 = (x: number): number => Math.round(x * 10) / 10;

  const nodes: NodeView[] = [];
  for (const [id, nv] of nodeViews) {
    const b = abs.get(id)!;
    const inPorts: Point[] = [];
    const count = nv.vertex !== undefined ? graph.vertices[nv.vertex]!.inputs.length : (groupInPorts.get(id)?.length ?? 0);
    for (let k = 0; k < count; k++) {
      const q = b.ports.get(`${id}.i${k}`);
      if (q) inPorts.push({ x: r1(b.x), y: r1(q.y + q.h / 2) });
    }
    const o = b.ports.get(`${id}.o`);
    nodes.push({
      ...nv,
      x: r1(b.x),
      y: r1(b.y),
      w: r1(b.w),
      h: r1(b.h),
      ports: { in: inPorts, out: { x: r1(b.x + b.w), y: r1(o ? o.y + o.h / 2 : b.y + b.h / 2) } },
    });
  }
  const literalViews: LiteralView[] = literals.map((l) => {
    const b = abs.get(l.id)!;
    return { id: l.id, vertex: l.vertex, text: l.text, x: r1(b.x), y: r1(b.y), w: r1(b.w), h: r1(b.h) };
  });
  const groups: GroupView[] = groupViews.map((g) => {
    const b = abs.get(g.id)!;
    return { ...g, x: r1(b.x), y: r1(b.y), w: r1(b.w), h: r1(b.h) };
  });
  const laidEdges = new Map<string, ElkExtendedEdge>();
  const collect = (n: ElkNode): void => {
    for (const e of n.edges ?? []) laidEdges.set(e.id, e);
    for (const c of n.children ?? []) collect(c);
  };
  collect(laid);
  const edges: EdgeView[] = drawn.map((e) => {
    const le = laidEdges.get(e.id)!;
    const container = le.container && le.container !== 'root' ? abs.get(le.container) : undefined;
    const ox = container?.x ?? 0;
    const oy = container?.y ?? 0;
    const pts: Point[] = [];
    for (const s of le.sections ?? []) {
      const add = (q: { x: number; y: number }): void => {
        const last = pts[pts.length - 1];
        const pt = { x: r1(q.x + ox), y: r1(q.y + oy) };
        if (!last || last.x !== pt.x || last.y !== pt.y) pts.push(pt);
      };
      add(s.startPoint);
      for (const b of s.bendPoints ?? []) add(b);
      add(s.endPoint);
    }
    // ELK ends edges on the outer side of the ports; draw them to the node borders.
    const src = abs.get(e.source);
    const dst = abs.get(e.target);
    if (pts.length >= 2 && src && dst) {
      const first = pts[0]!;
      const second = pts[1]!;
      if (first.y === second.y) pts[0] = { x: r1(src.x + src.w), y: first.y };
      const last = pts[pts.length - 1]!;
      const before = pts[pts.length - 2]!;
      if (last.y === before.y) pts[pts.length - 1] = { x: r1(dst.x), y: last.y };
    }
    const l = le.labels?.[0];
    return {
      id: e.id,
      source: e.source,
      target: e.target,
      pairs: e.pairs,
      points: pts,
      glyph: e.glyph,
      count: e.count,
      ...(e.operand !== undefined ? { operand: e.operand } : {}),
      ...(e.jacobian !== undefined ? { jacobian: e.jacobian } : {}),
      ...(e.sparsity !== undefined ? { sparsity: e.sparsity } : {}),
      ...(e.bytes !== undefined ? { bytes: e.bytes } : {}),
      ...(l && e.label !== undefined ? { label: { text: e.label, x: r1((l.x ?? 0) + ox), y: r1((l.y ?? 0) + oy), w: l.width ?? 0, h: l.height ?? 0 } } : {}),
    };
  });

  let bands: StepBand[] | undefined;
  if (graph.kind === 'model-unrolled') {
    const ext = new Map<number, { lo: number; hi: number }>();
    for (const nd of nodes) {
      if (nd.step === undefined || (nd.vertex !== undefined && graph.vertices[nd.vertex]!.inputs.length === 0 && nd.role !== 'state')) continue;
      const e = ext.get(nd.step) ?? { lo: Infinity, hi: -Infinity };
      e.lo = Math.min(e.lo, nd.x);
      e.hi = Math.max(e.hi, nd.x + nd.w);
      ext.set(nd.step, e);
    }
    bands = [...ext].sort((a, b) => a[0] - b[0]).map(([step, e]) => ({ step, x: r1(e.lo), w: r1(e.hi - e.lo) }));
  }

  const groupInfo: GroupInfo[] = [...p.groups].map(([key, ids]) => ({ key, label: groupTitle(key), size: ids.length, collapsed: p.collapsed.has(key) }));
  const notes = [...(input.notes ?? [])];
  if ((request.collapse ?? 'auto') === 'auto' && graph.vertices.length > settings.collapseAbove && p.groups.size > 0) {
    notes.push(`${graph.vertices.length.toLocaleString('en-US')} vertices: shown collapsed, one node per equation (double-click a group to expand it).`);
  }
  if (hiddenConstEdges > 0)
    notes.push(`${hiddenConstEdges.toLocaleString('en-US')} edges from constants into collapsed equations are not drawn (constants carry no Jacobian).`);
  if (connectors.size > 0)
    notes.push(
      `Inputs read by more than ${FANOUT} nodes reach the further ones through a connector with their name (${connectors.size.toLocaleString('en-US')} of them) instead of a long edge.`,
    );
  if (!labelsOn && settings.edgeLabels === 'auto') notes.push(`Edge labels are hidden above ${settings.labelEdgeLimit} edges; hover an edge for its Jacobian.`);

  return {
    version: 1,
    key: viewKey(request),
    hash: graphHash(graph),
    request,
    item: graph.name,
    kind: graph.kind,
    ...('steps' in graph && typeof graph.steps === 'number' ? { steps: graph.steps } : {}),
    title: input.title ?? graph.name,
    width: r1(laid.width ?? 0),
    height: r1(laid.height ?? 0),
    nodes,
    edges,
    groups,
    groupInfo,
    ...(literalViews.length ? { literals: literalViews } : {}),
    vertexCount: graph.vertices.length,
    edgeCount: edgeTotal,
    ...(bands ? { bands } : {}),
    ...(input.elimination ? { elimination: input.elimination } : {}),
    ...(input.rules && input.rules.length ? { rules: input.rules } : {}),
    notes,
    layoutMs: Math.round(performance.now() - started),
  };
}

/** Why an edge has no Jacobian, in words. */
function dataReason(graph: Graph, u: number, v: Vertex): string {
  if (v.op === 'stop') return 'stop: no gradient';
  const src = graph.vertices[u]!;
  if (src.op === 'const') return 'a constant';
  if (src.role === 'input' || src.role === 'target') return `${src.role} data`;
  return 'computed from data only';
}
