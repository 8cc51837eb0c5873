import { compileWithData } from './interop.js';
import { findItem, graphOf, modelStep, ItemError, type Compiled } from '../compile.js';
import type { ModelStepGraph } from '../graph/build.js';
import { evaluate } from '../graph/evaluate.js';
import { evalComment, inputsFromJson, InputError, nest } from '../graph/inputs.js';
import { initialParams, initialStates, randomData, simulate } from '../graph/simulate.js';
import type { Tensor } from '../graph/types.js';
import { CliError, formatDiagnostic, formatNumber, intOption, jsonOrFile, str, table, type Command } from './common.js';

const finite = (t: Tensor): boolean => t.data.every((x) => Number.isFinite(x));

/**
 * Where a model's values first turn NaN or infinite: the step, and the first
 * vertex of that step whose value is not finite while its operands are, as
 * `file:line:col: error: … [eval.nan]`. Re-evaluates the step that went wrong,
 * so it costs nothing when every value is finite.
 */
function nonFiniteDiagnostic(
  file: string, c: Compiled, graph: ModelStepGraph, params: Map<string, Tensor>, data: Map<string, Tensor[]>,
  start: Map<string, Tensor>, states: Map<string, Tensor>[], losses: number[],
): string | undefined {
  const t = states.findIndex((s, k) => !Number.isFinite(losses[k]!) || [...s.values()].some((v) => !finite(v)));
  if (t < 0) return undefined;
  const before = t === 0 ? start : states[t - 1]!;
  const leaves = new Map<number, Tensor>();
  for (const s of graph.model.states) leaves.set(s.leaf, before.get(s.name)!);
  for (const p of graph.model.params) leaves.set(p.leaf, params.get(p.name)!);
  for (const d of graph.model.data) leaves.set(d.leaf, data.get(d.name)![t]!);
  const values = evaluate(graph, leaves);
  const at = graph.vertices.find((v) => v.inputs.length > 0 && !finite(values[v.id]!) && v.inputs.every((i) => finite(values[i]!)))
    ?? graph.vertices.find((v) => !finite(values[v.id]!))!;
  const bad = values[at.id]!.data.some((x) => Number.isNaN(x)) ? 'NaN' : 'infinite';
  const p = c.lines.positionAt(at.range.start);
  const src = c.text.slice(at.range.start, at.range.end).replace(/\s+/g, ' ');
  const what = Number.isFinite(losses[t]!) ? 'a state' : 'the loss';
  return `${file}:${p.line + 1}:${p.character + 1}: error: ${what} is ${bad} from step ${t + 1}: '${src.length > 40 ? `${src.slice(0, 37)}…` : src}' (${at.op}) gives ${bad} values from finite operands [eval.nan]`;
}

export const evalCommand: Command = {
  name: 'eval',
  summary: [
    'Evaluate an item in Float64. A function is evaluated at --inputs (JSON object or a path to a JSON file),',
    "else at the file's '# @eval {…}' comment. A model is stepped --steps times with parameters drawn from their",
    'initialisers and random data, all seeded by --seed; a NaN or infinite value is an error at the operation that made it.',
  ].join('\n'),
  usage: 'eligo eval FILE [--item NAME] [--inputs JSON|FILE] [--steps T] [--seed S] [--json]',
  options: {
    item: { type: 'string', value: 'NAME', defaultText: "the file's only function, model or grad", example: 'lif', description: 'The function, model or grad to evaluate.' },
    inputs: {
      type: 'string', value: 'JSON|FILE', defaultText: "the file's '# @eval' comment", example: "'{\"a\": 2, \"c\": [1, 3]}'",
      description: 'Input values of a function: a JSON object of name → number or nested array, or a JSON file holding one.',
    },
    steps: { type: 'string', value: 'T', default: '10', example: '100', description: 'Time steps a model is run.' },
    seed: { type: 'string', value: 'S', default: '0', example: '7', description: 'Seed of the parameter initialisers and the random data.' },
    json: { type: 'boolean', description: 'Print the outputs (or the losses and final states of a model) as one JSON object.' },
  },
  examples: ['eligo eval examples/lif.eligo --item lif --steps 50', 'eligo eval f.eligo --item f --inputs \'{"a": 2, "c": [1, 3]}\' --json'],
  async run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new CliError("eligo eval: give a FILE (see 'eligo eval --help')");
    const steps = intOption(values.steps, 'steps', 10, 1, 100000);
    const seed = intOption(values.seed, 'seed', 0, 0, 2 ** 31);
    // data(…) params are read from files next to the model.
    const c = await compileWithData(file);
    try {
      const item = findItem(c, str(values.item), ['function', 'model', 'grad']);
      if (item.kind === 'model') {
        const { scope, graph } = modelStep(c, item);
        const params = initialParams(scope, seed);
        const data = randomData(scope, steps, seed);
        const start = initialStates(scope);
        const traj = simulate(graph, params, data, steps, start);
        const problem = nonFiniteDiagnostic(file, c, graph, params, data, start, traj.states, traj.losses);
        if (problem) throw new CliError(problem, 1); // the line says [eval.nan], the analysis warning's code; the error is the input's (exit 1)
        const final = traj.states[traj.states.length - 1]!;
        if (values.json) {
          process.stdout.write(`${JSON.stringify({ item: item.name, steps, seed, losses: traj.losses, totalLoss: traj.totalLoss, finalStates: Object.fromEntries([...final].map(([k, v]) => [k, nest(v)])) })}\n`);
        } else {
          process.stdout.write(`${item.name}: ${steps} steps, seed ${seed}, total loss ${formatNumber(traj.totalLoss)}\n`);
          const rows = [...final].map(([k, v]) => {
            const d = Array.from(v.data);
            return [k, `[${v.shape.join(', ')}]`, Math.min(...d), d.reduce((a, b) => a + b, 0) / d.length, Math.max(...d)];
          });
          process.stdout.write(`${table(['state', 'shape', 'min', 'mean', 'max'], rows)}\n`);
        }
        return 0;
      }
      const graph = graphOf(c, item);
      let json = str(values.inputs);
      if (json !== undefined) json = jsonOrFile(json, 'eligo eval: --inputs');
      json ??= evalComment(c.text, item.range.start);
      const vals = evaluate(graph, inputsFromJson(graph, json));
      const outs = graph.outputs.map((id) => ({ name: graph.vertices[id]!.name ?? `%${id}`, value: vals[id]! }));
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ item: item.name, outputs: outs.map((o) => ({ name: o.name, shape: o.value.shape, value: nest(o.value) })) })}\n`);
      } else {
        for (const o of outs) process.stdout.write(`${o.name} = ${JSON.stringify(nest(o.value))}\n`);
      }
      return 0;
    } catch (e) {
      if (e instanceof ItemError) {
        // The errors themselves first, located, then why nothing was evaluated.
        for (const d of c.diagnostics) if (d.severity === 'error') process.stderr.write(`${formatDiagnostic(file, c.lines, d)}\n`);
        throw new CliError(`${file}: ${e.message}`, 1);
      }
      if (e instanceof InputError) throw new CliError(`${file}: ${e.message}`, 2);
      throw e;
    }
  },
};
