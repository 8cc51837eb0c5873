// The graph view: toolbar, graph pane(s), and a panel with the elimination
// stepper, the rules and the training curves. It renders what the host sends
// (a laid-out GraphViewModel) and posts back what the user asks for (reveal a
// range, another view). Every number it shows is read from the view model.

import type { GraphHostMessage, GraphWebviewState, JobProgress, RuleCandidate, TrainActivity } from '../../language-server/src/protocol.js';
import type { EdgeView, GraphViewModel, GraphViewRequest, NodeView, OrderTrace, RuleView } from '../../language-server/src/layout/viewmodel.js';
import { lineChart, rasterChart, type Series } from './chart.js';
import { scatterPlot } from './scatter.js';
import { fmtBytes, fmtInt, h, icon, s } from './dom.js';
import type { Host } from './host.js';
import { CanvasRenderer } from './render/canvas.js';
import { GLYPHS, GLYPH_NAMES } from './render/glyphs.js';
import { SvgRenderer } from './render/svg.js';
import type { DrawState, Renderer } from './render/types.js';
import { Stepper, type Counter } from './stepper.js';
import { Viewport, type Transform } from './viewport.js';
import type { CodiconName } from './codicons.js';

declare global {
  interface Window {
    /** Node count above which the canvas renderer is used (tests lower it). */
    ELIGO_CANVAS_THRESHOLD?: number;
  }
}

interface Pane {
  readonly el: HTMLElement;
  readonly renderer: Renderer;
  readonly viewport: Viewport;
  readonly title: HTMLElement;
  readonly which: 'a' | 'b';
}

interface TrainingRun {
  label: string;
  points: { x: number; y: Record<string, number> }[];
  result?: string;
  activity?: TrainActivity;
}

const PLAY_MS = 700;

function toolbarButton(name: CodiconName, label: string, onClick: () => void, id?: string): HTMLElement {
  const b = h('vscode-toolbar-button', { label, title: label, ...(id ? { id } : {}) }, icon(name));
  b.addEventListener('click', onClick);
  return b;
}

function before(a: { line: number; character: number }, b: { line: number; character: number }): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}

export class App {
  private vm: GraphViewModel | undefined;
  private stepper: Stepper | undefined;
  private panes: Pane[] = [];
  private state: GraphWebviewState;
  private step = 0;
  private playing: ReturnType<typeof setInterval> | undefined;
  private selected = new Set<string>();
  private matches: NodeView[] = [];
  private matchIndex = -1;
  private readonly extraOrders = new Map<string, OrderTrace[]>();
  private readonly training = new Map<string, TrainingRun>();
  private trainingMetrics = new Set<string>();
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  // DOM
  private readonly titleEl = h('span', { class: 'title' }, 'Eligo graph');
  private readonly countEl = h('span', { class: 'count' });
  private readonly viewSelect = h('vscode-single-select', { title: 'One time step, or the model unrolled in time' }) as HTMLElement & { value: string };
  private readonly stepsField = h('vscode-textfield', {
    class: 'steps-field',
    type: 'number',
    min: '1',
    max: '50',
    value: '3',
    title: 'Time steps T of the unrolled view',
  }) as HTMLElement & { value: string };
  private readonly searchField = h('vscode-textfield', {
    id: 'search',
    placeholder: 'Find a vertex',
    title: 'Find a vertex by name, op or %id (Enter: next)',
  }) as HTMLElement & { value: string };
  private readonly searchCount = h('span', { class: 'count' });
  private readonly main = h('div', { class: 'main' });
  private readonly overlay = h('div', { class: 'overlay-message', hidden: true });
  private readonly tooltip = h('div', { class: 'tooltip', hidden: true, role: 'tooltip' });
  private readonly toast = h('div', { class: 'toast', hidden: true });
  private readonly legend = h('div', { class: 'legend' });
  private readonly tabs = h('vscode-tabs', { 'selected-index': '0' }) as HTMLElement & { selectedIndex: number };
  private readonly stepBody = h('div', { class: 'tab-body', id: 'stepper' });
  private readonly rulesBody = h('div', { class: 'tab-body', id: 'rules' });
  private readonly trainBody = h('div', { class: 'tab-body', id: 'training' });
  private readonly notesBody = h('div', { class: 'tab-body', id: 'notes' });
  private readonly groupButtons = h('span');

  constructor(
    private readonly root: HTMLElement,
    private readonly host: Host,
  ) {
    this.state = host.getState() ?? {};
    this.build();
    this.renderTraining();
    window.addEventListener('keydown', (e) => this.key(e));
    window.addEventListener('resize', () => this.panes.forEach((p) => p.viewport.set(p.viewport.t)));
  }

  // ---------------------------------------------------------------- skeleton

  private build(): void {
    const toolbar = h('div', { class: 'toolbar', role: 'toolbar' });
    for (const [value, label] of [
      ['step', 'One step'],
      ['unrolled', 'Unrolled'],
    ] as const) {
      this.viewSelect.append(h('vscode-option', { value }, label));
    }
    this.viewSelect.addEventListener('change', () => this.requestUnrolled());
    this.stepsField.addEventListener('change', () => {
      if (this.viewSelect.value === 'unrolled') this.requestUnrolled();
    });
    this.searchField.append(icon('search'));
    this.searchField.querySelector('svg')?.setAttribute('slot', 'content-before');
    this.searchField.addEventListener('input', () => this.search(this.searchField.value));
    this.searchField.addEventListener('keydown', (e) => {
      const k = e.key;
      if (k === 'Enter') {
        e.preventDefault();
        this.nextMatch(e.shiftKey ? -1 : 1);
      }
      if (k === 'Escape') {
        this.searchField.value = '';
        this.search('');
      }
      e.stopPropagation();
    });
    this.groupButtons.append(
      toolbarButton('fold', 'Collapse all equations', () => this.request({ collapse: 'all' }), 'collapse-all'),
      toolbarButton('unfold', 'Expand all equations', () => this.request({ collapse: 'none' }), 'expand-all'),
    );
    toolbar.append(
      this.titleEl,
      this.viewSelect,
      this.stepsField,
      this.groupButtons,
      h('span', { class: 'spacer' }),
      this.searchField,
      this.searchCount,
      toolbarButton('arrow-up', 'Previous match (Shift+Enter)', () => this.nextMatch(-1)),
      toolbarButton('arrow-down', 'Next match (Enter)', () => this.nextMatch(1)),
      toolbarButton('zoom-out', 'Zoom out (−)', () => this.zoom(1 / 1.25)),
      toolbarButton('zoom-in', 'Zoom in (+)', () => this.zoom(1.25)),
      toolbarButton('screen-full', 'Fit to window (0)', () => this.fit(), 'fit'),
      this.countEl,
    );
    this.buildLegend();
    this.main.append(this.overlay, this.toast);
    const panel = h('div', { class: 'panel' });
    const tab = (label: string, body: HTMLElement, id: string): void => {
      // (The component sets the headers' ids itself, for aria.)
      this.tabs.append(h('vscode-tab-header', { slot: 'header', 'data-tab': id }, label), h('vscode-tab-panel', {}, body));
    };
    tab('Elimination', this.stepBody, 'elimination');
    tab('Rules', this.rulesBody, 'rules');
    tab('Training', this.trainBody, 'training');
    tab('Notes', this.notesBody, 'notes');
    this.tabs.addEventListener('vsc-tabs-select', () => {
      this.state = { ...this.state, tab: String(this.tabs.selectedIndex) };
      this.save();
    });
    panel.append(this.tabs);
    this.root.replaceChildren(toolbar, this.legend, this.main, panel, this.tooltip);
    if (this.state.tab) this.tabs.setAttribute('selected-index', this.state.tab);
    this.stepBody.append(h('div', { class: 'muted' }, 'Waiting for the graph…'));
  }

  private buildLegend(): void {
    const roles: [string, string][] = [
      ['input', 'var(--c-input)'],
      ['param', 'var(--c-param)'],
      ['state', 'var(--c-state)'],
      ['op', 'var(--c-edge)'],
      ['output', 'var(--c-output)'],
      ['loss', 'var(--c-loss)'],
    ];
    for (const [name, color] of roles) {
      const sw = h('span', { class: 'swatch' });
      sw.style.borderColor = color;
      this.legend.append(h('span', { class: 'item' }, sw, name));
    }
    this.legend.append(h('span', { class: 'muted' }, '·'));
    for (const [k, body] of Object.entries(GLYPHS)) {
      if (k === 'zero') continue;
      const g = s('svg', { viewBox: '0 0 10 10', class: 'glyph-legend' });
      g.innerHTML = body;
      g.style.color = 'var(--accent)';
      this.legend.append(h('span', { class: 'item', title: GLYPH_NAMES[k as keyof typeof GLYPH_NAMES] }, g, k));
    }
    const fill = h('span', { class: 'swatch' });
    fill.style.borderColor = 'var(--c-fill)';
    fill.style.borderStyle = 'dashed';
    this.legend.append(h('span', { class: 'item' }, fill, 'fill-in'));
  }

  // ---------------------------------------------------------------- messages

  handle(m: GraphHostMessage): void {
    switch (m.type) {
      case 'show':
        this.show(m.model);
        break;
      case 'graph': {
        const layout = m.result.layout as GraphViewModel | undefined;
        if (layout && layout.version === 1 && Array.isArray(layout.nodes)) this.show(layout);
        else this.message(`The server sent the graph of '${m.result.item}' without a layout.`, true);
        break;
      }
      case 'busy':
        this.message(m.message, false, true);
        break;
      case 'error':
        this.message(m.message, true, this.vm !== undefined);
        break;
      case 'select':
        this.selectFromEditor(m.position, m.vertices, m.reveal ?? false);
        break;
      case 'addOrder': {
        const list = this.extraOrders.get(m.viewKey) ?? [];
        this.extraOrders.set(m.viewKey, [...list.filter((o) => o.id !== m.trace.id), m.trace]);
        if (this.vm?.key === m.viewKey) {
          this.state = { ...this.state, orderB: this.state.orderA ?? this.orders()[0]?.id, orderA: m.trace.id, compare: true };
          this.renderStepper();
          this.rebuildPanes(false);
        }
        break;
      }
      case 'init':
        this.state = { ...this.state, panel: m.state };
        this.tabs.setAttribute('selected-index', String({ graph: 0, search: 0, rules: 1, train: 2 }[m.state.view] ?? 0));
        break;
      case 'trainStart':
        this.training.clear();
        this.trainingMetrics.clear();
        this.training.set('run', { label: `${m.item}${m.rule ? ` with ${m.rule}` : ''} on ${m.task}`, points: [] });
        this.tabs.setAttribute('selected-index', '2');
        this.renderTraining();
        break;
      case 'progress':
        this.progress(m.progress);
        break;
      case 'train': {
        const run = this.training.get('run') ?? { label: m.job.result?.task ?? 'training', points: [] };
        const r = m.job.result;
        if (r?.activity) run.activity = r.activity;
        run.result = `${m.job.status}${r?.accuracy !== undefined ? ` · accuracy ${(r.accuracy * 100).toFixed(1)}%` : ''}${r?.alignment !== undefined ? ` · alignment ${r.alignment.toFixed(3)}` : ''}${r?.loss !== undefined ? ` · loss ${r.loss.toPrecision(4)}` : ''}${m.job.message ? ` — ${m.job.message}` : ''}`;
        this.training.set('run', run);
        this.renderTraining();
        break;
      }
      case 'search': {
        const r = m.job.result;
        this.flash(
          r ? `Search (${m.job.status}): ${fmtInt(r.multiplications)} multiplications` : `Search ${m.job.status}${m.job.message ? `: ${m.job.message}` : ''}`,
        );
        break;
      }
      case 'rules':
        this.renderCandidates(m.front, m.job.status, m.job.message, m.job.result as Readonly<Record<string, unknown>> | undefined);
        break;
      default:
        break;
    }
  }

  private message(text: string, error: boolean, keepGraph = false): void {
    // With a graph on screen the message is a passing note, never an overlay painted over the graph.
    if (keepGraph) return this.flash(text);
    this.overlay.textContent = text;
    this.overlay.classList.toggle('error', error);
    this.overlay.hidden = false;
    for (const p of this.panes) p.el.remove();
    this.panes = [];
  }

  private flash(text: string): void {
    this.toast.textContent = text;
    this.toast.hidden = false;
    clearTimeout((this.toast as unknown as { timer?: ReturnType<typeof setTimeout> }).timer);
    (this.toast as unknown as { timer?: ReturnType<typeof setTimeout> }).timer = setTimeout(() => {
      this.toast.hidden = true;
    }, 6000);
  }

  // ---------------------------------------------------------------- showing a view

  private orders(): OrderTrace[] {
    const vm = this.vm;
    if (!vm) return [];
    return [...(vm.elimination?.orders ?? []), ...(this.extraOrders.get(vm.key) ?? [])];
  }

  private show(vm: GraphViewModel): void {
    const sameView = this.state.key === vm.key;
    this.vm = vm;
    this.overlay.hidden = true;
    // A note about the view before ("Laying out …") is over once this one shows.
    this.toast.hidden = true;
    this.stopPlay();
    this.stepper = new Stepper(vm, vm.elimination ? { ...vm.elimination, orders: this.orders() } : undefined);
    const ids = this.orders().map((o) => o.id);
    const pick = (want: string | undefined, fallback: string | undefined): string | undefined => (want && ids.includes(want) ? want : fallback);
    this.state = {
      ...this.state,
      request: vm.request,
      key: vm.key,
      orderA: pick(this.state.orderA, ids[0]),
      orderB: pick(this.state.orderB, ids.find((i) => i === 'reverse') ?? ids[1] ?? ids[0]),
      ...(sameView ? {} : { step: 0 }),
    };
    if (this.state.rule && !vm.rules?.some((r) => r.name === this.state.rule)) this.state = { ...this.state, rule: undefined };
    this.step = Math.min(this.state.step ?? 0, this.orderTrace('a')?.steps.length ?? 0);
    this.titleEl.textContent = vm.title;
    this.titleEl.title = vm.title;
    const isModel = vm.kind !== 'function';
    this.viewSelect.hidden = !isModel;
    this.stepsField.hidden = !isModel || vm.kind !== 'model-unrolled';
    this.viewSelect.value = vm.kind === 'model-unrolled' ? 'unrolled' : 'step';
    if (vm.steps !== undefined) this.stepsField.value = String(vm.steps);
    this.groupButtons.hidden = vm.groupInfo.length === 0;
    const collapsedGroups = vm.groupInfo.filter((g) => g.collapsed).length;
    this.countEl.textContent = `${fmtInt(vm.vertexCount)} vertices · ${fmtInt(vm.edgeCount)} edges${collapsedGroups ? ` · ${collapsedGroups} collapsed` : ''}`;
    this.selected.clear();
    this.search(this.searchField.value, false);
    this.rebuildPanes(!sameView || !this.state.transform);
    this.renderStepper();
    this.renderRules();
    this.renderNotes();
    this.save();
  }

  private rebuildPanes(fit: boolean): void {
    const vm = this.vm;
    if (!vm) return;
    const keep = this.panes[0]?.viewport.t ?? this.state.transform;
    for (const p of this.panes) {
      p.renderer.destroy();
      p.el.remove();
    }
    this.panes = [];
    const which: ('a' | 'b')[] = this.state.compare && this.orders().length > 0 ? ['a', 'b'] : ['a'];
    // Two orders of a wide graph read better one above the other, of a tall one side by side.
    const box = this.main.getBoundingClientRect();
    this.main.classList.toggle('stacked', which.length > 1 && vm.width / Math.max(1, vm.height) > (box.width || 1) / Math.max(1, box.height || 1));
    const threshold = window.ELIGO_CANVAS_THRESHOLD ?? 2000;
    for (const w of which) {
      const el = h('div', { class: `pane pane-${w}`, 'data-pane': w });
      const title = h('div', { class: 'pane-title' });
      el.append(title);
      this.main.insertBefore(el, this.overlay);
      const events = {
        hover: (t: { node?: NodeView; edge?: EdgeView } | undefined, x: number, y: number) => this.hover(t, x, y),
        click: (n: NodeView | undefined) => this.click(n, pane),
        dblclick: (t: { node?: NodeView; group?: string }) => this.dblclick(t),
      };
      const renderer: Renderer = vm.nodes.length > threshold ? new CanvasRenderer(vm, el, events) : new SvgRenderer(vm, el, events);
      const viewport = new Viewport(renderer.surface, (t) => this.transformed(t, w));
      const pane: Pane = { el, renderer, viewport, title, which: w };
      this.panes.push(pane);
    }
    this.root.dataset.renderer = this.panes[0]?.renderer.stats().kind ?? '';
    const first = this.panes[0];
    if (first) {
      if (fit || !keep) this.home();
      else first.viewport.set(keep);
    }
    this.draw();
  }

  private transformed(t: Transform, from: 'a' | 'b'): void {
    // Panes share one camera: the two orders stay side by side, vertex for vertex.
    for (const p of this.panes) {
      if (p.which !== from) p.viewport.t = t;
      p.renderer.setTransform(t);
    }
    this.state = { ...this.state, transform: t };
    this.save();
  }

  /**
   * Everything in view (the Fit button, key 0), never below a readable zoom
   * (READABLE_K): returns false when the graph is larger than the window at
   * that zoom, and then shows it from its start.
   */
  private fit(hint = true): boolean {
    const vm = this.vm;
    const p = this.panes[0];
    if (!vm || !p) return true;
    const fits = p.viewport.fit({ x: 0, y: vm.bands ? -16 : 0, w: vm.width, h: vm.height + (vm.bands ? 16 : 0) });
    if (!fits && hint)
      this.flash(
        vm.groupInfo.some((g) => !g.collapsed)
          ? 'The graph is larger than the window at a readable size: pan to see the rest, or collapse the equations.'
          : 'The graph is larger than the window at a readable size: pan to see the rest.',
      );
    return fits;
  }

  /**
   * The first view of a graph: all of it at a readable zoom. When the expanded
   * graph is too large for that and its equations can be collapsed, the view
   * collapsed by equation is asked for instead (once: expanding it again is
   * the reader's choice: Expand all asks for `collapse: 'none'`, which is never
   * collapsed again), as the layout does for large graphs.
   */
  private home(): void {
    const vm = this.vm;
    if (!vm) return;
    const auto = (vm.request.collapse ?? 'auto') === 'auto' && !vm.request.expand?.length && !vm.request.collapseGroups?.length;
    const canCollapse = auto && vm.groupInfo.some((g) => !g.collapsed);
    if (this.fit(!canCollapse)) return;
    if (canCollapse) this.request({ collapse: 'all' });
  }

  private zoom(f: number): void {
    this.panes[0]?.viewport.zoomAt(f);
  }

  private orderTrace(which: 'a' | 'b'): OrderTrace | undefined {
    const id = which === 'a' ? this.state.orderA : this.state.orderB;
    return this.orders().find((o) => o.id === id);
  }

  private draw(): void {
    const vm = this.vm;
    const stepper = this.stepper;
    if (!vm || !stepper) return;
    const rule = vm.rules?.find((r) => r.name === this.state.rule);
    for (const p of this.panes) {
      const trace = this.orderTrace(p.which);
      const st = trace ? stepper.stateAt(trace, this.step) : undefined;
      const state: DrawState = {
        eliminated: st?.eliminated ?? new Set(),
        ...(st?.current !== undefined ? { current: st.current } : {}),
        ...(st ? { live: st.live } : {}),
        engineEdges: stepper.engineEdges,
        updated: st?.updated ?? new Set(),
        fill: st?.fill ?? [],
        fresh: st?.fresh ?? new Set(),
        selected: this.selected,
        matches: new Set(this.matches.map((n) => n.id)),
        ...(rule ? { rule } : {}),
      };
      p.renderer.draw(state);
      p.title.textContent = trace && this.panes.length > 1 ? `${trace.label} order` : '';
      p.title.hidden = this.panes.length < 2;
    }
    this.updateCounters();
  }

  // ---------------------------------------------------------------- pointing

  private hover(t: { node?: NodeView; edge?: EdgeView } | undefined, x: number, y: number): void {
    const tip = this.tooltip;
    if (!t || (!t.node && !t.edge)) {
      tip.hidden = true;
      return;
    }
    tip.replaceChildren();
    if (t.edge) {
      const e = t.edge;
      tip.append(h('div', { class: 'math' }, e.jacobian ?? ''));
      const parts = [GLYPH_NAMES[e.glyph]];
      if (e.sparsity) parts.push(e.sparsity);
      if (e.bytes !== undefined && e.glyph !== 'data') parts.push(`${fmtBytes(e.bytes)} stored`);
      if (e.count > 1) parts.push(`${e.count} graph edges`);
      tip.append(h('div', { class: 'detail' }, parts.join(' · ')));
    } else if (t.node) {
      const n = t.node;
      tip.append(h('div', { class: 'math' }, n.name ?? n.label));
      const shape = n.shape.length ? `[${n.shape.join(', ')}]` : 'scalar';
      const what =
        n.role === 'group'
          ? `${n.members?.length ?? 0} vertices (double-click to expand)`
          : `${n.op} · ${shape} · ${n.role}${n.vertex !== undefined ? ` · %${n.vertex}` : ''}`;
      tip.append(h('div', { class: 'detail' }, what));
      if (n.value) tip.append(h('div', { class: 'detail' }, n.value));
      tip.append(h('div', { class: 'detail' }, `line ${n.range.start.line + 1}:${n.range.start.character + 1}${n.eliminable ? ' · eliminable' : ''}`));
    }
    tip.hidden = false;
    const w = tip.offsetWidth;
    tip.style.left = `${Math.min(x + 14, window.innerWidth - w - 8)}px`;
    tip.style.top = `${Math.min(y + 16, window.innerHeight - tip.offsetHeight - 8)}px`;
  }

  private click(n: NodeView | undefined, pane: Pane): void {
    if (pane.viewport.dragged) return;
    this.selected = new Set(n ? [n.id] : []);
    this.draw();
    if (!n) return;
    this.host.post({ type: 'reveal', range: n.range });
    if (this.host.standalone) this.flash(`${n.name ?? n.label}: line ${n.range.start.line + 1}, column ${n.range.start.character + 1} of the source`);
  }

  private dblclick(t: { node?: NodeView; group?: string }): void {
    const vm = this.vm;
    if (!vm) return;
    const r = vm.request;
    if (t.node?.role === 'group' && t.node.group) {
      const key = t.node.group;
      this.request({ expand: [...(r.expand ?? []).filter((k) => k !== key), key], collapseGroups: (r.collapseGroups ?? []).filter((k) => k !== key) });
    } else if (t.group) {
      const key = t.group;
      this.request({ collapseGroups: [...(r.collapseGroups ?? []).filter((k) => k !== key), key], expand: (r.expand ?? []).filter((k) => k !== key) });
    }
  }

  /** Ask the host for another view of the same item. */
  private request(change: Partial<GraphViewRequest>): void {
    const vm = this.vm;
    if (!vm) return;
    const base: GraphViewRequest =
      change.collapse !== undefined
        ? { item: vm.request.item, ...(vm.request.view ? { view: vm.request.view } : {}), ...(vm.request.steps ? { steps: vm.request.steps } : {}) }
        : vm.request;
    const request: GraphViewRequest = { ...base, ...change };
    this.host.post({ type: 'requestView', request });
  }

  private requestUnrolled(): void {
    const vm = this.vm;
    if (!vm) return;
    const unrolled = this.viewSelect.value === 'unrolled';
    const steps = Math.max(1, Math.min(50, Math.round(Number(this.stepsField.value) || 3)));
    this.state = { ...this.state, unrollSteps: steps };
    this.host.post({ type: 'requestView', request: unrolled ? { item: vm.request.item, view: 'unrolled', steps } : { item: vm.request.item } });
  }

  private selectFromEditor(position: { line: number; character: number } | undefined, vertices: readonly number[] | undefined, reveal: boolean): void {
    const vm = this.vm;
    if (!vm) return;
    let hits: NodeView[];
    if (vertices) {
      const want = new Set(vertices);
      hits = vm.nodes.filter((n) => (n.vertex !== undefined && want.has(n.vertex)) || n.members?.some((v) => want.has(v)));
    } else if (position) {
      const inside = vm.nodes.filter((n) => n.role !== 'group' && before(n.range.start, position) && before(position, n.range.end));
      const size = (n: NodeView): number => (n.range.end.line - n.range.start.line) * 100000 + (n.range.end.character - n.range.start.character);
      const min = Math.min(...inside.map(size));
      hits = inside.filter((n) => size(n) === min);
      if (hits.length === 0) hits = vm.nodes.filter((n) => n.role === 'group' && before(n.range.start, position) && before(position, n.range.end));
    } else hits = [];
    this.selected = new Set(hits.map((n) => n.id));
    this.draw();
    const first = hits[0];
    const p = this.panes[0];
    if (first && p && (reveal || !p.viewport.visible(first))) p.viewport.centerOn(first, Math.min(1, p.viewport.t.k * 1.5));
  }

  // ---------------------------------------------------------------- search

  private search(q: string, jump = true): void {
    const vm = this.vm;
    const query = q.trim().toLowerCase();
    if (!vm || !query) {
      this.matches = [];
      this.matchIndex = -1;
      this.searchCount.textContent = '';
      this.draw();
      return;
    }
    const idMatch = /^%?(\d+)$/.exec(query);
    this.matches = vm.nodes.filter((n) => {
      if (idMatch && (n.vertex === Number(idMatch[1]) || n.members?.includes(Number(idMatch[1])))) return true;
      return [n.label, n.name ?? '', n.op].some((t) => t.toLowerCase().includes(query));
    });
    this.matchIndex = -1;
    this.searchCount.textContent = this.matches.length ? `${this.matches.length} found` : 'no match';
    this.draw();
    if (jump && this.matches.length) this.nextMatch(1);
  }

  private nextMatch(dir: number): void {
    if (this.matches.length === 0) return;
    this.matchIndex = (this.matchIndex + dir + this.matches.length) % this.matches.length;
    const n = this.matches[this.matchIndex]!;
    this.searchCount.textContent = `${this.matchIndex + 1} of ${this.matches.length}`;
    this.selected = new Set([n.id]);
    this.draw();
    this.panes[0]?.viewport.centerOn(n, 1);
  }

  // ---------------------------------------------------------------- stepper

  private renderStepper(): void {
    const body = this.stepBody;
    body.replaceChildren();
    const orders = this.orders();
    if (!this.vm || orders.length === 0) {
      body.append(h('div', { class: 'muted' }, this.vm?.notes.find((n) => /stepper|engine/i.test(n)) ?? 'No elimination orders for this view.'));
      return;
    }
    const select = (which: 'a' | 'b'): HTMLElement => {
      const el = h('vscode-single-select', { id: `order-${which}`, title: which === 'a' ? 'Elimination order' : 'Order to compare with' }) as HTMLElement & {
        value: string;
      };
      for (const o of orders) el.append(h('vscode-option', { value: o.id }, `${o.label} (${fmtInt(o.totals.multiplications)})`));
      el.value = (which === 'a' ? this.state.orderA : this.state.orderB) ?? orders[0]!.id;
      el.addEventListener('change', () => {
        this.state = which === 'a' ? { ...this.state, orderA: el.value } : { ...this.state, orderB: el.value };
        this.draw();
        this.renderChart();
        this.save();
      });
      return el;
    };
    const compare = h('vscode-checkbox', { id: 'compare', label: 'Compare with', ...(this.state.compare ? { checked: true } : {}) }) as HTMLElement & {
      checked: boolean;
    };
    compare.addEventListener('change', () => {
      this.state = { ...this.state, compare: compare.checked };
      // The panes change size (one becomes two): fit again, or half of the graph is out of view.
      this.rebuildPanes(true);
      this.renderChart();
      this.save();
    });
    const max = this.orderTrace('a')?.steps.length ?? 0;
    const slider = h('input', { type: 'range', min: '0', max: String(max), value: String(this.step), id: 'step-slider', 'aria-label': 'Elimination step' });
    slider.addEventListener('input', () => this.goto(Number(slider.value)));
    const controls = h(
      'div',
      { class: 'stepper-controls' },
      select('a'),
      compare,
      select('b'),
      toolbarButton('debug-restart', 'Back to the start (Home)', () => this.goto(0), 'step-reset'),
      toolbarButton('debug-step-back', 'Step back (←)', () => this.goto(this.step - 1), 'step-back'),
      toolbarButton('play', 'Play / pause (Space)', () => this.togglePlay(), 'step-play'),
      toolbarButton('debug-step-over', 'Step (→)', () => this.goto(this.step + 1), 'step-next'),
      toolbarButton('chevron-right', 'To the end (End)', () => this.goto(Number.MAX_SAFE_INTEGER), 'step-end'),
      slider,
      h('span', { class: 'step-text', id: 'step-text' }),
    );
    const counters = h('div', { class: 'counters', id: 'counters' });
    const charts = h('div', { class: 'chart', id: 'cost-chart' });
    body.append(
      controls,
      h('div', { class: 'stepper-body' }, counters, charts),
      h('div', { class: 'source-note' }, `Counts: ${this.vm.elimination?.source ?? 'the elimination engine'}.`),
    );
    this.updateCounters();
    this.renderChart();
  }

  private counterEl(which: 'a' | 'b', trace: OrderTrace, c: Counter): HTMLElement {
    const key = h('span', { class: `key ${which === 'a' ? 's0' : 's1'}` });
    return h(
      'div',
      { class: 'counter', 'data-pane': which, 'data-order': trace.id },
      key,
      h('span', { class: 'name' }, trace.label),
      h(
        'span',
        { class: 'nums' },
        h('b', { class: 'mults', 'data-value': c.multiplications }, fmtInt(c.multiplications)),
        ' multiplications · ',
        h('b', { class: 'mem', 'data-value': c.memoryBytes }, fmtBytes(c.memoryBytes)),
        ' live',
      ),
      h(
        'span',
        { class: 'detail' },
        `this step ${fmtInt(c.stepMultiplications)} · additions ${fmtInt(c.additions)} · peak ${fmtBytes(c.peakMemoryBytes)} · total ${fmtInt(c.totalMultiplications)}`,
      ),
    );
  }

  private updateCounters(): void {
    const stepper = this.stepper;
    const box = this.stepBody.querySelector('#counters');
    const text = this.stepBody.querySelector<HTMLElement>('#step-text');
    const slider = this.stepBody.querySelector<HTMLInputElement>('#step-slider');
    if (!stepper || !box) return;
    const a = this.orderTrace('a');
    if (!a) return;
    const which: ('a' | 'b')[] = this.state.compare ? ['a', 'b'] : ['a'];
    box.replaceChildren(
      ...which.flatMap((w) => {
        const t = this.orderTrace(w);
        return t ? [this.counterEl(w, t, stepper.counterAt(t, this.step))] : [];
      }),
    );
    const c = stepper.counterAt(a, this.step);
    if (slider) {
      slider.max = String(a.steps.length);
      slider.value = String(this.step);
    }
    if (text) {
      const v = c.vertex !== undefined ? this.vm?.nodes.find((n) => n.vertex === c.vertex || n.members?.includes(c.vertex!)) : undefined;
      text.textContent = `Step ${c.step} / ${c.steps}${v ? ` · eliminated ${v.vertex !== undefined ? v.label : `a vertex of ${v.label}`}` : ''}`;
      // The engine's vertex id stays out of the text (readers see labels) but on the element, for tools and tests.
      if (c.vertex !== undefined) text.dataset.vertex = String(c.vertex);
      else delete text.dataset.vertex;
    }
    const cursor = this.stepBody.querySelectorAll<SVGLineElement>('#cost-chart line.cursor');
    if (cursor.length) this.renderChart();
  }

  private renderChart(): void {
    const box = this.stepBody.querySelector('#cost-chart');
    if (!box) return;
    const which: ('a' | 'b')[] = this.state.compare ? ['a', 'b'] : ['a'];
    const mults: Series[] = [];
    const mem: Series[] = [];
    which.forEach((w, i) => {
      const t = this.orderTrace(w);
      if (!t) return;
      mults.push({
        label: t.label,
        cls: `s${i}`,
        points: [[0, 0], ...t.steps.map((st, k) => [k + 1, st.cumulativeMultiplications] as const)],
        ...(i ? { dashed: true } : {}),
      });
      mem.push({
        label: t.label,
        cls: `s${i}`,
        points: [[0, t.initialMemoryBytes], ...t.steps.map((st, k) => [k + 1, st.memoryBytes] as const)],
        ...(i ? { dashed: true } : {}),
      });
    });
    box.replaceChildren(
      lineChart({ title: 'Multiplications (cumulative)', series: mults, cursor: this.step, xLabel: 'step' }),
      lineChart({ title: 'Live Jacobian memory', series: mem, cursor: this.step, xLabel: 'step', yFormat: fmtBytes }),
    );
  }

  private goto(k: number): void {
    const a = this.orderTrace('a');
    if (!a) return;
    this.step = Math.max(0, Math.min(k, a.steps.length));
    this.state = { ...this.state, step: this.step };
    if (this.step >= a.steps.length) this.stopPlay();
    this.draw();
    this.save();
  }

  private togglePlay(): void {
    if (this.playing) return this.stopPlay();
    const a = this.orderTrace('a');
    if (!a) return;
    if (this.step >= a.steps.length) this.goto(0);
    this.playing = setInterval(() => this.goto(this.step + 1), PLAY_MS);
    this.stepBody.querySelector('#step-play')?.replaceChildren(icon('debug-pause'));
  }

  private stopPlay(): void {
    if (this.playing) clearInterval(this.playing);
    this.playing = undefined;
    this.stepBody.querySelector('#step-play')?.replaceChildren(icon('play'));
  }

  // ---------------------------------------------------------------- rules, notes, training

  private renderRules(): void {
    const body = this.rulesBody;
    const keep = body.querySelector('#candidates');
    body.replaceChildren();
    const rules = this.vm?.rules ?? [];
    if (rules.length === 0) {
      body.append(
        h(
          'div',
          { class: 'muted' },
          this.vm?.kind === 'model-step'
            ? 'No rule for this model yet. Write one (rule NAME for MODEL { approximate d(u[t+1])/d(z) = 0 … }) or run Find Learning Rule.'
            : 'Rules belong to models: open the one-step view of a model.',
        ),
      );
    } else {
      const list = h('div', { class: 'rules-list' });
      const row = (r: RuleView | undefined): HTMLElement => {
        const on = (r?.name ?? undefined) === this.state.rule;
        const el = h(
          'div',
          { class: 'rule-block', 'data-rule': r?.name ?? '' },
          h('vscode-checkbox', {
            ...(on ? { checked: true } : {}),
            label: r ? `rule ${r.name}${r.schedule ? ` · schedule ${r.schedule}` : ''}` : 'no rule (exact Jacobians)',
          }),
        );
        el.addEventListener('click', (e) => {
          e.preventDefault();
          this.state = { ...this.state, rule: r?.name };
          this.renderRules();
          this.draw();
          this.save();
        });
        return el;
      };
      list.append(row(undefined));
      for (const r of rules) {
        list.append(row(r));
        if (r.name !== this.state.rule) continue;
        for (const b of r.blocks) {
          const el = h(
            'div',
            { class: 'rule-block' },
            h('span', { class: `badge ${b.kind}` }, b.kind === 'zero' ? 'dropped' : b.kind),
            h('code', {}, b.text),
            h('span', { class: 'muted' }, b.pairs.length ? `${b.pairs.length} edge${b.pairs.length > 1 ? 's' : ''}` : 'no edge in this view'),
          );
          el.style.marginLeft = '24px';
          el.addEventListener('click', () => this.host.post({ type: 'reveal', range: b.range }));
          list.append(el);
        }
      }
      body.append(list);
    }
    if (keep) body.append(keep);
  }

  private renderCandidates(front: readonly RuleCandidate[], status: string, message: string | undefined, job?: Readonly<Record<string, unknown>>): void {
    this.rulesBody.querySelector('#candidates')?.remove();
    const box = h('div', { id: 'candidates' }, h('h4', {}, `Learning rules found (${status})${message ? ` — ${message}` : ''}`));
    const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
    const pct = (v: number | undefined): string => (v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);
    const byAccuracy = front.some((c) => num(c.accuracy) !== undefined);
    const task = str(job?.task);
    const basis = byAccuracy ? `test accuracy on ${task ?? 'the task'}` : (str(job?.frontWhy) ?? 'alignment with BPTT (nothing was trained)');
    box.append(
      h(
        'div',
        { class: 'muted', id: 'front-basis' },
        `Front: cost against ${basis}.${num(job?.trained) !== undefined ? ` ${num(job?.trained)} rules trained of ${num(job?.evaluated) ?? '?'} evaluated (${str(job?.method) ?? ''}).` : ''}`,
      ),
    );
    for (const n of Array.isArray(job?.notes) ? (job.notes as unknown[]) : []) if (typeof n === 'string') box.append(h('div', { class: 'note' }, n));
    const label = (c: RuleCandidate): string =>
      str(c.known) ?? (c.creditKind === 'readout-only' ? 'readout only' : c.creditKind === 'none' ? 'updates nothing' : c.name);
    box.append(
      scatterPlot({
        points: front.map((c) => ({
          id: c.name,
          label: label(c),
          x: num(c.multiplications) ?? 0,
          y: (byAccuracy ? num(c.accuracy) : num(c.alignment)) ?? NaN,
          ...(typeof c.fits === 'boolean' ? { fits: c.fits } : {}),
          title: `${c.name}: ${fmtInt(num(c.multiplications) ?? 0)} multiplications per step, ${byAccuracy ? `test accuracy ${pct(num(c.accuracy))}` : `alignment ${(num(c.alignment) ?? 0).toFixed(3)}`}`,
        })),
        xLabel: 'multiplications per step',
        yLabel: byAccuracy ? 'test accuracy' : 'alignment with BPTT',
        yPercent: byAccuracy,
      }),
    );
    const table = h(
      'table',
      { class: 'candidates' },
      h(
        'tr',
        {},
        ...['rule', 'updates', 'multiplications', 'memory', 'test acc', 'train acc', 'trained', 'alignment (0 / end / mean)', 'hardware', ''].map((t) =>
          h('th', {}, t),
        ),
      ),
    );
    for (const c of front) {
      const insert = h('vscode-button', { secondary: true }, 'Insert');
      insert.addEventListener('click', () => this.host.post({ type: 'insertRule', candidate: c }));
      const along = c.alignmentOnTask as { initial?: number; trained?: number; mean?: number } | undefined;
      const reasons = Array.isArray(c.reasons) ? (c.reasons as unknown[]).filter((x): x is string => typeof x === 'string') : [];
      const warnings = Array.isArray(c.warnings) ? (c.warnings as unknown[]).filter((x): x is string => typeof x === 'string') : [];
      const params = Array.isArray(c.updatedParams) ? (c.updatedParams as unknown[]).join(', ') : '—';
      table.append(
        h(
          'tr',
          { 'data-rule': c.name, ...(c.creditKind === 'readout-only' || c.creditKind === 'none' ? { class: 'flagged' } : {}) },
          h('td', { title: c.text }, label(c) === c.name ? c.name : `${label(c)} (${c.name})`),
          h('td', { title: [str(c.credit) ?? '', ...warnings].join('\n') }, params || 'nothing'),
          h('td', {}, num(c.multiplications) !== undefined ? fmtInt(num(c.multiplications)!) : '—'),
          h('td', {}, num(c.memoryBytes) !== undefined ? fmtBytes(num(c.memoryBytes)!) : '—'),
          h('td', { class: 'acc' }, pct(num(c.accuracy))),
          h('td', {}, pct(num(c.trainAccuracy))),
          h('td', { title: str(c.why) ?? '' }, num(c.updates) !== undefined ? `${num(c.updates)} updates` : str(c.why) ? 'not trained' : '—'),
          h(
            'td',
            {},
            along
              ? `${(along.initial ?? 0).toFixed(2)} / ${(along.trained ?? 0).toFixed(2)} / ${(along.mean ?? 0).toFixed(2)}`
              : num(c.alignment) !== undefined
                ? num(c.alignment)!.toFixed(3)
                : '—',
          ),
          h('td', { title: reasons.join('\n') }, c.fits === undefined ? '—' : c.fits ? 'fits' : 'does not fit'),
          h('td', {}, insert),
        ),
      );
    }
    box.append(table);
    this.rulesBody.append(box);
    this.tabs.setAttribute('selected-index', '1');
  }

  private renderNotes(): void {
    const vm = this.vm;
    this.notesBody.replaceChildren();
    if (!vm) return;
    const list = h('div', { class: 'notes-list' });
    for (const n of vm.notes) list.append(h('div', {}, n));
    list.append(
      h(
        'div',
        { class: 'muted' },
        `Layout ${fmtInt(vm.layoutMs)} ms · graph ${vm.hash} · ${vm.nodes.length} nodes, ${vm.edges.length} edges drawn · ${this.panes[0]?.renderer.stats().kind ?? ''} renderer`,
      ),
    );
    list.append(h('div', { class: 'muted' }, 'Keys: ← → step, Space play, + − zoom, 0 fit, / find, Esc clear.'));
    this.notesBody.append(list);
  }

  private progress(p: JobProgress): void {
    if (!p.point || !/train/i.test(p.kind)) {
      if (p.message) this.flash(p.message);
      return;
    }
    const run = this.training.get('run') ?? { label: p.item ?? 'training', points: [] };
    run.points.push({ x: p.point.x, y: { ...p.point.y } });
    for (const k of Object.keys(p.point.y)) this.trainingMetrics.add(k);
    this.training.set('run', run);
    this.renderTraining();
  }

  private renderTraining(): void {
    const body = this.trainBody;
    body.replaceChildren();
    const runs = [...this.training.values()];
    if (runs.length === 0) {
      body.append(h('div', { class: 'muted' }, 'No training run yet. Eligo: Train streams loss, accuracy and alignment here as it runs.'));
      return;
    }
    for (const r of runs) body.append(h('div', { class: 'muted' }, `${r.label}: ${r.points.length} points${r.result ? ` · ${r.result}` : ''}`));
    const row = h('div', { class: 'charts-row' });
    const order = ['loss', 'accuracy', 'alignment', ...[...this.trainingMetrics].filter((m) => !['loss', 'accuracy', 'alignment'].includes(m))];
    for (const metric of order) {
      if (!this.trainingMetrics.has(metric)) continue;
      const series: Series[] = runs.map((r, i) => ({
        label: r.label,
        cls: `s${i % 5}`,
        points: r.points.filter((p) => p.y[metric] !== undefined).map((p) => [p.x, p.y[metric]!] as const),
      }));
      row.append(h('div', { class: 'chart', 'data-metric': metric }, lineChart({ title: metric, series, xLabel: 'update' })));
    }
    body.append(row);
    for (const r of runs) if (r.activity) body.append(this.activityView(r.activity));
  }

  /** The spike rasters, a few neurons' traces and the prediction of one test sequence after training. */
  private activityView(a: TrainActivity): HTMLElement {
    const box = h('div', { class: 'activity', id: 'activity' });
    box.append(h('h3', {}, `Test sequence ${a.sample} after training (${a.steps} steps${a.label !== undefined ? `, label ${a.label}` : ''})`));
    const rasters = h('div', { class: 'charts-row' });
    for (const r of a.rasters) {
      const shown = r.spikes.length < r.neurons ? ` (first ${r.spikes.length} of ${r.neurons})` : '';
      const count = r.spikes.reduce((n, t) => n + t.length, 0);
      rasters.append(
        h(
          'div',
          { class: 'chart', 'data-raster': r.name, 'data-spikes': String(count) },
          rasterChart({ title: `${r.name}: spikes${shown}`, steps: a.steps, spikes: r.spikes }),
        ),
      );
    }
    if (a.rasters.length === 0)
      rasters.append(h('div', { class: 'muted' }, 'No spiking population: no state of this model takes only the values 0 and 1 through a spike.'));
    box.append(rasters);
    const traces = h('div', { class: 'charts-row' });
    const byState = new Map<string, TrainActivity['traces'][number][]>();
    for (const t of a.traces) byState.set(t.state, [...(byState.get(t.state) ?? []), t]);
    for (const [state, list] of byState) {
      const series: Series[] = list.map((t, i) => ({ label: `${state}[${t.neuron}]`, cls: `s${i % 5}`, points: t.values.map((v, k) => [k + 1, v] as const) }));
      traces.append(
        h(
          'div',
          { class: 'chart', 'data-trace': state },
          lineChart({ title: `${state} of neurons ${list.map((t) => t.neuron).join(', ')}`, series, xLabel: 'step' }),
        ),
      );
    }
    if (a.prediction) {
      const series: Series[] = a.prediction.map((p, k) => ({ label: `output ${k}`, cls: `s${k % 5}`, points: p.map((v, t) => [t + 1, v] as const) }));
      traces.append(h('div', { class: 'chart', 'data-trace': 'prediction' }, lineChart({ title: 'prediction per output', series, xLabel: 'step' })));
    }
    box.append(traces);
    return box;
  }

  // ---------------------------------------------------------------- keys, state

  private key(e: KeyboardEvent): void {
    const t = e.target as HTMLElement;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'VSCODE-TEXTFIELD' || t.isContentEditable)) return;
    switch (e.key) {
      case 'ArrowRight':
        this.goto(this.step + 1);
        break;
      case 'ArrowLeft':
        this.goto(this.step - 1);
        break;
      case 'Home':
        this.goto(0);
        break;
      case 'End':
        this.goto(Number.MAX_SAFE_INTEGER);
        break;
      case ' ':
        this.togglePlay();
        break;
      case '+':
      case '=':
        this.zoom(1.25);
        break;
      case '-':
        this.zoom(1 / 1.25);
        break;
      case '0':
        this.fit();
        break;
      case '/':
        this.searchField.focus();
        break;
      case 'Escape':
        this.selected.clear();
        this.draw();
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  private save(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.host.setState(this.state), 150);
  }

  /** Read-only view of what is on screen (for tests and debugging). */
  snapshot(): {
    key?: string;
    step: number;
    transform?: Transform;
    renderer: ReturnType<Renderer['stats']>[];
    counters: { order: string; multiplications: number; memoryBytes: number }[];
  } {
    const counters = [...this.stepBody.querySelectorAll<HTMLElement>('.counter')].map((c) => ({
      order: c.dataset.order ?? '',
      multiplications: Number(c.querySelector<HTMLElement>('.mults')?.dataset.value),
      memoryBytes: Number(c.querySelector<HTMLElement>('.mem')?.dataset.value),
    }));
    return {
      ...(this.vm ? { key: this.vm.key } : {}),
      step: this.step,
      ...(this.panes[0] ? { transform: this.panes[0].viewport.t } : {}),
      renderer: this.panes.map((p) => p.renderer.stats()),
      counters,
    };
  }
}
