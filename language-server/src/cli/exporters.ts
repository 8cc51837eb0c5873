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
import { exportLava, LavaExportError } from '../interop/lava.js';
import { torchModule, TorchExportError } from '../interop/torch.js';
import { ruleDiagnostics } from '../rules/diagnostics.js';
import { LOIHI2 } from '../rules/hardware.js';
import { modelContext, prepareRule, type ModelContext, type PreparedRule } from '../rules/model.js';
import { ruleSpec, type RuleSpec } from '../rules/rule.js';
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
  if (format === 'lava') return exportLavaCommand(ctx);
  return exportTorchCommand(ctx);
}

/** The model's context and the named rule, prepared (approximations applied, program derived). */
function ruleOf(ctx: ExportContext, ruleName: string | undefined, required: boolean): { mc: ModelContext; spec: RuleSpec | null; prepared: PreparedRule | null } {
  const { c, file, model } = ctx;
  const mc = modelContext(c, model);
  if (ruleName === undefined) {
    if (required) throw new CliError(`eligo export: give --rule RULE (rules for '${model}': ${rulesFor(c, model).join(', ') || 'none'})`, 2);
    return { mc, spec: null, prepared: null };
  }
  const scope = c.checked.items.get(ruleName);
  const item = c.items.find((i) => i.name === ruleName && i.kind === 'rule');
  if (!scope || scope.kind !== 'rule' || !item) throw new CliError(`${file}: no rule '${ruleName}' (rules for '${model}': ${rulesFor(c, model).join(', ') || 'none'})`, 1);
  if (scope.item.model.name !== model) throw new CliError(`${file}: rule '${ruleName}' is for model '${scope.item.model.name}', not '${model}'`, 1);
  if (item.hasErrors) throw new CliError(`${file}: rule '${ruleName}' has errors; fix them first (eligo check ${file})`, 1);
  const spec = ruleSpec(scope.item);
  const prepared = prepareRule(mc, spec);
  const errors = ruleDiagnostics(c, { steps: 10 }).filter((d) => d.severity === 'error' && d.range.start >= item.range.start && d.range.end <= item.range.end);
  if (errors.length) throw new CliError(errors.map((d) => formatDiagnostic(file, c.lines, d)).join('\n'), 1);
  return { mc, spec, prepared };
}

function rulesFor(c: Compiled, model: string): string[] {
  return c.items.filter((i) => i.kind === 'rule' && i.scope?.kind === 'rule' && i.scope.item.model.name === model).map((i) => i.name);
}

async function exportTorchCommand(ctx: ExportContext): Promise<number> {
  const { c, file, model, out, values, write } = ctx;
  const { mc, spec, prepared } = ruleOf(ctx, str(values.rule), false);
  let program = null;
  if (spec && prepared) {
    const exact = prepared.approx.dropped.length === 0 && prepared.approx.blocks.every((b) => b.approximation !== 'diagonal');
    if (spec.schedule.kind === 'online') program = prepared.derived.program;
    else if (!exact) throw new CliError(`${file}: rule '${spec.name}' approximates blocks under schedule ${spec.schedule.kind}; the PyTorch export runs online rules and exact BPTT (make it 'schedule online', or export without --rule for BPTT)`, 1);
  }
  let text: string;
  try {
    text = torchModule({ compiled: c, scope: mc.scope, graph: mc.graph, model, rule: spec?.name ?? null, program, source: file });
  } catch (e) {
    if (e instanceof TorchExportError) throw new CliError(`eligo export torch: ${e.message}`, 1);
    throw e;
  }
  await write([{ path: out, write: text }], values.force === true);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ out, model, rule: spec?.name ?? null, online: program !== null })}\n`);
    return 0;
  }
  process.stdout.write(`${model}${spec ? ` · rule ${spec.name}` : ''} → ${out}: PyTorch module (torch only, float64) with step(), ${program ? 'online_update() (the rule\'s online program), ' : ''}bptt_gradient(), train(); run 'python3 ${out} --iterations 20'\n`);
  return 0;
}

async function exportLavaCommand(ctx: ExportContext): Promise<number> {
  const { c, file, model, out, values, write } = ctx;
  const { mc, spec, prepared } = ruleOf(ctx, str(values.rule), true);
  if (!spec || !prepared) return 2;
  const lr = values.lr !== undefined ? Number(values.lr) : 0.01;
  if (!(lr > 0) || !Number.isFinite(lr)) throw new CliError(`--lr must be a positive number, got '${String(values.lr)}'`);
  if (spec.schedule.kind !== 'online') throw new CliError(`${file}: rule '${spec.name}' does not fit Loihi 2: ${LOIHI2.name} learns on chip while the network runs: the rule must be online (schedule online), not store the sequence`, 1);
  let res;
  try {
    res = exportLava(c, mc.scope, prepared.derived.program, spec.name ?? 'rule', { learningRate: lr });
  } catch (e) {
    if (e instanceof LavaExportError) throw new CliError(`${file}: ${e.message}`, 1);
    throw e;
  }
  await write([{ path: out, write: res.text }], values.force === true);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ out, model, rule: spec.name, rules: res.rules.map((r) => ({ param: r.param, dw: r.dw, coefficient: r.coefficient, x1: r.x1 ?? null })), unfit: res.unfit })}\n`);
    return 0;
  }
  process.stdout.write(`${model} · rule ${spec.name} → ${out}: ${res.rules.length} Loihi 2 learning rule${res.rules.length === 1 ? '' : 's'} (η = ${lr})\n`);
  for (const r of res.rules) {
    process.stdout.write(`  ${r.param}: dw = "${r.dw}"${r.x1 ? ` · x1 impulse ${r.x1.impulse}, tau ${Number(r.x1.tau.toPrecision(6))} steps (from ${r.x1.trace})` : ''} · coefficient ${r.coefficient.value.toExponential(3)} → ${r.coefficient.text} (error ${(100 * r.coefficient.relativeError).toFixed(2)} %)\n`);
  }
  for (const u of res.unfit) process.stdout.write(`  ${u.param}: no rule (${u.why})\n`);
  return 0;
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
