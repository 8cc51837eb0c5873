// The canvas renderer, for graphs too big for one DOM element per item
// (above about 2,000 nodes): everything is painted each frame, text only when
// zoomed in enough to read it, and pointing is a box test on the nodes.

import type { GraphViewModel, NodeView } from '../../../language-server/src/layout/viewmodel.js';
import { h } from '../dom.js';
import { GRAPH_FONT } from '../styles.js';
import type { Transform } from '../viewport.js';
import { EMPTY_STATE, key, vertexNodes, type DrawState, type Renderer, type RendererEvents, type RenderStats } from './types.js';

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export class CanvasRenderer implements Renderer {
  readonly surface: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private t: Transform = { x: 0, y: 0, k: 1 };
  private st: DrawState = EMPTY_STATE;
  private frame = 0;
  private readonly byVertex: Map<number, NodeView>;
  private readonly nodesById = new Map<string, NodeView>();
  private drawn = { nodes: 0, edges: 0, edgeLabels: 0, nodeLabels: 0 };
  private readonly resize: ResizeObserver;

  constructor(
    private readonly vm: GraphViewModel,
    container: HTMLElement,
    private readonly events: RendererEvents,
  ) {
    this.byVertex = vertexNodes(vm);
    for (const n of vm.nodes) this.nodesById.set(n.id, n);
    this.surface = h('canvas', { class: 'graph', role: 'img', 'aria-label': vm.title });
    container.append(this.surface);
    this.ctx = this.surface.getContext('2d')!;
    this.resize = new ResizeObserver(() => this.schedule());
    this.resize.observe(this.surface);
    this.surface.addEventListener('pointermove', (e) => {
      const n = this.nodeAt(e.clientX, e.clientY);
      this.events.hover(n ? { node: n } : undefined, e.clientX, e.clientY);
    });
    this.surface.addEventListener('pointerleave', (e) => this.events.hover(undefined, e.clientX, e.clientY));
    this.surface.addEventListener('click', (e) => this.events.click(this.nodeAt(e.clientX, e.clientY), e));
    this.surface.addEventListener('dblclick', (e) => {
      const n = this.nodeAt(e.clientX, e.clientY);
      if (n) this.events.dblclick({ node: n });
    });
  }

  /** The node under a client point. */
  nodeAt(clientX: number, clientY: number): NodeView | undefined {
    const r = this.surface.getBoundingClientRect();
    const x = (clientX - r.left - this.t.x) / this.t.k;
    const y = (clientY - r.top - this.t.y) / this.t.k;
    for (let i = this.vm.nodes.length - 1; i >= 0; i--) {
      const n = this.vm.nodes[i]!;
      if (x >= n.x && x <= n.x + n.w && y >= n.y && y <= n.y + n.h) return n;
    }
    return undefined;
  }

  setTransform(t: Transform): void {
    this.t = t;
    this.schedule();
  }

  draw(state: DrawState): void {
    this.st = state;
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }

  /** Paints now (tests and first paint do not wait for a frame). */
  paint(): void {
    const c = this.surface;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 800;
    const hgt = c.clientHeight || 600;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(hgt * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hgt * dpr);
    }
    const ctx = this.ctx;
    const { x, y, k } = this.t;
    const st = this.st;
    const col = {
      bg: cssVar('--bg', '#fff'),
      fg: cssVar('--fg', '#000'),
      muted: cssVar('--muted', '#666'),
      edge: cssVar('--c-edge', '#888'),
      widget: cssVar('--widget', '#f6f8fa'),
      accent: cssVar('--accent', '#0969da'),
      fill: cssVar('--c-fill', '#9a6700'),
      input: cssVar('--c-input', '#0969da'),
      param: cssVar('--c-param', '#bc4c00'),
      state: cssVar('--c-state', '#8250df'),
      output: cssVar('--c-output', '#1a7f37'),
      loss: cssVar('--c-loss', '#cf222e'),
      border: cssVar('--border', '#ddd'),
    };
    const stroke: Record<string, string> = {
      input: col.input,
      param: col.param,
      state: col.state,
      output: col.output,
      'state-next': col.output,
      loss: col.loss,
    };
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = col.bg;
    ctx.fillRect(0, 0, w, hgt);
    ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * x, dpr * y);
    // Visible window in graph coordinates: skip what lies outside.
    const vx0 = -x / k;
    const vy0 = -y / k;
    const vx1 = (w - x) / k;
    const vy1 = (hgt - y) / k;
    const inView = (bx: number, by: number, bw: number, bh: number): boolean => bx + bw >= vx0 && bx <= vx1 && by + bh >= vy0 && by <= vy1;
    const counts = { nodes: 0, edges: 0, edgeLabels: 0, nodeLabels: 0 };

    ctx.lineWidth = 1;
    ctx.strokeStyle = col.border;
    for (const g of this.vm.groups) {
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(g.x, g.y, g.w, g.h);
    }
    ctx.setLineDash([]);
    ctx.lineWidth = 1.2 / Math.max(k, 0.5);
    for (const e of this.vm.edges) {
      counts.edges++;
      let dead = false;
      if (st.live) {
        const jac = e.pairs.filter(([a, b]) => st.engineEdges.has(key(a, b)));
        dead = jac.length > 0 ? jac.every(([a, b]) => !st.live!.has(key(a, b))) : e.pairs.every(([a, b]) => st.eliminated.has(a) || st.eliminated.has(b));
      }
      const p0 = e.points[0];
      if (!p0) continue;
      ctx.globalAlpha = dead ? 0.08 : e.glyph === 'data' ? 0.6 : 1;
      ctx.strokeStyle = e.pairs.some(([a, b]) => st.updated.has(key(a, b))) ? col.fill : col.edge;
      ctx.beginPath();
      ctx.moveTo(p0.x, p0.y);
      for (let i = 1; i < e.points.length; i++) ctx.lineTo(e.points[i]!.x, e.points[i]!.y);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    ctx.strokeStyle = col.fill;
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 3]);
    for (const [a, b] of st.fill) {
      const na = this.byVertex.get(a);
      const nb = this.byVertex.get(b);
      if (!na || !nb || na === nb) continue;
      const sx = na.x + na.w;
      const sy = na.y + na.h / 2;
      const tx = nb.x;
      const ty = nb.y + nb.h / 2;
      const dx = Math.max(40, Math.abs(tx - sx) / 2);
      ctx.beginPath();
      ctx.moveTo(sx, sy);
      ctx.bezierCurveTo(sx + dx, sy, tx - dx, ty, tx, ty);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    const text = k >= 0.45;
    ctx.lineWidth = 1;
    for (const l of this.vm.literals ?? []) {
      if (!inView(l.x, l.y, l.w, l.h)) continue;
      ctx.strokeStyle = col.muted;
      ctx.strokeRect(l.x, l.y, l.w, l.h);
      if (text) {
        ctx.fillStyle = col.muted;
        ctx.font = `10px ${GRAPH_FONT}`;
        ctx.textAlign = 'center';
        ctx.fillText(l.text, l.x + l.w / 2, l.y + l.h - 4.5);
      }
    }
    for (const n of this.vm.nodes) {
      counts.nodes++;
      if (!inView(n.x, n.y, n.w, n.h)) continue;
      const elim = n.vertex !== undefined ? st.eliminated.has(n.vertex) : false;
      ctx.globalAlpha = elim && st.current !== n.vertex ? 0.22 : 1;
      ctx.fillStyle = st.matches.has(n.id) ? col.accent : col.widget;
      ctx.fillRect(n.x, n.y, n.w, n.h);
      ctx.strokeStyle = st.selected.has(n.id) ? col.accent : (stroke[n.role] ?? col.edge);
      ctx.lineWidth = st.selected.has(n.id) || stroke[n.role] ? 2.2 : 1.2;
      ctx.strokeRect(n.x, n.y, n.w, n.h);
      if (text) {
        counts.nodeLabels++;
        ctx.fillStyle = col.fg;
        ctx.font = `bold 12px ${GRAPH_FONT}`;
        ctx.textAlign = 'center';
        ctx.fillText(n.label, n.x + n.w / 2, n.y + 15);
        if (n.sublabel) {
          ctx.font = `10px ${GRAPH_FONT}`;
          ctx.fillStyle = col.muted;
          ctx.fillText(n.sublabel, n.x + n.w / 2, n.y + 27);
        }
      }
    }
    ctx.globalAlpha = 1;
    if (text) {
      ctx.font = `10px ${GRAPH_FONT}`;
      ctx.textAlign = 'left';
      for (const e of this.vm.edges) {
        const l = e.label;
        if (!l || !inView(l.x, l.y, l.w, l.h)) continue;
        counts.edgeLabels++;
        ctx.fillStyle = col.bg;
        ctx.fillRect(l.x, l.y, l.w, l.h);
        ctx.fillStyle = col.fg;
        ctx.fillText(l.text, l.x + 14, l.y + l.h - 3.5);
      }
    }
    this.drawn = counts;
  }

  stats(): RenderStats {
    return { kind: 'canvas', ...this.drawn };
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.resize.disconnect();
    this.surface.remove();
  }
}
