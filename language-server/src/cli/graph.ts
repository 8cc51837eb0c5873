import { compile, findItem, graphOf, unrolled, ItemError } from '../compile.js';
import type { Graph } from '../graph/types.js';
import { CliError, intOption, readSource, str, type Command } from './common.js';

/** The JSON form of a graph: vertices with shapes and source ranges, and operand edges. */
export function graphJson(graph: Graph, lines: { positionAt(o: number): { line: number; character: number } }): unknown {
  return {
    name: graph.name,
    kind: graph.kind,
    inputs: graph.inputs,
    outputs: graph.outputs,
    vertices: graph.vertices.map((v) => ({
      id: v.id, op: v.op, shape: v.shape, role: v.role,
      ...(v.name !== undefined ? { name: v.name } : {}),
      ...(v.group !== undefined ? { group: v.group } : {}),
      ...(v.step !== undefined ? { step: v.step } : {}),
      ...(v.op === 'const' ? { value: Array.from(v.attrs.value ?? []) } : {}),
      range: { start: lines.positionAt(v.range.start), end: lines.positionAt(v.range.end) },
    })),
    edges: graph.vertices.flatMap((v) => v.inputs.map((src, operand) => ({ source: src, target: v.id, operand }))),
  };
}

export const graphCommand: Command = {
  name: 'graph',
  summary: 'Print the computational graph of an item: vertices (op, shape, role, source range) and edges. Models give one time step, or --steps T unrolled.',
  usage: 'eligo graph FILE [--item NAME] [--steps T] --json',
  options: { item: { type: 'string' }, json: { type: 'boolean' }, steps: { type: 'string' } },
  run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new CliError("eligo graph: give a FILE (see 'eligo graph --help')");
    const c = compile(readSource(file));
    let graph: Graph;
    try {
      const item = findItem(c, str(values.item), ['function', 'model', 'grad']);
      graph = values.steps !== undefined && item.kind === 'model' ? unrolled(c, item, intOption(values.steps, 'steps', 1, 1, 10000)).graph : graphOf(c, item);
    } catch (e) {
      if (e instanceof ItemError) throw new CliError(`${file}: ${e.message}`, 1);
      throw e;
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(graphJson(graph, c.lines))}\n`);
    } else {
      const ops = new Map<string, number>();
      for (const v of graph.vertices) ops.set(v.op, (ops.get(v.op) ?? 0) + 1);
      process.stdout.write(`${graph.name} (${graph.kind}): ${graph.vertices.length} vertices, ${graph.vertices.reduce((a, v) => a + v.inputs.length, 0)} edges, ${graph.inputs.length} inputs, ${graph.outputs.length} outputs\n`);
      for (const v of graph.vertices) {
        const p = c.lines.positionAt(v.range.start);
        process.stdout.write(`  %${v.id} = ${v.op}(${v.inputs.map((i) => `%${i}`).join(', ')}) : [${v.shape.join(', ')}]${v.name ? `  ${v.name}` : ''}${v.role !== 'op' ? ` (${v.role})` : ''}  @${p.line + 1}:${p.character + 1}\n`);
      }
    }
    return 0;
  },
};
