// Shared helpers for the benchmarks: timing statistics and result files.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

export interface Stats {
  readonly median: number;
  readonly p95: number;
  readonly min: number;
  readonly runs: number;
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))]!;
  return { median: at(0.5), p95: at(0.95), min: s[0]!, runs: s.length };
}

/** Time `fn` `runs` times after `warmup` untimed runs; milliseconds. */
export function timeIt(fn: () => void, runs: number, warmup = 10): Stats {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return stats(out);
}

export function writeResult(name: string, data: unknown): string {
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, cpus: cpus().length, ...(data as object) }, null, 2)}\n`,
  );
  return path;
}

export const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(1));
