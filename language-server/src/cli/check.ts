import { compile } from '../compile.js';
import { ruleDiagnostics } from '../rules/diagnostics.js';
import { CliError, formatDiagnostic, intOption, readSource, type Command } from './common.js';

export const checkCommand: Command = {
  name: 'check',
  summary: 'Parse and check .eligo files; print every diagnostic as file:line:col: severity: message. Exit 1 when any file has errors.',
  usage: 'eligo check FILE… [--steps T] [--hardware loihi2|spinnaker2|brainscales2]',
  options: { json: { type: 'boolean' }, hardware: { type: 'string' }, steps: { type: 'string' } },
  run({ values, positionals }) {
    if (positionals.length === 0) throw new CliError("eligo check: give at least one FILE (see 'eligo check --help')");
    let errors = 0;
    const json: unknown[] = [];
    for (const file of positionals) {
      const c = compile(readSource(file));
      // The same diagnostics the language server shows: the checker's, then the rules engine's.
      const settings = { steps: intOption(values.steps, 'steps', 10, 1, 1e6), ...(typeof values.hardware === 'string' ? { hardwareProfile: values.hardware } : {}) };
      const all = [...c.diagnostics, ...ruleDiagnostics(c, settings)].sort((a, b) => a.range.start - b.range.start);
      for (const d of all) {
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
