// Parameter values from data: `param W: [n, m] = data("lif.params.h5", "W")`.
//
// The file is HDF5 (an importer's weights, a checkpoint converted for
// sharing, anything h5py or h5wasm writes), found relative to the .eligo
// file. The language server may run on an untrusted workspace, so the path
// is checked before anything is opened: relative only, no `..` step out of
// the model's folder, no links out of it, a size limit, and nothing at all
// unless the caller says the workspace is trusted. Loading sets the values on
// the checker's initialisers (graph/simulate.ts reads them), so every engine
// that initialises parameters sees the same numbers.

import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import type { Range } from '../lang/ast.js';
import type { Compiled } from '../compile.js';
import type { Initialiser } from '../lang/symbols.js';
import { sizeOf } from '../graph/types.js';
import { readHdf5, writeHdf5, Hdf5Error, type H5Group, type H5Node, type H5Write } from './hdf5.js';

export interface DataPolicy {
  /** The folder of the .eligo file: data paths are relative to it and must stay inside it. */
  readonly baseDir: string;
  /** Whether files may be read at all (false in an untrusted workspace). */
  readonly trusted: boolean;
  /** Largest data file read, in bytes (default 256 MiB). */
  readonly maxBytes?: number;
  /** Only the `data(…)` params of these models (default: every model of the file). */
  readonly models?: readonly string[];
}

export interface DataProblem {
  readonly range: Range;
  readonly message: string;
  readonly code: 'data.untrusted' | 'data.path' | 'data.missing' | 'data.read' | 'data.dataset' | 'data.shape';
}

export const DEFAULT_DATA_MAX_BYTES = 256 * 1024 ** 2;

/** Why a data path may not be opened, or undefined when it may. */
export function dataPathProblem(file: string, baseDir: string): string | undefined {
  if (file.length === 0) return 'the file name is empty';
  if (isAbsolute(file) || /^[A-Za-z]:[\\/]/.test(file) || file.startsWith('\\\\')) return `'${file}' is an absolute path; data files are named relative to the .eligo file`;
  const norm = normalize(file);
  if (norm === '..' || norm.startsWith(`..${sep}`) || norm.split(/[\\/]/).includes('..')) return `'${file}' leaves the .eligo file's folder ('..'); put the data next to the model`;
  const full = resolve(baseDir, norm);
  const rel = relative(resolve(baseDir), full);
  if (rel.startsWith('..') || isAbsolute(rel)) return `'${file}' leaves the .eligo file's folder`;
  return undefined;
}

/** Every `data(…)` initialiser of the compiled file (or of the named models), with its model, its param's name and shape. */
export function dataRefs(c: Compiled, models?: readonly string[]): { model: string; param: string; shape: readonly number[]; init: Extract<Initialiser, { kind: 'data' }> }[] {
  const out: { model: string; param: string; shape: readonly number[]; init: Extract<Initialiser, { kind: 'data' }> }[] = [];
  for (const [model, scope] of c.checked.items) {
    if (scope.kind !== 'model' || (models && !models.includes(model))) continue;
    for (const [name, init] of scope.initialisers) {
      if (init.kind !== 'data') continue;
      const sym = scope.symbols.get(name);
      if (sym) out.push({ model, param: name, shape: sym.shape, init });
    }
  }
  return out;
}

function findDataset(root: H5Group, path: string): H5Node | undefined {
  let node: H5Node | undefined = root;
  for (const part of path.split('/').filter(Boolean)) {
    if (!node || node.kind !== 'group') return undefined;
    node = node.children.get(part);
  }
  return node;
}

/**
 * Loads the values of every `data(…)` param of `c` (sets them on its
 * initialisers). Returns one problem per reference that could not be loaded,
 * at the reference's range; those params stay unloaded and initialising
 * them throws (graph/simulate.ts ParamDataError).
 */
export async function loadParamData(c: Compiled, policy: DataPolicy): Promise<DataProblem[]> {
  const refs = dataRefs(c, policy.models);
  const problems: DataProblem[] = [];
  if (refs.length === 0) return problems;
  if (!policy.trusted) {
    for (const r of refs) problems.push({ range: r.init.range, code: 'data.untrusted', message: `data("${r.init.file}") is not read in an untrusted workspace; trust the workspace to load param values` });
    return problems;
  }
  const maxBytes = policy.maxBytes ?? DEFAULT_DATA_MAX_BYTES;
  const files = new Map<string, Promise<H5Group>>();
  let base: string;
  try {
    base = realpathSync(policy.baseDir);
  } catch {
    base = resolve(policy.baseDir);
  }
  for (const r of refs) {
    const { init } = r;
    const bad = dataPathProblem(init.file, base);
    if (bad) {
      problems.push({ range: init.range, code: 'data.path', message: bad });
      continue;
    }
    const full = join(base, normalize(init.file));
    let real: string;
    let regular: boolean;
    try {
      real = realpathSync(full);
      const st = statSync(real);
      if (st.isDirectory()) throw new Error('directory');
      regular = st.isFile();
    } catch {
      problems.push({ range: init.range, code: 'data.missing', message: `no data file '${init.file}' next to the model (looked for ${full})` });
      continue;
    }
    // A FIFO would block the read for ever and a device never end: refused before opening (as train/tasks/files.ts does).
    if (!regular) {
      problems.push({ range: init.range, code: 'data.read', message: `'${init.file}' is not a regular file (a device, FIFO or socket); Eligo reads data from files` });
      continue;
    }
    const rel = relative(base, real);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      problems.push({ range: init.range, code: 'data.path', message: `'${init.file}' is a link to a file outside the model's folder` });
      continue;
    }
    let root: H5Group;
    try {
      if (!files.has(real)) files.set(real, readHdf5(real, { maxBytes }));
      root = await files.get(real)!;
    } catch (e) {
      problems.push({ range: init.range, code: 'data.read', message: e instanceof Hdf5Error ? e.message.replace(real, init.file) : `${init.file}: ${(e as Error).message}` });
      continue;
    }
    const d = findDataset(root, init.dataset);
    if (!d || d.kind !== 'dataset') {
      const have = [...root.children.keys()].slice(0, 12).join(', ');
      problems.push({ range: init.range, code: 'data.dataset', message: `${init.file} has no dataset '${init.dataset}'${d ? ' (it is a group)' : ''}; it has: ${have || 'nothing'}` });
      continue;
    }
    if (d.dtype === 'string' || d.dtype === 'other') {
      problems.push({ range: init.range, code: 'data.dataset', message: `${init.file}/${init.dataset} holds ${d.dtype === 'string' ? 'strings' : 'values of a type Eligo does not read'}, not numbers` });
      continue;
    }
    const want = r.shape;
    const same = d.shape.length === want.length && d.shape.every((x, k) => x === want[k]);
    // A scalar param may be stored as shape [] or [1].
    if (!same && !(want.length === 0 && sizeOf(d.shape) === 1)) {
      problems.push({ range: init.range, code: 'data.shape', message: `${init.file}/${init.dataset} has shape [${d.shape.join(', ')}] but param '${r.param}' has shape [${want.join(', ')}]` });
      continue;
    }
    const values = d.values as Float64Array;
    const bad2 = values.findIndex((v) => !Number.isFinite(v));
    if (bad2 >= 0) {
      problems.push({ range: init.range, code: 'data.dataset', message: `${init.file}/${init.dataset}: value ${bad2} is ${values[bad2]}, not a finite number` });
      continue;
    }
    init.values = Float64Array.from(values);
  }
  return problems;
}

/** Writes params as float64 datasets named after them (the importer's and the checkpoint converter's data file). */
export async function writeParamData(path: string, params: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>): Promise<void> {
  const children = new Map<string, H5Write>();
  for (const [name, t] of params) children.set(name, { kind: 'dataset', dtype: 'f64', shape: t.shape, values: t.data });
  await writeHdf5(path, { kind: 'group', children }, { gzip: 4 });
}
