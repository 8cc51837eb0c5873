// Real data as sequences: IDX files (Fashion-MNIST from Debian's
// `dataset-fashion-mnist`, or any MNIST-style IDX pair a user names) and CSV
// tables. An image becomes a sequence of pixel chunks — one row per step
// (row-by-row sequential) or `n_in` pixels per step in a fixed random order
// (permuted sequential) — and the label is asked for over the last steps.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../graph/random.js';
import { param, type TaskParams } from './generated.js';
import { CLI_FILE_ACCESS, FileAccess } from './files.js';
import { BatchBuilder, needClasses, TaskError, type Task, type TaskContext } from './types.js';

// ------------------------------------------------------------ IDX

/** An IDX array (LeCun's MNIST format): magic 0x0000 type ndim, big-endian dims, then the values. */
export interface IdxArray {
  readonly dims: readonly number[];
  /** ubyte data stay bytes; every other type is read as float64. */
  readonly data: Uint8Array | Float64Array;
}

const IDX_TYPES: Record<number, { bytes: number; read: (b: Buffer, o: number) => number; name: string }> = {
  0x08: { bytes: 1, read: (b, o) => b.readUInt8(o), name: 'ubyte' },
  0x09: { bytes: 1, read: (b, o) => b.readInt8(o), name: 'byte' },
  0x0b: { bytes: 2, read: (b, o) => b.readInt16BE(o), name: 'short' },
  0x0c: { bytes: 4, read: (b, o) => b.readInt32BE(o), name: 'int' },
  0x0d: { bytes: 4, read: (b, o) => b.readFloatBE(o), name: 'float' },
  0x0e: { bytes: 8, read: (b, o) => b.readDoubleBE(o), name: 'double' },
};

/** The files a task's context may read: the CLI's (anywhere) unless the caller says otherwise. */
function access(ctx: TaskContext | undefined): FileAccess {
  return new FileAccess(ctx?.files ?? CLI_FILE_ACCESS);
}

/** Reads an IDX file, gzip-compressed or not (detected by its first bytes), through the file guard. */
export function readIdx(path: string, files: FileAccess = new FileAccess(CLI_FILE_ACCESS)): IdxArray {
  const buf = files.read(path, 'idx');
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new TaskError(`'${path}' is not an IDX file (its first bytes are not 00 00 TYPE NDIM)`);
  const type = IDX_TYPES[buf[2]!];
  const ndim = buf[3]!;
  if (!type) throw new TaskError(`'${path}': unknown IDX value type 0x${buf[2]!.toString(16)}`);
  if (ndim < 1 || buf.length < 4 + 4 * ndim) throw new TaskError(`'${path}': IDX header truncated`);
  const dims: number[] = [];
  for (let k = 0; k < ndim; k++) dims.push(buf.readUInt32BE(4 + 4 * k));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (buf.length < start + count * type.bytes) {
    throw new TaskError(`'${path}': IDX says [${dims.join(', ')}] ${type.name}s (${count * type.bytes} bytes) but holds ${buf.length - start}`);
  }
  if (type.bytes === 1 && type.name === 'ubyte') return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + start, count) };
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = type.read(buf, start + i * type.bytes);
  return { dims, data };
}

// ------------------------------------------------------------ image sequences

/** Labelled images (or any fixed-size samples): `pixels` values per sample. */
export interface ImageSet {
  readonly count: number;
  /** Rows × columns of one sample ([1, F] for a table row). */
  readonly rows: number;
  readonly cols: number;
  /** Sample i's values are data[i·rows·cols …]; `scale` maps them to [0, 1]. */
  readonly data: Uint8Array | Float64Array | Float32Array;
  readonly scale: number;
  readonly labels: Int32Array;
}

export function imageSetFromIdx(images: IdxArray, labels: IdxArray, what: string): ImageSet {
  if (images.dims.length < 2)
    throw new TaskError(`${what}: the images IDX has dims [${images.dims.join(', ')}]; expected [count, rows, cols] or [count, features]`);
  if (labels.dims.length !== 1) throw new TaskError(`${what}: the labels IDX has dims [${labels.dims.join(', ')}]; expected [count]`);
  const count = images.dims[0]!;
  if (labels.dims[0] !== count) throw new TaskError(`${what}: ${count} images but ${labels.dims[0]} labels`);
  const rows = images.dims.length === 2 ? 1 : images.dims[1]!;
  const cols = images.dims.slice(images.dims.length === 2 ? 1 : 2).reduce((a, b) => a * b, 1);
  const lab = Int32Array.from(labels.data, (v) => Math.round(v));
  if (lab.some((l) => l < 0)) throw new TaskError(`${what}: labels must be class numbers 0, 1, 2, …`);
  let max = 0;
  if (images.data instanceof Uint8Array) max = 255;
  else for (const v of images.data) max = Math.max(max, Math.abs(v));
  return { count, rows, cols, data: images.data, scale: max > 0 ? 1 / max : 1, labels: lab };
}

export type ImageOrder = 'rows' | 'permuted';

/**
 * A sequence task over an image set. 'rows': one image row per step (the
 * model's input size must equal the row length). 'permuted': the pixels in a
 * fixed random order (seed 0, the same in every run so results compare),
 * `n_in` per step. Either sequence of chunks is stretched over T steps (each
 * chunk held ⌊T / chunks⌋ or so steps) and the label is asked for, one-hot,
 * over the last `window` steps.
 */
export function imageSequenceTask(ctx: TaskContext, p: TaskParams, name: string, order: ImageOrder, train: ImageSet, test: ImageSet, source: string): Task {
  const pixels = train.rows * train.cols;
  if (test.rows * test.cols !== pixels) throw new TaskError(`${name}: train samples have ${pixels} values but test samples ${test.rows * test.cols}`);
  let chunks: number;
  if (order === 'rows') {
    if (ctx.nIn !== train.cols) {
      throw new TaskError(
        `${name} feeds one ${train.cols}-pixel image row per step; model '${ctx.model}' has input ${ctx.inputName}: [${ctx.nIn}]: declare ${ctx.inputName}: [${train.cols}] (e.g. 'dim n_in = ${train.cols}'), or use the permuted order, which feeds n_in pixels per step`,
      );
    }
    chunks = train.rows;
  } else {
    chunks = Math.ceil(pixels / ctx.nIn);
  }
  let classes = 0;
  for (const l of train.labels) classes = Math.max(classes, l + 1);
  for (const l of test.labels) classes = Math.max(classes, l + 1);
  needClasses(ctx, name, classes);
  const T = param(p, name, 'T', chunks, chunks, 1000000);
  const window = param(p, name, 'window', Math.max(1, Math.round(T / 4)), 1, T);
  const trainSize = param(p, name, 'train', train.count, 1, train.count);
  const testSize = param(p, name, 'test', test.count, 1, test.count);
  const perm = order === 'permuted' ? permutation(pixels, new Rng(0x5eed)) : undefined;
  const chunkAt = Int32Array.from({ length: T }, (_, t) => Math.floor((t * chunks) / T));
  const hold =
    T === chunks
      ? ''
      : `, each held ${T / chunks === Math.floor(T / chunks) ? T / chunks : `${Math.floor(T / chunks)}–${Math.ceil(T / chunks)}`} steps (T = ${T})`;
  const how =
    order === 'rows'
      ? `one image row of ${train.cols} pixels per step (intensity scaled to [0, 1]), ${chunks} rows${hold}`
      : `the ${pixels} pixels in a fixed random order, ${ctx.nIn} per step (intensity scaled to [0, 1]${pixels % ctx.nIn ? ', the last step zero-padded' : ''}), ${chunks} steps${hold}`;
  return {
    name: `${name}(T=${T}, train=${trainSize}, test=${testSize})`,
    kind: 'classification',
    classes,
    scoring: 'sequence',
    steps: T,
    nIn: ctx.nIn,
    nOut: ctx.nOut,
    trainSize,
    testSize,
    chance: 1 / classes,
    encoding: `${source}: ${how}; outputs 0–${classes - 1} are scored one-hot over the last ${window} steps`,
    batch(split, indices) {
      const set = split === 'train' ? train : test;
      const bb = new BatchBuilder(indices.length, T, ctx.nIn, ctx.nOut, true);
      const { data, scale } = set;
      indices.forEach((idx, b) => {
        const base = idx * pixels;
        for (let t = 0; t < T; t++) {
          const c = chunkAt[t]!;
          for (let i = 0; i < ctx.nIn; i++) {
            const k = c * ctx.nIn + i;
            if (k >= pixels) break;
            const v = data[base + (perm ? perm[k]! : k)]!;
            if (v) bb.setX(t, b, i, v * scale);
          }
        }
        bb.labelWindow(b, T - window, T, set.labels[idx]!);
      });
      return bb.build();
    },
  };
}

function permutation(n: number, rng: Rng): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

// ------------------------------------------------------------ Fashion-MNIST

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

/** Where Fashion-MNIST is read from: ELIGO_FASHION_MNIST, else Debian's dataset-fashion-mnist folder. */
export function fashionDir(): string {
  return process.env.ELIGO_FASHION_MNIST || FASHION_DIR;
}

let fashionCache: { dir: string; train: ImageSet; test: ImageSet } | undefined;

/** Fashion-MNIST's 60,000 train and 10,000 test images (28 × 28, 10 classes), read once per process. */
export function loadFashionMnist(dir = fashionDir()): { train: ImageSet; test: ImageSet } {
  if (fashionCache?.dir === dir) return fashionCache;
  const missing = Object.values(FASHION_FILES).filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    throw new TaskError(
      `Fashion-MNIST is not installed: ${missing.map((f) => join(dir, f)).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing. ` +
        `On Debian or Ubuntu install it with 'sudo apt-get install dataset-fashion-mnist' (it puts the IDX files in ${FASHION_DIR}/), ` +
        `or set ELIGO_FASHION_MNIST to a folder holding ${Object.values(FASHION_FILES).join(', ')}`,
    );
  }
  const read = (img: string, lab: string, what: string): ImageSet => imageSetFromIdx(readIdx(join(dir, img)), readIdx(join(dir, lab)), what);
  const train = read(FASHION_FILES.trainImages, FASHION_FILES.trainLabels, 'Fashion-MNIST train');
  const test = read(FASHION_FILES.testImages, FASHION_FILES.testLabels, 'Fashion-MNIST test');
  fashionCache = { dir, train, test };
  return fashionCache;
}

export function fashionTask(ctx: TaskContext, p: TaskParams, order: ImageOrder): Task {
  const { train, test } = loadFashionMnist();
  const name = order === 'rows' ? 'fashion-rows' : 'fashion-permuted';
  return imageSequenceTask(ctx, p, name, order, train, test, `Fashion-MNIST (${fashionDir()})`);
}

// ------------------------------------------------------------ user data

/**
 * A user's IDX pair: `images=PATH` (and `labels=PATH`, else the images path
 * with `images-idx3` replaced by `labels-idx1`); `test-images=`/`test-labels=`
 * for a held-out set, else the last sixth of the file is held out.
 */
export function idxTask(ctx: TaskContext, p: TaskParams): Task {
  const images = p.images;
  if (!images) throw new TaskError(`idx: give the images file: --task idx:images=PATH[,labels=PATH][,test-images=PATH,test-labels=PATH][,order=rows|permuted]`);
  const guess = (path: string): string => {
    const l = path.replace('images-idx3', 'labels-idx1').replace('images', 'labels');
    if (l === path) throw new TaskError(`idx: cannot guess the labels file of '${path}'; give labels=PATH`);
    return l;
  };
  const order = (p.order ?? 'rows') as ImageOrder;
  if (order !== 'rows' && order !== 'permuted') throw new TaskError(`idx: order must be rows or permuted, got '${p.order}'`);
  const files = access(ctx);
  const all = imageSetFromIdx(readIdx(images, files), readIdx(p.labels ?? guess(images), files), `idx '${images}'`);
  let train: ImageSet;
  let test: ImageSet;
  if (p['test-images']) {
    train = all;
    test = imageSetFromIdx(readIdx(p['test-images'], files), readIdx(p['test-labels'] ?? guess(p['test-images']), files), `idx '${p['test-images']}'`);
  } else {
    [train, test] = holdOut(all, 1 / 6);
  }
  const rest: Record<string, string> = { ...p };
  for (const k of ['images', 'labels', 'test-images', 'test-labels', 'order']) delete rest[k];
  return imageSequenceTask(ctx, rest, 'idx', order, train, test, `IDX data '${images}'`);
}

/** The last `fraction` of a set as the test split. */
function holdOut(all: ImageSet, fraction: number): [ImageSet, ImageSet] {
  const nTest = Math.max(1, Math.round(all.count * fraction));
  const nTrain = all.count - nTest;
  if (nTrain < 1) throw new TaskError(`only ${all.count} samples: too few to hold some out for testing`);
  const px = all.rows * all.cols;
  const part = (from: number, n: number): ImageSet => ({
    ...all,
    count: n,
    data: all.data.subarray(from * px, (from + n) * px),
    labels: all.labels.subarray(from, from + n),
  });
  return [part(0, nTrain), part(nTrain, nTest)];
}

/** Parses a CSV of numbers: one sample per row, the class label in the first or last column. */
export function readCsv(path: string, labelColumn: 'first' | 'last', files: FileAccess = new FileAccess(CLI_FILE_ACCESS)): ImageSet {
  const text = files.read(path, 'csv');
  const lines = text
    .toString('utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const rows: number[][] = [];
  lines.forEach((line, k) => {
    const cells = line.split(/[,;\t]/).map((c) => c.trim());
    const nums = cells.map(Number);
    if (nums.some((v) => !Number.isFinite(v) || cells.some((c) => c === ''))) {
      if (k === 0) return; // a header line
      throw new TaskError(`'${path}' line ${k + 1}: not all values are numbers`);
    }
    rows.push(nums);
  });
  if (rows.length === 0) throw new TaskError(`'${path}' has no rows of numbers`);
  const width = rows[0]!.length;
  if (width < 2) throw new TaskError(`'${path}': a row needs features and a label`);
  const bad = rows.findIndex((r) => r.length !== width);
  if (bad >= 0) throw new TaskError(`'${path}': row ${bad + 1} has ${rows[bad]!.length} values, the first row ${width}`);
  const F = width - 1;
  const data = new Float64Array(rows.length * F);
  const labels = new Int32Array(rows.length);
  let max = 0;
  rows.forEach((r, i) => {
    const label = labelColumn === 'last' ? r[F]! : r[0]!;
    if (!Number.isInteger(label) || label < 0)
      throw new TaskError(`'${path}' row ${i + 1}: the label (${labelColumn} column) must be a class number 0, 1, 2, …, got ${label}`);
    labels[i] = label;
    const feats = labelColumn === 'last' ? r.slice(0, F) : r.slice(1);
    feats.forEach((v, j) => {
      data[i * F + j] = v;
      max = Math.max(max, Math.abs(v));
    });
  });
  return { count: rows.length, rows: 1, cols: F, data, scale: max > 0 ? 1 / max : 1, labels };
}

/**
 * A user's CSV: `path=PATH` (features then the label, or `label=first`),
 * `test=PATH` for a held-out file (else the last fifth). A row's F features
 * become a sequence of F / n_in steps of n_in values (scaled by the largest
 * absolute value in the file).
 */
export function csvTask(ctx: TaskContext, p: TaskParams): Task {
  const path = p.path;
  if (!path) throw new TaskError(`csv: give the file: --task csv:path=PATH[,test=PATH][,label=last|first]`);
  const label = (p.label ?? 'last') as 'first' | 'last';
  if (label !== 'first' && label !== 'last') throw new TaskError(`csv: label must be first or last, got '${p.label}'`);
  const files = access(ctx);
  const all = readCsv(path, label, files);
  const [train, test] = p.test ? [all, readCsv(p.test, label, files)] : holdOut(all, 1 / 5);
  const F = train.cols;
  if (F % ctx.nIn !== 0) {
    const divisors = Array.from({ length: F }, (_, i) => i + 1).filter((d) => F % d === 0 && d > 1);
    throw new TaskError(
      `csv: rows have ${F} features, fed ${ctx.nIn} per step, but ${ctx.nIn} does not divide ${F}; give model '${ctx.model}' an input size that does (${divisors.slice(0, 8).join(', ')}${divisors.length > 8 ? ', …' : ''})`,
    );
  }
  const shaped = (s: ImageSet): ImageSet => ({ ...s, rows: F / ctx.nIn, cols: ctx.nIn });
  const rest: Record<string, string> = { ...p };
  for (const k of ['path', 'test', 'label']) delete rest[k];
  return imageSequenceTask(
    ctx,
    rest,
    'csv',
    'rows',
    shaped(train),
    shaped(test),
    `CSV data '${path}' (${F} features per row = ${F / ctx.nIn} steps of ${ctx.nIn})`,
  );
}
