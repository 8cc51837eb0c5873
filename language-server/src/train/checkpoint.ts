// Checkpoints: `checkpoint.json` (what was trained, how far, the optimizer's
// settings, the metrics so far, and where each tensor lies) beside
// `weights.bin` (little-endian float32 parameters and optimizer slots, back
// to back). Both are written to temporary files and renamed, the weights
// first, so an interrupted write leaves the previous checkpoint whole; the
// JSON records the weights' SHA-256, so a mismatched pair is detected.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OptimizerOptions } from './optim.js';
import { EligoError } from '../util/errors.js';

export const CHECKPOINT_JSON = 'checkpoint.json';
export const WEIGHTS_BIN = 'weights.bin';

export interface TensorEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset and length in float32 values. */
  readonly offset: number;
  readonly length: number;
}

export interface CheckpointMeta {
  readonly format: 'eligo-train-checkpoint';
  readonly version: 1;
  readonly model: string;
  readonly rule: string;
  readonly task: string;
  readonly seed: number;
  readonly batch: number;
  /** Updates done. */
  readonly step: number;
  /** The run's planned number of updates. */
  readonly total: number;
  readonly optimizer: OptimizerOptions;
  readonly params: readonly TensorEntry[];
  readonly slots: readonly TensorEntry[];
  readonly weightsSha256: string;
  readonly savedAt: string;
  /** Metrics so far (train.ts's TrainMetrics), so a resumed run continues its curves. */
  readonly metrics: unknown;
}

export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export class CheckpointError extends EligoError {
  constructor(message: string) {
    super('train.checkpoint', message);
  }
}

/** Writes a checkpoint into `dir` (created if needed); returns the JSON's path. */
export function saveCheckpoint(
  dir: string,
  meta: Omit<CheckpointMeta, 'format' | 'version' | 'params' | 'slots' | 'weightsSha256' | 'savedAt'>,
  params: readonly NamedArray[],
  slots: readonly NamedArray[],
): string {
  mkdirSync(dir, { recursive: true });
  let offset = 0;
  const entry = (a: NamedArray): TensorEntry => {
    const e = { name: a.name, shape: [...a.shape], offset, length: a.data.length };
    offset += a.data.length;
    return e;
  };
  const pe = params.map(entry);
  const se = slots.map(entry);
  const all = new Float32Array(offset);
  [...params, ...slots].forEach((a, i) => all.set(a.data, [...pe, ...se][i]!.offset));
  const bytes = Buffer.from(all.buffer, all.byteOffset, all.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new CheckpointError('checkpoints are written little-endian; this machine is big-endian');
  const full: CheckpointMeta = {
    format: 'eligo-train-checkpoint',
    version: 1,
    ...meta,
    params: pe,
    slots: se,
    weightsSha256: createHash('sha256').update(bytes).digest('hex'),
    savedAt: new Date().toISOString(),
  };
  const bin = join(dir, WEIGHTS_BIN);
  const json = join(dir, CHECKPOINT_JSON);
  writeFileSync(`${bin}.tmp`, bytes);
  writeFileSync(`${json}.tmp`, `${JSON.stringify(full, null, 1)}\n`);
  renameSync(`${bin}.tmp`, bin);
  renameSync(`${json}.tmp`, json);
  return json;
}

function isEntry(x: unknown): x is TensorEntry {
  const e = x as TensorEntry;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.name === 'string' &&
    Array.isArray(e.shape) &&
    e.shape.every((d) => Number.isInteger(d) && d >= 0) &&
    Number.isInteger(e.offset) &&
    Number.isInteger(e.length) &&
    e.length === e.shape.reduce((a, b) => a * b, 1)
  );
}

/** Reads the checkpoint in `dir`; undefined when there is none; CheckpointError when it is damaged. */
export function loadCheckpoint(dir: string): { meta: CheckpointMeta; params: Map<string, NamedArray>; slots: NamedArray[] } | undefined {
  const json = join(dir, CHECKPOINT_JSON);
  if (!existsSync(json)) return undefined;
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(json, 'utf8')) as CheckpointMeta;
  } catch (e) {
    throw new CheckpointError(`${json} is not valid JSON (${(e as Error).message}); delete the folder or choose another --checkpoint`);
  }
  if (meta?.format !== 'eligo-train-checkpoint' || meta.version !== 1)
    throw new CheckpointError(`${json} is not an Eligo training checkpoint (format ${JSON.stringify(meta?.format)}, version ${JSON.stringify(meta?.version)})`);
  if (
    typeof meta.model !== 'string' ||
    typeof meta.rule !== 'string' ||
    typeof meta.task !== 'string' ||
    !Number.isInteger(meta.step) ||
    !Number.isInteger(meta.total) ||
    !Array.isArray(meta.params) ||
    !meta.params.every(isEntry) ||
    !Array.isArray(meta.slots) ||
    !meta.slots.every(isEntry)
  ) {
    throw new CheckpointError(`${json} is missing fields or has malformed ones`);
  }
  const bin = join(dir, WEIGHTS_BIN);
  if (!existsSync(bin)) throw new CheckpointError(`${bin} is missing (${json} refers to it)`);
  const buf = readFileSync(bin);
  const sha = createHash('sha256').update(buf).digest('hex');
  if (sha !== meta.weightsSha256)
    throw new CheckpointError(
      `${bin} does not match ${json} (SHA-256 ${sha.slice(0, 12)}… instead of ${String(meta.weightsSha256).slice(0, 12)}…): the pair is from two different saves`,
    );
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const read = (e: TensorEntry): NamedArray => {
    if (e.offset + e.length > all.length) throw new CheckpointError(`${bin} is shorter than ${json} says (${e.name})`);
    return { name: e.name, shape: e.shape, data: all.slice(e.offset, e.offset + e.length) };
  };
  return { meta, params: new Map(meta.params.map((e) => [e.name, read(e)])), slots: meta.slots.map(read) };
}
