// `eligo rules FILE --model NAME`: every rule of a model with its cost,
// memory and alignment with BPTT; `eligo find-rule FILE --model NAME`: the
// Pareto front of learning rules for the model, optionally under a hardware
// profile, written back into the file with --write.

import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { compile, findItem, ItemError, type Compiled } from '../compile.js';
import { alignmentSamples, exactGradients, ruleAlignment, type Alignment } from '../rules/alignment.js';
import { symbolicScaling } from '../rules/cost.js';
import { analyseRules, DEFAULT_MAX_MEMORY } from '../rules/diagnostics.js';
import { findLearningRule, type Candidate } from '../rules/find.js';
import { BUILTIN_PROFILES, checkHardware, fmtBytes, profileFromJson, ProfileError, type HardwareProfile } from '../rules/hardware.js';
import { modelContext } from '../rules/model.js';
import { connectQueue } from './queue.js';
import { queuedMeasurer } from '../jobs/queue/runs.js';
import { TaskFailed } from '../jobs/queue/kind.js';
import { CliError, formatDiagnostic, formatNumber, intOption, readSource, str, table, type Command } from './common.js';

/** `60s`, `2m`, `500ms`, `90` (seconds) → milliseconds. */
export function parseDuration(v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$/.exec(v);
  if (!m) throw new CliError(`--budget must be a duration such as 60s, 2m or 500ms, got '${v}'`);
  const x = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? x : unit === 's' ? x * 1000 : x * 60000;
  if (!(ms > 0) || ms > 24 * 3600 * 1000) throw new CliError(`--budget must be between 1 ms and 24 h, got '${v}'`);
  return ms;
}

/** `512MiB`, `1GB`, `65536` (bytes). */
export function parseBytesOption(v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$/.exec(v);
  if (!m) throw new CliError(`--max-memory must be a size such as 512MiB or 2GB, got '${v}'`);
  const units: Record<string, number> = { B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };
  return Number(m[1]) * units[m[2] ?? 'B']!;
}

function loadProfile(v: string | undefined): HardwareProfile | undefined {
  if (v === undefined) return undefined;
  const builtin = BUILTIN_PROFILES.get(v.toLowerCase());
  if (builtin) return builtin;
  if (!existsSync(v)) throw new CliError(`--hardware must be one of ${[...BUILTIN_PROFILES.keys()].join(', ')} or a JSON file; '${v}' is neither`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(v, 'utf8'));
  } catch (e) {
    throw new CliError(`--hardware ${v}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return profileFromJson(json, v);
  } catch (e) {
    if (e instanceof ProfileError) throw new CliError(`--hardware ${e.message}`);
    throw e;
  }
}

function modelOf(c: Compiled, file: string, name: string | undefined): string {
  try {
    const item = findItem(c, name, ['model']);
    if (item.hasErrors) throw new CliError(`${file}: model '${item.name}' has errors; fix them first (eligo check ${file})`, 1);
    const scope = item.scope;
    if (scope?.kind === 'model' && !scope.loss) {
      const p = c.lines.positionAt(item.nameRange.start);
      throw new CliError(`${file}:${p.line + 1}:${p.character + 1}: error: model '${item.name}' has no loss: add 'loss = …' so a rule has something to minimise [rule.no-loss]`, 1);
    }
    return item.name;
  } catch (e) {
    if (e instanceof ItemError) throw new CliError(`${file}: ${e.message}`, 1);
    throw e;
  }
}

const alignmentJson = (a: Alignment | null): { cosine: number; relativeError: number } | null => (a ? { cosine: a.cosine, relativeError: a.relativeError } : null);

export const rulesCommand: Command = {
  name: 'rules',
  summary: [
    'Every rule of a model: its schedule, multiplications per step and memory counted by the elimination engine,',
    'the symbolic scaling in n and T, and its alignment with exact BPTT (cosine and relative error, means over the',
    'parameters) on --samples random sequences of --steps steps. --program prints each online rule\'s update',
    'program (traces, learning signals, three-factor updates); --latex prints it as LaTeX.',
  ].join('\n'),
  usage: 'eligo rules FILE --model NAME [--steps T] [--samples K] [--seed S] [--hardware NAME|FILE] [--max-memory 1GiB] [--program] [--latex] [--json]',
  options: {
    model: { type: 'string' }, steps: { type: 'string' }, samples: { type: 'string' }, seed: { type: 'string' }, hardware: { type: 'string' },
    'max-memory': { type: 'string' }, program: { type: 'boolean' }, latex: { type: 'boolean' }, json: { type: 'boolean' },
  },
  run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new CliError("eligo rules: give a FILE (see 'eligo rules --help')");
    const steps = intOption(values.steps, 'steps', 50, 1, 1_000_000);
    const samplesN = intOption(values.samples, 'samples', 2, 1, 100);
    const seed = intOption(values.seed, 'seed', 1, 0, 2 ** 31);
    const profile = loadProfile(str(values.hardware));
    const maxMemoryBytes = parseBytesOption(str(values['max-memory']), DEFAULT_MAX_MEMORY);
    const c = compile(readSource(file));
    const model = modelOf(c, file, str(values.model));
    const all = analyseRules(c, { steps, ...(profile ? { hardwareProfile: profile } : {}), maxMemoryBytes }).filter((r) => r.model === model);
    const rulesOfModel = c.items.filter((i) => i.kind === 'rule' && i.scope?.kind === 'rule' && i.scope.item.model.name === model);
    let failed = false;
    for (const item of rulesOfModel) {
      if (item.hasErrors) {
        failed = true;
        for (const d of c.diagnostics) if (d.severity === 'error' && d.range.start >= item.range.start && d.range.end <= item.range.end) process.stderr.write(`${formatDiagnostic(file, c.lines, d)}\n`);
      }
    }
    for (const r of all) {
      for (const d of r.diagnostics) {
        process.stderr.write(`${formatDiagnostic(file, c.lines, d)}\n`);
        if (d.severity === 'error') failed = true;
      }
    }
    if (rulesOfModel.length === 0) throw new CliError(`${file}: no rule for model '${model}' (write 'rule NAME for ${model} { … }', or run eligo find-rule)`, 1);
    const ctx = all.find((r) => r.ctx)?.ctx ?? modelContext(c, model);
    const samples = alignmentSamples(ctx, { steps, samples: samplesN, seed });
    const usable = all.filter((r) => r.rule && r.cost && !r.diagnostics.some((d) => d.severity === 'error'));
    const exact = usable.length ? exactGradients(ctx, samples) : [];
    const rows = all.map((r) => {
      const ok = usable.includes(r);
      const alignment = ok ? ruleAlignment(ctx, r.rule!, samples, exact) : null;
      const scaling = ok ? symbolicScaling(c.text, model, r.spec) : null;
      return { r, alignment, scaling };
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({
        model,
        rules: rows.map(({ r, alignment }) => ({
          name: r.name, online: r.spec.schedule.kind === 'online',
          multiplicationsPerStep: r.cost?.multiplicationsPerStep ?? null, memoryBytes: r.cost?.memoryBytes ?? null,
          alignment: alignmentJson(alignment),
        })),
      })}\n`);
      return failed ? 1 : 0;
    }
    process.stdout.write(`${model}: ${rows.length} rule${rows.length === 1 ? '' : 's'}; memory for T = ${steps}; alignment with BPTT on ${samplesN} × ${steps} steps (seed ${seed})\n`);
    process.stdout.write(`${table(
      ['rule', 'schedule', 'mults/step', 'memory', 'scaling (compute, memory)', 'cosine', 'rel. error', 'sign agr.'],
      rows.map(({ r, alignment, scaling }) => [
        r.name, r.spec.schedule.kind, r.cost ? r.cost.multiplicationsPerStep : '—', r.cost ? fmtBytes(r.cost.memoryBytes) : '—',
        scaling ? `${scaling.compute}, ${scaling.memory}` : '—',
        alignment ? alignment.cosine : '—', alignment ? alignment.relativeError : '—', alignment ? alignment.signAgreement : '—',
      ]),
    )}\n`);
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
  return { fits: c.hardware.fits, why: c.hardware.fits ? `fits: ${fmtBytes(c.hardware.perCoreBytes)} per core, ${formatNumber(c.hardware.perSynapseWords)} learning words per synapse` : c.hardware.reasons.join('; ') };
}

/** Names for written rules that do not clash with the file's items. */
function freshName(c: Compiled, taken: Set<string>, base: string): string {
  const names = new Set([...c.items.map((i) => i.name), ...taken]);
  let name = names.has(base) ? `${base}_found` : base;
  for (let k = 2; names.has(name); k++) name = `${base}_found${k}`;
  taken.add(name);
  return name;
}

export const findRuleCommand: Command = {
  name: 'find-rule',
  summary: [
    'Find learning rules for a model: search the approximations of its blocks through time (keep, diagonal, drop)',
    'and the schedule (online or reverse) for the Pareto front of cost (multiplications per step, memory) against',
    'alignment with exact BPTT, within --budget. Known rules on the front are named (BPTT, RTRL, e-prop, SnAp-1,',
    'no recurrent credit). --hardware keeps only rules that fit the chip; --write appends the front as rule items.',
    '--evaluations N stops after N rules and skips none for time: a reproducible run. --redis URL measures the rules',
    'on eligo worker processes (docs/scale-out.md), with the same result. Ctrl-C stops and prints the front so far.',
  ].join('\n'),
  usage: 'eligo find-rule FILE --model NAME [--budget 60s] [--hardware loihi2|spinnaker2|brainscales2|FILE] [--steps T] [--samples K] [--seed S] [--evaluations N] [--redis redis://HOST:PORT] [--write] [--json]',
  options: {
    model: { type: 'string' }, budget: { type: 'string' }, hardware: { type: 'string' }, steps: { type: 'string' }, samples: { type: 'string' },
    seed: { type: 'string' }, write: { type: 'boolean' }, json: { type: 'boolean' }, 'max-memory': { type: 'string' }, quiet: { type: 'boolean' },
    evaluations: { type: 'string' }, redis: { type: 'string' },
  },
  async run({ values, positionals }) {
    const file = positionals[0];
    if (!file) throw new CliError("eligo find-rule: give a FILE (see 'eligo find-rule --help')");
    const budgetMs = parseDuration(str(values.budget), 60_000);
    const steps = intOption(values.steps, 'steps', 100, 1, 1_000_000);
    const samples = intOption(values.samples, 'samples', 2, 1, 100);
    const seed = intOption(values.seed, 'seed', 1, 0, 2 ** 31);
    const maxBytes = parseBytesOption(str(values['max-memory']), 512 * 1024 ** 2);
    const profile = loadProfile(str(values.hardware));
    const evaluations = values.evaluations !== undefined ? intOption(values.evaluations, 'evaluations', 1, 1, 1_000_000) : undefined;
    const text = readSource(file);
    const c = compile(text);
    const model = modelOf(c, file, str(values.model));
    const ctx = modelContext(c, model);
    const ac = new AbortController();
    const onInt = (): void => ac.abort();
    process.once('SIGINT', onInt);
    const say = (m: string): void => { if (!values.quiet && !values.json) process.stderr.write(`${m}\n`); };
    const queue = await connectQueue(str(values.redis), 'find-rule', say);
    const t0 = Date.now();
    let result;
    try {
      result = await findLearningRule(ctx, {
        budgetMs, steps, samples, seed, maxBytes, signal: ac.signal, ...(profile ? { hardware: profile } : {}),
        ...(evaluations !== undefined ? { maxEvaluations: evaluations } : {}),
        ...(queue ? { measure: queuedMeasurer(queue, { text, model, steps, samples, seed, maxBytes }, { label: `find-rule ${model}`, onEvent: (_k, m) => say(`  ${m}`) }) } : {}),
        onProgress: (p) => say(`  [${(p.elapsedMs / 1000).toFixed(1)} s] ${p.message}`),
      });
    } catch (e) {
      if (e instanceof TaskFailed) throw new CliError(`eligo find-rule: ${e.message}`, 1);
      throw e;
    } finally {
      process.removeListener('SIGINT', onInt);
      await queue?.close();
    }
    const taken = new Set<string>();
    const names = new Map(result.front.map((f) => [f, values.write ? freshName(c, taken, f.ruleName) : f.ruleName]));
    const textOf = (f: Candidate): string => f.text.replace(`rule ${f.ruleName} for`, `rule ${names.get(f)!} for`);
    if (values.write && result.front.length) {
      const block = result.front.map(textOf).join('\n\n');
      appendFileSync(file, `${text.endsWith('\n') ? '' : '\n'}\n${block}\n`);
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify({
        model,
        front: result.front.map((f) => ({
          name: f.known, rule: textOf(f), online: f.cost.online, multiplicationsPerStep: f.cost.multiplicationsPerStep, memoryBytes: f.cost.memoryBytes,
          alignment: alignmentJson(f.alignment), hardware: hardwareJson(f),
        })),
      })}\n`);
      return 0;
    }
    const how = result.method === 'enumeration' ? 'enumerated' : 'annealing over';
    process.stdout.write(`${model}: ${how} ${result.spaceSize} rules (${result.evaluated.length} evaluated${result.stopped ? `, stopped by ${result.stopped}` : ''}) in ${((Date.now() - t0) / 1000).toFixed(1)} s${queue ? ` on the ${queue.description}` : ''}; memory for T = ${steps}; alignment with BPTT on ${samples} × ${steps} steps${profile ? `; hardware ${profile.name}` : ''}\n`);
    process.stdout.write(`Pareto front (${result.front.length}):\n`);
    process.stdout.write(`${table(
      ['name', 'rule', 'schedule', 'mults/step', 'memory', 'cosine', 'rel. error', ...(profile ? ['fits'] : [])],
      result.front.map((f) => [
        f.known ?? '—', names.get(f)!, f.spec.schedule.kind, f.cost.multiplicationsPerStep, fmtBytes(f.cost.memoryBytes), f.alignment.cosine, f.alignment.relativeError,
        ...(profile ? [f.hardware?.fits ? 'yes' : 'no'] : []),
      ]),
    )}\n`);
    for (const f of result.front) process.stdout.write(`\n${textOf(f)}\n`);
    if (result.skipped.length) process.stdout.write(`\n${result.skipped.length} rule${result.skipped.length === 1 ? '' : 's'} not evaluated: ${[...new Set(result.skipped.map((s) => s.why))].join('; ')}\n`);
    if (profile) {
      const unfit = result.evaluated.filter((e) => e.hardware && !e.hardware.fits);
      if (unfit.length) process.stdout.write(`${unfit.length} evaluated rule${unfit.length === 1 ? '' : 's'} do not fit ${profile.name}, e.g. ${unfit[0]!.known ?? unfit[0]!.ruleName}: ${unfit[0]!.hardware!.reasons[0]}\n`);
    }
    if (values.write) process.stdout.write(`\nappended ${result.front.length} rule${result.front.length === 1 ? '' : 's'} to ${file}\n`);
    return 0;
  },
};
