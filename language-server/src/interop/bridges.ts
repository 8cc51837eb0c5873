// The bridges as requests: what the CLI and the language server both call.
// Each returns the files to write (text, or an HDF5 writer for a path) and a
// report; neither front door knows how a bridge works, and neither writes
// anything on failure (the files are written by interop/files.ts or by the
// editor, after the user confirmed an overwrite).

import { basename } from 'node:path';
import type { Range } from '../lang/ast.js';
import type { Compiled } from '../compile.js';
import { initialParams } from '../graph/simulate.js';
import { sizeOf, type Tensor } from '../graph/types.js';
import { ruleDiagnostics } from '../rules/diagnostics.js';
import { LOIHI2 } from '../rules/hardware.js';
import { modelContext, prepareRule, type ModelContext, type PreparedRule } from '../rules/model.js';
import { ruleSpec, type RuleSpec } from '../rules/rule.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { exportLava, LavaExportError } from './lava.js';
import { checkImport, type CheckResult } from './nir/check.js';
import { ExportError, exportNir } from './nir/export.js';
import { importNir, num, type Method } from './nir/import.js';
import { readNir } from './nir/read.js';
import { NirError } from './nir/types.js';
import { writeNir } from './nir/write.js';
import { writeParamData } from './paramData.js';
import { torchModule, TorchExportError } from './torch.js';
import { EligoError } from '../util/errors.js';

export type ExportFormat = 'nir' | 'lava' | 'torch';

/** Problems that stop a bridge, located in the .eligo text when they come from it. */
export class BridgeError extends EligoError {
  constructor(
    readonly problems: readonly { readonly message: string; readonly range?: Range }[],
    readonly exitCode = 1,
  ) {
    super('interop.bridge', problems.map((p) => p.message).join('\n'));
  }
}

export interface BridgeFile {
  /** File name, relative to the chosen output's folder (the first file is the chosen output). */
  readonly name: string;
  readonly content: string | ((path: string) => Promise<void>);
}

export interface BridgeResult {
  readonly files: readonly BridgeFile[];
  /** What was done, one line each (the first is the headline). */
  readonly lines: readonly string[];
  readonly warnings: readonly { readonly message: string; readonly range?: Range }[];
  /** The same as data, for --json. */
  readonly json: Record<string, unknown>;
}

export interface ExportRequest {
  readonly format: ExportFormat;
  readonly model: string;
  readonly rule?: string;
  /** Output file name (the NIR file, the rule module, the PyTorch module). */
  readonly outName: string;
  readonly dt?: number;
  readonly method?: Method;
  readonly learningRate?: number;
  /** A training checkpoint folder whose parameters replace the initial ones (NIR). */
  readonly checkpoint?: string;
  readonly source?: string;
}

/** The model's parameters: initial values (data or seeded initialisers), or a training checkpoint's. */
export function exportParams(c: Compiled, model: string, checkpoint: string | undefined, seed = 0): Map<string, Tensor> {
  const scope = c.checked.items.get(model);
  if (!scope || scope.kind !== 'model') throw new BridgeError([{ message: `no model '${model}'` }]);
  let params: Map<string, Tensor>;
  try {
    params = initialParams(scope, seed);
  } catch (e) {
    throw new BridgeError([{ message: (e as Error).message, ...((e as { range?: Range }).range ? { range: (e as { range: Range }).range } : {}) }]);
  }
  if (checkpoint === undefined) return params;
  let ck;
  try {
    ck = loadCheckpoint(checkpoint);
  } catch (e) {
    throw new BridgeError([{ message: (e as Error).message }], 2);
  }
  if (!ck) throw new BridgeError([{ message: `no checkpoint in ${checkpoint} (no checkpoint.json)` }], 2);
  if (ck.meta.model !== model) throw new BridgeError([{ message: `the checkpoint in ${checkpoint} is of model '${ck.meta.model}', not '${model}'` }], 2);
  for (const [name, t] of params) {
    const a = ck.params.get(name);
    if (!a) throw new BridgeError([{ message: `the checkpoint has no values for param '${name}'` }], 2);
    if (a.data.length !== sizeOf(t.shape))
      throw new BridgeError([{ message: `the checkpoint's '${name}' has ${a.data.length} values, the model's ${sizeOf(t.shape)}` }], 2);
    params.set(name, { shape: t.shape, data: Float64Array.from(a.data) });
  }
  return params;
}

export function rulesFor(c: Compiled, model: string): string[] {
  return c.items.filter((i) => i.kind === 'rule' && i.scope?.kind === 'rule' && i.scope.item.model.name === model).map((i) => i.name);
}

function ruleOf(
  c: Compiled,
  model: string,
  ruleName: string | undefined,
  required: boolean,
): { mc: ModelContext; spec: RuleSpec | null; prepared: PreparedRule | null } {
  const mc = modelContext(c, model);
  if (ruleName === undefined) {
    if (required) throw new BridgeError([{ message: `give a rule (rules for '${model}': ${rulesFor(c, model).join(', ') || 'none'})` }], 2);
    return { mc, spec: null, prepared: null };
  }
  const scope = c.checked.items.get(ruleName);
  const item = c.items.find((i) => i.name === ruleName && i.kind === 'rule');
  if (!scope || scope.kind !== 'rule' || !item)
    throw new BridgeError([{ message: `no rule '${ruleName}' (rules for '${model}': ${rulesFor(c, model).join(', ') || 'none'})` }]);
  if (scope.item.model.name !== model)
    throw new BridgeError([{ message: `rule '${ruleName}' is for model '${scope.item.model.name}', not '${model}'`, range: item.nameRange }]);
  if (item.hasErrors) throw new BridgeError([{ message: `rule '${ruleName}' has errors; fix them first`, range: item.nameRange }]);
  const spec = ruleSpec(scope.item);
  const prepared = prepareRule(mc, spec);
  const errors = ruleDiagnostics(c, { steps: 10 }).filter((d) => d.severity === 'error' && d.range.start >= item.range.start && d.range.end <= item.range.end);
  if (errors.length) throw new BridgeError(errors.map((d) => ({ message: d.message, range: d.range })));
  return { mc, spec, prepared };
}

export function exportBridge(c: Compiled, req: ExportRequest): BridgeResult {
  const item = c.items.find((i) => i.name === req.model && i.kind === 'model');
  if (!item) throw new BridgeError([{ message: `no model '${req.model}' in the file` }]);
  if (item.hasErrors) throw new BridgeError([{ message: `model '${req.model}' has errors; fix them first`, range: item.nameRange }]);
  if (req.format === 'nir') {
    const params = exportParams(c, req.model, req.checkpoint);
    let res;
    try {
      res = exportNir(c, req.model, { params, ...(req.dt !== undefined ? { dt: req.dt } : {}), ...(req.method ? { method: req.method } : {}) });
    } catch (e) {
      if (e instanceof ExportError) throw new BridgeError([...e.problems, { message: `model '${req.model}' does not map to NIR; nothing written` }]);
      if (e instanceof NirError) throw new BridgeError([{ message: e.message }]);
      throw e;
    }
    const graph = res.graph;
    return {
      files: [{ name: req.outName, content: (path) => writeNir(path, graph) }],
      lines: [
        `${req.model} → ${req.outName}: ${graph.nodes.size} NIR nodes, ${graph.edges.length} edges, dt = ${num(res.dt)} (${res.method === 'exact' ? 'α = exp(−dt/τ)' : 'α = 1 − dt/τ'})${req.checkpoint ? `, parameters from ${req.checkpoint}` : ''}`,
        ...res.matched.map((m) => `  ${m.node} (${m.type}) ← ${m.from}`),
      ],
      warnings: res.warnings,
      json: { dt: res.dt, method: res.method, nodes: res.matched, edges: graph.edges, warnings: res.warnings.map((w) => w.message) },
    };
  }
  if (req.format === 'torch') {
    const { mc, spec, prepared } = ruleOf(c, req.model, req.rule, false);
    let program = null;
    if (spec && prepared) {
      const exact = prepared.approx.dropped.length === 0 && prepared.approx.blocks.every((b) => b.approximation !== 'diagonal');
      if (spec.schedule.kind === 'online') program = prepared.derived.program;
      else if (!exact)
        throw new BridgeError([
          {
            message: `rule '${spec.name}' approximates blocks under schedule ${spec.schedule.kind}; the PyTorch export runs online rules and exact BPTT (make it 'schedule online', or export without a rule for BPTT)`,
            ...(spec.nameRange ? { range: spec.nameRange } : {}),
          },
        ]);
    }
    let text: string;
    try {
      text = torchModule({
        compiled: c,
        scope: mc.scope,
        graph: mc.graph,
        model: req.model,
        rule: spec?.name ?? null,
        program,
        ...(req.source ? { source: req.source } : {}),
      });
    } catch (e) {
      if (e instanceof TorchExportError) throw new BridgeError([{ message: e.message }]);
      throw e;
    }
    return {
      files: [{ name: req.outName, content: text }],
      lines: [
        `${req.model}${spec ? ` · rule ${spec.name}` : ''} → ${req.outName}: PyTorch module (torch only, float64) with step(), ${program ? "online_update() (the rule's online program), " : ''}bptt_gradient(), train(); run 'python3 ${req.outName} --iterations 20'`,
      ],
      warnings: [],
      json: { model: req.model, rule: spec?.name ?? null, online: program !== null },
    };
  }
  const { mc, spec, prepared } = ruleOf(c, req.model, req.rule, true);
  if (!spec || !prepared) throw new BridgeError([{ message: 'give a rule' }], 2);
  const lr = req.learningRate ?? 0.01;
  if (!(lr > 0) || !Number.isFinite(lr)) throw new BridgeError([{ message: `the learning rate must be a positive number, got ${lr}` }], 2);
  const at = spec.nameRange ? { range: spec.nameRange } : {};
  if (spec.schedule.kind !== 'online')
    throw new BridgeError([
      {
        message: `rule '${spec.name}' does not fit Loihi 2: ${LOIHI2.name} learns on chip while the network runs: the rule must be online (schedule online), not store the sequence`,
        ...at,
      },
    ]);
  let res;
  try {
    res = exportLava(c, mc.scope, prepared.derived.program, spec.name ?? 'rule', { learningRate: lr });
  } catch (e) {
    if (e instanceof LavaExportError) throw new BridgeError([{ message: e.message, ...at }]);
    throw e;
  }
  return {
    files: [{ name: req.outName, content: res.text }],
    lines: [
      `${req.model} · rule ${spec.name} → ${req.outName}: ${res.rules.length} Loihi 2 learning rule${res.rules.length === 1 ? '' : 's'} (η = ${lr})`,
      ...res.rules.map(
        (r) =>
          `  ${r.param}: dw = "${r.dw}"${r.x1 ? ` · x1 impulse ${r.x1.impulse}, tau ${Number(r.x1.tau.toPrecision(6))} steps (from ${r.x1.trace})` : ''} · coefficient ${r.coefficient.value.toExponential(3)} → ${r.coefficient.text} (error ${(100 * r.coefficient.relativeError).toFixed(2)} %)`,
      ),
      ...res.unfit.map((u) => `  ${u.param}: no rule (${u.why})`),
    ],
    warnings: [],
    json: {
      model: req.model,
      rule: spec.name,
      rules: res.rules.map((r) => ({ param: r.param, dw: r.dw, coefficient: r.coefficient, x1: r.x1 ?? null })),
      unfit: res.unfit,
    },
  };
}

export interface ImportRequest {
  /** Path of the .nir file. */
  readonly path: string;
  /** Name of the .eligo file to write (its base name names the model and the data file). */
  readonly outName: string;
  readonly dt: number;
  readonly dtGiven?: boolean;
  readonly method?: Method;
  readonly model?: string;
  /** Steps of the semantics check; absent: no check. */
  readonly checkSteps?: number;
}

export interface ImportBridgeResult extends BridgeResult {
  readonly check?: CheckResult;
  /** The check found a difference above 1e-6 of the values: nothing should be written. */
  readonly checkFailed: boolean;
}

export async function importBridge(req: ImportRequest): Promise<ImportBridgeResult> {
  const base = basename(req.outName).replace(/\.eligo$/, '');
  const modelName = req.model ?? (base.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(?=[0-9])/, 'm') || 'nir');
  const dataName = `${base}.params.h5`;
  let nir, result;
  try {
    nir = await readNir(req.path);
    result = importNir(nir, { dt: req.dt, method: req.method ?? 'exact', modelName, dataFile: dataName, source: basename(req.path) });
  } catch (e) {
    if (e instanceof NirError || (e instanceof Error && e.name === 'Hdf5Error')) throw new BridgeError([{ message: e.message }], 2);
    throw e;
  }
  const check = req.checkSteps !== undefined ? checkImport(nir, result, { steps: req.checkSteps }) : undefined;
  const scale = check ? Math.max(1, ...check.perState.map((p) => p.scale)) : 1;
  const checkFailed = check !== undefined && check.maxDifference > 1e-6 * scale;
  const params = result.params;
  const files: BridgeFile[] = [{ name: basename(req.outName), content: result.text }];
  if (params.size) files.push({ name: dataName, content: (path) => writeParamData(path, params) });
  const lines = [
    `${basename(req.path)} (NIR ${nir.version}): ${nir.graph.nodes.size} nodes, ${nir.graph.edges.length} edges → model '${result.model}' at dt = ${num(req.dt)}${req.dtGiven === false ? ' (the default: give --dt to match the framework that wrote the file)' : ''}, ${(req.method ?? 'exact') === 'exact' ? 'exact exponential' : 'forward Euler'} integration`,
    ...result.mapping.map((m) => `  ${m}`),
  ];
  if (check) {
    lines.push(
      `check: ${check.steps} steps of random input (seed ${check.seed}, ${check.spikes} spikes in the NIR run): largest difference ${check.maxDifference.toExponential(3)}`,
    );
    for (const p of check.perState)
      lines.push(
        `  ${p.node}.${p.state} (${p.eligo}): ${p.maxDifference.toExponential(3)}${p.maxDifference > 0 ? ` at step ${p.step}` : ''} (values up to ${p.scale.toPrecision(4)})`,
      );
  }
  return {
    files,
    lines,
    warnings: [],
    ...(check ? { check } : {}),
    checkFailed,
    json: {
      model: result.model,
      dt: req.dt,
      method: req.method ?? 'exact',
      mapping: result.mapping,
      check: check ?? null,
      data: params.size ? dataName : null,
    },
  };
}
