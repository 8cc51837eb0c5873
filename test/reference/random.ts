// A seeded generator for the model simulations' parameters and inputs:
// mulberry32 for uniforms and Box–Muller for normals. Simple, portable and
// independent of the engine's own generator (the engine's checks pass the
// same arrays to both sides rather than the same seed).

import type { Mat, Vec } from './util.js';

export type Rng = () => number;

/** mulberry32: a 32-bit state generator of uniforms in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A normal sample N(mean, std²) by Box–Muller. */
export function normal(rng: Rng, mean = 0, std = 1): number {
  const u1 = Math.max(rng(), 1e-300);
  const u2 = rng();
  return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

export function normalVec(rng: Rng, n: number, mean = 0, std = 1): Vec {
  return Array.from({ length: n }, () => normal(rng, mean, std));
}

export function normalMat(rng: Rng, rows: number, cols: number, mean = 0, std = 1): Mat {
  return Array.from({ length: rows }, () => normalVec(rng, cols, mean, std));
}

export function uniformMat(rng: Rng, rows: number, cols: number, lo: number, hi: number): Mat {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => lo + (hi - lo) * rng()));
}

/** Glorot/Xavier uniform: U(−√(6/(fan_in+fan_out)), +…) for a [rows, cols] weight. */
export function glorotMat(rng: Rng, rows: number, cols: number): Mat {
  const limit = Math.sqrt(6 / (rows + cols));
  return uniformMat(rng, rows, cols, -limit, limit);
}

/** Per-step sequences for a model: x[k] and y[k] are the values at step k+1. */
export interface Sequence {
  readonly x: Mat;
  readonly y: Mat;
}

/**
 * Inputs as Poisson-like spike trains (each channel fires with probability
 * `rate` per step) and targets as smooth sinusoids, as in e-prop's pattern
 * generation task.
 */
export function spikeSequence(seed: number, T: number, nIn: number, nOut: number, rate = 0.2): Sequence {
  const rng = mulberry32(seed);
  const x = Array.from({ length: T }, () => Array.from({ length: nIn }, () => (rng() < rate ? 1 : 0)));
  const y = Array.from({ length: T }, (_, k) => Array.from({ length: nOut }, (_, o) => 0.5 * Math.sin((2 * Math.PI * (k + 1)) / (8 + 4 * o))));
  return { x, y };
}

/** Inputs as normal samples and targets as smooth sinusoids (for the rate RNN). */
export function analogSequence(seed: number, T: number, nIn: number, nOut: number): Sequence {
  const rng = mulberry32(seed);
  const x = Array.from({ length: T }, () => normalVec(rng, nIn));
  const y = Array.from({ length: T }, (_, k) => Array.from({ length: nOut }, (_, o) => 0.5 * Math.sin((2 * Math.PI * (k + 1)) / (8 + 4 * o))));
  return { x, y };
}
