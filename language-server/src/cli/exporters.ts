// The three exports of `eligo export`, each a call into interop/ and a
// report of what it did.

import { compile, type Compiled } from '../compile.js';
import { initialParams } from '../graph/simulate.js';
import { sizeOf, type Tensor } from '../graph/types.js';
import type { OutputFile } from '../interop/files.js';
import { ExportError, exportNir } from '../interop/nir/export.js';
import { num, type Method } from '../interop/nir/import.js';
import { NirError } from '../interop/nir/types.js';
import { writeNir } from '../interop/nir/write.js';
import { CheckpointError, loadCheckpoint } from '../train/checkpoint.js';
import { CliError, formatDiagnostic, str } from './common.js';

export interface ExportContext {
  readonly c: Compiled;
  readonly file: string;
  readonly model: string;
  readonly out: string;
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly write: (files: OutputFile[], force: boolean) => Promise<void>;
}

/** The model's parameters: initial values (data or seeded initialisers), or a training checkpoint's. */
export function exportParams(c: Compiled, model: string, checkpoint: string | undefined, seed = 0): Map<string, Tensor> {
  const scope = c.checked.items.get(model);
  if (!scope || scope.kind !== 'model') throw new CliError(`no model '${model}'`, 1);
  let params: Map<string, Tensor>;
  try {
    params = initialParams(scope, seed);
  } catch (e) {
    throw new CliError(`eligo export: ${(e as Error).message}`, 1);
  }
  if (checkpoint === undefined) return params;
  let ck;
  try {
    ck = loadCheckpoint(checkpoint);
  } catch (e) {
    if (e instanceof CheckpointError) throw new CliError(`eligo export: ${e.message}`, 2);
    throw e;
  }
  if (!ck) throw new CliError(`eligo export: no checkpoint in ${checkpoint} (no checkpoint.json)`, 2);
  if (ck.meta.model !== model) throw new CliError(`eligo export: the checkpoint in ${checkpoint} is of model '${ck.meta.model}', not '${model}'`, 2);
  for (const [name, t] of params) {
    const a = ck.params.get(name);
    if (!a) throw new CliError(`eligo export: the checkpoint has no values for param '${name}'`, 2);
    if (a.data.length !== sizeOf(t.shape)) throw new CliError(`eligo export: the checkpoint's '${name}' has ${a.data.length} values, the model's ${sizeOf(t.shape)}`, 2);
    params.set(name, { shape: t.shape, data: Float64Array.from(a.data) });
  }
  return params;
}

export async function runExport(format: 'nir' | 'lava' | 'torch', ctx: ExportContext): Promise<number> {
  if (format === 'nir') return exportNirCommand(ctx);
  throw new CliError(`eligo export ${format}: not available`, 2);
}

async function exportNirCommand({ c, file, model, out, values, write }: ExportContext): Promise<number> {
  const dt = values.dt !== undefined ? Number(values.dt) : undefined;
  if (dt !== undefined && !(dt > 0)) throw new CliError(`--dt must be a positive number, got '${String(values.dt)}'`);
  const m = str(values.method);
  if (m !== undefined && m !== 'exact' && m !== 'euler') throw new CliError(`--method must be exact or euler, got '${m}'`);
  const params = exportParams(c, model, str(values.checkpoint));
  let res;
  try {
    res = exportNir(c, model, { params, ...(dt !== undefined ? { dt } : {}), ...(m ? { method: m as Method } : {}) });
  } catch (e) {
    if (e instanceof ExportError) {
      const lines = e.problems.map((p) => formatDiagnostic(file, c.lines, { range: p.range, severity: 'error', message: p.message, code: 'export.nir' }));
      throw new CliError(`${lines.join('\n')}\neligo export nir: model '${model}' does not map to NIR; nothing written`, 1);
    }
    if (e instanceof NirError) throw new CliError(`eligo export nir: ${e.message}`, 1);
    throw e;
  }
  await write([{ path: out, write: (tmp) => writeNir(tmp, res.graph) }], values.force === true);
  for (const w of res.warnings) process.stderr.write(`${formatDiagnostic(file, c.lines, { range: w.range, severity: 'warning', message: w.message, code: 'export.nir' })}\n`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ out, dt: res.dt, method: res.method, nodes: res.matched, edges: res.graph.edges, warnings: res.warnings.map((w) => w.message) })}\n`);
    return 0;
  }
  process.stdout.write(`${model} → ${out}: ${res.graph.nodes.size} NIR nodes, ${res.graph.edges.length} edges, dt = ${num(res.dt)} (${res.method === 'exact' ? 'α = exp(−dt/τ)' : 'α = 1 − dt/τ'})${str(values.checkpoint) ? `, parameters from ${str(values.checkpoint)}` : ''}\n`);
  for (const mm of res.matched) process.stdout.write(`  ${mm.node} (${mm.type}) ← ${mm.from}\n`);
  return 0;
}

export { compile };
