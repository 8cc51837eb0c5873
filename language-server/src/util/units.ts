// Durations and sizes as users write them, and numbers and byte counts as
// Eligo prints them: one parser and one formatter for every front door (CLI
// flags, rule items' `limit memory 128 KiB`, job budgets, hovers, tables), so
// `--budget 1.5h` means the same to every command and one figure is printed
// the same way everywhere.

import { EligoError } from './errors.js';

/** A duration or size that cannot be read; the message says what was expected. */
export class UnitError extends EligoError {
  constructor(code: 'input.duration' | 'input.size', message: string) {
    super(code, message);
  }
}

const NUMBER = '([0-9]*\\.?[0-9]+(?:e[+-]?[0-9]+)?)';

/** Milliseconds per unit; a bare number is seconds. */
const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
};

/**
 * `60s`, `500ms`, `2m`, `1.5h`, `1h30m`, or a plain number of seconds → milliseconds.
 * Never negative; whether 0 or a long time is acceptable is the caller's check.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const t = text.trim().toLowerCase();
  if (/^-/.test(t)) throw new UnitError('input.duration', `${what} '${text}' is negative; give a time such as 60s, 2m or 1.5h`);
  const plain = new RegExp(`^${NUMBER}$`).exec(t);
  let ms: number | undefined;
  if (plain) {
    ms = Number(plain[1]) * 1000;
  } else if (new RegExp(`^(?:${NUMBER}\\s*[a-z]+\\s*)+$`).test(t)) {
    ms = 0;
    for (const m of t.matchAll(new RegExp(`${NUMBER}\\s*([a-z]+)`, 'g'))) {
      const scale = DURATION_UNITS[m[2]!];
      if (scale === undefined) {
        ms = undefined;
        break;
      }
      ms += Number(m[1]) * scale;
    }
  }
  if (ms === undefined || !Number.isFinite(ms))
    throw new UnitError('input.duration', `cannot read ${what} '${text}': write a time such as 60s, 500ms, 2m, 1.5h or 1h30m (a plain number is seconds)`);
  return ms;
}

/** Bytes per unit, as written (B, KB, KiB, … as in the rule language); lookups ignore case. */
export const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  KiB: 1024,
  MB: 1e6,
  MiB: 1024 ** 2,
  GB: 1e9,
  GiB: 1024 ** 3,
  TB: 1e12,
  TiB: 1024 ** 4,
};
/** Single letters are binary, as `--max-old-space-size` habits suggest (1G = 1 GiB). */
const SIZE_ALIASES: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const SIZE_LOWER = new Map(Object.entries({ ...SIZE_UNITS, ...SIZE_ALIASES }).map(([k, v]) => [k.toLowerCase(), v]));

/** Bytes in one `unit` (B, KiB, MB, … in any case), or undefined for an unknown unit. */
export function sizeUnit(unit: string): number | undefined {
  return SIZE_LOWER.get(unit.toLowerCase());
}

/** `128KiB`, `128 KiB`, `1.5MB`, `2G`, `4096` (bytes) → bytes. */
export function parseSize(text: string, what = 'size'): number {
  const m = new RegExp(`^\\s*${NUMBER}\\s*([a-z]*)\\s*$`, 'i').exec(text);
  const unit = m ? (m[2] === '' ? 1 : sizeUnit(m[2]!)) : undefined;
  if (!m || unit === undefined) {
    if (/^\s*-/.test(text)) throw new UnitError('input.size', `${what} '${text}' is negative`);
    throw new UnitError('input.size', `cannot read ${what} '${text}': write e.g. 128KiB, 1.5MB, 2GiB or 4096 (bytes)`);
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isFinite(bytes)) throw new UnitError('input.size', `${what} '${text}' is not a finite size`);
  return bytes;
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/**
 * Bytes in binary units with three significant digits (812 B, 1.37 KiB,
 * 84.0 KiB, 318 KiB, 1.50 GiB): the one way a size is printed.
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '−' : '';
  let v = Math.abs(n);
  if (Math.round(v) < 1024) return `${sign}${Math.round(v)} B`;
  const digits = (x: number): number => (x < 10 ? 2 : x < 100 ? 1 : 0);
  let u = -1;
  // Compare the value as it would print, so 1023.9 KiB prints as 1.00 MiB rather than 1024 KiB.
  while (u < BYTE_UNITS.length - 1 && Number(v.toFixed(digits(v))) >= 1024) {
    v /= 1024;
    u++;
  }
  return `${sign}${v.toFixed(digits(v))} ${BYTE_UNITS[u]!}`;
}

/** Integers with thousands separators; tiny and huge values in exponent form; else six significant digits. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  if (!Number.isFinite(n)) return String(n);
  if (n !== 0 && (Math.abs(n) < 1e-3 || Math.abs(n) >= 1e6)) return n.toExponential(3);
  return String(Number(n.toPrecision(6)));
}
