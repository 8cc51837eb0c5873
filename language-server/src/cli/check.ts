import { compile } from '../compile.js';
import { CliError, formatDiagnostic, readSource, type Command } from './common.js';

export const checkCommand: Command = {
  name: 'check',
  summary: 'Parse and check .eligo files; print every diagnostic as file:line:col: severity: message. Exit 1 when any file has errors.',
  usage: 'eligo check FILE…',
  options: { json: { type: 'boolean' } },
  run({ values, positionals }) {
    if (positionals.length === 0) throw new CliError("eligo check: give at least one FILE (see 'eligo check --help')");
    let errors = 0;
    const json: unknown[] = [];
    for (const file of positionals) {
      const c = compile(readSource(file));
      for (const d of c.diagnostics) {
        if (d.severity === 'error') errors++;
        if (values.json) json.push({ file, ...d, start: c.lines.positionAt(d.range.start), end: c.lines.positionAt(d.range.end) });
        else process.stdout.write(`${formatDiagnostic(file, c.lines, d)}\n`);
      }
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ diagnostics: json }, null, 2)}\n`);
    else if (errors === 0) process.stderr.write(`${positionals.length} file${positionals.length > 1 ? 's' : ''} checked: no errors\n`);
    return errors > 0 ? 1 : 0;
  },
};
