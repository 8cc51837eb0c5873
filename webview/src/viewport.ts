// Pan and zoom: a transform (translate x, y; scale k) from graph coordinates
// to the pane's pixels. Drag to pan, wheel to zoom about the pointer, fit to
// show everything. A gesture that moved is a pan, not a click.

import type { Box } from '../../language-server/src/layout/viewmodel.js';

export interface Transform {
  readonly x: number;
  readonly y: number;
  readonly k: number;
}

const MIN_K = 0.02;
const MAX_K = 4;

/**
 * The smallest zoom that fits and the first view use: node labels (12 px)
 * stay at 8.4 px and edge labels (10 px) at 7 px on screen. Below it a fit
 * showed text of about 3 px: a picture of a graph, not one to read.
 */
export const READABLE_K = 0.7;

export class Viewport {
  t: Transform = { x: 0, y: 0, k: 1 };
  /** True when the last pointer gesture moved (so it was a pan, not a click). */
  dragged = false;
  private start: { x: number; y: number; tx: number; ty: number; id: number } | undefined;

  constructor(
    private readonly surface: HTMLElement | SVGElement,
    private readonly onChange: (t: Transform) => void,
  ) {
    surface.addEventListener('wheel', (e) => this.wheel(e as WheelEvent), { passive: false });
    surface.addEventListener('pointerdown', (e) => this.down(e as PointerEvent));
    surface.addEventListener('pointermove', (e) => this.move(e as PointerEvent));
    surface.addEventListener('pointerup', (e) => this.up(e as PointerEvent));
    surface.addEventListener('pointercancel', (e) => this.up(e as PointerEvent));
  }

  size(): { w: number; h: number } {
    const r = this.surface.getBoundingClientRect();
    return { w: r.width || 800, h: r.height || 600 };
  }

  set(t: Transform): void {
    const k = Math.min(MAX_K, Math.max(MIN_K, t.k));
    this.t = { x: t.x, y: t.y, k };
    this.onChange(this.t);
  }

  /**
   * Show `b` whole, centred, never enlarged beyond `maxK` nor shrunk below
   * `minK` (readable text). Returns false when `b` does not fit at `minK`: it
   * is then shown from its start (the inputs, on the left), centred where it fits.
   */
  fit(b: Box, maxK = 1.5, pad = 24, minK = READABLE_K): boolean {
    const { w, h } = this.size();
    const whole = Math.min(maxK, (w - 2 * pad) / Math.max(1, b.w), (h - 2 * pad) / Math.max(1, b.h));
    const k = Math.max(whole, Math.min(minK, maxK));
    const fitsX = b.w * k <= w - 2 * pad + 0.5;
    const fitsY = b.h * k <= h - 2 * pad + 0.5;
    this.set({
      k,
      x: fitsX ? (w - b.w * k) / 2 - b.x * k : pad - b.x * k,
      y: fitsY ? (h - b.h * k) / 2 - b.y * k : pad - b.y * k,
    });
    return fitsX && fitsY;
  }

  /** Centre `b`, zooming in to at least `minK`. */
  centerOn(b: Box, minK = 1): void {
    const { w, h } = this.size();
    const k = Math.max(this.t.k, minK);
    this.set({ k, x: w / 2 - (b.x + b.w / 2) * k, y: h / 2 - (b.y + b.h / 2) * k });
  }

  /** True when `b` lies inside the pane. */
  visible(b: Box): boolean {
    const { w, h } = this.size();
    const { x, y, k } = this.t;
    return b.x * k + x >= 0 && b.y * k + y >= 0 && (b.x + b.w) * k + x <= w && (b.y + b.h) * k + y <= h;
  }

  zoomAt(factor: number, cx?: number, cy?: number): void {
    const { w, h } = this.size();
    const px = cx ?? w / 2;
    const py = cy ?? h / 2;
    const k = Math.min(MAX_K, Math.max(MIN_K, this.t.k * factor));
    const f = k / this.t.k;
    this.set({ k, x: px - (px - this.t.x) * f, y: py - (py - this.t.y) * f });
  }

  /** Graph coordinates of a client point. */
  toGraph(clientX: number, clientY: number): { x: number; y: number } {
    const r = this.surface.getBoundingClientRect();
    return { x: (clientX - r.left - this.t.x) / this.t.k, y: (clientY - r.top - this.t.y) / this.t.k };
  }

  private wheel(e: WheelEvent): void {
    e.preventDefault();
    const r = this.surface.getBoundingClientRect();
    const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    this.zoomAt(Math.exp(-delta * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }

  private down(e: PointerEvent): void {
    if (e.button !== 0) return;
    this.start = { x: e.clientX, y: e.clientY, tx: this.t.x, ty: this.t.y, id: e.pointerId };
    this.dragged = false;
  }

  private move(e: PointerEvent): void {
    const s = this.start;
    if (!s || s.id !== e.pointerId) return;
    const dx = e.clientX - s.x;
    const dy = e.clientY - s.y;
    if (!this.dragged && Math.hypot(dx, dy) < 4) return;
    if (!this.dragged) {
      this.dragged = true;
      this.surface.classList.add('panning');
      try {
        this.surface.setPointerCapture(e.pointerId);
      } catch {
        // capture is a nicety
      }
    }
    this.set({ k: this.t.k, x: s.tx + dx, y: s.ty + dy });
  }

  private up(e: PointerEvent): void {
    if (!this.start || this.start.id !== e.pointerId) return;
    this.start = undefined;
    this.surface.classList.remove('panning');
  }
}
