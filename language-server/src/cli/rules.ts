// `eligo rules FILE --model NAME`: every rule of a model with its cost,
// memory and alignment with BPTT; `eligo find-rule FILE --model NAME`: the
// Pareto front of learning rules for the model, optionally under a hardware
// profile, written back into the file with --write.

import { compileWithData } from './interop.js';
import { findItem, ItemError, type Compiled } from '../compile.js';
import { alignmentSamples, exactGradients, ruleAlignment, type Alignment } from '../rules/alignment.js';
import { tapeBytes } from '../rules/blocks.js';
import { availableBytes } from '../train/memory.js';
import { symbolicScaling } from '../rules/cost.js';
import { analyseRules, DEFAULT_MAX_MEMORY } from '../rules/diagnostics.js';
import type { Candidate } from '../rules/find.js';
import { DiscoverError, discoverRules, type Discovered } from '../discovery/find.js';
import { METHODS, searchFor, type MethodName } from '../discovery/methods.js';
import { checkHardware, type HardwareProfile } from '../rules/hardware.js';
import { EligoError } from '../util/errors.js';
import { writeTextFileAtomic } from '../util/files.js';
import { modelContext, sampleInput } from '../rules/model.js';
import { candidateBase, dataParamValues, queuedMeasurer } from '../jobs/queue/runs.js';
import { TaskFailed } from '../jobs/queue/kind.js';
import { gradientsJson, writeJsonAtomic } from './gradients.js';
import { choiceOption, CliError, formatBytes, formatDiagnostic, formatNumber, intOption, readSourceFile, str, table, type Command } from './common.js';
import { durationOption, HARDWARE_NAMES, hardwareOption, sizeOption } from './options.js';
import { connectQueue } from './queue.js';

const fmtBytes = formatBytes;

function modelOf(c: Compiled, file: string, name: string | undefined): string {
  try {
    const item = findItem(c, name, ['model']);
    if (item.hasErrors) throw new CliError(`${file}: model '${item.name}' has errors; fix them first (eligo check ${file})`, 1);
    const scope = item.scope;
    if (scope?.kind === 'model' && !scope.loss) {
      const p = c.lines.positionAt(item.nameRange.start);
      throw new CliError(
        `${file}:${p.line + 1}:${p.character + 1}: error: model '${item.name}' has no loss: add 'loss = …' so a rule has something to minimise [rule.no-loss]`,
        1,
      );
    }
    return item.name;
  } catch (e) {
    if (e instanceof ItemError) throw new CliError(`${file}: ${e.message}`, 1);
    throw e;
  }
}

const HARDWARE_OPTION = {
  type: 'string',
  value: 'NAME|FILE',
  defaultText: 'none (no hardware limits)',
  example: 'loihi2',
  description: `Keep to what a chip can run: ${HARDWARE_NAMES.join(', ')}, or a JSON profile file.`,
} as const;

const alignmentJson = (a: Alignment | null): { cosine: number; relativeError: number } | null =>
  a ? { cosine: a.cosine, relativeError: a.relativeError } : null;

export const rulesCommand: Command = {
  name: 'rules',
  summary: [
    'Every rule of a model: its schedule, multiplications per step and memory counted by the elimination engine,',
    'the symbolic scaling in n and T, and its alignment with exact BPTT (cosine and relative error, means over the',
    "parameters) on --samples random sequences of --steps steps. --program prints each online rule's update",
    'program (traces, learning signals, three-factor updates); --latex prints it as LaTeX.',
  ].join('\n'),
  usage:
    'eligo rules FILE --model NAME [--steps T] [--samples K] [--seed S] [--hardware NAME|FILE] [--max-memory 1GiB] [--program] [--latex] [--json] [--gradients OUT.json]',
  options: {
    model: { type: 'string', value: 'NAME', defaultText: "the file's only model", example: 'lif', description: 'The model whose rules are listed.' },
    steps: {
      type: 'string',
      value: 'T',
      default: '50',
      example: '100',
      description: 'Sequence length: memory is counted for T steps and alignment measured on sequences of T steps.',
    },
    samples: { type: 'string', value: 'K', default: '2', example: '4', description: 'Random sequences the alignment with BPTT is averaged over.' },
    seed: { type: 'string', value: 'S', default: '1', example: '7', description: 'Seed of the parameters and sequences of the alignment.' },
    hardware: HARDWARE_OPTION,
    'max-memory': {
      type: 'string',
      value: 'SIZE',
      default: '1GiB',
      example: '256MiB',
      description: 'Rules needing more memory than this for T steps are reported, not evaluated.',
    },
    program: { type: 'boolean', description: "Print each online rule's update program (traces, learning signals, three-factor updates)." },
    latex: { type: 'boolean', description: 'Print the update programs as LaTeX.' },
    json: { type: 'boolean', description: 'Print {"model", "rules": [...]} as JSON.' },
    gradients: {
      type: 'string',
      value: 'FILE',
      defaultText: 'not written',
      example: 'grads.json',
      description: "Write each rule's update per parameter on the seeded sample, with its inputs and initial parameters, as JSON.",
    },
  },
  examples: ['eligo rules examples/lif.eligo --model lif', 'eligo rules examples/alif.eligo --model alif --hardware loihi2 --program'],
  async run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new CliError("eligo rules: give a FILE (see 'eligo rules --help')");
    const steps = intOption(values.steps, 'steps', 50, 1, 1_000_000);
    const samplesN = intOption(values.samples, 'samples', 2, 1, 100);
    const seed = intOption(values.seed, 'seed', 1, 0, 2 ** 31);
    const profile = hardwareOption(str(values.hardware));
    const maxMemoryBytes = sizeOption(str(values['max-memory']), 'max-memory', DEFAULT_MAX_MEMORY);
    const c = await compileWithData(file);
    const model = modelOf(c, file, str(values.model));
    const all = analyseRules(c, { steps, ...(profile ? { hardwareProfile: profile } : {}), maxMemoryBytes }).filter((r) => r.model === model);
    const rulesOfModel = c.items.filter((i) => i.kind === 'rule' && i.scope?.kind === 'rule' && i.scope.item.model.name === model);
    let failed = false;
    for (const item of rulesOfModel) {
      if (item.hasErrors) {
        failed = true;
        for (const d of c.diagnostics)
          if (d.severity === 'error' && d.range.start >= item.range.start && d.range.end <= item.range.end)
            process.stderr.write(`${formatDiagnostic(file, c.lines, d)}\n`);
      }
    }
    for (const r of all) {
      for (const d of r.diagnostics) {
        process.stderr.write(`${formatDiagnostic(file, c.lines, d)}\n`);
        if (d.severity === 'error') failed = true;
      }
    }
    if (rulesOfModel.length === 0)
      throw new CliError(`${file}: no rule for model '${model}' (write 'rule NAME for ${model} { … }', or run eligo find-rule)`, 1);
    const ctx = all.find((r) => r.ctx)?.ctx ?? modelContext(c, model);
    const usable = all.filter((r) => r.rule && r.cost && !r.diagnostics.some((d) => d.severity === 'error'));
    // Say what the alignment will cost before doing it (large models took minutes in silence), and refuse what would not fit.
    const tape = tapeBytes(ctx.structure, steps) * samplesN;
    const work = usable.reduce((a, r) => a + (r.cost?.multiplicationsPerStep ?? 0), 0) * steps * samplesN;
    const mem = availableBytes('cpu');
    const t0 = performance.now();
    const say = (m: string): void => {
      process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${m}\n`);
    };
    say(
      `${model}: ${usable.length} rule${usable.length === 1 ? '' : 's'} to align with BPTT on ${samplesN} × ${steps} steps: the exact blocks of every step take about ${fmtBytes(tape)}, the rules about ${work.toExponential(1)} multiplications (Float64 reference, roughly ${Math.max(1, Math.round(work / 2e7))} s)`,
    );
    if (tape > 0.8 * mem.bytes) {
      throw new CliError(
        `${file}: aligning the rules of '${model}' would record ${fmtBytes(tape)} of exact blocks (${samplesN} samples × ${steps} steps), more than 80 % of ${fmtBytes(mem.bytes)} (${mem.why}); use fewer --steps or --samples`,
        1,
      );
    }
    const samples = alignmentSamples(ctx, { steps, samples: samplesN, seed });
    say('recorded the sample sequences; exact gradients…');
    const exact = usable.length ? exactGradients(ctx, samples) : [];
    const gradientsPath = str(values.gradients);
    if (gradientsPath !== undefined) {
      // The first sample (seed S): its inputs, initial parameters and every usable rule's update.
      const sample = sampleInput(ctx, steps, seed);
      writeJsonAtomic(
        gradientsPath,
        gradientsJson(
          file,
          ctx,
          sample,
          seed,
          usable.map((r) => ({ name: r.name, rule: r.rule! })),
        ),
      );
      process.stderr.write(
        `wrote ${gradientsPath}: the update of ${usable.length} rule${usable.length === 1 ? '' : 's'} per parameter on sample seed ${seed}, ${steps} steps, with its inputs and initial parameters\n`,
      );
    }
    const rows = all.map((r) => {
      const ok = usable.includes(r);
      if (ok) say(`rule ${r.name}: alignment…`);
      const alignment = ok ? ruleAlignment(ctx, r.rule!, samples, exact) : null;
      const scaling = ok ? symbolicScaling(c.text, model, r.spec) : null;
      return { r, alignment, scaling };
    });
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({
          model,
          rules: rows.map(({ r, alignment }) => ({
            name: r.name,
            online: r.spec.schedule.kind === 'online',
            multiplicationsPerStep: r.cost?.multiplicationsPerStep ?? null,
            memoryBytes: r.cost?.memoryBytes ?? null,
            alignment: alignmentJson(alignment),
          })),
        })}\n`,
      );
      return failed ? 1 : 0;
    }
    process.stdout.write(
      `${model}: ${rows.length} rule${rows.length === 1 ? '' : 's'}; memory for T = ${steps}; alignment with BPTT on ${samplesN} × ${steps} steps (seed ${seed})\n`,
    );
    process.stdout.write(
      `${table(
        ['rule', 'schedule', 'mults/step', 'memory', 'scaling (compute, memory)', 'cosine', 'rel. error', 'sign agr.'],
        rows.map(({ r, alignment, scaling }) => [
          r.name,
          r.spec.schedule.kind,
          r.cost ? r.cost.multiplicationsPerStep : '—',
          r.cost ? fmtBytes(r.cost.memoryBytes) : '—',
          scaling ? `${scaling.compute}, ${scaling.memory}` : '—',
          alignment ? alignment.cosine : '—',
          alignment ? alignment.relativeError : '—',
          alignment ? alignment.signAgreement : '—',
        ]),
      )}\n`,
    );
    if (values.program || values.latex) {
      for (const { r } of rows) {
        if (!r.rule || r.spec.schedule.kind !== 'online') continue;
        const p = r.rule.derived.program;
        process.stdout.write(`\nrule ${r.name} — online update program\n`);
        const lines = values.latex ? p.equations.latex : p.equations.text;
        process.stdout.write(`${lines.map((l) => `  ${l}`).join('\n')}\n`);
      }
    }
    if (profile) {
      process.stdout.write(`\nhardware: ${profile.name}\n`);
      for (const { r } of rows) {
        if (!r.rule) continue;
        const online = r.spec.schedule.kind === 'online';
        const fit = checkFit(profile, online, r);
        process.stdout.write(`  ${r.name}: ${fit}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};

function checkFit(profile: HardwareProfile, online: boolean, r: { rule?: { derived: { program: Parameters<typeof checkHardware>[2] } } }): string {
  const f = checkHardware(profile, online, online && r.rule ? r.rule.derived.program : null);
  return f.fits ? `fits (${fmtBytes(f.perCoreBytes)} per core)` : `does not fit: ${f.reasons.join('; ')}`;
}

function hardwareJson(c: Candidate): { fits: boolean | null; why: string } {
  if (!c.hardware) return { fits: null, why: 'no hardware profile given' };
  return {
    fits: c.hardware.fits,
    why: c.hardware.fits
      ? `fits: ${fmtBytes(c.hardware.perCoreBytes)} per core, ${formatNumber(c.hardware.perSynapseWords)} learning words per synapse`
      : c.hardware.reasons.join('; '),
  };
}

/** Names for written rules that do not clash with the file's items. */
function freshName(c: Compiled, taken: Set<string>, base: string): string {
  const names = new Set([...c.items.map((i) => i.name), ...taken]);
  let name = names.has(base) ? `${base}_found` : base;
  for (let k = 2; names.has(name); k++) name = `${base}_found${k}`;
  taken.add(name);
  return name;
}

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(1)} %`);

/** The accuracy lines of a found rule's text, computed in this run. */
function accuracyComment(f: Discovered): string[] {
  const lines: string[] = [];
  if (f.accuracy)
    lines.push(`accuracy on ${f.accuracy.task}: test ${pct(f.accuracy.test)}, train ${pct(f.accuracy.train)} after ${f.accuracy.updates} updates`);
  if (f.alignmentOnTask)
    lines.push(
      `alignment with BPTT on the task along a BPTT run: initial ${f.alignmentOnTask.initial.toFixed(3)}, trained ${f.alignmentOnTask.trained.toFixed(3)}, mean ${f.alignmentOnTask.mean.toFixed(3)}`,
    );
  return lines;
}

export const findRuleCommand: Command = {
  name: 'find-rule',
  summary: [
    'Find learning rules for a model: search the approximations of its blocks through time (keep, diagonal, drop)',
    'and the schedule (online or reverse). With --task (the syntax of eligo train) alignment with BPTT is measured on the',
    "task's sequences at 0 %, 50 % and 100 % of a short BPTT run, and the promising rules are trained on the task",
    '(successive halving: briefly, then the best third three times longer): the front is cost (multiplications per step,',
    'memory, hardware fit) against test accuracy. Without --task the front is cost against alignment on random sequences.',
    'Every rule says which parameters it updates and how; rules that update only the readout, or nothing, are labelled.',
    '--method anneal|mcts|auto searches spaces too large to enumerate; --hardware keeps only rules that fit the chip;',
    '--write appends the front as rule items. --evaluations N stops the search after N rules and skips none for time:',
    "a reproducible run. --redis URL measures the rules' alignment on eligo worker processes (docs/scale-out.md), with",
    'the same result; the reference run and the training stay here. Ctrl-C stops and prints the front so far.',
  ].join('\n'),
  usage:
    'eligo find-rule FILE --model NAME [--task TASK] [--budget 60s] [--hardware loihi2|spinnaker2|brainscales2|FILE] [--method anneal|mcts|auto] [--steps T] [--samples K] [--seed S] [--batch B] [--min-updates N] [--reference-updates N] [--max-trained K] [--rungs R] [--evaluations N] [--redis redis://HOST:PORT] [--write] [--json]',
  options: {
    model: { type: 'string', value: 'NAME', defaultText: "the file's only model", example: 'lif', description: 'The model to find rules for.' },
    budget: {
      type: 'string',
      value: 'DURATION',
      default: '60s',
      example: '1.5h',
      description: 'Time for the search; it stops there and prints the front found so far.',
    },
    hardware: HARDWARE_OPTION,
    steps: { type: 'string', value: 'T', default: '100', example: '200', description: 'Sequence length for memory and alignment.' },
    samples: { type: 'string', value: 'K', default: '2', example: '4', description: 'Random sequences the alignment with BPTT is averaged over.' },
    seed: { type: 'string', value: 'S', default: '1', example: '7', description: 'Seed of the search and of the alignment sequences.' },
    write: { type: 'boolean', description: 'Append the front to FILE as rule items (refused if FILE changed during the search).' },
    json: { type: 'boolean', description: 'Print {"model", "front": [...]} as JSON.' },
    'max-memory': { type: 'string', value: 'SIZE', default: '512MiB', example: '2GiB', description: 'Rules needing more memory than this are not evaluated.' },
    quiet: { type: 'boolean', description: 'No progress lines on stderr.' },
    task: {
      type: 'string',
      value: 'TASK',
      defaultText: 'none: cost against alignment on random sequences',
      example: 'evidence:T=100',
      description: 'Measure alignment on this task along a BPTT run and train the promising rules on it (the syntax of eligo train).',
    },
    method: {
      type: 'string',
      value: 'NAME',
      default: 'auto',
      example: 'mcts',
      description: `How to search spaces too large to enumerate: ${METHODS.join(', ')} (auto: annealing, the better one at equal time in the discovery benchmark).`,
    },
    batch: { type: 'string', value: 'B', default: '16', example: '32', description: 'Sequences per update when rules are trained.' },
    'min-updates': { type: 'string', value: 'N', default: '10', example: '20', description: 'Updates of the first (briefest) training round.' },
    'reference-updates': {
      type: 'string',
      value: 'N',
      default: '100',
      example: '300',
      description: 'Updates of the BPTT reference run whose checkpoints alignment is measured at.',
    },
    'max-trained': { type: 'string', value: 'K', default: '9', example: '20', description: 'Most candidates trained in the first round.' },
    rungs: {
      type: 'string',
      value: 'R',
      default: '3',
      example: '4',
      description: 'Rounds of successive halving (each trains the best third three times longer).',
    },
    evaluations: {
      type: 'string',
      value: 'N',
      defaultText: 'until the budget',
      example: '40',
      description: 'Stop the search after N rules evaluated and skip none for time, so the result does not depend on the machine or the workers.',
    },
    redis: {
      type: 'string',
      value: 'URL',
      defaultText: 'measure here',
      example: 'redis://127.0.0.1:6379',
      description: "Measure the candidates' alignment on eligo worker processes through this Redis (docs/scale-out.md); a password in the URL is never shown.",
    },
  },
  examples: ['eligo find-rule examples/lif.eligo --model lif --budget 30s', 'eligo find-rule examples/alif.eligo --model alif --hardware loihi2 --write'],
  async run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new CliError("eligo find-rule: give a FILE (see 'eligo find-rule --help')");
    const budgetMs = durationOption(str(values.budget), 'budget', 60_000);
    const steps = intOption(values.steps, 'steps', 100, 1, 1_000_000);
    const samples = intOption(values.samples, 'samples', 2, 1, 100);
    const seed = intOption(values.seed, 'seed', 1, 0, 2 ** 31);
    const batch = intOption(values.batch, 'batch', 16, 1, 4096);
    const minUpdates = intOption(values['min-updates'], 'min-updates', 10, 1, 1_000_000);
    const referenceUpdates = intOption(values['reference-updates'], 'reference-updates', 100, 1, 1_000_000);
    const maxTrained = intOption(values['max-trained'], 'max-trained', 9, 1, 10_000);
    const rungs = values.rungs === undefined ? undefined : intOption(values.rungs, 'rungs', 3, 1, 100);
    const methodName: MethodName = choiceOption(values.method, 'method', METHODS) ?? 'auto';
    const task = str(values.task);
    const maxBytes = sizeOption(str(values['max-memory']), 'max-memory', 512 * 1024 ** 2);
    const profile = hardwareOption(str(values.hardware));
    const evaluations = values.evaluations !== undefined ? intOption(values.evaluations, 'evaluations', 1, 1, 1_000_000) : undefined;
    const source = readSourceFile(file);
    const text = source.text;
    const c = await compileWithData(file, text);
    const model = modelOf(c, file, str(values.model));
    const ctx = modelContext(c, model);
    const at = ((): string => {
      const item = c.items.find((i) => i.name === model)!;
      const p = c.lines.positionAt(item.nameRange.start);
      return `${file}:${p.line + 1}:${p.character + 1}`;
    })();
    const ac = new AbortController();
    const onInt = (): void => ac.abort();
    process.once('SIGINT', onInt);
    const say = (m: string): void => {
      if (!values.quiet && !values.json) process.stderr.write(`${m}\n`);
    };
    const queue = await connectQueue(str(values.redis), 'find-rule', say);
    const t0 = Date.now();
    const search = searchFor(methodName, profile !== undefined);
    let result;
    try {
      // --redis: every candidate's alignment is measured on the workers, on the sets discovery chooses (random sequences, or the task's along the reference run).
      const paramValues = dataParamValues(c);
      const measurer = queue
        ? (source: Parameters<typeof candidateBase>[1]) =>
            queuedMeasurer(queue, candidateBase({ text, model, maxBytes, seed, paramValues }, source), {
              label: `find-rule ${model}`,
              onEvent: (_k, m) => say(`  ${m}`),
            })
        : undefined;
      result = await discoverRules(ctx, {
        budgetMs,
        steps,
        samples,
        seed,
        maxBytes,
        signal: ac.signal,
        batch,
        minUpdates,
        referenceUpdates,
        maxTrained,
        search,
        ...(rungs ? { rungs } : {}),
        ...(profile ? { hardware: profile } : {}),
        ...(task !== undefined ? { task } : {}),
        ...(evaluations !== undefined ? { maxEvaluations: evaluations } : {}),
        ...(measurer ? { measurer } : {}),
        onProgress: (p) => say(`  [${(p.elapsedMs / 1000).toFixed(1)} s] ${p.message}`),
      });
    } catch (e) {
      if (e instanceof DiscoverError) throw new CliError(`${at}: error: ${e.message}`, 1);
      if (e instanceof TaskFailed) throw new CliError(`eligo find-rule: ${e.message}`, 1);
      throw e;
    } finally {
      process.removeListener('SIGINT', onInt);
      await queue?.close();
    }
    const taken = new Set<string>();
    let writeError: CliError | undefined;
    const names = new Map(result.front.map((f) => [f, values.write ? freshName(c, taken, f.ruleName) : f.ruleName]));
    const textOf = (f: Discovered): string => {
      const t = f.text.replace(`rule ${f.ruleName} for`, `rule ${names.get(f)!} for`);
      const extra = accuracyComment(f).map((l) => `# ${l}`);
      if (!extra.length) return t;
      const k = t.indexOf('\nrule ');
      return k < 0 ? t : `${t.slice(0, k)}\n${extra.join('\n')}${t.slice(k)}`;
    };
    if (values.write && result.front.length) {
      // The whole new text through a temporary file and a rename, and only if FILE is still what was read.
      const block = result.front.map(textOf).join('\n\n');
      try {
        writeTextFileAtomic(file, `${text}${text.endsWith('\n') ? '' : '\n'}\n${block}\n`, { unchangedSince: source.fingerprint, bom: source.bom });
      } catch (e) {
        if (!(e instanceof EligoError)) throw e;
        // Refused or failed: the front is still printed below, then the refusal.
        writeError = new CliError(
          `eligo find-rule: ${e.message}; the rules found are printed above, add them by hand or run again`,
          e.code === 'file.changed' ? 1 : 2,
        );
      }
    }
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({
          model,
          method: result.method,
          evaluations: result.evaluated.length,
          trained: result.trained,
          task: result.task,
          frontBasis: result.frontBasis,
          ...(result.frontWhy ? { frontWhy: result.frontWhy } : {}),
          notes: result.notes,
          reference: result.reference
            ? {
                updates: result.reference.done,
                planned: result.reference.planned,
                testAccuracy: result.reference.testAccuracy,
                snapshots: result.reference.snapshots,
              }
            : null,
          front: result.front.map((f) => ({
            name: f.known,
            rule: textOf(f),
            online: f.cost.online,
            multiplicationsPerStep: f.cost.multiplicationsPerStep,
            memoryBytes: f.cost.memoryBytes,
            alignment: alignmentJson(f.alignment),
            hardware: hardwareJson(f),
            accuracy: f.accuracy,
            ...(f.accuracy ? {} : { why: f.accuracyWhy ?? 'not trained' }),
            updatedParams: f.credit.updatedParams,
            credit: { kind: f.credit.kind, summary: f.credit.summary, paths: f.credit.paths, warnings: f.credit.warnings },
            alignmentOnTask: f.alignmentOnTask,
          })),
        })}\n`,
      );
      if (writeError) throw writeError;
      return 0;
    }
    const how = result.method === 'enumeration' ? 'enumerated' : `${result.method} over`;
    process.stdout.write(
      `${model}: ${how} ${result.spaceSize} rules (${result.evaluated.length} evaluated, ${result.trained} trained${result.task ? ` on ${result.task}` : ''}${result.stopped ? `, stopped by ${result.stopped}` : ''}) in ${((Date.now() - t0) / 1000).toFixed(1)} s${queue ? ` (measured on the ${queue.description})` : ''}${profile ? `; hardware ${profile.name}` : ''}\n`,
    );
    if (result.reference)
      process.stdout.write(
        `BPTT reference run: ${result.reference.done} updates (batch ${batch}), test accuracy ${pct(result.reference.testAccuracy)}; alignment at ${result.reference.snapshots.map((s) => `${s.label} (${s.updates})`).join(', ')}\n`,
      );
    for (const n of result.notes) process.stdout.write(`note: ${n}\n`);
    process.stdout.write(
      `Pareto front (${result.front.length}), ${result.frontBasis === 'accuracy' ? 'cost against test accuracy' : `cost against alignment${result.frontWhy ? ` — ${result.frontWhy}` : ''}`}:\n`,
    );
    const tasked = result.task !== null;
    process.stdout.write(
      `${table(
        [
          'name',
          'rule',
          'schedule',
          'updates',
          'mults/step',
          'memory',
          ...(tasked ? ['test acc', 'train acc', 'trained for'] : []),
          tasked ? 'alignment (0, end, mean)' : 'cosine',
          ...(profile ? ['fits'] : []),
        ],
        result.front.map((f) => [
          f.known ?? (f.credit.kind === 'readout-only' ? 'readout only' : f.credit.kind === 'none' ? 'updates nothing' : '—'),
          names.get(f)!,
          f.spec.schedule.kind,
          f.credit.summary,
          f.cost.multiplicationsPerStep,
          fmtBytes(f.cost.memoryBytes),
          ...(tasked ? [pct(f.accuracy?.test), pct(f.accuracy?.train), f.accuracy ? `${f.accuracy.updates} updates` : (f.accuracyWhy ?? '—')] : []),
          f.alignmentOnTask
            ? `${f.alignmentOnTask.initial.toFixed(2)}, ${f.alignmentOnTask.trained.toFixed(2)}, ${f.alignmentOnTask.mean.toFixed(2)}`
            : f.alignment.cosine,
          ...(profile ? [f.hardware?.fits ? 'yes' : 'no'] : []),
        ]),
      )}\n`,
    );
    for (const f of result.front) process.stdout.write(`\n${textOf(f)}\n`);
    if (result.skipped.length)
      process.stdout.write(
        `\n${result.skipped.length} rule${result.skipped.length === 1 ? '' : 's'} not evaluated: ${groupReasons(result.skipped.map((s) => s.why))}\n`,
      );
    if (profile) {
      const unfit = result.evaluated.filter((e) => e.hardware && !e.hardware.fits);
      if (unfit.length)
        process.stdout.write(
          `${unfit.length} evaluated rule${unfit.length === 1 ? '' : 's'} do not fit ${profile.name}, e.g. ${unfit[0]!.known ?? unfit[0]!.ruleName}: ${unfit[0]!.hardware!.reasons[0]}\n`,
        );
    }
    if (writeError) throw writeError;
    if (values.write) process.stdout.write(`\nappended ${result.front.length} rule${result.front.length === 1 ? '' : 's'} to ${file}\n`);
    return 0;
  },
};

/**
 * Reasons that differ only in their figures, said once with the figures' range and a count:
 * "its alignment would take about 1–892 s, more than the budget left (4 rules)".
 */
export function groupReasons(reasons: readonly string[]): string {
  const groups = new Map<string, { count: number; figures: number[][] }>();
  const figure = /\d+(?:\.\d+)?/g;
  for (const r of reasons) {
    const key = r.replace(figure, '#');
    const g = groups.get(key) ?? { count: 0, figures: [] };
    g.count++;
    g.figures.push((r.match(figure) ?? []).map(Number));
    groups.set(key, g);
  }
  return [...groups]
    .map(([key, g]) => {
      let k = 0;
      const text = key.replace(/#/g, () => {
        const vs = g.figures.map((f) => f[k]!).filter((v) => v !== undefined);
        k++;
        const lo = Math.min(...vs);
        const hi = Math.max(...vs);
        return lo === hi ? String(lo) : `${lo}–${hi}`;
      });
      return g.count === 1 ? text : `${text} (${g.count} rules)`;
    })
    .join('; ');
}
