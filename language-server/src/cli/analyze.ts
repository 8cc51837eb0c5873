import { classicCosts, type OrderCost } from '../analyze.js';
import { compile, findItem, graphOf, ItemError, type NamedItem } from '../compile.js';
import { costOf } from '../ad/costs.js';
import { jacobian, JacobianTooLargeError, NonFiniteError } from '../ad/jacobian.js';
import { OrderError } from '../ad/orders.js';
import { verifyJacobian, type Verification } from '../ad/verify.js';
import { resolveLabels, UnknownVertexError } from '../graph/names.js';
import { evaluationPoint } from '../graph/point.js';
import type { Graph } from '../graph/types.js';
import { CliError, formatBytes, formatNumber, intOption, readInputFile, readSource, str, table, type Command } from './common.js';

interface ItemReport {
  name: string;
  kind: string;
  vertices: number;
  eliminable: number;
  costs: Record<string, OrderCost>;
  verify?: Verification & { order: string };
}

function givenOrder(graph: Graph, spec: string): number[] {
  if (spec === 'forward' || spec === 'reverse' || spec === 'markowitz') return [];
  let text: string;
  try {
    text = readInputFile(spec, '--order');
  } catch (e) {
    if (e instanceof CliError && /no such file/.test(e.message))
      throw new CliError(`--order: '${spec}' is neither forward, reverse, markowitz nor a JSON file`);
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CliError(`--order: ${spec} is not valid JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { order?: unknown })?.order;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' || typeof x === 'number')) {
    throw new CliError(`--order: ${spec} must hold a JSON array of vertex names or ids (or {"order": [...]})`);
  }
  return resolveLabels(graph, list);
}

function report(c: ReturnType<typeof compile>, item: NamedItem, orderSpec: string | undefined, verify: boolean, steps: number): ItemReport {
  const graph = graphOf(c, item);
  const costs: Record<string, OrderCost> = { ...classicCosts(graph) };
  let given: number[] | undefined;
  if (orderSpec !== undefined) {
    const named = ['forward', 'reverse', 'markowitz'].includes(orderSpec);
    if (!named) {
      given = givenOrder(graph, orderSpec);
      const g = costOf(graph, given);
      costs.given = { multiplications: g.multiplications, additions: g.additions, fillIn: g.fillIn, peakMemoryBytes: g.peakMemoryBytes };
    }
  }
  const out: ItemReport = {
    name: item.name,
    kind: item.kind,
    vertices: graph.vertices.length,
    eliminable: costOf(graph, 'forward').perVertex.length,
    costs,
  };
  if (verify) {
    const point = evaluationPoint(c, item, graph, steps);
    const names = ['forward', 'reverse', 'markowitz'] as const;
    const best = given ?? names.reduce((a, b) => (costs[b]!.multiplications < costs[a]!.multiplications ? b : a), names[0] as (typeof names)[number]);
    const result = jacobian(graph, point.leaves, best);
    out.verify = { ...verifyJacobian(graph, point.leaves, result), order: Array.isArray(best) ? 'given' : best };
  }
  return out;
}

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: [
    'Cost of computing the Jacobian by vertex elimination: multiplications, additions, fill-in and peak memory',
    'for the forward, reverse and minimal-Markowitz orders (and a given order). --verify computes the numeric',
    'Jacobian at the evaluation point and its maximum error against central finite differences.',
  ].join('\n'),
  usage: 'eligo analyze FILE [--item NAME] [--order forward|reverse|markowitz|FILE.json] [--steps T] [--json] [--verify]',
  options: {
    item: {
      type: 'string',
      value: 'NAME',
      defaultText: 'every function, model and grad of the file',
      example: 'roeflux_1d',
      description: 'Analyse only this item.',
    },
    order: {
      type: 'string',
      value: 'ORDER',
      defaultText: 'forward, reverse and Markowitz only',
      example: 'order.json',
      description: "Also cost a given elimination order: forward, reverse, markowitz, or a JSON file of vertex names or ids (as 'eligo search --out' writes).",
    },
    json: { type: 'boolean', description: 'Print {"items": [...]} as JSON.' },
    verify: { type: 'boolean', description: 'Compute the numeric Jacobian with the cheapest order and compare it with central finite differences.' },
    steps: { type: 'string', value: 'T', default: '10', example: '50', description: 'Time steps of the evaluation point of a model (for --verify).' },
  },
  examples: ['eligo analyze examples/roeflux_1d.eligo --verify', 'eligo analyze examples/lif.eligo --item lif --order order.json --json'],
  run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new CliError("eligo analyze: give a FILE (see 'eligo analyze --help')");
    const c = compile(readSource(file));
    const steps = intOption(values.steps, 'steps', 10, 1, 100000);
    const wanted = str(values.item);
    const items = wanted !== undefined ? [findItemOrFail(c, wanted, file)] : c.items.filter((i) => i.kind !== 'rule');
    const reports: ItemReport[] = [];
    const problems: string[] = [];
    for (const item of items) {
      try {
        reports.push(report(c, item, str(values.order), values.verify === true, steps));
      } catch (e) {
        const where = e instanceof ItemError && e.range ? `${file}:${c.lines.positionAt(e.range.start).line + 1}: ` : `${file}: `;
        if (e instanceof ItemError || e instanceof OrderError || e instanceof UnknownVertexError || e instanceof JacobianTooLargeError) {
          problems.push(`${where}${item.name}: ${e.message}`);
        } else if (e instanceof NonFiniteError) {
          const p = c.lines.positionAt(e.range.start);
          problems.push(`${file}:${p.line + 1}:${p.character + 1}: ${item.name}: ${e.message}`);
        } else {
          throw e;
        }
      }
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ items: reports }, null, 2)}\n`);
    } else {
      for (const r of reports) {
        process.stdout.write(`\n${r.name} (${r.kind}): ${r.vertices} vertices, ${r.eliminable} eliminated\n`);
        const rows = Object.entries(r.costs).map(([order, k]) => [order, k.multiplications, k.additions, k.fillIn, formatBytes(k.peakMemoryBytes)]);
        process.stdout.write(`${table(['order', 'multiplications', 'additions', 'fill-in', 'peak memory'], rows)}\n`);
        if (r.verify) {
          process.stdout.write(
            r.verify.comparable
              ? `verify (${r.verify.order} order, ${formatNumber(r.verify.entries)} entries): max abs error ${r.verify.maxAbsError.toExponential(2)}, max relative error ${r.verify.maxRelativeError.toExponential(2)} vs central finite differences\n`
              : `verify: not compared — ${r.verify.note}\n`,
          );
        }
      }
    }
    for (const p of problems) process.stderr.write(`${p}\n`);
    return problems.length > 0 ? 1 : 0;
  },
};

function findItemOrFail(c: ReturnType<typeof compile>, name: string, file: string): NamedItem {
  try {
    return findItem(c, name, ['function', 'model', 'grad']);
  } catch (e) {
    if (e instanceof ItemError) throw new CliError(`${file}: ${e.message}`, 1);
    throw e;
  }
}
