// The SVG renderer: one element per node, edge and label, built once per view
// model; stepping, selection and rules only toggle classes. Used up to a few
// thousand nodes (canvas.ts beyond).

import type { EdgeView, GraphViewModel, NodeView } from '../../../language-server/src/layout/viewmodel.js';
import { APPROXIMATIONS } from '../../../language-server/src/lang/approximations.js';
import { s } from '../dom.js';
import type { Transform } from '../viewport.js';
import { GLYPHS } from './glyphs.js';
import { fillPath, key, midpoint, vertexNodes, type DrawState, type Renderer, type RendererEvents, type RenderStats } from './types.js';

const LEAF_ROLES = new Set(['input', 'param', 'state', 'target']);

function pathOf(points: readonly { x: number; y: number }[]): string {
  return points.map((p, i) => `${i ? 'L' : 'M'}${p.x} ${p.y}`).join('');
}

export class SvgRenderer implements Renderer {
  readonly surface: SVGSVGElement;
  private readonly root: SVGGElement;
  private readonly fillLayer: SVGGElement;
  private readonly markLayer: SVGGElement;
  private readonly nodeEls = new Map<string, SVGGElement>();
  private readonly edgeEls = new Map<string, { path: SVGPathElement; label?: SVGGElement }>();
  private readonly byVertex: Map<number, NodeView>;
  private readonly nodesById = new Map<string, NodeView>();
  private readonly edgesById = new Map<string, EdgeView>();

  constructor(
    private readonly vm: GraphViewModel,
    container: HTMLElement,
    private readonly events: RendererEvents,
  ) {
    this.byVertex = vertexNodes(vm);
    const svg = s('svg', { class: 'graph', role: 'img', 'aria-label': vm.title });
    const defs = s('defs');
    defs.innerHTML =
      '<marker id="eligo-arrow" viewBox="0 0 8 8" refX="7.6" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L8 4L0 8z"/></marker>' +
      '<marker id="eligo-arrow-fill" viewBox="0 0 8 8" refX="7.6" refY="4" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path class="fill-head" d="M0 0L8 4L0 8z"/></marker>' +
      Object.entries(GLYPHS)
        .map(([k, body]) => `<symbol id="eligo-glyph-${k}" viewBox="0 0 10 10">${body}</symbol>`)
        .join('');
    svg.append(defs);
    this.root = s('g', { class: 'viewport' });
    svg.append(this.root);
    const bands = s('g', { class: 'bands' });
    const groups = s('g', { class: 'groups' });
    const edges = s('g', { class: 'edges' });
    this.fillLayer = s('g', { class: 'fills' });
    const labels = s('g', { class: 'labels' });
    this.markLayer = s('g', { class: 'marks' });
    const nodes = s('g', { class: 'nodes' });
    const literals = s('g', { class: 'literals' });
    this.root.append(bands, groups, edges, this.fillLayer, labels, this.markLayer, literals, nodes);
    for (const l of vm.literals ?? []) {
      literals.append(
        s(
          'g',
          { class: 'literal', 'data-vertex': l.vertex },
          s('rect', { x: l.x, y: l.y, width: l.w, height: l.h, rx: 3 }),
          s('text', { x: l.x + l.w / 2, y: l.y + l.h - 4.5, 'text-anchor': 'middle' }, l.text),
          s('title', {}, `constant ${l.text} (%${l.vertex}), repeated where it is read`),
        ),
      );
    }

    for (const b of vm.bands ?? []) {
      bands.append(s('g', { class: 'band' }, s('text', { x: b.x + b.w / 2, y: -4, 'text-anchor': 'middle' }, `t = ${b.step}`)));
    }
    for (const g of vm.groups) {
      const el = s(
        'g',
        { class: 'group', 'data-group': g.key },
        s('rect', { x: g.x, y: g.y, width: g.w, height: g.h, rx: 6 }),
        s('text', { class: 'gtitle', x: g.x + 8, y: g.y + 15 }, s('title', {}, 'Double-click to collapse'), g.label),
      );
      groups.append(el);
    }
    for (const e of vm.edges) {
      this.edgesById.set(e.id, e);
      const d = pathOf(e.points);
      const hit = s('path', { class: 'edge-hit', d, 'data-edge': e.id });
      const path = s('path', { class: `edge glyph-${e.glyph}${e.glyph === 'data' ? ' data' : ''}`, d, 'marker-end': 'url(#eligo-arrow)', 'data-edge': e.id });
      edges.append(hit, path);
      let label: SVGGElement | undefined;
      if (e.label) {
        const l = e.label;
        label = s(
          'g',
          { class: 'elabel', 'data-edge': e.id },
          s('rect', { x: l.x, y: l.y, width: l.w, height: l.h, rx: 2 }),
          s('text', { x: l.x + (e.glyph === 'data' ? 3 : 14), y: l.y + l.h - 3.5 }, l.text),
        );
        if (e.glyph !== 'data') label.append(s('use', { href: `#eligo-glyph-${e.glyph}`, class: 'glyph', x: l.x + 1.5, y: l.y + 2, width: 10, height: 10 }));
        labels.append(label);
      }
      this.edgeEls.set(e.id, { path, ...(label ? { label } : {}) });
    }
    for (const n of vm.nodes) {
      this.nodesById.set(n.id, n);
      const rx = LEAF_ROLES.has(n.role) ? Math.min(10, n.h / 2) : n.role === 'const' ? 4 : 3;
      const g = s('g', { class: `node role-${n.role}`, 'data-id': n.id, transform: `translate(${n.x},${n.y})` });
      if (n.vertex !== undefined) g.setAttribute('data-vertex', String(n.vertex));
      if (n.role === 'group') {
        g.append(
          s('rect', { class: 'stack', x: 6, y: 6, width: n.w - 6, height: n.h - 6, rx: 4 }),
          s('rect', { class: 'stack', x: 3, y: 3, width: n.w - 6, height: n.h - 6, rx: 4 }),
        );
        g.append(s('rect', { class: 'box', width: n.w - 6, height: n.h - 6, rx: 4 }));
      } else {
        g.append(s('rect', { class: 'box', width: n.w, height: n.h, rx }));
      }
      const cx = (n.role === 'group' ? n.w - 6 : n.w) / 2;
      g.append(s('text', { class: 'label', x: cx, y: 15, 'text-anchor': 'middle' }, n.label));
      let y = 15;
      if (n.sublabel !== undefined) g.append(s('text', { class: 'sub', x: cx, y: (y += 12), 'text-anchor': 'middle' }, n.sublabel));
      if (n.value !== undefined) g.append(s('text', { class: 'sub value', x: cx, y: y + 12, 'text-anchor': 'middle' }, n.value));
      nodes.append(g);
      this.nodeEls.set(n.id, g);
    }
    container.append(svg);
    this.surface = svg;

    svg.addEventListener('pointerover', (e) => {
      const t = e.target as Element;
      const nodeEl = t.closest('.node');
      if (nodeEl) return this.events.hover({ node: this.nodesById.get(nodeEl.getAttribute('data-id')!)! }, e.clientX, e.clientY);
      const edgeId = t.getAttribute('data-edge') ?? t.closest('.elabel')?.getAttribute('data-edge');
      if (edgeId) return this.events.hover({ edge: this.edgesById.get(edgeId)! }, e.clientX, e.clientY);
      return this.events.hover(undefined, e.clientX, e.clientY);
    });
    svg.addEventListener('pointerleave', (e) => this.events.hover(undefined, e.clientX, e.clientY));
    svg.addEventListener('click', (e) => {
      const nodeEl = (e.target as Element).closest('.node');
      this.events.click(nodeEl ? this.nodesById.get(nodeEl.getAttribute('data-id')!) : undefined, e);
    });
    svg.addEventListener('dblclick', (e) => {
      const t = e.target as Element;
      const nodeEl = t.closest('.node');
      if (nodeEl) return this.events.dblclick({ node: this.nodesById.get(nodeEl.getAttribute('data-id')!)! });
      const g = t.closest('.group');
      if (g) return this.events.dblclick({ group: g.getAttribute('data-group')! });
      return undefined;
    });
  }

  setTransform(t: Transform): void {
    this.root.setAttribute('transform', `translate(${t.x},${t.y}) scale(${t.k})`);
    this.surface.classList.toggle('zoomed-out', t.k < 0.45);
  }

  draw(st: DrawState): void {
    // Nodes: eliminated ones fade; a collapsed group fades by the share of its members eliminated.
    for (const n of this.vm.nodes) {
      const el = this.nodeEls.get(n.id)!;
      const cls = el.classList;
      cls.toggle('selected', st.selected.has(n.id));
      cls.toggle('match', st.matches.has(n.id));
      if (n.vertex !== undefined) {
        cls.toggle('eliminated', st.eliminated.has(n.vertex) && st.current !== n.vertex);
        cls.toggle('current', st.current === n.vertex);
      } else if (n.members) {
        const elim = n.members.filter((v) => st.eliminated.has(v)).length;
        el.style.opacity = elim ? String(1 - 0.75 * (elim / n.members.length)) : '';
        cls.toggle('current', st.current !== undefined && n.members.includes(st.current));
      }
    }
    const ruleKind = new Map<string, string>();
    for (const b of st.rule?.blocks ?? []) for (const [a, c] of b.pairs) ruleKind.set(key(a, c), b.kind);
    this.markLayer.replaceChildren();
    for (const e of this.vm.edges) {
      const { path, label } = this.edgeEls.get(e.id)!;
      let dead = false;
      let updated = false;
      let rule: string | undefined;
      if (st.live) {
        const jac = e.pairs.filter(([a, c]) => st.engineEdges.has(key(a, c)));
        dead = jac.length > 0 ? jac.every(([a, c]) => !st.live!.has(key(a, c))) : e.pairs.every(([a, c]) => st.eliminated.has(a) || st.eliminated.has(c));
        updated = e.pairs.some(([a, c]) => st.updated.has(key(a, c)));
      }
      for (const [a, c] of e.pairs) rule ??= ruleKind.get(key(a, c));
      path.classList.toggle('dead', dead);
      path.classList.toggle('updated', updated && !dead);
      for (const { kind } of APPROXIMATIONS) path.classList.toggle(`rule-${kind}`, rule === kind);
      label?.classList.toggle('dead', dead);
      if (rule) {
        const m = midpoint(e.points);
        this.markLayer.append(
          s('text', { class: `rule-mark ${rule}`, x: m.x + 4, y: m.y - 4 }, rule === 'diagonal' ? 'diag' : rule === 'dense' ? 'dense' : '✕'),
        );
      }
    }
    // Fill-in edges: created by eliminations, so ELK never routed them; drawn as curves.
    this.fillLayer.replaceChildren();
    for (const [a, c] of st.fill) {
      const na = this.byVertex.get(a);
      const nc = this.byVertex.get(c);
      if (!na || !nc || na === nc) continue;
      this.fillLayer.append(
        s('path', {
          class: `fillin${st.fresh.has(key(a, c)) ? ' new' : ''}`,
          d: fillPath(na, nc),
          'marker-end': 'url(#eligo-arrow-fill)',
          'data-pair': key(a, c),
        }),
      );
    }
  }

  stats(): RenderStats {
    return {
      kind: 'svg',
      nodes: this.root.querySelectorAll('.nodes > .node').length,
      edges: this.root.querySelectorAll('.edges > path.edge').length,
      edgeLabels: this.root.querySelectorAll('.labels > .elabel').length,
      nodeLabels: this.root.querySelectorAll('.nodes .label').length,
    };
  }

  destroy(): void {
    this.surface.remove();
  }
}
