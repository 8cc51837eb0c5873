// The three exports of `eligo export`: interop/bridges.ts does the work, this
// writes the files (interop/files.ts: --force, temporary file then rename)
// and prints the report.

import { basename, dirname, join } from 'node:path';
import type { Compiled } from '../compile.js';
import { BridgeError, exportBridge, type BridgeResult, type ExportFormat } from '../interop/bridges.js';
import type { OutputFile } from '../interop/files.js';
import type { Method } from '../interop/nir/import.js';
import { CliError, formatDiagnostic, str } from './common.js';

export interface ExportContext {
  readonly c: Compiled;
  readonly file: string;
  readonly model: string;
  readonly out: string;
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly write: (files: OutputFile[], force: boolean) => Promise<void>;
}

/** The code of a bridge's located problems (util/codes.ts); its warnings are `export.inexact`. */
export type BridgeCode = 'export.nir' | 'export.lava' | 'export.torch' | 'import.nir';
const EXPORT_CODE: Readonly<Record<ExportFormat, BridgeCode>> = { nir: 'export.nir', lava: 'export.lava', torch: 'export.torch' };

/** A bridge's problems as `file:line:col: error: …` lines (unlocated ones as `eligo …: …`). */
export function bridgeFailure(e: BridgeError, file: string, c: Compiled | undefined, what: string, code: BridgeCode): CliError {
  const lines = e.problems.map((p) => (p.range && c ? formatDiagnostic(file, c.lines, { range: p.range, severity: 'error', message: p.message, code }) : `eligo ${what}: ${p.message}`));
  return new CliError(lines.join('\n'), e.exitCode);
}

/** Writes a bridge's files next to `out` (the first one is `out` itself). */
export function outputFiles(res: BridgeResult, out: string): OutputFile[] {
  return res.files.map((f, k) => ({ path: k === 0 ? out : join(dirname(out), f.name), write: f.content }));
}

export async function runExport(format: ExportFormat, ctx: ExportContext): Promise<number> {
  const { c, file, model, out, values, write } = ctx;
  const dt = values.dt !== undefined ? Number(values.dt) : undefined;
  if (dt !== undefined && !(dt > 0 && Number.isFinite(dt))) throw new CliError(`--dt must be a positive number, got '${String(values.dt)}'`);
  const m = str(values.method);
  if (m !== undefined && m !== 'exact' && m !== 'euler') throw new CliError(`--method must be exact or euler, got '${m}'`);
  const lr = values.lr !== undefined ? Number(values.lr) : undefined;
  if (lr !== undefined && !(lr > 0 && Number.isFinite(lr))) throw new CliError(`--lr must be a positive number, got '${String(values.lr)}'`);
  if (format === 'lava' && str(values.rule) === undefined) throw new CliError(`eligo export lava: give --rule RULE (see 'eligo export --help')`);
  let res: BridgeResult;
  try {
    res = exportBridge(c, {
      format, model, outName: basename(out), source: file,
      ...(str(values.rule) !== undefined ? { rule: str(values.rule)! } : {}),
      ...(dt !== undefined ? { dt } : {}), ...(m ? { method: m as Method } : {}), ...(lr !== undefined ? { learningRate: lr } : {}),
      ...(str(values.checkpoint) !== undefined ? { checkpoint: str(values.checkpoint)! } : {}),
    });
  } catch (e) {
    if (e instanceof BridgeError) throw bridgeFailure(e, file, c, `export ${format}`, EXPORT_CODE[format]);
    throw e;
  }
  await write(outputFiles(res, out), values.force === true);
  for (const w of res.warnings) {
    process.stderr.write(`${w.range ? formatDiagnostic(file, c.lines, { range: w.range, severity: 'warning', message: w.message, code: 'export.inexact' }) : `warning: ${w.message}`}\n`);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ out, ...res.json })}\n`);
    return 0;
  }
  process.stdout.write(`${res.lines.join('\n')}\n`);
  return 0;
}
