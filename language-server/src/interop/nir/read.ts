// Reading a NIR file: HDF5 (neuromorphs/NIR `nir/serialization.py` layout)
// → validated `NirFile`. The root holds a `version` string and a `node` group;
// every node group a `type` string and one dataset per parameter; a graph node
// `nodes/` (child groups) and `edges`, an [n, 2] array of strings. Anything
// missing or mis-shaped is one `NirError` line that names the dataset.

import { readHdf5, type H5Dataset, type H5Group, type H5Node } from '../hdf5.js';
import { NEURON_PARAMS, NirError, UNSUPPORTED_TYPES, type NirFile, type NirGraph, type NirNode, type NirTensor } from './types.js';

/** NIR major versions whose layout this reader knows (0.x files from 2023 still circulate). */
const KNOWN_MAJOR = new Set(['0', '1']);

export async function readNir(path: string, maxBytes = 1024 ** 3): Promise<NirFile> {
  const root = await readHdf5(path, { maxBytes });
  return nirFromHdf5(root, path);
}

export function nirFromHdf5(root: H5Group, file: string): NirFile {
  const v = root.children.get('version');
  if (!v || v.kind !== 'dataset' || v.dtype !== 'string' || v.values.length !== 1) {
    throw new NirError(`${file}: not a NIR file: no 'version' string at the root (NIR files have 'version' and 'node')`);
  }
  const version = String(v.values[0]);
  const major = /^(\d+)\.\d+/.exec(version)?.[1];
  if (!major || !KNOWN_MAJOR.has(major)) throw new NirError(`${file}: NIR version '${version}' is not one Eligo reads (0.x and 1.x)`);
  const node = root.children.get('node');
  if (!node || node.kind !== 'group') throw new NirError(`${file}: not a NIR file: no 'node' group at the root`);
  const graph = readNode(node, 'node', file);
  if (graph.type !== 'NIRGraph') throw new NirError(`${file}: the root node is a ${graph.type}, not a NIRGraph`);
  return { version, graph };
}

function fail(file: string, where: string, what: string): never {
  throw new NirError(`${file}: ${where}: ${what}`);
}

function dataset(g: H5Group, name: string, where: string, file: string): H5Dataset {
  const d = g.children.get(name);
  if (!d) fail(file, where, `missing dataset '${name}'`);
  if (d.kind !== 'dataset') fail(file, `${where}/${name}`, 'is a group, expected a dataset');
  return d;
}

function numeric(d: H5Dataset, where: string, file: string): NirTensor {
  if (d.dtype === 'string' || d.dtype === 'other') fail(file, where, `expected numbers, found ${d.dtype === 'string' ? 'strings' : 'an unreadable type'}`);
  const data = d.values as Float64Array;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) fail(file, where, `value ${i} is ${data[i]} (not finite)`);
  return { shape: d.shape, data, dtype: d.dtype === 'f32' ? 'f32' : 'f64' };
}

function param(g: H5Group, name: string, where: string, file: string): NirTensor {
  return numeric(dataset(g, name, where, file), `${where}/${name}`, file);
}

function intList(g: H5Group, name: string, where: string, file: string): number[] {
  const t = param(g, name, where, file);
  if (t.shape.length > 1) fail(file, `${where}/${name}`, `expected a list of integers, found shape [${t.shape.join(', ')}]`);
  const out = Array.from(t.data);
  if (out.some((x) => !Number.isInteger(x) || x < 0)) fail(file, `${where}/${name}`, `expected non-negative integers, found [${out.join(', ')}]`);
  return out;
}

function int(g: H5Group, name: string, where: string, file: string, def: number): number {
  if (!g.children.has(name)) return def;
  const t = param(g, name, where, file);
  if (t.data.length !== 1 || !Number.isInteger(t.data[0]!)) fail(file, `${where}/${name}`, 'expected one integer');
  return t.data[0]!;
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

function readNode(g: H5Group, where: string, file: string): NirNode {
  const t = dataset(g, 'type', where, file);
  if (t.dtype !== 'string' || t.values.length !== 1) fail(file, `${where}/type`, 'expected the node type as a string');
  const type = String(t.values[0]);
  switch (type) {
    case 'NIRGraph':
      return readGraph(g, where, file);
    case 'Input':
    case 'Output':
      return { type, shape: intList(g, 'shape', where, file) };
    case 'Affine': {
      const weight = matrix(g, 'weight', where, file);
      const bias = param(g, 'bias', where, file);
      if (bias.shape.length !== 1 || bias.shape[0] !== weight.shape[0]) {
        fail(file, `${where}/bias`, `shape ${shapeText(bias.shape)} does not match weight ${shapeText(weight.shape)} (expected [${weight.shape[0]}])`);
      }
      return { type, weight, bias };
    }
    case 'Linear':
      return { type, weight: matrix(g, 'weight', where, file) };
    case 'Scale':
      return { type, scale: vector(g, 'scale', where, file) };
    case 'Threshold':
      return { type, threshold: vector(g, 'threshold', where, file) };
    case 'Delay':
      return { type, delay: vector(g, 'delay', where, file) };
    case 'Flatten': {
      const input = g.children.has('input_type') ? intList(g, 'input_type', where, file) : undefined;
      return { type, start_dim: int(g, 'start_dim', where, file, 1), end_dim: int(g, 'end_dim', where, file, -1), ...(input ? { input_type: input } : {}) };
    }
    case 'I':
    case 'Integrator':
    case 'IF':
    case 'LI':
    case 'LIF':
    case 'CubaLI':
    case 'CubaLIF': {
      const kind = type === 'Integrator' ? 'I' : type;
      const names = NEURON_PARAMS[kind]!;
      const values: Record<string, NirTensor> = {};
      for (const p of names) {
        if (p === 'v_reset' && !g.children.has('v_reset')) continue; // NIR < 1.0 files have none: zeros, as NIR's reader does
        if (p === 'w_in' && !g.children.has('w_in')) continue; // w_in defaults to 1
        values[p] = vector(g, p, where, file);
      }
      const ref = values[names[0]!]!;
      for (const p of names) {
        const v = values[p];
        if (v && (v.shape.length !== ref.shape.length || v.shape.some((d, k) => d !== ref.shape[k]))) {
          fail(
            file,
            `${where}/${p}`,
            `shape ${shapeText(v.shape)} differs from ${names[0]} ${shapeText(ref.shape)}: a ${kind} node's parameters have one value per neuron`,
          );
        }
      }
      const n = ref.data.length;
      if (names.includes('v_reset') && !values.v_reset) values.v_reset = { shape: ref.shape, data: new Float64Array(n), dtype: ref.dtype };
      if (names.includes('w_in') && !values.w_in) values.w_in = { shape: ref.shape, data: new Float64Array(n).fill(1), dtype: ref.dtype };
      for (const p of ['tau', 'tau_syn', 'tau_mem']) {
        const v = values[p];
        if (v)
          for (let i = 0; i < v.data.length; i++)
            if (!(v.data[i]! > 0)) fail(file, `${where}/${p}`, `time constants must be positive, value ${i} is ${v.data[i]}`);
      }
      return { type: kind, ...values } as NirNode;
    }
    default:
      if (UNSUPPORTED_TYPES.has(type)) return { type: 'Unsupported', nirType: type };
      return fail(file, `${where}/type`, `unknown NIR node type '${type}'`);
  }
}

function matrix(g: H5Group, name: string, where: string, file: string): NirTensor {
  const m = param(g, name, where, file);
  if (m.shape.length !== 2) fail(file, `${where}/${name}`, `expected a matrix [out, in], found shape ${shapeText(m.shape)}`);
  return m;
}

/** One value per neuron: any shape NIR allows (convolutional layers have [c, h, w]); a 0-d dataset is one value. */
function vector(g: H5Group, name: string, where: string, file: string): NirTensor {
  const v = param(g, name, where, file);
  if (v.shape.length === 0) return { ...v, shape: [1] };
  return v;
}

function readGraph(g: H5Group, where: string, file: string): NirGraph {
  const nodesGroup = g.children.get('nodes');
  if (!nodesGroup || nodesGroup.kind !== 'group') fail(file, where, "a NIRGraph needs a 'nodes' group");
  const nodes = new Map<string, NirNode>();
  for (const [name, child] of nodesGroup.children) {
    if (child.kind !== 'group') fail(file, `${where}/nodes/${name}`, 'expected a node group, found a dataset');
    nodes.set(name, readNode(child, `${where}/nodes/${name}`, file));
  }
  const e: H5Node | undefined = g.children.get('edges');
  const edges: [string, string][] = [];
  if (e) {
    if (e.kind !== 'dataset' || e.dtype !== 'string') fail(file, `${where}/edges`, 'expected an [n, 2] array of node names');
    const vals = e.values as readonly string[];
    const empty = vals.length === 0;
    if (!empty && (e.shape.length !== 2 || e.shape[1] !== 2)) fail(file, `${where}/edges`, `expected shape [n, 2], found ${shapeText(e.shape)}`);
    for (let k = 0; k + 1 < vals.length; k += 2) {
      const a = vals[k]!;
      const b = vals[k + 1]!;
      for (const end of [a, b])
        if (!nodes.has(end))
          fail(
            file,
            `${where}/edges`,
            `edge ${k / 2} ('${a}' → '${b}') names '${end}', which is not a node of the graph (nodes: ${[...nodes.keys()].join(', ')})`,
          );
      edges.push([a, b]);
    }
  }
  return { type: 'NIRGraph', nodes, edges };
}
