// How a figure is written — one place, so the hover, the lens, the
// diagnostics and the docs agree. Pure (no LSP): used in the worker too.

import type { Shape } from '../graph/types.js';

export function fmtShape(s: Shape): string {
  return s.length === 0 ? 'scalar' : `[${s.join(', ')}]`;
}

/** Integers with thousands separators; others to 4 significant digits. */
export function fmtNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return x.toLocaleString('en-US');
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(3);
  return String(Number(x.toPrecision(4)));
}

/** A count for a lens: 620, 12.4k, 3.1M. */
export function fmtCount(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a < 10_000) return String(Math.round(x));
  if (a < 1e6) return `${(x / 1e3).toFixed(a < 1e5 ? 1 : 0)}k`;
  if (a < 1e9) return `${(x / 1e6).toFixed(a < 1e8 ? 1 : 0)}M`;
  return `${(x / 1e9).toFixed(1)}G`;
}

/** Bytes as the checker and the CLI write them (12 KiB, 1.5 MiB). */
export { formatBytes as fmtBytes } from '../lang/check.js';
