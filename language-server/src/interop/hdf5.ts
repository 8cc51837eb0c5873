// HDF5 files as plain trees of groups and datasets, through h5wasm (the HDF5
// C library compiled to WebAssembly; its Node build reads and writes the host
// file system directly). NIR files and Eligo's param data files are HDF5.
//
// Everything above this module sees only `H5Group`/`H5Dataset` values: a
// reader validates them as `unknown`-like data, a writer builds them. h5wasm
// is loaded on first use (it is 4 MB of wasm) and kept out of the bundles.
// HDF5's C library prints an error stack on fd 2 for every failed call; that
// is swallowed here and the failure becomes one `Hdf5Error` line.

import fs from 'node:fs';
import { EligoError } from '../util/errors.js';

export type H5Dtype = 'f32' | 'f64' | 'i64' | 'i32' | 'string' | 'other';

export interface H5Dataset {
  readonly kind: 'dataset';
  readonly dtype: H5Dtype;
  readonly shape: readonly number[];
  /** Numbers (floats and integers as doubles, row-major) or strings. */
  readonly values: Float64Array | readonly string[];
  /** Whether the stored data is gzip-compressed. */
  readonly gzip?: boolean;
}

export interface H5Group {
  readonly kind: 'group';
  readonly children: ReadonlyMap<string, H5Node>;
}

export type H5Node = H5Group | H5Dataset;

export class Hdf5Error extends EligoError {
  constructor(message: string) {
    super('interop.hdf5', message);
  }
}

/** The 8-byte HDF5 signature, at offset 0 (or 512, 1024, … when a user block precedes it). */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function hasHdf5Signature(bytes: Uint8Array): boolean {
  for (let off = 0; off + 8 <= bytes.length; off = off === 0 ? 512 : off * 2) {
    if (SIGNATURE.every((b, k) => bytes[off + k] === b)) return true;
    if (off > 1 << 20) break;
  }
  return false;
}

// h5wasm's own typings (a type-only import: the module itself is loaded lazily below).
type H5wasm = typeof import('h5wasm/node');
type H5File = import('h5wasm/node').File;
type H5GroupHandle = import('h5wasm/node').Group;
type H5DatasetHandle = import('h5wasm/node').Dataset;
let loaded: Promise<H5wasm> | undefined;

function h5(): Promise<H5wasm> {
  loaded ??= (async () => {
    const m = await import('h5wasm/node');
    await m.ready;
    return m;
  })();
  return loaded;
}

/** Runs a synchronous h5wasm call with HDF5's diagnostic stack (written to fd 2) swallowed. */
function quiet<T>(fn: () => T): T {
  const orig = fs.writeSync;
  const patched = function (this: unknown, fd: number, ...rest: unknown[]): number {
    if (fd === 2) {
      const buf = rest[0];
      return typeof buf === 'string' ? Buffer.byteLength(buf) : typeof rest[2] === 'number' ? rest[2] : (buf as Uint8Array).byteLength;
    }
    return (orig as (...a: unknown[]) => number).call(this, fd, ...rest);
  };
  (fs as { writeSync: unknown }).writeSync = patched;
  try {
    return fn();
  } finally {
    (fs as { writeSync: unknown }).writeSync = orig;
  }
}

export interface ReadOptions {
  /** Refuse files larger than this (bytes). */
  readonly maxBytes?: number;
}

/** Reads a whole HDF5 file (groups and datasets; attributes are ignored). */
export async function readHdf5(path: string, opts: ReadOptions = {}): Promise<H5Group> {
  let size: number;
  try {
    const st = fs.statSync(path);
    if (st.isDirectory()) throw new Hdf5Error(`${path}: is a directory, not an HDF5 file`);
    size = st.size;
  } catch (e) {
    if (e instanceof Hdf5Error) throw e;
    throw new Hdf5Error(`${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const max = opts.maxBytes ?? 1024 ** 3;
  if (size > max) throw new Hdf5Error(`${path}: ${(size / 2 ** 20).toFixed(1)} MiB is more than the ${(max / 2 ** 20).toFixed(0)} MiB read limit`);
  const head = Buffer.alloc(Math.min(size, 2048));
  const fd = fs.openSync(path, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (!hasHdf5Signature(head)) throw new Hdf5Error(`${path}: not an HDF5 file (no HDF5 signature)`);
  const m = await h5();
  return quiet(() => {
    let f: H5File;
    try {
      f = new m.File(path, 'r');
    } catch (e) {
      throw new Hdf5Error(`${path}: HDF5 cannot open it (${(e as Error).message.split('\n')[0]})`);
    }
    try {
      return readGroup(m, f, '', path);
    } catch (e) {
      if (e instanceof Hdf5Error) throw e;
      throw new Hdf5Error(`${path}: HDF5 cannot read it: the file is damaged or truncated (${(e as Error).message.split('\n')[0]})`);
    } finally {
      try {
        f.close();
      } catch {
        // a damaged file may fail to close as well
      }
    }
  });
}

function readGroup(m: H5wasm, g: H5GroupHandle, at: string, file: string): H5Group {
  const children = new Map<string, H5Node>();
  for (const key of g.keys()) {
    const where = at ? `${at}/${key}` : key;
    let child: ReturnType<H5GroupHandle['get']>;
    try {
      child = g.get(key);
    } catch (e) {
      throw new Hdf5Error(`${file}: '${where}' cannot be read (${(e as Error).message.split('\n')[0]})`);
    }
    if (!child) continue; // a dangling soft link
    // Links, named datatypes and references are skipped, as before: only groups and datasets are data.
    if (child instanceof m.Group) children.set(key, readGroup(m, child, where, file));
    else if (child instanceof m.Dataset) children.set(key, readDataset(child, where, file));
  }
  return { kind: 'group', children };
}

function readDataset(d: H5DatasetHandle, where: string, file: string): H5Dataset {
  let meta: { type: number; size: number; signed?: boolean; shape: number[] | null };
  let value: unknown;
  let gzip: boolean;
  try {
    meta = d.metadata;
    value = d.value;
    // Typed as always present, but it comes unchecked from h5wasm's C++ binding: none counts as no filter.
    gzip = ((d.filters as typeof d.filters | undefined) ?? []).some((f) => f.id === 1);
  } catch (e) {
    throw new Hdf5Error(`${file}: dataset '${where}' cannot be read (${(e as Error).message.split('\n')[0]})`);
  }
  const shape = meta.shape ?? [];
  // h5wasm's type classes follow H5T_class_t: 0 integer, 1 float, 3 string.
  if (meta.type === 3) {
    const values = Array.isArray(value) ? value.map((v) => String(v)) : [String(value)];
    return { kind: 'dataset', dtype: 'string', shape, values, gzip };
  }
  if (meta.type === 0 || meta.type === 1) {
    const dtype: H5Dtype =
      meta.type === 1 ? (meta.size === 4 ? 'f32' : meta.size === 8 ? 'f64' : 'other') : meta.size === 8 ? 'i64' : meta.size === 4 ? 'i32' : 'other';
    let values: Float64Array;
    if (typeof value === 'number' || typeof value === 'bigint') values = Float64Array.of(Number(value));
    else if (value instanceof BigInt64Array || value instanceof BigUint64Array) values = Float64Array.from(value, (v) => Number(v));
    else if (ArrayBuffer.isView(value)) values = Float64Array.from(value as unknown as ArrayLike<number>);
    else if (Array.isArray(value)) values = Float64Array.from(value.flat(Infinity) as number[], Number);
    else throw new Hdf5Error(`${file}: dataset '${where}' holds numbers in a layout Eligo does not read`);
    return { kind: 'dataset', dtype, shape, values, gzip };
  }
  return { kind: 'dataset', dtype: 'other', shape, values: new Float64Array(0), gzip };
}

export interface WriteOptions {
  /** gzip level for numeric datasets with more than one value (NIR's writer compresses with gzip by default); 0 = none. */
  readonly gzip?: number;
}

/** A dataset value to write: a string (scalar), strings with a shape, or numbers with a dtype and shape. */
export type H5Write =
  | { readonly kind: 'group'; readonly children: ReadonlyMap<string, H5Write> }
  | { readonly kind: 'dataset'; readonly dtype: 'string'; readonly shape: readonly number[]; readonly values: readonly string[] }
  | { readonly kind: 'dataset'; readonly dtype: 'f32' | 'f64' | 'i64'; readonly shape: readonly number[]; readonly values: ArrayLike<number> };

/**
 * Writes `root` as a new HDF5 file at `path` (replacing it). Strings are
 * variable-length UTF-8 (what h5py writes for `str` data), numbers
 * little-endian. Callers write to a temporary path and rename (atomic.ts).
 */
export async function writeHdf5(path: string, root: H5Write, opts: WriteOptions = {}): Promise<void> {
  if (root.kind !== 'group') throw new Hdf5Error('the root of an HDF5 file is a group');
  const m = await h5();
  quiet(() => {
    let f: H5File;
    try {
      f = new m.File(path, 'w');
    } catch (e) {
      throw new Hdf5Error(`${path}: cannot create (${(e as Error).message.split('\n')[0]})`);
    }
    try {
      writeGroup(f, root, opts.gzip ?? 4);
    } finally {
      f.close();
    }
  });
}

function writeGroup(g: H5GroupHandle, node: Extract<H5Write, { kind: 'group' }>, gzip: number): void {
  for (const [name, child] of node.children) {
    if (child.kind === 'group') {
      writeGroup(g.create_group(name), child, gzip);
      continue;
    }
    const shape = [...child.shape];
    const n = shape.reduce((a, b) => a * b, 1);
    if (child.dtype === 'string') {
      if (child.values.length !== n) throw new Hdf5Error(`dataset '${name}': ${child.values.length} strings for shape [${shape.join(', ')}]`);
      g.create_dataset({ name, data: shape.length === 0 ? child.values[0]! : [...child.values], ...(shape.length ? { shape } : {}) });
      continue;
    }
    if (child.values.length !== n) throw new Hdf5Error(`dataset '${name}': ${child.values.length} values for shape [${shape.join(', ')}]`);
    const data =
      child.dtype === 'f32'
        ? Float32Array.from(child.values)
        : child.dtype === 'f64'
          ? Float64Array.from(child.values)
          : BigInt64Array.from(Array.from(child.values, (v) => BigInt(Math.round(v))));
    const dtype = child.dtype === 'f32' ? '<f' : child.dtype === 'f64' ? '<d' : '<q';
    const compress = gzip > 0 && n > 1 && shape.length > 0;
    g.create_dataset({
      name,
      data,
      shape,
      dtype,
      ...(compress ? { compression: 'gzip', compression_opts: [gzip], chunks: shape.map((d) => Math.max(1, d)) } : {}),
    });
  }
}
