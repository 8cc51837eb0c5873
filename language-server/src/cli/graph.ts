import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { compile, findItem, graphOf, unrolled, ItemError } from '../compile.js';
import { OrderError, validateOrder } from '../ad/orders.js';
import { resolveLabels, UnknownVertexError } from '../graph/names.js';
import type { Graph } from '../graph/types.js';
import { graphFor, graphViewBundle, type OrderSpec } from '../layout/index.js';
import { LayoutTooBigError } from '../layout/layout.js';
import { writeGraphHtml } from '../layout/html.js';
import { viewModelToSvg } from '../layout/svg.js';
import type { GraphViewRequest } from '../layout/viewmodel.js';
import { writeTextFileAtomic } from '../util/files.js';
import { EligoError } from '../util/errors.js';
import { choiceOption, CliError, intOption, readInputFile, readSource, str, type Command } from './common.js';

/** The JSON form of a graph: vertices with shapes and source ranges, and operand edges. */
export function graphJson(graph: Graph, lines: { positionAt(o: number): { line: number; character: number } }): unknown {
  return {
    name: graph.name,
    kind: graph.kind,
    inputs: graph.inputs,
    outputs: graph.outputs,
    vertices: graph.vertices.map((v) => ({
      id: v.id,
      op: v.op,
      shape: v.shape,
      role: v.role,
      ...(v.name !== undefined ? { name: v.name } : {}),
      ...(v.group !== undefined ? { group: v.group } : {}),
      ...(v.step !== undefined ? { step: v.step } : {}),
      ...(v.op === 'const' ? { value: Array.from(v.attrs.value ?? []) } : {}),
      range: { start: lines.positionAt(v.range.start), end: lines.positionAt(v.range.end) },
    })),
    edges: graph.vertices.flatMap((v) => v.inputs.map((src, operand) => ({ source: src, target: v.id, operand }))),
  };
}

/** `--order FILE.json`: a JSON array of vertex names / `%id` / ids (or {"order": [...]}), as `eligo analyze` reads it. */
function givenOrder(graph: Graph, path: string): OrderSpec {
  const text = readInputFile(path, '--order');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CliError(`--order: ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { order?: unknown })?.order;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' || typeof x === 'number')) {
    throw new CliError(`--order: ${path} must hold a JSON array of vertex names or ids (or {"order": [...]})`);
  }
  const order = resolveLabels(graph, list);
  validateOrder(graph, order);
  return { id: 'given', label: 'Given', order };
}

function writeOut(path: string, text: string): string {
  const abs = resolve(path);
  try {
    mkdirSync(dirname(abs), { recursive: true });
    writeTextFileAtomic(abs, text);
  } catch (e) {
    if (e instanceof EligoError) throw new CliError(`eligo graph: ${e.message}`);
    throw new CliError(`eligo graph: cannot write '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return abs;
}

export const graphCommand: Command = {
  name: 'graph',
  summary: [
    'Print the computational graph of an item: vertices (op, shape, role, source range) and edges. Models give one time step, or --steps T unrolled.',
    'With --html OUT.html, write a standalone page of the graph view (laid out by ELK, Jacobians on the edges, elimination stepper; works offline);',
    'with --svg OUT.svg, the picture alone. --collapse all|none|auto (default auto: one node per equation above 1,000 vertices),',
    '--expand GROUP (repeatable), --order FILE.json (a given order for the stepper), --layout-timeout SECONDS (default 30).',
  ].join('\n'),
  usage:
    'eligo graph FILE [--item NAME] [--steps T] [--json] [--html OUT.html] [--svg OUT.svg] [--collapse auto|all|none] [--expand GROUP] [--order FILE.json] [--layout-timeout S]',
  options: {
    item: {
      type: 'string',
      value: 'NAME',
      defaultText: "the file's only function, model or grad",
      example: 'lif',
      description: 'The function, model or grad to show.',
    },
    json: { type: 'boolean', description: 'Print the graph as JSON: vertices with op, shape, role and source range; operand edges.' },
    steps: { type: 'string', value: 'T', defaultText: 'one time step', example: '3', description: 'Unroll a model over T time steps.' },
    html: {
      type: 'string',
      value: 'OUT.html',
      defaultText: 'no page',
      example: 'lif.html',
      description: 'Write a standalone page of the graph view (works offline).',
    },
    svg: { type: 'string', value: 'OUT.svg', defaultText: 'no picture', example: 'lif.svg', description: 'Write the laid-out graph as an SVG picture.' },
    collapse: {
      type: 'string',
      value: 'MODE',
      default: 'auto',
      example: 'all',
      description: 'Nodes per equation for --html/--svg: all (one node per equation), none (every vertex), auto (collapse above 1,000 vertices).',
    },
    expand: {
      type: 'string',
      value: 'GROUP',
      multiple: true,
      defaultText: 'none',
      example: 'u',
      description: 'Show this collapsed equation vertex by vertex.',
    },
    order: {
      type: 'string',
      value: 'FILE.json',
      defaultText: 'forward, reverse and Markowitz',
      example: 'order.json',
      description: "A given elimination order for the page's stepper.",
    },
    'layout-timeout': { type: 'string', value: 'SECONDS', default: '30', example: '120', description: 'Give up the ELK layout after this many seconds.' },
  },
  examples: [
    'eligo graph examples/lif.eligo --item lif',
    'eligo graph examples/lif.eligo --item lif --steps 3 --html lif.html',
    'eligo graph examples/alif.eligo --svg alif.svg --collapse all',
  ],
  async run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new CliError("eligo graph: give a FILE (see 'eligo graph --help')");
    // Options first, whether or not a page is written: a bad value is refused before any work.
    const collapse = choiceOption(values.collapse, 'collapse', ['auto', 'all', 'none'] as const) ?? 'auto';
    const timeout = intOption(values['layout-timeout'], 'layout-timeout', 30, 1, 3600);
    const text = readSource(file);
    const c = compile(text);
    const html = str(values.html);
    const svg = str(values.svg);
    if (html !== undefined || svg !== undefined) {
      try {
        const item = findItem(c, str(values.item), ['function', 'model', 'grad']);
        const steps = values.steps !== undefined && item.kind === 'model' ? intOption(values.steps, 'steps', 3, 1, 1000) : undefined;
        const request: GraphViewRequest = {
          item: item.name,
          collapse,
          ...(steps !== undefined ? { view: 'unrolled' as const, steps } : {}),
          ...(Array.isArray(values.expand) ? { expand: values.expand } : {}),
        };
        const orderPath = str(values.order);
        const orders: OrderSpec[] = ['forward', 'reverse', 'markowitz'];
        if (orderPath !== undefined) orders.push(givenOrder(graphFor(c, request), orderPath));
        const bundle = await graphViewBundle(text, request, { orders, layout: { timeoutMs: timeout * 1000 } });
        const first = bundle.views[0]!;
        if (html !== undefined) {
          let path: string;
          try {
            path = writeGraphHtml(html, bundle);
          } catch (e) {
            throw new CliError(`eligo graph: ${(e as Error).message}`);
          }
          process.stdout.write(
            `wrote ${path} (${first.nodes.length} nodes, ${first.edges.length} edges${bundle.views.length > 1 ? `; ${bundle.views.length} views` : ''})\n`,
          );
        }
        if (svg !== undefined) process.stdout.write(`wrote ${writeOut(svg, viewModelToSvg(first))}\n`);
        for (const note of first.notes) process.stderr.write(`note: ${note}\n`);
      } catch (e) {
        if (e instanceof ItemError) throw new CliError(`${file}: ${e.message}`, 1);
        if (e instanceof LayoutTooBigError) throw new CliError(`${file}: ${e.message}`, 1);
        if (e instanceof UnknownVertexError || e instanceof OrderError) throw new CliError(`--order: ${e.message}`, 2);
        throw e;
      }
      if (!values.json) return 0;
    }
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
      process.stdout.write(
        `${graph.name} (${graph.kind}): ${graph.vertices.length} vertices, ${graph.vertices.reduce((a, v) => a + v.inputs.length, 0)} edges, ${graph.inputs.length} inputs, ${graph.outputs.length} outputs\n`,
      );
      for (const v of graph.vertices) {
        const p = c.lines.positionAt(v.range.start);
        process.stdout.write(
          `  %${v.id} = ${v.op}(${v.inputs.map((i) => `%${i}`).join(', ')}) : [${v.shape.join(', ')}]${v.name ? `  ${v.name}` : ''}${v.role !== 'op' ? ` (${v.role})` : ''}  @${p.line + 1}:${p.character + 1}\n`,
        );
      }
    }
    return 0;
  },
};
