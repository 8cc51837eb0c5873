import { compileWithData } from './interop.js';
import { existsSync, readFileSync } from 'node:fs';
import { findItem, graphOf, modelStep, ItemError } from '../compile.js';
import { evaluate } from '../graph/evaluate.js';
import { evalComment, inputsFromJson, InputError, nest } from '../graph/inputs.js';
import { initialParams, initialStates, randomData, simulate } from '../graph/simulate.js';
import { CliError, formatNumber, intOption, str, table, type Command } from './common.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: [
    'Evaluate an item in Float64. A function is evaluated at --inputs (JSON object or a path to a JSON file),',
    "else at the file's '# @eval {…}' comment. A model is stepped --steps times (default 10) with",
    'parameters drawn from their initialisers and random data, all seeded by --seed.',
  ].join('\n'),
  usage: 'eligo eval FILE --item NAME [--inputs JSON] [--steps T] [--seed S] [--json]',
  options: { item: { type: 'string' }, inputs: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new CliError("eligo eval: give a FILE (see 'eligo eval --help')");
    // data(…) params are read from files next to the model.
    const c = await compileWithData(file);
    try {
      const item = findItem(c, str(values.item), ['function', 'model', 'grad']);
      if (item.kind === 'model') {
        const steps = intOption(values.steps, 'steps', 10, 1, 100000);
        const seed = intOption(values.seed, 'seed', 0, 0, 2 ** 31);
        const { scope, graph } = modelStep(c, item);
        const traj = simulate(graph, initialParams(scope, seed), randomData(scope, steps, seed), steps, initialStates(scope));
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
      if (json !== undefined && !json.trim().startsWith('{')) {
        if (!existsSync(json)) throw new CliError(`eligo eval: --inputs is neither a JSON object nor a file: '${json}'`);
        json = readFileSync(json, 'utf8');
      }
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
      if (e instanceof ItemError) throw new CliError(`${file}: ${e.message}`, 1);
      if (e instanceof InputError) throw new CliError(`${file}: ${e.message}`, 2);
      throw e;
    }
  },
};
