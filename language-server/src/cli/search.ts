// `eligo search FILE`: find an elimination order for an item's Jacobian that
// beats forward, reverse and Markowitz, and print them side by side; write the
// order back into the file as a rule, or to JSON.

import { compile, findItem, graphOf, ItemError } from '../compile.js';
import { evalComment, inputsFromJson, InputError } from '../graph/inputs.js';
import type { Graph, Tensor } from '../graph/types.js';
import { formatBytes, parseBudget, parseBytes, parseObjective, SearchOptionError, type ObjectiveSpec } from '../search/objective.js';
import { METHODS, type Method } from '../search/plan.js';
import { ruleObjective, ruleOrder, rulesFor, writeRule } from '../search/rule.js';
import { search, DEFAULT_BUDGET_MS, type OrderReport, type SearchResult } from '../search/search.js';
import { EligoError } from '../util/errors.js';
import { writeTextFileAtomic } from '../util/files.js';
import { choiceOption, CliError, formatNumber, intOption, jsonOrFile, readSourceFile, str, table, type Command } from './common.js';
import { agentOption } from './options.js';
import { TaskFailed } from '../jobs/queue/kind.js';
import { queuedSearchRunner } from '../jobs/queue/runs.js';
import { connectQueue } from './queue.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const searchCommand: Command = {
  name: 'search',
  summary: [
    "Search for an elimination order of an item's Jacobian (heuristics, simulated annealing, beam search, exact",
    'optimum for small graphs, MCTS with a policy/value network) on both cores within a time budget, and compare',
    'it with forward, reverse and Markowitz. Objectives: mults (default), memory, time (measured numeric',
    'elimination), or a weighted sum such as mults+0.001*memory; --limit-memory makes orders above it infeasible.',
    '--train fine-tunes the network by self-play on this graph during MCTS. --evaluations N makes a run reproducible.',
    '--restarts N runs N independent restarts (own seeds; default one per thread); --redis URL runs them on eligo worker',
    'processes (docs/scale-out.md), with the same result for --evaluations N.',
    'A rule for the item with objective/limit lines sets the defaults. Ctrl-C stops and prints the best so far.',
  ].join('\n'),
  usage:
    'eligo search FILE [--item NAME] [--objective mults|memory|time] [--limit-memory 128KiB] [--budget DURATION] [--method mcts|anneal|beam|exact|heuristics|all] [--seed N] [--evaluations N] [--threads N] [--restarts N] [--redis redis://HOST:PORT] [--json] [--write-rule NAME] [--out order.json]',
  options: {
    item: {
      type: 'string',
      value: 'NAME',
      defaultText: "the file's only function, model or grad",
      example: 'roeflux_1d',
      description: 'The item whose Jacobian is eliminated.',
    },
    objective: {
      type: 'string',
      value: 'OBJECTIVE',
      defaultText: "the item's rule's objective, else mults",
      example: 'mults+0.001*memory',
      description: 'What to minimise: mults, memory, time (measured), or a weighted sum of mults and memory.',
    },
    'limit-memory': {
      type: 'string',
      value: 'SIZE',
      defaultText: "the item's rule's limit, else none",
      example: '128KiB',
      description: 'Orders whose peak memory exceeds this are infeasible.',
    },
    budget: {
      type: 'string',
      value: 'DURATION',
      default: `${DEFAULT_BUDGET_MS / 1000}s`,
      example: '1.5h',
      description: 'Time for the search; it stops there and keeps the best found.',
    },
    method: { type: 'string', value: 'METHOD', default: 'all', example: 'mcts', description: `Search method: ${METHODS.join(', ')}.` },
    seed: { type: 'string', value: 'N', default: '1', example: '7', description: 'Seed of the randomised methods.' },
    json: { type: 'boolean', description: 'Print {"item", "objective", "best", "baselines"} as JSON.' },
    'write-rule': {
      type: 'string',
      value: 'NAME',
      defaultText: 'nothing written',
      example: 'fast',
      description: 'Write the best order into FILE as rule NAME (through a temporary file; refused if FILE changed during the search).',
    },
    out: {
      type: 'string',
      value: 'FILE.json',
      defaultText: 'nothing written',
      example: 'order.json',
      description: "Write the best order as JSON (what 'eligo analyze --order' reads).",
    },
    inputs: {
      type: 'string',
      value: 'JSON|FILE',
      defaultText: "the file's '# @eval' comment",
      example: `'{"x": 0.3}'`,
      description: 'The point at which orders are timed for --objective time.',
    },
    threads: {
      type: 'string',
      value: 'N',
      defaultText: 'the number of cores, at most 2',
      example: '1',
      description: 'Search threads; 0 searches in this thread.',
    },
    evaluations: {
      type: 'string',
      value: 'N',
      defaultText: 'no limit',
      example: '5000',
      description: 'Stop after N complete orders, so a run is reproducible.',
    },
    agent: {
      type: 'string',
      value: 'FILE',
      defaultText: 'models/agent/agent.json',
      example: 'my-agent.json',
      description: 'The policy/value network MCTS uses (refused if it does not load).',
    },
    train: { type: 'boolean', description: 'Fine-tune the network by self-play on this graph during MCTS.' },
    quiet: { type: 'boolean', short: 'q', description: 'No progress line on stderr.' },
    restarts: {
      type: 'string',
      value: 'N',
      defaultText: 'one per search thread (--threads)',
      example: '8',
      description: 'Independent restarts of the search, each with its own seed; the best of them is kept.',
    },
    redis: {
      type: 'string',
      value: 'URL',
      defaultText: 'run here',
      example: 'redis://127.0.0.1:6379',
      description: 'Run the restarts on eligo worker processes through this Redis (docs/scale-out.md); a password in the URL is never shown.',
    },
  },
  examples: [
    'eligo search examples/roeflux_1d.eligo --budget 10s',
    'eligo search examples/lif.eligo --item lif --objective memory --limit-memory 256KiB --out order.json',
    'eligo search model.eligo --item f --budget 1.5h --write-rule fast',
  ],
  async run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new CliError("eligo search: give a FILE (see 'eligo search --help')");
    if (positionals.length > 1) throw new CliError(`eligo search: one FILE at a time (got ${positionals.length}: ${positionals.join(' ')})`);
    // Options first: bad flags fail fast, before any work.
    const o = parseOptions(values);
    const source = readSourceFile(file);
    const c = compile(source.text);
    let graph: Graph;
    let itemName: string;
    try {
      const item = findItem(c, str(values.item), ['function', 'model', 'grad']);
      itemName = item.name;
      graph = graphOf(c, item);
    } catch (e) {
      if (e instanceof ItemError) throw new CliError(`${file}: ${e.message}`, 1);
      throw e;
    }
    // A rule for the item states the objective and limit, unless flags do.
    const rules = rulesFor(c, itemName);
    const rule = rules.find((r) => r.name.name === o.writeRule) ?? rules[0];
    const fromRule = rule ? ruleObjective(rule) : {};
    const objective: ObjectiveSpec = o.objective ?? (fromRule.objective ? { kind: fromRule.objective } : { kind: 'multiplications' });
    const limitBytes = o.limitBytes ?? fromRule.limitBytes;
    const leaves = pointOf(c.text, graph, str(values.inputs), c.items.find((i) => i.name === itemName)!.range.start);

    const progress = !values.json && !values.quiet && process.stderr.isTTY;
    const say = (m: string): void => {
      if (!values.json && !values.quiet) process.stderr.write(`${progress ? '\r\x1b[K' : ''}${m}\n`);
    };
    const queue = await connectQueue(str(values.redis), 'search', say);
    const ac = new AbortController();
    const onSigint = (): void => {
      if (ac.signal.aborted) process.exit(130);
      ac.abort();
      process.stderr.write('\nstopping: the best order so far follows (Ctrl-C again to quit at once)\n');
    };
    process.on('SIGINT', onSigint);
    let result: SearchResult;
    try {
      result = await search(graph, {
        objective,
        ...(limitBytes !== undefined ? { limitBytes } : {}),
        method: o.method,
        budgetMs: o.budgetMs,
        seed: o.seed,
        signal: ac.signal,
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
        ...(o.restarts !== undefined ? { restarts: o.restarts } : {}),
        ...(queue
          ? {
              runJobs: queuedSearchRunner(
                queue,
                { text: c.text, item: itemName, ...(o.agent !== undefined ? { agentPath: o.agent } : {}) },
                { label: `search ${itemName}`, onEvent: (_k, m) => say(`  ${m}`) },
              ),
            }
          : {}),
        ...(o.evaluations !== undefined ? { maxEvaluations: o.evaluations } : {}),
        ...(o.agent !== undefined ? { agentPath: o.agent } : {}),
        ...(values.train ? { train: true } : {}),
        ...(leaves ? { leaves } : {}),
        ...(progress
          ? {
              onProgress: (p) => {
                const best = Number.isFinite(p.bestMultiplications) ? `best ${formatNumber(p.bestMultiplications)} mults (${p.bestMethod})` : 'searching';
                process.stderr.write(
                  `\r\x1b[K  ${(p.elapsedMs / 1000).toFixed(1)} s  ${best}  ${formatNumber(p.evaluations)} orders  ${formatNumber(p.simulations)} simulations  [${[...new Set(p.phases)].join(', ')}]`,
                );
              },
            }
          : {}),
      });
    } catch (e) {
      if (e instanceof SearchOptionError) throw new CliError(`eligo search: ${e.message}`);
      if (e instanceof TaskFailed) throw new CliError(`eligo search: ${e.message}`, 1);
      throw e;
    } finally {
      await queue?.close();
      process.off('SIGINT', onSigint);
      if (progress) process.stderr.write('\r\x1b[K');
    }

    if (values.json) {
      process.stdout.write(`${JSON.stringify(jsonOf(result))}\n`);
    } else {
      process.stdout.write(`${textOf(result, graph, queue !== undefined)}\n`);
    }
    if (o.out) {
      const b = result.best;
      write(o.out, `${JSON.stringify({ item: result.item, objective: result.objectiveText, ...entry(b) }, null, 2)}\n`);
      if (!values.json) process.stdout.write(`order written to ${o.out}\n`);
    }
    if (o.writeRule) {
      const next = writeRule(c, o.writeRule, itemName, result.best.names);
      // Through a temporary file and a rename, and only if FILE still holds what the search read:
      // a failed write leaves it whole, and edits made during the search are kept.
      write(file, next, { unchangedSince: source.fingerprint, bom: source.bom }, 'the order is printed above; write it with --out instead, or run again');
      // Read it back: the written names must give the same order.
      const again = compile(next);
      const back = ruleOrder(again, o.writeRule, graphOf(again, findItem(again, itemName, ['function', 'model', 'grad'])));
      if (!back || back.join(',') !== result.best.order.join(','))
        throw new CliError(`eligo search: the rule written to ${file} does not read back to the same order (a bug; please report it)`, 3);
      const errs = again.diagnostics.filter(
        (d) => d.severity === 'error' && again.items.some((i) => i.name === o.writeRule && d.range.start >= i.range.start && d.range.end <= i.range.end),
      );
      if (!values.json) process.stdout.write(`rule '${o.writeRule}' written to ${file}\n`);
      for (const d of errs.filter((d, k) => errs.findIndex((e) => e.message === d.message) === k))
        process.stderr.write(`note: ${file}: the checker reports on rule '${o.writeRule}': ${d.message} [${d.code}]\n`);
    }
    if (result.infeasible) {
      process.stderr.write(`eligo search: ${result.infeasible.message}\n`);
      return 1;
    }
    return 0;
  },
};

/** Writes a file of the search's results; a failure or a refusal is one line, exit 1 (file changed) or 2. */
function write(path: string, text: string, o: Parameters<typeof writeTextFileAtomic>[2] = {}, then = 'nothing was written'): void {
  try {
    writeTextFileAtomic(path, text, o);
  } catch (e) {
    if (e instanceof EligoError) throw new CliError(`eligo search: ${e.message}; ${then}`, e.code === 'file.changed' ? 1 : 2);
    throw e;
  }
}

interface ParsedOptions {
  objective?: ObjectiveSpec;
  limitBytes?: number;
  budgetMs: number;
  method: Method;
  seed: number;
  threads?: number;
  restarts?: number;
  evaluations?: number;
  agent?: string;
  writeRule?: string;
  out?: string;
}

function parseOptions(values: Record<string, unknown>): ParsedOptions {
  try {
    const method: Method = choiceOption(values.method, 'method', METHODS) ?? 'all';
    const writeRule = str(values['write-rule']);
    if (writeRule !== undefined && !IDENT.test(writeRule))
      throw new CliError(`eligo search: --write-rule needs a rule name (letters, digits, _), got '${writeRule}'`);
    const agent = agentOption(str(values.agent), 'search');
    const o: ParsedOptions = {
      budgetMs: values.budget !== undefined ? parseBudget(str(values.budget)!) : DEFAULT_BUDGET_MS,
      method,
      seed: intOption(values.seed, 'seed', 1, 0, 2 ** 31),
    };
    if (values.objective !== undefined) o.objective = parseObjective(str(values.objective)!);
    if (values['limit-memory'] !== undefined) o.limitBytes = parseBytes(str(values['limit-memory'])!);
    if (values.threads !== undefined) o.threads = intOption(values.threads, 'threads', 2, 0, 64);
    if (values.restarts !== undefined) o.restarts = intOption(values.restarts, 'restarts', 2, 1, 10_000);
    if (values.evaluations !== undefined) o.evaluations = intOption(values.evaluations, 'evaluations', 1, 1, 1e12);
    if (agent !== undefined) o.agent = agent;
    if (writeRule !== undefined) o.writeRule = writeRule;
    const out = str(values.out);
    if (out !== undefined) o.out = out;
    return o;
  } catch (e) {
    if (e instanceof SearchOptionError) throw new CliError(`eligo search: ${e.message}`);
    throw e;
  }
}

/** The point for timing numeric eliminations: --inputs, else the file's # @eval comment, else none (seeded values). */
function pointOf(text: string, graph: Graph, inputs: string | undefined, offset: number): Map<number, Tensor> | undefined {
  let json = inputs;
  if (json !== undefined) json = jsonOrFile(json, 'eligo search: --inputs');
  json ??= evalComment(text, offset);
  if (json === undefined) return undefined;
  try {
    return inputsFromJson(graph, json, 0.5, inputs !== undefined);
  } catch (e) {
    if (e instanceof InputError) {
      if (inputs !== undefined) throw new CliError(`eligo search: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

function entry(r: OrderReport): { method: string; order: string[]; multiplications: number; peakMemoryBytes: number; seconds: number | null } {
  return { method: r.method, order: [...r.names], multiplications: r.multiplications, peakMemoryBytes: r.peakMemoryBytes, seconds: r.seconds };
}

/** The --json output: {item, objective, best: {...}, baselines: {forward, reverse, markowitz}}. */
export function jsonOf(r: SearchResult): unknown {
  return {
    item: r.item,
    objective: r.objectiveText,
    best: entry(r.best),
    baselines: { forward: entry(r.baselines.forward), reverse: entry(r.baselines.reverse), markowitz: entry(r.baselines.markowitz) },
  };
}

function textOf(r: SearchResult, graph: Graph, queued = false): string {
  // Compare by the objective: its score, or for `time` the measured seconds.
  const value = (x: OrderReport): number => (r.objective.kind === 'time' ? (x.seconds ?? NaN) : x.score);
  const classic = Math.min(value(r.baselines.forward), value(r.baselines.reverse), value(r.baselines.markowitz));
  const vs = (x: OrderReport): string => {
    if (!Number.isFinite(classic) || classic === 0 || !Number.isFinite(value(x))) return '—';
    const d = (value(x) - classic) / classic;
    return Math.abs(d) < 5e-4 ? '0%' : `${d > 0 ? '+' : '−'}${Math.abs(d * 100).toFixed(1)}%`;
  };
  const secs = (x: OrderReport): string =>
    x.seconds === null ? '—' : x.seconds < 1e-3 ? `${(x.seconds * 1e6).toFixed(0)} µs` : `${(x.seconds * 1e3).toFixed(2)} ms`;
  const row = (label: string, x: OrderReport): (string | number)[] => [label, x.multiplications, x.additions, formatBytes(x.peakMemoryBytes), secs(x), vs(x)];
  const rows = [
    row('forward', r.baselines.forward),
    row('reverse', r.baselines.reverse),
    row('markowitz', r.baselines.markowitz),
    row(`found (${r.best.method})`, r.best),
  ];
  const n = r.best.order.length;
  const lines = [
    `${r.item}: ${n} eliminable vertices (of ${graph.vertices.length}) · objective ${r.objectiveText} · ${(r.elapsedMs / 1000).toFixed(1)} s ${queued ? `in ${r.threads} restart${r.threads === 1 ? '' : 's'} on the queue` : `on ${r.threads || 1} thread${r.threads === 1 || r.threads === 0 ? '' : 's'}`}${r.stoppedBy === 'cancel' ? ' (cancelled)' : ''}`,
    '',
    table(['order', 'multiplications', 'additions', 'peak memory', 'time', 'vs best classic'], rows),
    '',
    `methods: ${Object.entries(r.methods)
      .filter(([k]) => !['forward', 'reverse', 'markowitz'].includes(k))
      .map(([k, m]) => `${k} ${formatNumber(m.multiplications)}`)
      .join(' · ')}`,
    `searched ${formatNumber(r.evaluations)} complete orders${r.simulations ? `, ${formatNumber(r.simulations)} MCTS simulations in ${r.episodes} episode${r.episodes === 1 ? '' : 's'}` : ''}`,
  ];
  if (r.exact) lines.push(`exact: ${r.exact.message}`);
  for (const note of r.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}
