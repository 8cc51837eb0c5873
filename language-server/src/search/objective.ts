// What a search minimises, and under which hard limit.
//
// Every objective is computed by the cost model of ad/ (EliminationState,
// the same counts as costOf): multiplications, the peak memory of live edge
// Jacobians, or a weighted sum of the two. `time` is the measured wall time of
// the numeric elimination (median of repeated runs, `measure.ts`): too slow and
// too noisy to steer a search directly, so searches for `time` are steered by
// multiplications + additions and their candidates are timed at the end.
//
// A memory limit makes every order whose peak exceeds it infeasible. Inside a
// search, infeasible orders are scored above every feasible one (by a constant
// far larger than any cost) plus their excess, so local moves still lead
// towards feasibility.

import { EligoError } from '../util/errors.js';
import { formatBytes, parseDuration, parseSize, UnitError } from '../util/units.js';

export { formatBytes };

export type ObjectiveKind = 'multiplications' | 'memory' | 'time' | 'weighted';

export interface ObjectiveSpec {
  readonly kind: ObjectiveKind;
  /** For 'weighted': score = multiplications·w.multiplications + peak bytes·w.memory. */
  readonly weights?: { readonly multiplications?: number; readonly memory?: number };
  /** Hard limit on the peak memory of live edge Jacobians, in bytes. */
  readonly limitBytes?: number;
}

export class SearchOptionError extends EligoError {
  constructor(message: string) {
    super('search.option', message);
  }
}

/** Added to the score of an order that breaks the memory limit: above any real cost. */
export const INFEASIBLE = 1e15;

export class Objective {
  readonly kind: ObjectiveKind;
  readonly limitBytes: number;
  /** Weights of multiplications and peak bytes in the search score. */
  readonly wMul: number;
  readonly wMem: number;
  /** Weight of additions (only the `time` surrogate counts them). */
  readonly wAdd: number;

  constructor(readonly spec: ObjectiveSpec) {
    this.kind = spec.kind;
    this.limitBytes = spec.limitBytes ?? Infinity;
    if (!(this.limitBytes > 0)) throw new SearchOptionError(`a memory limit must be positive, got ${spec.limitBytes}`);
    switch (spec.kind) {
      case 'multiplications':
        // Ties on multiplications go to the order with less memory.
        this.wMul = 1;
        this.wMem = 1e-12;
        this.wAdd = 0;
        break;
      case 'memory':
        this.wMul = 1e-9;
        this.wMem = 1;
        this.wAdd = 0;
        break;
      case 'time':
        this.wMul = 1;
        this.wMem = 1e-12;
        this.wAdd = 1;
        break;
      case 'weighted': {
        const w = spec.weights ?? {};
        const m = w.multiplications ?? 0;
        const b = w.memory ?? 0;
        if (!(m >= 0) || !(b >= 0) || !Number.isFinite(m) || !Number.isFinite(b) || m + b === 0) {
          throw new SearchOptionError('weighted objective: give non-negative, finite weights for multiplications and memory, not both zero');
        }
        this.wMul = m;
        this.wMem = b;
        this.wAdd = 0;
        break;
      }
      default:
        throw new SearchOptionError(`unknown objective '${String((spec as { kind: unknown }).kind)}' (multiplications, memory, time)`);
    }
  }

  /** True when the objective is additive over eliminations (DP over subsets is exact for it). */
  get additive(): boolean {
    return this.wMem === 0 || this.kind === 'multiplications' || this.kind === 'time';
  }

  /** The search score of a complete (or partial: a lower bound) elimination. Lower is better. */
  score(multiplications: number, peakBytes: number, additions = 0): number {
    const base = this.wMul * multiplications + this.wMem * peakBytes + this.wAdd * additions;
    return peakBytes > this.limitBytes ? INFEASIBLE + (peakBytes - this.limitBytes) + base * 1e-6 : base;
  }

  feasible(peakBytes: number): boolean {
    return peakBytes <= this.limitBytes;
  }

  describe(): string {
    const what = this.kind === 'weighted' ? `${this.wMul}·multiplications + ${this.wMem}·peak bytes` : this.kind;
    return Number.isFinite(this.limitBytes) ? `${what}, peak memory ≤ ${formatBytes(this.limitBytes)}` : what;
  }
}

const OBJECTIVE_ALIASES: Record<string, ObjectiveKind> = {
  mults: 'multiplications',
  muls: 'multiplications',
  multiplications: 'multiplications',
  fmas: 'multiplications',
  memory: 'memory',
  mem: 'memory',
  time: 'time',
  seconds: 'time',
};

/** `mults`, `memory`, `time`, or a weighted sum such as `mults+1e-3*memory`. */
export function parseObjective(text: string): ObjectiveSpec {
  const t = text.trim().toLowerCase();
  const kind = OBJECTIVE_ALIASES[t];
  if (kind) return { kind };
  if (t.includes('+') || t.includes('*')) {
    let mul = 0;
    let mem = 0;
    for (const term of t.split('+')) {
      const m = /^\s*(?:([0-9.eE+-]+)\s*\*\s*)?([a-z]+)\s*$/.exec(term);
      const k = m ? OBJECTIVE_ALIASES[m[2]!] : undefined;
      const w = m?.[1] !== undefined ? Number(m[1]) : 1;
      if (!m || !k || k === 'time' || !Number.isFinite(w) || w < 0) {
        throw new SearchOptionError(`cannot read objective '${text}': write mults, memory, time, or a weighted sum such as 'mults+0.001*memory'`);
      }
      if (k === 'multiplications') mul += w;
      else mem += w;
    }
    return { kind: 'weighted', weights: { multiplications: mul, memory: mem } };
  }
  const known = Object.keys(OBJECTIVE_ALIASES);
  const hint = known.find((k) => k.startsWith(t.slice(0, 3)));
  throw new SearchOptionError(
    `unknown objective '${text}'${hint ? ` — did you mean '${hint}'?` : ''} (mults, memory, time, or a weighted sum such as 'mults+0.001*memory')`,
  );
}

/** `128KiB`, `128 KiB`, `1.5MB`, `4096` (bytes): util/units.ts's parser, with a search's limits. */
export function parseBytes(text: string): number {
  let bytes: number;
  try {
    bytes = parseSize(text, 'memory');
  } catch (e) {
    if (e instanceof UnitError) throw new SearchOptionError(/negative/.test(e.message) ? `a memory limit must be positive, got '${text}'` : e.message);
    throw e;
  }
  if (!(bytes > 0)) throw new SearchOptionError(`a memory limit must be positive, got '${text}'`);
  if (bytes > 2 ** 60) throw new SearchOptionError(`a memory limit of '${text}' is beyond any machine; leave the limit out instead`);
  return bytes;
}

/** Longest budget a search accepts: a day. */
export const MAX_BUDGET_MS = 24 * 3600 * 1000;

/** `60s`, `500ms`, `2m`, `1.5h`, or a plain number of seconds: util/units.ts's parser, with a search's limits. */
export function parseBudget(text: string): number {
  if (text.trim().startsWith('-')) throw new SearchOptionError(`budget '${text}' must be positive (e.g. 10s)`);
  let ms: number;
  try {
    ms = parseDuration(text, 'budget');
  } catch (e) {
    if (e instanceof UnitError) throw new SearchOptionError(e.message);
    throw e;
  }
  return checkBudget(ms, text);
}

/** Checks a budget in milliseconds. */
export function checkBudget(ms: number, as: string = `${ms} ms`): number {
  if (!Number.isFinite(ms)) throw new SearchOptionError(`budget '${as}' is not a finite time`);
  if (ms <= 0) throw new SearchOptionError(`budget '${as}' must be positive (e.g. 10s)`);
  if (ms < 10) throw new SearchOptionError(`budget '${as}' is too short to search; give at least 10ms`);
  if (ms > MAX_BUDGET_MS) throw new SearchOptionError(`budget '${as}' is absurdly long; the most a search takes is 24h`);
  return ms;
}
