// The find-rule front as a scatter plot: multiplications per step (log
// scale) against test accuracy — or alignment with BPTT when nothing was
// trained — one point per rule, filled when it fits the hardware profile,
// hollow when it does not; each point's title names the rule and its
// figures. Values are plotted as the host sent them.

import { fmtShort, s } from './dom.js';

export interface ScatterPoint {
  readonly id: string;
  readonly label: string;
  readonly x: number;
  readonly y: number;
  /** true / false under a profile; undefined without one. */
  readonly fits?: boolean;
  readonly title: string;
}

export function scatterPlot(o: {
  readonly points: readonly ScatterPoint[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly yPercent: boolean;
  readonly width?: number;
  readonly height?: number;
}): SVGSVGElement {
  const W = o.width ?? 420;
  const H = o.height ?? 240;
  const m = { l: 48, r: 12, t: 10, b: 36 };
  const svg = s('svg', { class: 'scatter', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${o.yLabel} against ${o.xLabel}` });
  const pts = o.points.filter((p) => p.x > 0 && Number.isFinite(p.y));
  const lx = pts.map((p) => Math.log10(p.x));
  let x0 = Math.floor(Math.min(...lx, 1));
  let x1 = Math.ceil(Math.max(...lx, x0 + 1));
  if (x1 <= x0) x1 = x0 + 1;
  const ys = pts.map((p) => p.y);
  let y0 = o.yPercent ? Math.max(0, Math.floor(Math.min(...ys, 1) * 10) / 10) : Math.min(0, ...ys);
  let y1 = o.yPercent ? Math.min(1, Math.ceil(Math.max(...ys, 0) * 10) / 10) : Math.max(1, ...ys);
  if (y1 <= y0) {
    y0 = Math.max(0, y0 - 0.1);
    y1 = y0 + 0.2;
  }
  if (!pts.length) {
    x0 = 0;
    x1 = 1;
  }
  const X = (v: number): number => m.l + ((Math.log10(v) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (v: number): number => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  svg.append(s('rect', { class: 'frame', x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, fill: 'none' }));
  for (let e = x0; e <= x1; e++) {
    const x = X(10 ** e);
    svg.append(
      s('line', { class: 'grid', x1: x, x2: x, y1: m.t, y2: H - m.b }),
      s('text', { class: 'tick', x, y: H - m.b + 14, 'text-anchor': 'middle' }, fmtShort(10 ** e)),
    );
  }
  for (let k = 0; k <= 4; k++) {
    const v = y0 + ((y1 - y0) * k) / 4;
    const y = Y(v);
    svg.append(
      s('line', { class: 'grid', x1: m.l, x2: W - m.r, y1: y, y2: y }),
      s('text', { class: 'tick', x: m.l - 4, y: y + 4, 'text-anchor': 'end' }, o.yPercent ? `${Math.round(v * 100)}%` : v.toFixed(2)),
    );
  }
  svg.append(s('text', { class: 'axis', x: (m.l + W - m.r) / 2, y: H - 4, 'text-anchor': 'middle' }, o.xLabel));
  svg.append(
    s('text', { class: 'axis', x: 12, y: (m.t + H - m.b) / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})` }, o.yLabel),
  );
  for (const p of pts) {
    const c = s('circle', { class: `point${p.fits === false ? ' unfit' : ''}`, cx: X(p.x), cy: Y(p.y), r: 4.5, 'data-id': p.id, 'data-x': p.x, 'data-y': p.y });
    c.append(s('title', {}, p.title));
    svg.append(c, s('text', { class: 'plabel', x: X(p.x) + 6, y: Y(p.y) - 6 }, p.label));
  }
  return svg;
}
