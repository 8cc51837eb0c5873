// Writing a NIR file in the layout of neuromorphs/NIR's `nir.write`: a root
// `version` string and `node` group; each node a group with a `type` string
// and its parameters as datasets in NIR's field order (numeric ones gzip
// compressed, as NIR's writer does by default); a graph `nodes/` and `edges`,
// an [n, 2] array of variable-length UTF-8 strings (what h5py stores for a
// list of str tuples). Input/Output `shape` is int64. No `metadata` group
// (NIR's writer omits an empty one).

import { writeHdf5, type H5Write } from '../hdf5.js';
import { NEURON_PARAMS, NIR_VERSION, NirError, type NirGraph, type NirNode, type NirTensor } from './types.js';

const str = (s: string): H5Write => ({ kind: 'dataset', dtype: 'string', shape: [], values: [s] });
const num = (t: NirTensor): H5Write => ({ kind: 'dataset', dtype: t.dtype, shape: t.shape, values: t.data });
const ints = (xs: readonly number[]): H5Write => ({ kind: 'dataset', dtype: 'i64', shape: [xs.length], values: xs });
const scalarInt = (x: number): H5Write => ({ kind: 'dataset', dtype: 'i64', shape: [], values: [x] });

export function nodeToHdf5(node: NirNode): H5Write {
  const c = new Map<string, H5Write>();
  switch (node.type) {
    case 'NIRGraph': {
      c.set('type', str('NIRGraph'));
      const nodes = new Map<string, H5Write>();
      for (const [name, n] of node.nodes) nodes.set(name, nodeToHdf5(n));
      c.set('nodes', { kind: 'group', children: nodes });
      c.set('edges', { kind: 'dataset', dtype: 'string', shape: [node.edges.length, 2], values: node.edges.flatMap(([a, b]) => [a, b]) });
      break;
    }
    case 'Input':
    case 'Output':
      c.set('type', str(node.type));
      c.set('shape', ints(node.shape));
      break;
    case 'Affine':
      c.set('type', str('Affine'));
      c.set('weight', num(node.weight));
      c.set('bias', num(node.bias));
      break;
    case 'Linear':
      c.set('type', str('Linear'));
      c.set('weight', num(node.weight));
      break;
    case 'Scale':
      c.set('type', str('Scale'));
      c.set('scale', num(node.scale));
      break;
    case 'Threshold':
      c.set('type', str('Threshold'));
      c.set('threshold', num(node.threshold));
      break;
    case 'Delay':
      c.set('type', str('Delay'));
      c.set('delay', num(node.delay));
      break;
    case 'Flatten':
      c.set('type', str('Flatten'));
      c.set('start_dim', scalarInt(node.start_dim));
      c.set('end_dim', scalarInt(node.end_dim));
      if (node.input_type) c.set('input_type', ints(node.input_type));
      break;
    case 'Unsupported':
      throw new NirError(`cannot write a ${node.nirType} node`);
    default: {
      const names = NEURON_PARAMS[node.type]!;
      c.set('type', str(node.type));
      const rec = node as unknown as Record<string, NirTensor>;
      for (const p of names) c.set(p, num(rec[p]!));
    }
  }
  return { kind: 'group', children: c };
}

export function nirToHdf5(graph: NirGraph, version = NIR_VERSION): H5Write {
  return {
    kind: 'group',
    children: new Map<string, H5Write>([
      ['version', str(version)],
      ['node', nodeToHdf5(graph)],
    ]),
  };
}

/** Writes the graph to `path` (the caller writes to a temporary path and renames). */
export async function writeNir(path: string, graph: NirGraph): Promise<void> {
  await writeHdf5(path, nirToHdf5(graph), { gzip: 4 });
}
