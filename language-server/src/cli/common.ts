// Shared plumbing of the `eligo` commands: argument parsing (commander),
// help text, file reading with one-line refusals, diagnostics in
// `file:line:col: severity: message` form, and plain-text tables.
//
// A command is a plain object (see docs/cli.md): a name, a summary, a usage
// line, its options — each with a description, a default and an example, so
// `eligo COMMAND --help` documents every one — and `run`, which gets the
// parsed values keyed by option name (`values['write-rule']`) and the
// positionals. Parsing is commander's, so `--flag=value`, `--seed -3`, a
// repeated flag (the last wins; `multiple` options collect every value),
// `--` and an unknown flag (refused, with the closest option suggested)
// behave as in other command-line tools.

import { Command as Parser, CommanderError, Option } from 'commander';
import type { Diagnostic } from '../lang/ast.js';
import type { LineIndex } from '../lang/source.js';
import { didYouMean } from '../lang/suggest.js';
import { EligoError } from '../util/errors.js';
import type { ErrorCode } from '../util/codes.js';
import { readTextFile, type TextFile } from '../util/files.js';
import { formatBytes, formatNumber } from '../util/units.js';

export { formatBytes, formatNumber };

/** A user-facing failure: printed as one line, exit code 2 (usage, I/O) or 1 (errors in the input). */
export class CliError extends EligoError {
  constructor(
    message: string,
    readonly exitCode = 2,
    code: ErrorCode = exitCode === 2 ? 'cli.usage' : 'cli.input',
  ) {
    super(code, message);
  }
}

export interface OptionSpec {
  /** 'string' takes a value (`--steps 20`, `--steps=20`); 'boolean' is a switch. */
  readonly type: 'string' | 'boolean';
  /** Repeatable, every value kept in order (`--expand a --expand b`); otherwise the last one given wins. */
  readonly multiple?: boolean;
  /** One-letter alias (`q` for `-q`). */
  readonly short?: string;
  /** What it does, one sentence for `--help`. */
  readonly description: string;
  /** Placeholder for the value in `--help` (`--steps T`); default VALUE. */
  readonly value?: string;
  /** The value used when the option is absent; `run` sees it in `values`, and `--help` shows it. */
  readonly default?: string;
  /** For an option whose absence means something no value says (`the file's first model`): shown as its default. */
  readonly defaultText?: string;
  /** A typical value, shown in `--help` as `e.g. --budget 1.5h`. */
  readonly example?: string;
  /** Shown as required in `--help` (the command says so itself when it is missing). */
  readonly required?: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandArgs {
  readonly values: OptionValues;
  readonly positionals: string[];
}

export interface Command {
  readonly name: string;
  /** What it does; the first sentence is its line in `eligo --help`. */
  readonly summary: string;
  readonly usage: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Whole command lines shown under Examples in `--help`. */
  readonly examples?: readonly string[];
  run(args: CommandArgs): Promise<number> | number;
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'Print this help and exit.' };

/** The options a command accepts: its own and --help. */
function allOptions(cmd: Command): [string, OptionSpec][] {
  return [...Object.entries(cmd.options), ['help', HELP]];
}

/** One line for commander's multi-line messages ("error: unknown option '--bugdet'\n(Did you mean --budget?)"). */
function oneLine(e: CommanderError, cmd: Command): string {
  const first = e.message
    .replace(/^error:\s*/, '')
    .split('\n')[0]!
    .trim();
  if (e.code === 'commander.unknownOption') {
    const flag = /'([^']+)'/.exec(first)?.[1] ?? '';
    // commander's suggestion counts a swap of two letters as one edit (--bacth → --batch); else the closest name.
    const theirs = /Did you mean (--?[\w-]+)\?/.exec(e.message)?.[1];
    const mine = didYouMean(
      flag.replace(/^-+/, '').split('=')[0]!,
      allOptions(cmd).map(([k]) => k),
    );
    const hint = theirs ?? (mine ? `--${mine}` : undefined);
    return `eligo ${cmd.name}: unknown option '${flag}'${hint ? ` — did you mean ${hint}?` : ''} (see 'eligo ${cmd.name} --help')`;
  }
  if (e.code === 'commander.optionMissingArgument') {
    const name = /'--([\w-]+)/.exec(first)?.[1] ?? '';
    const ex = cmd.options[name]?.example;
    return `eligo ${cmd.name}: --${name} needs a value${ex ? ` (e.g. --${name} ${ex})` : ''}`;
  }
  return `eligo ${cmd.name}: ${first} (see 'eligo ${cmd.name} --help')`;
}

export function parseCommandArgs(cmd: Command, argv: readonly string[]): CommandArgs {
  const p = new Parser(`eligo ${cmd.name}`)
    .exitOverride()
    .helpOption(false)
    .allowExcessArguments(true)
    .allowUnknownOption(false)
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined })
    .argument('[args...]');
  const attr = new Map<string, string>();
  for (const [name, o] of allOptions(cmd)) {
    const flags = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` <${(o.value ?? 'value').toLowerCase()}>` : ''}`;
    const opt = new Option(flags, o.description);
    if (o.multiple) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    p.addOption(opt);
    attr.set(name, opt.attributeName());
  }
  // A switch given a value (`--json=false`) is refused rather than silently read as on.
  for (const a of argv) {
    if (a === '--') break;
    const m = /^--([^=]+)=/.exec(a);
    if (m && cmd.options[m[1]!]?.type === 'boolean') throw new CliError(`eligo ${cmd.name}: --${m[1]!} is a switch and takes no value (got '${a}')`);
  }
  try {
    p.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new CliError(oneLine(e, cmd));
    throw e;
  }
  const values: OptionValues = {};
  for (const [name, o] of allOptions(cmd)) {
    const v = p.getOptionValue(attr.get(name)!) as string | boolean | string[] | undefined;
    // commander reads `--no-x` as x = false (and x = true when absent); Eligo's `--no-x` is a switch of its own.
    if (name.startsWith('no-') && o.type === 'boolean') {
      if (v === false) values[name] = true;
    } else if (v !== undefined) values[name] = v;
    else if (o.default !== undefined) values[name] = o.multiple ? [o.default] : o.default;
  }
  return { values, positionals: [...((p.processedArgs[0] as string[] | undefined) ?? [])] };
}

const HELP_WIDTH = 110;

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

/** `eligo COMMAND --help`: usage, summary, every option with its description, default and an example, then examples. */
export function helpText(cmd: Command): string {
  const rows = allOptions(cmd).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const notes: string[] = [];
    if (o.type === 'string') {
      if (o.required) notes.push('required');
      else if (o.default !== undefined) notes.push(`default: ${o.default}`);
      else if (o.defaultText !== undefined) notes.push(`default: ${o.defaultText}`);
      // Non-breaking spaces keep an example on one line when the help is wrapped.
      if (o.example !== undefined) notes.push(`e.g.\u00a0--${name}\u00a0${o.example.replace(/ /g, '\u00a0')}`);
      if (o.multiple) notes.push('repeatable');
    }
    const d = o.description.replace(/\.$/, '');
    return { flag, text: `${d}${notes.length ? ` (${notes.join('; ')})` : ''}.` };
  });
  const w = Math.min(30, Math.max(...rows.map((r) => r.flag.length)));
  const opts = rows.map((r) => {
    const lines = wrap(r.text, Math.max(40, HELP_WIDTH - w - 4));
    const indent = ' '.repeat(w + 4);
    const first = r.flag.length > w ? `  ${r.flag}\n${indent}${lines[0]}` : `  ${r.flag.padEnd(w)}  ${lines[0]}`;
    return [first, ...lines.slice(1).map((l) => `${indent}${l}`)].join('\n').replace(/\u00a0/g, ' ');
  });
  const examples = cmd.examples?.length ? `\n\nExamples:\n${cmd.examples.map((e) => `  ${e}`).join('\n')}` : '';
  return `Usage: ${cmd.usage}\n\n${cmd.summary}\n\nOptions:\n${opts.join('\n')}${examples}`;
}

/** A model file as the commands read it: a regular UTF-8 text file (BOM accepted) up to 16 MiB; else one line and exit 2. */
export function readSourceFile(path: string): TextFile {
  try {
    return readTextFile(path, { what: 'model files' });
  } catch (e) {
    if (e instanceof EligoError) throw new CliError(`eligo: ${e.message}`);
    throw e;
  }
}

export function readSource(path: string): string {
  return readSourceFile(path).text;
}

/** A small input file (JSON of an order, inputs, a profile): the same refusals, 64 MiB at most. */
export function readInputFile(path: string, what: string): string {
  try {
    return readTextFile(path, { what, maxBytes: 64 * 1024 * 1024 }).text;
  } catch (e) {
    if (e instanceof EligoError) throw new CliError(`${what}: ${e.message}`);
    throw e;
  }
}

/** `--inputs '{"a": 1}'` or `--inputs point.json`: the JSON text either way. */
export function jsonOrFile(v: string, what: string): string {
  if (/^\s*[{[]/.test(v)) return v;
  try {
    return readInputFile(v, what);
  } catch (e) {
    if (e instanceof CliError && /no such file/.test(e.message)) throw new CliError(`${what} is neither a JSON object nor a file: '${v}'`);
    throw e;
  }
}

export function formatDiagnostic(file: string, lines: LineIndex, d: Diagnostic): string {
  const p = lines.positionAt(d.range.start);
  return `${file}:${p.line + 1}:${p.character + 1}: ${d.severity}: ${d.message} [${d.code}]`;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** An option's value as given, for messages: commander yields a string, a switch's boolean or (repeated options) a list. */
export function optionText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(optionText).join(', ');
  return JSON.stringify(v) ?? typeof v;
}

export function intOption(v: unknown, name: string, def: number, min = 1, max = 1e9): number {
  if (v === undefined) return def;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CliError(`--${name} must be an integer between ${formatNumber(min)} and ${formatNumber(max)}, got '${optionText(v)}'`);
  return n;
}

export function numberOption(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) throw new CliError(`--${name} must be a number between ${min} and ${max}, got '${optionText(v)}'`);
  return n;
}

/** One of `choices`, else a refusal that names them and the closest. */
export function choiceOption<T extends string>(v: unknown, name: string, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  const s = optionText(v);
  if ((choices as readonly string[]).includes(s)) return s as T;
  const hint = didYouMean(s, choices);
  throw new CliError(
    `--${name} must be ${choices.slice(0, -1).join(', ')}${choices.length > 1 ? ' or ' : ''}${choices[choices.length - 1]}, got '${s}'${hint ? ` — did you mean '${hint}'?` : ''}`,
  );
}

/** A plain text table with right-aligned numbers. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number' || r[i] === '—'));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
