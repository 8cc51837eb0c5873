// `eligo import nir …` and `eligo export nir|lava|torch …`: the bridges of
// interop/, presented. Every output goes through interop/files.ts: an
// existing file is kept unless --force, and nothing is written on failure.

import { dirname, extname, join, resolve } from 'node:path';
import { compile, findItem, ItemError, type Compiled } from '../compile.js';
import { Hdf5Error } from '../interop/hdf5.js';
import { OutputExistsError, writeOutputs, type OutputFile } from '../interop/files.js';
import { BridgeError, importBridge } from '../interop/bridges.js';
import type { Method } from '../interop/nir/import.js';
import { loadParamData } from '../interop/paramData.js';
import { CliError, formatDiagnostic, intOption, readSource, str, type Command } from './common.js';
import { bridgeFailure, outputFiles, runExport } from './exporters.js';

function numberOpt(v: unknown, name: string, def: number | undefined): number | undefined {
  if (v === undefined) return def;
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new CliError(`--${name} must be a positive number, got '${String(v)}'`);
  return x;
}

function methodOpt(v: unknown): Method {
  if (v === undefined || v === 'exact') return 'exact';
  if (v === 'euler') return 'euler';
  throw new CliError(`--method must be exact or euler, got '${String(v)}'`);
}

/** Writes outputs, turning an existing target into the usage error that asks for --force. */
async function write(files: OutputFile[], force: boolean): Promise<void> {
  try {
    await writeOutputs(files, force);
  } catch (e) {
    if (e instanceof OutputExistsError) throw new CliError(`eligo: ${e.message}`, 2);
    if (e instanceof Hdf5Error) throw new CliError(`eligo: ${e.message}`, 2);
    throw e;
  }
}

/**
 * Compiles FILE and loads the values of its `data(…)` params from files next
 * to it; located errors (exit 1) when a reference cannot be loaded.
 */
export async function compileWithData(file: string, text?: string): Promise<Compiled> {
  const c = compile(text ?? readSource(file));
  const problems = await loadParamData(c, { baseDir: dirname(resolve(file)), trusted: true });
  if (problems.length) {
    const lines = problems.map((p) => formatDiagnostic(file, c.lines, { range: p.range, severity: 'error', message: p.message, code: p.code }));
    throw new CliError(lines.join('\n'), 1);
  }
  return c;
}

/** The values of FILE's `data(…)` params by name (for engines that compile the text again, in a worker). */
export async function paramValuesOf(file: string): Promise<Map<string, Float64Array>> {
  const c = await compileWithData(file);
  const out = new Map<string, Float64Array>();
  for (const scope of c.checked.items.values()) {
    if (scope.kind !== 'model') continue;
    for (const [name, init] of scope.initialisers) if (init.kind === 'data' && init.values) out.set(name, init.values);
  }
  return out;
}

export const importCommand: Command = {
  name: 'import',
  summary: [
    'Import a NIR graph (HDF5, as snnTorch, Norse, Lava-DL, Rockpool, Sinabs, Spyx … write it) as an Eligo model.',
    'Writes FILE.eligo and, next to it, FILE.params.h5 with the weights (the model reads them with data(…)).',
  ].join('\n'),
  usage: 'eligo import nir FILE.nir --out FILE.eligo [--dt S] [--method exact|euler] [--model NAME] [--check] [--steps T] [--force] [--json]',
  options: {
    out: { type: 'string', value: 'FILE.eligo', required: true, example: 'net.eligo', description: 'The model file to write.' },
    dt: { type: 'string', value: 'SECONDS', default: '0.001', example: '0.0001', description: 'Time step of the discretisation: use the one the network was trained with.' },
    method: { type: 'string', value: 'NAME', default: 'exact', example: 'euler', description: "exact exponential integration (as du/dt does) or forward Euler (snnTorch's and Lava's convention)." },
    model: { type: 'string', value: 'NAME', defaultText: "the output file's name", example: 'net', description: 'Name of the model item.' },
    check: { type: 'boolean', description: 'Simulate the imported model and the NIR equations on random input and report the largest difference; nothing is written if they differ.' },
    steps: { type: 'string', value: 'T', default: '100', example: '500', description: 'Time steps of the --check simulation.' },
    force: { type: 'boolean', description: 'Overwrite existing output files.' },
    json: { type: 'boolean', description: 'Print the mapping and the check as JSON.' },
  },
  examples: ['eligo import nir net.nir --out net.eligo --dt 0.001 --check'],
  async run({ values, positionals }) {
    const [format, file] = positionals;
    if (format !== 'nir') throw new CliError(`eligo import: the first argument is the format; only 'nir' is supported${format ? `, got '${format}'` : ''} (see 'eligo import --help')`);
    if (!file) throw new CliError("eligo import nir: give a FILE.nir (see 'eligo import --help')");
    const out = str(values.out);
    if (!out) throw new CliError('eligo import nir: give --out FILE.eligo');
    if (extname(out) !== '.eligo') throw new CliError(`eligo import nir: --out must end in .eligo, got '${out}'`);
    const dtGiven = values.dt !== undefined;
    const dt = numberOpt(values.dt, 'dt', 1e-3)!;
    const method = methodOpt(values.method);
    const steps = intOption(values.steps, 'steps', 100, 1, 100000);
    let result;
    try {
      result = await importBridge({
        path: file, outName: out, dt, dtGiven, method, ...(values.check ? { checkSteps: steps } : {}),
        ...(str(values.model) !== undefined ? { model: str(values.model)! } : {}),
      });
    } catch (e) {
      if (e instanceof BridgeError) throw bridgeFailure(e, file, undefined, 'import nir', 'import.nir');
      throw e;
    }
    if (!result.checkFailed) await write(outputFiles(result, out), values.force === true);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ out, ...result.json, written: !result.checkFailed })}\n`);
      return result.checkFailed ? 1 : 0;
    }
    process.stdout.write(`${result.lines.join('\n')}\n`);
    if (result.checkFailed) {
      process.stderr.write('eligo import nir: the imported model does not follow the NIR equations (difference above 1e-6 of the values); nothing written\n');
      return 1;
    }
    const data = result.files[1];
    process.stdout.write(`wrote ${out}${data ? ` and ${join(dirname(out), data.name)}` : ''}\n`);
    return 0;
  },
};

export const exportCommand: Command = {
  name: 'export',
  summary: [
    'Export a model to NIR, or a learning rule to Lava (Loihi 2) or PyTorch.',
    '  eligo export nir FILE --model NAME --out FILE.nir                the model as NIR nodes (which equation became which node, at what dt)',
    '  eligo export lava FILE --model NAME --rule RULE --out rule.py    the rule as a Loihi 2 learning rule (dw string, traces)',
    "  eligo export torch FILE --model NAME --rule RULE --out model.py  a PyTorch module: the model step, the rule's online update, BPTT",
  ].join('\n'),
  usage: 'eligo export nir|lava|torch FILE [--model NAME] [--rule RULE] --out PATH [--dt S] [--method exact|euler] [--checkpoint DIR] [--lr X] [--force] [--json]',
  options: {
    model: { type: 'string', value: 'NAME', defaultText: "the file's first model", example: 'lif', description: 'The model to export.' },
    rule: { type: 'string', value: 'RULE', defaultText: 'none (torch: BPTT only)', example: 'eprop', description: 'The rule item to export (lava, torch).' },
    out: { type: 'string', value: 'PATH', required: true, example: 'lif.nir', description: 'The file to write.' },
    dt: { type: 'string', value: 'SECONDS', defaultText: "the model's const dt, else 0.001", example: '0.001', description: "NIR: the time step the model's per-step constants stand for." },
    method: { type: 'string', value: 'NAME', default: 'exact', example: 'euler', description: 'NIR: how a decay α maps to τ (exact: α = exp(−dt/τ), euler: α = 1 − dt/τ).' },
    checkpoint: { type: 'string', value: 'DIR', defaultText: 'the initial values', example: 'runs/lif', description: 'NIR: parameter values from a training checkpoint (eligo train --checkpoint).' },
    lr: { type: 'string', value: 'RATE', default: '0.01', example: '0.001', description: "lava: the learning rate folded into the rule's coefficients." },
    force: { type: 'boolean', description: 'Overwrite an existing output file.' },
    json: { type: 'boolean', description: 'Print what was written as JSON.' },
  },
  examples: ['eligo export nir examples/lif.eligo --model lif --out lif.nir', 'eligo export lava examples/lif.eligo --model lif --rule eprop --out eprop_loihi.py', 'eligo export torch examples/lif.eligo --model lif --rule eprop --out lif_eprop.py'],
  async run({ values, positionals }) {
    const [format, file] = positionals;
    if (format !== 'nir' && format !== 'lava' && format !== 'torch') throw new CliError(`eligo export: the first argument is the format: nir, lava or torch${format ? `, got '${format}'` : ''} (see 'eligo export --help')`);
    if (!file) throw new CliError(`eligo export ${format}: give a FILE (see 'eligo export --help')`);
    const out = str(values.out);
    if (!out) throw new CliError(`eligo export ${format}: give --out PATH`);
    const c = await compileWithData(file);
    let model: string;
    try {
      const item = findItem(c, str(values.model), ['model']);
      if (item.hasErrors) throw new CliError(`${file}: model '${item.name}' has errors; fix them first (eligo check ${file})`, 1);
      model = item.name;
    } catch (e) {
      if (e instanceof ItemError) throw new CliError(`${file}: ${e.message}`, 1);
      throw e;
    }
    return runExport(format, { c, file, model, out, values, write });
  },
};
