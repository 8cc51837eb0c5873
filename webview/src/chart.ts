// Small SVG line charts: cost over elimination steps (two orders side by
// side), training curves. Values are plotted as given.

import { fmtShort, s } from './dom.js';

export interface Series {
  readonly label: string;
  /** Colour class s0…s4. */
  readonly cls: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly series: readonly Series[];
  /** An x position to mark (the current step). */
  readonly cursor?: number;
  readonly yFormat?: (y: number) => string;
  readonly xLabel?: string;
  readonly width?: number;
  readonly height?: number;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export interface RasterOptions {
  readonly title: string;
  /** Steps 1…T. */
  readonly steps: number;
  /** Per neuron (row), the steps at which it spiked. */
  readonly spikes: readonly (readonly number[])[];
  readonly width?: number;
}

/** A spike raster: one row per neuron, one tick per spike, time to the right. */
export function rasterChart(o: RasterOptions): SVGSVGElement {
  const W = o.width ?? 420;
  const rows = o.spikes.length;
  const row = rows > 40 ? 2 : rows > 20 ? 3 : 5;
  const L = 44;
  const R = 8;
  const T = 16;
  const B = 20;
  const H = T + B + Math.max(1, rows) * row;
  const sx = (t: number): number => L + ((t - 0.5) / Math.max(1, o.steps)) * (W - L - R);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'xMidYMid meet', role: 'img', 'aria-label': o.title, class: 'raster' });
  svg.append(s('text', { class: 'title', x: L, y: 11 }, o.title));
  svg.append(s('text', { x: L - 4, y: T + row, 'text-anchor': 'end' }, '0'));
  svg.append(s('text', { x: L - 4, y: T + rows * row, 'text-anchor': 'end' }, String(Math.max(0, rows - 1))));
  svg.append(s('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
  svg.append(s('text', { x: L, y: H - 6 }, '1'));
  svg.append(s('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, String(o.steps)));
  svg.append(s('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle' }, 'step'));
  const w = Math.max(1, ((W - L - R) / Math.max(1, o.steps)) * 0.8);
  o.spikes.forEach((times, i) => {
    for (const t of times)
      svg.append(
        s('rect', {
          class: 'spike',
          x: (sx(t) - w / 2).toFixed(1),
          y: T + i * row,
          width: w.toFixed(1),
          height: Math.max(1, row - 0.5),
          'data-neuron': i,
          'data-step': t,
        }),
      );
  });
  return svg;
}

export function lineChart(o: ChartOptions): SVGSVGElement {
  const W = o.width ?? 420;
  const H = o.height ?? 150;
  const L = 44;
  const R = 8;
  const T = 16;
  const B = 20;
  const all = o.series.flatMap((x) => x.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const x0 = xs.length ? Math.min(...xs) : 0;
  const x1 = xs.length ? Math.max(...xs, x0 + 1) : 1;
  const yMin = ys.length ? Math.min(0, ...ys) : 0;
  const yMax = niceMax(ys.length ? Math.max(...ys) : 1);
  const sx = (x: number): number => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number): number => T + (1 - (y - yMin) / (yMax - yMin || 1)) * (H - T - B);
  const fmt = o.yFormat ?? fmtShort;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'xMidYMid meet', role: 'img', 'aria-label': o.title });
  svg.append(s('text', { class: 'title', x: L, y: 11 }, o.title));
  for (let i = 0; i <= 4; i++) {
    const v = yMin + ((yMax - yMin) * i) / 4;
    svg.append(s('line', { class: 'grid', x1: L, x2: W - R, y1: sy(v), y2: sy(v) }));
    svg.append(s('text', { x: L - 4, y: sy(v) + 3, 'text-anchor': 'end' }, fmt(v)));
  }
  svg.append(s('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
  svg.append(s('text', { x: L, y: H - 6 }, fmtShort(x0)));
  svg.append(s('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, fmtShort(x1)));
  if (o.xLabel) svg.append(s('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle' }, o.xLabel));
  for (const se of o.series) {
    if (se.points.length === 0) continue;
    const d = se.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)} ${sy(p[1]).toFixed(1)}`).join('');
    svg.append(s('path', { class: `series ${se.cls}`, d, ...(se.dashed ? { 'stroke-dasharray': '5 3' } : {}) }, s('title', {}, se.label)));
  }
  if (o.cursor !== undefined && xs.length) svg.append(s('line', { class: 'cursor', x1: sx(o.cursor), x2: sx(o.cursor), y1: T, y2: H - B }));
  return svg;
}
