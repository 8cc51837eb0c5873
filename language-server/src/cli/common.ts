// Shared plumbing of the `eligo` commands: argument parsing, file reading with
// one-line errors, diagnostics in `file:line:col: severity: message` form, and
// plain-text tables.

import { readFileSync, statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Diagnostic } from '../lang/ast.js';
import type { LineIndex } from '../lang/source.js';

/** A user-facing failure: printed as one line, exit code 2 (usage, I/O) or 1 (errors in the input). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(args: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }): Promise<number> | number;
}

export function parseCommandArgs(cmd: Command, argv: string[]): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (e) {
    throw new CliError(`eligo ${cmd.name}: ${(e as Error).message.split('\n')[0]} (see 'eligo ${cmd.name} --help')`);
  }
}

export function readSource(path: string): string {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new CliError(`eligo: cannot open '${path}': no such file`);
  }
  if (stat.isDirectory()) throw new CliError(`eligo: cannot read '${path}': it is a directory`);
  if (stat.size > 16 * 1024 * 1024) throw new CliError(`eligo: '${path}' is ${(stat.size / 2 ** 20).toFixed(1)} MiB; Eligo reads model files up to 16 MiB`);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`eligo: cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function formatDiagnostic(file: string, lines: LineIndex, d: Diagnostic): string {
  const p = lines.positionAt(d.range.start);
  return `${file}:${p.line + 1}:${p.character + 1}: ${d.severity}: ${d.message} [${d.code}]`;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function intOption(v: unknown, name: string, def: number, min = 1, max = 1e9): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${name} must be an integer between ${min} and ${max}, got '${String(v)}'`);
  return n;
}

/** A plain text table with right-aligned numbers. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number' || r[i] === '—'));
  const line = (r: string[]): string => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  if (n !== 0 && (Math.abs(n) < 1e-3 || Math.abs(n) >= 1e6)) return n.toExponential(3);
  return String(Number(n.toPrecision(6)));
}

export function helpText(cmd: Command): string {
  const opts = Object.entries(cmd.options).map(([k, o]) => `  --${k}${o.type === 'string' ? ' VALUE' : ''}`);
  return `${cmd.usage}\n\n${cmd.summary}\n\nOptions:\n${opts.join('\n')}\n  --help`;
}
