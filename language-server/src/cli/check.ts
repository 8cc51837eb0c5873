import { analyze, DEFAULT_SETTINGS } from '../analysis/index.js';
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
      // Exactly the diagnostics the language server shows (analysis/index.ts): the checker's, then every item's analysis warnings.
      const settings = { steps: intOption(values.steps, 'steps', 10, 1, 1e6), hardwareProfile: typeof values.hardware === 'string' ? values.hardware : DEFAULT_SETTINGS.hardwareProfile };
      const a = analyze(readSource(file), settings);
      const c = a.compiled;
      const all = a.diagnostics;
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
