// `eligo`: the command line beside the editor. Each command lives in cli/;
// they all present results computed by the engine, as the language server does.

import { analyzeCommand } from './cli/analyze.js';
import { checkCommand } from './cli/check.js';
import { CliError, helpText, parseCommandArgs, wrap, type Command } from './cli/common.js';
import { didYouMean } from './lang/suggest.js';
import { EligoError } from './util/errors.js';
import { evalCommand } from './cli/eval.js';
import { graphCommand } from './cli/graph.js';
import { exportCommand, importCommand } from './cli/interop.js';
import { findRuleCommand, rulesCommand } from './cli/rules.js';
import { searchCommand } from './cli/search.js';
import { trainCommand } from './cli/train.js';
import { workerCommand } from './cli/worker.js';

const commands: Command[] = [
  checkCommand,
  graphCommand,
  evalCommand,
  analyzeCommand,
  searchCommand,
  rulesCommand,
  findRuleCommand,
  trainCommand,
  importCommand,
  exportCommand,
  workerCommand,
];

export function registerCommand(cmd: Command): void {
  commands.push(cmd);
}

function usage(): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    'eligo — computational graphs, vertex-elimination AD and learning rules for .eligo models',
    '',
    'Usage: eligo COMMAND [options]   (eligo COMMAND --help for details)',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${wrap(firstSentence(c.summary), 100 - w - 4).join(`\n${' '.repeat(w + 4)}`)}`),
  ].join('\n');
}

/** The summary's first sentence whole: summaries are wrapped over lines, so a line's end is not a sentence's. */
export function firstSentence(summary: string): string {
  const flat = summary.replace(/\s*\n\s*/g, ' ').trim();
  const end = flat.search(/[.:;](\s|$)/);
  return end < 0 ? flat : flat.slice(0, end);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  // `eligo help COMMAND` is `eligo COMMAND --help`.
  if (name === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    const hint = didYouMean(
      name,
      commands.map((c) => c.name),
    );
    process.stderr.write(`eligo: unknown command '${name}'${hint ? ` — did you mean '${hint}'?` : ''}\n\n${usage()}\n`);
    return 2;
  }
  try {
    const args = parseCommandArgs(cmd, rest);
    if (args.values.help) {
      process.stdout.write(`${helpText(cmd)}\n`);
      return 0;
    }
    return await cmd.run(args);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`${e.message}\n`);
      return e.exitCode;
    }
    // An engine's refusal (bad input, a limit) that the command did not word itself: one line with its code.
    if (e instanceof EligoError) {
      process.stderr.write(`eligo ${name}: ${e.message} [${e.code}]\n`);
      return 2;
    }
    // Plain Errors raised on purpose by code that predates EligoError; TypeError and friends are bugs.
    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError) && !(e instanceof ReferenceError)) {
      process.stderr.write(`eligo ${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  // `eligo graph … | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`eligo: internal error: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 3;
    },
  );
}
